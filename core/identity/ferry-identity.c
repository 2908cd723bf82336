/* ferry-identity.c: account and device keys, certificates and signatures
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
#include <nettle/curve25519.h>

#include "ferry-error.h"
#include "ferry-identity-private.h"

/**
 * FerryIdentity:
 *
 * The keys and certificates that make up this device's identity.
 *
 * An identity lives in a directory of its own. It holds an account key with
 * a self-signed account certificate, and a device key with a device
 * certificate signed by the account key (all Ed25519, X.509). The first
 * [ctor@Ferry.Identity.new] on an empty directory creates them; later calls
 * load them, and refuse (with %FERRY_ERROR_IDENTITY) files that are corrupt
 * or do not belong together rather than replacing them.
 *
 * The account id and the device id are the lower-case hexadecimal SHA-256
 * fingerprints of the DER-encoded public keys (SubjectPublicKeyInfo). Peers
 * pin these ids: the TLS channel only completes with the device the caller
 * meant to reach.
 */

#define ACCOUNT_KEY_FILE "account.key"
#define ACCOUNT_CRT_FILE "account.crt"
#define DEVICE_KEY_FILE  "device.key"
#define DEVICE_CRT_FILE  "device.crt"
#define NAME_FILE        "name"
#define X25519_KEY_FILE  "device-x25519.key"

/* Certificates are valid from a day before their creation (clocks of two
 * devices differ) for twenty years. */
#define CERT_BACKDATE_SECONDS (24 * 60 * 60)
#define CERT_LIFETIME_SECONDS ((time_t) 20 * 365 * 24 * 60 * 60)

/* Longest display name kept, in bytes. */
#define MAX_NAME_LENGTH 256

struct _FerryIdentity
{
  GObject parent_instance;

  char *directory;
  char *account_id;
  char *device_id;
  char *name;
  char *chain_pem;

  gnutls_privkey_t device_key;
  gnutls_certificate_credentials_t credentials;

  /* Encryption of signaling messages (see ferry-envelope.c) */
  guint8      x25519_secret[FERRY_X25519_KEY_SIZE];
  guint8      x25519_public[FERRY_X25519_KEY_SIZE];
  GMutex      peer_keys_lock;
  GHashTable *peer_keys;     /* device id → PeerKey */
  guint64     peer_keys_serial;
};

static gboolean load_or_create_x25519 (FerryIdentity  *self,
                                       GError        **error);

enum {
  PROP_0,
  PROP_DIRECTORY,
  PROP_ACCOUNT_ID,
  PROP_DEVICE_ID,
  PROP_NAME,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void ferry_identity_initable_iface_init (GInitableIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (FerryIdentity, ferry_identity, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE,
                                                      ferry_identity_initable_iface_init))

/* Small helpers */

static void
clear_x509_crt (gnutls_x509_crt_t *crt)
{
  if (*crt != NULL)
    {
      gnutls_x509_crt_deinit (*crt);
      *crt = NULL;
    }
}

static void
clear_x509_privkey (gnutls_x509_privkey_t *key)
{
  if (*key != NULL)
    {
      gnutls_x509_privkey_deinit (*key);
      *key = NULL;
    }
}

static void
clear_pubkey (gnutls_pubkey_t *key)
{
  if (*key != NULL)
    {
      gnutls_pubkey_deinit (*key);
      *key = NULL;
    }
}

static void
clear_datum (gnutls_datum_t *datum)
{
  gnutls_free (datum->data);
  datum->data = NULL;
  datum->size = 0;
}

char *
_ferry_pubkey_fingerprint (gnutls_pubkey_t key)
{
  gnutls_datum_t der = { NULL, 0 };
  char *hex;

  g_return_val_if_fail (key != NULL, NULL);

  if (gnutls_pubkey_export2 (key, GNUTLS_X509_FMT_DER, &der) < 0)
    return NULL;
  hex = g_compute_checksum_for_data (G_CHECKSUM_SHA256, der.data, der.size);
  clear_datum (&der);

  return hex;
}

static char *
crt_fingerprint (gnutls_x509_crt_t crt)
{
  gnutls_pubkey_t pub = NULL;
  char *hex = NULL;

  if (gnutls_pubkey_init (&pub) < 0)
    return NULL;
  if (gnutls_pubkey_import_x509 (pub, crt, 0) >= 0)
    hex = _ferry_pubkey_fingerprint (pub);
  clear_pubkey (&pub);

  return hex;
}

static char *
x509_privkey_fingerprint (gnutls_x509_privkey_t key)
{
  gnutls_privkey_t priv = NULL;
  gnutls_pubkey_t pub = NULL;
  char *hex = NULL;

  if (gnutls_privkey_init (&priv) < 0)
    return NULL;
  if (gnutls_privkey_import_x509 (priv, key, GNUTLS_PRIVKEY_IMPORT_COPY) >= 0 &&
      gnutls_pubkey_init (&pub) >= 0 &&
      gnutls_pubkey_import_privkey (pub, priv, 0, 0) >= 0)
    hex = _ferry_pubkey_fingerprint (pub);
  clear_pubkey (&pub);
  gnutls_privkey_deinit (priv);

  return hex;
}

/* Chain verification */

static gboolean
check_crt_time (gnutls_x509_crt_t   crt,
                const char         *what,
                time_t              now,
                GError            **error)
{
  time_t not_before = gnutls_x509_crt_get_activation_time (crt);
  time_t not_after = gnutls_x509_crt_get_expiration_time (crt);

  if (not_before == (time_t) -1 || not_after == (time_t) -1)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PEER_UNTRUSTED,
                   _("The %s certificate has no valid validity period"), what);
      return FALSE;
    }
  if (now < not_before)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PEER_UNTRUSTED,
                   _("The %s certificate is not valid yet"), what);
      return FALSE;
    }
  if (now > not_after)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PEER_UNTRUSTED,
                   _("The %s certificate has expired"), what);
      return FALSE;
    }

  return TRUE;
}

static char *
describe_status (unsigned int status)
{
  gnutls_datum_t out = { NULL, 0 };
  char *text;

  if (gnutls_certificate_verification_status_print (status, GNUTLS_CRT_X509,
                                                    &out, 0) < 0)
    return g_strdup_printf ("status 0x%x", status);
  text = g_strstrip (g_strndup ((const char *) out.data, out.size));
  clear_datum (&out);

  return text;
}

/* Checks that @crt was signed by the key of @issuer, with @issuer as the
 * only trust anchor. GNUTLS_VERIFY_DO_NOT_ALLOW_SAME makes gnutls check the
 * signature even when @crt is @issuer (the self-signed account). */
static gboolean
check_signed_by (gnutls_x509_crt_t   crt,
                 gnutls_x509_crt_t   issuer,
                 const char         *what,
                 GError            **error)
{
  unsigned int status = 0;
  int ret;

  if (!gnutls_x509_crt_check_issuer (crt, issuer))
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PEER_UNTRUSTED,
                   _("The %s certificate was not issued by the account"), what);
      return FALSE;
    }

  ret = gnutls_x509_crt_verify (crt, &issuer, 1,
                                GNUTLS_VERIFY_DO_NOT_ALLOW_SAME |
                                GNUTLS_VERIFY_DISABLE_TIME_CHECKS |
                                GNUTLS_VERIFY_DISABLE_TRUSTED_TIME_CHECKS,
                                &status);
  if (ret < 0)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PEER_UNTRUSTED,
                   _("The %s certificate could not be verified: %s"),
                   what, gnutls_strerror (ret));
      return FALSE;
    }
  if (status != 0)
    {
      g_autofree char *text = describe_status (status);

      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PEER_UNTRUSTED,
                   _("The %s certificate is not signed by the account key: %s"),
                   what, text);
      return FALSE;
    }

  return TRUE;
}

static gboolean
verify_crt_pair (gnutls_x509_crt_t   device,
                 gnutls_x509_crt_t   account,
                 char              **account_id,
                 char              **device_id,
                 GError            **error)
{
  g_autofree char *account_fp = NULL;
  g_autofree char *device_fp = NULL;
  time_t now = time (NULL);

  if (gnutls_x509_crt_get_pk_algorithm (account, NULL) != GNUTLS_PK_EDDSA_ED25519 ||
      gnutls_x509_crt_get_pk_algorithm (device, NULL) != GNUTLS_PK_EDDSA_ED25519)
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_PEER_UNTRUSTED,
                           _("The certificates do not hold Ed25519 keys"));
      return FALSE;
    }

  if (!check_crt_time (account, _("account"), now, error) ||
      !check_crt_time (device, _("device"), now, error))
    return FALSE;

  if (!check_signed_by (account, account, _("account"), error) ||
      !check_signed_by (device, account, _("device"), error))
    return FALSE;

  account_fp = crt_fingerprint (account);
  device_fp = crt_fingerprint (device);
  if (account_fp == NULL || device_fp == NULL)
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_PEER_UNTRUSTED,
                           _("The public keys of the certificates could not be read"));
      return FALSE;
    }
  if (g_str_equal (account_fp, device_fp))
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_PEER_UNTRUSTED,
                           _("The device certificate uses the account key"));
      return FALSE;
    }

  if (account_id != NULL)
    *account_id = g_steal_pointer (&account_fp);
  if (device_id != NULL)
    *device_id = g_steal_pointer (&device_fp);

  return TRUE;
}

gboolean
_ferry_x509_chain_verify (const gnutls_datum_t  *certs_der,
                          guint                  n_certs,
                          char                 **account_id,
                          char                 **device_id,
                          GError               **error)
{
  gnutls_x509_crt_t crts[2] = { NULL, NULL };
  gboolean ok = FALSE;
  guint i;

  g_return_val_if_fail (certs_der != NULL || n_certs == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (n_certs != 2)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PEER_UNTRUSTED,
                   _("Expected a chain of 2 certificates (device, account), got %u"),
                   n_certs);
      return FALSE;
    }

  for (i = 0; i < 2; i++)
    {
      int ret;

      if (gnutls_x509_crt_init (&crts[i]) < 0)
        {
          g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_PEER_UNTRUSTED,
                               _("Out of memory"));
          goto out;
        }
      ret = gnutls_x509_crt_import (crts[i], &certs_der[i], GNUTLS_X509_FMT_DER);
      if (ret < 0)
        {
          g_set_error (error, FERRY_ERROR, FERRY_ERROR_PEER_UNTRUSTED,
                       _("Certificate %u of the chain is not valid X.509: %s"),
                       i + 1, gnutls_strerror (ret));
          goto out;
        }
    }

  ok = verify_crt_pair (crts[0], crts[1], account_id, device_id, error);

out:
  clear_x509_crt (&crts[0]);
  clear_x509_crt (&crts[1]);

  return ok;
}

/* Imports every certificate of a PEM text. */
static gboolean
import_pem_chain (const char          *chain_pem,
                  gnutls_x509_crt_t  **crts,
                  unsigned int        *n_crts,
                  GError             **error)
{
  gnutls_datum_t data;
  int ret;

  data.data = (unsigned char *) chain_pem;
  data.size = strlen (chain_pem);

  *crts = NULL;
  *n_crts = 0;
  ret = gnutls_x509_crt_list_import2 (crts, n_crts, &data,
                                      GNUTLS_X509_FMT_PEM, 0);
  if (ret < 0)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PEER_UNTRUSTED,
                   _("The certificate chain is not valid PEM: %s"),
                   gnutls_strerror (ret));
      *crts = NULL;
      *n_crts = 0;
      return FALSE;
    }

  return TRUE;
}

static void
free_crt_list (gnutls_x509_crt_t *crts,
               unsigned int       n_crts)
{
  unsigned int i;

  for (i = 0; i < n_crts; i++)
    gnutls_x509_crt_deinit (crts[i]);
  gnutls_free (crts);
}

gboolean
_ferry_chain_pem_verify (const char  *chain_pem,
                         char       **account_id,
                         char       **device_id,
                         GError     **error)
{
  gnutls_x509_crt_t *crts = NULL;
  unsigned int n_crts = 0;
  gboolean ok;

  g_return_val_if_fail (chain_pem != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!import_pem_chain (chain_pem, &crts, &n_crts, error))
    return FALSE;

  if (n_crts != 2)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PEER_UNTRUSTED,
                   _("Expected a chain of 2 certificates (device, account), got %u"),
                   n_crts);
      ok = FALSE;
    }
  else
    {
      ok = verify_crt_pair (crts[0], crts[1], account_id, device_id, error);
    }

  free_crt_list (crts, n_crts);

  return ok;
}

gboolean
_ferry_chain_pem_verify_signature (const char    *chain_pem,
                                   const guint8  *data,
                                   gsize          len,
                                   GBytes        *signature,
                                   GError       **error)
{
  gnutls_x509_crt_t *crts = NULL;
  unsigned int n_crts = 0;
  gnutls_pubkey_t pub = NULL;
  gnutls_datum_t data_datum;
  gnutls_datum_t sig_datum;
  gsize sig_len = 0;
  gboolean ok = FALSE;
  int ret;

  g_return_val_if_fail (chain_pem != NULL, FALSE);
  g_return_val_if_fail (data != NULL || len == 0, FALSE);
  g_return_val_if_fail (signature != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (len > G_MAXUINT)
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_BAD_MESSAGE,
                           _("The signed data is too large"));
      return FALSE;
    }

  if (!import_pem_chain (chain_pem, &crts, &n_crts, error))
    return FALSE;
  if (n_crts < 1)
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_PEER_UNTRUSTED,
                           _("The certificate chain is empty"));
      goto out;
    }

  if (gnutls_pubkey_init (&pub) < 0 ||
      gnutls_pubkey_import_x509 (pub, crts[0], 0) < 0)
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_PEER_UNTRUSTED,
                           _("The device certificate holds no usable public key"));
      goto out;
    }

  data_datum.data = (unsigned char *) data;
  data_datum.size = (unsigned int) len;
  sig_datum.data = (unsigned char *) g_bytes_get_data (signature, &sig_len);
  sig_datum.size = (unsigned int) sig_len;

  ret = gnutls_pubkey_verify_data2 (pub, GNUTLS_SIGN_EDDSA_ED25519, 0,
                                    &data_datum, &sig_datum);
  if (ret < 0)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_BAD_MESSAGE,
                   _("The signature does not verify: %s"),
                   gnutls_strerror (ret));
      goto out;
    }

  ok = TRUE;

out:
  clear_pubkey (&pub);
  free_crt_list (crts, n_crts);

  return ok;
}

/* Files */

static gboolean
write_private_file (const char    *directory,
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
static gboolean
read_optional_file (const char    *directory,
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

static void
set_identity_error (GError     **error,
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
      clear_x509_privkey (key);
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
  ok = write_private_file (directory, basename, pem.data, pem.size, error);
  gnutls_memset (pem.data, 0, pem.size);
  clear_datum (&pem);

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
      set_identity_error (error, directory, basename, _("file too large"));
      return FALSE;
    }

  data.data = (unsigned char *) contents;
  data.size = (unsigned int) len;

  if ((ret = gnutls_x509_privkey_init (key)) < 0 ||
      (ret = gnutls_x509_privkey_import_pkcs8 (*key, &data, GNUTLS_X509_FMT_PEM,
                                               NULL, GNUTLS_PKCS_PLAIN)) < 0)
    {
      clear_x509_privkey (key);
      set_identity_error (error, directory, basename, gnutls_strerror (ret));
      return FALSE;
    }
  if (gnutls_x509_privkey_get_pk_algorithm (*key) != GNUTLS_PK_EDDSA_ED25519)
    {
      clear_x509_privkey (key);
      set_identity_error (error, directory, basename, _("not an Ed25519 key"));
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
  if (!read_optional_file (directory, basename, &contents, &len, error))
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
          clear_x509_privkey (key);
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
  clear_x509_crt (&crt);
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
  ok = write_private_file (directory, basename, pem.data, pem.size, error);
  clear_datum (&pem);

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

  if (!read_optional_file (directory, basename, &contents, &len, error))
    return FALSE;

  if (contents == NULL)
    {
      if (!make_certificate (subject_key, subject_id, issuer, issuer_key, crt, error))
        return FALSE;
      if (!save_certificate (*crt, directory, basename, error))
        {
          clear_x509_crt (crt);
          return FALSE;
        }
      /* Use the certificate as saved: a freshly made one lacks the raw
       * issuer name until it is imported, and gnutls would then cut the
       * chain it presents in TLS down to the device certificate. */
      clear_x509_crt (crt);
      if (!read_optional_file (directory, basename, &contents, &len, error))
        return FALSE;
      if (contents == NULL)
        {
          set_identity_error (error, directory, basename, _("the file vanished after it was written"));
          return FALSE;
        }
    }

  if (len > G_MAXUINT)
    {
      set_identity_error (error, directory, basename, _("file too large"));
      return FALSE;
    }
  data.data = (unsigned char *) contents;
  data.size = (unsigned int) len;
  if ((ret = gnutls_x509_crt_init (crt)) < 0 ||
      (ret = gnutls_x509_crt_import (*crt, &data, GNUTLS_X509_FMT_PEM)) < 0)
    {
      clear_x509_crt (crt);
      set_identity_error (error, directory, basename, gnutls_strerror (ret));
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
  g_autofree char *crt_fp = crt_fingerprint (crt);

  if (crt_fp == NULL || !g_str_equal (crt_fp, key_fingerprint))
    {
      g_autofree char *reason =
        g_strdup_printf (_("it does not belong to the key in %s"), key_basename);

      set_identity_error (error, directory, crt_basename, reason);
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
  clear_datum (&pem);

  return text;
}

static gboolean
export_der (gnutls_x509_crt_t  crt,
            gnutls_datum_t    *der)
{
  return gnutls_x509_crt_export2 (crt, GNUTLS_X509_FMT_DER, der) >= 0;
}

static char *
load_name (const char *directory)
{
  g_autofree char *contents = NULL;
  gsize len = 0;

  if (!read_optional_file (directory, NAME_FILE, &contents, &len, NULL) ||
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

static gboolean
ferry_identity_initable_init (GInitable     *initable,
                              GCancellable  *cancellable,
                              GError       **error)
{
  FerryIdentity *self = FERRY_IDENTITY (initable);
  static const char * const account_dependents[] = {
    ACCOUNT_CRT_FILE, DEVICE_KEY_FILE, DEVICE_CRT_FILE, NULL
  };
  static const char * const device_dependents[] = { DEVICE_CRT_FILE, NULL };
  gnutls_x509_privkey_t account_key = NULL;
  gnutls_x509_privkey_t device_key = NULL;
  gnutls_x509_crt_t account_crt = NULL;
  gnutls_x509_crt_t device_crt = NULL;
  gnutls_datum_t chain_der[2] = { { NULL, 0 }, { NULL, 0 } };
  g_autofree char *account_fp = NULL;
  g_autofree char *device_fp = NULL;
  g_autofree char *account_pem = NULL;
  g_autofree char *device_pem = NULL;
  g_autoptr(GError) chain_error = NULL;
  gnutls_x509_crt_t chain[2];
  gboolean created;
  gboolean ok = FALSE;
  int ret;

  if (self->directory == NULL)
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_IDENTITY,
                           _("No identity directory was given"));
      return FALSE;
    }

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;

  if (g_mkdir_with_parents (self->directory, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, FERRY_ERROR, FERRY_ERROR_IDENTITY,
                   _("Could not create the identity directory %s: %s"),
                   self->directory, g_strerror (saved_errno));
      return FALSE;
    }

  /* The account */
  if (!load_or_create_key (self->directory, ACCOUNT_KEY_FILE, account_dependents,
                           &account_key, &created, error))
    goto out;
  account_fp = x509_privkey_fingerprint (account_key);
  if (account_fp == NULL)
    {
      set_identity_error (error, self->directory, ACCOUNT_KEY_FILE,
                          _("its public key could not be derived"));
      goto out;
    }
  if (!load_or_create_certificate (self->directory, ACCOUNT_CRT_FILE,
                                   account_key, account_fp, NULL, account_key,
                                   &account_crt, error))
    goto out;
  if (!check_crt_matches_key (account_crt, account_fp, self->directory,
                              ACCOUNT_CRT_FILE, ACCOUNT_KEY_FILE, error))
    goto out;

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    goto out;

  /* The device */
  if (!load_or_create_key (self->directory, DEVICE_KEY_FILE, device_dependents,
                           &device_key, &created, error))
    goto out;
  device_fp = x509_privkey_fingerprint (device_key);
  if (device_fp == NULL)
    {
      set_identity_error (error, self->directory, DEVICE_KEY_FILE,
                          _("its public key could not be derived"));
      goto out;
    }
  if (!load_or_create_certificate (self->directory, DEVICE_CRT_FILE,
                                   device_key, device_fp, account_crt, account_key,
                                   &device_crt, error))
    goto out;
  if (!check_crt_matches_key (device_crt, device_fp, self->directory,
                              DEVICE_CRT_FILE, DEVICE_KEY_FILE, error))
    goto out;

  /* The chain must verify the way peers will check it. */
  if (!export_der (device_crt, &chain_der[0]) || !export_der (account_crt, &chain_der[1]))
    {
      set_identity_error (error, self->directory, DEVICE_CRT_FILE,
                          _("it could not be exported"));
      goto out;
    }
  if (!_ferry_x509_chain_verify (chain_der, 2, NULL, NULL, &chain_error))
    {
      set_identity_error (error, self->directory, DEVICE_CRT_FILE,
                          chain_error->message);
      goto out;
    }

  device_pem = export_pem (device_crt);
  account_pem = export_pem (account_crt);
  if (device_pem == NULL || account_pem == NULL)
    {
      set_identity_error (error, self->directory, DEVICE_CRT_FILE,
                          _("it could not be exported"));
      goto out;
    }

  /* Signing key and TLS credentials */
  if ((ret = gnutls_privkey_init (&self->device_key)) < 0 ||
      (ret = gnutls_privkey_import_x509 (self->device_key, device_key,
                                         GNUTLS_PRIVKEY_IMPORT_COPY)) < 0)
    {
      set_identity_error (error, self->directory, DEVICE_KEY_FILE, gnutls_strerror (ret));
      goto out;
    }

  chain[0] = device_crt;
  chain[1] = account_crt;
  if ((ret = gnutls_certificate_allocate_credentials (&self->credentials)) < 0 ||
      (ret = gnutls_certificate_set_x509_key (self->credentials, chain, 2, device_key)) < 0)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_IDENTITY,
                   _("Could not set up TLS credentials: %s"), gnutls_strerror (ret));
      goto out;
    }

  self->chain_pem = g_strconcat (device_pem, account_pem, NULL);
  self->account_id = g_steal_pointer (&account_fp);
  self->device_id = g_steal_pointer (&device_fp);

  g_free (self->name);
  self->name = load_name (self->directory);
  if (self->name == NULL)
    self->name = g_strdup (g_get_host_name ());

  if (!load_or_create_x25519 (self, error))
    goto out;

  ok = TRUE;

out:
  clear_datum (&chain_der[0]);
  clear_datum (&chain_der[1]);
  clear_x509_crt (&device_crt);
  clear_x509_crt (&account_crt);
  clear_x509_privkey (&device_key);
  clear_x509_privkey (&account_key);

  return ok;
}

static void
ferry_identity_initable_iface_init (GInitableIface *iface)
{
  iface->init = ferry_identity_initable_init;
}

static void
ferry_identity_finalize (GObject *object)
{
  FerryIdentity *self = (FerryIdentity *) object;

  if (self->credentials != NULL)
    gnutls_certificate_free_credentials (self->credentials);
  if (self->device_key != NULL)
    gnutls_privkey_deinit (self->device_key);

  g_clear_pointer (&self->directory, g_free);
  g_clear_pointer (&self->account_id, g_free);
  g_clear_pointer (&self->device_id, g_free);
  g_clear_pointer (&self->name, g_free);
  g_clear_pointer (&self->chain_pem, g_free);
  gnutls_memset (self->x25519_secret, 0, sizeof self->x25519_secret);
  g_clear_pointer (&self->peer_keys, g_hash_table_unref);
  g_mutex_clear (&self->peer_keys_lock);

  G_OBJECT_CLASS (ferry_identity_parent_class)->finalize (object);
}

static void
ferry_identity_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  FerryIdentity *self = FERRY_IDENTITY (object);

  switch (prop_id)
    {
    case PROP_DIRECTORY:
      g_value_set_string (value, self->directory);
      break;

    case PROP_ACCOUNT_ID:
      g_value_set_string (value, self->account_id);
      break;

    case PROP_DEVICE_ID:
      g_value_set_string (value, self->device_id);
      break;

    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ferry_identity_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  FerryIdentity *self = FERRY_IDENTITY (object);

  switch (prop_id)
    {
    case PROP_DIRECTORY:
      g_assert (self->directory == NULL);
      self->directory = g_value_dup_string (value);
      break;

    case PROP_NAME:
      ferry_identity_set_name (self, g_value_get_string (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ferry_identity_class_init (FerryIdentityClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = ferry_identity_finalize;
  object_class->get_property = ferry_identity_get_property;
  object_class->set_property = ferry_identity_set_property;

  /**
   * FerryIdentity:directory:
   *
   * The directory that holds the keys and certificates.
   */
  properties[PROP_DIRECTORY] =
    g_param_spec_string ("directory", NULL, NULL,
                         NULL,
                         (G_PARAM_READWRITE |
                          G_PARAM_CONSTRUCT_ONLY |
                          G_PARAM_STATIC_STRINGS));

  /**
   * FerryIdentity:account-id:
   *
   * The account id: lower-case hexadecimal SHA-256 of the account's public
   * key (64 characters).
   */
  properties[PROP_ACCOUNT_ID] =
    g_param_spec_string ("account-id", NULL, NULL,
                         NULL,
                         (G_PARAM_READABLE |
                          G_PARAM_EXPLICIT_NOTIFY |
                          G_PARAM_STATIC_STRINGS));

  /**
   * FerryIdentity:device-id:
   *
   * The device id: lower-case hexadecimal SHA-256 of this device's public
   * key (64 characters).
   */
  properties[PROP_DEVICE_ID] =
    g_param_spec_string ("device-id", NULL, NULL,
                         NULL,
                         (G_PARAM_READABLE |
                          G_PARAM_EXPLICIT_NOTIFY |
                          G_PARAM_STATIC_STRINGS));

  /**
   * FerryIdentity:name:
   *
   * The display name other devices see. Defaults to the host name; setting
   * it stores it in the identity directory.
   */
  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL,
                         NULL,
                         (G_PARAM_READWRITE |
                          G_PARAM_EXPLICIT_NOTIFY |
                          G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
ferry_identity_init (FerryIdentity *self)
{
  g_mutex_init (&self->peer_keys_lock);
}

/**
 * ferry_identity_new:
 * @directory: (type filename): the identity directory
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Loads the identity kept in @directory, creating the directory (mode
 * 0700) and the account and device keys and certificates (mode 0600) the
 * first time.
 *
 * Existing files are never replaced: a file that is corrupt, or a key and
 * certificate that do not belong together, fail with %FERRY_ERROR_IDENTITY
 * and a message naming the file.
 *
 * Returns: (transfer full): a new #FerryIdentity, or %NULL on error
 */
FerryIdentity *
ferry_identity_new (const char    *directory,
                    GCancellable  *cancellable,
                    GError       **error)
{
  g_return_val_if_fail (directory != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return g_initable_new (FERRY_TYPE_IDENTITY, cancellable, error,
                         "directory", directory,
                         NULL);
}

/**
 * ferry_identity_get_directory:
 * @self: a #FerryIdentity
 *
 * Gets the directory that holds the keys and certificates.
 *
 * Returns: (type filename) (transfer none): the identity directory
 */
const char *
ferry_identity_get_directory (FerryIdentity *self)
{
  g_return_val_if_fail (FERRY_IS_IDENTITY (self), NULL);

  return self->directory;
}

/**
 * ferry_identity_get_account_id:
 * @self: a #FerryIdentity
 *
 * Gets the account id: the lower-case hexadecimal SHA-256 of the account's
 * public key (DER SubjectPublicKeyInfo), 64 characters.
 *
 * Returns: (transfer none): the account id
 */
const char *
ferry_identity_get_account_id (FerryIdentity *self)
{
  g_return_val_if_fail (FERRY_IS_IDENTITY (self), NULL);

  return self->account_id;
}

/**
 * ferry_identity_get_device_id:
 * @self: a #FerryIdentity
 *
 * Gets the device id: the lower-case hexadecimal SHA-256 of this device's
 * public key (DER SubjectPublicKeyInfo), 64 characters.
 *
 * Returns: (transfer none): the device id
 */
const char *
ferry_identity_get_device_id (FerryIdentity *self)
{
  g_return_val_if_fail (FERRY_IS_IDENTITY (self), NULL);

  return self->device_id;
}

/**
 * ferry_identity_get_name:
 * @self: a #FerryIdentity
 *
 * Gets the display name other devices see: the one set with
 * [method@Ferry.Identity.set_name], or the host name.
 *
 * Returns: (transfer none): the display name
 */
const char *
ferry_identity_get_name (FerryIdentity *self)
{
  g_return_val_if_fail (FERRY_IS_IDENTITY (self), NULL);

  return self->name;
}

/**
 * ferry_identity_set_name:
 * @self: a #FerryIdentity
 * @name: (nullable): the new display name, or %NULL to go back to the host name
 *
 * Sets the display name other devices see and stores it in the identity
 * directory. Leading and trailing white space is removed; names are cut to
 * 256 bytes.
 */
void
ferry_identity_set_name (FerryIdentity *self,
                         const char    *name)
{
  g_autofree char *clean = NULL;
  g_autoptr(GError) error = NULL;

  g_return_if_fail (FERRY_IS_IDENTITY (self));
  g_return_if_fail (name == NULL || g_utf8_validate (name, -1, NULL));

  if (name != NULL)
    {
      clean = g_strstrip (g_strdup (name));
      if (strlen (clean) > MAX_NAME_LENGTH)
        *g_utf8_find_prev_char (clean, clean + MAX_NAME_LENGTH + 1) = '\0';
      if (clean[0] == '\0')
        g_clear_pointer (&clean, g_free);
    }

  if (self->directory != NULL && self->account_id != NULL)
    {
      g_autofree char *stored = load_name (self->directory);

      if (g_strcmp0 (stored, clean) == 0)
        {
          /* Already stored as it is: nothing to write. */
        }
      else if (clean != NULL)
        {
          if (!write_private_file (self->directory, NAME_FILE,
                                   clean, strlen (clean), &error))
            g_warning ("%s", error->message);
        }
      else
        {
          g_autofree char *path = g_build_filename (self->directory, NAME_FILE, NULL);

          if (g_unlink (path) != 0 && errno != ENOENT)
            g_warning (_("Could not remove %s: %s"), path, g_strerror (errno));
        }
    }

  if (clean == NULL)
    clean = g_strdup (g_get_host_name ());

  if (g_strcmp0 (clean, self->name) == 0)
    return;

  g_free (self->name);
  self->name = g_steal_pointer (&clean);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NAME]);
}

gnutls_certificate_credentials_t
_ferry_identity_get_credentials (FerryIdentity *self)
{
  g_return_val_if_fail (FERRY_IS_IDENTITY (self), NULL);

  return self->credentials;
}

const char *
_ferry_identity_get_chain_pem (FerryIdentity *self)
{
  g_return_val_if_fail (FERRY_IS_IDENTITY (self), NULL);

  return self->chain_pem;
}

GBytes *
_ferry_identity_sign (FerryIdentity  *self,
                      const guint8   *data,
                      gsize           len,
                      GError        **error)
{
  gnutls_datum_t in;
  gnutls_datum_t sig = { NULL, 0 };
  GBytes *bytes;
  int ret;

  g_return_val_if_fail (FERRY_IS_IDENTITY (self), NULL);
  g_return_val_if_fail (data != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (self->device_key == NULL || len > G_MAXUINT)
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_IDENTITY,
                           _("Cannot sign with this identity"));
      return NULL;
    }

  in.data = (unsigned char *) data;
  in.size = (unsigned int) len;
  ret = gnutls_privkey_sign_data2 (self->device_key, GNUTLS_SIGN_EDDSA_ED25519,
                                   0, &in, &sig);
  if (ret < 0)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_IDENTITY,
                   _("Could not sign: %s"), gnutls_strerror (ret));
      return NULL;
    }

  bytes = g_bytes_new (sig.data, sig.size);
  clear_datum (&sig);

  return bytes;
}

/* Encryption keys
 *
 * Each device also has an X25519 key pair, kept in X25519_KEY_FILE (mode
 * 0600) and created on first use. Its public half travels in every signed
 * message of the device (see ferry-envelope.c), so it is bound to the device
 * by the device's signature; other devices seal their messages to it. The
 * file names the device it belongs to: when the device key is replaced, the
 * X25519 key is replaced too.
 */

#define X25519_PEM_BEGIN "-----BEGIN FERRY X25519 PRIVATE KEY-----"
#define X25519_PEM_END   "-----END FERRY X25519 PRIVATE KEY-----"
#define X25519_DEVICE    "Device: "

/* How many peer keys an identity remembers; the oldest learnt go first. */
#define PEER_KEYS_MAX 1024

typedef struct {
  guint8  key[FERRY_X25519_KEY_SIZE];
  gint64  timestamp_ms;
  guint64 serial;
} PeerKey;

/* Parses the key file. Returns FALSE when it is malformed; sets
 * *@device_matches to whether it belongs to @device_id. */
static gboolean
parse_x25519_file (const char *contents,
                   const char *device_id,
                   guint8     *secret,
                   gboolean   *device_matches)
{
  g_auto(GStrv) lines = g_strsplit (contents, "\n", -1);
  g_autofree guchar *raw = NULL;
  gsize raw_len = 0;
  guint n = g_strv_length (lines);
  const char *b64;

  /* Four lines and an optional final newline. */
  if (n == 5 && lines[4][0] == '\0')
    n = 4;
  if (n != 4 ||
      !g_str_equal (lines[0], X25519_PEM_BEGIN) ||
      !g_str_has_prefix (lines[1], X25519_DEVICE) ||
      !g_str_equal (lines[3], X25519_PEM_END))
    return FALSE;

  b64 = lines[2];
  if (strlen (b64) != 44 || b64[43] != '=' || b64[42] == '=')
    return FALSE;
  for (guint i = 0; i < 43; i++)
    if (!g_ascii_isalnum (b64[i]) && b64[i] != '+' && b64[i] != '/')
      return FALSE;

  raw = g_base64_decode (b64, &raw_len);
  if (raw_len != FERRY_X25519_KEY_SIZE)
    {
      if (raw != NULL)
        gnutls_memset (raw, 0, raw_len);
      return FALSE;
    }

  memcpy (secret, raw, FERRY_X25519_KEY_SIZE);
  gnutls_memset (raw, 0, raw_len);
  *device_matches = g_str_equal (lines[1] + strlen (X25519_DEVICE), device_id);

  return TRUE;
}

static gboolean
load_or_create_x25519 (FerryIdentity  *self,
                       GError        **error)
{
  g_autofree char *contents = NULL;
  gsize len = 0;
  gboolean matches = FALSE;

  if (!read_optional_file (self->directory, X25519_KEY_FILE, &contents, &len, error))
    return FALSE;

  if (contents != NULL)
    {
      gboolean ok = strlen (contents) == len &&
                    parse_x25519_file (contents, self->device_id, self->x25519_secret, &matches);

      gnutls_memset (contents, 0, len);
      if (!ok)
        {
          set_identity_error (error, self->directory, X25519_KEY_FILE,
                              _("not a Ferry X25519 key"));
          return FALSE;
        }
      if (!matches)
        g_debug ("%s belongs to a former device: creating a new X25519 key", X25519_KEY_FILE);
    }

  if (!matches)
    {
      g_autofree char *b64 = NULL;
      g_autofree char *text = NULL;
      gboolean ok;
      int ret;

      ret = gnutls_rnd (GNUTLS_RND_KEY, self->x25519_secret, sizeof self->x25519_secret);
      if (ret < 0)
        {
          g_set_error (error, FERRY_ERROR, FERRY_ERROR_IDENTITY,
                       _("Could not generate an X25519 key: %s"), gnutls_strerror (ret));
          return FALSE;
        }

      b64 = g_base64_encode (self->x25519_secret, sizeof self->x25519_secret);
      text = g_strconcat (X25519_PEM_BEGIN "\n" X25519_DEVICE, self->device_id, "\n",
                          b64, "\n" X25519_PEM_END "\n", NULL);
      ok = write_private_file (self->directory, X25519_KEY_FILE, text, strlen (text), error);
      gnutls_memset (b64, 0, strlen (b64));
      gnutls_memset (text, 0, strlen (text));
      if (!ok)
        return FALSE;
    }

  curve25519_mul_g (self->x25519_public, self->x25519_secret);

  return TRUE;
}

const guint8 *
_ferry_identity_get_x25519_public (FerryIdentity *self)
{
  g_return_val_if_fail (FERRY_IS_IDENTITY (self), NULL);

  return self->x25519_public;
}

gboolean
_ferry_identity_x25519_agree (FerryIdentity  *self,
                              const guint8   *peer_public,
                              guint8         *shared,
                              GError        **error)
{
  guint8 acc = 0;

  g_return_val_if_fail (FERRY_IS_IDENTITY (self), FALSE);
  g_return_val_if_fail (peer_public != NULL, FALSE);
  g_return_val_if_fail (shared != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  curve25519_mul (shared, self->x25519_secret, peer_public);

  /* A low-order point gives an all-zero secret (RFC 7748, section 6.1). */
  for (guint i = 0; i < FERRY_X25519_KEY_SIZE; i++)
    acc |= shared[i];
  if (acc == 0)
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_BAD_MESSAGE,
                           _("The ephemeral key is not a valid X25519 public key"));
      return FALSE;
    }

  return TRUE;
}

void
_ferry_identity_remember_peer_key (FerryIdentity *self,
                                   const char    *device_id,
                                   const guint8  *key,
                                   gint64         timestamp_ms)
{
  PeerKey *entry;

  g_return_if_fail (FERRY_IS_IDENTITY (self));
  g_return_if_fail (device_id != NULL);
  g_return_if_fail (key != NULL);

  if (g_strcmp0 (device_id, self->device_id) == 0)
    return;

  g_mutex_lock (&self->peer_keys_lock);

  if (self->peer_keys == NULL)
    self->peer_keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  entry = g_hash_table_lookup (self->peer_keys, device_id);
  if (entry == NULL)
    {
      while (g_hash_table_size (self->peer_keys) >= PEER_KEYS_MAX)
        {
          GHashTableIter iter;
          gpointer k, v;
          gpointer oldest = NULL;
          guint64 oldest_serial = G_MAXUINT64;

          g_hash_table_iter_init (&iter, self->peer_keys);
          while (g_hash_table_iter_next (&iter, &k, &v))
            if (((PeerKey *) v)->serial < oldest_serial)
              {
                oldest_serial = ((PeerKey *) v)->serial;
                oldest = k;
              }
          g_hash_table_remove (self->peer_keys, oldest);
        }
      entry = g_new0 (PeerKey, 1);
      entry->timestamp_ms = G_MININT64;
      g_hash_table_insert (self->peer_keys, g_strdup (device_id), entry);
    }

  /* A replayed older message does not bring back an older key. */
  if (timestamp_ms >= entry->timestamp_ms)
    {
      memcpy (entry->key, key, FERRY_X25519_KEY_SIZE);
      entry->timestamp_ms = timestamp_ms;
      entry->serial = ++self->peer_keys_serial;
    }

  g_mutex_unlock (&self->peer_keys_lock);
}

gboolean
_ferry_identity_lookup_peer_key (FerryIdentity *self,
                                 const char    *device_id,
                                 guint8        *key)
{
  PeerKey *entry;
  gboolean found = FALSE;

  g_return_val_if_fail (FERRY_IS_IDENTITY (self), FALSE);
  g_return_val_if_fail (device_id != NULL, FALSE);
  g_return_val_if_fail (key != NULL, FALSE);

  g_mutex_lock (&self->peer_keys_lock);
  entry = self->peer_keys != NULL ? g_hash_table_lookup (self->peer_keys, device_id) : NULL;
  if (entry != NULL)
    {
      memcpy (key, entry->key, FERRY_X25519_KEY_SIZE);
      found = TRUE;
    }
  g_mutex_unlock (&self->peer_keys_lock);

  return found;
}
