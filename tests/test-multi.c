/* test-multi.c: one account with three devices, fan-out and the aggregate
 *
 * A sender engine and three receiver engines in one process; the three
 * receivers share one account (account.key and account.crt copied into
 * their homes before first use, so each one creates a device of its own),
 * with the real local-broadcast and lan plugins on loopback only, real
 * TLS 1.3 and real files.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "ferry.h"
#include "test-utils.h"

#define N_DEVICES 3

typedef enum {
  BEHAVE_ACCEPT,
  BEHAVE_REJECT,
  BEHAVE_CANCEL_HALFWAY,
} Behaviour;

typedef struct _Fixture Fixture;

typedef struct {
  Fixture       *fixture;
  guint          index;
  FerryEngine   *engine;
  char          *download;
  Behaviour      behaviour;
  FerryTransfer *incoming;
  guint          requests;
  guint64        cancelled_at;
} Device;

struct _Fixture
{
  char        *dir;
  FerryEngine *sender;
  Device       devices[N_DEVICES];
};

static FerryEngine *
make_engine (const char *home,
             const char *name,
             guint16     port)
{
  g_autofree char *conf = g_build_filename (home, "ferry.conf", NULL);
  g_autofree char *text = g_strdup_printf ("[core]\nname=%s\n[local-broadcast]\nport=%u\n", name, port);
  const char *lo[] = { "lo", NULL };
  const char *signalings[] = { "local-broadcast", NULL };
  const char *transports[] = { "lan", NULL };
  g_autoptr(GError) error = NULL;
  FerryEngine *engine;

  g_assert_cmpint (g_mkdir_with_parents (home, 0700), ==, 0);
  g_assert_true (g_file_set_contents (conf, text, -1, NULL));
  engine = ferry_engine_new (home, NULL, &error);
  g_assert_no_error (error);
  ferry_engine_set_interfaces (engine, lo);
  ferry_engine_set_signalings (engine, signalings);
  ferry_engine_set_transports (engine, transports);
  g_assert_true (ferry_engine_start (engine, &error));
  g_assert_no_error (error);
  return engine;
}

static void
copy_file (const char *from_dir,
           const char *to_dir,
           const char *name)
{
  g_autofree char *from = g_build_filename (from_dir, name, NULL);
  g_autofree char *to = g_build_filename (to_dir, name, NULL);
  g_autofree char *contents = NULL;
  gsize len;

  g_assert_true (g_file_get_contents (from, &contents, &len, NULL));
  g_assert_true (g_file_set_contents_full (to, contents, len, G_FILE_SET_CONTENTS_CONSISTENT, 0600, NULL));
}

static gboolean
on_cancel_halfway (gpointer user_data)
{
  Device *device = user_data;

  if (device->incoming != NULL && !ferry_transfer_is_done (device->incoming))
    {
      device->cancelled_at = ferry_transfer_get_bytes (device->incoming);
      ferry_transfer_cancel (device->incoming, "enough of this");
    }
  return G_SOURCE_REMOVE;
}

static void
incoming_bytes_cb (FerryTransfer *transfer,
                   GParamSpec    *pspec,
                   Device        *device)
{
  if (device->cancelled_at == 0 &&
      ferry_transfer_get_bytes (transfer) * 4 >= ferry_transfer_get_total_size (transfer) &&
      !ferry_transfer_is_done (transfer))
    {
      device->cancelled_at = 1;
      /* Not from inside the notification, but before anything else this
       * context has to do (the rest of the transfer's events included):
       * a default-priority idle could wait behind them until the transfer
       * had ended. */
      g_idle_add_full (G_PRIORITY_HIGH, on_cancel_halfway, device, NULL);
    }
}

static void
transfer_requested_cb (FerryEngine   *engine,
                       FerryTransfer *transfer,
                       Device        *device)
{
  g_autoptr(GFile) dir = g_file_new_for_path (device->download);

  device->requests++;
  g_set_object (&device->incoming, transfer);
  switch (device->behaviour)
    {
    case BEHAVE_REJECT:
      ferry_transfer_reject (transfer, "not on this device");
      break;
    case BEHAVE_CANCEL_HALFWAY:
      g_signal_connect (transfer, "notify::bytes", G_CALLBACK (incoming_bytes_cb), device);
      ferry_transfer_accept (transfer, dir);
      break;
    case BEHAVE_ACCEPT:
    default:
      ferry_transfer_accept (transfer, dir);
      break;
    }
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  static const char *names[N_DEVICES] = { "bob-phone", "bob-laptop", "bob-desktop" };
  guint16 port = ferry_test_free_udp_port ();
  g_autofree char *first_home = NULL;

  fixture->dir = ferry_test_make_dir ("multi");
  {
    g_autofree char *home = g_build_filename (fixture->dir, "alice", NULL);

    fixture->sender = make_engine (home, "alice", port);
  }

  for (guint i = 0; i < N_DEVICES; i++)
    {
      Device *device = &fixture->devices[i];
      g_autofree char *home = g_build_filename (fixture->dir, names[i], NULL);

      device->fixture = fixture;
      device->index = i;
      device->download = g_build_filename (fixture->dir, names[i], "download", NULL);
      g_assert_cmpint (g_mkdir_with_parents (device->download, 0700), ==, 0);
      if (i > 0)
        {
          /* Same account, a device of its own. */
          copy_file (first_home, home, "account.key");
          copy_file (first_home, home, "account.crt");
          /* Create the device once, load it again below. */
          {
            g_autoptr(GError) error = NULL;
            g_autoptr(FerryIdentity) identity = ferry_identity_new (home, NULL, &error);

            g_assert_no_error (error);
          }
        }
      device->engine = make_engine (home, names[i], port);
      if (i == 0)
        first_home = g_steal_pointer (&home);
      g_signal_connect (device->engine, "transfer-requested", G_CALLBACK (transfer_requested_cb), device);
    }

  for (guint i = 1; i < N_DEVICES; i++)
    {
      FerryIdentity *a = ferry_engine_get_identity (fixture->devices[0].engine);
      FerryIdentity *b = ferry_engine_get_identity (fixture->devices[i].engine);

      g_assert_cmpstr (ferry_identity_get_account_id (a), ==, ferry_identity_get_account_id (b));
      g_assert_cmpstr (ferry_identity_get_device_id (a), !=, ferry_identity_get_device_id (b));
    }
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  for (guint i = 0; i < N_DEVICES; i++)
    {
      Device *device = &fixture->devices[i];

      if (device->incoming != NULL)
        g_signal_handlers_disconnect_by_data (device->incoming, device);
      g_clear_object (&device->incoming);
      ferry_engine_stop (device->engine);
      g_clear_object (&device->engine);
      g_free (device->download);
    }
  ferry_engine_stop (fixture->sender);
  g_clear_object (&fixture->sender);
  g_free (fixture->dir);
}

static gboolean
peer_has_all_devices (gpointer user_data)
{
  return g_list_model_get_n_items (ferry_peer_get_devices (FERRY_PEER (user_data))) == N_DEVICES;
}

/* Finds bob's account and waits until all three devices were seen. */
static FerryPeer *
find_bob (Fixture *fixture)
{
  g_autoptr(GError) error = NULL;
  const char *account = ferry_identity_get_account_id (ferry_engine_get_identity (fixture->devices[0].engine));
  g_autofree char *prefix = g_strndup (account, 12);
  FerryPeer *peer;

  peer = ferry_test_find_peer (fixture->sender, prefix, 10000, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (ferry_peer_get_account_id (peer), ==, account);
  ferry_test_wait_until (peer_has_all_devices, peer, 10000, "the three devices to be seen");
  return peer;
}

static gboolean
transfer_done (gpointer user_data)
{
  return ferry_transfer_is_done (FERRY_TRANSFER (user_data));
}

static gboolean
all_subs_done (gpointer user_data)
{
  GListModel *subs = ferry_transfer_get_sub_transfers (FERRY_TRANSFER (user_data));

  for (guint i = 0; i < g_list_model_get_n_items (subs); i++)
    {
      g_autoptr(FerryTransfer) sub = g_list_model_get_item (subs, i);

      if (!ferry_transfer_is_done (sub))
        return FALSE;
    }
  return TRUE;
}

/* The sub-transfer that goes to @device. */
static FerryTransfer *
sub_for (FerryTransfer *transfer,
         Device        *device)
{
  GListModel *subs = ferry_transfer_get_sub_transfers (transfer);
  const char *id = ferry_identity_get_device_id (ferry_engine_get_identity (device->engine));

  for (guint i = 0; i < g_list_model_get_n_items (subs); i++)
    {
      g_autoptr(FerryTransfer) sub = g_list_model_get_item (subs, i);

      if (g_str_equal (ferry_device_get_device_id (ferry_transfer_get_device (sub)), id))
        return sub;   /* still held by the list */
    }
  g_assert_not_reached ();
  return NULL;
}

static FerryTransfer *
send_file (Fixture    *fixture,
           FerryPeer  *peer,
           const char *path)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GError) error = NULL;
  FerryTransfer *transfer;

  transfer = ferry_engine_send (fixture->sender, peer, &file, 1, &error);
  g_assert_no_error (error);
  g_assert_nonnull (transfer);
  return transfer;
}

static void
test_all_receive (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autofree char *path = g_build_filename (fixture->dir, "photo.jpg", NULL);
  g_autoptr(FerryPeer) peer = NULL;
  g_autoptr(FerryTransfer) transfer = NULL;
  GListModel *subs;
  g_autoptr(GHashTable) ids = g_hash_table_new (g_str_hash, g_str_equal);

  ferry_test_write_random (path, 3 * 1024 * 1024 + 17, 11);
  peer = find_bob (fixture);
  transfer = send_file (fixture, peer, path);

  subs = ferry_transfer_get_sub_transfers (transfer);
  g_assert_cmpuint (g_list_model_get_n_items (subs), ==, N_DEVICES);

  ferry_test_wait_until (all_subs_done, transfer, 60000, "every device to end");
  g_assert_true (ferry_transfer_is_done (transfer));
  g_assert_cmpint (ferry_transfer_get_state (transfer), ==, FERRY_TRANSFER_STATE_FINISHED);
  g_assert_no_error (ferry_transfer_get_error (transfer));
  g_assert_cmpuint (ferry_transfer_get_bytes (transfer), ==, ferry_transfer_get_total_size (transfer));
  g_assert_true (g_str_has_prefix (ferry_transfer_get_chain (transfer), "local-broadcast → lan"));

  for (guint i = 0; i < N_DEVICES; i++)
    {
      Device *device = &fixture->devices[i];
      FerryTransfer *sub = sub_for (transfer, device);
      g_autofree char *received = g_build_filename (device->download, "photo.jpg", NULL);

      g_assert_cmpint (ferry_transfer_get_state (sub), ==, FERRY_TRANSFER_STATE_FINISHED);
      g_assert_cmpuint (ferry_transfer_get_bytes (sub), ==, ferry_transfer_get_total_size (sub));
      g_assert_nonnull (ferry_transfer_get_chain (sub));
      g_assert_cmpuint (g_list_model_get_n_items (ferry_transfer_get_sub_transfers (sub)), ==, 0);
      /* Each device gets a transfer of its own. */
      g_assert_false (g_hash_table_contains (ids, ferry_transfer_get_id (sub)));
      g_hash_table_add (ids, (gpointer) ferry_transfer_get_id (sub));

      g_assert_cmpuint (device->requests, ==, 1);
      ferry_test_wait_until (transfer_done, device->incoming, 10000, "the incoming transfer to end");
      g_assert_cmpint (ferry_transfer_get_state (device->incoming), ==, FERRY_TRANSFER_STATE_FINISHED);
      g_assert_cmpstr (ferry_transfer_get_id (device->incoming), ==, ferry_transfer_get_id (sub));
      g_assert_true (ferry_test_files_equal (path, received));
    }
}

static void
test_reject_cancel_finish (Fixture       *fixture,
                           gconstpointer  data)
{
  g_autofree char *path = g_build_filename (fixture->dir, "video.mkv", NULL);
  g_autoptr(FerryPeer) peer = NULL;
  g_autoptr(FerryTransfer) transfer = NULL;
  Device *rejecter = &fixture->devices[0];
  Device *canceller = &fixture->devices[1];
  Device *finisher = &fixture->devices[2];
  FerryTransfer *sub;

  rejecter->behaviour = BEHAVE_REJECT;
  canceller->behaviour = BEHAVE_CANCEL_HALFWAY;
  finisher->behaviour = BEHAVE_ACCEPT;

  ferry_test_write_random (path, 96 * 1024 * 1024, 5);
  peer = find_bob (fixture);
  transfer = send_file (fixture, peer, path);
  ferry_test_wait_until (all_subs_done, transfer, 120000, "every device to end");

  /* The optimistic view: one device verified the file. */
  g_assert_cmpint (ferry_transfer_get_state (transfer), ==, FERRY_TRANSFER_STATE_FINISHED);
  g_assert_no_error (ferry_transfer_get_error (transfer));

  sub = sub_for (transfer, rejecter);
  g_assert_cmpint (ferry_transfer_get_state (sub), ==, FERRY_TRANSFER_STATE_CANCELLED);
  g_assert_error (ferry_transfer_get_error (sub), FERRY_ERROR, FERRY_ERROR_REJECTED);
  g_assert_nonnull (strstr (ferry_transfer_get_error (sub)->message, "not on this device"));
  g_assert_cmpuint (ferry_transfer_get_bytes (sub), ==, 0);

  sub = sub_for (transfer, canceller);
  g_assert_cmpint (ferry_transfer_get_state (sub), ==, FERRY_TRANSFER_STATE_CANCELLED);
  g_assert_error (ferry_transfer_get_error (sub), FERRY_ERROR, FERRY_ERROR_CANCELLED_BY_PEER);
  g_assert_nonnull (strstr (ferry_transfer_get_error (sub)->message, "enough of this"));
  g_assert_cmpuint (canceller->cancelled_at, >, 0);
  g_assert_cmpuint (ferry_transfer_get_bytes (sub), <, ferry_transfer_get_total_size (sub));

  sub = sub_for (transfer, finisher);
  g_assert_cmpint (ferry_transfer_get_state (sub), ==, FERRY_TRANSFER_STATE_FINISHED);
  g_assert_cmpuint (ferry_transfer_get_bytes (sub), ==, ferry_transfer_get_total_size (sub));

  /* Each receiver saw its own end. */
  g_assert_cmpint (ferry_transfer_get_state (rejecter->incoming), ==, FERRY_TRANSFER_STATE_CANCELLED);
  g_assert_cmpint (ferry_transfer_get_state (canceller->incoming), ==, FERRY_TRANSFER_STATE_CANCELLED);
  g_assert_error (ferry_transfer_get_error (canceller->incoming), G_IO_ERROR, G_IO_ERROR_CANCELLED);
  ferry_test_wait_until (transfer_done, finisher->incoming, 10000, "the finisher to end");
  g_assert_cmpint (ferry_transfer_get_state (finisher->incoming), ==, FERRY_TRANSFER_STATE_FINISHED);

  {
    g_autofree char *listing = ferry_test_list_dir (rejecter->download);

    g_assert_cmpstr (listing, ==, "");
  }
  {
    g_autofree char *received = g_build_filename (finisher->download, "video.mkv", NULL);

    g_assert_true (ferry_test_files_equal (path, received));
  }
  {
    g_autofree char *received = g_build_filename (canceller->download, "video.mkv", NULL);

    g_assert_false (g_file_test (received, G_FILE_TEST_EXISTS));
  }
}

static void
test_all_refuse (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autofree char *path = g_build_filename (fixture->dir, "spam.txt", NULL);
  g_autoptr(FerryPeer) peer = NULL;
  g_autoptr(FerryTransfer) transfer = NULL;
  GListModel *subs;

  for (guint i = 0; i < N_DEVICES; i++)
    fixture->devices[i].behaviour = BEHAVE_REJECT;
  g_assert_true (g_file_set_contents (path, "buy now", -1, NULL));
  peer = find_bob (fixture);
  transfer = send_file (fixture, peer, path);

  ferry_test_wait_until (transfer_done, transfer, 30000, "the aggregate to end");
  /* The aggregate only fails once every device refused. */
  g_assert_true (all_subs_done (transfer));
  g_assert_cmpint (ferry_transfer_get_state (transfer), ==, FERRY_TRANSFER_STATE_CANCELLED);
  g_assert_error (ferry_transfer_get_error (transfer), FERRY_ERROR, FERRY_ERROR_REJECTED);
  subs = ferry_transfer_get_sub_transfers (transfer);
  g_assert_cmpuint (g_list_model_get_n_items (subs), ==, N_DEVICES);
  for (guint i = 0; i < N_DEVICES; i++)
    g_assert_cmpuint (fixture->devices[i].requests, ==, 1);
}

static void
test_sender_cancels_all (Fixture       *fixture,
                         gconstpointer  data)
{
  g_autoptr(FerryPeer) peer = NULL;
  g_autoptr(FerryTransfer) transfer = NULL;
  g_autoptr(GError) error = NULL;
  /* Only the device that accepts reads it, and the test gives it nothing:
   * that device's transfer is certainly still running at the cancel. */
  FerryTestHeld *held = ferry_test_held_new ("big.bin", 64 * 1024 * 1024);
  GFile *file = ferry_test_held_get_file (held);

  for (guint i = 0; i < N_DEVICES; i++)
    fixture->devices[i].behaviour = BEHAVE_REJECT;
  fixture->devices[2].behaviour = BEHAVE_ACCEPT;
  peer = find_bob (fixture);
  transfer = ferry_engine_send (fixture->sender, peer, &file, 1, &error);
  g_assert_no_error (error);
  ferry_test_wait_until (transfer_done, sub_for (transfer, &fixture->devices[0]), 30000, "a refusal");
  g_assert_false (ferry_transfer_is_done (transfer));

  ferry_transfer_cancel (transfer, "wrong file");
  g_assert_true (all_subs_done (transfer));
  g_assert_cmpint (ferry_transfer_get_state (transfer), ==, FERRY_TRANSFER_STATE_CANCELLED);
  g_assert_error (ferry_transfer_get_error (transfer), G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_error (ferry_transfer_get_error (sub_for (transfer, &fixture->devices[0])),
                  FERRY_ERROR, FERRY_ERROR_REJECTED);
  ferry_test_held_free (held);
}

static void
test_to_one_device (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autofree char *path = g_build_filename (fixture->dir, "note.txt", NULL);
  g_autoptr(FerryPeer) peer = NULL;
  g_autoptr(FerryTransfer) transfer = NULL;
  g_autoptr(GFile) file = NULL;
  g_autoptr(GError) error = NULL;
  Device *target = &fixture->devices[1];
  FerryDevice *device = NULL;
  GListModel *devices;

  g_assert_true (g_file_set_contents (path, "for the laptop only", -1, NULL));
  peer = find_bob (fixture);
  devices = ferry_peer_get_devices (peer);
  for (guint i = 0; i < g_list_model_get_n_items (devices); i++)
    {
      g_autoptr(FerryDevice) d = g_list_model_get_item (devices, i);

      if (g_str_equal (ferry_device_get_device_id (d),
                       ferry_identity_get_device_id (ferry_engine_get_identity (target->engine))))
        device = d;
    }
  g_assert_nonnull (device);

  file = g_file_new_for_path (path);
  transfer = ferry_engine_send_to_device (fixture->sender, device, &file, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_list_model_get_n_items (ferry_transfer_get_sub_transfers (transfer)), ==, 1);
  ferry_test_wait_until (transfer_done, transfer, 30000, "the transfer to end");
  g_assert_cmpint (ferry_transfer_get_state (transfer), ==, FERRY_TRANSFER_STATE_FINISHED);
  g_assert_cmpuint (fixture->devices[0].requests, ==, 0);
  g_assert_cmpuint (target->requests, ==, 1);
  g_assert_cmpuint (fixture->devices[2].requests, ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add ("/multi/all-receive", Fixture, NULL, fixture_set_up, test_all_receive, fixture_tear_down);
  g_test_add ("/multi/reject-cancel-finish", Fixture, NULL, fixture_set_up, test_reject_cancel_finish, fixture_tear_down);
  g_test_add ("/multi/all-refuse", Fixture, NULL, fixture_set_up, test_all_refuse, fixture_tear_down);
  g_test_add ("/multi/sender-cancels-all", Fixture, NULL, fixture_set_up, test_sender_cancels_all, fixture_tear_down);
  g_test_add ("/multi/to-one-device", Fixture, NULL, fixture_set_up, test_to_one_device, fixture_tear_down);

  return g_test_run ();
}
