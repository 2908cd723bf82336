/* ferry-account-export.c: the account key, exported under a passphrase
 * and imported into the home of a new device
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <gnutls/crypto.h>
#include <json-glib/json-glib.h>
#include <nettle/gcm.h>
#include <nettle/memops.h>
#include <nettle/pbkdf2.h>

#include "ferry-account.h"
#include "ferry-account-internal.h"
#include "ferry-error.h"
#include "ferry-identity.h"

/* An export file is a JSON object:
 *   { "format": EXPORT_FORMAT, "version": 1, "account": "<account id>",
 *     "kdf": "pbkdf2-hmac-sha256", "iterations": n, "salt": "<base64>",
 *     "cipher": "aes-256-gcm", "nonce": "<base64>",
 *     "ciphertext": "<base64 of the sealed {"account.key", "account.crt"}>" }
 * The additional data of the cipher is export_aad(). */
#define EXPORT_FORMAT      "ferry-account-export"
#define EXPORT_VERSION     1
#define SALT_SIZE          16
#define NONCE_SIZE         12
#define KEY_SIZE           32
#define MIN_ITERATIONS     100000
#define MAX_ITERATIONS     100000000
#define MIN_PASSPHRASE     8
#define MAX_EXPORT_SIZE    (64 * 1024)

/* The files that make an identity: an import needs a home without any. */
static const char * const identity_files[] = {
  ACCOUNT_KEY_FILE, ACCOUNT_CRT_FILE, "device.key", DEVICE_CRT_FILE, NULL
};

static void
derive_key (const char   *passphrase,
            guint         iterations,
            const guint8 *salt,
            guint8        key[KEY_SIZE])
{
  pbkdf2_hmac_sha256 (strlen (passphrase), (const guint8 *) passphrase, iterations,
                      SALT_SIZE, salt, KEY_SIZE, key);
}

static char *
export_aad (guint        iterations,
            const char  *account)
{
  return g_strdup_printf ("%s:%d:pbkdf2-hmac-sha256:%u:aes-256-gcm:%s",
                          EXPORT_FORMAT, EXPORT_VERSION, iterations, account);
}


/* Encrypts @plain (@len bytes) under @passphrase: the export object. */
static JsonObject *
seal_export (const char  *account,
             const char  *passphrase,
             const char  *plain,
             gsize        len,
             GError     **error)
{
  g_autofree char *aad = NULL;
  g_autofree guint8 *sealed = NULL;
  g_autofree char *salt_b64 = NULL;
  g_autofree char *nonce_b64 = NULL;
  g_autofree char *sealed_b64 = NULL;
  guint8 salt[SALT_SIZE], nonce[NONCE_SIZE], key[KEY_SIZE];
  struct gcm_aes256_ctx ctx;
  JsonObject *out;

  if (gnutls_rnd (GNUTLS_RND_RANDOM, salt, sizeof salt) != 0 ||
      gnutls_rnd (GNUTLS_RND_NONCE, nonce, sizeof nonce) != 0)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_FAILED, _("No random numbers"));
      return NULL;
    }
  derive_key (passphrase, FERRY_ACCOUNT_EXPORT_ITERATIONS, salt, key);
  aad = export_aad (FERRY_ACCOUNT_EXPORT_ITERATIONS, account);
  sealed = g_malloc (len + GCM_DIGEST_SIZE);
  gcm_aes256_set_key (&ctx, key);
  gcm_aes256_set_iv (&ctx, NONCE_SIZE, nonce);
  gcm_aes256_update (&ctx, strlen (aad), (const guint8 *) aad);
  gcm_aes256_encrypt (&ctx, len, sealed, (const guint8 *) plain);
  gcm_aes256_digest (&ctx, GCM_DIGEST_SIZE, sealed + len);
  gnutls_memset (key, 0, sizeof key);
  gnutls_memset (&ctx, 0, sizeof ctx);

  salt_b64 = g_base64_encode (salt, sizeof salt);
  nonce_b64 = g_base64_encode (nonce, sizeof nonce);
  sealed_b64 = g_base64_encode (sealed, len + GCM_DIGEST_SIZE);
  out = json_object_new ();
  json_object_set_string_member (out, "format", EXPORT_FORMAT);
  json_object_set_int_member (out, "version", EXPORT_VERSION);
  json_object_set_string_member (out, "account", account);
  json_object_set_string_member (out, "kdf", "pbkdf2-hmac-sha256");
  json_object_set_int_member (out, "iterations", FERRY_ACCOUNT_EXPORT_ITERATIONS);
  json_object_set_string_member (out, "salt", salt_b64);
  json_object_set_string_member (out, "cipher", "aes-256-gcm");
  json_object_set_string_member (out, "nonce", nonce_b64);
  json_object_set_string_member (out, "ciphertext", sealed_b64);

  return out;
}

/**
 * ferry_account_export:
 * @home: the home directory of a device of the account
 * @path: (type filename): the file to write
 * @passphrase: protects the file; at least 8 characters
 * @error: return location for a #GError
 *
 * Writes the account key and certificate of @home to @path (mode 0600),
 * encrypted with AES-256-GCM under a key derived from @passphrase with
 * PBKDF2-HMAC-SHA256 (%FERRY_ACCOUNT_EXPORT_ITERATIONS iterations, random
 * salt). Anyone with the file and the passphrase can add devices to the
 * account: keep both safe.
 *
 * Returns: %TRUE on success
 */
gboolean
ferry_account_export (const char  *home,
                      const char  *path,
                      const char  *passphrase,
                      GError     **error)
{
  g_autofree char *key_pem = NULL;
  g_autofree char *crt_pem = NULL;
  g_autofree char *account = NULL;
  g_autofree char *plain = NULL;
  g_autofree char *text = NULL;
  g_autoptr(JsonObject) secret = json_object_new ();
  g_autoptr(JsonObject) out = NULL;
  g_autoptr(JsonNode) node = NULL;

  g_return_val_if_fail (home != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (passphrase != NULL, FALSE);

  if (g_utf8_strlen (passphrase, -1) < MIN_PASSPHRASE)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("The passphrase must have at least %d characters"), MIN_PASSPHRASE);
      return FALSE;
    }
  if (!_ferry_account_read_file (home, ACCOUNT_KEY_FILE, &key_pem, NULL) ||
      !_ferry_account_read_file (home, ACCOUNT_CRT_FILE, &crt_pem, NULL))
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_IDENTITY, _("No account in %s"), home);
      return FALSE;
    }
  account = _ferry_account_crt_id (crt_pem);
  if (account == NULL)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_IDENTITY, _("The account certificate in %s is damaged"), home);
      return FALSE;
    }

  json_object_set_string_member (secret, "account.key", key_pem);
  json_object_set_string_member (secret, "account.crt", crt_pem);
  node = json_node_init_object (json_node_alloc (), secret);
  plain = json_to_string (node, FALSE);
  memset (key_pem, 0, strlen (key_pem));

  out = seal_export (account, passphrase, plain, strlen (plain), error);
  memset (plain, 0, strlen (plain));
  if (out == NULL)
    return FALSE;
  g_clear_pointer (&node, json_node_unref);
  node = json_node_init_object (json_node_alloc (), out);
  text = json_to_string (node, TRUE);

  return g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}

static void
set_damaged (GError     **error,
             const char  *path)
{
  g_set_error (error, FERRY_ERROR, FERRY_ERROR_IDENTITY, _("%s is not an account export of Ferry, or it is damaged"),
               path);
}

static void
remove_home_file (const char *home,
                  const char *name)
{
  g_autofree char *path = g_build_filename (home, name, NULL);

  g_unlink (path);
}

static gboolean
check_home_is_new (const char  *home,
                   GError     **error)
{
  for (guint i = 0; identity_files[i] != NULL; i++)
    {
      g_autofree char *file = g_build_filename (home, identity_files[i], NULL);

      if (g_file_test (file, G_FILE_TEST_EXISTS))
        {
          g_set_error (error, FERRY_ERROR, FERRY_ERROR_IDENTITY,
                       _("%s already holds an identity (%s): import into a new home"), home, identity_files[i]);
          return FALSE;
        }
    }

  return TRUE;
}

/* The export object in the file at @path (owned by @parser). */
static JsonObject *
load_export (JsonParser  *parser,
             const char  *path,
             GError     **error)
{
  g_autofree char *text = NULL;
  JsonObject *in;
  gint64 iterations = 0, version = 0;
  gsize len;

  if (!g_file_get_contents (path, &text, &len, error))
    return NULL;
  if (len > MAX_EXPORT_SIZE || !json_parser_load_from_data (parser, text, (gssize) len, NULL) ||
      !_ferry_json_holds (json_parser_get_root (parser), JSON_NODE_OBJECT))
    {
      set_damaged (error, path);
      return NULL;
    }
  in = json_node_get_object (json_parser_get_root (parser));
  if (g_strcmp0 (_ferry_json_member_string (in, "format"), EXPORT_FORMAT) != 0 ||
      !_ferry_json_member_int (in, "version", &version) || version != EXPORT_VERSION ||
      g_strcmp0 (_ferry_json_member_string (in, "kdf"), "pbkdf2-hmac-sha256") != 0 ||
      g_strcmp0 (_ferry_json_member_string (in, "cipher"), "aes-256-gcm") != 0 ||
      !_ferry_json_member_int (in, "iterations", &iterations) ||
      iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS ||
      _ferry_json_member_string (in, "account") == NULL)
    {
      set_damaged (error, path);
      return NULL;
    }

  return in;
}

/* Decrypts the secret of the export object @in: its text, NUL-terminated
 * (the caller wipes it), or NULL. */
static guint8 *
open_export (JsonObject  *in,
             const char  *passphrase,
             const char  *path,
             gsize       *plain_len,
             GError     **error)
{
  g_autofree guint8 *salt = NULL;
  g_autofree guint8 *nonce = NULL;
  g_autofree guint8 *sealed = NULL;
  g_autofree guint8 *plain = NULL;
  g_autofree char *aad = NULL;
  gsize len, salt_len, nonce_len, sealed_len;
  gint64 iterations = 0;
  guint8 key[KEY_SIZE], tag[GCM_DIGEST_SIZE];
  struct gcm_aes256_ctx ctx;

  _ferry_json_member_int (in, "iterations", &iterations);
  salt = _ferry_json_member_base64 (in, "salt", &salt_len);
  nonce = _ferry_json_member_base64 (in, "nonce", &nonce_len);
  sealed = _ferry_json_member_base64 (in, "ciphertext", &sealed_len);
  if (salt_len != SALT_SIZE || nonce_len != NONCE_SIZE || sealed_len <= GCM_DIGEST_SIZE)
    {
      set_damaged (error, path);
      return NULL;
    }

  derive_key (passphrase, (guint) iterations, salt, key);
  aad = export_aad ((guint) iterations, _ferry_json_member_string (in, "account"));
  len = sealed_len - GCM_DIGEST_SIZE;
  plain = g_malloc (len + 1);
  gcm_aes256_set_key (&ctx, key);
  gcm_aes256_set_iv (&ctx, NONCE_SIZE, nonce);
  gcm_aes256_update (&ctx, strlen (aad), (const guint8 *) aad);
  gcm_aes256_decrypt (&ctx, len, plain, sealed);
  gcm_aes256_digest (&ctx, GCM_DIGEST_SIZE, tag);
  gnutls_memset (key, 0, sizeof key);
  gnutls_memset (&ctx, 0, sizeof ctx);
  if (!memeql_sec (tag, sealed + len, GCM_DIGEST_SIZE))
    {
      memset (plain, 0, len);
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_IDENTITY,
                   _("Wrong passphrase, or the file was altered"));
      return NULL;
    }
  plain[len] = '\0';
  *plain_len = len;

  return g_steal_pointer (&plain);
}

/* Stores the account key and certificate of the decrypted secret @plain
 * (wiped here) in @home, when they are those of @account. */
static gboolean
store_secret (const char  *home,
              const char  *path,
              const char  *account,
              guint8      *plain,
              gsize        len,
              GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *crt_account = NULL;
  const char *key_pem, *crt_pem;
  JsonObject *secret;
  gboolean parsed;

  parsed = json_parser_load_from_data (parser, (const char *) plain, (gssize) len, NULL);
  memset (plain, 0, len);
  if (!parsed || !_ferry_json_holds (json_parser_get_root (parser), JSON_NODE_OBJECT))
    {
      set_damaged (error, path);
      return FALSE;
    }
  secret = json_node_get_object (json_parser_get_root (parser));
  key_pem = _ferry_json_member_string (secret, "account.key");
  crt_pem = _ferry_json_member_string (secret, "account.crt");
  crt_account = crt_pem ? _ferry_account_crt_id (crt_pem) : NULL;
  if (key_pem == NULL || crt_account == NULL || !g_str_equal (crt_account, account))
    {
      set_damaged (error, path);
      return FALSE;
    }

  if (g_mkdir_with_parents (home, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _("Could not create %s: %s"), home, g_strerror (saved_errno));
      return FALSE;
    }
  if (!_ferry_account_write_file (home, ACCOUNT_KEY_FILE, key_pem, error) ||
      !_ferry_account_write_file (home, ACCOUNT_CRT_FILE, crt_pem, error))
    {
      remove_home_file (home, ACCOUNT_KEY_FILE);
      remove_home_file (home, ACCOUNT_CRT_FILE);
      return FALSE;
    }

  return TRUE;
}

/**
 * ferry_account_import:
 * @home: the home directory of the new device; it must not hold an
 *   identity yet
 * @path: (type filename): a file written by ferry_account_export()
 * @passphrase: the passphrase it was written with
 * @error: return location for a #GError
 *
 * Makes @home a new device of the exported account: stores the account key
 * and certificate, and creates a device key with a certificate signed by
 * the account key. A wrong passphrase or a damaged file is
 * %FERRY_ERROR_IDENTITY and leaves @home as it was.
 *
 * Returns: %TRUE on success
 */
gboolean
ferry_account_import (const char  *home,
                      const char  *path,
                      const char  *passphrase,
                      GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(FerryIdentity) identity = NULL;
  g_autofree guint8 *plain = NULL;
  const char *account;
  JsonObject *in;
  GError *local_error = NULL;
  gsize len = 0;

  g_return_val_if_fail (home != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (passphrase != NULL, FALSE);

  if (!check_home_is_new (home, error) ||
      (in = load_export (parser, path, error)) == NULL ||
      (plain = open_export (in, passphrase, path, &len, error)) == NULL)
    return FALSE;
  account = _ferry_json_member_string (in, "account");
  if (!store_secret (home, path, account, plain, len, error))
    return FALSE;

  /* The new device: its key and certificate, signed by the account key,
   * made and checked now. */
  identity = ferry_identity_new (home, NULL, &local_error);
  if (identity == NULL || !g_str_equal (ferry_identity_get_account_id (identity), account))
    {
      for (guint i = 0; identity_files[i] != NULL; i++)
        remove_home_file (home, identity_files[i]);
      if (local_error != NULL)
        g_propagate_error (error, local_error);
      else
        g_set_error (error, FERRY_ERROR, FERRY_ERROR_IDENTITY, _("The imported account does not match its key"));
      return FALSE;
    }

  return TRUE;
}
