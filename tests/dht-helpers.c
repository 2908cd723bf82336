/* dht-helpers.c: a private OpenDHT network on loopback for tests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <signal.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "dht-helpers.h"
#include "test-utils.h"

#define READY_TIMEOUT_US (20 * G_USEC_PER_SEC)

typedef struct {
  GSubprocess *process;
  guint16      dht_port;     /* UDP */
  guint16      proxy_port;   /* TCP */
  char        *proxy;
  guint        starts;
} Node;

struct _FerryTestDht
{
  char        *dir;
  guint        network;
  Node         nodes[FERRY_TEST_DHT_NODES];
  SoupSession *session;
};

gboolean
ferry_test_dht_available (void)
{
  g_autofree char *path = g_find_program_in_path ("dhtnode");

  return path != NULL;
}

static guint16
free_port (GSocketType     type,
           GSocketProtocol protocol)
{
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, type, protocol, NULL);
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  g_assert_nonnull (socket);
  g_assert_true (g_socket_bind (socket, any, FALSE, NULL));
  bound = g_socket_get_local_address (socket, NULL);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

guint16
ferry_test_dht_free_tcp_port (void)
{
  return free_port (G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP);
}

static gboolean
node_spawn (FerryTestDht  *dht,
            guint          index,
            GError       **error)
{
  Node *node = &dht->nodes[index];
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE);
  g_autofree char *log = g_strdup_printf ("%s/dhtnode-%u.%u.log", dht->dir, index, ++node->starts);
  g_autofree char *network = g_strdup_printf ("%u", dht->network);
  g_autofree char *port = g_strdup_printf ("%u", node->dht_port);
  g_autofree char *proxy_port = g_strdup_printf ("%u", node->proxy_port);
  g_autofree char *bootstrap = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();

  g_ptr_array_add (argv, (gpointer) "dhtnode");
  /* -s: stays in the foreground, so the pid is the node's. */
  g_ptr_array_add (argv, (gpointer) "-s");
  g_ptr_array_add (argv, (gpointer) "-n");
  g_ptr_array_add (argv, network);
  g_ptr_array_add (argv, (gpointer) "-p");
  g_ptr_array_add (argv, port);
  if (index > 0)
    {
      bootstrap = g_strdup_printf ("127.0.0.1:%u", dht->nodes[0].dht_port);
      g_ptr_array_add (argv, (gpointer) "-b");
      g_ptr_array_add (argv, bootstrap);
    }
  else if (node->starts > 1)
    {
      bootstrap = g_strdup_printf ("127.0.0.1:%u", dht->nodes[1].dht_port);
      g_ptr_array_add (argv, (gpointer) "-b");
      g_ptr_array_add (argv, bootstrap);
    }
  g_ptr_array_add (argv, (gpointer) "--proxyserver");
  g_ptr_array_add (argv, proxy_port);
  g_ptr_array_add (argv, (gpointer) "--proxy-addr");
  g_ptr_array_add (argv, (gpointer) "127.0.0.1");
  g_ptr_array_add (argv, NULL);

  g_subprocess_launcher_set_stdout_file_path (launcher, log);
  g_subprocess_launcher_set_flags (launcher, G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE);
  /* The node dies with the test, however the test ends. */
  g_subprocess_launcher_set_child_setup (launcher, ferry_test_die_with_parent, GINT_TO_POINTER (getpid ()), NULL);

  g_clear_object (&node->process);
  node->process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, error);
  return node->process != NULL;
}

static void
node_kill (Node *node)
{
  if (node->process == NULL)
    return;
  /* By pid, and reaped. */
  g_subprocess_force_exit (node->process);
  g_subprocess_wait (node->process, NULL, NULL);
  g_clear_object (&node->process);
}

static char *
random_data (void)
{
  return g_strdup_printf ("ferry-test-ready-%08x%08x", g_random_int (), g_random_int ());
}

static gboolean
get_contains (FerryTestDht *dht,
              const char   *proxy,
              const char   *key,
              const char   *wanted)
{
  g_autoptr(GPtrArray) values = ferry_test_dht_get (dht->session, proxy, key, NULL);

  for (guint i = 0; values != NULL && i < values->len; i++)
    {
      GBytes *value = g_ptr_array_index (values, i);

      if (g_bytes_get_size (value) == strlen (wanted) &&
          memcmp (g_bytes_get_data (value, NULL), wanted, strlen (wanted)) == 0)
        return TRUE;
    }
  return FALSE;
}

/* Ready when a value put through @from reads back through @to. */
static gboolean
wait_path (FerryTestDht  *dht,
           guint          from,
           guint          to,
           GError       **error)
{
  g_autofree char *data = random_data ();
  g_autofree char *key = g_compute_checksum_for_string (G_CHECKSUM_SHA1, data, -1);
  g_autoptr(GBytes) bytes = g_bytes_new (data, strlen (data));
  gint64 deadline = g_get_monotonic_time () + READY_TIMEOUT_US;
  gboolean put = FALSE;

  while (g_get_monotonic_time () < deadline)
    {
      /* A node that died (e.g. its port was taken) has no pid any more. */
      if (dht->nodes[from].process == NULL || g_subprocess_get_identifier (dht->nodes[from].process) == NULL)
        break;
      if (!put)
        put = ferry_test_dht_put (dht->session, dht->nodes[from].proxy, key, bytes, 5, NULL);
      if (put && get_contains (dht, dht->nodes[to].proxy, key, data))
        return TRUE;
      g_usleep (50 * 1000);
    }

  g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
               "the DHT network is not ready: nothing put through %s reads back through %s (logs in %s)",
               dht->nodes[from].proxy, dht->nodes[to].proxy, dht->dir);
  return FALSE;
}

FerryTestDht *
ferry_test_dht_start (const char  *dir,
                      GError     **error)
{
  FerryTestDht *dht = g_new0 (FerryTestDht, 1);

  dht->dir = g_strdup (dir);
  dht->network = (guint) g_random_int_range (100000, G_MAXINT32);
  dht->session = soup_session_new_with_options ("timeout", 15, NULL);
  for (guint i = 0; i < FERRY_TEST_DHT_NODES; i++)
    {
      Node *node = &dht->nodes[i];

      node->dht_port = free_port (G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP);
      node->proxy_port = free_port (G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP);
      node->proxy = g_strdup_printf ("http://127.0.0.1:%u", node->proxy_port);
      if (!node_spawn (dht, i, error))
        {
          ferry_test_dht_stop (dht);
          return NULL;
        }
    }

  if (!wait_path (dht, 0, FERRY_TEST_DHT_NODES - 1, error))
    {
      ferry_test_dht_stop (dht);
      return NULL;
    }
  return dht;
}

const char *
ferry_test_dht_proxy (FerryTestDht *dht,
                      guint         index)
{
  g_assert_cmpuint (index, <, FERRY_TEST_DHT_NODES);
  return dht->nodes[index].proxy;
}

void
ferry_test_dht_kill (FerryTestDht *dht,
                     guint         index)
{
  g_assert_cmpuint (index, <, FERRY_TEST_DHT_NODES);
  node_kill (&dht->nodes[index]);
}

gboolean
ferry_test_dht_restart (FerryTestDht  *dht,
                        guint          index,
                        GError       **error)
{
  guint other = index == 0 ? 1 : 0;

  g_assert_cmpuint (index, <, FERRY_TEST_DHT_NODES);
  node_kill (&dht->nodes[index]);
  if (!node_spawn (dht, index, error))
    return FALSE;
  return wait_path (dht, other, index, error) && wait_path (dht, index, other, error);
}

void
ferry_test_dht_stop (FerryTestDht *dht)
{
  if (dht == NULL)
    return;
  for (guint i = 0; i < FERRY_TEST_DHT_NODES; i++)
    {
      node_kill (&dht->nodes[i]);
      g_free (dht->nodes[i].proxy);
    }
  g_clear_object (&dht->session);
  g_free (dht->dir);
  g_free (dht);
}

char *
ferry_test_dht_inbox_key (const char *device_id)
{
  g_autofree char *text = g_strconcat ("ferry:inbox:", device_id, NULL);

  return g_compute_checksum_for_string (G_CHECKSUM_SHA1, text, -1);
}

char *
ferry_test_dht_account_key (const char *account_id)
{
  g_autofree char *text = g_strconcat ("ferry:account:", account_id, NULL);

  return g_compute_checksum_for_string (G_CHECKSUM_SHA1, text, -1);
}

gboolean
ferry_test_dht_put_raw (SoupSession  *session,
                        const char   *proxy,
                        const char   *key,
                        const char   *data_b64,
                        guint         type,
                        GError      **error)
{
  g_autofree char *url = g_strdup_printf ("%s/key/%s", proxy, key);
  g_autoptr(SoupMessage) message = soup_message_new (SOUP_METHOD_POST, url);
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GBytes) response = NULL;
  g_autofree char *id = g_strdup_printf ("%" G_GUINT64_FORMAT,
                                         ((guint64) g_random_int () << 32) | g_random_int ());
  char *text;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "data");
  json_builder_add_string_value (builder, data_b64);
  json_builder_set_member_name (builder, "id");
  json_builder_add_string_value (builder, id);
  json_builder_set_member_name (builder, "type");
  json_builder_add_int_value (builder, type);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  text = json_to_string (root, FALSE);
  body = g_bytes_new_take (text, strlen (text));
  soup_message_set_request_body_from_bytes (message, "application/json", body);

  response = soup_session_send_and_read (session, message, NULL, error);
  if (response == NULL)
    return FALSE;
  if (!SOUP_STATUS_IS_SUCCESSFUL (soup_message_get_status (message)))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "POST %s: HTTP %u", url,
                   soup_message_get_status (message));
      return FALSE;
    }
  return TRUE;
}

gboolean
ferry_test_dht_put (SoupSession  *session,
                    const char   *proxy,
                    const char   *key,
                    GBytes       *data,
                    guint         type,
                    GError      **error)
{
  g_autofree char *b64 = g_base64_encode (g_bytes_get_data (data, NULL), g_bytes_get_size (data));

  return ferry_test_dht_put_raw (session, proxy, key, b64, type, error);
}

GPtrArray *
ferry_test_dht_get (SoupSession  *session,
                    const char   *proxy,
                    const char   *key,
                    GError      **error)
{
  g_autofree char *url = g_strdup_printf ("%s/key/%s", proxy, key);
  g_autoptr(SoupMessage) message = soup_message_new (SOUP_METHOD_GET, url);
  g_autoptr(GBytes) response = NULL;
  g_auto(GStrv) lines = NULL;
  g_autofree char *text = NULL;
  GPtrArray *values;

  response = soup_session_send_and_read (session, message, NULL, error);
  if (response == NULL)
    return NULL;
  if (!SOUP_STATUS_IS_SUCCESSFUL (soup_message_get_status (message)))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "GET %s: HTTP %u", url,
                   soup_message_get_status (message));
      return NULL;
    }

  values = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  text = g_strndup (g_bytes_get_data (response, NULL), g_bytes_get_size (response));
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      JsonObject *object;
      const char *data;
      guchar *decoded;
      gsize len = 0;

      if (*g_strstrip (lines[i]) == '\0' || !json_parser_load_from_data (parser, lines[i], -1, NULL) ||
          !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
        continue;
      object = json_node_get_object (json_parser_get_root (parser));
      data = json_object_get_string_member_with_default (object, "data", NULL);
      if (data == NULL)
        continue;
      decoded = g_base64_decode (data, &len);
      g_ptr_array_add (values, g_bytes_new_take (decoded, len));
    }
  return values;
}
