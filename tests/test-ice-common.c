/* test-ice-common.c: what the ice and turn tests share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "test-ice-common.h"

/* The nice code's debug lines about STUN and read-ahead, kept in order so that tests can
 * check what happened before what. */

Coturn *
coturn_start (void)
{
  g_autofree char *turnserver = g_find_program_in_path ("turnserver");
  Coturn *coturn;

  if (turnserver == NULL)
    {
      ferry_test_skip_or_fail ("turnserver (coturn) is not installed");
      return NULL;
    }

  coturn = g_new0 (Coturn, 1);
  coturn->dir = ferry_test_make_dir ("coturn");
  coturn->process = ferry_test_coturn_spawn (turnserver, coturn->dir, &coturn->port);
  return coturn;
}

void
coturn_stop (Coturn *coturn)
{
  if (coturn == NULL)
    return;
  g_subprocess_send_signal (coturn->process, SIGTERM);
  g_subprocess_wait (coturn->process, NULL, NULL);
  g_object_unref (coturn->process);
  g_free (coturn->dir);
  g_free (coturn);
}

FerryEngine *
make_engine (Fixture    *fixture,
             const char *name,
             const char *transports,
             const char *extra)
{
  g_autofree char *home = g_build_filename (fixture->dir, name, NULL);
  g_autofree char *config = g_strdup_printf ("[core]\nname=%s\n[local-broadcast]\nport=%u\n%s\n",
                                             name, fixture->signaling_port, extra ? extra : "");

  return ferry_test_new_engine (home, config, "local-broadcast", transports);
}

static void
transfer_requested_cb (FerryEngine   *engine,
                       FerryTransfer *transfer,
                       Fixture       *fixture)
{
  g_autoptr(GFile) dir = g_file_new_for_path (fixture->download);

  g_set_object (&fixture->incoming, transfer);
  ferry_transfer_accept (transfer, dir);
}

void
start_engines (Fixture    *fixture,
               const char *transports_a,
               const char *extra_a,
               const char *transports_b,
               const char *extra_b)
{
  fixture->a = make_engine (fixture, "alice", transports_a, extra_a);
  fixture->b = make_engine (fixture, "bob", transports_b, extra_b);
  g_signal_connect (fixture->b, "transfer-requested", G_CALLBACK (transfer_requested_cb), fixture);
}

void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  fixture->signaling_port = ferry_test_free_udp_port ();
  fixture->dir = ferry_test_make_dir ("ice");
  fixture->download = g_build_filename (fixture->dir, "download", NULL);
  g_assert_cmpint (g_mkdir_with_parents (fixture->download, 0700), ==, 0);
}

void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  g_clear_object (&fixture->incoming);
  if (fixture->a != NULL)
    ferry_engine_stop (fixture->a);
  if (fixture->b != NULL)
    ferry_engine_stop (fixture->b);
  g_clear_object (&fixture->a);
  g_clear_object (&fixture->b);
  coturn_stop (fixture->coturn);
  g_free (fixture->download);
  g_free (fixture->dir);
}

char *
turn_url (Fixture    *fixture,
          const char *password,
          guint16     port,
          const char *transport)
{
  return g_strdup_printf ("[turn]\nservers=turn:test:%s@127.0.0.1:%u?transport=%s\n",
                          password, port ? port : fixture->coturn->port, transport);
}

gboolean
task_done (gpointer user_data)
{
  return g_task_get_completed (G_TASK (user_data));
}

gboolean
transfer_done (gpointer user_data)
{
  return ferry_transfer_is_done (FERRY_TRANSFER (user_data));
}

FerryTransfer *
send_gfile (Fixture *fixture,
            GFile   *file)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FerryPeer) peer = NULL;
  const char *bob = ferry_identity_get_account_id (ferry_engine_get_identity (fixture->b));
  FerryTransfer *transfer;

  peer = ferry_test_find_peer (fixture->a, bob, 10000, NULL, &error);
  g_assert_no_error (error);

  transfer = ferry_engine_send (fixture->a, peer, &file, 1, &error);
  g_assert_no_error (error);
  return transfer;
}

FerryTransfer *
send_file (Fixture    *fixture,
           const char *path)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);

  return send_gfile (fixture, file);
}

char *
transfer_ok (Fixture *fixture,
             gsize    size)
{
  g_autofree char *path = g_build_filename (fixture->dir, "data.bin", NULL);
  g_autofree char *received = g_build_filename (fixture->download, "data.bin", NULL);
  g_autoptr(FerryTransfer) transfer = NULL;

  ferry_test_write_random (path, size, (guint32) size);
  transfer = send_file (fixture, path);
  ferry_test_wait_until (transfer_done, transfer, TRANSFER_TIMEOUT_MS, "the transfer to end");
  g_assert_no_error (ferry_transfer_get_error (transfer));
  g_assert_cmpint (ferry_transfer_get_state (transfer), ==, FERRY_TRANSFER_STATE_FINISHED);

  g_assert_nonnull (fixture->incoming);
  ferry_test_wait_until (transfer_done, fixture->incoming, TRANSFER_TIMEOUT_MS, "the incoming transfer to end");
  g_assert_cmpint (ferry_transfer_get_state (fixture->incoming), ==, FERRY_TRANSFER_STATE_FINISHED);
  g_assert_true (ferry_test_files_equal (path, received));
  g_assert_cmpstr (ferry_transfer_get_chain (fixture->incoming), !=, NULL);
  g_test_message ("chain: %s", ferry_transfer_get_chain (transfer));

  return g_strdup (ferry_transfer_get_chain (transfer));
}

void
fill_pattern (guint8  *buffer,
              gsize    size,
              guint64  offset,
              guint32  seed)
{
  for (gsize i = 0; i < size; i++)
    buffer[i] = (guint8) (((offset + i) * 2654435761u) >> 13) ^ (guint8) seed;
}

gboolean
thread_done (gpointer user_data)
{
  return g_atomic_int_get ((gint *) user_data) != 0;
}

gpointer
job_thread (gpointer user_data)
{
  Job *job = user_data;

  job->func (job->data);
  g_atomic_int_set (&job->done, 1);
  return NULL;
}

void
run_in_thread (GThreadFunc  func,
               gpointer     data,
               const char  *what)
{
  Job job = { func, data, 0 };
  GThread *thread = g_thread_new (what, job_thread, &job);

  ferry_test_wait_until (thread_done, &job.done, 60000, what);
  g_thread_join (thread);
}

static void
describe_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  GTask *out = user_data;
  GError *error = NULL;
  JsonObject *description = ferry_transport_describe_finish (FERRY_TRANSPORT (source), result, &error);

  if (description != NULL)
    g_task_return_pointer (out, description, (GDestroyNotify) json_object_unref);
  else
    g_task_return_error (out, error);
  g_object_unref (out);
}

JsonObject *
describe (FerryTransport *transport,
          const char     *id,
          gboolean        offerer)
{
  g_autoptr(GTask) out = g_task_new (NULL, NULL, NULL, NULL);
  g_autoptr(GError) error = NULL;
  JsonObject *description;

  ferry_transport_describe_async (transport, id, offerer, NULL, describe_cb, g_object_ref (out));
  ferry_test_wait_until (task_done, out, 10000, "the description");
  description = g_task_propagate_pointer (out, &error);
  g_assert_no_error (error);
  return description;
}

void
connect_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  GTask *out = user_data;
  GError *error = NULL;
  char *text = NULL;
  GIOStream *stream = ferry_transport_connect_finish (FERRY_TRANSPORT (source), result, &text, &error);

  if (stream != NULL)
    {
      g_object_set_data_full (G_OBJECT (stream), "description", text, g_free);
      g_task_return_pointer (out, stream, g_object_unref);
    }
  else
    g_task_return_error (out, error);
  g_object_unref (out);
}

FerryTransport *
first_transport (FerryEngine *engine)
{
  FerryTransport *transport = g_list_model_get_item (ferry_engine_get_transports (engine), 0);

  g_object_unref (transport);   /* the engine keeps it */
  return transport;
}

void
ice_test_init (int    *argc,
               char ***argv)
{
  static const char * const needles[] = { "STUN", "TURN", "read ahead", "the stream moves", NULL };

  ferry_test_log_capture ("Ferry-nice", needles);
  g_test_init (argc, argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
}
