/* ferry-unix-transport.c: a Ferry transport over Unix domain sockets
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * An example of a plugin built outside Ferry's source tree, against the
 * installed headers and ferry-1.pc only. It connects two engines on the
 * same host. The offerer listens on a socket in a private directory and
 * hands out, per attempt, the socket's path and a random one-time token;
 * the answerer connects and writes the token; the offerer matches it to the
 * attempt. A connection from another user, or one that does not present a
 * known token within 5 s, is closed. The core runs TLS 1.3 over the stream
 * and checks both certificates, so the transport only has to keep
 * strangers' connections away from the attempts.
 */
#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <ferry/ferry.h>

#define UNIX_TOKEN_SIZE       16
#define UNIX_TOKEN_TIMEOUT_S  5
#define UNIX_MAX_WAITING      16
#define UNIX_MAX_PATH         107   /* sun_path holds 108 bytes with the NUL */

#define FERRY_TYPE_UNIX_TRANSPORT (ferry_unix_transport_get_type ())
G_DECLARE_FINAL_TYPE (FerryUnixTransport, ferry_unix_transport, FERRY, UNIX_TRANSPORT, FerryTransport)

struct _FerryUnixTransport
{
  FerryTransport  parent_instance;

  GMainContext   *context;
  GSocketService *service;
  char           *dir;        /* a private directory holding the socket */
  char           *path;
  GHashTable     *attempts;   /* attempt id → UnixAttempt (offerer side) */
  GQueue          incoming;   /* UnixIncoming waiting for their token */
};

G_DEFINE_FINAL_TYPE (FerryUnixTransport, ferry_unix_transport, FERRY_TYPE_TRANSPORT)

/* The offerer side of one attempt. */
typedef struct
{
  char              *id;
  guint8             token[UNIX_TOKEN_SIZE];
  gboolean           used;           /* a connection presented the token */
  GSocketConnection *connection;     /* arrived before connect_async */
  GTask             *task;           /* a pending connect_async */
  GSource           *cancel_source;
} UnixAttempt;

/* A connection accepted by the listener, waiting for its token. */
typedef struct
{
  FerryUnixTransport *self;          /* strong */
  GList               link;
  GSocketConnection  *connection;
  GCancellable       *cancellable;
  GSource            *timeout;
  guint8              token[UNIX_TOKEN_SIZE];
} UnixIncoming;

static void
close_connection (GSocketConnection *connection)
{
  if (connection != NULL)
    g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
}

static void
destroy_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

/* The session reads and writes the stream with blocking calls from its
 * own threads. */
static char *
prepare_connection (GSocketConnection *connection,
                    const char        *path)
{
  GSocket *socket = g_socket_connection_get_socket (connection);

  g_socket_set_blocking (socket, TRUE);
  g_socket_set_timeout (socket, 0);

  return g_strdup_printf ("unix (%s)", path);
}

static gboolean
random_token (guint8   token[UNIX_TOKEN_SIZE],
              GError **error)
{
  gsize done = 0;

  while (done < UNIX_TOKEN_SIZE)
    {
      ssize_t n = getrandom (token + done, UNIX_TOKEN_SIZE - done, 0);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved_errno = errno;

          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                       "Could not make a random token: %s", g_strerror (saved_errno));
          return FALSE;
        }
      done += n;
    }

  return TRUE;
}

static char *
format_token (const guint8 token[UNIX_TOKEN_SIZE])
{
  GString *hex = g_string_sized_new (2 * UNIX_TOKEN_SIZE);

  for (guint i = 0; i < UNIX_TOKEN_SIZE; i++)
    g_string_append_printf (hex, "%02x", token[i]);

  return g_string_free (hex, FALSE);
}

/* Exactly 32 hex digits, nothing else. */
static gboolean
parse_token (const char *hex,
             guint8      token[UNIX_TOKEN_SIZE])
{
  if (hex == NULL || strlen (hex) != 2 * UNIX_TOKEN_SIZE)
    return FALSE;

  for (guint i = 0; i < UNIX_TOKEN_SIZE; i++)
    {
      int hi = g_ascii_xdigit_value (hex[2 * i]);
      int lo = g_ascii_xdigit_value (hex[2 * i + 1]);

      if (hi < 0 || lo < 0)
        return FALSE;
      token[i] = (guint8) ((hi << 4) | lo);
    }

  return TRUE;
}

static const char *
member_string (JsonObject *object,
               const char *name)
{
  JsonNode *node = object ? json_object_get_member (object, name) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;

  return json_node_get_string (node);
}

/* The peer's description is hostile until checked: an absolute path that
 * fits in sun_path, and a token. */
static gboolean
parse_remote (JsonObject  *remote,
              const char **path,
              guint8       token[UNIX_TOKEN_SIZE],
              GError     **error)
{
  *path = member_string (remote, "path");

  if (*path == NULL || (*path)[0] != '/' || strlen (*path) > UNIX_MAX_PATH ||
      !parse_token (member_string (remote, "token"), token))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           "Invalid unix transport description");
      return FALSE;
    }

  return TRUE;
}

/* Offerer side ---------------------------------------------------------- */

static void
unix_attempt_free (UnixAttempt *attempt)
{
  destroy_source (&attempt->cancel_source);

  if (attempt->task != NULL)
    {
      g_task_return_new_error (attempt->task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                               "The connection attempt was released");
      g_clear_object (&attempt->task);
    }

  close_connection (attempt->connection);
  g_clear_object (&attempt->connection);
  g_free (attempt->id);
  g_free (attempt);
}

static void
attempt_resolve (FerryUnixTransport *self,
                 UnixAttempt        *attempt,
                 GSocketConnection  *connection)
{
  GTask *task = g_steal_pointer (&attempt->task);

  destroy_source (&attempt->cancel_source);
  g_task_set_task_data (task, prepare_connection (connection, self->path), g_free);
  g_task_return_pointer (task, g_object_ref (connection), g_object_unref);
  g_object_unref (task);
}

static UnixAttempt *
lookup_token (FerryUnixTransport *self,
              const guint8        token[UNIX_TOKEN_SIZE])
{
  GHashTableIter iter;
  UnixAttempt *found = NULL;
  gpointer value;

  /* Compare with every attempt, in constant time each. */
  g_hash_table_iter_init (&iter, self->attempts);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      UnixAttempt *attempt = value;
      guint8 diff = 0;

      for (guint i = 0; i < UNIX_TOKEN_SIZE; i++)
        diff |= attempt->token[i] ^ token[i];
      if (diff == 0 && !attempt->used)
        found = attempt;
    }

  return found;
}

static void
unix_incoming_free (UnixIncoming *incoming)
{
  destroy_source (&incoming->timeout);
  g_clear_object (&incoming->connection);
  g_clear_object (&incoming->cancellable);
  g_clear_object (&incoming->self);
  g_free (incoming);
}

static void
incoming_read_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  UnixIncoming *incoming = user_data;
  FerryUnixTransport *self = incoming->self;
  UnixAttempt *attempt = NULL;
  gsize n_read = 0;

  g_queue_unlink (&self->incoming, &incoming->link);

  if (g_input_stream_read_all_finish (G_INPUT_STREAM (object), result, &n_read, NULL) &&
      n_read == UNIX_TOKEN_SIZE && self->service != NULL)
    attempt = lookup_token (self, incoming->token);

  if (attempt == NULL)
    {
      g_debug ("Closing a connection without a known token");
      close_connection (incoming->connection);
    }
  else
    {
      attempt->used = TRUE;
      if (attempt->task != NULL)
        attempt_resolve (self, attempt, incoming->connection);
      else
        attempt->connection = g_object_ref (incoming->connection);
    }

  unix_incoming_free (incoming);
}

static gboolean
incoming_timeout_cb (gpointer user_data)
{
  UnixIncoming *incoming = user_data;

  g_cancellable_cancel (incoming->cancellable);
  g_clear_pointer (&incoming->timeout, g_source_unref);

  return G_SOURCE_REMOVE;
}

/* Only the user running this engine may connect. */
static gboolean
same_user (GSocketConnection *connection)
{
  GSocket *socket = g_socket_connection_get_socket (connection);
  g_autoptr(GCredentials) credentials = g_socket_get_credentials (socket, NULL);

  return credentials != NULL && g_credentials_get_unix_user (credentials, NULL) == getuid ();
}

static gboolean
on_incoming (GSocketService     *service,
             GSocketConnection  *connection,
             GObject            *source_object,
             FerryUnixTransport *self)
{
  UnixIncoming *incoming;

  if (self->incoming.length >= UNIX_MAX_WAITING || !same_user (connection))
    {
      close_connection (connection);
      return TRUE;
    }

  incoming = g_new0 (UnixIncoming, 1);
  incoming->self = g_object_ref (self);
  incoming->link.data = incoming;
  incoming->connection = g_object_ref (connection);
  incoming->cancellable = g_cancellable_new ();
  incoming->timeout = g_timeout_source_new_seconds (UNIX_TOKEN_TIMEOUT_S);
  g_source_set_static_name (incoming->timeout, "[ferry-unix] token timeout");
  g_source_set_callback (incoming->timeout, incoming_timeout_cb, incoming, NULL);
  g_source_attach (incoming->timeout, self->context);
  g_queue_push_tail_link (&self->incoming, &incoming->link);

  g_input_stream_read_all_async (g_io_stream_get_input_stream (G_IO_STREAM (connection)),
                                 incoming->token, UNIX_TOKEN_SIZE, G_PRIORITY_DEFAULT,
                                 incoming->cancellable, incoming_read_cb, incoming);
  return TRUE;
}

static gboolean
attempt_cancelled_cb (GCancellable *cancellable,
                      gpointer      user_data)
{
  UnixAttempt *attempt = user_data;
  GTask *task = g_steal_pointer (&attempt->task);

  g_clear_pointer (&attempt->cancel_source, g_source_unref);
  g_task_return_error_if_cancelled (task);
  g_object_unref (task);

  return G_SOURCE_REMOVE;
}

static void
offerer_connect (FerryUnixTransport *self,
                 GTask              *task,
                 const char         *attempt_id)
{
  UnixAttempt *attempt = g_hash_table_lookup (self->attempts, attempt_id);
  GCancellable *cancellable = g_task_get_cancellable (task);

  if (attempt == NULL || attempt->task != NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                               "Unknown or busy connection attempt");
      return;
    }

  if (g_task_return_error_if_cancelled (task))
    return;

  attempt->task = g_object_ref (task);

  if (attempt->connection != NULL)
    {
      g_autoptr(GSocketConnection) connection = g_steal_pointer (&attempt->connection);

      attempt_resolve (self, attempt, connection);
      return;
    }

  /* Wait for the answerer's connection, on the engine's context. */
  if (cancellable != NULL)
    {
      attempt->cancel_source = g_cancellable_source_new (cancellable);
      g_source_set_static_name (attempt->cancel_source, "[ferry-unix] cancel");
      g_source_set_callback (attempt->cancel_source,
                             G_SOURCE_FUNC (attempt_cancelled_cb), attempt, NULL);
      g_source_attach (attempt->cancel_source, self->context);
    }
}

/* Answerer side --------------------------------------------------------- */

typedef struct
{
  guint8             token[UNIX_TOKEN_SIZE];
  char              *path;
  GSocketConnection *connection;
} UnixConnect;

static void
unix_connect_free (UnixConnect *op)
{
  g_clear_object (&op->connection);
  g_free (op->path);
  g_free (op);
}

static void
token_written_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  UnixConnect *op = g_task_get_task_data (task);
  GError *error = NULL;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (object), result, NULL, &error))
    {
      close_connection (op->connection);
      g_task_return_error (task, error);
      return;
    }

  {
    GSocketConnection *connection = g_steal_pointer (&op->connection);

    /* From here on the task data is the description, as on the offerer. */
    g_task_set_task_data (task, prepare_connection (connection, op->path), g_free);
    g_task_return_pointer (task, connection, g_object_unref);
  }
}

static void
connected_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  UnixConnect *op = g_task_get_task_data (task);
  GError *error = NULL;

  op->connection = g_socket_client_connect_finish (G_SOCKET_CLIENT (object), result, &error);
  if (op->connection == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  g_output_stream_write_all_async (g_io_stream_get_output_stream (G_IO_STREAM (op->connection)),
                                   op->token, UNIX_TOKEN_SIZE, G_PRIORITY_DEFAULT,
                                   g_task_get_cancellable (task), token_written_cb,
                                   g_object_ref (task));
}

static void
answerer_connect (GTask      *task,
                  JsonObject *remote)
{
  g_autoptr(GSocketClient) client = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  UnixConnect *op = g_new0 (UnixConnect, 1);
  const char *path;
  GError *error = NULL;

  g_task_set_task_data (task, op, (GDestroyNotify) unix_connect_free);

  if (!parse_remote (remote, &path, op->token, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  op->path = g_strdup (path);
  address = g_unix_socket_address_new (path);
  client = g_socket_client_new ();
  g_socket_client_connect_async (client, G_SOCKET_CONNECTABLE (address),
                                 g_task_get_cancellable (task), connected_cb,
                                 g_object_ref (task));
}

/* FerryTransport -------------------------------------------------------- */

static void ferry_unix_transport_stop (FerryTransport *transport);

static gboolean
ferry_unix_transport_start (FerryTransport  *transport,
                            GError         **error)
{
  FerryUnixTransport *self = FERRY_UNIX_TRANSPORT (transport);
  g_autoptr(GSocketAddress) address = NULL;

  g_return_val_if_fail (self->service == NULL, FALSE);

  self->dir = g_dir_make_tmp ("ferry-unix-XXXXXX", error);
  if (self->dir == NULL)
    return FALSE;
  self->path = g_build_filename (self->dir, "socket", NULL);
  if (strlen (self->path) > UNIX_MAX_PATH)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FILENAME_TOO_LONG,
                   "The socket path %s is too long (set TMPDIR to a shorter one)", self->path);
      ferry_unix_transport_stop (transport);
      return FALSE;
    }

  g_clear_pointer (&self->context, g_main_context_unref);
  self->context = g_main_context_ref_thread_default ();
  self->service = g_socket_service_new ();
  address = g_unix_socket_address_new (self->path);
  if (!g_socket_listener_add_address (G_SOCKET_LISTENER (self->service), address,
                                      G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT,
                                      NULL, NULL, error))
    {
      ferry_unix_transport_stop (transport);
      return FALSE;
    }

  g_signal_connect (self->service, "incoming", G_CALLBACK (on_incoming), self);
  g_socket_service_start (self->service);

  return TRUE;
}

static void
ferry_unix_transport_stop (FerryTransport *transport)
{
  FerryUnixTransport *self = FERRY_UNIX_TRANSPORT (transport);
  g_autoptr(GPtrArray) pending = g_ptr_array_new_with_free_func (g_object_unref);

  if (self->service != NULL)
    {
      g_signal_handlers_disconnect_by_func (self->service, on_incoming, self);
      g_socket_service_stop (self->service);
      g_socket_listener_close (G_SOCKET_LISTENER (self->service));
      g_clear_object (&self->service);
    }

  if (self->path != NULL)
    g_unlink (self->path);
  if (self->dir != NULL)
    g_rmdir (self->dir);
  g_clear_pointer (&self->path, g_free);
  g_clear_pointer (&self->dir, g_free);

  /* The read callbacks close and free the waiting connections. */
  for (GList *l = self->incoming.head; l != NULL; l = l->next)
    g_ptr_array_add (pending, g_object_ref (((UnixIncoming *) l->data)->cancellable));
  for (guint i = 0; i < pending->len; i++)
    g_cancellable_cancel (g_ptr_array_index (pending, i));

  g_hash_table_remove_all (self->attempts);
}

static void
ferry_unix_transport_describe_async (FerryTransport      *transport,
                                     const char          *attempt_id,
                                     gboolean             offerer,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data)
{
  FerryUnixTransport *self = FERRY_UNIX_TRANSPORT (transport);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  JsonObject *description = json_object_new ();
  g_autofree char *hex = NULL;
  UnixAttempt *attempt;
  GError *error = NULL;

  g_task_set_source_tag (task, ferry_unix_transport_describe_async);

  /* The answerer connects: it has nothing to describe. */
  if (!offerer)
    {
      g_task_return_pointer (task, description, (GDestroyNotify) json_object_unref);
      return;
    }

  if (self->service == NULL)
    {
      json_object_unref (description);
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED,
                               "The unix transport is not listening");
      return;
    }

  attempt = g_hash_table_lookup (self->attempts, attempt_id);
  if (attempt == NULL)
    {
      attempt = g_new0 (UnixAttempt, 1);
      if (!random_token (attempt->token, &error))
        {
          g_free (attempt);
          json_object_unref (description);
          g_task_return_error (task, error);
          return;
        }
      attempt->id = g_strdup (attempt_id);
      g_hash_table_insert (self->attempts, attempt->id, attempt);
    }

  hex = format_token (attempt->token);
  json_object_set_string_member (description, "path", self->path);
  json_object_set_string_member (description, "token", hex);
  g_task_return_pointer (task, description, (GDestroyNotify) json_object_unref);
}

static JsonObject *
ferry_unix_transport_describe_finish (FerryTransport  *transport,
                                      GAsyncResult    *result,
                                      GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, transport), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
ferry_unix_transport_connect_async (FerryTransport      *transport,
                                    const char          *attempt_id,
                                    gboolean             offerer,
                                    JsonObject          *remote,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  FerryUnixTransport *self = FERRY_UNIX_TRANSPORT (transport);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, ferry_unix_transport_connect_async);

  if (self->service == NULL)
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED,
                             "The unix transport is not started");
  else if (offerer)
    offerer_connect (self, task, attempt_id);
  else
    answerer_connect (task, remote);
}

static GIOStream *
ferry_unix_transport_connect_finish (FerryTransport  *transport,
                                     GAsyncResult    *result,
                                     char           **description,
                                     GError         **error)
{
  GTask *task = G_TASK (result);
  GIOStream *stream;

  g_return_val_if_fail (g_task_is_valid (result, transport), NULL);

  stream = g_task_propagate_pointer (task, error);
  if (stream == NULL)
    return NULL;

  if (description != NULL)
    *description = g_strdup (g_task_get_task_data (task));

  return stream;
}

static void
ferry_unix_transport_release (FerryTransport *transport,
                              const char     *attempt_id)
{
  FerryUnixTransport *self = FERRY_UNIX_TRANSPORT (transport);

  g_hash_table_remove (self->attempts, attempt_id);
}

static char **
ferry_unix_transport_dup_listen_addresses (FerryTransport *transport)
{
  FerryUnixTransport *self = FERRY_UNIX_TRANSPORT (transport);
  char **addresses = g_new0 (char *, 2);

  if (self->path != NULL)
    addresses[0] = g_strconcat ("unix:", self->path, NULL);

  return addresses;
}

static void
ferry_unix_transport_dispose (GObject *object)
{
  ferry_unix_transport_stop (FERRY_TRANSPORT (object));

  G_OBJECT_CLASS (ferry_unix_transport_parent_class)->dispose (object);
}

static void
ferry_unix_transport_finalize (GObject *object)
{
  FerryUnixTransport *self = FERRY_UNIX_TRANSPORT (object);

  g_hash_table_unref (self->attempts);
  g_clear_pointer (&self->context, g_main_context_unref);

  G_OBJECT_CLASS (ferry_unix_transport_parent_class)->finalize (object);
}

static void
ferry_unix_transport_class_init (FerryUnixTransportClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  FerryTransportClass *transport_class = FERRY_TRANSPORT_CLASS (klass);

  object_class->dispose = ferry_unix_transport_dispose;
  object_class->finalize = ferry_unix_transport_finalize;

  transport_class->start = ferry_unix_transport_start;
  transport_class->stop = ferry_unix_transport_stop;
  transport_class->describe_async = ferry_unix_transport_describe_async;
  transport_class->describe_finish = ferry_unix_transport_describe_finish;
  transport_class->connect_async = ferry_unix_transport_connect_async;
  transport_class->connect_finish = ferry_unix_transport_connect_finish;
  transport_class->release = ferry_unix_transport_release;
  transport_class->dup_listen_addresses = ferry_unix_transport_dup_listen_addresses;
}

static void
ferry_unix_transport_init (FerryUnixTransport *self)
{
  self->attempts = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                          (GDestroyNotify) unix_attempt_free);
  g_queue_init (&self->incoming);
}

static gboolean
unix_register_features (FerryPlugin  *plugin,
                        GError      **error)
{
  ferry_plugin_add_feature (plugin, "unix", FERRY_TYPE_UNIX_TRANSPORT, FERRY_RANK_SECONDARY);
  return TRUE;
}

FERRY_PLUGIN_DEFINE (unix, "unix",
                     "Unix domain sockets, between two engines on one host (an example)",
                     "1.0", "LGPL-2.1-or-later",
                     unix_register_features)
