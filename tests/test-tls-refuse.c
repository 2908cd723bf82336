/* test-tls-refuse.c: the TLS 1.3 channel refuses the wrong peer
 *
 * Another device or another account than the one expected, checked by
 * either side; a client written against gnutls that offers TLS 1.2 or no
 * certificate.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <gnutls/gnutls.h>

#include "ferry-error.h"
#include "test-tls-common.h"

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

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  tls_test_add ("/tls/wrong-device/server-checks", test_tls_wrong_device_server_checks);
  tls_test_add ("/tls/wrong-device/client-checks", test_tls_wrong_device_client_checks);
  tls_test_add ("/tls/wrong-account", test_tls_wrong_account);
  tls_test_add ("/tls/refuses-tls12", test_tls_refuses_tls12);
  tls_test_add ("/tls/requires-client-certificate", test_tls_requires_client_certificate);

  return g_test_run ();
}
