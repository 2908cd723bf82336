/* ferry-lan-listener.c: the lan transport's offerer side
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The listening sockets, and the connections they accept, each waiting for
 * the token of a connection attempt. Anyone on the network can open
 * connections to the listener, so those still waiting for their token are
 * bounded: at most LAN_MAX_WAITING in all and LAN_MAX_WAITING_PER_ADDRESS
 * from one address. When a bound is reached the oldest waiting connection
 * (of that address, or of all) is closed, never the new one: idle
 * connections renewed by a stranger cannot keep a legitimate one, which
 * sends its token at once, from getting in.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include <glib/gi18n-lib.h>

#include "ferry-lan-private.h"

typedef struct _LanIncoming LanIncoming;

/* A connection accepted by the listener, waiting for its token. */
struct _LanIncoming
{
  FerryLanTransport *self;        /* strong */
  GList              link;
  gboolean           queued;      /* link is in self->incoming */
  GSocketConnection *connection;
  GInetAddress      *remote;      /* NULL when unknown */
  GCancellable      *cancellable;
  GSource           *timeout;
  guint8             token[LAN_TOKEN_SIZE];
};

static gboolean
random_token (guint8   token[LAN_TOKEN_SIZE],
              GError **error)
{
  gsize done = 0;

  while (done < LAN_TOKEN_SIZE)
    {
      ssize_t n = getrandom (token + done, LAN_TOKEN_SIZE - done, 0);

      if (n < 0)
        {
          int saved_errno = errno;

          if (saved_errno == EINTR)
            continue;

          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                       _("Could not make a random token: %s"), g_strerror (saved_errno));
          return FALSE;
        }

      done += n;
    }

  return TRUE;
}

static gboolean
token_equal (const guint8 *a,
             const guint8 *b)
{
  guint8 diff = 0;

  for (guint i = 0; i < LAN_TOKEN_SIZE; i++)
    diff |= a[i] ^ b[i];

  return diff == 0;
}

void
_ferry_lan_attempt_free (LanAttempt *attempt)
{
  if (attempt->cancel_source != NULL)
    {
      g_source_destroy (attempt->cancel_source);
      g_source_unref (attempt->cancel_source);
    }

  if (attempt->task != NULL)
    {
      g_task_return_new_error (attempt->task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                               _("The connection attempt was released"));
      g_clear_object (&attempt->task);
    }

  if (attempt->connection != NULL)
    {
      _ferry_lan_close_connection (attempt->connection);
      g_clear_object (&attempt->connection);
    }

  g_free (attempt->attempt_id);
  g_free (attempt);
}

static void
attempt_resolve (LanAttempt        *attempt,
                 GSocketConnection *connection)
{
  GTask *task = g_steal_pointer (&attempt->task);
  char *description = _ferry_lan_prepare_connection (connection, NULL);

  if (attempt->cancel_source != NULL)
    {
      g_source_destroy (attempt->cancel_source);
      g_clear_pointer (&attempt->cancel_source, g_source_unref);
    }

  g_task_set_task_data (task, description, g_free);
  g_task_return_pointer (task, g_object_ref (connection), g_object_unref);
  g_object_unref (task);
}

static LanAttempt *
lookup_token (FerryLanTransport *self,
              const guint8       token[LAN_TOKEN_SIZE])
{
  GHashTableIter iter;
  LanAttempt *found = NULL;
  gpointer value;

  /* Compare with every attempt, so the time does not tell which one matched. */
  g_hash_table_iter_init (&iter, self->attempts);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      LanAttempt *attempt = value;

      if (token_equal (attempt->token, token) && !attempt->used)
        found = attempt;
    }

  return found;
}

static void
lan_incoming_free (LanIncoming *incoming)
{
  if (incoming->timeout != NULL)
    {
      g_source_destroy (incoming->timeout);
      g_source_unref (incoming->timeout);
    }

  g_clear_object (&incoming->connection);
  g_clear_object (&incoming->remote);
  g_clear_object (&incoming->cancellable);
  g_clear_object (&incoming->self);
  g_free (incoming);
}

static void
incoming_read_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  LanIncoming *incoming = user_data;
  FerryLanTransport *self = incoming->self;
  g_autoptr(GError) error = NULL;
  LanAttempt *attempt;
  gsize n_read = 0;

  if (incoming->queued)
    g_queue_unlink (&self->incoming, &incoming->link);
  incoming->queued = FALSE;

  if (!g_input_stream_read_all_finish (G_INPUT_STREAM (object), result, &n_read, &error) ||
      n_read != LAN_TOKEN_SIZE)
    {
      g_debug ("Closing a connection without a token: %s",
               error ? error->message : "end of stream");
      _ferry_lan_close_connection (incoming->connection);
      lan_incoming_free (incoming);
      return;
    }

  attempt = self->started ? lookup_token (self, incoming->token) : NULL;
  if (attempt == NULL)
    {
      g_debug ("Closing a connection with an unknown token");
      _ferry_lan_close_connection (incoming->connection);
      lan_incoming_free (incoming);
      return;
    }

  attempt->used = TRUE;

  if (attempt->task != NULL)
    attempt_resolve (attempt, incoming->connection);
  else
    attempt->connection = g_object_ref (incoming->connection);

  lan_incoming_free (incoming);
}

static gboolean
incoming_timeout_cb (gpointer user_data)
{
  LanIncoming *incoming = user_data;

  g_debug ("A connection sent no token within %d s", LAN_TOKEN_TIMEOUT_S);
  g_cancellable_cancel (incoming->cancellable);
  g_clear_pointer (&incoming->timeout, g_source_unref);

  return G_SOURCE_REMOVE;
}

/* Closes a waiting connection to make room: it leaves the queue now, and
 * its read callback (cancelled) closes and frees it. */
static void
incoming_evict (FerryLanTransport *self,
                LanIncoming       *incoming,
                const char        *why)
{
  g_autofree char *text = incoming->remote ? g_inet_address_to_string (incoming->remote) : NULL;

  g_debug ("Closing an idle connection from %s: %s", text ? text : "?", why);
  g_queue_unlink (&self->incoming, &incoming->link);
  incoming->queued = FALSE;
  g_cancellable_cancel (incoming->cancellable);
}

/* Makes room for one more connection from @remote. */
static void
incoming_make_room (FerryLanTransport *self,
                    GInetAddress      *remote)
{
  LanIncoming *oldest_same = NULL;
  guint same = 0;

  if (remote != NULL)
    {
      for (GList *l = self->incoming.head; l != NULL; l = l->next)
        {
          LanIncoming *incoming = l->data;

          if (incoming->remote != NULL && g_inet_address_equal (incoming->remote, remote))
            {
              if (oldest_same == NULL)
                oldest_same = incoming;
              same++;
            }
        }
    }

  if (same >= LAN_MAX_WAITING_PER_ADDRESS)
    incoming_evict (self, oldest_same, "too many waiting from that address");
  else if (self->incoming.length >= LAN_MAX_WAITING)
    incoming_evict (self, self->incoming.head->data, "too many waiting");
}

static GInetAddress *
dup_remote_address (GSocketConnection *connection)
{
  g_autoptr(GSocketAddress) address = g_socket_connection_get_remote_address (connection, NULL);

  if (address == NULL || !G_IS_INET_SOCKET_ADDRESS (address))
    return NULL;

  return g_object_ref (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address)));
}

static gboolean
on_incoming (GSocketService    *service,
             GSocketConnection *connection,
             GObject           *source_object,
             FerryLanTransport *self)
{
  LanIncoming *incoming;

  if (!self->started)
    return TRUE;

  incoming = g_new0 (LanIncoming, 1);
  incoming->self = g_object_ref (self);
  incoming->link.data = incoming;
  incoming->connection = g_object_ref (connection);
  incoming->remote = dup_remote_address (connection);
  incoming->cancellable = g_cancellable_new ();

  incoming_make_room (self, incoming->remote);

  incoming->timeout = g_timeout_source_new_seconds (LAN_TOKEN_TIMEOUT_S);
  g_source_set_static_name (incoming->timeout, "[ferry-lan] token timeout");
  g_source_set_callback (incoming->timeout, incoming_timeout_cb, incoming, NULL);
  g_source_attach (incoming->timeout, self->context);

  g_queue_push_tail_link (&self->incoming, &incoming->link);
  incoming->queued = TRUE;

  g_input_stream_read_all_async (g_io_stream_get_input_stream (G_IO_STREAM (connection)),
                                 incoming->token, LAN_TOKEN_SIZE,
                                 G_PRIORITY_DEFAULT, incoming->cancellable,
                                 incoming_read_cb, incoming);

  return TRUE;
}

static gboolean
add_listen_address (FerryLanTransport  *self,
                    GInetAddress       *inet,
                    guint16             port,
                    GError            **error)
{
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (inet, port);
  g_autoptr(GSocketAddress) effective = NULL;

  if (!g_socket_listener_add_address (G_SOCKET_LISTENER (self->service), address,
                                      G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                                      NULL, &effective, error))
    return FALSE;

  g_ptr_array_add (self->listen_addresses, g_steal_pointer (&effective));
  return TRUE;
}

static gboolean
attempt_cancelled_cb (GCancellable *cancellable,
                      gpointer      user_data)
{
  LanAttempt *attempt = user_data;
  GTask *task = g_steal_pointer (&attempt->task);

  g_clear_pointer (&attempt->cancel_source, g_source_unref);

  g_task_return_error_if_cancelled (task);
  g_object_unref (task);

  return G_SOURCE_REMOVE;
}

gboolean
_ferry_lan_listen (FerryLanTransport  *self,
                   GPtrArray          *locals,
                   guint16             port,
                   GError            **error)
{
  guint16 shared_port = port;

  self->service = g_socket_service_new ();
  g_socket_listener_set_backlog (G_SOCKET_LISTENER (self->service), 2 * LAN_MAX_WAITING);
  g_signal_connect (self->service, "incoming", G_CALLBACK (on_incoming), self);

  for (guint i = 0; i < locals->len; i++)
    {
      GInetAddress *inet = g_ptr_array_index (locals, i);
      g_autofree char *text = g_inet_address_to_string (inet);
      g_autoptr(GError) add_error = NULL;

      if (g_inet_address_get_family (inet) == G_SOCKET_FAMILY_IPV6 &&
          g_inet_address_get_is_link_local (inet))
        {
          g_debug ("Not listening on link-local %s", text);
          continue;
        }

      if (add_listen_address (self, inet, shared_port, &add_error))
        {
          if (shared_port == 0)
            {
              GSocketAddress *effective = g_ptr_array_index (self->listen_addresses,
                                                             self->listen_addresses->len - 1);
              shared_port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
            }
          continue;
        }

      /* An ephemeral port taken on this address: take another one. */
      if (port == 0 && g_error_matches (add_error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE))
        {
          g_clear_error (&add_error);
          if (add_listen_address (self, inet, 0, &add_error))
            continue;
        }

      g_set_error (error, G_IO_ERROR, add_error->code,
                   _("Could not listen on %s: %s"), text, add_error->message);
      return FALSE;
    }

  if (self->listen_addresses->len == 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE,
                           _("No local address to listen on"));
      return FALSE;
    }

  g_socket_service_start (self->service);
  return TRUE;
}

void
_ferry_lan_unlisten (FerryLanTransport *self)
{
  g_autoptr(GPtrArray) pending = g_ptr_array_new_with_free_func (g_object_unref);

  if (self->service != NULL)
    {
      g_signal_handlers_disconnect_by_func (self->service, on_incoming, self);
      g_socket_service_stop (self->service);
      g_socket_listener_close (G_SOCKET_LISTENER (self->service));
      g_clear_object (&self->service);
    }

  g_ptr_array_set_size (self->listen_addresses, 0);

  /* Cancel from a snapshot: a callback may change the queue. The read
   * callbacks close and free the waiting connections. */
  for (GList *l = self->incoming.head; l != NULL; l = l->next)
    g_ptr_array_add (pending, g_object_ref (((LanIncoming *) l->data)->cancellable));
  for (guint i = 0; i < pending->len; i++)
    g_cancellable_cancel (g_ptr_array_index (pending, i));
}

LanAttempt *
_ferry_lan_attempt_ensure (FerryLanTransport  *self,
                           const char         *attempt_id,
                           GError            **error)
{
  LanAttempt *attempt = g_hash_table_lookup (self->attempts, attempt_id);

  if (attempt != NULL)
    return attempt;

  attempt = g_new0 (LanAttempt, 1);
  if (!random_token (attempt->token, error))
    {
      g_free (attempt);
      return NULL;
    }
  attempt->attempt_id = g_strdup (attempt_id);
  g_hash_table_insert (self->attempts, attempt->attempt_id, attempt);
  return attempt;
}

void
_ferry_lan_attempt_connect (FerryLanTransport *self,
                            const char        *attempt_id,
                            GTask             *task)
{
  LanAttempt *attempt = g_hash_table_lookup (self->attempts, attempt_id);
  GCancellable *cancellable = g_task_get_cancellable (task);

  if (attempt == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                               _("Unknown connection attempt"));
      g_object_unref (task);
      return;
    }

  if (attempt->task != NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PENDING,
                               _("The connection attempt is already connecting"));
      g_object_unref (task);
      return;
    }

  if (g_task_return_error_if_cancelled (task))
    {
      g_object_unref (task);
      return;
    }

  attempt->task = task;

  if (attempt->connection != NULL)
    {
      g_autoptr(GSocketConnection) connection = g_steal_pointer (&attempt->connection);

      attempt_resolve (attempt, connection);
      return;
    }

  if (cancellable != NULL)
    {
      attempt->cancel_source = g_cancellable_source_new (cancellable);
      g_source_set_static_name (attempt->cancel_source, "[ferry-lan] cancel");
      g_source_set_callback (attempt->cancel_source,
                             G_SOURCE_FUNC (attempt_cancelled_cb), attempt, NULL);
      g_source_attach (attempt->cancel_source, self->context);
    }
}
