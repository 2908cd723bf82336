/* ferry-envelope.c: signed signaling messages, built and signed
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdarg.h>
#include <string.h>

#include <glib/gi18n-lib.h>
#include <gnutls/crypto.h>

#include "ferry-envelope-internal.h"
#include "ferry-identity-private.h"
#include "ferry-utils-private.h"

void
_ferry_envelope_free (FerryEnvelope *envelope)
{
  if (envelope == NULL)
    return;

  g_free (envelope->id);
  g_free (envelope->type);
  g_free (envelope->from_account);
  g_free (envelope->from_device);
  g_free (envelope->from_name);
  g_free (envelope->to);
  g_free (envelope->chain_pem);
  g_clear_pointer (&envelope->body, json_object_unref);
  g_free (envelope);
}

void
_ferry_envelope_drop (GError     **error,
                      FerryError   code,
                      const char  *format,
                      ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  g_debug ("Dropping signaling message: %s", message);
  g_set_error_literal (error, FERRY_ERROR, code, message);
}

char *
_ferry_envelope_shorten (const char *id)
{
  return g_strdup_printf ("%.12s", id);
}

/* Building */

/* Message ids come from gnutls' generator only (never g_random, whose
 * output can be predicted): NULL when the system has no randomness. */
static char *
random_id (GError **error)
{
  guint8 raw[ID_BYTES];
  int ret;

  if ((ret = gnutls_rnd (GNUTLS_RND_NONCE, raw, sizeof raw)) < 0)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_FAILED,
                   _("No random numbers: %s"), gnutls_strerror (ret));
      return NULL;
    }

  return _ferry_hex_encode (raw, sizeof raw);
}

static char *
object_to_string (JsonObject *object)
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), object);

  return json_to_string (node, FALSE);
}

GBytes *
_ferry_envelope_build (FerryIdentity  *identity,
                       const char     *type,
                       const char     *to,
                       JsonObject     *body,
                       GError        **error)
{
  g_autoptr(JsonObject) message = NULL;
  g_autoptr(JsonObject) from = NULL;
  g_autoptr(JsonObject) outer = NULL;
  g_autoptr(GBytes) signature = NULL;
  g_autofree char *id = NULL;
  g_autofree char *m = NULL;
  g_autofree char *s = NULL;
  char *wire;
  gsize wire_len;
  const guint8 *sig_data;
  gsize sig_len;

  g_return_val_if_fail (FERRY_IS_IDENTITY (identity), NULL);
  g_return_val_if_fail (type != NULL && type[0] != '\0', NULL);
  g_return_val_if_fail (to != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  id = random_id (error);
  if (id == NULL)
    return NULL;

  from = json_object_new ();
  json_object_set_string_member (from, "account", ferry_identity_get_account_id (identity));
  json_object_set_string_member (from, "device", ferry_identity_get_device_id (identity));
  json_object_set_string_member (from, "name", ferry_identity_get_name (identity));

  message = json_object_new ();
  json_object_set_int_member (message, "v", ENVELOPE_VERSION);
  json_object_set_string_member (message, "id", id);
  json_object_set_int_member (message, "ts", g_get_real_time () / 1000);
  json_object_set_string_member (message, "type", type);
  json_object_set_object_member (message, "from", json_object_ref (from));
  json_object_set_string_member (message, "to", to);
  json_object_set_string_member (message, "chain", _ferry_identity_get_chain_pem (identity));
  {
    g_autofree char *x25519 = g_base64_encode (_ferry_identity_get_x25519_public (identity),
                                               FERRY_X25519_KEY_SIZE);

    json_object_set_string_member (message, "x25519", x25519);
  }
  json_object_set_object_member (message, "body",
                                 body != NULL ? json_object_ref (body) : json_object_new ());

  m = object_to_string (message);

  signature = _ferry_identity_sign (identity, (const guint8 *) m, strlen (m), error);
  if (signature == NULL)
    return NULL;
  sig_data = g_bytes_get_data (signature, &sig_len);
  s = g_base64_encode (sig_data, sig_len);

  outer = json_object_new ();
  json_object_set_string_member (outer, "m", m);
  json_object_set_string_member (outer, "s", s);
  wire = object_to_string (outer);
  wire_len = strlen (wire);

  if (wire_len > FERRY_ENVELOPE_MAX_SIZE)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_BAD_MESSAGE,
                   _("The signaling message is too large (%zu bytes, at most %u)"),
                   wire_len, (guint) FERRY_ENVELOPE_MAX_SIZE);
      g_free (wire);
      return NULL;
    }

  return g_bytes_new_take (wire, wire_len);
}


GBytes *
_ferry_envelope_build_sealed (FerryIdentity  *identity,
                              const char     *type,
                              const char     *to,
                              JsonObject     *body,
                              GError        **error)
{
  g_autoptr(GBytes) plain = NULL;
  guint8 key[FERRY_X25519_KEY_SIZE];

  g_return_val_if_fail (FERRY_IS_IDENTITY (identity), NULL);
  g_return_val_if_fail (to != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!g_str_equal (to, "*") && !_ferry_identity_lookup_peer_key (identity, to, key))
    {
      g_autofree char *to_short = _ferry_envelope_shorten (to);

      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PEER_UNTRUSTED,
                   _("No encryption key is known for device %s"), to_short);
      return NULL;
    }

  plain = _ferry_envelope_build (identity, type, to, body, error);
  if (plain == NULL || g_str_equal (to, "*"))
    return g_steal_pointer (&plain);

  return _ferry_envelope_seal (identity, to, key, plain, error);
}
