/* test-tls-close.c: TLS 1.3 channels that end badly
 *
 * The peer's connection gone under a read or before a write, a record cut
 * short or that does not decrypt, a local close under a blocked reader,
 * and a read or a handshake cancelled.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "ferry-tls-private.h"
#include "test-tls-common.h"

/* Reader thread that records how far it got, for tests that cut the
 * connection under it. */
typedef struct {
  GIOStream    *stream;
  GCancellable *cancellable;
  GMutex        mutex;
  GCond         cond;
  gsize         received;
  gboolean      finished;
  gssize        last_result;
  GError       *error;
} BlockedReader;

static gpointer
blocked_reader_thread (gpointer data)
{
  BlockedReader *reader = data;
  GInputStream *in = g_io_stream_get_input_stream (reader->stream);
  guint8 buffer[4096];

  for (;;)
    {
      GError *error = NULL;
      gssize n = g_input_stream_read (in, buffer, sizeof buffer, reader->cancellable, &error);

      g_mutex_lock (&reader->mutex);
      reader->last_result = n;
      if (n > 0)
        reader->received += n;
      else
        {
          reader->error = error;
          reader->finished = TRUE;
        }
      g_cond_broadcast (&reader->cond);
      g_mutex_unlock (&reader->mutex);

      if (n <= 0)
        break;
    }

  return NULL;
}

static void
blocked_reader_init (BlockedReader *reader,
                     GIOStream     *stream)
{
  memset (reader, 0, sizeof *reader);
  g_mutex_init (&reader->mutex);
  g_cond_init (&reader->cond);
  reader->stream = stream;
}

static void
blocked_reader_clear (BlockedReader *reader)
{
  g_clear_error (&reader->error);
  g_mutex_clear (&reader->mutex);
  g_cond_clear (&reader->cond);
}

/* Waits until the reader got @bytes or finished; FALSE on timeout. */
static gboolean
blocked_reader_wait (BlockedReader *reader,
                     gsize          bytes,
                     gboolean       until_finished)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_TIMEOUT_US;
  gboolean ok = TRUE;

  g_mutex_lock (&reader->mutex);
  while (until_finished ? !reader->finished : (reader->received < bytes && !reader->finished))
    {
      if (!g_cond_wait_until (&reader->cond, &reader->mutex, deadline))
        {
          ok = FALSE;
          break;
        }
    }
  g_mutex_unlock (&reader->mutex);

  return ok;
}

static void
test_tls_peer_closes_mid_read (Fixture       *fixture,
                               gconstpointer  data)
{
  const gsize size = 100 * 1024;
  g_autofree guint8 *payload = g_malloc0 (size);
  BlockedReader reader;
  GThread *thread;
  g_autoptr(GError) error = NULL;

  connect_ok (fixture);
  blocked_reader_init (&reader, fixture->server.tls);
  thread = g_thread_new ("reader", blocked_reader_thread, &reader);

  g_output_stream_write_all (g_io_stream_get_output_stream (fixture->client.tls), payload, size,
                             NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (blocked_reader_wait (&reader, size, FALSE));
  g_assert_cmpuint (reader.received, ==, size);

  /* The client's TCP connection goes away without close_notify. */
  g_io_stream_close (G_IO_STREAM (fixture->client.connection), NULL, NULL);

  g_assert_true (blocked_reader_wait (&reader, 0, TRUE));
  g_thread_join (thread);
  g_assert_cmpint (reader.last_result, ==, -1);
  g_assert_error (reader.error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
  g_test_message ("%s", reader.error->message);

  blocked_reader_clear (&reader);
}

/* The peer's process dies: the thread reading sees the connection end,
 * and a write that follows (the sending thread of a session) fails as a
 * lost connection too, never as a TLS protocol error. */
static void
test_tls_write_after_peer_vanished (Fixture       *fixture,
                                    gconstpointer  data)
{
  const gsize size = 64 * 1024;
  g_autofree guint8 *payload = g_malloc0 (size);
  g_autoptr(GError) read_error = NULL;
  g_autoptr(GError) write_error = NULL;
  guint8 byte;

  connect_ok (fixture);
  /* No close_notify: the client's socket just goes away. */
  g_io_stream_close (G_IO_STREAM (fixture->client.connection), NULL, NULL);

  g_assert_cmpint (g_input_stream_read (g_io_stream_get_input_stream (fixture->server.tls),
                                        &byte, 1, NULL, &read_error), ==, -1);
  g_assert_error (read_error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);

  g_assert_false (g_output_stream_write_all (g_io_stream_get_output_stream (fixture->server.tls),
                                             payload, size, NULL, NULL, &write_error));
  g_assert_nonnull (write_error);
  g_test_message ("%s", write_error->message);
  g_assert_true (write_error->domain == G_IO_ERROR);
  g_assert_cmpint (write_error->code, !=, G_IO_ERROR_CANCELLED);
}

static void
test_tls_truncated_record (Fixture       *fixture,
                           gconstpointer  data)
{
  /* The start of a record header, then nothing: the connection dies in
   * the middle of a record. */
  const guint8 partial[] = { 0x17, 0x03, 0x03 };
  BlockedReader reader;
  GThread *thread;
  g_autoptr(GError) error = NULL;

  connect_ok (fixture);
  blocked_reader_init (&reader, fixture->server.tls);
  thread = g_thread_new ("reader", blocked_reader_thread, &reader);

  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (fixture->client.connection)),
                             partial, sizeof partial, NULL, NULL, &error);
  g_assert_no_error (error);
  g_io_stream_close (G_IO_STREAM (fixture->client.connection), NULL, NULL);

  g_assert_true (blocked_reader_wait (&reader, 0, TRUE));
  g_thread_join (thread);
  g_assert_cmpint (reader.last_result, ==, -1);
  g_assert_error (reader.error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);

  blocked_reader_clear (&reader);
}

static void
test_tls_garbage_record (Fixture       *fixture,
                         gconstpointer  data)
{
  /* A well-framed record whose contents do not decrypt */
  guint8 record[5 + 64];
  BlockedReader reader;
  GThread *thread;
  g_autoptr(GError) error = NULL;

  memset (record, 0xa5, sizeof record);
  record[0] = 0x17;
  record[1] = 0x03;
  record[2] = 0x03;
  record[3] = 0;
  record[4] = 64;

  connect_ok (fixture);
  blocked_reader_init (&reader, fixture->server.tls);
  thread = g_thread_new ("reader", blocked_reader_thread, &reader);

  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (fixture->client.connection)),
                             record, sizeof record, NULL, NULL, &error);
  g_assert_no_error (error);

  g_assert_true (blocked_reader_wait (&reader, 0, TRUE));
  g_thread_join (thread);
  g_assert_cmpint (reader.last_result, ==, -1);
  g_assert_nonnull (reader.error);
  g_test_message ("%s", reader.error->message);

  blocked_reader_clear (&reader);
}

static void
test_tls_local_close_wakes_reader (Fixture       *fixture,
                                   gconstpointer  data)
{
  BlockedReader reader;
  GThread *thread;
  g_autoptr(GError) error = NULL;
  char byte;

  connect_ok (fixture);
  blocked_reader_init (&reader, fixture->server.tls);
  thread = g_thread_new ("reader", blocked_reader_thread, &reader);

  /* Make sure the reader runs before closing under it. */
  write_text (fixture->client.tls, "x");
  g_assert_true (blocked_reader_wait (&reader, 1, FALSE));

  g_io_stream_close (fixture->server.tls, NULL, &error);
  g_assert_no_error (error);

  g_assert_true (blocked_reader_wait (&reader, 0, TRUE));
  g_thread_join (thread);
  g_assert_cmpint (reader.last_result, ==, -1);
  g_assert_nonnull (reader.error);

  /* The peer saw a clean close. */
  g_assert_cmpint (g_input_stream_read (g_io_stream_get_input_stream (fixture->client.tls),
                                        &byte, 1, NULL, &error), ==, 0);
  g_assert_no_error (error);

  blocked_reader_clear (&reader);
}

static void
test_tls_cancelled_read (Fixture       *fixture,
                         gconstpointer  data)
{
  BlockedReader reader;
  GThread *thread;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autofree char *got = NULL;

  connect_ok (fixture);

  blocked_reader_init (&reader, fixture->server.tls);
  reader.cancellable = cancellable;
  thread = g_thread_new ("reader", blocked_reader_thread, &reader);

  g_cancellable_cancel (cancellable);
  g_assert_true (blocked_reader_wait (&reader, 0, TRUE));
  g_thread_join (thread);
  g_assert_error (reader.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  blocked_reader_clear (&reader);

  /* The channel still works after a cancelled read. */
  write_text (fixture->client.tls, "still there");
  got = read_text (fixture->server.tls, strlen ("still there"));
  g_assert_cmpstr (got, ==, "still there");
}

static void
test_tls_cancelled_handshake (void)
{
  g_autoptr(FerryIdentity) identity = make_identity ("server");
  g_autoptr(GSocketListener) listener = NULL;
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GSocketConnection) accepted = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GIOStream) tls = NULL;
  guint16 port;

  /* A peer that connects and never speaks: the handshake ends when it is
   * cancelled. */
  listener = make_listener (&port);
  connection = connect_loopback (port, &error);
  g_assert_no_error (error);
  accepted = g_socket_listener_accept (listener, NULL, NULL, &error);
  g_assert_no_error (error);

  g_cancellable_cancel (cancellable);
  tls = _ferry_tls_handshake (G_IO_STREAM (accepted), identity, TRUE, NULL, NULL,
                              cancellable, &error);
  g_assert_null (tls);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  tls_test_add ("/tls/peer-closes-mid-read", test_tls_peer_closes_mid_read);
  tls_test_add ("/tls/write-after-peer-vanished", test_tls_write_after_peer_vanished);
  tls_test_add ("/tls/truncated-record", test_tls_truncated_record);
  tls_test_add ("/tls/garbage-record", test_tls_garbage_record);
  tls_test_add ("/tls/local-close-wakes-reader", test_tls_local_close_wakes_reader);
  tls_test_add ("/tls/cancelled-read", test_tls_cancelled_read);
  g_test_add_func ("/tls/cancelled-handshake", test_tls_cancelled_handshake);

  return g_test_run ();
}
