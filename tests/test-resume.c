/* test-resume.c: transfers cut half way, with real `ferry` processes:
 * the sender killed, the receiver killed, the link frozen (each resumed
 * by `ferry fetch`), the receiver frozen
 *
 * A sender or receiver is killed with SIGKILL (or stopped with SIGSTOP)
 * in the middle of a transfer; the receiver keeps the .part and records
 * it; `ferry fetch` asks again and resumes. The processes are driven by
 * test-resume-common.c.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <signal.h>
#include <string.h>

#include <glib/gstdio.h>

#include "test-resume-common.h"

static void
test_sender_killed (Fixture       *fx,
                    gconstpointer  data)
{
  Interrupted it = { 0, };
  g_autoptr(GPtrArray) history = NULL;
  g_autoptr(GPtrArray) sent = NULL;
  g_autofree char *final = NULL;
  JsonObject *record, *done;
  gint64 moved;
  Proc *fetch;

  interrupt_transfer (fx, &it);
  start_sender_again (fx, &it);

  fetch = fetch_again (fx, &it);
  done = proc_find (fetch, "done", 0);
  g_assert_nonnull (done);
  g_assert_cmpstr (json_object_get_string_member (done, "transfer"), ==, it.id);
  g_assert_null (proc_find (fetch, "error", 0));

  final = g_build_filename (it.download, "big.bin", NULL);
  g_assert_true (ferry_test_files_equal (it.source, final));
  {
    g_autofree char *listing = ferry_test_list_dir (it.download);

    g_assert_cmpstr (listing, ==, "big.bin");
  }

  /* Only the missing part crossed the network (asserted on both sides). */
  history = history_of (fx, it.recv_home);
  record = g_ptr_array_index (history, 0);
  g_assert_cmpstr (json_object_get_string_member (record, "id"), ==, it.id);
  g_assert_cmpstr (json_object_get_string_member (record, "state"), ==, "finished");
  moved = json_object_get_int_member (record, "moved");
  g_test_message ("kept %" G_GUINT64_FORMAT " bytes, moved %" G_GINT64_FORMAT " of %d on resume",
                  it.part_bytes, moved, BIG_SIZE);
  g_assert_cmpint (moved, >=, (gint64) (BIG_SIZE - it.part_bytes));
  g_assert_cmpint (moved, <=, (gint64) (BIG_SIZE - it.part_bytes + SEND_CHUNK));
  g_assert_false (json_object_has_member (file_entry (record, 0), "part"));
  g_assert_cmpstr (json_object_get_string_member (file_entry (record, 0), "path"), ==, final);

  sent = history_of (fx, it.send_home);
  g_assert_cmpuint (sent->len, ==, 2);
  record = g_ptr_array_index (sent, 0);   /* the re-send */
  g_assert_cmpstr (json_object_get_string_member (record, "direction"), ==, "outgoing");
  g_assert_cmpstr (json_object_get_string_member (record, "state"), ==, "finished");
  g_assert_cmpstr (json_object_get_string_member (record, "resend-of"), ==,
                   json_object_get_string_member (g_ptr_array_index (sent, 1), "id"));
  g_assert_cmpint (json_object_get_int_member (record, "moved"), ==, moved);
  g_assert_cmpstr (json_object_get_string_member (file_entry (record, 0), "sha3-256"), ==,
                   json_object_get_string_member (json_array_get_object_element (json_object_get_array_member (done, "files"), 0),
                                                  "sha3-256"));

  interrupted_clear (&it);
}

/* The receiver dies instead: the record it wrote while receiving names
 * the .part, and a new process resumes from it. */
static void
test_receiver_killed (Fixture       *fx,
                      gconstpointer  data)
{
  g_autofree char *recv_home = make_home (fx, "receiver");
  g_autofree char *send_home = make_home (fx, "sender");
  g_autofree char *download = g_build_filename (fx->dir, "download", NULL);
  g_autofree char *source = g_build_filename (fx->dir, "big.bin", NULL);
  g_autofree char *part = NULL;
  g_autofree char *final = NULL;
  g_autofree char *account = NULL;
  g_autofree char *prefix = NULL;
  g_autofree char *id = NULL;
  g_autoptr(GPtrArray) history = NULL;
  g_autoptr(GPtrArray) after = NULL;
  Interrupted it = { 0, };
  JsonObject *record;
  ProgressWait wait;
  Proc *receiver, *sender, *fetch;
  GStatBuf st;
  guint64 kept;
  gint64 moved;

  g_assert_cmpint (g_mkdir_with_parents (download, 0700), ==, 0);
  ferry_test_write_random (source, BIG_SIZE, 7);
  part = g_build_filename (download, "big.bin.part", NULL);
  account = account_of (fx, recv_home);
  prefix = g_strndup (account, 12);
  receiver = proc_spawn (fx, "receiver", "--home", recv_home, "--interface", "lo", "--json",
                         "receive", "--yes", "--once", "--dir", download, NULL);
  proc_wait_event (receiver, "ready");
  sender = proc_spawn (fx, "sender", "--home", send_home, "--interface", "lo", "--json",
                       "send", "--limit-rate", CUT_RATE, "--to", prefix, source, NULL);
  wait.p = receiver;
  wait.bytes = BIG_SIZE / 3;
  ferry_test_wait_until (progress_reached, &wait, WAIT_MS, "a third of the file to arrive");
  g_assert_false (receiver->out_eof);
  g_subprocess_send_signal (receiver->process, SIGKILL);
  g_assert_cmpint (proc_wait_exit (receiver), ==, 128 + SIGKILL);
  g_assert_cmpint (proc_wait_exit (sender), ==, 1);
  /* the sender sees a peer that vanished, not a TLS protocol error */
  g_assert_nonnull (proc_find (sender, "error", 0));
  g_assert_cmpstr (json_object_get_string_member (proc_find (sender, "error", 0), "code"), ==,
                   "peer-vanished");

  g_assert_cmpint (g_stat (part, &st), ==, 0);
  kept = (guint64) st.st_size;
  g_assert_cmpuint (kept, >, 0);
  g_assert_cmpuint (kept, <, BIG_SIZE);
  history = history_of (fx, recv_home);
  record = g_ptr_array_index (history, 0);
  /* Still "ongoing": the process died without a word. */
  g_assert_cmpstr (json_object_get_string_member (record, "state"), ==, "ongoing");
  g_assert_cmpstr (json_object_get_string_member (file_entry (record, 0), "part"), ==, "big.bin.part");
  id = g_strdup (json_object_get_string_member (record, "id"));

  it.send_home = g_strdup (send_home);
  start_sender_again (fx, &it);
  fetch = proc_spawn (fx, "fetch", "--home", recv_home, "--interface", "lo", "--json",
                      "fetch", id, NULL);
  g_assert_cmpint (proc_wait_exit (fetch), ==, 0);
  final = g_build_filename (download, "big.bin", NULL);
  g_assert_true (ferry_test_files_equal (source, final));
  g_assert_false (g_file_test (part, G_FILE_TEST_EXISTS));

  after = history_of (fx, recv_home);
  record = g_ptr_array_index (after, 0);
  g_assert_cmpstr (json_object_get_string_member (record, "state"), ==, "finished");
  moved = json_object_get_int_member (record, "moved");
  g_test_message ("receiver killed: kept %" G_GUINT64_FORMAT " bytes, moved %" G_GINT64_FORMAT
                  " of %d on resume", kept, moved, BIG_SIZE);
  g_assert_cmpint (moved, >=, (gint64) (BIG_SIZE - kept));
  g_assert_cmpint (moved, <=, (gint64) (BIG_SIZE - kept + SEND_CHUNK));

  interrupted_clear (&it);
}

/* The link goes silent (the sender stopped, nothing closed): the receiver
 * gives up after its stall timeout, keeps the .part, and a fetch resumes. */
static void
test_link_cut (Fixture       *fx,
               gconstpointer  data)
{
  g_autofree char *recv_home = make_home_with (fx, "receiver", "stall-timeout=2\n");
  g_autofree char *send_home = make_home (fx, "sender");
  g_autofree char *download = g_build_filename (fx->dir, "download", NULL);
  g_autofree char *source = g_build_filename (fx->dir, "big.bin", NULL);
  g_autofree char *part = NULL;
  g_autofree char *final = NULL;
  g_autofree char *account = NULL;
  g_autofree char *prefix = NULL;
  g_autofree char *id = NULL;
  g_autoptr(GPtrArray) history = NULL;
  g_autoptr(GPtrArray) after = NULL;
  Interrupted it = { 0, };
  JsonObject *record, *error;
  ProgressWait wait;
  Proc *receiver, *sender, *fetch;
  GStatBuf st;
  guint64 kept;
  gint64 moved;

  g_assert_cmpint (g_mkdir_with_parents (download, 0700), ==, 0);
  ferry_test_write_random (source, BIG_SIZE, 9);
  part = g_build_filename (download, "big.bin.part", NULL);
  account = account_of (fx, recv_home);
  prefix = g_strndup (account, 12);
  receiver = proc_spawn (fx, "receiver", "--home", recv_home, "--interface", "lo", "--json",
                         "receive", "--yes", "--once", "--dir", download, NULL);
  proc_wait_event (receiver, "ready");
  sender = proc_spawn (fx, "sender", "--home", send_home, "--interface", "lo", "--json",
                       "send", "--limit-rate", CUT_RATE, "--to", prefix, source, NULL);
  wait.p = receiver;
  wait.bytes = BIG_SIZE / 3;
  ferry_test_wait_until (progress_reached, &wait, WAIT_MS, "a third of the file to arrive");
  g_assert_false (receiver->out_eof);
  /* Frozen: its socket stays open, no data and no end comes. */
  g_subprocess_send_signal (sender->process, SIGSTOP);

  g_assert_cmpint (proc_wait_exit (receiver), ==, 1);
  error = proc_find (receiver, "error", 0);
  g_assert_nonnull (error);
  g_assert_cmpstr (json_object_get_string_member (error, "code"), ==, "timeout");
  /* Back, the sender learns why: the receiver stopped waiting. */
  g_subprocess_send_signal (sender->process, SIGCONT);
  g_assert_cmpint (proc_wait_exit (sender), ==, 1);
  error = proc_find (sender, "error", 0);
  g_assert_nonnull (error);
  g_test_message ("sender: %s", json_object_get_string_member (error, "message"));
  g_assert_cmpstr (json_object_get_string_member (error, "code"), ==, "cancelled-by-peer");
  g_assert_nonnull (strstr (json_object_get_string_member (error, "message"), "stopped waiting"));

  g_assert_cmpint (g_stat (part, &st), ==, 0);
  kept = (guint64) st.st_size;
  g_assert_cmpuint (kept, >=, BIG_SIZE / 3);
  g_assert_cmpuint (kept, <, BIG_SIZE);
  history = history_of (fx, recv_home);
  record = g_ptr_array_index (history, 0);
  g_assert_cmpstr (json_object_get_string_member (record, "state"), ==, "timeout-expired");
  g_assert_cmpint (json_object_get_int_member (file_entry (record, 0), "part-bytes"), ==, (gint64) kept);
  id = g_strdup (json_object_get_string_member (record, "id"));

  it.send_home = g_strdup (send_home);
  start_sender_again (fx, &it);
  fetch = proc_spawn (fx, "fetch", "--home", recv_home, "--interface", "lo", "--json",
                      "fetch", id, NULL);
  g_assert_cmpint (proc_wait_exit (fetch), ==, 0);
  final = g_build_filename (download, "big.bin", NULL);
  g_assert_true (ferry_test_files_equal (source, final));

  after = history_of (fx, recv_home);
  record = g_ptr_array_index (after, 0);
  moved = json_object_get_int_member (record, "moved");
  g_test_message ("link cut: kept %" G_GUINT64_FORMAT " bytes, moved %" G_GINT64_FORMAT
                  " of %d on resume", kept, moved, BIG_SIZE);
  g_assert_cmpint (moved, >=, (gint64) (BIG_SIZE - kept));
  g_assert_cmpint (moved, <=, (gint64) (BIG_SIZE - kept + SEND_CHUNK));

  interrupted_clear (&it);
}

/* The other way round: the receiver freezes; the sender gives up after its
 * stall timeout instead of waiting for ever. */
static void
test_receiver_frozen (Fixture       *fx,
                      gconstpointer  data)
{
  g_autofree char *recv_home = make_home (fx, "receiver");
  g_autofree char *send_home = make_home_with (fx, "sender", "stall-timeout=2\n");
  g_autofree char *download = g_build_filename (fx->dir, "download", NULL);
  g_autofree char *source = g_build_filename (fx->dir, "big.bin", NULL);
  g_autofree char *account = NULL;
  g_autofree char *prefix = NULL;
  JsonObject *error;
  ProgressWait wait;
  Proc *receiver, *sender;

  g_assert_cmpint (g_mkdir_with_parents (download, 0700), ==, 0);
  ferry_test_write_random (source, BIG_SIZE, 11);
  account = account_of (fx, recv_home);
  prefix = g_strndup (account, 12);
  receiver = proc_spawn (fx, "receiver", "--home", recv_home, "--interface", "lo", "--json",
                         "receive", "--yes", "--once", "--dir", download, NULL);
  proc_wait_event (receiver, "ready");
  sender = proc_spawn (fx, "sender", "--home", send_home, "--interface", "lo", "--json",
                       "send", "--limit-rate", CUT_RATE, "--to", prefix, source, NULL);
  wait.p = receiver;
  wait.bytes = BIG_SIZE / 3;
  ferry_test_wait_until (progress_reached, &wait, WAIT_MS, "a third of the file to arrive");
  g_subprocess_send_signal (receiver->process, SIGSTOP);

  g_assert_cmpint (proc_wait_exit (sender), ==, 1);
  error = proc_find (sender, "error", 0);
  g_assert_nonnull (error);
  g_assert_cmpstr (json_object_get_string_member (error, "code"), ==, "timeout");
  g_assert_null (proc_find (sender, "done", 0));

  g_subprocess_send_signal (receiver->process, SIGKILL);
  proc_wait_exit (receiver);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add ("/resume/sender-killed", Fixture, NULL, fixture_set_up, test_sender_killed, fixture_tear_down);
  g_test_add ("/resume/receiver-killed", Fixture, NULL, fixture_set_up, test_receiver_killed, fixture_tear_down);
  g_test_add ("/resume/link-cut", Fixture, NULL, fixture_set_up, test_link_cut, fixture_tear_down);
  g_test_add ("/resume/receiver-frozen", Fixture, NULL, fixture_set_up, test_receiver_frozen, fixture_tear_down);

  return g_test_run ();
}
