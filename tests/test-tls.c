/* test-tls.c: the TLS 1.3 secure channel over real loopback TCP
 *
 * A handshake, data both ways and a clean close; large streams echoed and
 * in both directions at once; throughput (-m perf). Refused peers are in
 * test-tls-refuse.c, connections cut, corrupted or cancelled in
 * test-tls-close.c.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "ferry-tls-private.h"
#include "test-tls-common.h"

/* Data: a reproducible pseudo-random byte stream, hashed on both ends. */
static void
fill_pattern (guint8  *buffer,
              gsize    size,
              guint32 *state)
{
  guint32 x = *state;

  for (gsize i = 0; i < size; i++)
    {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      buffer[i] = (guint8) x;
    }
  *state = x;
}

typedef struct {
  GIOStream *stream;
  gsize      size;          /* to write, or the most to read */
  guint32    seed;
  gboolean   close_after;   /* writer: close the output stream at the end */
  gsize      chunk;

  gsize      done;
  char      *checksum;
  GError    *error;
  gint64     finished_at;
} Transfer;

static void
transfer_clear (Transfer *transfer)
{
  g_clear_pointer (&transfer->checksum, g_free);
  g_clear_error (&transfer->error);
}

static gpointer
writer_thread (gpointer data)
{
  Transfer *transfer = data;
  GOutputStream *out = g_io_stream_get_output_stream (transfer->stream);
  gsize chunk = transfer->chunk != 0 ? transfer->chunk : CHUNK_SIZE;
  g_autofree guint8 *buffer = g_malloc (chunk);
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  guint32 state = transfer->seed;

  while (transfer->done < transfer->size)
    {
      gsize n = MIN (chunk, transfer->size - transfer->done);
      gsize written = 0;

      if (transfer->seed != 0)
        {
          fill_pattern (buffer, n, &state);
          g_checksum_update (checksum, buffer, n);
        }
      if (!g_output_stream_write_all (out, buffer, n, &written, NULL, &transfer->error))
        break;
      transfer->done += written;
    }

  if (transfer->error == NULL && transfer->close_after)
    g_output_stream_close (out, NULL, &transfer->error);

  transfer->checksum = g_strdup (g_checksum_get_string (checksum));
  transfer->finished_at = g_get_monotonic_time ();

  return NULL;
}

static gpointer
reader_thread (gpointer data)
{
  Transfer *transfer = data;
  GInputStream *in = g_io_stream_get_input_stream (transfer->stream);
  gsize chunk = transfer->chunk != 0 ? transfer->chunk : CHUNK_SIZE;
  g_autofree guint8 *buffer = g_malloc (chunk);
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);

  while (transfer->done < transfer->size)
    {
      gssize n = g_input_stream_read (in, buffer, MIN (chunk, transfer->size - transfer->done),
                                      NULL, &transfer->error);

      if (n <= 0)
        break;
      if (transfer->seed != 0)
        g_checksum_update (checksum, buffer, n);
      transfer->done += n;
    }

  transfer->checksum = g_strdup (g_checksum_get_string (checksum));
  transfer->finished_at = g_get_monotonic_time ();

  return NULL;
}

/* Tests */

static void
test_tls_handshake (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autofree char *server_description = NULL;
  g_autofree char *client_description = NULL;
  g_autofree char *got = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GIOStream) plain = NULL;
  char byte;

  connect_ok (fixture);

  server_description = _ferry_tls_describe (fixture->server.tls);
  client_description = _ferry_tls_describe (fixture->client.tls);
  g_assert_cmpstr (server_description, ==, "tls1.3/aes-256-gcm");
  g_assert_cmpstr (client_description, ==, server_description);

  /* Not a secure channel */
  plain = G_IO_STREAM (g_simple_io_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (fixture->server.connection)),
                                               g_io_stream_get_output_stream (G_IO_STREAM (fixture->server.connection))));
  g_assert_null (_ferry_tls_describe (plain));

  write_text (fixture->client.tls, "hello from the client");
  got = read_text (fixture->server.tls, strlen ("hello from the client"));
  g_assert_cmpstr (got, ==, "hello from the client");
  g_clear_pointer (&got, g_free);

  write_text (fixture->server.tls, "and hello back");
  got = read_text (fixture->client.tls, strlen ("and hello back"));
  g_assert_cmpstr (got, ==, "and hello back");

  /* A clean close reads as end of stream on the other side. */
  g_assert_true (g_io_stream_close (fixture->client.tls, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_input_stream_read (g_io_stream_get_input_stream (fixture->server.tls),
                                        &byte, 1, NULL, &error), ==, 0);
  g_assert_no_error (error);
  /* and stays there */
  g_assert_cmpint (g_input_stream_read (g_io_stream_get_input_stream (fixture->server.tls),
                                        &byte, 1, NULL, &error), ==, 0);
  g_assert_no_error (error);

  g_assert_true (g_io_stream_close (fixture->server.tls, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_io_stream_is_closed (G_IO_STREAM (fixture->server.connection)));
}

static gpointer
echo_thread (gpointer data)
{
  Transfer *transfer = data;
  GInputStream *in = g_io_stream_get_input_stream (transfer->stream);
  GOutputStream *out = g_io_stream_get_output_stream (transfer->stream);
  g_autofree guint8 *buffer = g_malloc (CHUNK_SIZE);

  for (;;)
    {
      gssize n = g_input_stream_read (in, buffer, CHUNK_SIZE, NULL, &transfer->error);

      if (n <= 0)
        break;
      if (!g_output_stream_write_all (out, buffer, n, NULL, NULL, &transfer->error))
        break;
      transfer->done += n;
    }

  if (transfer->error == NULL)
    g_io_stream_close (transfer->stream, NULL, &transfer->error);

  return NULL;
}

static void
test_tls_echo (Fixture       *fixture,
               gconstpointer  data)
{
  const gsize size = 8 * 1024 * 1024;
  Transfer echo = { fixture->server.tls, 0, 0, FALSE, 0 };
  Transfer writer = { fixture->client.tls, size, 0x12345678, TRUE, 0 };
  Transfer reader = { fixture->client.tls, G_MAXSIZE, 0x12345678, FALSE, 0 };
  GThread *threads[3];
  g_autoptr(GError) error = NULL;

  connect_ok (fixture);
  echo.stream = fixture->server.tls;
  writer.stream = fixture->client.tls;
  reader.stream = fixture->client.tls;

  threads[0] = g_thread_new ("echo", echo_thread, &echo);
  threads[1] = g_thread_new ("writer", writer_thread, &writer);
  threads[2] = g_thread_new ("reader", reader_thread, &reader);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    g_thread_join (threads[i]);

  g_assert_no_error (echo.error);
  g_assert_no_error (writer.error);
  g_assert_no_error (reader.error);
  g_assert_cmpuint (writer.done, ==, size);
  g_assert_cmpuint (echo.done, ==, size);
  g_assert_cmpuint (reader.done, ==, size);
  g_assert_cmpstr (reader.checksum, ==, writer.checksum);

  transfer_clear (&echo);
  transfer_clear (&writer);
  transfer_clear (&reader);
}

static void
test_tls_full_duplex (Fixture       *fixture,
                      gconstpointer  data)
{
  /* Each side writes more than the socket buffers hold while it reads what
   * the other writes: this only finishes if a blocked writer does not keep
   * the reader of the same channel waiting. */
  const gsize size = 16 * 1024 * 1024;
  Transfer transfers[4];
  GThread *threads[4];

  connect_ok (fixture);

  memset (transfers, 0, sizeof transfers);
  transfers[0] = (Transfer) { fixture->client.tls, size, 0x1111, FALSE, 0 };
  transfers[1] = (Transfer) { fixture->server.tls, size, 0x1111, FALSE, 0 };
  transfers[2] = (Transfer) { fixture->server.tls, size, 0x2222, FALSE, 0 };
  transfers[3] = (Transfer) { fixture->client.tls, size, 0x2222, FALSE, 0 };

  threads[0] = g_thread_new ("client-writer", writer_thread, &transfers[0]);
  threads[1] = g_thread_new ("server-reader", reader_thread, &transfers[1]);
  threads[2] = g_thread_new ("server-writer", writer_thread, &transfers[2]);
  threads[3] = g_thread_new ("client-reader", reader_thread, &transfers[3]);
  for (guint i = 0; i < 4; i++)
    g_thread_join (threads[i]);

  for (guint i = 0; i < 4; i++)
    {
      g_assert_no_error (transfers[i].error);
      g_assert_cmpuint (transfers[i].done, ==, size);
    }
  g_assert_cmpstr (transfers[0].checksum, ==, transfers[1].checksum);
  g_assert_cmpstr (transfers[2].checksum, ==, transfers[3].checksum);
  g_assert_cmpstr (transfers[0].checksum, !=, transfers[2].checksum);

  for (guint i = 0; i < 4; i++)
    transfer_clear (&transfers[i]);
}

static void
test_tls_perf (Fixture       *fixture,
               gconstpointer  data)
{
  const gsize size = 256 * 1024 * 1024;
  Transfer writer = { NULL, size, 0, TRUE, 1024 * 1024 };
  Transfer reader = { NULL, G_MAXSIZE, 0, FALSE, 1024 * 1024 };
  GThread *threads[2];
  g_autofree char *description = NULL;
  gint64 start;
  double seconds;

  if (!g_test_perf ())
    {
      g_test_skip ("Only with -m perf");
      return;
    }

  connect_ok (fixture);
  writer.stream = fixture->client.tls;
  reader.stream = fixture->server.tls;

  start = g_get_monotonic_time ();
  threads[0] = g_thread_new ("writer", writer_thread, &writer);
  threads[1] = g_thread_new ("reader", reader_thread, &reader);
  g_thread_join (threads[0]);
  g_thread_join (threads[1]);
  seconds = (reader.finished_at - start) / (double) G_USEC_PER_SEC;

  g_assert_no_error (writer.error);
  g_assert_no_error (reader.error);
  g_assert_cmpuint (reader.done, ==, size);

  description = _ferry_tls_describe (fixture->client.tls);
  g_test_message ("256 MiB one way over loopback TLS (%s): %.2f s, %.0f MB/s",
                  description,
                  seconds, size / seconds / 1e6);

  transfer_clear (&writer);
  transfer_clear (&reader);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  tls_test_add ("/tls/handshake", test_tls_handshake);
  tls_test_add ("/tls/echo", test_tls_echo);
  tls_test_add ("/tls/full-duplex", test_tls_full_duplex);
  tls_test_add ("/tls/perf", test_tls_perf);

  return g_test_run ();
}
