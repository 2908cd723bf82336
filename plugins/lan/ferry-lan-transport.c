/* ferry-lan-transport.c: TCP on the local network
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The offerer listens on every local address and hands out, per attempt, its
 * addresses and a random 16-byte token. The answerer connects to those
 * addresses with staggered starts, and the first connection that succeeds
 * writes the token; the offerer matches the token to the attempt. A
 * connection that does not present a known token within 3 s is closed.
 *
 * Anyone on the network can open connections to the listener, so those
 * still waiting for their token are bounded: at most LAN_MAX_WAITING in
 * all and LAN_MAX_WAITING_PER_ADDRESS from one address. When a bound is
 * reached the oldest waiting connection (of that address, or of all) is
 * closed, never the new one: idle connections renewed by a stranger cannot
 * keep a legitimate one, which sends its token at once, from getting in.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <glib/gi18n-lib.h>
#include <ferry/ferry.h>

#include "ferry-lan-description.h"

#define LAN_TOKEN_TIMEOUT_S    3
#define LAN_MAX_WAITING        64
#define LAN_MAX_WAITING_PER_ADDRESS 8
#define LAN_STAGGER_MS         100
#define LAN_CONNECT_TIMEOUT_S  10

#define FERRY_TYPE_LAN_TRANSPORT (ferry_lan_transport_get_type ())
G_DECLARE_FINAL_TYPE (FerryLanTransport, ferry_lan_transport, FERRY, LAN_TRANSPORT, FerryTransport)

typedef struct _LanAttempt  LanAttempt;
typedef struct _LanIncoming LanIncoming;
typedef struct _LanConnect  LanConnect;

/**
 * FerryLanTransport:
 *
 * The `lan` transport: a direct TCP connection on the local network,
 * authenticated at this level only by a one-time token (the secure channel
 * above it checks the peer's certificate).
 */
struct _FerryLanTransport
{
  FerryTransport    parent_instance;

  GMainContext     *context;
  GSocketService   *service;
  GPtrArray        *listen_addresses;  /* GInetSocketAddress */

  GHashTable       *attempts;          /* attempt id → LanAttempt (offerer side) */
  GHashTable       *connects;          /* attempt id → LanConnect (answerer side) */
  GQueue            incoming;          /* LanIncoming waiting for their token, oldest first */
  gboolean          started;
};

G_DEFINE_FINAL_TYPE (FerryLanTransport, ferry_lan_transport, FERRY_TYPE_TRANSPORT)

/* The offerer side of one attempt. */
struct _LanAttempt
{
  char              *attempt_id;
  guint8             token[LAN_TOKEN_SIZE];
  gboolean           used;        /* a connection presented the token */
  GSocketConnection *connection;  /* arrived before connect_async */
  GTask             *task;        /* a pending connect_async */
  GSource           *cancel_source;
};

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

/* The answerer side of one attempt: a race between the offerer's addresses. */
struct _LanConnect
{
  gatomicrefcount    ref_count;
  FerryLanTransport *self;        /* strong, dropped when done */
  GTask             *task;        /* NULL once returned */
  char              *attempt_id;
  GPtrArray         *addresses;   /* GInetSocketAddress */
  guint8             token[LAN_TOKEN_SIZE];
  GSocketClient     *client;
  GCancellable      *cancellable;      /* everything: task, release, stop */
  GCancellable      *race_cancellable; /* the candidates still connecting */
  GCancellable      *task_cancellable;
  gulong             cancel_id;
  GSource           *stagger;
  guint              next;
  guint              running;
  GSocketConnection *winner;
  GSocketAddress    *winner_address;
  GError            *error;            /* the first failure */
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

/* Makes a connection ready for blocking reads and writes from worker
 * threads, and returns a description of its peer for the chain. */
static char *
prepare_connection (GSocketConnection *connection,
                    GSocketAddress    *remote)
{
  GSocket *socket = g_socket_connection_get_socket (connection);
  g_autoptr(GSocketAddress) peer = NULL;
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;

  g_socket_set_blocking (socket, TRUE);
  g_socket_set_timeout (socket, 0);

  /* Control frames are small and answered: do not let Nagle hold them. */
  if (!g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, &error))
    g_debug ("Could not set TCP_NODELAY: %s", error->message);

  if (remote == NULL)
    remote = peer = g_socket_connection_get_remote_address (connection, NULL);

  if (remote != NULL && G_IS_INET_SOCKET_ADDRESS (remote))
    text = _ferry_lan_format_address (G_INET_SOCKET_ADDRESS (remote));

  return g_strdup_printf ("lan (tcp %s)", text ? text : "?");
}

static void
close_connection (GSocketConnection *connection)
{
  if (connection != NULL)
    g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
}

/* Offerer side ---------------------------------------------------------- */

static void
lan_attempt_free (LanAttempt *attempt)
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
      close_connection (attempt->connection);
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
  char *description = prepare_connection (connection, NULL);

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
      close_connection (incoming->connection);
      lan_incoming_free (incoming);
      return;
    }

  attempt = self->started ? lookup_token (self, incoming->token) : NULL;
  if (attempt == NULL)
    {
      g_debug ("Closing a connection with an unknown token");
      close_connection (incoming->connection);
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

/* Answerer side --------------------------------------------------------- */

static LanConnect *
lan_connect_ref (LanConnect *op)
{
  g_atomic_ref_count_inc (&op->ref_count);
  return op;
}

static void
lan_connect_unref (LanConnect *op)
{
  if (!g_atomic_ref_count_dec (&op->ref_count))
    return;

  g_assert (op->task == NULL);
  g_assert (op->stagger == NULL);
  g_assert (op->self == NULL);

  g_clear_object (&op->task_cancellable);
  g_clear_object (&op->winner);
  g_clear_object (&op->winner_address);
  g_clear_object (&op->client);
  g_clear_object (&op->cancellable);
  g_clear_object (&op->race_cancellable);
  g_clear_pointer (&op->addresses, g_ptr_array_unref);
  g_clear_error (&op->error);
  g_free (op->attempt_id);
  g_free (op);
}

static void
on_connect_cancelled (GCancellable *cancellable,
                      gpointer      user_data)
{
  LanConnect *op = lan_connect_ref (user_data);

  /* May run on any thread; cancelling is thread-safe. The reference keeps
   * @op alive should a cancellation complete synchronously. */
  g_cancellable_cancel (op->race_cancellable);
  g_cancellable_cancel (op->cancellable);
  lan_connect_unref (op);
}

/* Returns the task once, with @connection (may be NULL) or @error. */
static void
lan_connect_finish_op (LanConnect        *op,
                       GSocketConnection *connection,
                       GSocketAddress    *address,
                       GError            *error)
{
  FerryLanTransport *self = op->self;
  GTask *task = g_steal_pointer (&op->task);

  g_assert (task != NULL);

  if (op->stagger != NULL)
    {
      g_source_destroy (op->stagger);
      g_clear_pointer (&op->stagger, g_source_unref);
    }

  g_cancellable_cancel (op->race_cancellable);

  if (op->task_cancellable != NULL)
    g_cancellable_disconnect (op->task_cancellable, op->cancel_id);
  op->cancel_id = 0;

  if (g_hash_table_lookup (self->connects, op->attempt_id) == op)
    g_hash_table_remove (self->connects, op->attempt_id);

  if (connection != NULL)
    {
      g_task_set_task_data (task, prepare_connection (connection, address), g_free);
      g_task_return_pointer (task, g_object_ref (connection), g_object_unref);
    }
  else
    {
      g_task_return_error (task, error);
    }

  g_object_unref (task);
  g_clear_object (&op->self);
}

static void
token_written_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  LanConnect *op = user_data;
  GError *error = NULL;

  if (op->task == NULL)
    {
      /* Released or stopped while writing. */
      close_connection (op->winner);
    }
  else if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (object), result, NULL, &error))
    {
      close_connection (op->winner);
      g_prefix_error (&error, _("Could not send the LAN token: "));
      lan_connect_finish_op (op, NULL, NULL, error);
    }
  else
    {
      lan_connect_finish_op (op, op->winner, op->winner_address, NULL);
    }

  lan_connect_unref (op);
}

static void start_next_candidate (LanConnect *op);

static gboolean
stagger_cb (gpointer user_data)
{
  LanConnect *op = user_data;

  g_clear_pointer (&op->stagger, g_source_unref);
  start_next_candidate (op);

  return G_SOURCE_REMOVE;
}

typedef struct {
  LanConnect     *op;
  GSocketAddress *address;
} LanCandidate;

static void
candidate_connected_cb (GObject      *object,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  LanCandidate *candidate = user_data;
  LanConnect *op = candidate->op;
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GError) error = NULL;

  connection = g_socket_client_connect_finish (G_SOCKET_CLIENT (object), result, &error);
  op->running--;

  if (op->task == NULL || op->winner != NULL)
    {
      /* Lost the race, or the attempt is over. */
      close_connection (connection);
    }
  else if (connection != NULL)
    {
      GOutputStream *output = g_io_stream_get_output_stream (G_IO_STREAM (connection));

      op->winner = g_steal_pointer (&connection);
      op->winner_address = g_object_ref (candidate->address);

      if (op->stagger != NULL)
        {
          g_source_destroy (op->stagger);
          g_clear_pointer (&op->stagger, g_source_unref);
        }
      g_cancellable_cancel (op->race_cancellable);

      /* The socket timeout guarded the connect; the stream must have none. */
      g_socket_set_timeout (g_socket_connection_get_socket (op->winner), 0);

      g_output_stream_write_all_async (output, op->token, LAN_TOKEN_SIZE,
                                       G_PRIORITY_DEFAULT, op->cancellable,
                                       token_written_cb, lan_connect_ref (op));
    }
  else
    {
      g_autofree char *text = _ferry_lan_format_address (G_INET_SOCKET_ADDRESS (candidate->address));

      g_debug ("Could not connect to %s: %s", text, error->message);

      if (g_cancellable_is_cancelled (op->cancellable))
        {
          if (op->running == 0)
            lan_connect_finish_op (op, NULL, NULL,
                                   g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                        _("Operation was cancelled")));
        }
      else
        {
          if (op->error == NULL)
            {
              op->error = g_steal_pointer (&error);
              g_prefix_error (&op->error, _("Could not connect to %s: "), text);
            }

          if (op->next < op->addresses->len)
            {
              /* Do not wait for the stagger delay: try the next one now. */
              if (op->stagger != NULL)
                {
                  g_source_destroy (op->stagger);
                  g_clear_pointer (&op->stagger, g_source_unref);
                }
              start_next_candidate (op);
            }
          else if (op->running == 0)
            {
              lan_connect_finish_op (op, NULL, NULL, g_steal_pointer (&op->error));
            }
        }
    }

  lan_connect_unref (op);
  g_object_unref (candidate->address);
  g_free (candidate);
}

static void
start_next_candidate (LanConnect *op)
{
  LanCandidate *candidate;

  g_assert (op->next < op->addresses->len);

  candidate = g_new0 (LanCandidate, 1);
  candidate->op = lan_connect_ref (op);
  candidate->address = g_object_ref (g_ptr_array_index (op->addresses, op->next));
  op->next++;
  op->running++;

  g_socket_client_connect_async (op->client, G_SOCKET_CONNECTABLE (candidate->address),
                                 op->race_cancellable, candidate_connected_cb, candidate);

  if (op->next < op->addresses->len)
    {
      op->stagger = g_timeout_source_new (LAN_STAGGER_MS);
      g_source_set_static_name (op->stagger, "[ferry-lan] stagger");
      g_source_set_callback (op->stagger, stagger_cb, op, NULL);
      g_source_attach (op->stagger, op->self->context);
    }
}

/* FerryTransport -------------------------------------------------------- */

static GKeyFile *
get_config (FerryLanTransport *self)
{
  FerryEngine *engine = ferry_transport_get_engine (FERRY_TRANSPORT (self));

  return engine != NULL ? ferry_engine_get_config (engine) : NULL;
}

static GPtrArray *
dup_local_addresses (FerryLanTransport *self)
{
  FerryEngine *engine = ferry_transport_get_engine (FERRY_TRANSPORT (self));
  GPtrArray *addresses;

  /* (transfer full) */
  if (engine != NULL)
    return ferry_engine_get_local_addresses (engine);

  /* Without an engine (tests of the plugin alone): loopback only. */
  addresses = g_ptr_array_new_with_free_func (g_object_unref);
  g_ptr_array_add (addresses, g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4));
  return addresses;
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

static void ferry_lan_transport_stop (FerryTransport *transport);

static gboolean
ferry_lan_transport_start (FerryTransport  *transport,
                           GError         **error)
{
  FerryLanTransport *self = FERRY_LAN_TRANSPORT (transport);
  g_autoptr(GPtrArray) locals = NULL;
  g_autoptr(GError) local_error = NULL;
  GKeyFile *config;
  gint64 port = 0;
  guint16 shared_port = 0;

  g_return_val_if_fail (!self->started, FALSE);

  config = get_config (self);
  if (config != NULL && g_key_file_has_key (config, "lan", "port", NULL))
    {
      port = g_key_file_get_int64 (config, "lan", "port", &local_error);
      if (local_error != NULL || port < 0 || port > G_MAXUINT16)
        {
          g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_CONFIG,
                               _("Invalid [lan] port: expected a number from 0 to 65535"));
          return FALSE;
        }
    }

  g_clear_pointer (&self->context, g_main_context_unref);
  self->context = g_main_context_ref_thread_default ();
  self->service = g_socket_service_new ();
  g_socket_listener_set_backlog (G_SOCKET_LISTENER (self->service), 2 * LAN_MAX_WAITING);
  g_signal_connect (self->service, "incoming", G_CALLBACK (on_incoming), self);
  self->started = TRUE;

  locals = dup_local_addresses (self);
  shared_port = (guint16) port;

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
      ferry_lan_transport_stop (transport);
      return FALSE;
    }

  if (self->listen_addresses->len == 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE,
                           _("No local address to listen on"));
      ferry_lan_transport_stop (transport);
      return FALSE;
    }

  g_socket_service_start (self->service);

  return TRUE;
}

static void
ferry_lan_transport_stop (FerryTransport *transport)
{
  FerryLanTransport *self = FERRY_LAN_TRANSPORT (transport);
  g_autoptr(GPtrArray) pending = NULL;
  g_autoptr(GPtrArray) connects = NULL;
  GHashTableIter iter;
  gpointer value;

  self->started = FALSE;

  if (self->service != NULL)
    {
      g_signal_handlers_disconnect_by_func (self->service, on_incoming, self);
      g_socket_service_stop (self->service);
      g_socket_listener_close (G_SOCKET_LISTENER (self->service));
      g_clear_object (&self->service);
    }

  g_ptr_array_set_size (self->listen_addresses, 0);

  /* Cancel from snapshots: a callback may change the lists. The read
   * callbacks close and free the waiting connections. */
  pending = g_ptr_array_new_with_free_func (g_object_unref);
  for (GList *l = self->incoming.head; l != NULL; l = l->next)
    g_ptr_array_add (pending, g_object_ref (((LanIncoming *) l->data)->cancellable));
  for (guint i = 0; i < pending->len; i++)
    g_cancellable_cancel (g_ptr_array_index (pending, i));

  connects = g_ptr_array_new_with_free_func ((GDestroyNotify) lan_connect_unref);
  g_hash_table_iter_init (&iter, self->connects);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (connects, lan_connect_ref (value));
  for (guint i = 0; i < connects->len; i++)
    on_connect_cancelled (NULL, g_ptr_array_index (connects, i));

  g_hash_table_remove_all (self->attempts);
}

static void
ferry_lan_transport_describe_async (FerryTransport      *transport,
                                    const char          *attempt_id,
                                    gboolean             offerer,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  FerryLanTransport *self = FERRY_LAN_TRANSPORT (transport);
  g_autoptr(GTask) task = NULL;
  g_autoptr(JsonObject) description = json_object_new ();
  g_autofree char *hex = NULL;
  JsonArray *addresses;
  LanAttempt *attempt;
  GError *error = NULL;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, ferry_lan_transport_describe_async);

  if (!offerer)
    {
      /* Reserved for a reverse connection, from the answerer's side. */
      g_task_return_pointer (task, g_steal_pointer (&description),
                             (GDestroyNotify) json_object_unref);
      return;
    }

  if (!self->started)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED,
                               _("The LAN transport is not listening"));
      return;
    }

  attempt = g_hash_table_lookup (self->attempts, attempt_id);
  if (attempt == NULL)
    {
      attempt = g_new0 (LanAttempt, 1);
      if (!random_token (attempt->token, &error))
        {
          g_free (attempt);
          g_task_return_error (task, error);
          return;
        }
      attempt->attempt_id = g_strdup (attempt_id);
      g_hash_table_insert (self->attempts, attempt->attempt_id, attempt);
    }

  addresses = json_array_new ();
  for (guint i = 0; i < self->listen_addresses->len; i++)
    {
      g_autofree char *text = _ferry_lan_format_address (g_ptr_array_index (self->listen_addresses, i));

      json_array_add_string_element (addresses, text);
    }
  json_object_set_array_member (description, "addresses", addresses);

  hex = _ferry_lan_format_token (attempt->token);
  json_object_set_string_member (description, "token", hex);

  g_task_return_pointer (task, g_steal_pointer (&description),
                         (GDestroyNotify) json_object_unref);
}

static JsonObject *
ferry_lan_transport_describe_finish (FerryTransport  *transport,
                                     GAsyncResult    *result,
                                     GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, transport), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
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

static void
ferry_lan_transport_connect_async (FerryTransport      *transport,
                                   const char          *attempt_id,
                                   gboolean             offerer,
                                   JsonObject          *remote,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  FerryLanTransport *self = FERRY_LAN_TRANSPORT (transport);
  g_autoptr(GTask) task = NULL;
  g_autoptr(GPtrArray) addresses = NULL;
  guint8 token[LAN_TOKEN_SIZE];
  GError *error = NULL;
  LanConnect *op;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, ferry_lan_transport_connect_async);

  if (!self->started)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED,
                               _("The LAN transport is not started"));
      return;
    }

  if (offerer)
    {
      LanAttempt *attempt = g_hash_table_lookup (self->attempts, attempt_id);

      if (attempt == NULL)
        {
          g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                                   _("Unknown connection attempt"));
          return;
        }

      if (attempt->task != NULL)
        {
          g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PENDING,
                                   _("The connection attempt is already connecting"));
          return;
        }

      if (g_task_return_error_if_cancelled (task))
        return;

      attempt->task = g_steal_pointer (&task);

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
      return;
    }

  if (!_ferry_lan_parse_description (remote, &addresses, token, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  if (g_hash_table_contains (self->connects, attempt_id))
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PENDING,
                               _("The connection attempt is already connecting"));
      return;
    }

  if (g_task_return_error_if_cancelled (task))
    return;

  op = g_new0 (LanConnect, 1);
  g_atomic_ref_count_init (&op->ref_count);
  op->self = g_object_ref (self);
  op->task = g_steal_pointer (&task);
  op->attempt_id = g_strdup (attempt_id);
  op->addresses = g_steal_pointer (&addresses);
  memcpy (op->token, token, LAN_TOKEN_SIZE);
  op->cancellable = g_cancellable_new ();
  op->race_cancellable = g_cancellable_new ();

  op->client = g_socket_client_new ();
  g_socket_client_set_enable_proxy (op->client, FALSE);
  /* Bounds each connect; cleared on the connection that wins. */
  g_socket_client_set_timeout (op->client, LAN_CONNECT_TIMEOUT_S);

  g_hash_table_insert (self->connects, op->attempt_id, op);

  if (cancellable != NULL)
    {
      op->task_cancellable = g_object_ref (cancellable);
      op->cancel_id = g_cancellable_connect (cancellable, G_CALLBACK (on_connect_cancelled),
                                             lan_connect_ref (op),
                                             (GDestroyNotify) lan_connect_unref);
    }

  start_next_candidate (op);
  lan_connect_unref (op);
}

static GIOStream *
ferry_lan_transport_connect_finish (FerryTransport  *transport,
                                    GAsyncResult    *result,
                                    char           **description,
                                    GError         **error)
{
  GIOStream *stream;

  g_return_val_if_fail (g_task_is_valid (result, transport), NULL);

  stream = g_task_propagate_pointer (G_TASK (result), error);
  if (stream != NULL && description != NULL)
    *description = g_strdup (g_task_get_task_data (G_TASK (result)));

  return stream;
}

static void
ferry_lan_transport_release (FerryTransport *transport,
                             const char     *attempt_id)
{
  FerryLanTransport *self = FERRY_LAN_TRANSPORT (transport);
  LanConnect *op;

  g_hash_table_remove (self->attempts, attempt_id);

  op = g_hash_table_lookup (self->connects, attempt_id);
  if (op != NULL)
    on_connect_cancelled (NULL, op);
}

static char **
ferry_lan_transport_dup_listen_addresses (FerryTransport *transport)
{
  FerryLanTransport *self = FERRY_LAN_TRANSPORT (transport);
  GPtrArray *result = g_ptr_array_new ();

  for (guint i = 0; i < self->listen_addresses->len; i++)
    {
      g_autofree char *text = _ferry_lan_format_address (g_ptr_array_index (self->listen_addresses, i));

      g_ptr_array_add (result, g_strconcat ("tcp:", text, NULL));
    }

  g_ptr_array_add (result, NULL);
  return (char **) g_ptr_array_free (result, FALSE);
}

static void
ferry_lan_transport_dispose (GObject *object)
{
  FerryLanTransport *self = FERRY_LAN_TRANSPORT (object);

  ferry_lan_transport_stop (FERRY_TRANSPORT (self));

  G_OBJECT_CLASS (ferry_lan_transport_parent_class)->dispose (object);
}

static void
ferry_lan_transport_finalize (GObject *object)
{
  FerryLanTransport *self = FERRY_LAN_TRANSPORT (object);

  g_assert (self->incoming.length == 0);

  g_hash_table_unref (self->attempts);
  g_hash_table_unref (self->connects);
  g_ptr_array_unref (self->listen_addresses);
  g_clear_pointer (&self->context, g_main_context_unref);

  G_OBJECT_CLASS (ferry_lan_transport_parent_class)->finalize (object);
}

static void
ferry_lan_transport_class_init (FerryLanTransportClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  FerryTransportClass *transport_class = FERRY_TRANSPORT_CLASS (klass);

  object_class->dispose = ferry_lan_transport_dispose;
  object_class->finalize = ferry_lan_transport_finalize;

  transport_class->start = ferry_lan_transport_start;
  transport_class->stop = ferry_lan_transport_stop;
  transport_class->describe_async = ferry_lan_transport_describe_async;
  transport_class->describe_finish = ferry_lan_transport_describe_finish;
  transport_class->connect_async = ferry_lan_transport_connect_async;
  transport_class->connect_finish = ferry_lan_transport_connect_finish;
  transport_class->release = ferry_lan_transport_release;
  transport_class->dup_listen_addresses = ferry_lan_transport_dup_listen_addresses;
}

static void
ferry_lan_transport_init (FerryLanTransport *self)
{
  self->attempts = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                          (GDestroyNotify) lan_attempt_free);
  self->connects = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, NULL);
  self->listen_addresses = g_ptr_array_new_with_free_func (g_object_unref);
  g_queue_init (&self->incoming);
}

static gboolean
lan_register_features (FerryPlugin  *plugin,
                       GError      **error)
{
  ferry_plugin_add_feature (plugin, "lan", FERRY_TYPE_LAN_TRANSPORT, FERRY_RANK_PRIMARY);
  return TRUE;
}

FERRY_PLUGIN_DEFINE (lan, "lan",
                     "TCP connections on the local network",
                     PACKAGE_VERSION, "LGPL-2.1-or-later",
                     lan_register_features)
