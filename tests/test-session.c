/* test-session.c: the session protocol over real loopback TCP between two
 * of our sessions: files received and verified, names that collide,
 * resumed files and shared hashes, a rejected offer, a sender whose source
 * changed or went missing, misuse of the API, thread groups, throughput.
 * Rate limits are in test-session-rate.c, cancels and stalls in
 * test-session-cancel.c, hostile peers in test-session-hostile.c.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "ferry-error.h"
#include "test-session-common.h"

static void
test_happy_path (Fixture       *fx,
                 gconstpointer  data)
{
  g_autoptr(GPtrArray) files = file_list ();
  g_autofree char *empty = g_build_filename (fx->src, "empty", NULL);
  g_autofree char *one = g_build_filename (fx->src, "one byte.txt", NULL);
  g_autofree char *big = g_build_filename (fx->src, "big.bin", NULL);
  g_autofree char *listing = NULL;
  const char *names[] = { "empty", "one byte.txt", "big.bin" };
  Run run = { 0 };

  g_assert_true (g_file_set_contents (empty, "", 0, NULL));
  g_assert_true (g_file_set_contents (one, "x", 1, NULL));
  ferry_test_write_random (big, 5 * MIB, 42);

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    g_ptr_array_add (files, source_file (fx, names[i]));

  run_transfer (fx, &run, files);

  g_assert_no_error (run.header_error);
  g_assert_no_error (run.send_error);
  g_assert_no_error (run.recv_error);
  g_assert_true (run.accepted);
  g_assert_cmpstr (run.transfer_id, ==, "0123456789abcdef");

  /* progress arrived on the main context and ended at the total */
  g_assert_cmpuint (run.send_progress_count, >=, 1);
  g_assert_cmpuint (run.recv_progress_count, >=, 1);
  g_assert_cmpuint (run.send_progress_last, ==, 5 * MIB + 1);
  g_assert_cmpuint (run.recv_progress_last, ==, 5 * MIB + 1);

  listing = ferry_test_list_dir (fx->down);
  g_assert_cmpstr (listing, ==, "big.bin|empty|one byte.txt");

  g_assert_cmpuint (run.recv_files->len, ==, 3);
  g_assert_true (_ferry_session_get_files (run.receiver) == run.recv_files);
  for (guint i = 0; i < 3; i++)
    {
      FerrySessionFile *sent = g_ptr_array_index (files, i);
      FerrySessionFile *got = g_ptr_array_index (run.recv_files, i);
      g_autofree char *src_path = g_file_get_path (sent->source);
      g_autofree char *dst_path = g_file_get_path (got->destination);
      g_autofree char *expected_path = g_build_filename (fx->down, names[i], NULL);
      g_autofree char *independent = sha3_file (src_path);

      g_assert_cmpstr (got->name, ==, names[i]);
      g_assert_cmpuint (got->size, ==, sent->size);
      g_assert_cmpstr (got->mime_type, ==, "application/octet-stream");
      g_assert_cmpstr (dst_path, ==, expected_path);
      g_assert_true (ferry_test_files_equal (src_path, dst_path));
      g_assert_cmpstr (sent->sha3_256, ==, independent);
      g_assert_cmpstr (got->sha3_256, ==, independent);
    }

  /* the well-known SHA3-256 of nothing */
  g_assert_cmpstr (((FerrySessionFile *) g_ptr_array_index (files, 0))->sha3_256, ==,
                   "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a");

  run_clear (&run);
}

static void
test_name_collision (Fixture       *fx,
                     gconstpointer  data)
{
  g_autoptr(GPtrArray) files = file_list ();
  g_autofree char *x_src = g_build_filename (fx->src, "x", NULL);
  g_autofree char *y_src = g_build_filename (fx->src, "y", NULL);
  g_autofree char *dup_src = g_build_filename (fx->src, "dup.txt", NULL);
  g_autofree char *x_old = g_build_filename (fx->down, "x", NULL);
  g_autofree char *y_part = g_build_filename (fx->down, "y.part", NULL);
  g_autofree char *x_new = g_build_filename (fx->down, "x (1)", NULL);
  g_autofree char *dup1 = g_build_filename (fx->down, "dup (1).txt", NULL);
  g_autofree char *listing = NULL;
  g_autofree char *contents = NULL;
  FerrySessionFile *dup;
  Run run = { 0 };

  g_assert_true (g_file_set_contents (x_src, "new x", -1, NULL));
  g_assert_true (g_file_set_contents (y_src, "new y", -1, NULL));
  g_assert_true (g_file_set_contents (dup_src, "dup", -1, NULL));
  g_assert_true (g_file_set_contents (x_old, "old x", -1, NULL));
  g_assert_true (g_file_set_contents (y_part, "someone's part", -1, NULL));

  g_ptr_array_add (files, source_file (fx, "x"));
  g_ptr_array_add (files, source_file (fx, "y"));
  g_ptr_array_add (files, source_file (fx, "dup.txt"));
  /* the same name twice in one transfer */
  dup = source_file (fx, "dup.txt");
  g_ptr_array_add (files, dup);

  run_transfer (fx, &run, files);
  g_assert_no_error (run.send_error);
  g_assert_no_error (run.recv_error);

  listing = ferry_test_list_dir (fx->down);
  g_assert_cmpstr (listing, ==, "dup (1).txt|dup.txt|x|x (1)|y|y.part");

  /* nothing was replaced */
  g_assert_true (g_file_get_contents (x_old, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "old x");
  g_clear_pointer (&contents, g_free);
  g_assert_true (g_file_get_contents (y_part, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "someone's part");
  g_clear_pointer (&contents, g_free);
  g_assert_true (g_file_get_contents (x_new, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "new x");
  g_clear_pointer (&contents, g_free);
  g_assert_true (g_file_get_contents (dup1, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "dup");

  {
    g_autofree char *dest = g_file_get_path (((FerrySessionFile *) g_ptr_array_index (run.recv_files, 0))->destination);
    g_autofree char *dest3 = g_file_get_path (((FerrySessionFile *) g_ptr_array_index (run.recv_files, 3))->destination);

    g_assert_cmpstr (dest, ==, x_new);
    g_assert_cmpstr (dest3, ==, dup1);
    g_assert_cmpstr (((FerrySessionFile *) g_ptr_array_index (run.recv_files, 3))->name, ==, "dup (1).txt");
  }

  run_clear (&run);
}

/* ".part" is the suffix of unfinished files only: a sender offering "a"
 * and "a.part", or "x.part" alone, gets them stored under names that
 * cannot be taken for (or collide with) the .part of a file. */
static void
test_part_suffix (Fixture       *fx,
                  gconstpointer  data)
{
  const char *offers[][2] = { { "a", "a.part" }, { "x.part", NULL } };
  const char *stored[][2] = { { "a", "a_part" }, { "x_part", NULL } };
  g_autofree char *listing = NULL;

  for (guint t = 0; t < G_N_ELEMENTS (offers); t++)
    {
      g_autoptr(GPtrArray) files = file_list ();
      Run run = { 0 };

      for (guint i = 0; i < 2 && offers[t][i] != NULL; i++)
        {
          g_autofree char *src = g_build_filename (fx->src, offers[t][i], NULL);

          g_assert_true (g_file_set_contents (src, offers[t][i], -1, NULL));
          g_ptr_array_add (files, source_file (fx, offers[t][i]));
        }
      run_transfer (fx, &run, files);
      g_assert_no_error (run.send_error);
      g_assert_no_error (run.recv_error);
      for (guint i = 0; i < 2 && offers[t][i] != NULL; i++)
        {
          FerrySessionFile *file = g_ptr_array_index (run.recv_files, i);
          g_autofree char *expected = g_build_filename (fx->down, stored[t][i], NULL);
          g_autofree char *dest = g_file_get_path (file->destination);
          g_autofree char *contents = NULL;

          g_assert_cmpstr (file->name, ==, stored[t][i]);
          g_assert_cmpstr (dest, ==, expected);
          g_assert_true (g_file_get_contents (dest, &contents, NULL, NULL));
          g_assert_cmpstr (contents, ==, offers[t][i]);
        }
      run_clear (&run);
    }

  listing = ferry_test_list_dir (fx->down);
  g_assert_cmpstr (listing, ==, "a|a_part|x_part");
}

/* A .part to resume (named by the history) that is not what it seems is
 * left alone and the file is received whole: a second link to a file
 * outside the folder is never appended to, a longer file never truncated. */
static void
test_resume_foreign_part (Fixture       *fx,
                          gconstpointer  data)
{
  g_autofree char *x_src = g_build_filename (fx->src, "x", NULL);
  g_autofree char *outside = g_build_filename (fx->src, "outside", NULL);
  g_autofree char *part = g_build_filename (fx->down, "x.part", NULL);
  g_autofree char *x_down = g_build_filename (fx->down, "x", NULL);

  g_assert_true (g_file_set_contents (x_src, "0123456789", 10, NULL));

  for (guint round = 0; round < 2; round++)
    {
      g_autoptr(GPtrArray) files = file_list ();
      g_autofree char *contents = NULL;
      g_autofree char *listing = NULL;
      const char *kept = round == 0 ? "SECRET" : "a user's file, longer than x";
      Run run = { 0 };

      g_assert_true (g_file_set_contents (outside, kept, -1, NULL));
      if (round == 0)
        g_assert_cmpint (link (outside, part), ==, 0);
      else
        g_assert_true (g_file_set_contents (part, kept, -1, NULL));

      g_ptr_array_add (files, source_file (fx, "x"));
      run.resume_part = "x.part";
      run_transfer (fx, &run, files);
      g_assert_no_error (run.send_error);
      g_assert_no_error (run.recv_error);
      g_assert_true (ferry_test_files_equal (x_src, x_down));

      g_assert_true (g_file_get_contents (part, &contents, NULL, NULL));
      g_assert_cmpstr (contents, ==, kept);
      g_clear_pointer (&contents, g_free);
      g_assert_true (g_file_get_contents (outside, &contents, NULL, NULL));
      g_assert_cmpstr (contents, ==, kept);
      listing = ferry_test_list_dir (fx->down);
      g_assert_cmpstr (listing, ==, "x|x.part");

      g_assert_cmpint (g_unlink (part), ==, 0);
      g_assert_cmpint (g_unlink (x_down), ==, 0);
      g_assert_cmpint (g_unlink (outside), ==, 0);
      run_clear (&run);
    }
}

/* Hashing a long resumed prefix takes both sides longer than the stall
 * timeout: neither takes it for a lost connection, whether the prefix is
 * of the first file (hashed before the accept) or of a later one.
 * The receiver hashes every prefix before the accept (the sender waits for
 * it then, with no stall timeout), so it never leaves the stream unread
 * after the accept. Hashing 790 MiB takes longer than 2 s under load. */
static void
test_resume_long_prefix (Fixture       *fx,
                         gconstpointer  data)
{
  g_autofree char *a_src = g_build_filename (fx->src, "a", NULL);
  g_autofree char *x_src = g_build_filename (fx->src, "x", NULL);
  g_autofree char *part = g_build_filename (fx->down, "x.part", NULL);
  g_autofree char *a_down = g_build_filename (fx->down, "a", NULL);
  g_autofree char *x_down = g_build_filename (fx->down, "x", NULL);

  g_assert_true (g_file_set_contents (a_src, "a", 1, NULL));
  /* zeros both: the .part is the beginning of the file */
  write_sparse_file (x_src, 800 * MIB);

  for (guint round = 0; round < 2; round++)
    {
      g_autoptr(GPtrArray) files = file_list ();
      g_autofree char *listing = NULL;
      Run run = { 0 };
      GStatBuf st;

      write_sparse_file (part, 790 * MIB);
      if (round == 1)
        g_ptr_array_add (files, source_file (fx, "a"));
      g_ptr_array_add (files, source_file (fx, "x"));
      run.resume_part = "x.part";
      /* 8 times the keepalives' period: room for a loaded machine. */
      run.stall_timeout = 2;
      run_transfer (fx, &run, files);

      g_assert_no_error (run.send_error);
      g_assert_no_error (run.recv_error);
      g_assert_cmpint (g_stat (x_down, &st), ==, 0);
      g_assert_cmpint (st.st_size, ==, 800 * MIB);
      g_assert_cmpuint (_ferry_session_get_moved (run.sender), ==, 10 * MIB + round);
      listing = ferry_test_list_dir (fx->down);
      g_assert_cmpstr (listing, ==, round == 0 ? "x" : "a|x");
      g_assert_cmpint (g_unlink (x_down), ==, 0);
      g_unlink (a_down);
      run_clear (&run);
    }
}

/* Two sessions sending the same files share their hashes (a fan-out): the
 * second, which resumes the last file, hashes nothing and still sends the
 * right digests. */
static void
test_hash_share (Fixture       *fx,
                 gconstpointer  data)
{
  g_autoptr(FerryHashShare) share = _ferry_hash_share_new ();
  g_autofree char *a_src = g_build_filename (fx->src, "a", NULL);
  g_autofree char *b_src = g_build_filename (fx->src, "b", NULL);
  g_autofree char *part = g_build_filename (fx->down, "b.part", NULL);
  g_autofree char *b_contents = NULL;
  gsize b_length = 0;
  const char *names[] = { "a", "b" };

  ferry_test_write_random (a_src, 3 * MIB + 7, 7);
  ferry_test_write_random (b_src, MIB + 5, 8);
  g_assert_true (g_file_get_contents (b_src, &b_contents, &b_length, NULL));

  for (guint round = 0; round < 2; round++)
    {
      g_autoptr(GPtrArray) files = file_list ();
      Run run = { 0 };

      for (guint i = 0; i < G_N_ELEMENTS (names); i++)
        g_ptr_array_add (files, source_file (fx, names[i]));
      run.hash_share = share;
      if (round == 1)
        {
          g_assert_true (g_file_set_contents (part, b_contents, 300 * 1024, NULL));
          run.resume_part = "b.part";
        }
      run_transfer (fx, &run, files);

      g_assert_no_error (run.send_error);
      g_assert_no_error (run.recv_error);
      for (guint i = 0; i < G_N_ELEMENTS (names); i++)
        {
          FerrySessionFile *sent = g_ptr_array_index (files, i);
          FerrySessionFile *got = g_ptr_array_index (run.recv_files, i);
          g_autofree char *src_path = g_file_get_path (sent->source);
          g_autofree char *dst_path = g_file_get_path (got->destination);
          g_autofree char *independent = sha3_file (src_path);

          g_assert_cmpstr (sent->sha3_256, ==, independent);
          g_assert_cmpstr (got->sha3_256, ==, independent);
          g_assert_cmpint (g_unlink (dst_path), ==, 0);
        }
      run_clear (&run);
    }
}

static void
test_reject (Fixture       *fx,
             gconstpointer  data)
{
  g_autoptr(GPtrArray) files = file_list ();
  g_autofree char *path = g_build_filename (fx->src, "a.txt", NULL);
  g_autofree char *listing = NULL;
  Run run = { 0 };

  g_assert_true (g_file_set_contents (path, "hello", -1, NULL));
  g_ptr_array_add (files, source_file (fx, "a.txt"));

  run.reject_reason = "not today";
  run_transfer (fx, &run, files);

  g_assert_no_error (run.header_error);
  g_assert_error (run.send_error, FERRY_ERROR, FERRY_ERROR_REJECTED);
  g_assert_nonnull (strstr (run.send_error->message, "not today"));
  g_assert_false (run.accepted);
  g_assert_cmpuint (run.send_progress_last, ==, 0);

  listing = ferry_test_list_dir (fx->down);
  g_assert_cmpstr (listing, ==, "");

  run_clear (&run);
}

static void
test_source_changed (Fixture       *fx,
                     gconstpointer  data)
{
  const gsize sizes[] = { 1000, 3 * MIB };

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autoptr(GPtrArray) files = file_list ();
      g_autofree char *path = g_build_filename (fx->src, "moving.bin", NULL);
      g_autofree char *listing = NULL;
      FerrySessionFile *file;
      Run run = { 0 };

      ferry_test_write_random (path, sizes[i], 7);
      file = source_file (fx, "moving.bin");
      /* announce more (i == 0) or less (i == 1) than the file holds */
      file->size = i == 0 ? sizes[i] + 10 : sizes[i] - 10;
      g_ptr_array_add (files, file);

      run_transfer (fx, &run, files);
      g_assert_error (run.send_error, FERRY_ERROR, FERRY_ERROR_FAILED);
      g_assert_error (run.recv_error, FERRY_ERROR, FERRY_ERROR_CANCELLED_BY_PEER);

      listing = ferry_test_list_dir (fx->down);
      g_assert_cmpstr (listing, ==, "");

      run_clear (&run);
    }
}

static void
test_source_missing (Fixture       *fx,
                     gconstpointer  data)
{
  g_autoptr(GPtrArray) files = file_list ();
  g_autofree char *path = g_build_filename (fx->src, "gone.txt", NULL);
  g_autofree char *listing = NULL;
  Run run = { 0 };

  g_assert_true (g_file_set_contents (path, "soon gone", -1, NULL));
  g_ptr_array_add (files, source_file (fx, "gone.txt"));
  g_assert_cmpint (g_unlink (path), ==, 0);

  run_transfer (fx, &run, files);
  g_assert_error (run.send_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_assert_error (run.recv_error, FERRY_ERROR, FERRY_ERROR_CANCELLED_BY_PEER);

  listing = ferry_test_list_dir (fx->down);
  g_assert_cmpstr (listing, ==, "");

  run_clear (&run);
}

static void
done_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      data)
{
  GAsyncResult **out = data;

  assert_main_thread ();
  *out = g_object_ref (result);
}

/* API misuse and early cancel: errors, never hangs. */
static void
test_states (Fixture       *fx,
             gconstpointer  data)
{
  g_autoptr(GIOStream) a = NULL;
  g_autoptr(GIOStream) b = NULL;
  g_autoptr(FerrySession) sender = NULL;
  g_autoptr(FerrySession) receiver = NULL;
  g_autoptr(GPtrArray) files = file_list ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GAsyncResult) result2 = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (fx->src, "a", NULL);
  FerrySessionFile *file;

  g_assert_true (g_file_set_contents (path, "a", -1, NULL));
  file = source_file (fx, "a");
  g_ptr_array_add (files, file);

  ferry_test_socket_pair (&a, &b);
  sender = test_session_new (a);
  receiver = test_session_new (b);

  /* receive before the header */
  _ferry_session_receive_async (receiver, fx->down_file, NULL, done_cb, &result);
  g_assert_null (result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (_ferry_session_receive_finish (receiver, result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED);
  g_clear_error (&error);
  g_clear_object (&result);

  /* a bad transfer id */
  _ferry_session_send_async (sender, "../x", files, NULL, done_cb, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (_ferry_session_send_finish (sender, result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_clear_object (&result);

  /* cancel while the receiver waits for the header (nothing was sent
   * yet): it stops, and the sender hears about it */
  _ferry_session_read_header_async (receiver, NULL, done_cb, &result);
  _ferry_session_cancel (receiver, "bored");
  _ferry_session_send_async (sender, "0123456789abcdef", files, NULL, done_cb, &result2);
  while (result == NULL || result2 == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_null (_ferry_session_read_header_finish (receiver, result, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_clear_object (&result);
  g_assert_false (_ferry_session_send_finish (sender, result2, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_CANCELLED_BY_PEER);
  g_assert_nonnull (strstr (error->message, "bored"));
  g_clear_error (&error);
  g_clear_object (&result2);

  /* closed sessions refuse further work */
  _ferry_session_send_async (sender, "0123456789abcdef", files, NULL, done_cb, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (_ferry_session_send_finish (sender, result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED);
  g_clear_error (&error);
  g_clear_object (&result);

  /* cancel and reject on finished sessions do nothing */
  _ferry_session_cancel (sender, "again");
  _ferry_session_reject (receiver, "again");
}

/* A session's threads count in its own group only: waiting for one group
 * (one engine's sessions) does not wait for another's, and the wait
 * honours its cancellable. */
static void
test_groups (Fixture       *fx,
             gconstpointer  data)
{
  g_autoptr(FerrySessionGroup) busy = _ferry_session_group_new ();
  g_autoptr(FerrySessionGroup) idle = _ferry_session_group_new ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(FerrySession) session = NULL;
  g_autoptr(GIOStream) a = NULL;
  g_autoptr(GIOStream) b = NULL;

  ferry_test_socket_pair (&a, &b);
  session = _ferry_session_new (a);
  _ferry_session_set_group (session, busy);
  /* The reject goes out, then the session's thread waits for the peer to
   * close: it stays until then (nothing iterates the context, so the
   * reaper cannot give up on it either). */
  _ferry_session_reject (session, "no");

  g_assert_true (_ferry_session_group_wait (idle, G_MAXINT64, NULL));
  g_assert_false (_ferry_session_group_wait (busy, g_get_monotonic_time (), NULL));
  g_cancellable_cancel (cancellable);
  g_assert_false (_ferry_session_group_wait (busy, G_MAXINT64, cancellable));

  g_io_stream_close (b, NULL, NULL);
  g_assert_true (_ferry_session_group_wait (busy, G_MAXINT64, NULL));
}

static void
test_throughput (Fixture       *fx,
                 gconstpointer  data)
{
  g_autoptr(GPtrArray) files = file_list ();
  g_autofree char *path = g_build_filename (fx->src, "gig.bin", NULL);
  g_autofree char *dest = g_build_filename (fx->down, "gig.bin", NULL);
  const gsize size = 1024 * (gsize) MIB;
  FerrySessionFile *sent;
  FerrySessionFile *got;
  gint64 start;
  double seconds;
  double rate;
  GStatBuf st;
  Run run = { 0 };

  if (!g_test_perf ())
    {
      g_test_skip ("only with -m perf");
      return;
    }

  ferry_test_write_random (path, size, 1);
  g_ptr_array_add (files, source_file (fx, "gig.bin"));

  start = g_get_monotonic_time ();
  run_transfer (fx, &run, files);
  seconds = (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;

  g_assert_no_error (run.send_error);
  g_assert_no_error (run.recv_error);
  sent = g_ptr_array_index (files, 0);
  got = g_ptr_array_index (run.recv_files, 0);
  g_assert_cmpstr (sent->sha3_256, ==, got->sha3_256);
  g_assert_cmpint (g_stat (dest, &st), ==, 0);
  g_assert_cmpint (st.st_size, ==, size);

  rate = size / seconds / 1e6;
  g_test_message ("1 GiB over loopback TCP, SHA3-256 on both sides: %.2f s, %.0f MB/s",
                  seconds, rate);
  g_test_minimized_result (seconds, "1 GiB transfer: %.2f s (%.0f MB/s)", seconds, rate);

  run_clear (&run);
  g_unlink (path);
  g_unlink (dest);
}

int
main (int    argc,
      char **argv)
{
  session_test_init (&argc, &argv);

  session_test_add ("/session/happy-path", test_happy_path, NULL);
  session_test_add ("/session/name-collision", test_name_collision, NULL);
  session_test_add ("/session/resume/foreign-part", test_resume_foreign_part, NULL);
  session_test_add ("/session/resume/long-prefix", test_resume_long_prefix, NULL);
  session_test_add ("/session/hash-share", test_hash_share, NULL);
  session_test_add ("/session/reject", test_reject, NULL);
  session_test_add ("/session/part-suffix", test_part_suffix, NULL);
  session_test_add ("/session/source-changed", test_source_changed, NULL);
  session_test_add ("/session/source-missing", test_source_missing, NULL);
  session_test_add ("/session/states", test_states, NULL);
  session_test_add ("/session/groups", test_groups, NULL);
  session_test_add ("/session/perf/throughput", test_throughput, NULL);

  return g_test_run ();
}
