/* test-engine.c: two engines in one process, with the real plugins
 *
 * local-broadcast signaling and lan transport on the loopback interface
 * only, real TLS 1.3 and real files.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "ferry.h"
#include "test-utils.h"

typedef enum {
  ON_REQUEST_ACCEPT,
  ON_REQUEST_REJECT,
} OnRequest;

typedef struct {
  char          *dir;
  char          *download;
  FerryEngine   *a;   /* sender */
  FerryEngine   *b;   /* receiver */
  OnRequest      on_request;
  FerryTransfer *incoming;
  FerryTestHeld *held;
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

  g_assert_cmpint (ferry_transfer_get_state (transfer), ==, FERRY_TRANSFER_STATE_AWAITING_HOST);
  g_assert_cmpint (ferry_transfer_get_direction (transfer), ==, FERRY_TRANSFER_DIRECTION_INCOMING);
  g_assert_cmpstr (ferry_device_get_account_id (ferry_transfer_get_device (transfer)), ==,
                   ferry_identity_get_account_id (ferry_engine_get_identity (fixture->a)));
  g_set_object (&fixture->incoming, transfer);
  if (fixture->on_request == ON_REQUEST_ACCEPT)
    ferry_transfer_accept (transfer, dir);
  else
    ferry_transfer_reject (transfer, "not today");
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  guint16 port = ferry_test_free_udp_port ();

  fixture->dir = ferry_test_make_dir ("engine");
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
  /* Nothing may stay blocked on it while the engines stop. */
  g_clear_pointer (&fixture->held, ferry_test_held_free);
  if (fixture->a != NULL)
    ferry_engine_stop (fixture->a);
  if (fixture->b != NULL)
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
start_send_files (Fixture  *fixture,
                  GFile   **files,
                  guint     n_files)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FerryPeer) peer = NULL;
  const char *bob = ferry_identity_get_account_id (ferry_engine_get_identity (fixture->b));
  g_autofree char *prefix = g_strndup (bob, 12);
  FerryTransfer *transfer;

  peer = ferry_test_find_peer (fixture->a, prefix, 10000, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (ferry_peer_get_account_id (peer), ==, bob);
  g_assert_cmpstr (ferry_peer_get_name (peer), ==, "bob");

  transfer = ferry_engine_send (fixture->a, peer, files, n_files, &error);
  g_assert_no_error (error);
  g_assert_nonnull (transfer);
  return transfer;
}

static FerryTransfer *
start_send (Fixture            *fixture,
            const char * const *paths)
{
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; paths[i] != NULL; i++)
    g_ptr_array_add (files, g_file_new_for_path (paths[i]));
  return start_send_files (fixture, (GFile **) files->pdata, files->len);
}

static void
test_discovery (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FerryPeer) bob = NULL;
  g_autoptr(FerryPeer) alice = NULL;
  g_autoptr(FerryPeer) nobody = NULL;
  g_autoptr(FerryDevice) device = NULL;

  bob = ferry_test_find_peer (fixture->a, "bob", 10000, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (ferry_peer_get_account_id (bob), ==,
                   ferry_identity_get_account_id (ferry_engine_get_identity (fixture->b)));
  g_assert_cmpuint (g_list_model_get_n_items (ferry_peer_get_devices (bob)), ==, 1);
  device = g_list_model_get_item (ferry_peer_get_devices (bob), 0);
  g_assert_cmpstr (ferry_device_get_device_id (device), ==,
                   ferry_identity_get_device_id (ferry_engine_get_identity (fixture->b)));
  g_assert_cmpstr (ferry_device_get_signaling (device), ==, "local-broadcast");

  /* By device id prefix, the other way round. */
  {
    g_autofree char *prefix = g_strndup (ferry_identity_get_device_id (ferry_engine_get_identity (fixture->a)), 10);

    alice = ferry_test_find_peer (fixture->b, prefix, 10000, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (ferry_peer_get_name (alice), ==, "alice");
  }

  nobody = ferry_test_find_peer (fixture->a, "0123456789abcdef", 600, NULL, &error);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_PEER_NOT_FOUND);
  g_assert_null (nobody);
}

static void
test_transfer (Fixture       *fixture,
               gconstpointer  data)
{
  g_autofree char *empty = g_build_filename (fixture->dir, "empty", NULL);
  g_autofree char *small = g_build_filename (fixture->dir, "small.txt", NULL);
  g_autofree char *big = g_build_filename (fixture->dir, "big.bin", NULL);
  const char *paths[] = { empty, small, big, NULL };
  const char *names[] = { "empty", "small.txt", "big.bin" };
  g_autoptr(FerryTransfer) transfer = NULL;
  GListModel *sent, *received;

  g_assert_true (g_file_set_contents (empty, "", 0, NULL));
  g_assert_true (g_file_set_contents (small, "hello, ferry\n", -1, NULL));
  ferry_test_write_random (big, 8 * 1024 * 1024 + 3, 7);
  /* A file of the same name already there must not be touched. */
  {
    g_autofree char *existing = g_build_filename (fixture->download, "small.txt", NULL);

    g_assert_true (g_file_set_contents (existing, "keep me", -1, NULL));
  }

  transfer = start_send (fixture, paths);
  ferry_test_wait_until (transfer_done, transfer, 30000, "the transfer to end");
  g_assert_no_error (ferry_transfer_get_error (transfer));
  g_assert_cmpint (ferry_transfer_get_state (transfer), ==, FERRY_TRANSFER_STATE_FINISHED);
  g_assert_cmpuint (ferry_transfer_get_bytes (transfer), ==, ferry_transfer_get_total_size (transfer));
  g_assert_true (g_str_has_prefix (ferry_transfer_get_chain (transfer), "local-broadcast → lan (tcp 127.0.0.1:"));
  g_assert_nonnull (strstr (ferry_transfer_get_chain (transfer), "→ tls1.3/"));

  g_assert_nonnull (fixture->incoming);
  ferry_test_wait_until (transfer_done, fixture->incoming, 30000, "the incoming transfer to end");
  g_assert_cmpint (ferry_transfer_get_state (fixture->incoming), ==, FERRY_TRANSFER_STATE_FINISHED);

  sent = ferry_transfer_get_files (transfer);
  received = ferry_transfer_get_files (fixture->incoming);
  g_assert_cmpuint (g_list_model_get_n_items (received), ==, 3);
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(FerryTransferFile) s = g_list_model_get_item (sent, i);
      g_autoptr(FerryTransferFile) r = g_list_model_get_item (received, i);
      g_autofree char *path = g_file_get_path (ferry_transfer_file_get_file (r));

      g_assert_cmpstr (ferry_transfer_file_get_name (r), ==, names[i]);
      g_assert_cmpuint (strlen (ferry_transfer_file_get_sha3_256 (s)), ==, 64);
      g_assert_cmpstr (ferry_transfer_file_get_sha3_256 (s), ==, ferry_transfer_file_get_sha3_256 (r));
      g_assert_true (ferry_test_files_equal (paths[i], path));
    }

  /* SHA3-256 of the empty string. */
  {
    g_autoptr(FerryTransferFile) r = g_list_model_get_item (received, 0);

    g_assert_cmpstr (ferry_transfer_file_get_sha3_256 (r), ==,
                     "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a");
  }

  {
    g_autofree char *listing = ferry_test_list_dir (fixture->download);
    g_autofree char *kept = NULL;
    g_autofree char *existing = g_build_filename (fixture->download, "small.txt", NULL);

    g_assert_cmpstr (listing, ==, "big.bin|empty|small (1).txt|small.txt");
    g_assert_true (g_file_get_contents (existing, &kept, NULL, NULL));
    g_assert_cmpstr (kept, ==, "keep me");
  }
}

static void
test_reject (Fixture       *fixture,
             gconstpointer  data)
{
  g_autofree char *small = g_build_filename (fixture->dir, "small.txt", NULL);
  const char *paths[] = { small, NULL };
  g_autoptr(FerryTransfer) transfer = NULL;
  g_autofree char *listing = NULL;

  fixture->on_request = ON_REQUEST_REJECT;
  g_assert_true (g_file_set_contents (small, "unwanted", -1, NULL));
  transfer = start_send (fixture, paths);
  ferry_test_wait_until (transfer_done, transfer, 20000, "the transfer to end");
  g_assert_cmpint (ferry_transfer_get_state (transfer), ==, FERRY_TRANSFER_STATE_CANCELLED);
  g_assert_error (ferry_transfer_get_error (transfer), FERRY_ERROR, FERRY_ERROR_REJECTED);
  g_assert_nonnull (strstr (ferry_transfer_get_error (transfer)->message, "not today"));
  g_assert_cmpint (ferry_transfer_get_state (fixture->incoming), ==, FERRY_TRANSFER_STATE_CANCELLED);
  listing = ferry_test_list_dir (fixture->download);
  g_assert_cmpstr (listing, ==, "");
}

static gboolean
incoming_has_bytes (gpointer user_data)
{
  Fixture *fixture = user_data;

  return fixture->incoming != NULL && ferry_transfer_get_bytes (fixture->incoming) > 0;
}

static gboolean
download_empty (gpointer user_data)
{
  Fixture *fixture = user_data;
  g_autofree char *listing = ferry_test_list_dir (fixture->download);

  return g_str_equal (listing, "");
}

#define CANCEL_SIZE ((guint64) 128 * 1024 * 1024)
#define CANCEL_FED  (1024 * 1024)

static void
run_cancel (Fixture  *fixture,
            gboolean  by_sender)
{
  g_autoptr(FerryTransfer) transfer = NULL;
  g_autofree char *listing = NULL;
  FerryTransfer *canceller, *other;
  GFile *file;

  /* The sender gets the first MiB of 128 and no more: when the first bytes
   * arrive, the transfer is running, and stays so until cancelled,
   * however fast or slow the machine. */
  fixture->held = ferry_test_held_new ("big.bin", CANCEL_SIZE);
  file = ferry_test_held_get_file (fixture->held);
  ferry_test_held_give (fixture->held, CANCEL_FED);
  transfer = start_send_files (fixture, &file, 1);
  ferry_test_wait_until (ferry_test_held_taken, fixture->held, 20000, "the sender to read the first MiB");
  ferry_test_wait_until (incoming_has_bytes, fixture, 20000, "the first bytes to arrive");
  g_assert_cmpint (ferry_transfer_get_state (transfer), ==, FERRY_TRANSFER_STATE_ONGOING);
  g_assert_cmpint (ferry_transfer_get_state (fixture->incoming), ==, FERRY_TRANSFER_STATE_ONGOING);
  g_assert_cmpuint (ferry_transfer_get_bytes (fixture->incoming), <=, CANCEL_FED);

  canceller = by_sender ? transfer : fixture->incoming;
  other = by_sender ? fixture->incoming : transfer;
  ferry_transfer_cancel (canceller, "changed my mind");
  g_assert_cmpint (ferry_transfer_get_state (canceller), ==, FERRY_TRANSFER_STATE_CANCELLED);
  g_assert_error (ferry_transfer_get_error (canceller), G_IO_ERROR, G_IO_ERROR_CANCELLED);
  /* A sender blocked in reading its source notices the receiver's cancel
   * only at its next chunk: from now on the file reads like a local one. */
  if (!by_sender)
    ferry_test_held_give_all (fixture->held);

  ferry_test_wait_until (transfer_done, other, 20000, "the peer to see the cancel");
  g_assert_cmpint (ferry_transfer_get_state (other), ==, FERRY_TRANSFER_STATE_CANCELLED);
  g_assert_error (ferry_transfer_get_error (other), FERRY_ERROR, FERRY_ERROR_CANCELLED_BY_PEER);
  g_assert_nonnull (strstr (ferry_transfer_get_error (other)->message, "changed my mind"));

  /* The receiver removes its .part as its worker stops, which ends with a
   * callback on this context. */
  ferry_test_wait_until (download_empty, fixture, 10000, "the .part to be removed");
  listing = ferry_test_list_dir (fixture->download);
  g_assert_cmpstr (listing, ==, "");
}

static void
test_cancel_by_sender (Fixture       *fixture,
                       gconstpointer  data)
{
  run_cancel (fixture, TRUE);
}

static void
test_cancel_by_receiver (Fixture       *fixture,
                         gconstpointer  data)
{
  run_cancel (fixture, FALSE);
}

/* An engine stopped during an incoming transfer leaves no source behind
 * on its context: the transfer it cancels schedules the heap trim, which
 * holds no reference and would fire on a freed engine. */
static void
test_stop_during_transfer (Fixture       *fixture,
                           gconstpointer  data)
{
  g_autoptr(FerryTransfer) transfer = NULL;
  GFile *file;

  fixture->on_request = ON_REQUEST_ACCEPT;
  fixture->held = ferry_test_held_new ("big.bin", CANCEL_SIZE);
  file = ferry_test_held_get_file (fixture->held);
  ferry_test_held_give (fixture->held, CANCEL_FED);
  transfer = start_send_files (fixture, &file, 1);
  ferry_test_wait_until (incoming_has_bytes, fixture, 20000, "the first bytes to arrive");

  ferry_engine_stop (fixture->b);
  g_assert_true (ferry_transfer_is_done (fixture->incoming));
  g_assert_null (g_main_context_find_source_by_user_data (g_main_context_default (), fixture->b));
  ferry_test_held_give_all (fixture->held);
  ferry_test_wait_until (transfer_done, transfer, 20000, "the sender to see the end");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add ("/engine/discovery", Fixture, NULL, fixture_set_up, test_discovery, fixture_tear_down);
  g_test_add ("/engine/transfer", Fixture, NULL, fixture_set_up, test_transfer, fixture_tear_down);
  g_test_add ("/engine/reject", Fixture, NULL, fixture_set_up, test_reject, fixture_tear_down);
  g_test_add ("/engine/cancel-by-sender", Fixture, NULL, fixture_set_up, test_cancel_by_sender, fixture_tear_down);
  g_test_add ("/engine/cancel-by-receiver", Fixture, NULL, fixture_set_up, test_cancel_by_receiver, fixture_tear_down);
  g_test_add ("/engine/stop-during-transfer", Fixture, NULL, fixture_set_up, test_stop_during_transfer,
              fixture_tear_down);

  return g_test_run ();
}
