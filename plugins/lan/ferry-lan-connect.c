/* ferry-lan-connect.c: the lan transport's answerer side
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Connects to the offerer's addresses with staggered starts (one every
 * LAN_STAGGER_MS, or at once when the previous one failed); the first
 * connection made writes the token and wins, the others are cancelled.
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "ferry-lan-private.h"

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
      g_task_set_task_data (task, _ferry_lan_prepare_connection (connection, address), g_free);
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
      _ferry_lan_close_connection (op->winner);
    }
  else if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (object), result, NULL, &error))
    {
      _ferry_lan_close_connection (op->winner);
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

/* A candidate could not connect: the next one at once, or the end. Takes
 * @error. */
static void
candidate_failed (LanConnect     *op,
                  GSocketAddress *address,
                  GError         *error)
{
  g_autofree char *text = _ferry_lan_format_address (G_INET_SOCKET_ADDRESS (address));

  g_debug ("Could not connect to %s: %s", text, error->message);

  if (g_cancellable_is_cancelled (op->cancellable))
    {
      g_error_free (error);
      if (op->running == 0)
        lan_connect_finish_op (op, NULL, NULL,
                               g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                    _("Operation was cancelled")));
      return;
    }

  if (op->error == NULL)
    {
      op->error = error;
      g_prefix_error (&op->error, _("Could not connect to %s: "), text);
    }
  else
    g_error_free (error);

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
      _ferry_lan_close_connection (connection);
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
      candidate_failed (op, candidate->address, g_steal_pointer (&error));
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

void
_ferry_lan_connect_start (FerryLanTransport *self,
                          const char        *attempt_id,
                          JsonObject        *remote,
                          GTask             *task)
{
  g_autoptr(GPtrArray) addresses = NULL;
  GCancellable *cancellable = g_task_get_cancellable (task);
  guint8 token[LAN_TOKEN_SIZE];
  GError *error = NULL;
  LanConnect *op;

  if (!_ferry_lan_parse_description (remote, &addresses, token, &error))
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }

  if (g_hash_table_contains (self->connects, attempt_id))
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

  op = g_new0 (LanConnect, 1);
  g_atomic_ref_count_init (&op->ref_count);
  op->self = g_object_ref (self);
  op->task = task;
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

void
_ferry_lan_connect_cancel (LanConnect *op)
{
  on_connect_cancelled (NULL, op);
}

void
_ferry_lan_connect_cancel_all (FerryLanTransport *self)
{
  g_autoptr(GPtrArray) connects = g_ptr_array_new_with_free_func ((GDestroyNotify) lan_connect_unref);
  GHashTableIter iter;
  gpointer value;

  /* From a snapshot: a cancellation may change the table. */
  g_hash_table_iter_init (&iter, self->connects);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (connects, lan_connect_ref (value));
  for (guint i = 0; i < connects->len; i++)
    on_connect_cancelled (NULL, g_ptr_array_index (connects, i));
}
