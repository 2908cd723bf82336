/* ferry-account-revocations.c: devices revoked by their account, signed
 * with the account key and kept in the home
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>
#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <json-glib/json-glib.h>

#include "ferry-account.h"
#include "ferry-account-internal.h"
#include "ferry-account-private.h"
#include "ferry-error.h"
#include "ferry-identity-private.h"
#include "ferry-utils-private.h"

#define REVOCATIONS_FILE   "revocations.json"
#define MAX_REVOCATIONS    4096

static char *
revocation_message (const char *account,
                    const char *device,
                    gint64      time_ms)
{
  return g_strdup_printf ("ferry-revocation:1:%s:%s:%" G_GINT64_FORMAT, account, device, time_ms);
}

/* Whether @list holds a revocation of @device by @account (another
 * account's word on a device binds nothing). */
static gboolean
revocation_is_known (JsonArray  *list,
                     const char *account,
                     const char *device)
{
  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      JsonNode *entry = json_array_get_element (list, i);

      if (JSON_NODE_HOLDS_OBJECT (entry) &&
          g_strcmp0 (_ferry_json_member_string (json_node_get_object (entry), "device"), device) == 0 &&
          g_strcmp0 (_ferry_json_member_string (json_node_get_object (entry), "account"), account) == 0)
        return TRUE;
    }

  return FALSE;
}

JsonArray *
_ferry_account_load_revocations (const char *home)
{
  g_autofree char *text = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  gsize len;

  if (!_ferry_account_read_file (home, REVOCATIONS_FILE, &text, NULL))
    return json_array_new ();
  len = strlen (text);
  if (!json_parser_load_from_data (parser, text, (gssize) len, NULL) ||
      !_ferry_json_holds (json_parser_get_root (parser), JSON_NODE_ARRAY))
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
  const char *account = _ferry_json_member_string (revocation, "account");
  const char *device = _ferry_json_member_string (revocation, "device");

  if (revocation_is_known (list, account, device))
    return FALSE;
  if (json_array_get_length (list) >= MAX_REVOCATIONS)
    {
      g_autofree char *crt_pem = NULL;
      g_autofree char *own = NULL;

      /* Peers' revocations fill the store; this account's own ones are
       * still kept (only its key can sign them), up to a hard limit. */
      if (json_array_get_length (list) >= 2 * MAX_REVOCATIONS ||
          !_ferry_account_read_file (home, ACCOUNT_CRT_FILE, &crt_pem, NULL) ||
          (own = _ferry_account_crt_id (crt_pem)) == NULL ||
          g_strcmp0 (_ferry_json_member_string (revocation, "account"), own) != 0)
        return FALSE;
    }
  json_array_add_object_element (list, json_object_ref (revocation));
  node = json_node_init_array (json_node_alloc (), list);
  text = json_to_string (node, TRUE);
  if (!_ferry_account_write_file (home, REVOCATIONS_FILE, text, error))
    return FALSE;
  return TRUE;
}

gboolean
_ferry_revocation_verify (JsonObject  *revocation,
                          const char  *chain_pem,
                          char       **device_id,
                          GError     **error)
{
  const char *account = _ferry_json_member_string (revocation, "account");
  const char *device = _ferry_json_member_string (revocation, "device");
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

  signature = _ferry_json_member_base64 (revocation, "signature", &sig_len);
  if (!_ferry_device_id_is_valid (account) || !_ferry_device_id_is_valid (device) || !_ferry_json_member_int (revocation, "time", &time_ms) ||
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

/* Signs @message with the account key @key_pem (wiped here): the
 * signature in base64, or NULL. */
static char *
sign_with_account_key (char        *key_pem,
                       const char  *message,
                       GError     **error)
{
  gnutls_privkey_t key = NULL;
  gnutls_datum_t data, sig = { NULL, 0 };
  char *signature_b64;
  int ret;

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
      return NULL;
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
      return NULL;
    }
  signature_b64 = g_base64_encode (sig.data, sig.size);
  gnutls_free (sig.data);

  return signature_b64;
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
  g_autoptr(JsonArray) list = NULL;
  gint64 now = g_get_real_time () / 1000;
  GError *local_error = NULL;

  g_return_val_if_fail (home != NULL, FALSE);
  g_return_val_if_fail (device_id != NULL, FALSE);

  if (!_ferry_device_id_is_valid (device_id))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("“%s” is not a device id (64 lower-case hex digits)"), device_id);
      return FALSE;
    }
  if (!_ferry_account_read_file (home, ACCOUNT_KEY_FILE, &key_pem, NULL) ||
      !_ferry_account_read_file (home, ACCOUNT_CRT_FILE, &crt_pem, NULL) ||
      (account = _ferry_account_crt_id (crt_pem)) == NULL)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_IDENTITY, _("No account in %s"), home);
      return FALSE;
    }
  if (_ferry_account_read_file (home, DEVICE_CRT_FILE, &device_pem, NULL) &&
      (own = _ferry_account_crt_id (device_pem)) != NULL && g_str_equal (own, device_id))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("This is the device of %s itself: revoke it from another device"), home);
      return FALSE;
    }

  message = revocation_message (account, device_id, now);
  signature_b64 = sign_with_account_key (key_pem, message, error);
  if (signature_b64 == NULL)
    return FALSE;

  json_object_set_string_member (revocation, "account", account);
  json_object_set_string_member (revocation, "device", device_id);
  json_object_set_int_member (revocation, "time", now);
  json_object_set_string_member (revocation, "signature", signature_b64);
  if (_ferry_account_store_revocation (home, revocation, &local_error))
    return TRUE;
  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      return FALSE;
    }
  /* Not stored and not known: never report a revocation that is not. */
  list = _ferry_account_load_revocations (home);
  if (!revocation_is_known (list, account, device_id))
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_FAILED,
                   _("Too many revocations are stored in %s"), home);
      return FALSE;
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
      const char *device = JSON_NODE_HOLDS_OBJECT (node) ? _ferry_json_member_string (json_node_get_object (node), "device") : NULL;

      if (device != NULL)
        g_ptr_array_add (ids, g_strdup (device));
    }
  return (char **) g_ptr_array_free (g_steal_pointer (&ids), FALSE);
}

