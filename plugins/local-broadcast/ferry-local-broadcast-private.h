/* ferry-local-broadcast-private.h: the local-broadcast signaling's
 * object, shared by its files
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * ferry-local-broadcast.c            the FerrySignaling object: settings,
 *                                    start, stop, sending messages
 * ferry-local-broadcast-sockets.c    the group socket, one unicast socket
 *                                    per address of the chosen interfaces
 * ferry-local-broadcast-datagrams.c  announcing, querying and answering;
 *                                    reading and checking what arrives
 */
#pragma once

#include <ferry/ferry.h>

G_BEGIN_DECLS

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

/* ferry-local-broadcast-sockets.c */

/* Opens the group socket and a unicast socket per IPv4 address of
 * @interfaces (FerryNetworkInterface), joins the group on each and
 * watches them all. */
gboolean        _ferry_lb_open_sockets      (FerryLocalBroadcast  *self,
                                             GPtrArray            *interfaces,
                                             GError              **error);
/* Leaves the group and closes the group socket. */
void            _ferry_lb_close_group       (FerryLocalBroadcast  *self);
void            _ferry_lb_unicast_free      (LbUnicast            *unicast);

/* ferry-local-broadcast-datagrams.c */

char           *_ferry_lb_format_route      (GSocketAddress       *address);
/* Parses "192.0.2.1:4711" in canonical form, and nothing else. */
GSocketAddress *_ferry_lb_parse_route       (const char           *route);
gboolean        _ferry_lb_send_datagram     (GSocket              *socket,
                                             GSocketAddress       *destination,
                                             char                  kind,
                                             const guint8         *payload,
                                             gsize                 size,
                                             GError              **error);
void            _ferry_lb_announce_all      (FerryLocalBroadcast  *self);
void            _ferry_lb_query_all         (FerryLocalBroadcast  *self,
                                             const char           *account_id);
/* The unicast socket to reach @destination from. */
LbUnicast      *_ferry_lb_choose_unicast    (FerryLocalBroadcast  *self,
                                             GSocketAddress       *destination);
gboolean        _ferry_lb_group_readable_cb (GSocket              *socket,
                                             GIOCondition          condition,
                                             gpointer              user_data);
gboolean        _ferry_lb_unicast_readable_cb (GSocket            *socket,
                                               GIOCondition        condition,
                                               gpointer            user_data);

G_END_DECLS
