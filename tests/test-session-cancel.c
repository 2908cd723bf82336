/* test-session-cancel.c: a transfer over real loopback TCP stopped half
 * way, by either side or by a cancellable, and peers that stop reading or
 * writing (hand-made frames): cancelling still ends in time, and a stall
 * timeout tells the other side why.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "ferry-error.h"
#include "test-session-common.h"

static void
test_cancel_by_sender (Fixture       *fx,
                       gconstpointer  data)
{
  g_autoptr(GPtrArray) files = file_list ();
  g_autofree char *path = g_build_filename (fx->src, "huge.iso", NULL);
  g_autofree char *listing = NULL;
  Run run = { 0 };

  write_sparse_file (path, 256 * MIB);
  g_ptr_array_add (files, source_file (fx, "huge.iso"));

  run.cancel_sender_midway = TRUE;
  run_transfer (fx, &run, files);

  g_assert_true (run.cancelled);
  g_assert_error (run.send_error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_error (run.recv_error, FERRY_ERROR, FERRY_ERROR_CANCELLED_BY_PEER);
  g_assert_nonnull (strstr (run.recv_error->message, "changed my mind"));
  g_assert_cmpuint (run.recv_progress_last, <, 256 * MIB);

  /* no .part, no final file */
  listing = ferry_test_list_dir (fx->down);
  g_assert_cmpstr (listing, ==, "");

  run_clear (&run);
}

static void
test_cancel_by_cancellable (Fixture       *fx,
                            gconstpointer  data)
{
  g_autoptr(GPtrArray) files = file_list ();
  g_autofree char *path = g_build_filename (fx->src, "huge.iso", NULL);
  g_autofree char *listing = NULL;
  Run run = { 0 };

  write_sparse_file (path, 256 * MIB);
  g_ptr_array_add (files, source_file (fx, "huge.iso"));

  run.cancel_sender_cancellable_midway = TRUE;
  run_transfer (fx, &run, files);

  g_assert_true (run.cancelled);
  g_assert_error (run.send_error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_error (run.recv_error, FERRY_ERROR, FERRY_ERROR_CANCELLED_BY_PEER);

  listing = ferry_test_list_dir (fx->down);
  g_assert_cmpstr (listing, ==, "");

  run_clear (&run);
}

static void
test_cancel_by_receiver (Fixture       *fx,
                         gconstpointer  data)
{
  g_autoptr(GPtrArray) files = file_list ();
  g_autofree char *small = g_build_filename (fx->src, "small.txt", NULL);
  g_autofree char *path = g_build_filename (fx->src, "huge.iso", NULL);
  g_autofree char *listing = NULL;
  Run run = { 0 };

  g_assert_true (g_file_set_contents (small, "small", -1, NULL));
  write_sparse_file (path, 256 * MIB);
  g_ptr_array_add (files, source_file (fx, "small.txt"));
  g_ptr_array_add (files, source_file (fx, "huge.iso"));

  run.cancel_receiver_midway = TRUE;
  run.cancel_after = MIB;
  run_transfer (fx, &run, files);

  g_assert_true (run.cancelled);
  g_assert_error (run.recv_error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_error (run.send_error, FERRY_ERROR, FERRY_ERROR_CANCELLED_BY_PEER);
  g_assert_nonnull (strstr (run.send_error->message, "no thanks"));

  /* the first file was verified before the cancel and stays */
  listing = ferry_test_list_dir (fx->down);
  g_assert_cmpstr (listing, ==, "small.txt");
  g_assert_nonnull (((FerrySessionFile *) g_ptr_array_index (run.recv_files, 0))->destination);
  g_assert_null (((FerrySessionFile *) g_ptr_array_index (run.recv_files, 1))->destination);
  g_assert_null (((FerrySessionFile *) g_ptr_array_index (run.recv_files, 1))->part_name);

  run_clear (&run);
}

static void
rscript_stop_reading (Peer *peer)
{
  peer_expect (peer, "header");
  peer_write_control (peer, "{\"type\":\"accept\"}");
  peer_wait_release (peer);
}

static void
cancel_on_progress_cb (FerrySession *session,
                       guint64       bytes,
                       guint64       total,
                       gpointer      data)
{
  assert_main_thread ();
  if (bytes > 0)
    _ferry_session_cancel (session, "taking too long");
}

static void
test_cancel_stalled_receiver (Fixture       *fx,
                              gconstpointer  data)
{
  g_autoptr(GIOStream) ours = NULL;
  g_autoptr(GIOStream) theirs = NULL;
  g_autoptr(GPtrArray) files = file_list ();
  g_autofree char *path = g_build_filename (fx->src, "huge.iso", NULL);
  g_autofree char *seen = NULL;
  Run run = { 0 };
  Peer *peer;

  write_sparse_file (path, 256 * MIB);
  g_ptr_array_add (files, source_file (fx, "huge.iso"));

  ferry_test_socket_pair (&ours, &theirs);
  run.sender = test_session_new (ours);
  g_signal_connect (run.sender, "progress", G_CALLBACK (cancel_on_progress_cb), NULL);
  peer = peer_start (theirs, rscript_stop_reading, NULL);

  /* The sender's write blocks for good: the cancel frame cannot go out
   * and the operation ends when the termination deadline expires. */
  _ferry_session_send_async (run.sender, "0123456789abcdef", files, NULL, send_cb, &run);
  ferry_test_wait_flag (&run.send_done, TIMEOUT_SECONDS * 1000);
  g_assert_error (run.send_error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  seen = peer_join (peer);
  g_assert_true (g_str_has_prefix (seen, "header"));

  run_clear (&run);
}

static void
script_stop_writing (Peer *peer)
{
  peer_write_control (peer, HEADER_ONE ("slow.bin", 1000));
  peer_expect (peer, "accept");
  peer_write_data (peer, ten_bytes, 10);
  peer_wait_release (peer);
}

static void
test_cancel_stalled_sender (Fixture       *fx,
                            gconstpointer  data)
{
  g_autoptr(GIOStream) ours = NULL;
  g_autoptr(GIOStream) theirs = NULL;
  g_autofree char *seen = NULL;
  g_autofree char *listing = NULL;
  Run run = { 0 };
  Peer *peer;

  ferry_test_socket_pair (&ours, &theirs);
  run.receiver = test_session_new (ours);
  g_signal_connect (run.receiver, "progress", G_CALLBACK (cancel_on_progress_cb), NULL);
  peer = peer_start (theirs, script_stop_writing, NULL);

  _ferry_session_read_header_async (run.receiver, NULL, hostile_header_cb, &run);
  ferry_test_wait_flag (&run.header_done, TIMEOUT_SECONDS * 1000);
  g_assert_no_error (run.header_error);

  /* The receiver's read is interrupted at once; the cancel frame goes out,
   * but the peer never hangs up: the wait for it is bounded. */
  _ferry_session_receive_async (run.receiver, fx->down_file, NULL, receive_cb, &run);
  ferry_test_wait_flag (&run.recv_done, TIMEOUT_SECONDS * 1000);
  g_assert_error (run.recv_error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  listing = ferry_test_list_dir (fx->down);
  g_assert_cmpstr (listing, ==, "");

  seen = peer_join (peer);
  g_assert_cmpstr (seen, ==, "accept,cancel");

  run_clear (&run);
}

/* The sender goes silent: the receiver's stall timeout ends the transfer,
 * and the sender is told why before the connection closes. */
static void
script_silent_until_cancel (Peer *peer)
{
  char **reason = (char **) peer->data;
  g_autofree char *type = NULL;

  peer_write_control (peer, HEADER_ONE ("slow.bin", 1000));
  peer_expect (peer, "accept");
  peer_write_data (peer, ten_bytes, 10);
  type = peer_read (peer);
  peer_note (peer, type ? type : "end of stream");
  *reason = g_strdup (peer->last_reason);
}

static void
test_stall_timeout_told (Fixture       *fx,
                         gconstpointer  data)
{
  g_autoptr(GIOStream) ours = NULL;
  g_autoptr(GIOStream) theirs = NULL;
  g_autofree char *seen = NULL;
  g_autofree char *reason = NULL;
  g_autofree char *listing = NULL;
  Run run = { 0 };
  Peer *peer;

  ferry_test_socket_pair (&ours, &theirs);
  run.receiver = test_session_new (ours);
  _ferry_session_set_stall_timeout (run.receiver, 1);
  peer = peer_start (theirs, script_silent_until_cancel, &reason);

  _ferry_session_read_header_async (run.receiver, NULL, hostile_header_cb, &run);
  ferry_test_wait_flag (&run.header_done, TIMEOUT_SECONDS * 1000);
  g_assert_no_error (run.header_error);
  _ferry_session_receive_async (run.receiver, fx->down_file, NULL, receive_cb, &run);
  ferry_test_wait_flag (&run.recv_done, TIMEOUT_SECONDS * 1000);
  g_assert_error (run.recv_error, FERRY_ERROR, FERRY_ERROR_TIMEOUT);

  seen = peer_join (peer);
  g_assert_cmpstr (seen, ==, "accept,cancel");
  g_assert_cmpstr (reason, ==, "The receiver stopped waiting for data");
  listing = ferry_test_list_dir (fx->down);
  g_assert_cmpstr (listing, ==, "");

  run_clear (&run);
}

int
main (int    argc,
      char **argv)
{
  session_test_init (&argc, &argv);

  session_test_add ("/session/cancel/by-sender", test_cancel_by_sender, NULL);
  session_test_add ("/session/cancel/by-cancellable", test_cancel_by_cancellable, NULL);
  session_test_add ("/session/cancel/by-receiver", test_cancel_by_receiver, NULL);
  session_test_add ("/session/cancel/stalled-receiver", test_cancel_stalled_receiver, NULL);
  session_test_add ("/session/cancel/stalled-sender", test_cancel_stalled_sender, NULL);
  session_test_add ("/session/stall-timeout-told", test_stall_timeout_told, NULL);

  return g_test_run ();
}
