/* ferry-certificates.c: fingerprints, and the checks a peer's certificate
 * chain and signatures must pass
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>
#include <time.h>

#include <glib/gi18n-lib.h>
#include <gnutls/crypto.h>

#include "ferry-error.h"
#include "ferry-identity-internal.h"

static void
clear_pubkey (gnutls_pubkey_t *key)
{
  if (*key != NULL)
    {
      gnutls_pubkey_deinit (*key);
      *key = NULL;
    }
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
  _ferry_clear_datum (&der);

  return hex;
}

char *
_ferry_crt_fingerprint (gnutls_x509_crt_t crt)
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

char *
_ferry_x509_privkey_fingerprint (gnutls_x509_privkey_t key)
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
  _ferry_clear_datum (&out);

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

  account_fp = _ferry_crt_fingerprint (account);
  device_fp = _ferry_crt_fingerprint (device);
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
  _ferry_clear_x509_crt (&crts[0]);
  _ferry_clear_x509_crt (&crts[1]);

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
