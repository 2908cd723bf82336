/* test-history.c: every transfer is recorded under the home directory
 *
 * Two engines in one process with the real plugins on loopback.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "ferry.h"
#include "test-utils.h"

typedef struct {
  char          *dir;
  char          *download;
  FerryEngine   *a;
  FerryEngine   *b;
  gboolean       reject;
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
  if (fixture->reject)
    ferry_transfer_reject (transfer, "no thanks");
  else
    ferry_transfer_accept (transfer, dir);
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  guint16 port = ferry_test_free_udp_port ();

  fixture->dir = ferry_test_make_dir ("history");
  fixture->download = g_build_filename (fixture->dir, "download", NULL);
  g_assert_cmpint (g_mkdir_with_parents (fixture->download, 0700), ==, 0);
  fixture->a = make_engine (fixture, "alice", port);
  fixture->b = make_engine (fixture, "bob", port);
  g_signal_connect (fixture->b, "transfer-requested", G_CALLBACK (transfer_requested_cb), fixture);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  g_clear_object (&fixture->incoming);
  ferry_engine_stop (fixture->a);
  ferry_engine_stop (fixture->b);
  g_clear_object (&fixture->a);
  g_clear_object (&fixture->b);
  g_free (fixture->download);
  g_free (fixture->dir);
}

static gboolean
transfer_done (gpointer user_data)
{
  return ferry_transfer_is_done (FERRY_TRANSFER (user_data));
}

static FerryTransfer *
send_files (Fixture            *fixture,
            const char * const *paths)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FerryPeer) peer = NULL;
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_object_unref);
  FerryTransfer *transfer;

  peer = ferry_test_find_peer (fixture->a, "bob", 10000, NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; paths[i] != NULL; i++)
    g_ptr_array_add (files, g_file_new_for_path (paths[i]));
  transfer = ferry_engine_send (fixture->a, peer, (GFile **) files->pdata, files->len, &error);
  g_assert_no_error (error);
  ferry_test_wait_until (transfer_done, transfer, 30000, "the transfer to end");
  return transfer;
}

static gboolean
incoming_done (gpointer user_data)
{
  Fixture *fixture = user_data;

  return fixture->incoming != NULL && ferry_transfer_is_done (fixture->incoming);
}

static JsonObject *
only_record (FerryEngine *engine)
{
  g_autoptr(JsonArray) history = ferry_engine_get_history (engine);

  g_assert_cmpuint (json_array_get_length (history), ==, 1);
  return json_object_ref (json_array_get_object_element (history, 0));
}

static void
assert_history_files_private (FerryEngine *engine)
{
  g_autofree char *dir = g_build_filename (ferry_engine_get_home (engine), "history", NULL);
  g_autoptr(GDir) handle = g_dir_open (dir, 0, NULL);
  const char *name;
  GStatBuf st;

  g_assert_nonnull (handle);
  g_assert_cmpint (g_stat (dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
  while ((name = g_dir_read_name (handle)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      /* Written whole and renamed: no temporary file is left behind. */
      g_assert_true (g_str_has_suffix (name, ".json"));
      g_assert_cmpint (g_stat (path, &st), ==, 0);
      g_assert_cmpint (st.st_mode & 0777, ==, 0600);
    }
}

static void
test_finished (Fixture       *fixture,
               gconstpointer  data)
{
  g_autofree char *one = g_build_filename (fixture->dir, "one.txt", NULL);
  g_autofree char *two = g_build_filename (fixture->dir, "two.bin", NULL);
  const char *paths[] = { one, two, NULL };
  g_autoptr(FerryTransfer) transfer = NULL;
  g_autoptr(JsonObject) sent = NULL;
  g_autoptr(JsonObject) received = NULL;
  g_autoptr(FerryTransfer) sub = NULL;
  JsonArray *files, *devices;
  JsonObject *device;
  guint64 total = 14 + 3 * 1024 * 1024;

  g_assert_true (g_file_set_contents (one, "first of many\n", -1, NULL));
  ferry_test_write_random (two, 3 * 1024 * 1024, 1);
  transfer = send_files (fixture, paths);
  g_assert_cmpint (ferry_transfer_get_state (transfer), ==, FERRY_TRANSFER_STATE_FINISHED);
  ferry_test_wait_until (incoming_done, fixture, 10000, "the receiver to end");
  sub = g_list_model_get_item (ferry_transfer_get_sub_transfers (transfer), 0);

  sent = only_record (fixture->a);
  g_assert_cmpstr (json_object_get_string_member (sent, "id"), ==, ferry_transfer_get_id (transfer));
  g_assert_cmpstr (json_object_get_string_member (sent, "direction"), ==, "outgoing");
  g_assert_cmpstr (json_object_get_string_member (sent, "state"), ==, "finished");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (sent, "peer"), "account"), ==,
                   ferry_identity_get_account_id (ferry_engine_get_identity (fixture->b)));
  g_assert_cmpint (json_object_get_int_member (sent, "total"), ==, (gint64) total);
  g_assert_cmpint (json_object_get_int_member (sent, "moved"), ==, (gint64) total);
  g_assert_cmpint (json_object_get_int_member (sent, "created"), >, 0);
  files = json_object_get_array_member (sent, "files");
  g_assert_cmpuint (json_array_get_length (files), ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      JsonObject *file = json_array_get_object_element (files, i);
      g_autoptr(FerryTransferFile) tf = g_list_model_get_item (ferry_transfer_get_files (transfer), i);

      g_assert_cmpstr (json_object_get_string_member (file, "path"), ==, paths[i]);
      g_assert_cmpstr (json_object_get_string_member (file, "sha3-256"), ==, ferry_transfer_file_get_sha3_256 (tf));
      g_assert_cmpint (json_object_get_int_member (file, "size"), ==, (gint64) ferry_transfer_file_get_size (tf));
      g_assert_cmpint (json_object_get_int_member (file, "mtime"), >, 0);
    }
  devices = json_object_get_array_member (sent, "devices");
  g_assert_cmpuint (json_array_get_length (devices), ==, 1);
  device = json_array_get_object_element (devices, 0);
  g_assert_cmpstr (json_object_get_string_member (device, "device"), ==,
                   ferry_identity_get_device_id (ferry_engine_get_identity (fixture->b)));
  g_assert_cmpstr (json_object_get_string_member (device, "transfer"), ==, ferry_transfer_get_id (sub));
  g_assert_cmpstr (json_object_get_string_member (device, "state"), ==, "finished");

  received = only_record (fixture->b);
  g_assert_cmpstr (json_object_get_string_member (received, "id"), ==, ferry_transfer_get_id (sub));
  g_assert_cmpstr (json_object_get_string_member (received, "direction"), ==, "incoming");
  g_assert_cmpstr (json_object_get_string_member (received, "state"), ==, "finished");
  g_assert_cmpstr (json_object_get_string_member (received, "directory"), ==, fixture->download);
  g_assert_cmpint (json_object_get_int_member (received, "moved"), ==, (gint64) total);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (received, "device"), "device"), ==,
                   ferry_identity_get_device_id (ferry_engine_get_identity (fixture->a)));
  files = json_object_get_array_member (received, "files");
  for (guint i = 0; i < 2; i++)
    {
      JsonObject *file = json_array_get_object_element (files, i);
      g_autofree char *base = g_path_get_basename (paths[i]);
      g_autofree char *saved = g_build_filename (fixture->download, base, NULL);

      g_assert_cmpstr (json_object_get_string_member (file, "path"), ==, saved);
      g_assert_cmpstr (json_object_get_string_member (file, "sha3-256"), ==,
                       json_object_get_string_member (json_array_get_object_element (json_object_get_array_member (sent, "files"), i),
                                                      "sha3-256"));
      g_assert_false (json_object_has_member (file, "part"));
    }

  assert_history_files_private (fixture->a);
  assert_history_files_private (fixture->b);
}

static void
test_rejected (Fixture       *fixture,
               gconstpointer  data)
{
  g_autofree char *one = g_build_filename (fixture->dir, "one.txt", NULL);
  const char *paths[] = { one, NULL };
  g_autoptr(FerryTransfer) transfer = NULL;
  g_autoptr(JsonObject) sent = NULL;
  JsonObject *device;

  fixture->reject = TRUE;
  g_assert_true (g_file_set_contents (one, "unwanted\n", -1, NULL));
  transfer = send_files (fixture, paths);
  g_assert_cmpint (ferry_transfer_get_state (transfer), ==, FERRY_TRANSFER_STATE_CANCELLED);

  sent = only_record (fixture->a);
  g_assert_cmpstr (json_object_get_string_member (sent, "state"), ==, "cancelled");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (sent, "error"), "code"), ==, "rejected");
  g_assert_cmpint (json_object_get_int_member (sent, "moved"), ==, 0);
  device = json_array_get_object_element (json_object_get_array_member (sent, "devices"), 0);
  g_assert_cmpstr (json_object_get_string_member (device, "state"), ==, "cancelled");
  g_assert_nonnull (strstr (json_object_get_string_member (json_object_get_object_member (device, "error"), "message"),
                            "no thanks"));

  /* An offer the receiver did not accept leaves no record there. */
  {
    g_autoptr(JsonArray) history = ferry_engine_get_history (fixture->b);

    g_assert_cmpuint (json_array_get_length (history), ==, 0);
  }
}

static gint listed;

static gpointer
list_history_thread (gpointer data)
{
  JsonArray *history = ferry_engine_get_history (data);

  g_atomic_int_set (&listed, TRUE);
  g_main_context_wakeup (NULL);
  return history;
}

static gboolean
thread_done (gpointer data)
{
  return g_atomic_int_get ((gint *) data);
}

static void
test_unreadable_records_skipped (Fixture       *fixture,
                                 gconstpointer  data)
{
  g_autofree char *one = g_build_filename (fixture->dir, "one.txt", NULL);
  const char *paths[] = { one, NULL };
  g_autoptr(FerryTransfer) first = NULL;
  g_autoptr(FerryTransfer) second = NULL;
  g_autoptr(JsonArray) history = NULL;
  g_autofree char *dir = g_build_filename (ferry_engine_get_home (fixture->a), "history", NULL);
  g_autofree char *junk = g_build_filename (dir, "0123456789abcdef.json", NULL);
  g_autofree char *torn = g_build_filename (dir, "fedcba9876543210.json", NULL);
  g_autofree char *fifo = g_build_filename (dir, "00112233445566778899.json", NULL);

  g_assert_true (g_file_set_contents (one, "twice\n", -1, NULL));
  first = send_files (fixture, paths);
  second = send_files (fixture, paths);

  g_assert_true (g_file_set_contents (junk, "[1, 2, 3]", -1, NULL));
  g_assert_true (g_file_set_contents (torn, "{\"id\":\"fedcba9876543210\",\"files\":[", -1, NULL));
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  /* A FIFO is skipped, not waited on forever. */
  {
    GThread *thread = g_thread_new ("history", list_history_thread, fixture->a);

    ferry_test_wait_until (thread_done, &listed, 10000, "the history to be listed");
    history = g_thread_join (thread);
  }
  g_assert_cmpuint (json_array_get_length (history), ==, 2);
  /* Newest first. */
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (history, 0), "id"), ==,
                   ferry_transfer_get_id (second));
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (history, 0), "created"), >=,
                   json_object_get_int_member (json_array_get_object_element (history, 1), "created"));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add ("/history/finished", Fixture, NULL, fixture_set_up, test_finished, fixture_tear_down);
  g_test_add ("/history/rejected", Fixture, NULL, fixture_set_up, test_rejected, fixture_tear_down);
  g_test_add ("/history/unreadable-records-skipped", Fixture, NULL, fixture_set_up,
              test_unreadable_records_skipped, fixture_tear_down);

  return g_test_run ();
}
