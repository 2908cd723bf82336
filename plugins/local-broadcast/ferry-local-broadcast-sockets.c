/* ferry-local-broadcast-sockets.c: the local-broadcast signaling's sockets
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * One "group" socket, bound to the group address and port with address and
 * port reuse, receives the group's traffic on every selected interface. One
 * "unicast" socket per selected IPv4 address, bound to that address, sends
 * to the group on its own interface only and receives unicast replies and
 * messages.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <glib/gi18n-lib.h>

#include "ferry-local-broadcast-private.h"

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

void
_ferry_lb_unicast_free (LbUnicast *unicast)
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

/* A unicast socket bound to @local, an address of @iface. */
static LbUnicast *
open_unicast_socket (FerryLocalBroadcast    *self,
                     FerryNetworkInterface  *iface,
                     GInetAddress           *local,
                     GError                **error)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (local, 0);
  struct in_addr interface;
  LbUnicast *unicast;
  guint ifindex = ferry_network_interface_get_index (iface);

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

  unicast->network = ferry_network_interface_dup_network (iface, local);

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

/* Joins the group on @local and opens its unicast socket. */
static gboolean
open_address (FerryLocalBroadcast    *self,
              FerryNetworkInterface  *iface,
              GInetAddress           *local,
              GError                **error)
{
  LbUnicast *unicast;

  if (g_inet_address_get_family (local) != G_SOCKET_FAMILY_IPV4)
    {
      g_autofree char *text = g_inet_address_to_string (local);

      g_debug ("Skipping %s: local broadcast is IPv4 only", text);
      return TRUE;
    }

  if (!join_group (self, local, error))
    return FALSE;

  unicast = open_unicast_socket (self, iface, local, error);
  if (unicast == NULL)
    return FALSE;

  g_ptr_array_add (self->unicasts, unicast);
  return TRUE;
}

gboolean
_ferry_lb_open_sockets (FerryLocalBroadcast  *self,
                        GPtrArray            *interfaces,
                        GError              **error)
{
  self->group_socket = open_group_socket (self, error);
  if (self->group_socket == NULL)
    return FALSE;

  for (guint i = 0; i < interfaces->len; i++)
    {
      FerryNetworkInterface *iface = g_ptr_array_index (interfaces, i);
      GPtrArray *addresses = ferry_network_interface_get_addresses (iface);

      for (guint j = 0; j < addresses->len; j++)
        if (!open_address (self, iface, g_ptr_array_index (addresses, j), error))
          return FALSE;
    }

  if (self->unicasts->len == 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE,
                           _("No local IPv4 address to broadcast on"));
      return FALSE;
    }

  self->group_source = watch_socket (self, self->group_socket,
                                     _ferry_lb_group_readable_cb, self);
  for (guint i = 0; i < self->unicasts->len; i++)
    {
      LbUnicast *unicast = g_ptr_array_index (self->unicasts, i);

      unicast->source = watch_socket (self, unicast->socket, _ferry_lb_unicast_readable_cb, unicast);
    }

  return TRUE;
}

void
_ferry_lb_close_group (FerryLocalBroadcast *self)
{
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
}
