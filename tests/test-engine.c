/* test-engine.c: two engines in one process, with the real plugins
 *
 * local-broadcast signaling and lan transport on the loopback interface
 * only, real TLS 1.3 and real files.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>

#include <glib-unix.h>
#include <gio/gunixinputstream.h>
#include <gio/gunixoutputstream.h>

#include "ferry.h"
#include "test-utils.h"

/* A held file {{{1
 *
 * A regular file of a declared size whose bytes come from a pipe the test
 * writes: the sender cannot read past what the test gave it, so a transfer
 * is still running when the test says so, on a fast machine as on a slow
 * one. Only what the engine asks of a file to send is implemented. */

#define TEST_TYPE_HELD_INPUT (test_held_input_get_type ())
G_DECLARE_FINAL_TYPE (TestHeldInput, test_held_input, TEST, HELD_INPUT, GFileInputStream)

struct _TestHeldInput
{
  GFileInputStream  parent_instance;
  GInputStream     *base;
};

G_DEFINE_FINAL_TYPE (TestHeldInput, test_held_input, G_TYPE_FILE_INPUT_STREAM)

static gssize
test_held_input_read (GInputStream  *stream,
                      void          *buffer,
                      gsize          count,
                      GCancellable  *cancellable,
                      GError       **error)
{
  /* Blocks until the test writes, the sender cancels or the pipe closes. */
  return g_input_stream_read (TEST_HELD_INPUT (stream)->base, buffer, count, cancellable, error);
}

static gboolean
test_held_input_close (GInputStream  *stream,
                       GCancellable  *cancellable,
                       GError       **error)
{
  return g_input_stream_close (TEST_HELD_INPUT (stream)->base, cancellable, error);
}

static void
test_held_input_finalize (GObject *object)
{
  g_clear_object (&TEST_HELD_INPUT (object)->base);
  G_OBJECT_CLASS (test_held_input_parent_class)->finalize (object);
}

static void
test_held_input_class_init (TestHeldInputClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = test_held_input_finalize;
  G_INPUT_STREAM_CLASS (klass)->read_fn = test_held_input_read;
  G_INPUT_STREAM_CLASS (klass)->close_fn = test_held_input_close;
}

static void
test_held_input_init (TestHeldInput *self)
{
}

#define TEST_TYPE_HELD_FILE (test_held_file_get_type ())
G_DECLARE_FINAL_TYPE (TestHeldFile, test_held_file, TEST, HELD_FILE, GObject)

struct _TestHeldFile
{
  GObject        parent_instance;
  char          *name;
  guint64        size;
  GInputStream  *pipe_in;   /* read once, by the sender */
  GOutputStream *pipe_out;  /* the test's end */
};

static void test_held_file_iface_init (GFileIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TestHeldFile, test_held_file, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_FILE, test_held_file_iface_init))

static GFile *
test_held_file_dup (GFile *file)
{
  return g_object_ref (file);
}

static guint
test_held_file_hash (GFile *file)
{
  return g_direct_hash (file);
}

static gboolean
test_held_file_equal (GFile *a,
                      GFile *b)
{
  return a == b;
}

static gboolean
test_held_file_is_native (GFile *file)
{
  return FALSE;
}

static gboolean
test_held_file_has_uri_scheme (GFile      *file,
                               const char *scheme)
{
  return g_str_equal (scheme, "held");
}

static char *
test_held_file_get_uri_scheme (GFile *file)
{
  return g_strdup ("held");
}

static char *
test_held_file_get_basename (GFile *file)
{
  return g_strdup (TEST_HELD_FILE (file)->name);
}

static char *
test_held_file_get_path (GFile *file)
{
  return NULL;
}

static char *
test_held_file_get_uri (GFile *file)
{
  return g_strconcat ("held:///", TEST_HELD_FILE (file)->name, NULL);
}

static GFileInfo *
test_held_file_query_info (GFile                *file,
                           const char           *attributes,
                           GFileQueryInfoFlags   flags,
                           GCancellable         *cancellable,
                           GError              **error)
{
  TestHeldFile *self = TEST_HELD_FILE (file);
  GFileInfo *info = g_file_info_new ();

  g_file_info_set_file_type (info, G_FILE_TYPE_REGULAR);
  g_file_info_set_name (info, self->name);
  g_file_info_set_display_name (info, self->name);
  g_file_info_set_size (info, (goffset) self->size);
  g_file_info_set_content_type (info, "application/octet-stream");
  return info;
}

static GFileInputStream *
test_held_file_read (GFile         *file,
                     GCancellable  *cancellable,
                     GError       **error)
{
  TestHeldFile *self = TEST_HELD_FILE (file);
  TestHeldInput *input;

  if (self->pipe_in == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_BUSY, "a held file is read once");
      return NULL;
    }
  input = g_object_new (TEST_TYPE_HELD_INPUT, NULL);
  input->base = g_steal_pointer (&self->pipe_in);
  return G_FILE_INPUT_STREAM (input);
}

static void
test_held_file_iface_init (GFileIface *iface)
{
  iface->dup = test_held_file_dup;
  iface->hash = test_held_file_hash;
  iface->equal = test_held_file_equal;
  iface->is_native = test_held_file_is_native;
  iface->has_uri_scheme = test_held_file_has_uri_scheme;
  iface->get_uri_scheme = test_held_file_get_uri_scheme;
  iface->get_basename = test_held_file_get_basename;
  iface->get_path = test_held_file_get_path;
  iface->get_uri = test_held_file_get_uri;
  iface->get_parse_name = test_held_file_get_uri;
  iface->query_info = test_held_file_query_info;
  iface->read_fn = test_held_file_read;
}

static void
test_held_file_finalize (GObject *object)
{
  TestHeldFile *self = TEST_HELD_FILE (object);

  g_clear_object (&self->pipe_in);
  g_clear_object (&self->pipe_out);
  g_free (self->name);
  G_OBJECT_CLASS (test_held_file_parent_class)->finalize (object);
}

static void
test_held_file_class_init (TestHeldFileClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = test_held_file_finalize;
}

static void
test_held_file_init (TestHeldFile *self)
{
}

static TestHeldFile *
test_held_file_new (const char *name,
                    guint64     size)
{
  TestHeldFile *self = g_object_new (TEST_TYPE_HELD_FILE, NULL);
  g_autoptr(GError) error = NULL;
  int fds[2];

  g_assert_true (g_unix_open_pipe (fds, FD_CLOEXEC, &error));
  g_assert_no_error (error);
  /* The test writes asynchronously, never blocking its main context. */
  g_assert_true (g_unix_set_fd_nonblocking (fds[1], TRUE, &error));
  g_assert_no_error (error);
  self->name = g_strdup (name);
  self->size = size;
  self->pipe_in = g_unix_input_stream_new (fds[0], TRUE);
  self->pipe_out = g_unix_output_stream_new (fds[1], TRUE);
  return self;
}

/* Ends the file early: a sender still reading sees the end of the pipe. */
static void
test_held_file_close (TestHeldFile *self)
{
  g_output_stream_close (self->pipe_out, NULL, NULL);
}

/* Engines {{{1 */

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
  TestHeldFile  *held;
  /* Feeding the held file, a chunk at a time, while feeding is set. */
  GCancellable  *feed_cancellable;
  guint8        *feed_chunk;
  gboolean       feeding;
  gboolean       feed_pending;
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

static gboolean
feed_idle (gpointer user_data)
{
  return !((Fixture *) user_data)->feed_pending;
}

static void feed_next (Fixture *fixture);

static void
feed_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Fixture *fixture = user_data;

  fixture->feed_pending = FALSE;
  /* Cancelled, or the sender closed the file: feeding ends. */
  if (g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, NULL) &&
      fixture->feeding)
    feed_next (fixture);
}

#define FEED_CHUNK (256 * 1024)

/* Gives the held file more bytes, as long as the sender reads them. */
static void
feed_next (Fixture *fixture)
{
  if (fixture->feed_chunk == NULL)
    fixture->feed_chunk = g_malloc0 (FEED_CHUNK);
  if (fixture->feed_cancellable == NULL)
    fixture->feed_cancellable = g_cancellable_new ();
  fixture->feed_pending = TRUE;
  g_output_stream_write_all_async (fixture->held->pipe_out, fixture->feed_chunk, FEED_CHUNK,
                                   G_PRIORITY_DEFAULT, fixture->feed_cancellable, feed_cb, fixture);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  g_clear_object (&fixture->incoming);
  /* Nothing may stay blocked on it while the engines stop. */
  if (fixture->held != NULL)
    {
      fixture->feeding = FALSE;
      g_cancellable_cancel (fixture->feed_cancellable);
      ferry_test_wait_until (feed_idle, fixture, 10000, "the feeding to stop");
      test_held_file_close (fixture->held);
    }
  g_clear_object (&fixture->held);
  g_clear_object (&fixture->feed_cancellable);
  g_clear_pointer (&fixture->feed_chunk, g_free);
  if (fixture->a != NULL)
    ferry_engine_stop (fixture->a);
  if (fixture->b != NULL)
    ferry_engine_stop (fixture->b);
  g_clear_object (&fixture->a);
  g_clear_object (&fixture->b);
  g_free (fixture->download);
  g_free (fixture->dir);
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

static gboolean
task_done (gpointer user_data)
{
  return g_task_get_completed (G_TASK (user_data));
}

static FerryPeer *
find_peer (FerryEngine  *engine,
           const char   *query,
           guint         timeout_ms,
           GError      **error)
{
  g_autoptr(GTask) out = g_task_new (NULL, NULL, NULL, NULL);

  ferry_engine_find_peer_async (engine, query, timeout_ms, NULL, find_peer_cb, g_object_ref (out));
  ferry_test_wait_until (task_done, out, timeout_ms + 5000, "find_peer to answer");
  return g_task_propagate_pointer (out, error);
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

  peer = find_peer (fixture->a, prefix, 10000, &error);
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

  bob = find_peer (fixture->a, "bob", 10000, &error);
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

    alice = find_peer (fixture->b, prefix, 10000, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (ferry_peer_get_name (alice), ==, "alice");
  }

  nobody = find_peer (fixture->a, "0123456789abcdef", 600, &error);
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

static void
fed_cb (GObject      *source,
        GAsyncResult *result,
        gpointer      user_data)
{
  gboolean *fed = user_data;
  g_autoptr(GError) error = NULL;

  g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error);
  g_assert_no_error (error);
  *fed = TRUE;
}

static gboolean
flag_set (gpointer user_data)
{
  return *(gboolean *) user_data;
}

#define CANCEL_SIZE ((guint64) 128 * 1024 * 1024)
#define CANCEL_FED  (1024 * 1024)

static void
run_cancel (Fixture  *fixture,
            gboolean  by_sender)
{
  g_autoptr(FerryTransfer) transfer = NULL;
  g_autofree char *listing = NULL;
  g_autofree guint8 *first = g_malloc (CANCEL_FED);
  FerryTransfer *canceller, *other;
  gboolean fed = FALSE;
  GFile *file;

  /* The sender gets the first MiB of 128 and no more: when the first bytes
   * arrive, the transfer is running, and stays so until cancelled,
   * however fast or slow the machine. */
  fixture->held = test_held_file_new ("big.bin", CANCEL_SIZE);
  file = G_FILE (fixture->held);
  for (gsize i = 0; i < CANCEL_FED; i++)
    first[i] = (guint8) g_test_rand_int ();
  g_output_stream_write_all_async (fixture->held->pipe_out, first, CANCEL_FED, G_PRIORITY_DEFAULT,
                                   NULL, fed_cb, &fed);
  transfer = start_send_files (fixture, &file, 1);
  ferry_test_wait_until (flag_set, &fed, 20000, "the sender to read the first MiB");
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
    {
      fixture->feeding = TRUE;
      feed_next (fixture);
    }

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

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  /* A held file's pipe whose reader went away is an error, not a signal. */
  signal (SIGPIPE, SIG_IGN);

  g_test_add ("/engine/discovery", Fixture, NULL, fixture_set_up, test_discovery, fixture_tear_down);
  g_test_add ("/engine/transfer", Fixture, NULL, fixture_set_up, test_transfer, fixture_tear_down);
  g_test_add ("/engine/reject", Fixture, NULL, fixture_set_up, test_reject, fixture_tear_down);
  g_test_add ("/engine/cancel-by-sender", Fixture, NULL, fixture_set_up, test_cancel_by_sender, fixture_tear_down);
  g_test_add ("/engine/cancel-by-receiver", Fixture, NULL, fixture_set_up, test_cancel_by_receiver, fixture_tear_down);

  return g_test_run ();
}
