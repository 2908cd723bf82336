/* test-session.c: the session protocol over real loopback TCP
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <nettle/sha3.h>

#include "ferry-error.h"
#include "ferry-session-private.h"
#include "test-utils.h"

#define TIMEOUT_SECONDS 90
#define MIB (1024 * 1024)

static GThread *main_thread;

/* ------------------------------------------------------------------ */
/* Helpers                                                              */

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

static char *
list_dir (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);

  return g_strjoinv (",", (char **) names->pdata);
}

static guint
count_entries (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  guint n = 0;

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir) != NULL)
    n++;

  return n;
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir == NULL)
    {
      g_unlink (path);
      return;
    }

  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

static void
write_random_file (const char *path,
                   gsize       size,
                   guint64     seed)
{
  FILE *f = fopen (path, "wb");
  g_autofree guint64 *buffer = g_malloc (MIB);
  guint64 x = seed | 1;

  g_assert_nonnull (f);
  while (size > 0)
    {
      gsize n = MIN (size, (gsize) MIB);

      /* xorshift64*: fast enough for a GiB */
      for (gsize i = 0; i < MIB / sizeof (guint64); i++)
        {
          x ^= x >> 12;
          x ^= x << 25;
          x ^= x >> 27;
          buffer[i] = x * G_GUINT64_CONSTANT (2685821657736338717);
        }
      g_assert_cmpuint (fwrite (buffer, 1, n, f), ==, n);
      size -= n;
    }
  g_assert_cmpint (fclose (f), ==, 0);
}

static void
write_sparse_file (const char *path,
                   goffset     size)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (ftruncate (fd, size), ==, 0);
  g_assert_cmpint (close (fd), ==, 0);
}

static char *
sha3_hex (const guint8 *data,
          gsize         length)
{
  struct sha3_256_ctx ctx;
  guint8 digest[SHA3_256_DIGEST_SIZE];
  GString *hex = g_string_new (NULL);

  sha3_256_init (&ctx);
  sha3_256_update (&ctx, length, data);
  sha3_256_digest (&ctx, sizeof digest, digest);
  for (gsize i = 0; i < sizeof digest; i++)
    g_string_append_printf (hex, "%02x", digest[i]);

  return g_string_free (hex, FALSE);
}

static char *
sha3_file (const char *path)
{
  g_autofree char *contents = NULL;
  gsize length = 0;

  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  return sha3_hex ((const guint8 *) contents, length);
}

static void
assert_same_contents (const char *a,
                      const char *b)
{
  g_autofree char *ca = NULL;
  g_autofree char *cb = NULL;
  gsize la = 0;
  gsize lb = 0;

  g_assert_true (g_file_get_contents (a, &ca, &la, NULL));
  g_assert_true (g_file_get_contents (b, &cb, &lb, NULL));
  g_assert_cmpmem (ca, la, cb, lb);
}

static guint
count_fds (void)
{
  return count_entries ("/proc/self/fd");
}

static gboolean
tick_cb (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

static guint
count_threads (void)
{
  return count_entries ("/proc/self/task");
}

/* Every session a test makes counts its threads in this group, which the
 * teardown waits for. */
static FerrySessionGroup *test_group;

static FerrySession *
test_session_new (GIOStream *stream)
{
  FerrySession *session = _ferry_session_new (stream);

  _ferry_session_set_group (session, test_group);
  return session;
}

/* ------------------------------------------------------------------ */
/* Fixture: a scratch folder with "src" (sender) and "down" (receiver)  */

typedef struct {
  char  *base;
  char  *src;
  char  *down;
  GFile *down_file;
  guint  fds_before;
  guint  threads_before;
} Fixture;

static void
fixture_setup (Fixture       *fx,
               gconstpointer  data)
{
  /* inside the test's isolated directory, which GLib removes at the end */
  fx->base = g_build_filename (g_get_user_cache_dir (), "ferry-session", NULL);
  g_assert_cmpint (g_mkdir_with_parents (fx->base, 0700), ==, 0);
  g_assert_cmpuint (count_entries (fx->base), ==, 0);
  fx->src = g_build_filename (fx->base, "src", NULL);
  fx->down = g_build_filename (fx->base, "down", NULL);
  g_assert_cmpint (g_mkdir (fx->src, 0700), ==, 0);
  g_assert_cmpint (g_mkdir (fx->down, 0700), ==, 0);
  fx->down_file = g_file_new_for_path (fx->down);
  fx->fds_before = count_fds ();
  fx->threads_before = count_threads ();
}

static void
fixture_teardown (Fixture       *fx,
                  gconstpointer  data)
{
  gint64 end_time = g_get_monotonic_time () + TIMEOUT_SECONDS * G_USEC_PER_SEC;

  /* Nothing outside the download folder changed. */
  g_autofree char *parent = list_dir (fx->base);
  g_assert_cmpstr (parent, ==, "down,src");

  /* Every thread of the sessions ends, every descriptor is closed. First
   * the event: the sessions' own count of running threads drops to zero
   * (a condition variable wakes this at once; the slices only let the main
   * context run what a thread may still wait for). */
  while (!_ferry_session_group_wait (test_group, MIN (end_time, g_get_monotonic_time () + 20 * G_TIME_SPAN_MILLISECOND), NULL) &&
         g_get_monotonic_time () < end_time)
    g_main_context_iteration (NULL, FALSE);
  /* Then a thread that returned leaves /proc/self/task a moment later, an
   * exit nothing signals: check again on each tick of the main context. */
  if (count_threads () > fx->threads_before)
    {
      GSource *tick = g_timeout_source_new (1);

      g_source_set_callback (tick, tick_cb, NULL, NULL);
      g_source_attach (tick, NULL);
      while (count_threads () > fx->threads_before && g_get_monotonic_time () < end_time)
        g_main_context_iteration (NULL, TRUE);
      g_source_destroy (tick);
      g_source_unref (tick);
    }
  if (count_threads () > fx->threads_before)
    {
      g_autoptr(GDir) dir = g_dir_open ("/proc/self/task", 0, NULL);
      const char *name;

      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *comm_path = g_strdup_printf ("/proc/self/task/%s/comm", name);
          g_autofree char *comm = NULL;

          g_file_get_contents (comm_path, &comm, NULL, NULL);
          g_test_message ("thread %s: %s", name, comm);
        }
    }
  g_assert_cmpuint (count_threads (), <=, fx->threads_before);
  if (count_fds () > fx->fds_before)
    {
      g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
      const char *name;

      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *fd_path = g_strdup_printf ("/proc/self/fd/%s", name);
          g_autofree char *target = g_file_read_link (fd_path, NULL);

          g_test_message ("fd %s: %s", name, target);
        }
    }
  g_assert_cmpuint (count_fds (), <=, fx->fds_before);

  remove_tree (fx->base);
  g_free (fx->base);
  g_free (fx->src);
  g_free (fx->down);
  g_object_unref (fx->down_file);
}

static FerrySessionFile *
source_file (Fixture    *fx,
             const char *name)
{
  g_autofree char *path = g_build_filename (fx->src, name, NULL);
  FerrySessionFile *file;
  GStatBuf st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  file = _ferry_session_file_new (name, st.st_size, "application/octet-stream");
  file->source = g_file_new_for_path (path);

  return file;
}

static GPtrArray *
file_list (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) _ferry_session_file_free);
}

/* ------------------------------------------------------------------ */
/* Two real sessions talking to each other                              */

typedef struct {
  Fixture      *fx;
  FerrySession *sender;
  FerrySession *receiver;
  GPtrArray    *send_files;
  GPtrArray    *recv_files;
  char         *transfer_id;
  GCancellable *send_cancellable;

  gboolean      send_done;
  gboolean      header_done;
  gboolean      recv_done;
  GError       *send_error;
  GError       *header_error;
  GError       *recv_error;

  gboolean      accepted;
  guint         send_progress_count;
  guint         recv_progress_count;
  guint64       send_progress_last;
  guint64       recv_progress_last;
  guint64       total;

  /* what to do */
  const char   *reject_reason;
  gboolean      cancel_sender_midway;
  gboolean      cancel_sender_cancellable_midway;
  gboolean      cancel_receiver_midway;
  guint64       cancel_after;    /* bytes received before cancelling */
  gboolean      cancelled;
  const char   *resume_part;     /* the receiver resumes the last file from it */
  guint         stall_timeout;   /* seconds, on both sides */
  gboolean      sender_no_stall; /* but none on the sender's */
  FerryHashShare *hash_share;    /* the sender's, if set */
  FerryRateLimit *rate_limit;    /* the sender's, if set */
  gboolean      cancel_sender_on_accept;
  gboolean      cancel_receiver_on_accept;
} Run;

static void
assert_main_thread (void)
{
  g_assert_true (g_thread_self () == main_thread);
  g_assert_true (g_main_context_is_owner (g_main_context_default ()));
}

static void
send_progress_cb (FerrySession *session,
                  guint64       bytes,
                  guint64       total,
                  Run          *run)
{
  assert_main_thread ();
  g_assert_true (session == run->sender);
  /* data goes out only after the GO */
  if (bytes > 0)
    g_assert_true (run->accepted);
  g_assert_cmpuint (bytes, >=, run->send_progress_last);
  g_assert_cmpuint (bytes, <=, total);
  g_assert_cmpuint (total, ==, run->total);
  run->send_progress_last = bytes;
  run->send_progress_count++;
}

static void
recv_progress_cb (FerrySession *session,
                  guint64       bytes,
                  guint64       total,
                  Run          *run)
{
  assert_main_thread ();
  g_assert_true (session == run->receiver);
  g_assert_cmpuint (bytes, >=, run->recv_progress_last);
  g_assert_cmpuint (bytes, <=, total);
  g_assert_cmpuint (total, ==, run->total);
  run->recv_progress_last = bytes;
  run->recv_progress_count++;

  if (!run->cancelled && bytes > run->cancel_after && bytes < total)
    {
      if (run->cancel_sender_midway)
        {
          /* a .part exists by now */
          g_autofree char *listing = list_dir (run->fx->down);

          g_assert_true (g_str_has_suffix (listing, ".part"));
          run->cancelled = TRUE;
          _ferry_session_cancel (run->sender, "changed my mind");
        }
      else if (run->cancel_sender_cancellable_midway)
        {
          run->cancelled = TRUE;
          g_cancellable_cancel (run->send_cancellable);
        }
      else if (run->cancel_receiver_midway)
        {
          GPtrArray *files;

          run->cancelled = TRUE;
          _ferry_session_cancel (run->receiver, "no thanks");
          /* As the engine does right after a cancel, while the receiving
           * thread winds down: the files are read here, and change only
           * when the operation completes. */
          files = _ferry_session_get_files (run->receiver);
          for (guint i = 0; i < files->len; i++)
            {
              FerrySessionFile *file = g_ptr_array_index (files, i);

              g_assert_null (file->part_name);
              g_assert_null (file->destination);
            }
        }
    }
}

/* Once the paced sender waits for the bucket (its reservation is the
 * second to wait, after the test's own), cancels one side. */
static gboolean
cancel_when_waiting_cb (gpointer data)
{
  Run *run = data;

  if (_ferry_rate_limit_get_waits (run->rate_limit) < 2)
    return G_SOURCE_CONTINUE;
  _ferry_session_cancel (run->cancel_sender_on_accept ? run->sender : run->receiver, "not now");
  return G_SOURCE_REMOVE;
}

static void
accepted_cb (FerrySession *session,
             Run          *run)
{
  assert_main_thread ();
  g_assert_false (run->accepted);
  run->accepted = TRUE;

  if (run->cancel_sender_on_accept || run->cancel_receiver_on_accept)
    {
      /* nothing tells when a thread starts waiting: look on each tick */
      GSource *tick = g_timeout_source_new (1);

      g_source_set_callback (tick, cancel_when_waiting_cb, run, NULL);
      g_source_attach (tick, NULL);
      g_source_unref (tick);
    }
}

static void
send_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      data)
{
  Run *run = data;

  assert_main_thread ();
  g_assert_false (run->send_done);
  if (!_ferry_session_send_finish (FERRY_SESSION (source), result, &run->send_error))
    g_assert_nonnull (run->send_error);
  run->send_done = TRUE;
}

static void
receive_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      data)
{
  Run *run = data;

  assert_main_thread ();
  g_assert_false (run->recv_done);
  _ferry_session_receive_finish (FERRY_SESSION (source), result, &run->recv_error);
  run->recv_done = TRUE;
}

static void
header_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  Run *run = data;

  assert_main_thread ();
  run->recv_files = _ferry_session_read_header_finish (FERRY_SESSION (source), result,
                                                       &run->transfer_id, &run->header_error);
  run->header_done = TRUE;
  if (run->recv_files == NULL)
    return;

  if (run->resume_part != NULL)
    {
      FerrySessionFile *last = g_ptr_array_index (run->recv_files, run->recv_files->len - 1);

      g_free (last->part_name);
      last->part_name = g_strdup (run->resume_part);
    }
  if (run->reject_reason != NULL)
    _ferry_session_reject (run->receiver, run->reject_reason);
  else
    _ferry_session_receive_async (run->receiver, run->fx->down_file, NULL, receive_cb, run);
}

static void
run_start (Fixture    *fx,
           Run        *run,
           GPtrArray  *files)
{
  g_autoptr(GIOStream) a = NULL;
  g_autoptr(GIOStream) b = NULL;
  gboolean callback_ran_early;

  run->fx = fx;
  run->send_files = g_ptr_array_ref (files);
  for (guint i = 0; i < files->len; i++)
    run->total += ((FerrySessionFile *) g_ptr_array_index (files, i))->size;

  ferry_test_socket_pair (&a, &b);
  run->sender = test_session_new (a);
  run->receiver = test_session_new (b);
  g_signal_connect (run->sender, "progress", G_CALLBACK (send_progress_cb), run);
  g_signal_connect (run->sender, "accepted", G_CALLBACK (accepted_cb), run);
  g_signal_connect (run->receiver, "progress", G_CALLBACK (recv_progress_cb), run);
  run->send_cancellable = g_cancellable_new ();
  if (run->resume_part != NULL)
    _ferry_session_set_allow_resume (run->sender, TRUE);
  _ferry_session_set_stall_timeout (run->sender, run->sender_no_stall ? 0 : run->stall_timeout);
  _ferry_session_set_stall_timeout (run->receiver, run->stall_timeout);
  if (run->hash_share != NULL)
    _ferry_session_set_hash_share (run->sender, run->hash_share);
  _ferry_session_set_rate_limit (run->sender, run->rate_limit);

  _ferry_session_read_header_async (run->receiver, NULL, header_cb, run);
  _ferry_session_send_async (run->sender, "0123456789abcdef", files, run->send_cancellable,
                             send_cb, run);
  callback_ran_early = run->send_done || run->header_done;
  g_assert_false (callback_ran_early);
}

static void
run_wait (Run *run)
{
  ferry_test_wait_flag (&run->send_done, TIMEOUT_SECONDS * 1000);
  ferry_test_wait_flag (&run->header_done, TIMEOUT_SECONDS * 1000);
  if (run->recv_files != NULL && run->reject_reason == NULL)
    ferry_test_wait_flag (&run->recv_done, TIMEOUT_SECONDS * 1000);
}

static void
run_transfer (Fixture    *fx,
              Run        *run,
              GPtrArray  *files)
{
  run_start (fx, run, files);
  run_wait (run);
}

static void
run_clear (Run *run)
{
  g_clear_object (&run->sender);
  g_clear_object (&run->receiver);
  g_clear_object (&run->send_cancellable);
  g_clear_pointer (&run->send_files, g_ptr_array_unref);
  g_clear_pointer (&run->recv_files, g_ptr_array_unref);
  g_clear_pointer (&run->transfer_id, g_free);
  g_clear_error (&run->send_error);
  g_clear_error (&run->header_error);
  g_clear_error (&run->recv_error);
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
      assert_same_contents (x_src, x_down);

      g_assert_true (g_file_get_contents (part, &contents, NULL, NULL));
      g_assert_cmpstr (contents, ==, kept);
      g_clear_pointer (&contents, g_free);
      g_assert_true (g_file_get_contents (outside, &contents, NULL, NULL));
      g_assert_cmpstr (contents, ==, kept);
      listing = list_dir (fx->down);
      g_assert_cmpstr (listing, ==, "x,x.part");

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
      listing = list_dir (fx->down);
      g_assert_cmpstr (listing, ==, round == 0 ? "x" : "a,x");
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

  write_random_file (a_src, 3 * MIB + 7, 7);
  write_random_file (b_src, MIB + 5, 8);
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

/* A paced sender: the data take at least what the rate allows (the
 * bucket starts with its burst), by the monotonic clock the limiter uses;
 * a burst smaller than a chunk cuts the chunks into frames of their own.
 * No upper bound: a loaded machine may be slower than the limit. */
static void
test_rate_limit (Fixture       *fx,
                 gconstpointer  data)
{
  static const struct {
    guint64 rate;
    gsize   size;
  } rounds[] = {
    { 8 * MIB, 4 * MIB },          /* a burst of several chunks */
    { MIB, MIB + 7 },              /* a burst of 100 KiB: chunks in pieces */
  };
  g_autofree char *path = g_build_filename (fx->src, "paced.bin", NULL);

  for (guint i = 0; i < G_N_ELEMENTS (rounds); i++)
    {
      g_autoptr(FerryRateLimit) limit = _ferry_rate_limit_new (rounds[i].rate);
      g_autoptr(GPtrArray) files = file_list ();
      g_autofree char *independent = NULL;
      g_autofree char *dst_path = NULL;
      guint64 burst = _ferry_rate_limit_get_burst (limit);
      gint64 least_us = (gint64) ((rounds[i].size - burst) * G_USEC_PER_SEC / rounds[i].rate);
      gint64 start;
      gint64 elapsed;
      Run run = { 0 };

      g_assert_cmpuint (burst, ==, rounds[i].rate / 10);
      write_random_file (path, rounds[i].size, 40 + i);
      independent = sha3_file (path);
      g_ptr_array_add (files, source_file (fx, "paced.bin"));
      run.rate_limit = limit;
      start = g_get_monotonic_time ();
      run_transfer (fx, &run, files);
      elapsed = g_get_monotonic_time () - start;

      g_assert_no_error (run.send_error);
      g_assert_no_error (run.recv_error);
      g_test_message ("%" G_GSIZE_FORMAT " bytes at %" G_GUINT64_FORMAT " B/s: %" G_GINT64_FORMAT
                      " us (at least %" G_GINT64_FORMAT "), %" G_GUINT64_FORMAT " waits",
                      rounds[i].size, rounds[i].rate, elapsed, least_us,
                      _ferry_rate_limit_get_waits (limit));
      g_assert_cmpint (elapsed, >=, least_us);
      g_assert_cmpuint (_ferry_rate_limit_get_waits (limit), >, 0);
      g_assert_cmpuint (_ferry_session_get_moved (run.receiver), ==, rounds[i].size);
      g_assert_cmpuint (run.send_progress_last, ==, rounds[i].size);
      dst_path = g_file_get_path (((FerrySessionFile *) g_ptr_array_index (run.recv_files, 0))->destination);
      g_assert_cmpstr (((FerrySessionFile *) g_ptr_array_index (run.recv_files, 0))->sha3_256, ==, independent);
      assert_same_contents (path, dst_path);
      g_assert_cmpint (g_unlink (dst_path), ==, 0);
      run_clear (&run);
    }
}

/* Two sessions sending one transfer to two devices share its limit: both
 * files, together, take at least what the rate allows. */
static void
test_rate_limit_shared (Fixture       *fx,
                        gconstpointer  data)
{
  g_autoptr(FerryRateLimit) limit = _ferry_rate_limit_new (8 * MIB);
  g_autofree char *path = g_build_filename (fx->src, "paced.bin", NULL);
  gsize size = 2 * MIB;
  gint64 least_us = (gint64) ((2 * size - _ferry_rate_limit_get_burst (limit)) * G_USEC_PER_SEC / (8 * MIB));
  Run runs[2] = { { 0 }, { 0 } };
  GPtrArray *lists[2];
  gint64 start;
  gint64 elapsed;

  write_random_file (path, size, 77);
  start = g_get_monotonic_time ();
  for (guint i = 0; i < 2; i++)
    {
      lists[i] = file_list ();
      g_ptr_array_add (lists[i], source_file (fx, "paced.bin"));
      runs[i].rate_limit = limit;
      run_start (fx, &runs[i], lists[i]);
    }
  for (guint i = 0; i < 2; i++)
    run_wait (&runs[i]);
  elapsed = g_get_monotonic_time () - start;

  g_test_message ("2 x %" G_GSIZE_FORMAT " bytes at 8 MiB/s: %" G_GINT64_FORMAT " us (at least %"
                  G_GINT64_FORMAT ")", size, elapsed, least_us);
  g_assert_cmpint (elapsed, >=, least_us);
  for (guint i = 0; i < 2; i++)
    {
      g_assert_no_error (runs[i].send_error);
      g_assert_no_error (runs[i].recv_error);
      g_assert_cmpuint (_ferry_session_get_moved (runs[i].receiver), ==, size);
      run_clear (&runs[i]);
      g_ptr_array_unref (lists[i]);
    }
}

/* A sender waiting for the bucket (in debt for an hour: another session
 * of the transfer took it all) ends at once when it is cancelled, or when
 * the receiver cancels: the wait is on the operation's condition, which
 * both wake. */
static void
test_rate_limit_cancel (Fixture       *fx,
                        gconstpointer  data)
{
  g_autofree char *path = g_build_filename (fx->src, "huge.iso", NULL);

  write_sparse_file (path, 64 * MIB);
  for (guint by_receiver = 0; by_receiver < 2; by_receiver++)
    {
      g_autoptr(FerryRateLimit) limit = _ferry_rate_limit_new (64 * 1024);
      g_autoptr(GPtrArray) files = file_list ();
      g_autofree char *listing = NULL;
      Run run = { 0 };

      _ferry_rate_limit_reserve (limit, 3600 * 64 * 1024);
      g_ptr_array_add (files, source_file (fx, "huge.iso"));
      run.rate_limit = limit;
      run.cancel_sender_on_accept = !by_receiver;
      run.cancel_receiver_on_accept = by_receiver;
      run_transfer (fx, &run, files);

      g_assert_true (run.accepted);
      if (by_receiver)
        {
          g_assert_error (run.send_error, FERRY_ERROR, FERRY_ERROR_CANCELLED_BY_PEER);
          g_assert_error (run.recv_error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
        }
      else
        {
          g_assert_error (run.send_error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
          g_assert_error (run.recv_error, FERRY_ERROR, FERRY_ERROR_CANCELLED_BY_PEER);
        }
      g_assert_cmpuint (_ferry_session_get_moved (run.receiver), ==, 0);
      g_assert_cmpuint (_ferry_rate_limit_get_waits (limit), ==, 2);
      listing = list_dir (fx->down);
      g_assert_cmpstr (listing, ==, "");
      run_clear (&run);
    }
}

/* The rates `ferry send --limit-rate` and `send-rate-limit` take. */
static void
test_rate_limit_parse (void)
{
  static const struct {
    const char *text;
    guint64     rate;
  } good[] = {
    { "0", 0 }, { "1024", 1024 }, { "1K", 1024 }, { "800k", 800 * 1024 },
    { "50M", 50 * MIB }, { "1.5G", 3 * (guint64) 512 * MIB }, { "0.5M", MIB / 2 },
    { "2T", G_GUINT64_CONSTANT (2) << 40 }, { "0K", 0 },
  };
  static const char * const bad[] = {
    "", "M", "-1M", "+5M", " 5M", "5M ", "5 M", "5MB", "5MiB", "5X", "1023", "0.5K",
    "1.", ".5M", "1.5", "1..5M", "1e6", "0x100K", "99999999999999999999",
    "16777216T", "5M5",
  };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      guint64 rate = 1;

      g_assert_true (_ferry_rate_limit_parse (good[i].text, &rate));
      g_assert_cmpuint (rate, ==, good[i].rate);
    }
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      guint64 rate = 1;

      if (_ferry_rate_limit_parse (bad[i], &rate))
        g_error ("“%s” parsed as %" G_GUINT64_FORMAT, bad[i], rate);
      g_assert_cmpuint (rate, ==, 1);
    }
}

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
  write_random_file (big, 5 * MIB, 42);

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

  listing = list_dir (fx->down);
  g_assert_cmpstr (listing, ==, "big.bin,empty,one byte.txt");

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
      assert_same_contents (src_path, dst_path);
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

  listing = list_dir (fx->down);
  g_assert_cmpstr (listing, ==, "dup (1).txt,dup.txt,x,x (1),y,y.part");

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

  listing = list_dir (fx->down);
  g_assert_cmpstr (listing, ==, "a,a_part,x_part");
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

  listing = list_dir (fx->down);
  g_assert_cmpstr (listing, ==, "");

  run_clear (&run);
}

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
  listing = list_dir (fx->down);
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

  listing = list_dir (fx->down);
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
  listing = list_dir (fx->down);
  g_assert_cmpstr (listing, ==, "small.txt");
  g_assert_nonnull (((FerrySessionFile *) g_ptr_array_index (run.recv_files, 0))->destination);
  g_assert_null (((FerrySessionFile *) g_ptr_array_index (run.recv_files, 1))->destination);
  g_assert_null (((FerrySessionFile *) g_ptr_array_index (run.recv_files, 1))->part_name);

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

      write_random_file (path, sizes[i], 7);
      file = source_file (fx, "moving.bin");
      /* announce more (i == 0) or less (i == 1) than the file holds */
      file->size = i == 0 ? sizes[i] + 10 : sizes[i] - 10;
      g_ptr_array_add (files, file);

      run_transfer (fx, &run, files);
      g_assert_error (run.send_error, FERRY_ERROR, FERRY_ERROR_FAILED);
      g_assert_error (run.recv_error, FERRY_ERROR, FERRY_ERROR_CANCELLED_BY_PEER);

      listing = list_dir (fx->down);
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

  listing = list_dir (fx->down);
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

/* ------------------------------------------------------------------ */
/* A hostile peer: a thread writing hand-made frames                    */

typedef struct _Peer Peer;
typedef void (*PeerScript) (Peer *peer);

struct _Peer {
  GIOStream    *stream;
  GInputStream *in;
  GOutputStream *out;
  PeerScript    script;
  gconstpointer data;
  GThread      *thread;
  GString      *seen;       /* types of the messages received, "accept,error" */
  char         *last_code;  /* "code" of the last message */
  char         *last_reason;
  GMutex        lock;
  GCond         cond;
  gboolean      released;   /* a stalling peer may go on */
};

/* A stalling peer waits here until the test says so. */
static void
peer_wait_release (Peer *peer)
{
  g_mutex_lock (&peer->lock);
  while (!peer->released)
    g_cond_wait (&peer->cond, &peer->lock);
  g_mutex_unlock (&peer->lock);
}

static void
peer_release (Peer *peer)
{
  g_mutex_lock (&peer->lock);
  peer->released = TRUE;
  g_cond_signal (&peer->cond);
  g_mutex_unlock (&peer->lock);
}

static void
peer_write_raw (Peer       *peer,
                const void *data,
                gsize       length)
{
  /* the other side may have hung up already: not an error here */
  g_output_stream_write_all (peer->out, data, length, NULL, NULL, NULL);
}

static void
peer_write_frame (Peer       *peer,
                  guint8      type,
                  const void *payload,
                  gsize       length)
{
  guint8 header[5] = {
    type, (guint8) (length >> 24), (guint8) (length >> 16), (guint8) (length >> 8), (guint8) length
  };

  peer_write_raw (peer, header, sizeof header);
  peer_write_raw (peer, payload, length);
}

static void
peer_write_control (Peer       *peer,
                    const char *json)
{
  peer_write_frame (peer, 1, json, strlen (json));
}

static void
peer_write_data (Peer       *peer,
                 const void *data,
                 gsize       length)
{
  peer_write_frame (peer, 2, data, length);
}

/* Reads one frame; returns the type of a control message, "data" for
 * data, NULL at the end of the stream. */
static char *
peer_read (Peer *peer)
{
  guint8 header[5];
  g_autofree char *payload = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *object;
  gsize got = 0;
  guint32 length;

  if (!g_input_stream_read_all (peer->in, header, sizeof header, &got, NULL, NULL) ||
      got < sizeof header)
    return NULL;

  length = (guint32) header[1] << 24 | (guint32) header[2] << 16 |
           (guint32) header[3] << 8 | header[4];
  g_assert_cmpuint (length, <=, 1024 * 1024);
  payload = g_malloc0 (length + 1);
  if (!g_input_stream_read_all (peer->in, payload, length, &got, NULL, NULL) || got < length)
    return NULL;

  if (header[0] == 2)
    return g_strdup ("data");

  g_assert_cmpuint (header[0], ==, 1);
  g_assert_true (json_parser_load_from_data (parser, payload, length, NULL));
  object = json_node_get_object (json_parser_get_root (parser));

  g_free (peer->last_code);
  peer->last_code = g_strdup (json_object_get_string_member_with_default (object, "code", NULL));
  g_free (peer->last_reason);
  peer->last_reason = g_strdup (json_object_get_string_member_with_default (object, "reason", NULL));

  return g_strdup (json_object_get_string_member (object, "type"));
}

static void
peer_note (Peer       *peer,
           const char *type)
{
  if (peer->seen->len > 0)
    g_string_append_c (peer->seen, ',');
  g_string_append (peer->seen, type);
}

static void
peer_expect (Peer       *peer,
             const char *expected)
{
  g_autofree char *type = peer_read (peer);

  g_assert_cmpstr (type, ==, expected);
  peer_note (peer, type);
}

static gpointer
peer_thread (gpointer data)
{
  Peer *peer = data;
  char *type;

  peer->script (peer);

  /* Read the answer up to the final word, then hang up, like a real
   * peer; data frames are just counted. */
  while ((type = peer_read (peer)) != NULL)
    {
      gboolean final = g_str_equal (type, "error") || g_str_equal (type, "reject") ||
                       g_str_equal (type, "cancel") || g_str_equal (type, "verified");

      if (!g_str_equal (type, "data"))
        peer_note (peer, type);
      g_free (type);
      if (final)
        break;
    }

  g_io_stream_close (peer->stream, NULL, NULL);

  return NULL;
}

static Peer *
peer_start (GIOStream     *stream,
            PeerScript     script,
            gconstpointer  data)
{
  Peer *peer = g_new0 (Peer, 1);

  peer->stream = g_object_ref (stream);
  peer->in = g_io_stream_get_input_stream (stream);
  peer->out = g_io_stream_get_output_stream (stream);
  peer->script = script;
  peer->data = data;
  peer->seen = g_string_new (NULL);
  g_mutex_init (&peer->lock);
  g_cond_init (&peer->cond);
  peer->thread = g_thread_new ("hostile-peer", peer_thread, peer);

  return peer;
}

static char *
peer_join (Peer *peer)
{
  char *seen;

  peer_release (peer);
  g_thread_join (peer->thread);
  g_mutex_clear (&peer->lock);
  g_cond_clear (&peer->cond);
  seen = g_string_free (peer->seen, FALSE);
  g_object_unref (peer->stream);
  g_free (peer->last_code);
  g_free (peer->last_reason);
  g_free (peer);

  return seen;
}

typedef struct {
  const char *name;
  PeerScript  script;
  gboolean    header_ok;       /* read_header succeeds */
  int         code;            /* FERRY_ERROR code of the receiver, -1: success */
  const char *peer_sees;       /* messages the peer got, in order */
  const char *peer_code;       /* "code" of the last one */
  const char *listing;         /* the download folder afterwards */
} HostileCase;

static void
hostile_header_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      data)
{
  Run *run = data;

  assert_main_thread ();
  run->recv_files = _ferry_session_read_header_finish (FERRY_SESSION (source), result,
                                                       &run->transfer_id, &run->header_error);
  run->header_done = TRUE;
}

static void
test_hostile_sender (Fixture       *fx,
                     gconstpointer  data)
{
  const HostileCase *hc = data;
  g_autoptr(GIOStream) ours = NULL;
  g_autoptr(GIOStream) theirs = NULL;
  g_autofree char *seen = NULL;
  g_autofree char *listing = NULL;
  g_autofree char *last_code = NULL;
  Run run = { 0 };
  Peer *peer;
  GError *error;

  run.fx = fx;
  ferry_test_socket_pair (&ours, &theirs);
  run.receiver = test_session_new (ours);
  g_signal_connect (run.receiver, "progress", G_CALLBACK (recv_progress_cb), &run);
  peer = peer_start (theirs, hc->script, hc);

  _ferry_session_read_header_async (run.receiver, NULL, hostile_header_cb, &run);
  ferry_test_wait_flag (&run.header_done, TIMEOUT_SECONDS * 1000);

  if (hc->header_ok)
    {
      g_assert_no_error (run.header_error);
      for (guint i = 0; i < run.recv_files->len; i++)
        run.total += ((FerrySessionFile *) g_ptr_array_index (run.recv_files, i))->size;
      _ferry_session_receive_async (run.receiver, fx->down_file, NULL, receive_cb, &run);
      ferry_test_wait_flag (&run.recv_done, TIMEOUT_SECONDS * 1000);
      error = run.recv_error;
    }
  else
    {
      g_assert_null (run.recv_files);
      error = run.header_error;
    }

  if (hc->code >= 0)
    {
      g_assert_nonnull (error);
      g_test_message ("receiver: %s", error->message);
      g_assert_error (error, FERRY_ERROR, hc->code);
    }
  else
    g_assert_no_error (error);

  last_code = g_strdup (peer->last_code);
  seen = peer_join (peer);
  g_assert_cmpstr (seen, ==, hc->peer_sees);
  if (hc->peer_code != NULL)
    g_assert_cmpstr (last_code, ==, hc->peer_code);

  listing = list_dir (fx->down);
  g_assert_cmpstr (listing, ==, hc->listing);

  run_clear (&run);
}

#define HEADER_ONE(name, size) \
  "{\"type\":\"header\",\"transfer\":\"cafebabe00\",\"files\":[{\"name\":\"" name "\",\"size\":" #size ",\"mime\":\"text/plain\"}]}"

static const guint8 ten_bytes[10] = "0123456789";

static void
script_hash_mismatch (Peer *peer)
{
  peer_write_control (peer, HEADER_ONE ("bad.bin", 10));
  peer_expect (peer, "accept");
  peer_write_data (peer, ten_bytes, 10);
  peer_write_control (peer, "{\"type\":\"end\",\"index\":0,\"sha3-256\":"
                      "\"0000000000000000000000000000000000000000000000000000000000000000\"}");
}

static void
script_good_then_mismatch (Peer *peer)
{
  g_autofree char *hash = sha3_hex (ten_bytes, 10);
  g_autofree char *end = g_strdup_printf ("{\"type\":\"end\",\"index\":0,\"sha3-256\":\"%s\"}", hash);

  peer_write_control (peer, "{\"type\":\"header\",\"transfer\":\"cafebabe00\",\"files\":["
                      "{\"name\":\"good\",\"size\":10},{\"name\":\"bad\",\"size\":10}]}");
  peer_expect (peer, "accept");
  peer_write_data (peer, ten_bytes, 10);
  peer_write_control (peer, end);
  peer_write_data (peer, "abcdefghij", 10);
  /* the hash of the first file, not of this one */
  g_free (end);
  end = g_strdup_printf ("{\"type\":\"end\",\"index\":1,\"sha3-256\":\"%s\"}", hash);
  peer_write_control (peer, end);
}

static void
script_too_much_data (Peer *peer)
{
  guint8 twenty[20] = { 0 };

  peer_write_control (peer, HEADER_ONE ("much.bin", 10));
  peer_expect (peer, "accept");
  peer_write_data (peer, twenty, 20);
}

static void
script_too_much_data_split (Peer *peer)
{
  peer_write_control (peer, HEADER_ONE ("much.bin", 10));
  peer_expect (peer, "accept");
  peer_write_data (peer, ten_bytes, 6);
  peer_write_data (peer, ten_bytes, 6);
}

static void
script_oversized_data_frame (Peer *peer)
{
  /* announces 2 MiB in one frame: the limit is 1 MiB */
  static const guint8 header[5] = { 2, 0x00, 0x20, 0x00, 0x00 };

  peer_write_control (peer, HEADER_ONE ("big.bin", 10000000));
  peer_expect (peer, "accept");
  peer_write_raw (peer, header, sizeof header);
  peer_write_raw (peer, ten_bytes, sizeof ten_bytes);
}

static void
script_oversized_control_frame (Peer *peer)
{
  static const guint8 header[5] = { 1, 0x7f, 0xff, 0xff, 0xff };

  peer_write_raw (peer, header, sizeof header);
  peer_write_raw (peer, "{\"type\":", 8);
}

static void
script_unknown_frame_type (Peer *peer)
{
  peer_write_frame (peer, 7, "{}", 2);
}

static void
script_malformed_json (Peer *peer)
{
  peer_write_control (peer, "{\"type\":\"header\",\"transfer\":\"cafebabe00\",\"files\":[{\"name\":");
}

static void
script_data_first (Peer *peer)
{
  peer_write_data (peer, ten_bytes, 10);
}

static void
script_header_string (const char *header,
                      Peer       *peer)
{
  peer_write_control (peer, header);
}

static void
script_bad_transfer_id (Peer *peer)
{
  script_header_string ("{\"type\":\"header\",\"transfer\":\"../etc\",\"files\":[{\"name\":\"a\",\"size\":1}]}", peer);
}

static void
script_uppercase_transfer_id (Peer *peer)
{
  script_header_string ("{\"type\":\"header\",\"transfer\":\"CAFEBABE00\",\"files\":[{\"name\":\"a\",\"size\":1}]}", peer);
}

static void
script_negative_size (Peer *peer)
{
  script_header_string (HEADER_ONE ("a", -1), peer);
}

static void
script_huge_size (Peer *peer)
{
  /* 2^50 + 1 */
  script_header_string (HEADER_ONE ("a", 1125899906842625), peer);
}

static void
script_float_size (Peer *peer)
{
  script_header_string (HEADER_ONE ("a", 1.5), peer);
}

static void
script_string_size (Peer *peer)
{
  script_header_string ("{\"type\":\"header\",\"transfer\":\"cafebabe00\",\"files\":[{\"name\":\"a\",\"size\":\"1\"}]}", peer);
}

static void
script_no_name (Peer *peer)
{
  script_header_string ("{\"type\":\"header\",\"transfer\":\"cafebabe00\",\"files\":[{\"size\":1}]}", peer);
}

static void
script_no_files (Peer *peer)
{
  script_header_string ("{\"type\":\"header\",\"transfer\":\"cafebabe00\",\"files\":[]}", peer);
}

static void
script_files_not_array (Peer *peer)
{
  script_header_string ("{\"type\":\"header\",\"transfer\":\"cafebabe00\",\"files\":{\"name\":\"a\"}}", peer);
}

static void
script_too_many_files (Peer *peer)
{
  g_autoptr(GString) header = g_string_new ("{\"type\":\"header\",\"transfer\":\"cafebabe00\",\"files\":[");

  for (guint i = 0; i < 10001; i++)
    g_string_append (header, i == 0 ? "0" : ",0");
  g_string_append (header, "]}");
  g_assert_cmpuint (header->len, <=, 65536);
  peer_write_control (peer, header->str);
}

static void
script_wrong_message (Peer *peer)
{
  script_header_string ("{\"type\":\"accept\"}", peer);
}

static void
script_cancel_instead_of_header (Peer *peer)
{
  script_header_string ("{\"type\":\"cancel\",\"reason\":\"oops\"}", peer);
}

static void
script_truncated_in_file (Peer *peer)
{
  g_autofree guint8 *chunk = g_malloc0 (100 * 1024);

  peer_write_control (peer, HEADER_ONE ("cut.bin", 1048576));
  peer_expect (peer, "accept");
  peer_write_data (peer, chunk, 100 * 1024);
  g_io_stream_close (peer->stream, NULL, NULL);
}

static void
script_truncated_in_frame (Peer *peer)
{
  static const guint8 header[5] = { 2, 0x00, 0x04, 0x00, 0x00 };
  g_autofree guint8 *chunk = g_malloc0 (1000);

  peer_write_control (peer, HEADER_ONE ("cut.bin", 1048576));
  peer_expect (peer, "accept");
  peer_write_raw (peer, header, sizeof header);
  peer_write_raw (peer, chunk, 1000);
  g_io_stream_close (peer->stream, NULL, NULL);
}

static void
script_truncated_in_header (Peer *peer)
{
  peer_write_raw (peer, "\001\000\000", 3);
  g_io_stream_close (peer->stream, NULL, NULL);
}

static void
script_no_space (Peer *peer)
{
  /* 2^50 bytes: no disk has that */
  peer_write_control (peer, HEADER_ONE ("galaxy.tar", 1125899906842624));
}

static void
script_unexpected_in_data (Peer *peer)
{
  peer_write_control (peer, HEADER_ONE ("odd.bin", 10));
  peer_expect (peer, "accept");
  peer_write_data (peer, ten_bytes, 5);
  peer_write_control (peer, "{\"type\":\"header\",\"transfer\":\"cafebabe00\",\"files\":[]}");
}

static void
script_bad_control_in_data (Peer *peer)
{
  peer_write_control (peer, HEADER_ONE ("odd.bin", 10));
  peer_expect (peer, "accept");
  peer_write_data (peer, ten_bytes, 5);
  peer_write_control (peer, "not json at all");
}

static void
script_cancel_in_data (Peer *peer)
{
  peer_write_control (peer, HEADER_ONE ("half.bin", 10));
  peer_expect (peer, "accept");
  peer_write_data (peer, ten_bytes, 5);
  peer_write_control (peer, "{\"type\":\"cancel\",\"reason\":\"bye\\u202e\\nnow\"}");
}

static void
script_end_early (Peer *peer)
{
  g_autofree char *hash = sha3_hex (ten_bytes, 5);
  g_autofree char *end = g_strdup_printf ("{\"type\":\"end\",\"index\":0,\"sha3-256\":\"%s\"}", hash);

  peer_write_control (peer, HEADER_ONE ("short.bin", 10));
  peer_expect (peer, "accept");
  peer_write_data (peer, ten_bytes, 5);
  peer_write_control (peer, end);
}

static void
script_end_wrong_index (Peer *peer)
{
  g_autofree char *hash = sha3_hex (ten_bytes, 10);
  g_autofree char *end = g_strdup_printf ("{\"type\":\"end\",\"index\":3,\"sha3-256\":\"%s\"}", hash);

  peer_write_control (peer, HEADER_ONE ("index.bin", 10));
  peer_expect (peer, "accept");
  peer_write_data (peer, ten_bytes, 10);
  peer_write_control (peer, end);
}

static void
script_end_bad_hash_format (Peer *peer)
{
  peer_write_control (peer, HEADER_ONE ("index.bin", 10));
  peer_expect (peer, "accept");
  peer_write_data (peer, ten_bytes, 10);
  peer_write_control (peer, "{\"type\":\"end\",\"index\":0,\"sha3-256\":\"../../../../etc/passwd\"}");
}

/* Names that try to escape: the files land inside, under safe names. */
static void
script_escaping_names (Peer *peer)
{
  static const char *names[] = {
    "../../escape.txt", "/etc/passwd", "..", "sub/../../x", ".hidden", "a\\\\..\\\\b",
    "\\u202egnp.exe", "ctl\\u0007z", "", "../down",
  };
  g_autofree char *hash = sha3_hex (ten_bytes, 10);
  g_autoptr(GString) header = g_string_new ("{\"type\":\"header\",\"transfer\":\"cafebabe00\",\"files\":[");

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    g_string_append_printf (header, "%s{\"name\":\"%s\",\"size\":10}", i ? "," : "", names[i]);
  g_string_append (header, "]}");

  peer_write_control (peer, header->str);
  peer_expect (peer, "accept");
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *end = g_strdup_printf ("{\"type\":\"end\",\"index\":%u,\"sha3-256\":\"%s\"}",
                                              i, hash);

      /* in pieces of 3 + 7 bytes: frames need not match buffers */
      peer_write_data (peer, ten_bytes, 3);
      peer_write_data (peer, ten_bytes + 3, 7);
      peer_write_control (peer, end);
    }
}

static const HostileCase hostile_cases[] = {
  { "hash-mismatch", script_hash_mismatch, TRUE, FERRY_ERROR_HASH_MISMATCH,
    "accept,error", "hash-mismatch", "" },
  { "good-then-mismatch", script_good_then_mismatch, TRUE, FERRY_ERROR_HASH_MISMATCH,
    "accept,error", "hash-mismatch", "good" },
  { "too-much-data", script_too_much_data, TRUE, FERRY_ERROR_PROTOCOL,
    "accept,error", "protocol", "" },
  { "too-much-data-split", script_too_much_data_split, TRUE, FERRY_ERROR_PROTOCOL,
    "accept,error", "protocol", "" },
  { "oversized-data-frame", script_oversized_data_frame, TRUE, FERRY_ERROR_PROTOCOL,
    "accept,error", "protocol", "" },
  { "oversized-control-frame", script_oversized_control_frame, FALSE, FERRY_ERROR_PROTOCOL,
    "reject", "protocol", "" },
  { "unknown-frame-type", script_unknown_frame_type, FALSE, FERRY_ERROR_PROTOCOL,
    "reject", "protocol", "" },
  { "malformed-json", script_malformed_json, FALSE, FERRY_ERROR_PROTOCOL,
    "reject", "protocol", "" },
  { "data-first", script_data_first, FALSE, FERRY_ERROR_PROTOCOL,
    "reject", "protocol", "" },
  { "bad-transfer-id", script_bad_transfer_id, FALSE, FERRY_ERROR_PROTOCOL,
    "reject", "protocol", "" },
  { "uppercase-transfer-id", script_uppercase_transfer_id, FALSE, FERRY_ERROR_PROTOCOL,
    "reject", "protocol", "" },
  { "negative-size", script_negative_size, FALSE, FERRY_ERROR_PROTOCOL,
    "reject", "protocol", "" },
  { "huge-size", script_huge_size, FALSE, FERRY_ERROR_PROTOCOL,
    "reject", "protocol", "" },
  { "float-size", script_float_size, FALSE, FERRY_ERROR_PROTOCOL,
    "reject", "protocol", "" },
  { "string-size", script_string_size, FALSE, FERRY_ERROR_PROTOCOL,
    "reject", "protocol", "" },
  { "no-name", script_no_name, FALSE, FERRY_ERROR_PROTOCOL,
    "reject", "protocol", "" },
  { "no-files", script_no_files, FALSE, FERRY_ERROR_PROTOCOL,
    "reject", "protocol", "" },
  { "files-not-array", script_files_not_array, FALSE, FERRY_ERROR_PROTOCOL,
    "reject", "protocol", "" },
  { "too-many-files", script_too_many_files, FALSE, FERRY_ERROR_PROTOCOL,
    "reject", "protocol", "" },
  { "wrong-message", script_wrong_message, FALSE, FERRY_ERROR_PROTOCOL,
    "reject", "protocol", "" },
  { "cancel-instead-of-header", script_cancel_instead_of_header, FALSE, FERRY_ERROR_CANCELLED_BY_PEER,
    "", NULL, "" },
  { "truncated-in-file", script_truncated_in_file, TRUE, FERRY_ERROR_PEER_VANISHED,
    "accept", NULL, "" },
  { "truncated-in-frame", script_truncated_in_frame, TRUE, FERRY_ERROR_PEER_VANISHED,
    "accept", NULL, "" },
  { "truncated-in-header", script_truncated_in_header, FALSE, FERRY_ERROR_PEER_VANISHED,
    "", NULL, "" },
  { "no-space", script_no_space, TRUE, FERRY_ERROR_NO_SPACE,
    "reject", "no-space", "" },
  { "unexpected-in-data", script_unexpected_in_data, TRUE, FERRY_ERROR_PROTOCOL,
    "accept,error", "protocol", "" },
  { "bad-control-in-data", script_bad_control_in_data, TRUE, FERRY_ERROR_PROTOCOL,
    "accept,error", "protocol", "" },
  { "cancel-in-data", script_cancel_in_data, TRUE, FERRY_ERROR_CANCELLED_BY_PEER,
    "accept", NULL, "" },
  { "end-early", script_end_early, TRUE, FERRY_ERROR_PROTOCOL,
    "accept,error", "protocol", "" },
  { "end-wrong-index", script_end_wrong_index, TRUE, FERRY_ERROR_PROTOCOL,
    "accept,error", "protocol", "" },
  { "end-bad-hash-format", script_end_bad_hash_format, TRUE, FERRY_ERROR_PROTOCOL,
    "accept,error", "protocol", "" },
  { "escaping-names", script_escaping_names, TRUE, -1,
    "accept,verified", NULL,
    "_gnp.exe,b,ctl_z,down,escape.txt,file,file (1),hidden,passwd,x" },
};

/* ------------------------------------------------------------------ */
/* A hostile receiver, against our sender                               */

typedef struct {
  const char *name;
  PeerScript  script;
  int         code;            /* FERRY_ERROR code of the sender */
  const char *peer_sees;
  goffset     size;            /* of the file sent; 10 unless given */
} HostileReceiverCase;

/* Reads the data of one 10-byte file and its end. */
static void
receiver_read_file (Peer *peer)
{
  g_autofree char *data = peer_read (peer);
  g_autofree char *end = NULL;

  g_assert_cmpstr (data, ==, "data");
  end = peer_read (peer);
  g_assert_cmpstr (end, ==, "end");
}

static void
rscript_reply_garbage (Peer *peer)
{
  peer_expect (peer, "header");
  peer_write_control (peer, "{\"type\":\"verified\"}");
}

static void
rscript_reply_data (Peer *peer)
{
  peer_expect (peer, "header");
  peer_write_data (peer, ten_bytes, 10);
}

static void
rscript_resume (Peer *peer)
{
  peer_expect (peer, "header");
  peer_write_control (peer, "{\"type\":\"accept\",\"offsets\":[5]}");
}

static void
rscript_report_mismatch (Peer *peer)
{
  peer_expect (peer, "header");
  peer_write_control (peer, "{\"type\":\"accept\",\"offsets\":[0]}");
  receiver_read_file (peer);
  peer_write_control (peer, "{\"type\":\"error\",\"code\":\"hash-mismatch\",\"reason\":\"bad bits\"}");
}

static void
rscript_verified_early (Peer *peer)
{
  peer_expect (peer, "header");
  peer_write_control (peer, "{\"type\":\"accept\"}");
  peer_write_control (peer, "{\"type\":\"verified\"}");
}

static void
rscript_vanish_after_accept (Peer *peer)
{
  peer_expect (peer, "header");
  peer_write_control (peer, "{\"type\":\"accept\"}");
  receiver_read_file (peer);
  g_io_stream_close (peer->stream, NULL, NULL);
}

static void
rscript_unknown_final (Peer *peer)
{
  peer_expect (peer, "header");
  peer_write_control (peer, "{\"type\":\"accept\"}");
  receiver_read_file (peer);
  peer_write_control (peer, "{\"type\":\"party\"}");
}

static const HostileReceiverCase hostile_receiver_cases[] = {
  { "reply-garbage", rscript_reply_garbage, FERRY_ERROR_PROTOCOL, "header,cancel" },
  { "reply-data", rscript_reply_data, FERRY_ERROR_PROTOCOL, "header,cancel" },
  { "resume", rscript_resume, FERRY_ERROR_PROTOCOL, "header,cancel" },
  { "report-mismatch", rscript_report_mismatch, FERRY_ERROR_HASH_MISMATCH, "header" },
  /* a file long enough that the early "verified" comes before the end */
  { "verified-early", rscript_verified_early, FERRY_ERROR_PROTOCOL, "header,cancel", 64 * MIB },
  { "vanish-after-accept", rscript_vanish_after_accept, FERRY_ERROR_PEER_VANISHED, "header" },
  { "unknown-final", rscript_unknown_final, FERRY_ERROR_PROTOCOL, "header,cancel" },
};

static void
test_hostile_receiver (Fixture       *fx,
                       gconstpointer  data)
{
  const HostileReceiverCase *hc = data;
  g_autoptr(GIOStream) ours = NULL;
  g_autoptr(GIOStream) theirs = NULL;
  g_autoptr(GPtrArray) files = file_list ();
  g_autofree char *path = g_build_filename (fx->src, "ten", NULL);
  g_autofree char *seen = NULL;
  Run run = { 0 };
  Peer *peer;

  if (hc->size > 0)
    write_sparse_file (path, hc->size);
  else
    g_assert_true (g_file_set_contents (path, (const char *) ten_bytes, 10, NULL));
  g_ptr_array_add (files, source_file (fx, "ten"));

  ferry_test_socket_pair (&ours, &theirs);
  run.sender = test_session_new (ours);
  peer = peer_start (theirs, hc->script, hc);

  _ferry_session_send_async (run.sender, "0123456789abcdef", files, NULL, send_cb, &run);
  ferry_test_wait_flag (&run.send_done, TIMEOUT_SECONDS * 1000);

  g_assert_nonnull (run.send_error);
  g_test_message ("sender: %s", run.send_error->message);
  g_assert_error (run.send_error, FERRY_ERROR, hc->code);

  seen = peer_join (peer);
  g_assert_cmpstr (seen, ==, hc->peer_sees);

  run_clear (&run);
}

/* ------------------------------------------------------------------ */
/* Peers that stop reading or writing: cancelling still ends in time    */

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

  listing = list_dir (fx->down);
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
  listing = list_dir (fx->down);
  g_assert_cmpstr (listing, ==, "");

  run_clear (&run);
}

/* ------------------------------------------------------------------ */
/* Throughput                                                           */

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

  write_random_file (path, size, 1);
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

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  test_group = _ferry_session_group_new ();
  main_thread = g_thread_self ();

  /* GIO starts lasting threads of its own on first use (GTask's class
   * sets up its thread pool): let it do so now, so that the fixtures count
   * only the threads of the sessions. */
  g_type_ensure (G_TYPE_TASK);
  g_main_context_default ();
  {
    g_autoptr(GIOStream) a = NULL;
    g_autoptr(GIOStream) b = NULL;
    g_autoptr(GFile) file = g_file_new_for_path ("/");

    ferry_test_socket_pair (&a, &b);
  }

#define ADD(path, func, data) \
  g_test_add (path, Fixture, data, fixture_setup, func, fixture_teardown)

  ADD ("/session/happy-path", test_happy_path, NULL);
  ADD ("/session/name-collision", test_name_collision, NULL);
  ADD ("/session/resume/foreign-part", test_resume_foreign_part, NULL);
  ADD ("/session/resume/long-prefix", test_resume_long_prefix, NULL);
  ADD ("/session/hash-share", test_hash_share, NULL);
  ADD ("/session/rate-limit/paced", test_rate_limit, NULL);
  ADD ("/session/rate-limit/shared", test_rate_limit_shared, NULL);
  ADD ("/session/rate-limit/cancel", test_rate_limit_cancel, NULL);
  g_test_add_func ("/session/rate-limit/parse", test_rate_limit_parse);
  ADD ("/session/reject", test_reject, NULL);
  ADD ("/session/cancel/by-sender", test_cancel_by_sender, NULL);
  ADD ("/session/cancel/by-cancellable", test_cancel_by_cancellable, NULL);
  ADD ("/session/cancel/by-receiver", test_cancel_by_receiver, NULL);
  ADD ("/session/part-suffix", test_part_suffix, NULL);
  ADD ("/session/cancel/stalled-receiver", test_cancel_stalled_receiver, NULL);
  ADD ("/session/cancel/stalled-sender", test_cancel_stalled_sender, NULL);
  ADD ("/session/stall-timeout-told", test_stall_timeout_told, NULL);
  ADD ("/session/source-changed", test_source_changed, NULL);
  ADD ("/session/source-missing", test_source_missing, NULL);
  ADD ("/session/states", test_states, NULL);
  ADD ("/session/groups", test_groups, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (hostile_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/session/hostile-sender/%s", hostile_cases[i].name);

      ADD (path, test_hostile_sender, &hostile_cases[i]);
    }

  for (gsize i = 0; i < G_N_ELEMENTS (hostile_receiver_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/session/hostile-receiver/%s",
                                               hostile_receiver_cases[i].name);

      ADD (path, test_hostile_receiver, &hostile_receiver_cases[i]);
    }

  ADD ("/session/perf/throughput", test_throughput, NULL);

#undef ADD

  return g_test_run ();
}
