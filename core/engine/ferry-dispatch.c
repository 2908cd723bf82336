/* ferry-dispatch.c: signaling messages that arrive, checked and handed
 * to the part of the engine that handles their type
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ferry-engine-private.h"

void
_ferry_engine_announcement_received_cb (FerrySignaling *signaling,
                                        GBytes         *announcement,
                                        const char     *route,
                                        FerryEngine    *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FerryEnvelope) envelope = NULL;

  /* Announcements are repeated on purpose, so the replay cache is not used:
   * the timestamp check bounds how old a replayed one can be. */
  envelope = _ferry_envelope_receive (self->identity, announcement, NULL, &error);
  if (envelope == NULL)
    {
      self->dropped_messages++;
      g_debug ("dropped an announcement from %s via %s: %s (%u dropped so far)",
               route, ferry_signaling_get_name (signaling), error->message, self->dropped_messages);
      return;
    }
  if (!g_str_equal (envelope->type, "announce"))
    {
      self->dropped_messages++;
      g_debug ("dropped a %s message posing as an announcement", envelope->type);
      return;
    }
  if (g_str_equal (envelope->from_device, ferry_identity_get_device_id (self->identity)))
    return;

  _ferry_engine_remember_device (self, envelope, signaling, route);
  _ferry_engine_find_peer_check_all (self);
}

/* Whether this device uses the loopback interface itself (as tests and
 * demos on one machine do): only then may a peer have it connect there. */
gboolean
_ferry_engine_uses_loopback (FerryEngine *self)
{
  g_autoptr(GPtrArray) addresses = _ferry_engine_list_local_addresses (self);

  for (guint i = 0; i < addresses->len; i++)
    if (g_inet_address_get_is_loopback (g_ptr_array_index (addresses, i)))
      return TRUE;
  return FALSE;
}

void
_ferry_engine_message_received_cb (FerrySignaling *signaling,
                                   GBytes         *message,
                                   const char     *route,
                                   FerryEngine    *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FerryEnvelope) envelope = NULL;

  /* Opened when sealed (only announcements may come unsealed), verified,
   * checked against replays; the sender's encryption key is learnt. */
  envelope = _ferry_envelope_receive (self->identity, message, self->replay, &error);
  if (envelope == NULL)
    {
      self->dropped_messages++;
      g_debug ("dropped a message from %s via %s: %s (%u dropped so far)",
               route, ferry_signaling_get_name (signaling), error->message, self->dropped_messages);
      return;
    }

  if (g_str_equal (envelope->type, "offer"))
    _ferry_engine_incoming_offer (self, envelope, signaling, route);
  else if (g_str_equal (envelope->type, "answer"))
    _ferry_engine_outgoing_answer (self, envelope);
  else if (g_str_equal (envelope->type, "pending"))
    _ferry_engine_outgoing_pending (self, envelope);
  else if (g_str_equal (envelope->type, "reject"))
    _ferry_engine_outgoing_refused (self, envelope);
  else if (g_str_equal (envelope->type, "cancel"))
    {
      if (!_ferry_engine_outgoing_refused (self, envelope))
        _ferry_engine_incoming_cancel (self, envelope);
    }
  else if (g_str_equal (envelope->type, "request"))
    _ferry_engine_request_received (self, envelope, signaling, route);
  else if (g_str_equal (envelope->type, "request-refused"))
    _ferry_engine_request_refused (self, envelope);
  else if (g_str_equal (envelope->type, "revocations"))
    _ferry_engine_revocations_received (self, envelope);
  else if (g_str_equal (envelope->type, "announce"))
    {
      if (!g_str_equal (envelope->from_device, ferry_identity_get_device_id (self->identity)))
        {
          _ferry_engine_remember_device (self, envelope, signaling, route);
          _ferry_engine_find_peer_check_all (self);
        }
    }
  else
    {
      self->dropped_messages++;
      g_debug ("dropped a message of unknown type %s", envelope->type);
    }
}
