/* test-tls-common.c: what the TLS channel tests share
 *
 * The fixture, its two sides over loopback TCP, and short texts (see
 * test-tls-common.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "ferry-tls-private.h"
#include "test-tls-common.h"

FerryIdentity *
make_identity (const char *name)
{
  g_autofree char *dir = g_build_filename (g_get_user_data_dir (), name, NULL);
  g_autoptr(GError) error = NULL;
  FerryIdentity *identity = ferry_identity_new (dir, NULL, &error);

  g_assert_no_error (error);
  return identity;
}

GSocketConnection *
connect_loopback (guint16   port,
                  GError  **error)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, port);

  g_socket_client_set_enable_proxy (client, FALSE);

  return g_socket_client_connect (client, G_SOCKET_CONNECTABLE (address), NULL, error);
}

static void
side_clear (Side *side)
{
  g_clear_object (&side->tls);
  if (side->connection != NULL)
    g_io_stream_close (G_IO_STREAM (side->connection), NULL, NULL);
  g_clear_object (&side->connection);
  g_clear_error (&side->error);
}

gpointer
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

GSocketListener *
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

void
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

void
tls_test_add (const char  *path,
              void       (*func) (Fixture *, gconstpointer))
{
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown);
}

void
connect_ok (Fixture *fixture)
{
  connect_pair (&fixture->server, &fixture->client);
  g_assert_no_error (fixture->server.error);
  g_assert_no_error (fixture->client.error);
  g_assert_nonnull (fixture->server.tls);
  g_assert_nonnull (fixture->client.tls);
}

gboolean
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

char *
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
