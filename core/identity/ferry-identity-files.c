/* ferry-identity-files.c: the identity's keys and certificates on disk,
 * loaded or created the first time
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <gnutls/crypto.h>

#include "ferry-error.h"
#include "ferry-identity-internal.h"

/* Certificates are valid from a day before their creation (clocks of two
 * devices differ) for twenty years. */
#define CERT_BACKDATE_SECONDS (24 * 60 * 60)
#define CERT_LIFETIME_SECONDS ((time_t) 20 * 365 * 24 * 60 * 60)

/* Files */

gboolean
_ferry_identity_write_file (const char    *directory,
                            const char    *basename,
                            const void    *data,
                            gsize          len,
                            GError       **error)
{
  g_autofree char *path = g_build_filename (directory, basename, NULL);
  g_autoptr(GError) local_error = NULL;

  if (!g_file_set_contents_full (path, data, len,
                                 G_FILE_SET_CONTENTS_CONSISTENT |
                                 G_FILE_SET_CONTENTS_DURABLE,
                                 0600, &local_error))
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_IDENTITY,
                   _("Could not write %s: %s"), path, local_error->message);
      return FALSE;
    }

  return TRUE;
}

/* Reads @basename of @directory. A missing file is not an error: returns
 * TRUE with *@contents NULL. */
gboolean
_ferry_identity_read_file (const char    *directory,
                           const char    *basename,
                           char         **contents,
                           gsize         *len,
                           GError       **error)
{
  g_autofree char *path = g_build_filename (directory, basename, NULL);
  g_autoptr(GError) local_error = NULL;

  *contents = NULL;
  *len = 0;
  if (!g_file_get_contents (path, contents, len, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return TRUE;
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_IDENTITY,
                   _("Could not read %s: %s"), path, local_error->message);
      return FALSE;
    }

  return TRUE;
}

static gboolean
file_exists (const char *directory,
             const char *basename)
{
  g_autofree char *path = g_build_filename (directory, basename, NULL);

  return g_file_test (path, G_FILE_TEST_EXISTS);
}

void
_ferry_identity_file_error (GError     **error,
                            const char  *directory,
                            const char  *basename,
                            const char  *reason)
{
  g_autofree char *path = g_build_filename (directory, basename, NULL);

  g_set_error (error, FERRY_ERROR, FERRY_ERROR_IDENTITY,
               _("Identity file %s is not usable: %s"), path, reason);
}

/* Keys */

static gboolean
generate_key (gnutls_x509_privkey_t  *key,
              GError                **error)
{
  int ret;

  if ((ret = gnutls_x509_privkey_init (key)) < 0 ||
      (ret = gnutls_x509_privkey_generate (*key, GNUTLS_PK_EDDSA_ED25519,
                                           GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_ED25519),
                                           0)) < 0)
    {
      _ferry_clear_x509_privkey (key);
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_IDENTITY,
                   _("Could not generate an Ed25519 key: %s"),
                   gnutls_strerror (ret));
      return FALSE;
    }

  return TRUE;
}

static gboolean
save_key (gnutls_x509_privkey_t   key,
          const char             *directory,
          const char             *basename,
          GError                **error)
{
  gnutls_datum_t pem = { NULL, 0 };
  gboolean ok;
  int ret;

  ret = gnutls_x509_privkey_export2_pkcs8 (key, GNUTLS_X509_FMT_PEM, NULL,
                                           GNUTLS_PKCS_PLAIN, &pem);
  if (ret < 0)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_IDENTITY,
                   _("Could not export a key: %s"), gnutls_strerror (ret));
      return FALSE;
    }
  ok = _ferry_identity_write_file (directory, basename, pem.data, pem.size, error);
  gnutls_memset (pem.data, 0, pem.size);
  _ferry_clear_datum (&pem);

  return ok;
}

static gboolean
parse_key (const char             *contents,
           gsize                   len,
           const char             *directory,
           const char             *basename,
           gnutls_x509_privkey_t  *key,
           GError                **error)
{
  gnutls_datum_t data;
  int ret;

  if (len > G_MAXUINT)
    {
      _ferry_identity_file_error (error, directory, basename, _("file too large"));
      return FALSE;
    }

  data.data = (unsigned char *) contents;
  data.size = (unsigned int) len;

  if ((ret = gnutls_x509_privkey_init (key)) < 0 ||
      (ret = gnutls_x509_privkey_import_pkcs8 (*key, &data, GNUTLS_X509_FMT_PEM,
                                               NULL, GNUTLS_PKCS_PLAIN)) < 0)
    {
      _ferry_clear_x509_privkey (key);
      _ferry_identity_file_error (error, directory, basename, gnutls_strerror (ret));
      return FALSE;
    }
  if (gnutls_x509_privkey_get_pk_algorithm (*key) != GNUTLS_PK_EDDSA_ED25519)
    {
      _ferry_clear_x509_privkey (key);
      _ferry_identity_file_error (error, directory, basename, _("not an Ed25519 key"));
      return FALSE;
    }

  return TRUE;
}

/* Loads a key file, or creates it when it does not exist and none of
 * @dependents (files made from this key) exists either. */
static gboolean
load_or_create_key (const char             *directory,
                    const char             *basename,
                    const char * const     *dependents,
                    gnutls_x509_privkey_t  *key,
                    gboolean               *created,
                    GError                **error)
{
  g_autofree char *contents = NULL;
  gsize len = 0;
  gboolean ok;

  *created = FALSE;
  if (!_ferry_identity_read_file (directory, basename, &contents, &len, error))
    return FALSE;

  if (contents == NULL)
    {
      for (guint i = 0; dependents[i] != NULL; i++)
        {
          if (file_exists (directory, dependents[i]))
            {
              g_autofree char *path = g_build_filename (directory, basename, NULL);

              g_set_error (error, FERRY_ERROR, FERRY_ERROR_IDENTITY,
                           _("Identity file %s is missing but %s exists; "
                             "refusing to create a new key"),
                           path, dependents[i]);
              return FALSE;
            }
        }

      if (!generate_key (key, error))
        return FALSE;
      if (!save_key (*key, directory, basename, error))
        {
          _ferry_clear_x509_privkey (key);
          return FALSE;
        }
      *created = TRUE;
      return TRUE;
    }

  ok = parse_key (contents, len, directory, basename, key, error);
  memset (contents, 0, len);

  return ok;
}

/* Certificates */

static gboolean
make_certificate (gnutls_x509_privkey_t   subject_key,
                  const char             *subject_id,
                  gnutls_x509_crt_t       issuer,
                  gnutls_x509_privkey_t   issuer_key,
                  gnutls_x509_crt_t      *out,
                  GError                **error)
{
  gnutls_x509_crt_t crt = NULL;
  gboolean is_ca = (issuer == NULL);
  guint8 serial[16];
  guint8 key_id[64];
  size_t key_id_size;
  time_t now = time (NULL);
  int ret;

  if ((ret = gnutls_x509_crt_init (&crt)) < 0)
    goto fail;
  if ((ret = gnutls_rnd (GNUTLS_RND_NONCE, serial, sizeof serial)) < 0)
    goto fail;
  /* A positive, full-length serial number. */
  serial[0] = (serial[0] & 0x7f) | 0x40;

  if ((ret = gnutls_x509_crt_set_version (crt, 3)) < 0 ||
      (ret = gnutls_x509_crt_set_serial (crt, serial, sizeof serial)) < 0 ||
      (ret = gnutls_x509_crt_set_activation_time (crt, now - CERT_BACKDATE_SECONDS)) < 0 ||
      (ret = gnutls_x509_crt_set_expiration_time (crt, now + CERT_LIFETIME_SECONDS)) < 0 ||
      (ret = gnutls_x509_crt_set_dn_by_oid (crt, GNUTLS_OID_X520_COMMON_NAME, 0,
                                            subject_id, strlen (subject_id))) < 0 ||
      (ret = gnutls_x509_crt_set_key (crt, subject_key)) < 0 ||
      (ret = gnutls_x509_crt_set_basic_constraints (crt, is_ca, is_ca ? 0 : -1)) < 0 ||
      (ret = gnutls_x509_crt_set_key_usage (crt, is_ca
                                            ? (GNUTLS_KEY_KEY_CERT_SIGN |
                                               GNUTLS_KEY_CRL_SIGN |
                                               GNUTLS_KEY_DIGITAL_SIGNATURE)
                                            : GNUTLS_KEY_DIGITAL_SIGNATURE)) < 0)
    goto fail;

  key_id_size = sizeof key_id;
  if ((ret = gnutls_x509_crt_get_key_id (crt, GNUTLS_KEYID_USE_SHA1, key_id, &key_id_size)) < 0 ||
      (ret = gnutls_x509_crt_set_subject_key_id (crt, key_id, key_id_size)) < 0)
    goto fail;

  if (issuer != NULL)
    {
      key_id_size = sizeof key_id;
      if ((ret = gnutls_x509_crt_get_key_id (issuer, GNUTLS_KEYID_USE_SHA1, key_id, &key_id_size)) < 0 ||
          (ret = gnutls_x509_crt_set_authority_key_id (crt, key_id, key_id_size)) < 0)
        goto fail;
    }
  else
    {
      if ((ret = gnutls_x509_crt_set_authority_key_id (crt, key_id, key_id_size)) < 0)
        goto fail;
    }

  if ((ret = gnutls_x509_crt_sign2 (crt, issuer != NULL ? issuer : crt,
                                    issuer_key, GNUTLS_DIG_SHA512, 0)) < 0)
    goto fail;

  *out = crt;
  return TRUE;

fail:
  _ferry_clear_x509_crt (&crt);
  g_set_error (error, FERRY_ERROR, FERRY_ERROR_IDENTITY,
               _("Could not create a certificate: %s"), gnutls_strerror (ret));
  return FALSE;
}

static gboolean
save_certificate (gnutls_x509_crt_t   crt,
                  const char         *directory,
                  const char         *basename,
                  GError            **error)
{
  gnutls_datum_t pem = { NULL, 0 };
  gboolean ok;
  int ret;

  ret = gnutls_x509_crt_export2 (crt, GNUTLS_X509_FMT_PEM, &pem);
  if (ret < 0)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_IDENTITY,
                   _("Could not export a certificate: %s"), gnutls_strerror (ret));
      return FALSE;
    }
  ok = _ferry_identity_write_file (directory, basename, pem.data, pem.size, error);
  _ferry_clear_datum (&pem);

  return ok;
}

/* Loads a certificate file, or creates it with @make when it does not exist. */
static gboolean
load_or_create_certificate (const char             *directory,
                            const char             *basename,
                            gnutls_x509_privkey_t   subject_key,
                            const char             *subject_id,
                            gnutls_x509_crt_t       issuer,
                            gnutls_x509_privkey_t   issuer_key,
                            gnutls_x509_crt_t      *crt,
                            GError                **error)
{
  g_autofree char *contents = NULL;
  gsize len = 0;
  gnutls_datum_t data;
  int ret;

  if (!_ferry_identity_read_file (directory, basename, &contents, &len, error))
    return FALSE;

  if (contents == NULL)
    {
      if (!make_certificate (subject_key, subject_id, issuer, issuer_key, crt, error))
        return FALSE;
      if (!save_certificate (*crt, directory, basename, error))
        {
          _ferry_clear_x509_crt (crt);
          return FALSE;
        }
      /* Use the certificate as saved: a freshly made one lacks the raw
       * issuer name until it is imported, and gnutls would then cut the
       * chain it presents in TLS down to the device certificate. */
      _ferry_clear_x509_crt (crt);
      if (!_ferry_identity_read_file (directory, basename, &contents, &len, error))
        return FALSE;
      if (contents == NULL)
        {
          _ferry_identity_file_error (error, directory, basename, _("the file vanished after it was written"));
          return FALSE;
        }
    }

  if (len > G_MAXUINT)
    {
      _ferry_identity_file_error (error, directory, basename, _("file too large"));
      return FALSE;
    }
  data.data = (unsigned char *) contents;
  data.size = (unsigned int) len;
  if ((ret = gnutls_x509_crt_init (crt)) < 0 ||
      (ret = gnutls_x509_crt_import (*crt, &data, GNUTLS_X509_FMT_PEM)) < 0)
    {
      _ferry_clear_x509_crt (crt);
      _ferry_identity_file_error (error, directory, basename, gnutls_strerror (ret));
      return FALSE;
    }

  return TRUE;
}

static gboolean
check_crt_matches_key (gnutls_x509_crt_t   crt,
                       const char         *key_fingerprint,
                       const char         *directory,
                       const char         *crt_basename,
                       const char         *key_basename,
                       GError            **error)
{
  g_autofree char *crt_fp = _ferry_crt_fingerprint (crt);

  if (crt_fp == NULL || !g_str_equal (crt_fp, key_fingerprint))
    {
      g_autofree char *reason =
        g_strdup_printf (_("it does not belong to the key in %s"), key_basename);

      _ferry_identity_file_error (error, directory, crt_basename, reason);
      return FALSE;
    }

  return TRUE;
}

static char *
export_pem (gnutls_x509_crt_t crt)
{
  gnutls_datum_t pem = { NULL, 0 };
  char *text;

  if (gnutls_x509_crt_export2 (crt, GNUTLS_X509_FMT_PEM, &pem) < 0)
    return NULL;
  text = g_strndup ((const char *) pem.data, pem.size);
  _ferry_clear_datum (&pem);

  return text;
}

static gboolean
export_der (gnutls_x509_crt_t  crt,
            gnutls_datum_t    *der)
{
  return gnutls_x509_crt_export2 (crt, GNUTLS_X509_FMT_DER, der) >= 0;
}

char *
_ferry_identity_load_name (const char *directory)
{
  g_autofree char *contents = NULL;
  gsize len = 0;

  if (!_ferry_identity_read_file (directory, NAME_FILE, &contents, &len, NULL) ||
      contents == NULL)
    return NULL;

  g_strstrip (contents);
  if (contents[0] == '\0')
    return NULL;
  if (!g_utf8_validate (contents, -1, NULL))
    {
      char *valid = g_utf8_make_valid (contents, -1);

      g_free (contents);
      contents = valid;
    }
  if (strlen (contents) > MAX_NAME_LENGTH)
    *g_utf8_find_prev_char (contents, contents + MAX_NAME_LENGTH + 1) = '\0';

  return g_steal_pointer (&contents);
}

/* Loads the key @key_file and the certificate @crt_file made from it,
 * creating them the first time, and checks that they belong together. The
 * certificate is issued by @issuer and @issuer_key, or self-signed when
 * @issuer is NULL. The caller frees what was set, also on failure. */
static gboolean
load_key_and_certificate (const char             *directory,
                          const char             *key_file,
                          const char             *crt_file,
                          const char * const     *dependents,
                          gnutls_x509_crt_t       issuer,
                          gnutls_x509_privkey_t   issuer_key,
                          gnutls_x509_privkey_t  *key,
                          gnutls_x509_crt_t      *crt,
                          char                  **fingerprint,
                          GError                **error)
{
  gboolean created;

  if (!load_or_create_key (directory, key_file, dependents, key, &created, error))
    return FALSE;
  *fingerprint = _ferry_x509_privkey_fingerprint (*key);
  if (*fingerprint == NULL)
    {
      _ferry_identity_file_error (error, directory, key_file,
                                  _("its public key could not be derived"));
      return FALSE;
    }
  if (!load_or_create_certificate (directory, crt_file, *key, *fingerprint,
                                   issuer, issuer != NULL ? issuer_key : *key,
                                   crt, error))
    return FALSE;

  return check_crt_matches_key (*crt, *fingerprint, directory,
                                crt_file, key_file, error);
}

/* Checks the chain [@device_crt, @account_crt] the way peers will, and
 * returns its PEM text. */
static char *
verify_and_export_chain (const char         *directory,
                         gnutls_x509_crt_t   device_crt,
                         gnutls_x509_crt_t   account_crt,
                         GError            **error)
{
  gnutls_datum_t chain_der[2] = { { NULL, 0 }, { NULL, 0 } };
  g_autofree char *account_pem = NULL;
  g_autofree char *device_pem = NULL;
  g_autoptr(GError) chain_error = NULL;
  char *chain_pem = NULL;

  if (!export_der (device_crt, &chain_der[0]) || !export_der (account_crt, &chain_der[1]))
    _ferry_identity_file_error (error, directory, DEVICE_CRT_FILE,
                                _("it could not be exported"));
  else if (!_ferry_x509_chain_verify (chain_der, 2, NULL, NULL, &chain_error))
    _ferry_identity_file_error (error, directory, DEVICE_CRT_FILE,
                                chain_error->message);
  else if ((device_pem = export_pem (device_crt)) == NULL ||
           (account_pem = export_pem (account_crt)) == NULL)
    _ferry_identity_file_error (error, directory, DEVICE_CRT_FILE,
                                _("it could not be exported"));
  else
    chain_pem = g_strconcat (device_pem, account_pem, NULL);

  _ferry_clear_datum (&chain_der[0]);
  _ferry_clear_datum (&chain_der[1]);

  return chain_pem;
}

/* The signing key and the TLS credentials of @self. */
static gboolean
set_up_credentials (FerryIdentity          *self,
                    gnutls_x509_privkey_t   device_key,
                    gnutls_x509_crt_t       device_crt,
                    gnutls_x509_crt_t       account_crt,
                    GError                **error)
{
  gnutls_x509_crt_t chain[2];
  int ret;

  if ((ret = gnutls_privkey_init (&self->device_key)) < 0 ||
      (ret = gnutls_privkey_import_x509 (self->device_key, device_key,
                                         GNUTLS_PRIVKEY_IMPORT_COPY)) < 0)
    {
      _ferry_identity_file_error (error, self->directory, DEVICE_KEY_FILE,
                                  gnutls_strerror (ret));
      return FALSE;
    }

  chain[0] = device_crt;
  chain[1] = account_crt;
  if ((ret = gnutls_certificate_allocate_credentials (&self->credentials)) < 0 ||
      (ret = gnutls_certificate_set_x509_key (self->credentials, chain, 2, device_key)) < 0)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_IDENTITY,
                   _("Could not set up TLS credentials: %s"), gnutls_strerror (ret));
      return FALSE;
    }

  return TRUE;
}

static gboolean
make_directory (const char  *directory,
                GError     **error)
{
  if (g_mkdir_with_parents (directory, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, FERRY_ERROR, FERRY_ERROR_IDENTITY,
                   _("Could not create the identity directory %s: %s"),
                   directory, g_strerror (saved_errno));
      return FALSE;
    }

  return TRUE;
}

gboolean
_ferry_identity_load_keys (FerryIdentity  *self,
                           GCancellable   *cancellable,
                           GError        **error)
{
  static const char * const account_dependents[] = {
    ACCOUNT_CRT_FILE, DEVICE_KEY_FILE, DEVICE_CRT_FILE, NULL
  };
  static const char * const device_dependents[] = { DEVICE_CRT_FILE, NULL };
  gnutls_x509_privkey_t account_key = NULL;
  gnutls_x509_privkey_t device_key = NULL;
  gnutls_x509_crt_t account_crt = NULL;
  gnutls_x509_crt_t device_crt = NULL;
  g_autofree char *account_fp = NULL;
  g_autofree char *device_fp = NULL;
  g_autofree char *chain_pem = NULL;
  gboolean ok = FALSE;

  if (self->directory == NULL)
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_IDENTITY,
                           _("No identity directory was given"));
      return FALSE;
    }
  if (g_cancellable_set_error_if_cancelled (cancellable, error) ||
      !make_directory (self->directory, error))
    return FALSE;

  if (!load_key_and_certificate (self->directory, ACCOUNT_KEY_FILE, ACCOUNT_CRT_FILE,
                                 account_dependents, NULL, NULL,
                                 &account_key, &account_crt, &account_fp, error) ||
      g_cancellable_set_error_if_cancelled (cancellable, error) ||
      !load_key_and_certificate (self->directory, DEVICE_KEY_FILE, DEVICE_CRT_FILE,
                                 device_dependents, account_crt, account_key,
                                 &device_key, &device_crt, &device_fp, error))
    goto out;

  chain_pem = verify_and_export_chain (self->directory, device_crt, account_crt, error);
  if (chain_pem == NULL ||
      !set_up_credentials (self, device_key, device_crt, account_crt, error))
    goto out;

  self->chain_pem = g_steal_pointer (&chain_pem);
  self->account_id = g_steal_pointer (&account_fp);
  self->device_id = g_steal_pointer (&device_fp);

  g_free (self->name);
  self->name = _ferry_identity_load_name (self->directory);
  if (self->name == NULL)
    self->name = g_strdup (g_get_host_name ());

  ok = _ferry_identity_load_or_create_x25519 (self, error);

out:
  _ferry_clear_x509_crt (&device_crt);
  _ferry_clear_x509_crt (&account_crt);
  _ferry_clear_x509_privkey (&device_key);
  _ferry_clear_x509_privkey (&account_key);

  return ok;
}
