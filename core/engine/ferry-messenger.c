/* ferry-messenger.c: building, sealing and sending signaling messages
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>
#include <gnutls/crypto.h>

#include "ferry-engine-private.h"

/* -------------------------------------------------------------- messaging */

char *
_ferry_engine_random_hex (gsize n_bytes)
{
  guint8 buf[32];
  GString *hex = g_string_sized_new (n_bytes * 2);

  g_assert (n_bytes <= sizeof buf);
  if (gnutls_rnd (GNUTLS_RND_NONCE, buf, n_bytes) != 0)
    g_error ("gnutls_rnd failed");
  for (gsize i = 0; i < n_bytes; i++)
    g_string_append_printf (hex, "%02x", buf[i]);
  return g_string_free (hex, FALSE);
}

static void
send_message_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  if (!ferry_signaling_send_finish (FERRY_SIGNALING (source), result, &error))
    g_debug ("signaling %s could not send: %s",
             ferry_signaling_get_name (FERRY_SIGNALING (source)), error->message);
}

void
_ferry_engine_send_message (FerryEngine    *self,
                            FerrySignaling *signaling,
                            const char     *route,
                            GBytes         *message)
{
  if (signaling == NULL || route == NULL)
    {
      g_debug ("no route to send a message");
      return;
    }
  ferry_signaling_send_async (signaling, route, message, NULL, send_message_cb, NULL);
}

GBytes *
_ferry_engine_build_message (FerryEngine *self,
                             const char  *type,
                             const char  *to,
                             JsonObject  *body)
{
  g_autoptr(GError) error = NULL;
  /* Signed, and sealed to the receiving device (see ferry-envelope.c). */
  GBytes *message = _ferry_envelope_build_sealed (self->identity, type, to, body, &error);

  if (message == NULL)
    g_warning ("cannot build a %s message: %s", type, error->message);
  return message;
}

void
_ferry_engine_send_cancel (FerryEngine    *self,
                           FerrySignaling *signaling,
                           const char     *route,
                           const char     *to,
                           const char     *transfer_id,
                           const char     *reason)
{
  g_autoptr(JsonObject) body = json_object_new ();
  g_autoptr(GBytes) message = NULL;

  json_object_set_string_member (body, "transfer", transfer_id);
  json_object_set_string_member (body, "reason", reason ? reason : "");
  message = _ferry_engine_build_message (self, "cancel", to, body);
  if (message != NULL)
    _ferry_engine_send_message (self, signaling, route, message);
}
