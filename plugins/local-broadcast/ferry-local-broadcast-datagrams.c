/* ferry-local-broadcast-datagrams.c: what the local-broadcast signaling
 * sends and how it reads what arrives (from anyone on the network:
 * checked, bounded and rate limited)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A datagram is one kind byte and a payload:
 *   'A'  an announcement (the engine's signed announcement, opaque here)
 *   'Q'  a query: everyone (or the devices of the account id in the payload)
 *        answers with its announcement, unicast
 *   'M'  a message (opaque), unicast
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "ferry-local-broadcast-private.h"

char *
_ferry_lb_format_route (GSocketAddress *address)
{
  GInetSocketAddress *inet_address = G_INET_SOCKET_ADDRESS (address);
  g_autofree char *ip = g_inet_address_to_string (g_inet_socket_address_get_address (inet_address));

  return g_strdup_printf ("%s:%u", ip, g_inet_socket_address_get_port (inet_address));
}

GSocketAddress *
_ferry_lb_parse_route (const char *route)
{
  g_autoptr(GSocketConnectable) parsed = NULL;
  g_autoptr(GInetAddress) inet = NULL;
  g_autofree char *canonical = NULL;
  const char *colon;
  const char *host;
  guint16 port;

  if (route == NULL || route[0] == '[' || strlen (route) > 21)
    return NULL;

  /* 1 to 5 digits: g_network_address_parse() would also take a service
   * name, white space or a sign before the number, or no port at all. */
  colon = strrchr (route, ':');
  if (colon == NULL || colon[1] == '\0' || strlen (colon + 1) > 5)
    return NULL;
  for (const char *p = colon + 1; *p != '\0'; p++)
    if (!g_ascii_isdigit (*p))
      return NULL;

  parsed = g_network_address_parse (route, 0, NULL);
  if (parsed == NULL)
    return NULL;
  host = g_network_address_get_hostname (G_NETWORK_ADDRESS (parsed));
  port = g_network_address_get_port (G_NETWORK_ADDRESS (parsed));
  inet = g_inet_address_new_from_string (host);
  if (port == 0 || inet == NULL || g_inet_address_get_family (inet) != G_SOCKET_FAMILY_IPV4)
    return NULL;

  /* g_inet_address_new_from_string() accepts inet_aton() forms such as
   * "127.1": a route is in canonical form only. */
  canonical = g_inet_address_to_string (inet);
  if (g_strcmp0 (canonical, host) != 0 ||
      g_inet_address_get_is_any (inet) ||
      g_inet_address_get_is_multicast (inet))
    return NULL;

  return g_inet_socket_address_new (inet, port);
}

/* Sending --------------------------------------------------------------- */

gboolean
_ferry_lb_send_datagram (GSocket         *socket,
                         GSocketAddress  *destination,
                         char             kind,
                         const guint8    *payload,
                         gsize            size,
                         GError         **error)
{
  GOutputVector vectors[2] = {
    { &kind, 1 },
    { payload, size },
  };
  GOutputMessage message = {
    destination, vectors, size > 0 ? 2 : 1, 0, NULL, 0,
  };
  gint sent;

  sent = g_socket_send_messages (socket, &message, 1, 0, NULL, error);
  return sent == 1;
}

static void
send_to_group (FerryLocalBroadcast *self,
               LbUnicast           *unicast,
               char                 kind,
               const guint8        *payload,
               gsize                size)
{
  g_autoptr(GSocketAddress) destination = g_inet_socket_address_new (self->group, self->port);
  g_autoptr(GError) error = NULL;

  if (!_ferry_lb_send_datagram (unicast->socket, destination, kind, payload, size, &error))
    {
      g_autofree char *from = _ferry_lb_format_route (unicast->bound);

      g_debug ("Could not send '%c' to the group from %s: %s", kind, from, error->message);
    }
}

/* Empty when there is no engine (tests of the plugin alone). */
static GBytes *
dup_announcement (FerryLocalBroadcast *self)
{
  return ferry_plugin_context_get_announcement (ferry_signaling_get_plugin_context (FERRY_SIGNALING (self)));
}

void
_ferry_lb_announce_all (FerryLocalBroadcast *self)
{
  g_autoptr(GBytes) announcement = dup_announcement (self);
  const guint8 *data;
  gsize size;

  if (announcement == NULL)
    return;

  data = g_bytes_get_data (announcement, &size);
  if (size > LB_MAX_PAYLOAD)
    {
      g_warning ("The announcement is too large for a datagram (%" G_GSIZE_FORMAT " bytes)", size);
      return;
    }

  for (guint i = 0; i < self->unicasts->len; i++)
    send_to_group (self, g_ptr_array_index (self->unicasts, i), LB_KIND_ANNOUNCEMENT, data, size);
}

void
_ferry_lb_query_all (FerryLocalBroadcast *self,
                     const char          *account_id)
{
  gsize size = account_id != NULL ? strlen (account_id) : 0;

  for (guint i = 0; i < self->unicasts->len; i++)
    send_to_group (self, g_ptr_array_index (self->unicasts, i), LB_KIND_QUERY,
                   (const guint8 *) account_id, size);
}

/* The unicast socket to reach @destination from: the one on its network,
 * the loopback one for 127/8, otherwise the first. */
LbUnicast *
_ferry_lb_choose_unicast (FerryLocalBroadcast *self,
                          GSocketAddress      *destination)
{
  GInetAddress *inet = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (destination));
  gboolean loopback = g_inet_address_get_is_loopback (inet);

  if (self->unicasts->len == 0)
    return NULL;

  for (guint i = 0; i < self->unicasts->len; i++)
    {
      LbUnicast *unicast = g_ptr_array_index (self->unicasts, i);

      if (loopback)
        {
          if (g_inet_address_get_is_loopback (unicast->address))
            return unicast;
        }
      else if (unicast->network != NULL &&
               g_inet_address_mask_matches (unicast->network, inet))
        {
          return unicast;
        }
    }

  return g_ptr_array_index (self->unicasts, 0);
}

static gboolean
is_own_socket (FerryLocalBroadcast *self,
               GSocketAddress      *source)
{
  GInetSocketAddress *inet_source = G_INET_SOCKET_ADDRESS (source);

  for (guint i = 0; i < self->unicasts->len; i++)
    {
      LbUnicast *unicast = g_ptr_array_index (self->unicasts, i);
      GInetSocketAddress *bound = G_INET_SOCKET_ADDRESS (unicast->bound);

      if (g_inet_socket_address_get_port (bound) == g_inet_socket_address_get_port (inet_source) &&
          g_inet_address_equal (g_inet_socket_address_get_address (bound),
                                g_inet_socket_address_get_address (inet_source)))
        return TRUE;
    }

  return FALSE;
}

/* At most one reply per source every 200 ms, and 20 a second in all. */
static gboolean
reply_allowed (FerryLocalBroadcast *self,
               const char          *route)
{
  gint64 now = g_get_monotonic_time ();
  gpointer last;

  if (g_hash_table_lookup_extended (self->reply_times, route, NULL, &last) &&
      now - *(gint64 *) last < LB_REPLY_SOURCE_INTERVAL_US)
    return FALSE;

  if (now - self->reply_window >= G_TIME_SPAN_SECOND)
    {
      self->reply_window = now;
      self->replies_in_window = 0;
    }

  if (self->replies_in_window >= LB_REPLY_MAX_PER_SECOND)
    return FALSE;

  if (g_hash_table_size (self->reply_times) >= LB_REPLY_TABLE_MAX)
    {
      GHashTableIter iter;
      gpointer value;

      g_hash_table_iter_init (&iter, self->reply_times);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        if (now - *(gint64 *) value >= LB_REPLY_SOURCE_INTERVAL_US)
          g_hash_table_iter_remove (&iter);

      /* Every entry is recent: the overall limit holds anyway. */
      if (g_hash_table_size (self->reply_times) >= LB_REPLY_TABLE_MAX)
        return FALSE;
    }

  self->replies_in_window++;
  g_hash_table_insert (self->reply_times, g_strdup (route),
                       g_memdup2 (&now, sizeof now));
  return TRUE;
}

static gboolean
query_matches_us (FerryLocalBroadcast *self,
                  const guint8        *payload,
                  gsize                size)
{
  const char *account_id;

  if (size == 0)
    return TRUE;

  if (size > LB_MAX_ACCOUNT_ID)
    return FALSE;

  for (gsize i = 0; i < size; i++)
    if (!g_ascii_isxdigit (payload[i]))
      return FALSE;

  account_id = ferry_plugin_context_get_account_id (ferry_signaling_get_plugin_context (FERRY_SIGNALING (self)));

  if (account_id == NULL)
    return TRUE;

  return strlen (account_id) == size &&
         g_ascii_strncasecmp (account_id, (const char *) payload, size) == 0;
}

static void
answer_query (FerryLocalBroadcast *self,
              GSocketAddress      *source,
              const char          *route,
              const guint8        *payload,
              gsize                size)
{
  g_autoptr(GBytes) announcement = NULL;
  g_autoptr(GError) error = NULL;
  LbUnicast *unicast;
  const guint8 *data;
  gsize data_size;

  if (is_own_socket (self, source))
    return;

  if (!query_matches_us (self, payload, size))
    return;

  if (!reply_allowed (self, route))
    {
      g_debug ("Not answering a query from %s: rate limited", route);
      return;
    }

  unicast = _ferry_lb_choose_unicast (self, source);
  if (unicast == NULL)
    return;

  announcement = dup_announcement (self);
  if (announcement == NULL)
    return;

  data = g_bytes_get_data (announcement, &data_size);
  if (data_size > LB_MAX_PAYLOAD)
    return;

  if (!_ferry_lb_send_datagram (unicast->socket, source, LB_KIND_ANNOUNCEMENT, data, data_size, &error))
    g_debug ("Could not answer a query from %s: %s", route, error->message);
}

/* Receiving ------------------------------------------------------------- */

static void
drop_datagram (FerryLocalBroadcast *self,
               const char          *route,
               const char          *why)
{
  self->dropped++;
  g_debug ("Dropped a datagram from %s: %s (%" G_GUINT64_FORMAT " dropped)",
           route, why, self->dropped);
}

static void
handle_datagram (FerryLocalBroadcast *self,
                 GSocketAddress      *source,
                 gboolean             from_group,
                 gsize                size)
{
  g_autofree char *route = NULL;
  g_autoptr(GBytes) payload = NULL;
  const guint8 *data = self->buffer + 1;
  gsize payload_size = size - 1;

  if (source == NULL || !G_IS_INET_SOCKET_ADDRESS (source) ||
      g_socket_address_get_family (source) != G_SOCKET_FAMILY_IPV4)
    return;

  route = _ferry_lb_format_route (source);

  if (size == 0)
    {
      drop_datagram (self, route, "empty");
      return;
    }

  if (payload_size > LB_MAX_PAYLOAD)
    {
      drop_datagram (self, route, "too large");
      return;
    }

  switch (self->buffer[0])
    {
    case LB_KIND_ANNOUNCEMENT:
      payload = g_bytes_new (data, payload_size);
      ferry_signaling_emit_announcement (FERRY_SIGNALING (self), payload, route);
      break;

    case LB_KIND_QUERY:
      if (from_group)
        answer_query (self, source, route, data, payload_size);
      else
        drop_datagram (self, route, "a query not sent to the group");
      break;

    case LB_KIND_MESSAGE:
      if (!from_group)
        {
          payload = g_bytes_new (data, payload_size);
          ferry_signaling_emit_message (FERRY_SIGNALING (self), payload, route);
        }
      else
        {
          drop_datagram (self, route, "a message sent to the group");
        }
      break;

    default:
      drop_datagram (self, route, "unknown kind");
      break;
    }
}

static void
receive_datagrams (FerryLocalBroadcast *self,
                   GSocket             *socket,
                   gboolean             from_group)
{
  /* A bounded batch, so one busy socket cannot starve the context. */
  for (guint i = 0; i < LB_MAX_DATAGRAMS_PER_DISPATCH && self->started; i++)
    {
      g_autoptr(GSocketAddress) source = NULL;
      g_autoptr(GError) error = NULL;
      gssize size;

      size = g_socket_receive_from (socket, &source, (char *) self->buffer,
                                    LB_BUFFER_SIZE, NULL, &error);
      if (size < 0)
        {
          if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            g_debug ("Receiving a datagram failed: %s", error->message);
          return;
        }

      handle_datagram (self, source, from_group, size);
    }
}

gboolean
_ferry_lb_group_readable_cb (GSocket      *socket,
                             GIOCondition  condition,
                             gpointer      user_data)
{
  FerryLocalBroadcast *self = user_data;

  receive_datagrams (self, socket, TRUE);
  return G_SOURCE_CONTINUE;
}

gboolean
_ferry_lb_unicast_readable_cb (GSocket      *socket,
                               GIOCondition  condition,
                               gpointer      user_data)
{
  LbUnicast *unicast = user_data;

  receive_datagrams (unicast->self, socket, FALSE);
  return G_SOURCE_CONTINUE;
}
