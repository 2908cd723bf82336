/* ferry-local-broadcast.c: signaling by UDP multicast on the local network
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * One "group" socket, bound to 0.0.0.0:port with address and port reuse,
 * receives the group's traffic on every selected interface. One "unicast"
 * socket per selected IPv4 address, bound to that address, sends to the group
 * on its own interface only and receives unicast replies and messages.
 *
 * A datagram is one kind byte and a payload:
 *   'A'  an announcement (the engine's signed announcement, opaque here)
 *   'Q'  a query: everyone (or the devices of the account id in the payload)
 *        answers with its announcement, unicast
 *   'M'  a message (opaque), unicast
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <glib/gi18n-lib.h>
#include <ferry/ferry.h>

#define LB_DEFAULT_PORT          47474
#define LB_DEFAULT_GROUP         "239.255.71.71"
#define LB_DEFAULT_INTERVAL_S    30
#define LB_MAX_PAYLOAD           60000
#define LB_BUFFER_SIZE           65536
#define LB_MAX_DATAGRAMS_PER_DISPATCH 64
#define LB_REPLY_SOURCE_INTERVAL_US (200 * G_TIME_SPAN_MILLISECOND)
#define LB_REPLY_MAX_PER_SECOND  20
#define LB_REPLY_TABLE_MAX       256
#define LB_MAX_ACCOUNT_ID        128

#define LB_KIND_ANNOUNCEMENT 'A'
#define LB_KIND_QUERY        'Q'
#define LB_KIND_MESSAGE      'M'

#define FERRY_TYPE_LOCAL_BROADCAST (ferry_local_broadcast_get_type ())
G_DECLARE_FINAL_TYPE (FerryLocalBroadcast, ferry_local_broadcast, FERRY, LOCAL_BROADCAST, FerrySignaling)

typedef struct {
  FerryLocalBroadcast *self;
  GSocket             *socket;
  GInetAddress        *address;   /* the local address it is bound to */
  GInetAddressMask    *network;   /* its network, when known */
  GSocketAddress      *bound;     /* address and ephemeral port */
  GSource             *source;
} LbUnicast;

/**
 * FerryLocalBroadcast:
 *
 * The `local-broadcast` signaling: devices on the same network find each
 * other by UDP multicast and exchange messages by unicast datagrams.
 */
struct _FerryLocalBroadcast
{
  FerrySignaling  parent_instance;

  GMainContext   *context;
  gboolean        started;

  guint16         port;
  GInetAddress   *group;
  guint           interval;

  GSocket        *group_socket;
  GSource        *group_source;
  GArray         *memberships;    /* struct ip_mreq, to leave the group */
  GPtrArray      *unicasts;       /* LbUnicast */
  GSource        *announce_timer;

  GHashTable     *reply_times;    /* "ip:port" → gint64 monotonic time */
  gint64          reply_window;
  guint           replies_in_window;

  GQueue          sends;          /* GTask waiting for a socket to be writable */

  guint8         *buffer;
  guint64         dropped;
};

G_DEFINE_FINAL_TYPE (FerryLocalBroadcast, ferry_local_broadcast, FERRY_TYPE_SIGNALING)

static char *
format_route (GSocketAddress *address)
{
  GInetSocketAddress *inet_address = G_INET_SOCKET_ADDRESS (address);
  g_autofree char *ip = g_inet_address_to_string (g_inet_socket_address_get_address (inet_address));

  return g_strdup_printf ("%s:%u", ip, g_inet_socket_address_get_port (inet_address));
}

/* Parses "192.0.2.1:4711" in canonical form, and nothing else. */
static GSocketAddress *
parse_route (const char *route)
{
  g_autofree char *host = NULL;
  g_autofree char *canonical = NULL;
  g_autoptr(GInetAddress) inet = NULL;
  const char *colon;
  guint64 port;

  if (route == NULL || strlen (route) > 21)
    return NULL;

  colon = strrchr (route, ':');
  if (colon == NULL || colon == route || colon[1] == '\0' || strlen (colon + 1) > 5)
    return NULL;

  for (const char *p = colon + 1; *p != '\0'; p++)
    if (!g_ascii_isdigit (*p))
      return NULL;

  port = g_ascii_strtoull (colon + 1, NULL, 10);
  if (port == 0 || port > G_MAXUINT16)
    return NULL;

  host = g_strndup (route, colon - route);
  inet = g_inet_address_new_from_string (host);
  if (inet == NULL || g_inet_address_get_family (inet) != G_SOCKET_FAMILY_IPV4)
    return NULL;

  canonical = g_inet_address_to_string (inet);
  if (g_strcmp0 (canonical, host) != 0 ||
      g_inet_address_get_is_any (inet) ||
      g_inet_address_get_is_multicast (inet))
    return NULL;

  return g_inet_socket_address_new (inet, (guint16) port);
}

static void
inet_to_in_addr (GInetAddress   *inet,
                 struct in_addr *out)
{
  g_assert (g_inet_address_get_native_size (inet) == sizeof *out);
  memcpy (out, g_inet_address_to_bytes (inet), sizeof *out);
}

static gboolean
set_int_option (GSocket     *socket,
                int          level,
                int          name,
                int          value,
                const char  *what,
                GError     **error)
{
  g_autoptr(GError) local_error = NULL;

  if (g_socket_set_option (socket, level, name, value, &local_error))
    return TRUE;

  g_set_error (error, G_IO_ERROR, local_error->code,
               _("Could not set %s: %s"), what, local_error->message);
  return FALSE;
}

static gboolean
set_raw_option (GSocket     *socket,
                int          level,
                int          name,
                const void  *value,
                socklen_t    size,
                const char  *what,
                GError     **error)
{
  if (setsockopt (g_socket_get_fd (socket), level, name, value, size) == 0)
    return TRUE;

  {
    int saved_errno = errno;

    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                 _("Could not set %s: %s"), what, g_strerror (saved_errno));
  }
  return FALSE;
}

/* Finds the network and the interface index of a local IPv4 address. */
static void
lookup_interface (GInetAddress      *address,
                  GInetAddressMask **network,
                  guint             *ifindex)
{
  struct ifaddrs *list = NULL;
  struct in_addr wanted;

  *network = NULL;
  *ifindex = 0;

  if (getifaddrs (&list) != 0)
    return;

  inet_to_in_addr (address, &wanted);

  for (struct ifaddrs *ifa = list; ifa != NULL; ifa = ifa->ifa_next)
    {
      const struct sockaddr_in *sin = (const struct sockaddr_in *) ifa->ifa_addr;
      const struct sockaddr_in *mask = (const struct sockaddr_in *) ifa->ifa_netmask;

      if (sin == NULL || sin->sin_family != AF_INET ||
          sin->sin_addr.s_addr != wanted.s_addr)
        continue;

      *ifindex = if_nametoindex (ifa->ifa_name);

      if (mask != NULL && mask->sin_family == AF_INET)
        {
          guint32 bits = ntohl (mask->sin_addr.s_addr);
          guint32 net = ntohl (wanted.s_addr) & bits;
          guint prefix = __builtin_popcount (bits);
          g_autoptr(GInetAddress) base = NULL;
          guint8 bytes[4] = { net >> 24, net >> 16, net >> 8, net };

          /* GInetAddressMask wants the network address, not the host's. */
          base = g_inet_address_new_from_bytes (bytes, G_SOCKET_FAMILY_IPV4);
          *network = g_inet_address_mask_new (base, prefix, NULL);
        }
      break;
    }

  freeifaddrs (list);
}

/* Sending --------------------------------------------------------------- */

static gboolean
send_datagram (GSocket         *socket,
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

  if (!send_datagram (unicast->socket, destination, kind, payload, size, &error))
    {
      g_autofree char *from = format_route (unicast->bound);

      g_debug ("Could not send '%c' to the group from %s: %s", kind, from, error->message);
    }
}

/* Returns NULL when the engine could not build its announcement. */
static GBytes *
dup_announcement (FerryLocalBroadcast *self)
{
  FerryEngine *engine = ferry_signaling_get_engine (FERRY_SIGNALING (self));

  /* (transfer full) */
  if (engine != NULL)
    return ferry_engine_get_announcement (engine);

  /* Without an engine (tests of the plugin alone): an empty one. */
  return g_bytes_new_static ("", 0);
}

static void
announce_all (FerryLocalBroadcast *self)
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

static void
query_all (FerryLocalBroadcast *self,
           const char          *account_id)
{
  gsize size = account_id != NULL ? strlen (account_id) : 0;

  for (guint i = 0; i < self->unicasts->len; i++)
    send_to_group (self, g_ptr_array_index (self->unicasts, i), LB_KIND_QUERY,
                   (const guint8 *) account_id, size);
}

/* The unicast socket to reach @destination from: the one on its network,
 * the loopback one for 127/8, otherwise the first. */
static LbUnicast *
choose_unicast (FerryLocalBroadcast *self,
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
  FerryEngine *engine;
  FerryIdentity *identity;
  const char *account_id;

  if (size == 0)
    return TRUE;

  if (size > LB_MAX_ACCOUNT_ID)
    return FALSE;

  for (gsize i = 0; i < size; i++)
    if (!g_ascii_isxdigit (payload[i]))
      return FALSE;

  engine = ferry_signaling_get_engine (FERRY_SIGNALING (self));
  identity = engine != NULL ? ferry_engine_get_identity (engine) : NULL;
  account_id = identity != NULL ? ferry_identity_get_account_id (identity) : NULL;

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

  unicast = choose_unicast (self, source);
  if (unicast == NULL)
    return;

  announcement = dup_announcement (self);
  if (announcement == NULL)
    return;

  data = g_bytes_get_data (announcement, &data_size);
  if (data_size > LB_MAX_PAYLOAD)
    return;

  if (!send_datagram (unicast->socket, source, LB_KIND_ANNOUNCEMENT, data, data_size, &error))
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

  route = format_route (source);

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

static gboolean
group_readable_cb (GSocket      *socket,
                   GIOCondition  condition,
                   gpointer      user_data)
{
  FerryLocalBroadcast *self = user_data;

  receive_datagrams (self, socket, TRUE);
  return G_SOURCE_CONTINUE;
}

static gboolean
unicast_readable_cb (GSocket      *socket,
                     GIOCondition  condition,
                     gpointer      user_data)
{
  LbUnicast *unicast = user_data;

  receive_datagrams (unicast->self, socket, FALSE);
  return G_SOURCE_CONTINUE;
}

static gboolean
announce_cb (gpointer user_data)
{
  FerryLocalBroadcast *self = user_data;

  announce_all (self);
  return G_SOURCE_CONTINUE;
}

static GSource *
watch_socket (FerryLocalBroadcast *self,
              GSocket             *socket,
              GSocketSourceFunc    func,
              gpointer             data)
{
  GSource *source = g_socket_create_source (socket, G_IO_IN, NULL);

  g_source_set_static_name (source, "[ferry-local-broadcast] receive");
  g_source_set_callback (source, G_SOURCE_FUNC (func), data, NULL);
  g_source_attach (source, self->context);

  return source;
}

/* Sockets --------------------------------------------------------------- */

static void
lb_unicast_free (LbUnicast *unicast)
{
  if (unicast->source != NULL)
    {
      g_source_destroy (unicast->source);
      g_source_unref (unicast->source);
    }

  if (unicast->socket != NULL)
    g_socket_close (unicast->socket, NULL);

  g_clear_object (&unicast->socket);
  g_clear_object (&unicast->address);
  g_clear_object (&unicast->network);
  g_clear_object (&unicast->bound);
  g_free (unicast);
}

static GSocket *
open_group_socket (FerryLocalBroadcast  *self,
                   GError              **error)
{
  g_autoptr(GSocket) socket = NULL;
  /* Bound to the group address, not to 0.0.0.0: the socket gets the
   * group's datagrams and nothing sent to the port on any other address. */
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (self->group, self->port);

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                         G_SOCKET_PROTOCOL_UDP, error);
  if (socket == NULL)
    return NULL;

  g_socket_set_blocking (socket, FALSE);

  /* Several processes, and several engines in one process, share the port
   * and must all receive the group's datagrams. GLib's g_socket_bind() with
   * allow_reuse sets both options on a datagram socket; set them anyway,
   * before binding, not to depend on that. */
  if (!set_int_option (socket, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR", error))
    return NULL;
#ifdef SO_REUSEPORT
  if (!set_int_option (socket, SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT", error))
    return NULL;
#endif

  if (!g_socket_bind (socket, address, TRUE, error))
    return NULL;

#ifdef IP_MULTICAST_ALL
  /* Only the groups joined on this socket, on the interfaces joined. */
  if (!set_int_option (socket, IPPROTO_IP, IP_MULTICAST_ALL, 0, "IP_MULTICAST_ALL", error))
    return NULL;
#endif

  /* This socket never sends; should it, nothing leaves the host. */
  if (!set_int_option (socket, IPPROTO_IP, IP_MULTICAST_TTL, 0, "IP_MULTICAST_TTL", error))
    return NULL;

  return g_steal_pointer (&socket);
}

static gboolean
join_group (FerryLocalBroadcast  *self,
            GInetAddress         *local,
            GError              **error)
{
  struct ip_mreq mreq;

  memset (&mreq, 0, sizeof mreq);
  inet_to_in_addr (self->group, &mreq.imr_multiaddr);
  inet_to_in_addr (local, &mreq.imr_interface);

  if (setsockopt (g_socket_get_fd (self->group_socket), IPPROTO_IP, IP_ADD_MEMBERSHIP,
                  &mreq, sizeof mreq) != 0)
    {
      int saved_errno = errno;

      /* A second address on an interface already joined. */
      if (saved_errno == EADDRINUSE)
        return TRUE;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _("Could not join the multicast group: %s"), g_strerror (saved_errno));
      return FALSE;
    }

  g_array_append_val (self->memberships, mreq);
  return TRUE;
}

static LbUnicast *
open_unicast_socket (FerryLocalBroadcast  *self,
                     GInetAddress         *local,
                     GError              **error)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (local, 0);
  struct in_addr interface;
  LbUnicast *unicast;
  guint ifindex = 0;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                         G_SOCKET_PROTOCOL_UDP, error);
  if (socket == NULL)
    return NULL;

  g_socket_set_blocking (socket, FALSE);

  if (!g_socket_bind (socket, address, FALSE, error))
    return NULL;

  inet_to_in_addr (local, &interface);
  if (!set_raw_option (socket, IPPROTO_IP, IP_MULTICAST_IF, &interface, sizeof interface,
                       "IP_MULTICAST_IF", error) ||
      !set_int_option (socket, IPPROTO_IP, IP_MULTICAST_LOOP, 1, "IP_MULTICAST_LOOP", error) ||
      !set_int_option (socket, IPPROTO_IP, IP_MULTICAST_TTL, 1, "IP_MULTICAST_TTL", error))
    return NULL;

  unicast = g_new0 (LbUnicast, 1);
  unicast->self = self;
  unicast->address = g_object_ref (local);
  unicast->bound = g_socket_get_local_address (socket, error);
  if (unicast->bound == NULL)
    {
      g_object_unref (unicast->address);
      g_free (unicast);
      return NULL;
    }

  lookup_interface (local, &unicast->network, &ifindex);

#ifdef IP_UNICAST_IF
  /* Unicast replies and messages leave by this address's interface only. */
  if (ifindex != 0)
    {
      guint32 index = g_htonl (ifindex);
      g_autoptr(GError) option_error = NULL;

      if (!set_raw_option (socket, IPPROTO_IP, IP_UNICAST_IF, &index, sizeof index,
                           "IP_UNICAST_IF", &option_error))
        g_debug ("%s", option_error->message);
    }
#endif

  unicast->socket = g_steal_pointer (&socket);
  return unicast;
}

static gboolean
read_config (FerryLocalBroadcast  *self,
             GError              **error)
{
  FerryEngine *engine = ferry_signaling_get_engine (FERRY_SIGNALING (self));
  GKeyFile *config = engine != NULL ? ferry_engine_get_config (engine) : NULL;
  g_autofree char *group = NULL;
  gint64 port = LB_DEFAULT_PORT;
  gint64 interval = LB_DEFAULT_INTERVAL_S;
  g_autoptr(GError) local_error = NULL;

  if (config != NULL && g_key_file_has_key (config, "local-broadcast", "port", NULL))
    {
      port = g_key_file_get_int64 (config, "local-broadcast", "port", &local_error);
      if (local_error != NULL || port < 1 || port > G_MAXUINT16)
        {
          g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_CONFIG,
                               _("Invalid [local-broadcast] port: expected a number from 1 to 65535"));
          return FALSE;
        }
    }

  if (config != NULL && g_key_file_has_key (config, "local-broadcast", "announce-interval", NULL))
    {
      interval = g_key_file_get_int64 (config, "local-broadcast", "announce-interval", &local_error);
      if (local_error != NULL || interval < 1 || interval > 86400)
        {
          g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_CONFIG,
                               _("Invalid [local-broadcast] announce-interval: expected seconds from 1 to 86400"));
          return FALSE;
        }
    }

  if (config != NULL)
    group = g_key_file_get_string (config, "local-broadcast", "group", NULL);
  if (group == NULL)
    group = g_strdup (LB_DEFAULT_GROUP);

  g_strstrip (group);
  g_clear_object (&self->group);
  self->group = g_inet_address_new_from_string (group);
  if (self->group == NULL ||
      g_inet_address_get_family (self->group) != G_SOCKET_FAMILY_IPV4 ||
      !g_inet_address_get_is_multicast (self->group))
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG,
                   _("Invalid [local-broadcast] group “%s”: expected an IPv4 multicast address"),
                   group);
      return FALSE;
    }

  self->port = (guint16) port;
  self->interval = (guint) interval;
  return TRUE;
}

static GPtrArray *
dup_local_addresses (FerryLocalBroadcast *self)
{
  FerryEngine *engine = ferry_signaling_get_engine (FERRY_SIGNALING (self));
  GPtrArray *addresses;

  /* (transfer full) */
  if (engine != NULL)
    return ferry_engine_get_local_addresses (engine);

  /* Without an engine (tests of the plugin alone): loopback only. */
  addresses = g_ptr_array_new_with_free_func (g_object_unref);
  g_ptr_array_add (addresses, g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4));
  return addresses;
}

/* Sending messages ------------------------------------------------------ */

typedef struct {
  FerryLocalBroadcast *self;
  GList                link;   /* in self->sends while waiting */
  GSocket             *socket;
  GSocketAddress      *destination;
  GBytes              *message;
  GSource             *source;
} LbSend;

/* Stops waiting for the socket; the caller holds a reference on the task. */
static void
lb_send_stop_waiting (LbSend *send)
{
  GSource *source = g_steal_pointer (&send->source);

  if (source != NULL)
    {
      g_queue_unlink (&send->self->sends, &send->link);
      g_source_destroy (source);
      g_source_unref (source);
    }
}

static void
lb_send_free (LbSend *send)
{
  /* The source holds a reference on the task: it is gone by now. */
  g_assert (send->source == NULL);

  g_clear_object (&send->socket);
  g_clear_object (&send->destination);
  g_clear_pointer (&send->message, g_bytes_unref);
  g_free (send);
}

/* Returns FALSE when the socket would block. */
static gboolean
lb_send_try (LbSend  *send,
             GError **error)
{
  g_autoptr(GError) local_error = NULL;
  gsize size;
  const guint8 *data = g_bytes_get_data (send->message, &size);

  if (send_datagram (send->socket, send->destination, LB_KIND_MESSAGE, data, size, &local_error))
    return TRUE;

  if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    return FALSE;

  g_propagate_error (error, g_steal_pointer (&local_error));
  return TRUE;
}

static gboolean
send_writable_cb (GSocket      *socket,
                  GIOCondition  condition,
                  gpointer      user_data)
{
  GTask *task = user_data;
  LbSend *send = g_task_get_task_data (task);
  GError *error = NULL;

  if (!g_task_return_error_if_cancelled (task))
    {
      if (!lb_send_try (send, &error))
        return G_SOURCE_CONTINUE;

      if (error != NULL)
        g_task_return_error (task, error);
      else
        g_task_return_boolean (task, TRUE);
    }

  /* Not waiting any more; the context drops the source and its reference
   * on the task when this returns. */
  g_queue_unlink (&send->self->sends, &send->link);
  g_clear_pointer (&send->source, g_source_unref);

  return G_SOURCE_REMOVE;
}

/* FerrySignaling -------------------------------------------------------- */

static void ferry_local_broadcast_stop (FerrySignaling *signaling);

static gboolean
ferry_local_broadcast_start (FerrySignaling  *signaling,
                             GError         **error)
{
  FerryLocalBroadcast *self = FERRY_LOCAL_BROADCAST (signaling);
  g_autoptr(GPtrArray) locals = NULL;
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (!self->started, FALSE);

  if (!read_config (self, error))
    return FALSE;

  g_clear_pointer (&self->context, g_main_context_unref);
  self->context = g_main_context_ref_thread_default ();
  self->started = TRUE;

  self->group_socket = open_group_socket (self, &local_error);
  if (self->group_socket == NULL)
    goto failed;

  locals = dup_local_addresses (self);
  for (guint i = 0; i < locals->len; i++)
    {
      GInetAddress *local = g_ptr_array_index (locals, i);
      LbUnicast *unicast;

      if (g_inet_address_get_family (local) != G_SOCKET_FAMILY_IPV4)
        {
          g_autofree char *text = g_inet_address_to_string (local);

          g_debug ("Skipping %s: local broadcast is IPv4 only", text);
          continue;
        }

      if (!join_group (self, local, &local_error))
        goto failed;

      unicast = open_unicast_socket (self, local, &local_error);
      if (unicast == NULL)
        goto failed;

      g_ptr_array_add (self->unicasts, unicast);
    }

  if (self->unicasts->len == 0)
    {
      g_set_error_literal (&local_error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE,
                           _("No local IPv4 address to broadcast on"));
      goto failed;
    }

  self->group_source = watch_socket (self, self->group_socket,
                                     group_readable_cb, self);
  for (guint i = 0; i < self->unicasts->len; i++)
    {
      LbUnicast *unicast = g_ptr_array_index (self->unicasts, i);

      unicast->source = watch_socket (self, unicast->socket, unicast_readable_cb, unicast);
    }

  self->announce_timer = g_timeout_source_new_seconds (self->interval);
  g_source_set_static_name (self->announce_timer, "[ferry-local-broadcast] announce");
  g_source_set_callback (self->announce_timer, announce_cb, self, NULL);
  g_source_attach (self->announce_timer, self->context);

  announce_all (self);
  query_all (self, NULL);

  return TRUE;

failed:
  g_set_error (error, local_error->domain, local_error->code,
               _("Could not start local broadcast on port %u: %s"),
               self->port, local_error->message);
  ferry_local_broadcast_stop (signaling);
  return FALSE;
}

static void
ferry_local_broadcast_stop (FerrySignaling *signaling)
{
  FerryLocalBroadcast *self = FERRY_LOCAL_BROADCAST (signaling);

  self->started = FALSE;

  if (self->announce_timer != NULL)
    {
      g_source_destroy (self->announce_timer);
      g_clear_pointer (&self->announce_timer, g_source_unref);
    }

  if (self->group_source != NULL)
    {
      g_source_destroy (self->group_source);
      g_clear_pointer (&self->group_source, g_source_unref);
    }

  if (self->group_socket != NULL)
    {
      for (guint i = 0; i < self->memberships->len; i++)
        {
          struct ip_mreq *mreq = &g_array_index (self->memberships, struct ip_mreq, i);

          if (setsockopt (g_socket_get_fd (self->group_socket), IPPROTO_IP,
                          IP_DROP_MEMBERSHIP, mreq, sizeof *mreq) != 0)
            g_debug ("Could not leave the group: %s", g_strerror (errno));
        }

      g_socket_close (self->group_socket, NULL);
      g_clear_object (&self->group_socket);
    }

  while (self->sends.head != NULL)
    {
      g_autoptr(GTask) task = g_object_ref (self->sends.head->data);

      lb_send_stop_waiting (g_task_get_task_data (task));
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                               _("Local broadcast was stopped"));
    }

  g_array_set_size (self->memberships, 0);
  g_ptr_array_set_size (self->unicasts, 0);
  g_hash_table_remove_all (self->reply_times);
}

static void
ferry_local_broadcast_query (FerrySignaling *signaling,
                             const char     *account_id)
{
  FerryLocalBroadcast *self = FERRY_LOCAL_BROADCAST (signaling);

  if (!self->started)
    return;

  if (account_id != NULL)
    {
      gsize length = strlen (account_id);
      gboolean valid = length > 0 && length <= LB_MAX_ACCOUNT_ID;

      for (gsize i = 0; valid && i < length; i++)
        valid = g_ascii_isxdigit (account_id[i]);

      if (!valid)
        {
          g_debug ("Querying every device: “%s” is not an account id", account_id);
          account_id = NULL;
        }
    }

  query_all (self, account_id);
}

static void
ferry_local_broadcast_send_async (FerrySignaling      *signaling,
                                  const char          *route,
                                  GBytes              *message,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  FerryLocalBroadcast *self = FERRY_LOCAL_BROADCAST (signaling);
  g_autoptr(GTask) task = NULL;
  g_autoptr(GSocketAddress) destination = NULL;
  LbUnicast *unicast;
  LbSend *send;
  GError *error = NULL;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, ferry_local_broadcast_send_async);

  if (!self->started)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED,
                               _("Local broadcast is not started"));
      return;
    }

  destination = parse_route (route);
  if (destination == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                               _("Invalid local broadcast route “%s”"), route);
      return;
    }

  if (g_bytes_get_size (message) > LB_MAX_PAYLOAD)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
                               _("The message is too large for local broadcast (%lu bytes, at most %d)"),
                               (unsigned long) g_bytes_get_size (message), LB_MAX_PAYLOAD);
      return;
    }

  unicast = choose_unicast (self, destination);
  g_assert (unicast != NULL);

  send = g_new0 (LbSend, 1);
  send->self = self;
  send->link.data = task;
  send->socket = g_object_ref (unicast->socket);
  send->destination = g_steal_pointer (&destination);
  send->message = g_bytes_ref (message);
  g_task_set_task_data (task, send, (GDestroyNotify) lb_send_free);

  if (lb_send_try (send, &error))
    {
      if (error != NULL)
        g_task_return_error (task, error);
      else
        g_task_return_boolean (task, TRUE);
      return;
    }

  send->source = g_socket_create_source (send->socket, G_IO_OUT, cancellable);
  g_source_set_static_name (send->source, "[ferry-local-broadcast] send");
  g_source_set_callback (send->source, G_SOURCE_FUNC (send_writable_cb),
                         g_object_ref (task), g_object_unref);
  g_source_attach (send->source, self->context);
  g_queue_push_tail_link (&self->sends, &send->link);
}

static gboolean
ferry_local_broadcast_send_finish (FerrySignaling  *signaling,
                                   GAsyncResult    *result,
                                   GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, signaling), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
ferry_local_broadcast_dispose (GObject *object)
{
  ferry_local_broadcast_stop (FERRY_SIGNALING (object));

  G_OBJECT_CLASS (ferry_local_broadcast_parent_class)->dispose (object);
}

static void
ferry_local_broadcast_finalize (GObject *object)
{
  FerryLocalBroadcast *self = FERRY_LOCAL_BROADCAST (object);

  g_clear_object (&self->group);
  g_array_unref (self->memberships);
  g_ptr_array_unref (self->unicasts);
  g_hash_table_unref (self->reply_times);
  g_free (self->buffer);
  g_clear_pointer (&self->context, g_main_context_unref);

  G_OBJECT_CLASS (ferry_local_broadcast_parent_class)->finalize (object);
}

static void
ferry_local_broadcast_class_init (FerryLocalBroadcastClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  FerrySignalingClass *signaling_class = FERRY_SIGNALING_CLASS (klass);

  object_class->dispose = ferry_local_broadcast_dispose;
  object_class->finalize = ferry_local_broadcast_finalize;

  signaling_class->start = ferry_local_broadcast_start;
  signaling_class->stop = ferry_local_broadcast_stop;
  signaling_class->query = ferry_local_broadcast_query;
  signaling_class->send_async = ferry_local_broadcast_send_async;
  signaling_class->send_finish = ferry_local_broadcast_send_finish;
}

static void
ferry_local_broadcast_init (FerryLocalBroadcast *self)
{
  self->memberships = g_array_new (FALSE, TRUE, sizeof (struct ip_mreq));
  self->unicasts = g_ptr_array_new_with_free_func ((GDestroyNotify) lb_unicast_free);
  self->reply_times = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->buffer = g_malloc (LB_BUFFER_SIZE);
  g_queue_init (&self->sends);
}

static gboolean
local_broadcast_register_features (FerryPlugin  *plugin,
                                   GError      **error)
{
  ferry_plugin_add_feature (plugin, "local-broadcast", FERRY_TYPE_LOCAL_BROADCAST,
                            FERRY_RANK_PRIMARY);
  return TRUE;
}

FERRY_PLUGIN_DEFINE (local_broadcast, "local-broadcast",
                     "Finds devices on the local network by UDP multicast",
                     PACKAGE_VERSION, "LGPL-2.1-or-later",
                     local_broadcast_register_features)
