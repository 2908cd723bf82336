/* test-tls.c: the TLS 1.3 secure channel over real loopback TCP
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <gnutls/gnutls.h>

#include "ferry-error.h"
#include "ferry-identity-private.h"
#include "ferry-tls-private.h"

/* Blocking socket operations give up after this long, so a bug shows up
 * as a failed test rather than a hang. */
#define SOCKET_TIMEOUT_S 30
#define WAIT_TIMEOUT_US (20 * G_USEC_PER_SEC)
#define CHUNK_SIZE (64 * 1024)

static FerryIdentity *
make_identity (const char *name)
{
  g_autofree char *dir = g_build_filename (g_get_user_data_dir (), name, NULL);
  g_autoptr(GError) error = NULL;
  FerryIdentity *identity = ferry_identity_new (dir, NULL, &error);

  g_assert_no_error (error);
  return identity;
}

/* Connects to 127.0.0.1:@port, without any proxy lookup. */
static GSocketConnection *
connect_loopback (guint16   port,
                  GError  **error)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, port);

  g_socket_client_set_enable_proxy (client, FALSE);

  return g_socket_client_connect (client, G_SOCKET_CONNECTABLE (address), NULL, error);
}

/* One end of a connection: a thread accepts or connects, then runs the
 * handshake. */
typedef struct {
  FerryIdentity     *identity;
  gboolean           is_server;
  const char        *expected_account;
  const char        *expected_device;
  GSocketListener   *listener;
  guint16            port;

  GSocketConnection *connection;
  GIOStream         *tls;
  GError            *error;
} Side;

static void
side_clear (Side *side)
{
  g_clear_object (&side->tls);
  if (side->connection != NULL)
    g_io_stream_close (G_IO_STREAM (side->connection), NULL, NULL);
  g_clear_object (&side->connection);
  g_clear_error (&side->error);
}

static gpointer
side_thread (gpointer data)
{
  Side *side = data;

  if (side->is_server)
    {
      side->connection = g_socket_listener_accept (side->listener, NULL, NULL, &side->error);
    }
  else
    {
      side->connection = connect_loopback (side->port, &side->error);
    }
  if (side->connection == NULL)
    return NULL;

  g_socket_set_timeout (g_socket_connection_get_socket (side->connection), SOCKET_TIMEOUT_S);
  side->tls = _ferry_tls_handshake (G_IO_STREAM (side->connection), side->identity,
                                    side->is_server, side->expected_account,
                                    side->expected_device, NULL, &side->error);
  if (side->tls == NULL)
    {
      /* Like a real caller: give up on the connection. */
      g_io_stream_close (G_IO_STREAM (side->connection), NULL, NULL);
    }

  return NULL;
}

static GSocketListener *
make_listener (guint16 *port)
{
  GSocketListener *listener = g_socket_listener_new ();
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) effective = NULL;
  g_autoptr(GError) error = NULL;

  g_socket_listener_add_address (listener, address, G_SOCKET_TYPE_STREAM,
                                 G_SOCKET_PROTOCOL_TCP, NULL, &effective, &error);
  g_assert_no_error (error);
  *port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));

  return listener;
}

/* Connects @client to @server over loopback TCP, each in its own thread,
 * and waits for both handshakes to end. */
static void
connect_pair (Side *server,
              Side *client)
{
  g_autoptr(GSocketListener) listener = make_listener (&client->port);
  GThread *server_thread;
  GThread *client_thread;

  server->is_server = TRUE;
  server->listener = listener;
  client->is_server = FALSE;

  server_thread = g_thread_new ("server", side_thread, server);
  client_thread = g_thread_new ("client", side_thread, client);
  g_thread_join (server_thread);
  g_thread_join (client_thread);

  server->listener = NULL;
  g_socket_listener_close (listener);
}

typedef struct {
  FerryIdentity *server_identity;
  FerryIdentity *client_identity;
  Side           server;
  Side           client;
} Fixture;

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  fixture->server_identity = make_identity ("server");
  fixture->client_identity = make_identity ("client");

  fixture->server.identity = fixture->server_identity;
  fixture->server.expected_account = ferry_identity_get_account_id (fixture->client_identity);
  fixture->server.expected_device = ferry_identity_get_device_id (fixture->client_identity);
  fixture->client.identity = fixture->client_identity;
  fixture->client.expected_account = ferry_identity_get_account_id (fixture->server_identity);
  fixture->client.expected_device = ferry_identity_get_device_id (fixture->server_identity);
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  side_clear (&fixture->server);
  side_clear (&fixture->client);
  g_clear_object (&fixture->server_identity);
  g_clear_object (&fixture->client_identity);
}

static void
connect_ok (Fixture *fixture)
{
  connect_pair (&fixture->server, &fixture->client);
  g_assert_no_error (fixture->server.error);
  g_assert_no_error (fixture->client.error);
  g_assert_nonnull (fixture->server.tls);
  g_assert_nonnull (fixture->client.tls);
}

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

static gboolean
write_text (GIOStream  *stream,
            const char *text)
{
  g_autoptr(GError) error = NULL;
  gboolean ok;

  ok = g_output_stream_write_all (g_io_stream_get_output_stream (stream), text, strlen (text),
                                  NULL, NULL, &error);
  g_assert_no_error (error);

  return ok;
}

static char *
read_text (GIOStream *stream,
           gsize      length)
{
  g_autofree char *buffer = g_malloc0 (length + 1);
  g_autoptr(GError) error = NULL;
  gsize got = 0;

  g_input_stream_read_all (g_io_stream_get_input_stream (stream), buffer, length, &got,
                           NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (got, ==, length);

  return g_steal_pointer (&buffer);
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

/* The side that checks refuses the peer; the other side sees an error too,
 * at the latest on its first read. */
static void
check_refused (Side *checker,
               Side *other)
{
  g_autoptr(GError) error = NULL;
  char byte;

  g_assert_error (checker->error, FERRY_ERROR, FERRY_ERROR_PEER_UNTRUSTED);
  g_assert_null (checker->tls);
  g_assert_nonnull (strstr (checker->error->message, "expected"));
  g_test_message ("%s side: %s", checker->is_server ? "server" : "client", checker->error->message);

  if (other->tls == NULL)
    {
      g_assert_nonnull (other->error);
      g_test_message ("other side: %s", other->error->message);
    }
  else
    {
      gssize n = g_input_stream_read (g_io_stream_get_input_stream (other->tls), &byte, 1,
                                      NULL, &error);

      g_assert_cmpint (n, ==, -1);
      g_assert_nonnull (error);
      g_test_message ("other side, first read: %s", error->message);
    }
}

static void
test_tls_wrong_device_server_checks (Fixture       *fixture,
                                     gconstpointer  data)
{
  /* The server expects another device of the right account. */
  fixture->server.expected_device = ferry_identity_get_device_id (fixture->server_identity);
  connect_pair (&fixture->server, &fixture->client);
  check_refused (&fixture->server, &fixture->client);
}

static void
test_tls_wrong_device_client_checks (Fixture       *fixture,
                                     gconstpointer  data)
{
  fixture->client.expected_device = ferry_identity_get_device_id (fixture->client_identity);
  connect_pair (&fixture->server, &fixture->client);
  check_refused (&fixture->client, &fixture->server);
}

static void
test_tls_wrong_account (Fixture       *fixture,
                        gconstpointer  data)
{
  fixture->client.expected_account = ferry_identity_get_account_id (fixture->client_identity);
  connect_pair (&fixture->server, &fixture->client);
  check_refused (&fixture->client, &fixture->server);
}

/* A client written directly against gnutls, to offer what Ferry never
 * would. */
typedef struct {
  guint16     port;
  const char *priority;
  int         result;
  GSocketConnection *connection;
} RawClient;

static gpointer
raw_client_thread (gpointer data)
{
  RawClient *raw = data;
  g_autoptr(GError) error = NULL;
  gnutls_certificate_credentials_t credentials;
  gnutls_session_t session;
  int ret;

  raw->connection = connect_loopback (raw->port, &error);
  g_assert_no_error (error);

  g_assert_cmpint (gnutls_certificate_allocate_credentials (&credentials), ==, 0);
  g_assert_cmpint (gnutls_init (&session, GNUTLS_CLIENT), ==, 0);
  g_assert_cmpint (gnutls_priority_set_direct (session, raw->priority, NULL), ==, 0);
  g_assert_cmpint (gnutls_credentials_set (session, GNUTLS_CRD_CERTIFICATE, credentials), ==, 0);
  gnutls_transport_set_int (session, g_socket_get_fd (g_socket_connection_get_socket (raw->connection)));
  gnutls_handshake_set_timeout (session, SOCKET_TIMEOUT_S * 1000);

  do
    ret = gnutls_handshake (session);
  while (ret < 0 && !gnutls_error_is_fatal (ret));

  if (ret == 0)
    {
      char byte;

      /* TLS 1.3: the server checks the client's certificate after the
       * client is done; the refusal arrives on the first read. */
      do
        ret = gnutls_record_recv (session, &byte, 1);
      while (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED);
      if (ret == 0)
        ret = GNUTLS_E_PREMATURE_TERMINATION;
    }

  raw->result = ret;
  g_test_message ("raw client (%s): %s", raw->priority, gnutls_strerror (ret));

  gnutls_deinit (session);
  gnutls_certificate_free_credentials (credentials);
  g_io_stream_close (G_IO_STREAM (raw->connection), NULL, NULL);
  g_clear_object (&raw->connection);

  return NULL;
}

static void
run_raw_client (Fixture    *fixture,
                const char *priority)
{
  g_autoptr(GSocketListener) listener = NULL;
  RawClient raw = { 0, priority, 0, NULL };
  GThread *server_thread;
  GThread *client_thread;

  listener = make_listener (&raw.port);
  fixture->server.is_server = TRUE;
  fixture->server.listener = listener;

  server_thread = g_thread_new ("server", side_thread, &fixture->server);
  client_thread = g_thread_new ("raw-client", raw_client_thread, &raw);
  g_thread_join (server_thread);
  g_thread_join (client_thread);
  fixture->server.listener = NULL;

  g_assert_null (fixture->server.tls);
  g_assert_nonnull (fixture->server.error);
  g_test_message ("server: %s", fixture->server.error->message);
  g_assert_cmpint (raw.result, <, 0);
}

static void
test_tls_refuses_tls12 (Fixture       *fixture,
                        gconstpointer  data)
{
  run_raw_client (fixture, "NORMAL:-VERS-ALL:+VERS-TLS1.2");
  g_assert_error (fixture->server.error, FERRY_ERROR, FERRY_ERROR_PROTOCOL);
}

static void
test_tls_requires_client_certificate (Fixture       *fixture,
                                      gconstpointer  data)
{
  run_raw_client (fixture, "NORMAL:-VERS-ALL:+VERS-TLS1.3");
}

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

#define ADD_TLS_TEST(path, func) \
  g_test_add ("/tls/" path, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD_TLS_TEST ("handshake", test_tls_handshake);
  ADD_TLS_TEST ("echo", test_tls_echo);
  ADD_TLS_TEST ("full-duplex", test_tls_full_duplex);
  ADD_TLS_TEST ("wrong-device/server-checks", test_tls_wrong_device_server_checks);
  ADD_TLS_TEST ("wrong-device/client-checks", test_tls_wrong_device_client_checks);
  ADD_TLS_TEST ("wrong-account", test_tls_wrong_account);
  ADD_TLS_TEST ("refuses-tls12", test_tls_refuses_tls12);
  ADD_TLS_TEST ("requires-client-certificate", test_tls_requires_client_certificate);
  ADD_TLS_TEST ("peer-closes-mid-read", test_tls_peer_closes_mid_read);
  ADD_TLS_TEST ("write-after-peer-vanished", test_tls_write_after_peer_vanished);
  ADD_TLS_TEST ("truncated-record", test_tls_truncated_record);
  ADD_TLS_TEST ("garbage-record", test_tls_garbage_record);
  ADD_TLS_TEST ("local-close-wakes-reader", test_tls_local_close_wakes_reader);
  ADD_TLS_TEST ("cancelled-read", test_tls_cancelled_read);
  g_test_add_func ("/tls/cancelled-handshake", test_tls_cancelled_handshake);
  ADD_TLS_TEST ("perf", test_tls_perf);

  return g_test_run ();
}
