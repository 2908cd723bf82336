/* ferry-account.c: linking devices to an account, revoking them
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
#include "ferry-account-private.h"
#include "ferry-error.h"
#include "ferry-identity-private.h"

#define EXPORT_FORMAT      "ferry-account-export"
#define EXPORT_VERSION     1
#define SALT_SIZE          16
#define NONCE_SIZE         12
#define KEY_SIZE           32
#define MIN_ITERATIONS     100000
#define MAX_ITERATIONS     100000000
#define MIN_PASSPHRASE     8
#define MAX_EXPORT_SIZE    (64 * 1024)
#define REVOCATIONS_FILE   "revocations.json"
#define MAX_REVOCATIONS    4096

/* Accounts and devices.
 *
 * Every device of an account holds the account key. To link a new device,
 * export the key from a device of the account under a passphrase
 * (PBKDF2-HMAC-SHA256 with %FERRY_ACCOUNT_EXPORT_ITERATIONS iterations,
 * then AES-256-GCM) and import the file in the new device's home: a new
 * device key and certificate, signed by the account key, are made there.
 * A device of the account can revoke another one: the revocation, signed
 * by the account key, spreads to the devices and peers it meets, which
 * refuse the revoked device from then on.
 */

static gboolean
read_home_file (const char  *home,
                const char  *name,
                char       **contents,
                GError     **error)
{
  g_autofree char *path = g_build_filename (home, name, NULL);

  return g_file_get_contents (path, contents, NULL, error);
}

static gboolean
write_home_file (const char  *home,
                 const char  *name,
                 const char  *contents,
                 GError     **error)
{
  g_autofree char *path = g_build_filename (home, name, NULL);

  return g_file_set_contents_full (path, contents, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}

/* The account id of a PEM certificate. */
static char *
crt_pem_fingerprint (const char *pem)
{
  gnutls_x509_crt_t crt = NULL;
  gnutls_pubkey_t key = NULL;
  gnutls_datum_t data = { (unsigned char *) pem, (unsigned int) strlen (pem) };
  char *fingerprint = NULL;

  if (gnutls_x509_crt_init (&crt) >= 0 &&
      gnutls_x509_crt_import (crt, &data, GNUTLS_X509_FMT_PEM) >= 0 &&
      gnutls_pubkey_init (&key) >= 0 &&
      gnutls_pubkey_import_x509 (key, crt, 0) >= 0)
    fingerprint = _ferry_pubkey_fingerprint (key);
  if (key != NULL)
    gnutls_pubkey_deinit (key);
  if (crt != NULL)
    gnutls_x509_crt_deinit (crt);
  return fingerprint;
}

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
  g_autofree char *aad = NULL;
  g_autofree guint8 *sealed = NULL;
  g_autofree char *salt_b64 = NULL;
  g_autofree char *nonce_b64 = NULL;
  g_autofree char *sealed_b64 = NULL;
  g_autofree char *text = NULL;
  g_autoptr(JsonObject) secret = json_object_new ();
  g_autoptr(JsonObject) out = json_object_new ();
  g_autoptr(JsonNode) node = NULL;
  guint8 salt[SALT_SIZE], nonce[NONCE_SIZE], key[KEY_SIZE];
  struct gcm_aes256_ctx ctx;
  gsize len;
  gboolean ok;

  g_return_val_if_fail (home != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (passphrase != NULL, FALSE);

  if (g_utf8_strlen (passphrase, -1) < MIN_PASSPHRASE)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("The passphrase must have at least %d characters"), MIN_PASSPHRASE);
      return FALSE;
    }
  if (!read_home_file (home, "account.key", &key_pem, NULL) ||
      !read_home_file (home, "account.crt", &crt_pem, NULL))
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_IDENTITY, _("No account in %s"), home);
      return FALSE;
    }
  account = crt_pem_fingerprint (crt_pem);
  if (account == NULL)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_IDENTITY, _("The account certificate in %s is damaged"), home);
      return FALSE;
    }

  json_object_set_string_member (secret, "account.key", key_pem);
  json_object_set_string_member (secret, "account.crt", crt_pem);
  node = json_node_init_object (json_node_alloc (), secret);
  plain = json_to_string (node, FALSE);
  len = strlen (plain);
  memset (key_pem, 0, strlen (key_pem));

  if (gnutls_rnd (GNUTLS_RND_RANDOM, salt, sizeof salt) != 0 ||
      gnutls_rnd (GNUTLS_RND_NONCE, nonce, sizeof nonce) != 0)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_FAILED, _("No random numbers"));
      return FALSE;
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
  memset (plain, 0, len);

  salt_b64 = g_base64_encode (salt, sizeof salt);
  nonce_b64 = g_base64_encode (nonce, sizeof nonce);
  sealed_b64 = g_base64_encode (sealed, len + GCM_DIGEST_SIZE);
  json_object_set_string_member (out, "format", EXPORT_FORMAT);
  json_object_set_int_member (out, "version", EXPORT_VERSION);
  json_object_set_string_member (out, "account", account);
  json_object_set_string_member (out, "kdf", "pbkdf2-hmac-sha256");
  json_object_set_int_member (out, "iterations", FERRY_ACCOUNT_EXPORT_ITERATIONS);
  json_object_set_string_member (out, "salt", salt_b64);
  json_object_set_string_member (out, "cipher", "aes-256-gcm");
  json_object_set_string_member (out, "nonce", nonce_b64);
  json_object_set_string_member (out, "ciphertext", sealed_b64);
  g_clear_pointer (&node, json_node_unref);
  node = json_node_init_object (json_node_alloc (), out);
  text = json_to_string (node, TRUE);

  ok = g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
  return ok;
}

/* Whether @root is a node of @type: json-glib parses an empty text
 * without error and without a root. */
static gboolean
holds (JsonNode     *root,
       JsonNodeType  type)
{
  return root != NULL && JSON_NODE_TYPE (root) == type;
}

static const char *
member_string (JsonObject *object,
               const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static gboolean
member_int (JsonObject *object,
            const char *name,
            gint64     *value)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  *value = json_node_get_int (node);
  return TRUE;
}

static guint8 *
member_base64 (JsonObject *object,
               const char *name,
               gsize      *len)
{
  const char *text = member_string (object, name);

  *len = 0;
  if (text == NULL)
    return NULL;
  return g_base64_decode (text, len);
}

static void
remove_home_file (const char *home,
                  const char *name)
{
  g_autofree char *path = g_build_filename (home, name, NULL);

  g_unlink (path);
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
  static const char * const existing[] = { "account.key", "account.crt", "device.key", "device.crt", NULL };
  g_autofree char *text = NULL;
  g_autofree guint8 *salt = NULL;
  g_autofree guint8 *nonce = NULL;
  g_autofree guint8 *sealed = NULL;
  g_autofree guint8 *plain = NULL;
  g_autofree char *aad = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(JsonParser) secret_parser = json_parser_new ();
  g_autoptr(FerryIdentity) identity = NULL;
  g_autofree char *crt_account = NULL;
  JsonObject *in, *secret;
  const char *account, *key_pem, *crt_pem;
  gsize len, salt_len, nonce_len, sealed_len;
  gint64 iterations = 0, version = 0;
  guint8 key[KEY_SIZE], tag[GCM_DIGEST_SIZE];
  struct gcm_aes256_ctx ctx;
  GError *local_error = NULL;
  gboolean parsed;

  g_return_val_if_fail (home != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (passphrase != NULL, FALSE);

  for (guint i = 0; existing[i] != NULL; i++)
    {
      g_autofree char *file = g_build_filename (home, existing[i], NULL);

      if (g_file_test (file, G_FILE_TEST_EXISTS))
        {
          g_set_error (error, FERRY_ERROR, FERRY_ERROR_IDENTITY,
                       _("%s already holds an identity (%s): import into a new home"), home, existing[i]);
          return FALSE;
        }
    }

  if (!g_file_get_contents (path, &text, &len, error))
    return FALSE;
  if (len > MAX_EXPORT_SIZE || !json_parser_load_from_data (parser, text, (gssize) len, NULL) ||
      !holds (json_parser_get_root (parser), JSON_NODE_OBJECT))
    goto damaged;
  in = json_node_get_object (json_parser_get_root (parser));
  account = member_string (in, "account");
  if (g_strcmp0 (member_string (in, "format"), EXPORT_FORMAT) != 0 ||
      !member_int (in, "version", &version) || version != EXPORT_VERSION ||
      g_strcmp0 (member_string (in, "kdf"), "pbkdf2-hmac-sha256") != 0 ||
      g_strcmp0 (member_string (in, "cipher"), "aes-256-gcm") != 0 ||
      !member_int (in, "iterations", &iterations) ||
      iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS || account == NULL)
    goto damaged;
  salt = member_base64 (in, "salt", &salt_len);
  nonce = member_base64 (in, "nonce", &nonce_len);
  sealed = member_base64 (in, "ciphertext", &sealed_len);
  if (salt_len != SALT_SIZE || nonce_len != NONCE_SIZE || sealed_len <= GCM_DIGEST_SIZE)
    goto damaged;

  derive_key (passphrase, (guint) iterations, salt, key);
  aad = export_aad ((guint) iterations, account);
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
      return FALSE;
    }
  plain[len] = '\0';

  parsed = json_parser_load_from_data (secret_parser, (const char *) plain, (gssize) len, NULL);
  memset (plain, 0, len);
  if (!parsed || !holds (json_parser_get_root (secret_parser), JSON_NODE_OBJECT))
    goto damaged;
  secret = json_node_get_object (json_parser_get_root (secret_parser));
  key_pem = member_string (secret, "account.key");
  crt_pem = member_string (secret, "account.crt");
  crt_account = crt_pem ? crt_pem_fingerprint (crt_pem) : NULL;
  if (key_pem == NULL || crt_account == NULL || !g_str_equal (crt_account, account))
    goto damaged;

  if (g_mkdir_with_parents (home, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _("Could not create %s: %s"), home, g_strerror (saved_errno));
      return FALSE;
    }
  if (!write_home_file (home, "account.key", key_pem, error) ||
      !write_home_file (home, "account.crt", crt_pem, error))
    {
      remove_home_file (home, "account.key");
      remove_home_file (home, "account.crt");
      return FALSE;
    }

  /* The new device: its key and certificate, signed by the account key,
   * made and checked now. */
  identity = ferry_identity_new (home, NULL, &local_error);
  if (identity == NULL || !g_str_equal (ferry_identity_get_account_id (identity), account))
    {
      for (guint i = 0; existing[i] != NULL; i++)
        remove_home_file (home, existing[i]);
      if (local_error != NULL)
        g_propagate_error (error, local_error);
      else
        g_set_error (error, FERRY_ERROR, FERRY_ERROR_IDENTITY, _("The imported account does not match its key"));
      return FALSE;
    }
  return TRUE;

damaged:
  g_set_error (error, FERRY_ERROR, FERRY_ERROR_IDENTITY, _("%s is not an account export of Ferry, or it is damaged"),
               path);
  return FALSE;
}

/* Revocations */

static char *
revocation_message (const char *account,
                    const char *device,
                    gint64      time_ms)
{
  return g_strdup_printf ("ferry-revocation:1:%s:%s:%" G_GINT64_FORMAT, account, device, time_ms);
}

static gboolean
is_device_id (const char *id)
{
  if (id == NULL || strlen (id) != 64)
    return FALSE;
  for (const char *p = id; *p; p++)
    if (!g_ascii_isxdigit (*p) || g_ascii_isupper (*p))
      return FALSE;
  return TRUE;
}

JsonArray *
_ferry_account_load_revocations (const char *home)
{
  g_autofree char *text = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  gsize len;

  if (!read_home_file (home, REVOCATIONS_FILE, &text, NULL))
    return json_array_new ();
  len = strlen (text);
  if (!json_parser_load_from_data (parser, text, (gssize) len, NULL) ||
      !holds (json_parser_get_root (parser), JSON_NODE_ARRAY))
    {
      g_warning ("%s/%s is damaged: ignored", home, REVOCATIONS_FILE);
      return json_array_new ();
    }
  return json_array_ref (json_node_get_array (json_parser_get_root (parser)));
}

gboolean
_ferry_account_store_revocation (const char  *home,
                                 JsonObject  *revocation,
                                 GError     **error)
{
  g_autoptr(JsonArray) list = _ferry_account_load_revocations (home);
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *text = NULL;
  const char *account = member_string (revocation, "account");
  const char *device = member_string (revocation, "device");

  /* Known when the same account revoked the same device (another
   * account's word on it binds nothing). */
  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      JsonNode *entry = json_array_get_element (list, i);

      if (JSON_NODE_HOLDS_OBJECT (entry) &&
          g_strcmp0 (member_string (json_node_get_object (entry), "device"), device) == 0 &&
          g_strcmp0 (member_string (json_node_get_object (entry), "account"), account) == 0)
        return FALSE;
    }
  if (json_array_get_length (list) >= MAX_REVOCATIONS)
    {
      g_autofree char *crt_pem = NULL;
      g_autofree char *own = NULL;

      /* Peers' revocations fill the store; this account's own ones are
       * still kept (only its key can sign them), up to a hard limit. */
      if (json_array_get_length (list) >= 2 * MAX_REVOCATIONS ||
          !read_home_file (home, "account.crt", &crt_pem, NULL) ||
          (own = crt_pem_fingerprint (crt_pem)) == NULL ||
          g_strcmp0 (member_string (revocation, "account"), own) != 0)
        return FALSE;
    }
  json_array_add_object_element (list, json_object_ref (revocation));
  node = json_node_init_array (json_node_alloc (), list);
  text = json_to_string (node, TRUE);
  if (!write_home_file (home, REVOCATIONS_FILE, text, error))
    return FALSE;
  return TRUE;
}

gboolean
_ferry_revocation_verify (JsonObject  *revocation,
                          const char  *chain_pem,
                          char       **device_id,
                          GError     **error)
{
  const char *account = member_string (revocation, "account");
  const char *device = member_string (revocation, "device");
  g_autofree guint8 *signature = NULL;
  g_autofree char *message = NULL;
  g_autofree char *fingerprint = NULL;
  gnutls_x509_crt_t *crts = NULL;
  unsigned int n_crts = 0;
  gnutls_pubkey_t key = NULL;
  gnutls_datum_t data = { (unsigned char *) chain_pem, chain_pem ? (unsigned int) strlen (chain_pem) : 0 };
  gnutls_datum_t signed_data, sig;
  gsize sig_len = 0;
  gint64 time_ms;
  gboolean ok = FALSE;

  signature = member_base64 (revocation, "signature", &sig_len);
  if (!is_device_id (account) || !is_device_id (device) || !member_int (revocation, "time", &time_ms) ||
      signature == NULL || sig_len == 0 || chain_pem == NULL)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_BAD_MESSAGE, _("A malformed revocation"));
      return FALSE;
    }

  if (gnutls_x509_crt_list_import2 (&crts, &n_crts, &data, GNUTLS_X509_FMT_PEM, 0) < 0 || n_crts != 2 ||
      gnutls_pubkey_init (&key) < 0 || gnutls_pubkey_import_x509 (key, crts[1], 0) < 0 ||
      (fingerprint = _ferry_pubkey_fingerprint (key)) == NULL || !g_str_equal (fingerprint, account))
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PEER_UNTRUSTED,
                   _("A revocation that does not come from its account"));
      goto out;
    }

  message = revocation_message (account, device, time_ms);
  signed_data.data = (unsigned char *) message;
  signed_data.size = (unsigned int) strlen (message);
  sig.data = signature;
  sig.size = (unsigned int) sig_len;
  if (gnutls_pubkey_verify_data2 (key, GNUTLS_SIGN_EDDSA_ED25519, 0, &signed_data, &sig) < 0)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PEER_UNTRUSTED,
                   _("A revocation with a bad signature"));
      goto out;
    }
  if (device_id != NULL)
    *device_id = g_strdup (device);
  ok = TRUE;

out:
  if (key != NULL)
    gnutls_pubkey_deinit (key);
  for (unsigned int i = 0; i < n_crts; i++)
    gnutls_x509_crt_deinit (crts[i]);
  gnutls_free (crts);
  return ok;
}

/**
 * ferry_account_revoke_device:
 * @home: the home directory of a device of the account
 * @device_id: the full id of the device to revoke (64 hex digits)
 * @error: return location for a #GError
 *
 * Records a revocation of @device_id signed by the account key. Running
 * engines of this home hand it to every device they meet; the account's
 * other devices and its peers then refuse the revoked device (its offers,
 * answers, requests and connections).
 *
 * Returns: %TRUE on success (also when it was already revoked)
 */
gboolean
ferry_account_revoke_device (const char  *home,
                             const char  *device_id,
                             GError     **error)
{
  g_autofree char *key_pem = NULL;
  g_autofree char *crt_pem = NULL;
  g_autofree char *device_pem = NULL;
  g_autofree char *account = NULL;
  g_autofree char *own = NULL;
  g_autofree char *message = NULL;
  g_autofree char *signature_b64 = NULL;
  g_autoptr(JsonObject) revocation = json_object_new ();
  gnutls_privkey_t key = NULL;
  gnutls_datum_t data, sig = { NULL, 0 };
  gint64 now = g_get_real_time () / 1000;
  GError *local_error = NULL;
  int ret;

  g_return_val_if_fail (home != NULL, FALSE);
  g_return_val_if_fail (device_id != NULL, FALSE);

  if (!is_device_id (device_id))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("“%s” is not a device id (64 lower-case hex digits)"), device_id);
      return FALSE;
    }
  if (!read_home_file (home, "account.key", &key_pem, NULL) ||
      !read_home_file (home, "account.crt", &crt_pem, NULL) ||
      (account = crt_pem_fingerprint (crt_pem)) == NULL)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_IDENTITY, _("No account in %s"), home);
      return FALSE;
    }
  if (read_home_file (home, "device.crt", &device_pem, NULL) &&
      (own = crt_pem_fingerprint (device_pem)) != NULL && g_str_equal (own, device_id))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("This is the device of %s itself: revoke it from another device"), home);
      return FALSE;
    }

  message = revocation_message (account, device_id, now);
  data.data = (unsigned char *) key_pem;
  data.size = (unsigned int) strlen (key_pem);
  if ((ret = gnutls_privkey_init (&key)) < 0 ||
      (ret = gnutls_privkey_import_x509_raw (key, &data, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0)
    {
      if (key != NULL)
        gnutls_privkey_deinit (key);
      memset (key_pem, 0, strlen (key_pem));
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_IDENTITY, _("Cannot load the account key: %s"),
                   gnutls_strerror (ret));
      return FALSE;
    }
  memset (key_pem, 0, strlen (key_pem));
  data.data = (unsigned char *) message;
  data.size = (unsigned int) strlen (message);
  ret = gnutls_privkey_sign_data2 (key, GNUTLS_SIGN_EDDSA_ED25519, 0, &data, &sig);
  gnutls_privkey_deinit (key);
  if (ret < 0)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_IDENTITY, _("Cannot sign the revocation: %s"),
                   gnutls_strerror (ret));
      return FALSE;
    }
  signature_b64 = g_base64_encode (sig.data, sig.size);
  gnutls_free (sig.data);

  json_object_set_string_member (revocation, "account", account);
  json_object_set_string_member (revocation, "device", device_id);
  json_object_set_int_member (revocation, "time", now);
  json_object_set_string_member (revocation, "signature", signature_b64);
  if (!_ferry_account_store_revocation (home, revocation, &local_error))
    {
      g_autoptr(JsonArray) list = _ferry_account_load_revocations (home);
      gboolean known = FALSE;

      if (local_error != NULL)
        {
          g_propagate_error (error, local_error);
          return FALSE;
        }
      for (guint i = 0; i < json_array_get_length (list) && !known; i++)
        {
          JsonNode *node = json_array_get_element (list, i);

          known = JSON_NODE_HOLDS_OBJECT (node) &&
                  g_strcmp0 (member_string (json_node_get_object (node), "device"), device_id) == 0 &&
                  g_strcmp0 (member_string (json_node_get_object (node), "account"), account) == 0;
        }
      /* Not stored and not known: never report a revocation that is not. */
      if (!known)
        {
          g_set_error (error, FERRY_ERROR, FERRY_ERROR_FAILED,
                       _("Too many revocations are stored in %s"), home);
          return FALSE;
        }
    }
  return TRUE;
}

/**
 * ferry_account_list_revoked:
 * @home: a home directory
 *
 * Lists the devices revoked so far, as recorded in @home.
 *
 * Returns: (transfer full) (array zero-terminated=1): the ids of the
 *   devices revoked so far, as known to @home (of its own account and of
 *   its peers)
 */
char **
ferry_account_list_revoked (const char *home)
{
  g_autoptr(JsonArray) list = NULL;
  g_autoptr(GPtrArray) ids = g_ptr_array_new_null_terminated (0, g_free, TRUE);

  g_return_val_if_fail (home != NULL, NULL);

  list = _ferry_account_load_revocations (home);
  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      JsonNode *node = json_array_get_element (list, i);
      const char *device = JSON_NODE_HOLDS_OBJECT (node) ? member_string (json_node_get_object (node), "device") : NULL;

      if (device != NULL)
        g_ptr_array_add (ids, g_strdup (device));
    }
  return (char **) g_ptr_array_free (g_steal_pointer (&ids), FALSE);
}

#define DEVICES_FILE "devices.json"
#define MAX_DEVICES  256

static JsonObject *
load_devices (const char *home)
{
  g_autofree char *text = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();

  if (!read_home_file (home, DEVICES_FILE, &text, NULL) ||
      !json_parser_load_from_data (parser, text, -1, NULL) ||
      !holds (json_parser_get_root (parser), JSON_NODE_OBJECT))
    return json_object_new ();
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

void
_ferry_account_note_device (const char *home,
                            const char *device_id,
                            const char *name)
{
  g_autoptr(JsonObject) devices = load_devices (home);
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *entry = json_object_new ();

  if (!is_device_id (device_id) ||
      (!json_object_has_member (devices, device_id) && json_object_get_size (devices) >= MAX_DEVICES))
    {
      json_object_unref (entry);
      return;
    }
  json_object_set_string_member (entry, "name", name ? name : "");
  json_object_set_int_member (entry, "last-seen", g_get_real_time () / 1000);
  json_object_set_object_member (devices, device_id, entry);
  node = json_node_init_object (json_node_alloc (), devices);
  text = json_to_string (node, TRUE);
  if (!write_home_file (home, DEVICES_FILE, text, &error))
    g_debug ("Could not remember device %.12s: %s", device_id, error->message);
}

/**
 * ferry_account_list_devices:
 * @home: a home directory
 *
 * The devices of the account of @home that it knows: itself, those seen
 * through signaling, and the revoked ones. Each entry is a #JsonObject with
 * `device` (id), `name`, `last-seen` (unix ms, 0 when unknown), `this`
 * (the device of @home) and `revoked`.
 *
 * Returns: (transfer full) (element-type JsonObject): the devices, this
 *   one first
 */
GPtrArray *
ferry_account_list_devices (const char *home)
{
  GPtrArray *list = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  g_autoptr(JsonObject) devices = NULL;
  g_autoptr(JsonArray) revocations = NULL;
  g_autoptr(GHashTable) revoked = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GList) members = NULL;
  g_autofree char *crt = NULL;
  g_autofree char *account_crt = NULL;
  g_autofree char *own = NULL;
  g_autofree char *account = NULL;

  g_return_val_if_fail (home != NULL, NULL);

  if (read_home_file (home, "device.crt", &crt, NULL))
    own = crt_pem_fingerprint (crt);
  if (read_home_file (home, "account.crt", &account_crt, NULL))
    account = crt_pem_fingerprint (account_crt);
  devices = load_devices (home);
  revocations = _ferry_account_load_revocations (home);
  for (guint i = 0; i < json_array_get_length (revocations); i++)
    {
      JsonNode *node = json_array_get_element (revocations, i);

      if (JSON_NODE_HOLDS_OBJECT (node) &&
          g_strcmp0 (member_string (json_node_get_object (node), "account"), account) == 0 &&
          member_string (json_node_get_object (node), "device") != NULL)
        g_hash_table_add (revoked, (gpointer) member_string (json_node_get_object (node), "device"));
    }

  if (own != NULL)
    {
      JsonObject *entry = json_object_new ();

      json_object_set_string_member (entry, "device", own);
      json_object_set_string_member (entry, "name", "");
      json_object_set_int_member (entry, "last-seen", g_get_real_time () / 1000);
      json_object_set_boolean_member (entry, "this", TRUE);
      json_object_set_boolean_member (entry, "revoked", g_hash_table_contains (revoked, own));
      g_ptr_array_add (list, entry);
    }
  members = json_object_get_members (devices);
  for (GList *l = members; l != NULL; l = l->next)
    {
      JsonNode *node = json_object_get_member (devices, l->data);
      JsonObject *entry;

      if (g_strcmp0 (l->data, own) == 0 || !JSON_NODE_HOLDS_OBJECT (node))
        continue;
      entry = json_object_new ();
      json_object_set_string_member (entry, "device", l->data);
      json_object_set_string_member (entry, "name", member_string (json_node_get_object (node), "name")
                                                    ? member_string (json_node_get_object (node), "name") : "");
      json_object_set_int_member (entry, "last-seen",
                                  json_object_get_int_member_with_default (json_node_get_object (node), "last-seen", 0));
      json_object_set_boolean_member (entry, "this", FALSE);
      json_object_set_boolean_member (entry, "revoked", g_hash_table_contains (revoked, l->data));
      g_ptr_array_add (list, entry);
    }
  {
    GHashTableIter iter;
    gpointer key;

    g_hash_table_iter_init (&iter, revoked);
    while (g_hash_table_iter_next (&iter, &key, NULL))
      {
        JsonObject *entry;

        if (json_object_has_member (devices, key) || g_strcmp0 (key, own) == 0)
          continue;
        entry = json_object_new ();
        json_object_set_string_member (entry, "device", key);
        json_object_set_string_member (entry, "name", "");
        json_object_set_int_member (entry, "last-seen", 0);
        json_object_set_boolean_member (entry, "this", FALSE);
        json_object_set_boolean_member (entry, "revoked", TRUE);
        g_ptr_array_add (list, entry);
      }
  }
  return list;
}
