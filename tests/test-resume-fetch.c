/* test-resume-fetch.c: what `ferry fetch` checks when it asks for a cut
 * transfer again, with real `ferry` processes: a tampered .part, files
 * verified before the cut (unchanged or edited), a stranger's request, a
 * changed source file
 *
 * The processes are driven by test-resume-common.c.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <utime.h>

#include <glib/gstdio.h>

#include "test-resume-common.h"

static void
test_tampered_part (Fixture       *fx,
                    gconstpointer  data)
{
  Interrupted it = { 0, };
  g_autoptr(GPtrArray) history = NULL;
  g_autofree char *final = NULL;
  JsonObject *error, *record;
  Proc *fetch;

  interrupt_transfer (fx, &it);

  /* Change one byte of what the receiver holds. */
  {
    g_autofree char *contents = NULL;
    gsize len;

    g_assert_true (g_file_get_contents (it.part, &contents, &len, NULL));
    g_assert_cmpuint (len, ==, it.part_bytes);
    contents[len / 2] ^= 0x5a;
    g_assert_true (g_file_set_contents (it.part, contents, len, NULL));
  }

  start_sender_again (fx, &it);
  fetch = fetch_again (fx, &it);

  /* The resumed file did not verify: never kept, fetched whole. */
  error = proc_find (fetch, "error", 0);
  g_assert_nonnull (error);
  g_assert_cmpstr (json_object_get_string_member (error, "code"), ==, "hash-mismatch");
  g_assert_nonnull (proc_find (fetch, "offer", 1));
  g_assert_nonnull (proc_find (fetch, "done", 0));
  g_assert_null (proc_find (fetch, "done", 1));
  g_assert_null (proc_find (fetch, "error", 1));

  final = g_build_filename (it.download, "big.bin", NULL);
  g_assert_true (ferry_test_files_equal (it.source, final));
  {
    g_autofree char *listing = ferry_test_list_dir (it.download);

    g_assert_cmpstr (listing, ==, "big.bin");
  }
  history = history_of (fx, it.recv_home);
  record = g_ptr_array_index (history, 0);
  g_assert_cmpstr (json_object_get_string_member (record, "state"), ==, "finished");
  g_assert_cmpint (json_object_get_int_member (record, "moved"), ==, BIG_SIZE);

  interrupted_clear (&it);
}

static void
test_stranger_refused (Fixture       *fx,
                       gconstpointer  data)
{
  Interrupted it = { 0, };
  g_autofree char *stranger = NULL;
  g_autofree char *record_name = NULL;
  g_autofree char *from = NULL;
  g_autofree char *to = NULL;
  g_autofree char *contents = NULL;
  g_autoptr(GPtrArray) before = NULL;
  g_autoptr(GPtrArray) after = NULL;
  JsonObject *error;
  Proc *fetch;
  gsize len;

  interrupt_transfer (fx, &it);
  before = history_of (fx, it.send_home);

  /* A device of another account that somehow knows the transfer id and
   * holds the receiver's record. */
  stranger = make_home (fx, "stranger");
  g_free (account_of (fx, stranger));
  record_name = g_strconcat (it.id, ".json", NULL);
  from = g_build_filename (it.recv_home, "history", record_name, NULL);
  to = g_build_filename (stranger, "history", NULL);
  g_assert_cmpint (g_mkdir_with_parents (to, 0700), ==, 0);
  g_free (to);
  to = g_build_filename (stranger, "history", record_name, NULL);
  g_assert_true (g_file_get_contents (from, &contents, &len, NULL));
  g_assert_true (g_file_set_contents (to, contents, len, NULL));

  start_sender_again (fx, &it);
  fetch = proc_spawn (fx, "stranger fetch", "--home", stranger, "--interface", "lo", "--json",
                      "fetch", "--timeout", "20", it.id, NULL);
  g_assert_cmpint (proc_wait_exit (fetch), ==, 1);
  error = proc_find (fetch, "error", 0);
  g_assert_nonnull (error);
  g_assert_cmpstr (json_object_get_string_member (error, "code"), ==, "rejected");
  g_assert_nonnull (strstr (json_object_get_string_member (error, "message"), "not sent to this account"));
  g_assert_null (proc_find (fetch, "offer", 0));

  /* Nothing was sent: the sender recorded no new transfer. */
  after = history_of (fx, it.send_home);
  g_assert_cmpuint (after->len, ==, before->len);

  interrupted_clear (&it);
}

static void
test_changed_file_refused (Fixture       *fx,
                           gconstpointer  data)
{
  Interrupted it = { 0, };
  JsonObject *error;
  Proc *fetch;
  GStatBuf st;

  interrupt_transfer (fx, &it);

  /* Same size, other content, another modification time. */
  g_assert_cmpint (g_stat (it.source, &st), ==, 0);
  ferry_test_write_random (it.source, BIG_SIZE, 43);
  {
    struct utimbuf times = { st.st_atime, st.st_mtime + 10 };

    g_assert_cmpint (g_utime (it.source, &times), ==, 0);
  }

  start_sender_again (fx, &it);
  fetch = proc_spawn (fx, "fetch", "--home", it.recv_home, "--interface", "lo", "--json",
                      "fetch", "--timeout", "20", it.id, NULL);
  g_assert_cmpint (proc_wait_exit (fetch), ==, 1);
  error = proc_find (fetch, "error", 0);
  g_assert_nonnull (error);
  g_assert_cmpstr (json_object_get_string_member (error, "code"), ==, "rejected");
  g_assert_nonnull (strstr (json_object_get_string_member (error, "message"), "changed"));
  /* The .part stays for a later try. */
  g_assert_true (g_file_test (it.part, G_FILE_TEST_IS_REGULAR));

  interrupted_clear (&it);
}

/* A file verified before the transfer was cut. Unchanged, a fetch takes
 * it as it is (its digest known from the check: not hashed twice) and
 * resumes the other. Changed on the receiver (@edit), a fetch receives it
 * whole again under a new name and leaves the changed one as it is,
 * instead of failing on its digest. */
static void
run_verified (Fixture  *fx,
              gboolean  edit)
{
  Interrupted it = { 0, };
  g_autofree char *account = NULL;
  g_autofree char *prefix = NULL;
  g_autofree char *notes = g_build_filename (fx->dir, "notes.txt", NULL);
  g_autofree char *edited = g_build_filename (fx->dir, "edited.txt", NULL);
  g_autofree char *received = NULL;
  g_autofree char *again = NULL;
  g_autofree char *final = NULL;
  g_autofree char *contents = NULL;
  g_autoptr(GPtrArray) history = NULL;
  g_autoptr(GPtrArray) after = NULL;
  JsonObject *record;
  ProgressWait wait;
  Proc *receiver, *sender, *fetch;
  gsize length;

  it.recv_home = make_home (fx, "receiver");
  it.send_home = make_home (fx, "sender");
  it.download = g_build_filename (fx->dir, "download", NULL);
  g_assert_cmpint (g_mkdir_with_parents (it.download, 0700), ==, 0);
  it.source = g_build_filename (fx->dir, "big.bin", NULL);
  ferry_test_write_random (it.source, BIG_SIZE, 42);
  ferry_test_write_random (notes, 64 * 1024, 5);
  ferry_test_write_random (edited, 64 * 1024, 6);
  account = account_of (fx, it.recv_home);
  prefix = g_strndup (account, 12);

  receiver = proc_spawn (fx, "receiver", "--home", it.recv_home, "--interface", "lo", "--json",
                         "receive", "--yes", "--once", "--dir", it.download, NULL);
  proc_wait_event (receiver, "ready");
  sender = proc_spawn (fx, "sender", "--home", it.send_home, "--interface", "lo", "--json",
                       "send", "--limit-rate", CUT_RATE, "--to", prefix, notes, it.source, NULL);
  wait.p = receiver;
  wait.bytes = 64 * 1024 + BIG_SIZE / 3;
  ferry_test_wait_until (progress_reached, &wait, WAIT_MS, "the first file and a third of the second");
  g_assert_false (receiver->out_eof);
  g_subprocess_send_signal (sender->process, SIGKILL);
  g_assert_cmpint (proc_wait_exit (sender), ==, 128 + SIGKILL);
  g_assert_cmpint (proc_wait_exit (receiver), ==, 1);

  /* the first file is verified, and recorded with its digest */
  history = history_of (fx, it.recv_home);
  record = g_ptr_array_index (history, 0);
  g_assert_cmpstr (json_object_get_string_member (file_entry (record, 0), "done"), ==, "notes.txt");
  g_assert_true (json_object_has_member (file_entry (record, 0), "sha3-256"));
  g_assert_cmpstr (json_object_get_string_member (file_entry (record, 1), "part"), ==, "big.bin.part");
  it.id = g_strdup (json_object_get_string_member (record, "id"));

  /* the user edits it: same size, other bytes */
  received = g_build_filename (it.download, "notes.txt", NULL);
  if (edit)
    {
      g_assert_true (g_file_get_contents (edited, &contents, &length, NULL));
      g_assert_true (g_file_set_contents (received, contents, length, NULL));
    }

  start_sender_again (fx, &it);
  fetch = fetch_again (fx, &it);
  /* in one go: no digest that failed, no second offer */
  g_assert_null (proc_find (fetch, "error", 0));
  g_assert_null (proc_find (fetch, "offer", 1));
  g_assert_nonnull (proc_find (fetch, "done", 0));

  final = g_build_filename (it.download, "big.bin", NULL);
  g_assert_true (ferry_test_files_equal (it.source, final));
  if (edit)
    {
      g_autofree char *listing = ferry_test_list_dir (it.download);

      /* the user's version stays, the sent one lands beside it */
      g_assert_true (ferry_test_files_equal (edited, received));
      again = g_build_filename (it.download, "notes (1).txt", NULL);
      g_assert_true (ferry_test_files_equal (notes, again));
      g_assert_cmpstr (listing, ==, "big.bin|notes (1).txt|notes.txt");
    }
  else
    {
      g_autofree char *listing = ferry_test_list_dir (it.download);

      g_assert_true (ferry_test_files_equal (notes, received));
      g_assert_cmpstr (listing, ==, "big.bin|notes.txt");
    }
  after = history_of (fx, it.recv_home);
  record = g_ptr_array_index (after, 0);
  g_assert_cmpstr (json_object_get_string_member (record, "state"), ==, "finished");
  /* the big file resumed: less than both whole */
  g_assert_cmpint (json_object_get_int_member (record, "moved"), <, BIG_SIZE);

  interrupted_clear (&it);
}

static void
test_unchanged_verified (Fixture       *fx,
                         gconstpointer  data)
{
  run_verified (fx, FALSE);
}

static void
test_changed_verified (Fixture       *fx,
                       gconstpointer  data)
{
  run_verified (fx, TRUE);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add ("/resume/tampered-part", Fixture, NULL, fixture_set_up, test_tampered_part, fixture_tear_down);
  g_test_add ("/resume/unchanged-verified", Fixture, NULL, fixture_set_up, test_unchanged_verified,
              fixture_tear_down);
  g_test_add ("/resume/changed-verified", Fixture, NULL, fixture_set_up, test_changed_verified, fixture_tear_down);
  g_test_add ("/resume/stranger-refused", Fixture, NULL, fixture_set_up, test_stranger_refused, fixture_tear_down);
  g_test_add ("/resume/changed-file-refused", Fixture, NULL, fixture_set_up, test_changed_file_refused, fixture_tear_down);

  return g_test_run ();
}
