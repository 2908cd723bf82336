/* test-engine-context.c: engines on a thread with their own main context
 *
 * Two engines (local-broadcast and lan on loopback) are made on a worker
 * thread whose thread-default context is its own. A find_peer that times
 * out, a transfer, cancellations and closing must all work there while
 * nobody iterates the global default context; a source on the default
 * context notices if anyone does.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "ferry.h"
#include "test-utils.h"

/* ------------------------------------------------------------ tripwire */

/* A source that is never ready: its prepare runs on every iteration of
 * the context it is attached to, so it records whether anyone iterated
 * the default context. */
typedef struct {
  GSource  source;
  gint     iterations;
  gint     ignore;      /* the test's own look at the context */
} Tripwire;

static gboolean
tripwire_prepare (GSource *source,
                  gint    *timeout)
{
  Tripwire *tripwire = (Tripwire *) source;

  if (!g_atomic_int_get (&tripwire->ignore))
    g_atomic_int_inc (&tripwire->iterations);
  *timeout = -1;
  return FALSE;
}

static gboolean
tripwire_check (GSource *source)
{
  return FALSE;
}

static gboolean
tripwire_dispatch (GSource     *source,
                   GSourceFunc  callback,
                   gpointer     user_data)
{
  return G_SOURCE_REMOVE;
}

static GSourceFuncs tripwire_funcs = {
  tripwire_prepare,
  tripwire_check,
  tripwire_dispatch,
  NULL, NULL, NULL,
};

/* ------------------------------------------------------------- fixture */

typedef struct {
  char          *dir;
  char          *download;
  Tripwire      *tripwire;
  GMainContext  *context;      /* the worker's */
  FerryEngine   *a;            /* sender */
  FerryEngine   *b;            /* receiver */
  gboolean       accept;
  FerryTransfer *incoming;
} Fixture;

static FerryEngine *
make_engine (Fixture    *fixture,
             const char *name,
             guint16     port)
{
  g_autofree char *home = g_build_filename (fixture->dir, name, NULL);
  g_autofree char *config = g_strdup_printf ("[core]\nname=%s\n[local-broadcast]\nport=%u\n", name, port);

  return ferry_test_new_engine (home, config, "local-broadcast", "lan");
}

static void
transfer_requested_cb (FerryEngine   *engine,
                       FerryTransfer *transfer,
                       Fixture       *fixture)
{
  g_autoptr(GFile) dir = g_file_new_for_path (fixture->download);

  g_set_object (&fixture->incoming, transfer);
  if (fixture->accept)
    ferry_transfer_accept (transfer, dir);
}

static gboolean
task_done (gpointer user_data)
{
  return g_task_get_completed (G_TASK (user_data));
}

static gboolean
transfer_done (gpointer user_data)
{
  return ferry_transfer_is_done (FERRY_TRANSFER (user_data));
}

static gboolean
incoming_has_bytes (gpointer user_data)
{
  Fixture *fixture = user_data;

  return fixture->incoming != NULL && ferry_transfer_get_bytes (fixture->incoming) > 0;
}

static void
find_peer_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  GTask *out = user_data;
  GError *error = NULL;
  FerryPeer *peer = ferry_engine_find_peer_finish (FERRY_ENGINE (source), result, &error);

  if (peer != NULL)
    g_task_return_pointer (out, peer, g_object_unref);
  else
    g_task_return_error (out, error);
  g_object_unref (out);
}

/* Nothing of the engines waits on the default context: no timer, and no
 * file descriptor but the context's own wake-up one. */
static void
assert_default_context_empty (Fixture *fixture)
{
  GMainContext *main_context = g_main_context_default ();
  GPollFD fds[8];
  gint priority = 0;
  gint timeout = 0;
  gint n_fds;

  g_atomic_int_set (&fixture->tripwire->ignore, 1);
  g_assert_true (g_main_context_acquire (main_context));
  g_assert_false (g_main_context_prepare (main_context, &priority));
  n_fds = g_main_context_query (main_context, priority, &timeout, fds, G_N_ELEMENTS (fds));
  g_main_context_release (main_context);
  g_atomic_int_set (&fixture->tripwire->ignore, 0);

  g_assert_cmpint (timeout, ==, -1);
  g_assert_cmpint (n_fds, ==, 1);
}

/* ------------------------------------------------------------- the steps */

static void
step_find_peer_times_out (Fixture *fixture)
{
  g_autoptr(GTask) out = g_task_new (NULL, NULL, NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(FerryPeer) peer = NULL;

  ferry_engine_find_peer_async (fixture->a, "0123456789abcdef", 800, NULL, find_peer_cb, g_object_ref (out));
  /* Its timers and the plugins' sockets are on the worker's context. */
  assert_default_context_empty (fixture);
  ferry_test_wait_until (task_done, out, 20000, "find_peer to time out");
  peer = g_task_propagate_pointer (out, &error);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_PEER_NOT_FOUND);
  g_assert_null (peer);
}

static gpointer
cancel_thread (gpointer data)
{
  g_cancellable_cancel (G_CANCELLABLE (data));
  return NULL;
}

static void
step_find_peer_cancelled_elsewhere (Fixture *fixture)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GTask) out = g_task_new (NULL, NULL, NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(FerryPeer) peer = NULL;

  ferry_engine_find_peer_async (fixture->a, "0123456789abcdef", 600000, cancellable,
                                find_peer_cb, g_object_ref (out));
  /* Cancelled from a third thread: the engine handles it on its own
   * context. */
  g_thread_join (g_thread_new ("cancel", cancel_thread, cancellable));
  ferry_test_wait_until (task_done, out, 20000, "find_peer to be cancelled");
  peer = g_task_propagate_pointer (out, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (peer);

  /* Already cancelled before the call. */
  g_clear_error (&error);
  peer = ferry_test_find_peer (fixture->a, "0123456789abcdef", 600000, cancellable, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static FerryTransfer *
send_file (Fixture    *fixture,
           const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FerryPeer) peer = NULL;
  g_autoptr(GFile) file = g_file_new_for_path (path);
  FerryTransfer *transfer;

  peer = ferry_test_find_peer (fixture->a, "bob", 20000, NULL, &error);
  g_assert_no_error (error);
  transfer = ferry_engine_send (fixture->a, peer, &file, 1, &error);
  g_assert_no_error (error);
  return transfer;
}

static void
step_transfer (Fixture *fixture)
{
  g_autofree char *path = g_build_filename (fixture->dir, "small.bin", NULL);
  g_autofree char *received = g_build_filename (fixture->download, "small.bin", NULL);
  g_autoptr(FerryTransfer) transfer = NULL;

  ferry_test_write_random (path, 256 * 1024 + 5, 3);
  fixture->accept = TRUE;
  transfer = send_file (fixture, path);
  ferry_test_wait_until (transfer_done, transfer, 60000, "the transfer to end");
  g_assert_cmpint (ferry_transfer_get_state (transfer), ==, FERRY_TRANSFER_STATE_FINISHED);
  g_assert_nonnull (fixture->incoming);
  ferry_test_wait_until (transfer_done, fixture->incoming, 60000, "the receiver to finish");
  g_assert_cmpint (ferry_transfer_get_state (fixture->incoming), ==, FERRY_TRANSFER_STATE_FINISHED);
  g_assert_true (ferry_test_files_equal (path, received));
  g_clear_object (&fixture->incoming);
}

static void
step_cancel_transfer (Fixture *fixture)
{
  g_autofree char *path = g_build_filename (fixture->dir, "big.bin", NULL);
  g_autoptr(FerryTransfer) transfer = NULL;

  ferry_test_write_random (path, 64 * 1024 * 1024, 9);
  fixture->accept = TRUE;
  transfer = send_file (fixture, path);
  ferry_test_wait_until (incoming_has_bytes, fixture, 60000, "the first bytes to arrive");

  ferry_transfer_cancel (transfer, "changed my mind");
  g_assert_cmpint (ferry_transfer_get_state (transfer), ==, FERRY_TRANSFER_STATE_CANCELLED);
  ferry_test_wait_until (transfer_done, fixture->incoming, 60000, "the receiver to see the cancel");
  g_assert_cmpint (ferry_transfer_get_state (fixture->incoming), ==, FERRY_TRANSFER_STATE_CANCELLED);
  g_assert_error (ferry_transfer_get_error (fixture->incoming), FERRY_ERROR, FERRY_ERROR_CANCELLED_BY_PEER);
  g_clear_object (&fixture->incoming);
}

static void
close_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  GTask *out = user_data;
  GError *error = NULL;

  if (ferry_engine_close_finish (FERRY_ENGINE (source), result, &error))
    g_task_return_boolean (out, TRUE);
  else
    g_task_return_error (out, error);
  g_object_unref (out);
}

static void
step_close (Fixture *fixture)
{
  g_autoptr(GTask) closed_b = g_task_new (NULL, NULL, NULL, NULL);
  g_autoptr(GTask) closed_a = g_task_new (NULL, NULL, NULL, NULL);
  g_autoptr(GCancellable) cancelled = g_cancellable_new ();
  g_autoptr(GError) error = NULL;

  /* A close whose cancellable is cancelled ends with G_IO_ERROR_CANCELLED
   * (the engine is stopped all the same); a plain close ends on this
   * context too. */
  g_cancellable_cancel (cancelled);
  ferry_engine_close_async (fixture->b, cancelled, close_cb, g_object_ref (closed_b));
  ferry_engine_close_async (fixture->a, NULL, close_cb, g_object_ref (closed_a));
  g_assert_false (g_task_get_completed (closed_b));
  ferry_test_wait_until (task_done, closed_b, 20000, "the cancelled close to end");
  g_assert_false (g_task_propagate_boolean (closed_b, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  ferry_test_wait_until (task_done, closed_a, 20000, "the close to end");
  g_clear_error (&error);
  g_assert_true (g_task_propagate_boolean (closed_a, &error));
  g_assert_no_error (error);
}

static gpointer
worker (gpointer data)
{
  Fixture *fixture = data;
  guint16 port = ferry_test_free_udp_port ();

  fixture->context = g_main_context_new ();
  g_main_context_push_thread_default (fixture->context);

  fixture->a = make_engine (fixture, "alice", port);
  fixture->b = make_engine (fixture, "bob", port);
  g_signal_connect (fixture->b, "transfer-requested", G_CALLBACK (transfer_requested_cb), fixture);

  step_find_peer_times_out (fixture);
  step_find_peer_cancelled_elsewhere (fixture);
  step_transfer (fixture);
  step_cancel_transfer (fixture);
  step_close (fixture);

  g_clear_object (&fixture->a);
  g_clear_object (&fixture->b);
  /* Let what the engines left (last frames, closing sockets) run out. */
  while (g_main_context_iteration (fixture->context, FALSE))
    ;
  g_main_context_pop_thread_default (fixture->context);
  g_clear_pointer (&fixture->context, g_main_context_unref);
  return NULL;
}

static void
test_own_context (void)
{
  Fixture fixture = { 0, };
  GSource *tripwire = g_source_new (&tripwire_funcs, sizeof (Tripwire));

  fixture.dir = ferry_test_make_dir ("engine-context");
  fixture.download = g_build_filename (fixture.dir, "download", NULL);
  g_assert_cmpint (g_mkdir_with_parents (fixture.download, 0700), ==, 0);
  fixture.tripwire = (Tripwire *) tripwire;
  g_source_attach (tripwire, g_main_context_default ());

  g_thread_join (g_thread_new ("engines", worker, &fixture));

  g_assert_cmpint (g_atomic_int_get (&fixture.tripwire->iterations), ==, 0);
  g_source_destroy (tripwire);
  g_source_unref (tripwire);
  g_free (fixture.download);
  g_free (fixture.dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/engine-context/own-thread", test_own_context);

  return g_test_run ();
}
