/* test-session-common.c: what the session tests share
 *
 * The fixture's scratch folder and its checks, two real sessions over
 * loopback TCP, and the hostile peer (see test-session-common.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <nettle/sha3.h>

#include "test-session-common.h"

static GThread *main_thread;

/* Every session a test makes counts its threads in this group, which the
 * teardown waits for. */
static FerrySessionGroup *test_group;

/* ------------------------------------------------------------------ */
/* Helpers                                                              */

void
write_sparse_file (const char *path,
                   goffset     size)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (ftruncate (fd, size), ==, 0);
  g_assert_cmpint (close (fd), ==, 0);
}

char *
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

char *
sha3_file (const char *path)
{
  g_autofree char *contents = NULL;
  gsize length = 0;

  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  return sha3_hex ((const guint8 *) contents, length);
}

static guint
count_fds (void)
{
  return ferry_test_count_entries ("/proc/self/fd");
}

static gboolean
tick_cb (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

static guint
count_threads (void)
{
  return ferry_test_count_entries ("/proc/self/task");
}

FerrySession *
test_session_new (GIOStream *stream)
{
  FerrySession *session = _ferry_session_new (stream);

  _ferry_session_set_group (session, test_group);
  return session;
}

/* ------------------------------------------------------------------ */
/* Fixture: a scratch folder with "src" (sender) and "down" (receiver)  */

void
fixture_setup (Fixture       *fx,
               gconstpointer  data)
{
  /* inside the test's isolated directory, which GLib removes at the end */
  fx->base = g_build_filename (g_get_user_cache_dir (), "ferry-session", NULL);
  g_assert_cmpint (g_mkdir_with_parents (fx->base, 0700), ==, 0);
  g_assert_cmpuint (ferry_test_count_entries (fx->base), ==, 0);
  fx->src = g_build_filename (fx->base, "src", NULL);
  fx->down = g_build_filename (fx->base, "down", NULL);
  g_assert_cmpint (g_mkdir (fx->src, 0700), ==, 0);
  g_assert_cmpint (g_mkdir (fx->down, 0700), ==, 0);
  fx->down_file = g_file_new_for_path (fx->down);
  fx->fds_before = count_fds ();
  fx->threads_before = count_threads ();
}

void
fixture_teardown (Fixture       *fx,
                  gconstpointer  data)
{
  gint64 end_time = g_get_monotonic_time () + TIMEOUT_SECONDS * G_USEC_PER_SEC;

  /* Nothing outside the download folder changed. */
  g_autofree char *parent = ferry_test_list_dir (fx->base);
  g_assert_cmpstr (parent, ==, "down|src");

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

  ferry_test_remove_tree (fx->base);
  g_free (fx->base);
  g_free (fx->src);
  g_free (fx->down);
  g_object_unref (fx->down_file);
}

void
session_test_add (const char    *path,
                  void         (*func) (Fixture *, gconstpointer),
                  gconstpointer  data)
{
  g_test_add (path, Fixture, data, fixture_setup, func, fixture_teardown);
}

FerrySessionFile *
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

GPtrArray *
file_list (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) _ferry_session_file_free);
}

/* ------------------------------------------------------------------ */
/* Two real sessions talking to each other                              */

void
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

void
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
          g_autofree char *listing = ferry_test_list_dir (run->fx->down);

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

void
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

void
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

  hostile_header_cb (source, result, data);
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

void
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

void
run_wait (Run *run)
{
  ferry_test_wait_flag (&run->send_done, TIMEOUT_SECONDS * 1000);
  ferry_test_wait_flag (&run->header_done, TIMEOUT_SECONDS * 1000);
  if (run->recv_files != NULL && run->reject_reason == NULL)
    ferry_test_wait_flag (&run->recv_done, TIMEOUT_SECONDS * 1000);
}

void
run_transfer (Fixture    *fx,
              Run        *run,
              GPtrArray  *files)
{
  run_start (fx, run, files);
  run_wait (run);
}

void
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

/* ------------------------------------------------------------------ */
/* A hostile peer: a thread writing hand-made frames                    */

void
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

void
peer_write_raw (Peer       *peer,
                const void *data,
                gsize       length)
{
  /* the other side may have hung up already: not an error here */
  g_output_stream_write_all (peer->out, data, length, NULL, NULL, NULL);
}

void
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

void
peer_write_control (Peer       *peer,
                    const char *json)
{
  peer_write_frame (peer, 1, json, strlen (json));
}

void
peer_write_data (Peer       *peer,
                 const void *data,
                 gsize       length)
{
  peer_write_frame (peer, 2, data, length);
}

char *
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

void
peer_note (Peer       *peer,
           const char *type)
{
  if (peer->seen->len > 0)
    g_string_append_c (peer->seen, ',');
  g_string_append (peer->seen, type);
}

void
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

Peer *
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

char *
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

void
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

const guint8 ten_bytes[10] = "0123456789";

void
session_test_init (int    *argc,
                   char ***argv)
{
  g_test_init (argc, argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
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
}
