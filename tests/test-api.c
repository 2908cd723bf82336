/* test-api.c: the application API: typed settings, start_async, the chain
 * as objects, clearing transfers, forgetting peers
 *
 * Real plugins on the loopback interface only.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "ferry.h"
#include "test-utils.h"

static FerryEngine *
new_engine (const char *dir,
            const char *name,
            const char *config)
{
  g_autofree char *home = g_build_filename (dir, name, NULL);
  g_autofree char *conf = g_build_filename (home, "ferry.conf", NULL);
  g_autoptr(GError) error = NULL;
  FerryEngine *engine;

  g_assert_cmpint (g_mkdir_with_parents (home, 0700), ==, 0);
  g_assert_true (g_file_set_contents (conf, config, -1, NULL));
  engine = ferry_engine_new (home, NULL, &error);
  g_assert_no_error (error);
  return engine;
}

static void
count_notify_cb (GObject    *object,
                 GParamSpec *pspec,
                 guint      *count)
{
  (*count)++;
}

static void
test_settings (void)
{
  g_autofree char *dir = ferry_test_make_dir ("settings");
  g_autoptr(FerryEngine) engine =
    new_engine (dir, "solo",
                "[core]\nsignalings=local-broadcast, dht\ndownload-dir=~/ferry-in\noffer-timeout=42\n"
                "send-rate-limit=1.5M\n"
                "[dht]\nproxies=http://127.0.0.1:1\n");
  g_autofree char *expected = g_build_filename (g_get_home_dir (), "ferry-in", NULL);
  g_autofree char *path = NULL;
  g_autofree char *stun = NULL;
  g_auto(GStrv) proxies = NULL;
  g_auto(GStrv) turn = NULL;
  g_auto(GStrv) names = NULL;
  g_autoptr(GFile) elsewhere = g_file_new_for_path (dir);
  const char *two[] = { "http://127.0.0.1:2", "http://127.0.0.1:3", NULL };
  const char *servers[] = { "turn:u:p@127.0.0.1:3478", NULL };
  const char *lan_only[] = { "lan", NULL };
  guint notified = 0;
  guint timeout = 0;
  guint64 rate = 0;

  /* What ferry.conf says, through the getters and the properties. */
  g_assert_cmpstrv (ferry_engine_get_signaling_names (engine),
                    ((const char *[]) { "local-broadcast", "dht", NULL }));
  g_assert_cmpstrv (ferry_engine_get_transport_names (engine), ((const char *[]) { "lan", NULL }));
  proxies = ferry_engine_dup_dht_proxies (engine);
  g_assert_cmpstrv (proxies, ((const char *[]) { "http://127.0.0.1:1", NULL }));
  g_assert_cmpuint (ferry_engine_get_offer_timeout (engine), ==, 42);
  g_assert_cmpuint (ferry_engine_get_send_rate_limit (engine), ==, 3 * 512 * 1024);
  g_object_get (engine, "offer-timeout", &timeout, "signaling-names", &names, NULL);
  g_assert_cmpuint (timeout, ==, 42);
  g_assert_cmpstrv (names, ferry_engine_get_signaling_names (engine));
  path = g_file_get_path (ferry_engine_get_download_dir (engine));
  g_assert_cmpstr (path, ==, expected);

  /* Set without touching ferry.conf; each change is notified. */
  g_signal_connect (engine, "notify", G_CALLBACK (count_notify_cb), &notified);
  ferry_engine_set_dht_proxies (engine, two);
  g_clear_pointer (&proxies, g_strfreev);
  g_object_get (engine, "dht-proxies", &proxies, NULL);
  g_assert_cmpstrv (proxies, two);
  ferry_engine_set_turn_servers (engine, servers);
  turn = ferry_engine_dup_turn_servers (engine);
  g_assert_cmpstrv (turn, servers);
  g_object_set (engine, "stun-server", "127.0.0.1:3479", "transport-names", lan_only,
                "offer-timeout", 7, "peer-expiry", 0, NULL);
  stun = ferry_engine_dup_stun_server (engine);
  g_assert_cmpstr (stun, ==, "127.0.0.1:3479");
  g_assert_cmpuint (ferry_engine_get_offer_timeout (engine), ==, 7);
  g_assert_cmpuint (ferry_engine_get_peer_expiry (engine), ==, 0);
  g_assert_cmpuint (notified, ==, 6);
  /* a rate below the smallest counts as the smallest; 0 is none */
  ferry_engine_set_send_rate_limit (engine, 100);
  g_object_get (engine, "send-rate-limit", &rate, NULL);
  g_assert_cmpuint (rate, ==, 1024);
  g_object_set (engine, "send-rate-limit", (guint64) 0, NULL);
  g_assert_cmpuint (ferry_engine_get_send_rate_limit (engine), ==, 0);
  g_assert_cmpuint (notified, ==, 8);

  ferry_engine_set_plugin_setting (engine, "lan", "port", "4444");
  g_clear_pointer (&path, g_free);
  path = ferry_engine_dup_plugin_setting (engine, "lan", "port");
  g_assert_cmpstr (path, ==, "4444");
  ferry_engine_set_plugin_setting (engine, "lan", "port", NULL);
  g_clear_pointer (&path, g_free);
  path = ferry_engine_dup_plugin_setting (engine, "lan", "port");
  g_assert_null (path);

  /* The download folder: set, then back to the default. */
  ferry_engine_set_download_dir (engine, elsewhere);
  g_assert_true (g_file_equal (ferry_engine_get_download_dir (engine), elsewhere));
  ferry_engine_set_download_dir (engine, NULL);
  g_clear_pointer (&path, g_free);
  path = g_file_get_path (ferry_engine_get_download_dir (engine));
  g_assert_cmpstr (path, ==, expected);

  /* The settings reached the plugins' view of the configuration. */
  g_clear_pointer (&path, g_free);
  path = ferry_engine_dup_plugin_setting (engine, "ice", "stun-server");
  g_assert_cmpstr (path, ==, "127.0.0.1:3479");
}

static void
started_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  GTask *out = user_data;
  GError *error = NULL;

  if (ferry_engine_start_finish (FERRY_ENGINE (source), result, &error))
    g_task_return_boolean (out, TRUE);
  else
    g_task_return_error (out, error);
  g_object_unref (out);
}

static gboolean
task_done (gpointer user_data)
{
  return g_task_get_completed (G_TASK (user_data));
}

static gboolean
start_async (FerryEngine  *engine,
             GError      **error)
{
  g_autoptr(GTask) out = g_task_new (NULL, NULL, NULL, NULL);
  const char *lo[] = { "lo", NULL };

  ferry_engine_set_interfaces (engine, lo);
  ferry_engine_start_async (engine, NULL, started_cb, g_object_ref (out));
  /* Never before start_async returns. */
  g_assert_false (g_task_get_completed (out));
  ferry_test_wait_until (task_done, out, 30000, "the engine to start");
  return g_task_propagate_boolean (out, error);
}

/* The interfaces a plugin is given: only "lo", chosen by the test, with
 * its index, addresses and networks. */
static void
check_listed_interfaces (FerryPluginContext *context)
{
  g_autoptr(GListModel) listed = ferry_plugin_context_list_interfaces (context);
  g_autoptr(GListModel) all = ferry_network_interface_list_all ();
  g_autoptr(GListModel) chosen = ferry_network_interface_list ((const char *[]) { "lo", NULL });
  g_autoptr(GInetAddressMask) network = NULL;
  g_autoptr(GInetAddress) other = g_inet_address_new_from_string ("192.0.2.1");
  g_autoptr(FerryNetworkInterface) lo = NULL;
  GPtrArray *addresses;
  GInetAddress *ipv4 = NULL;

  g_assert_cmpuint (g_list_model_get_n_items (listed), ==, 1);
  g_assert_cmpuint (g_list_model_get_n_items (chosen), ==, 1);
  g_assert_cmpuint (g_list_model_get_n_items (all), >=, 1);
  lo = g_list_model_get_item (listed, 0);
  g_assert_cmpstr (ferry_network_interface_get_name (lo), ==, "lo");
  g_assert_true (ferry_network_interface_get_is_loopback (lo));
  g_assert_cmpuint (ferry_network_interface_get_index (lo), >, 0);

  addresses = ferry_network_interface_get_addresses (lo);
  for (guint i = 0; i < addresses->len && ipv4 == NULL; i++)
    if (g_inet_address_get_family (g_ptr_array_index (addresses, i)) == G_SOCKET_FAMILY_IPV4)
      ipv4 = g_ptr_array_index (addresses, i);
  g_assert_nonnull (ipv4);
  network = ferry_network_interface_dup_network (lo, ipv4);
  g_assert_nonnull (network);
  g_assert_true (g_inet_address_mask_matches (network, ipv4));
  g_assert_cmpuint (g_inet_address_mask_get_length (network), <=, 32);
  g_assert_null (ferry_network_interface_dup_network (lo, other));
}

static void
test_start_async (void)
{
  g_autofree char *dir = ferry_test_make_dir ("start");
  guint16 conf_port = ferry_test_free_udp_port ();
  g_autofree char *conf = g_strdup_printf ("[local-broadcast]\nport=%u\n", conf_port);
  g_autoptr(FerryEngine) engine = new_engine (dir, "one", conf);
  g_autoptr(FerryEngine) unknown = new_engine (dir, "two", "");
  g_autoptr(FerryEngine) dht = new_engine (dir, "three", "");
  g_autoptr(GError) error = NULL;
  g_autofree char *closed = g_strdup_printf ("http://127.0.0.1:%u", ferry_test_free_udp_port ());
  const char *proxies[] = { closed, NULL };
  const char *only_dht[] = { "dht", NULL };
  const char *nothing[] = { "no-such-signaling", NULL };

  g_assert_true (start_async (engine, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_list_model_get_n_items (ferry_engine_get_signalings (engine)), ==, 1);
  g_assert_cmpuint (g_list_model_get_n_items (ferry_engine_get_transports (engine)), ==, 1);

  /* What the plugins may ask of the engine, off FerryEngine. */
  {
    g_autoptr(FerrySignaling) signaling = g_list_model_get_item (ferry_engine_get_signalings (engine), 0);
    g_autoptr(FerryTransport) transport = g_list_model_get_item (ferry_engine_get_transports (engine), 0);
    FerryPluginContext *context = ferry_signaling_get_plugin_context (signaling);
    g_autofree char *port = g_strdup_printf ("%u", conf_port);
    g_autofree char *setting = ferry_plugin_context_dup_setting (context, "port");
    g_autoptr(GBytes) announcement = ferry_plugin_context_get_announcement (context);
    g_autoptr(GPtrArray) addresses = NULL;
    g_auto(GStrv) interfaces = ferry_plugin_context_dup_interfaces (context);
    g_autofree char *first = NULL;

    g_assert_true (context == ferry_signaling_get_plugin_context (signaling));
    g_assert_cmpstr (ferry_plugin_context_get_name (context), ==, "local-broadcast");
    g_assert_true (ferry_plugin_context_get_main_context (context) == g_main_context_ref_thread_default ());
    g_main_context_unref (ferry_plugin_context_get_main_context (context));
    g_assert_cmpstr (setting, ==, port);
    g_assert_cmpuint (g_bytes_get_size (announcement), >, 0);
    g_assert_cmpstrv (interfaces, ((const char *[]) { "lo", NULL }));
    check_listed_interfaces (context);
    context = ferry_transport_get_plugin_context (transport);
    g_assert_cmpstr (ferry_plugin_context_get_name (context), ==, "lan");
    addresses = ferry_plugin_context_get_local_addresses (context);
    g_assert_cmpuint (addresses->len, >=, 1);
    first = g_inet_address_to_string (g_ptr_array_index (addresses, 0));
    g_assert_true (g_str_has_prefix (first, "127."));
  }

  ferry_engine_set_signalings (unknown, nothing);
  g_assert_false (start_async (unknown, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG);
  g_clear_error (&error);
  g_assert_cmpuint (g_list_model_get_n_items (ferry_engine_get_transports (unknown)), ==, 0);

  /* The dht check connects to its proxy (on the worker thread): nothing
   * listens there, so dht stays inactive and no signaling is left. */
  ferry_engine_set_signalings (dht, only_dht);
  ferry_engine_set_dht_proxies (dht, proxies);
  g_assert_false (start_async (dht, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG);
  g_assert_nonnull (ferry_engine_get_inactive_reason (dht, "dht"));
  g_assert_cmpuint (g_list_model_get_n_items (ferry_engine_get_signalings (dht)), ==, 0);
}

static guint16
free_tcp_port (void)
{
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                            G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  g_assert_nonnull (socket);
  g_assert_true (g_socket_bind (socket, any, FALSE, NULL));
  bound = g_socket_get_local_address (socket, NULL);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

/* A setting an application set with ferry_engine_set_plugin_setting()
 * reaches the plugin, which reads it as it reads ferry.conf: bad values
 * are refused with the same errors. */
static void
test_plugin_settings (void)
{
  g_autofree char *dir = ferry_test_make_dir ("plugin-settings");
  g_autoptr(FerryEngine) engine = new_engine (dir, "set", "");
  guint16 udp = ferry_test_free_udp_port ();
  guint16 tcp = free_tcp_port ();
  g_autofree char *udp_text = g_strdup_printf ("%u", udp);
  g_autofree char *tcp_text = g_strdup_printf ("%u", tcp);
  g_autofree char *expected = g_strdup_printf ("127.0.0.1:%u", tcp);
  g_autoptr(GError) error = NULL;
  const struct {
    const char *plugin, *key, *value, *message;
  } bad[] = {
    { "lan", "port", "65536", "Invalid [lan] port: expected a number from 0 to 65535" },
    { "lan", "port", " 80", "Invalid [lan] port" },
    { "lan", "port", "80\\", "Invalid [lan] port" },
    { "lan", "port", "", "Invalid [lan] port" },
    { "local-broadcast", "port", "0", "Invalid [local-broadcast] port: expected a number from 1 to 65535" },
    { "local-broadcast", "announce-interval", "86401", "Invalid [local-broadcast] announce-interval" },
    { "local-broadcast", "announce-interval", "5s", "Invalid [local-broadcast] announce-interval" },
    { "local-broadcast", "group", "127.0.0.1", "Invalid [local-broadcast] group “127.0.0.1”" },
  };

  ferry_engine_set_plugin_setting (engine, "lan", "port", tcp_text);
  ferry_engine_set_plugin_setting (engine, "local-broadcast", "port", udp_text);
  ferry_engine_set_plugin_setting (engine, "local-broadcast", "announce-interval", "+7");
  ferry_engine_set_plugin_setting (engine, "local-broadcast", "group", " 239.255.70.77 ");
  ferry_engine_set_plugin_setting (engine, "lan", "servers", "a;b;");
  ferry_engine_set_plugin_setting (engine, "lan", "udp", "false");
  ferry_engine_set_plugin_setting (engine, "lan", "tcp", "maybe");
  ferry_engine_set_connect_timeout (engine, 12);
  g_assert_true (start_async (engine, &error));
  g_assert_no_error (error);

  {
    g_autoptr(FerryTransport) transport = g_list_model_get_item (ferry_engine_get_transports (engine), 0);
    g_autoptr(FerrySignaling) signaling = g_list_model_get_item (ferry_engine_get_signalings (engine), 0);
    FerryPluginContext *context = ferry_signaling_get_plugin_context (signaling);
    g_auto(GStrv) listening = ferry_transport_dup_listen_addresses (transport);
    gboolean found = FALSE;
    gint64 number = 3;
    double real = 0.5;

    for (guint i = 0; listening[i] != NULL; i++)
      found |= g_str_has_suffix (listening[i], expected);
    g_assert_true (found);

    g_assert_true (ferry_plugin_context_get_int64_setting (context, "announce-interval", &number, &error));
    g_assert_no_error (error);
    g_assert_cmpint (number, ==, 7);
    g_assert_true (ferry_plugin_context_get_double_setting (context, "announce-interval", &real, &error));
    g_assert_cmpfloat (real, ==, 7.0);
    number = 3;
    g_assert_true (ferry_plugin_context_get_int64_setting (context, "unset", &number, &error));
    g_assert_cmpint (number, ==, 3);
    g_assert_false (ferry_plugin_context_get_int64_setting (context, "group", &number, &error));
    g_assert_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE);
    g_clear_error (&error);
    g_assert_cmpint (number, ==, 3);
    g_assert_cmpstr (ferry_plugin_context_get_account_id (context), ==,
                     ferry_identity_get_account_id (ferry_engine_get_identity (engine)));
    g_assert_cmpstr (ferry_plugin_context_get_device_id (context), ==,
                     ferry_identity_get_device_id (ferry_engine_get_identity (engine)));
    g_assert_cmpstr (ferry_plugin_context_get_home (context), ==, ferry_engine_get_home (engine));

    /* The other readers, on the transport's own group. */
    context = ferry_transport_get_plugin_context (transport);
    {
      g_auto(GStrv) list = ferry_plugin_context_dup_setting_list (context, "servers");
      gboolean flag = TRUE;

      g_assert_cmpstrv (list, ((const char *[]) { "a", "b", NULL }));
      g_assert_null (ferry_plugin_context_dup_setting_list (context, "unset"));
      g_assert_true (ferry_plugin_context_get_boolean_setting (context, "udp", &flag, &error));
      g_assert_false (flag);
      g_assert_false (ferry_plugin_context_get_boolean_setting (context, "tcp", &flag, &error));
      g_assert_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE);
      g_clear_error (&error);
      g_assert_true (ferry_plugin_context_get_core_int64_setting (context, "connect-timeout", &number, &error));
      g_assert_cmpint (number, ==, 12);
    }
  }

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *name = g_strdup_printf ("bad%u", i);
      g_autoptr(FerryEngine) refused = new_engine (dir, name, "");

      ferry_engine_set_plugin_setting (refused, "local-broadcast", "port", udp_text);
      ferry_engine_set_plugin_setting (refused, bad[i].plugin, bad[i].key, bad[i].value);
      g_assert_false (start_async (refused, &error));
      g_assert_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG);
      if (strstr (error->message, bad[i].message) == NULL)
        g_error ("%s %s=“%s”: %s", bad[i].plugin, bad[i].key, bad[i].value, error->message);
      g_clear_error (&error);
    }
}

typedef struct {
  char          *download;
  FerryTransfer *incoming;
} Receiver;

static void
transfer_requested_cb (FerryEngine   *engine,
                       FerryTransfer *transfer,
                       Receiver      *receiver)
{
  g_set_object (&receiver->incoming, transfer);
  ferry_transfer_accept (transfer, ferry_engine_get_download_dir (engine));
}

static FerryPeer *
find_peer (FerryEngine *engine,
           const char  *query)
{
  g_autoptr(GError) error = NULL;
  FerryPeer *peer = ferry_test_find_peer (engine, query, 10000, NULL, &error);

  g_assert_no_error (error);
  return peer;
}

static gboolean
transfer_done (gpointer user_data)
{
  return ferry_transfer_is_done (FERRY_TRANSFER (user_data));
}

static void
check_segments (FerryTransfer *transfer)
{
  GListModel *segments = ferry_transfer_get_chain_segments (transfer);
  g_autoptr(FerryChainSegment) signaling = NULL;
  g_autoptr(FerryChainSegment) transport = NULL;
  g_autoptr(FerryChainSegment) channel = NULL;
  g_autofree char *text = NULL;
  g_autofree char *joined = NULL;
  const char * const *addresses;

  g_assert_cmpuint (g_list_model_get_n_items (segments), ==, 3);
  signaling = g_list_model_get_item (segments, 0);
  transport = g_list_model_get_item (segments, 1);
  channel = g_list_model_get_item (segments, 2);
  g_assert_cmpint (ferry_chain_segment_get_kind (signaling), ==, FERRY_CHAIN_SEGMENT_SIGNALING);
  g_assert_cmpstr (ferry_chain_segment_get_name (signaling), ==, "local-broadcast");
  g_assert_cmpuint (ferry_chain_segment_get_bytes (signaling), ==, 0);
  g_assert_cmpint (ferry_chain_segment_get_kind (transport), ==, FERRY_CHAIN_SEGMENT_TRANSPORT);
  g_assert_cmpstr (ferry_chain_segment_get_name (transport), ==, "lan");
  g_assert_true (g_str_has_prefix (ferry_chain_segment_get_details (transport), "tcp 127.0.0.1:"));
  addresses = ferry_chain_segment_get_addresses (transport);
  g_assert_cmpuint (g_strv_length ((char **) addresses), ==, 1);
  g_assert_true (g_str_has_prefix (addresses[0], "127.0.0.1:"));
  g_assert_cmpuint (ferry_chain_segment_get_bytes (transport), ==, ferry_transfer_get_bytes (transfer));
  g_assert_cmpint (ferry_chain_segment_get_kind (channel), ==, FERRY_CHAIN_SEGMENT_CHANNEL);
  g_assert_true (g_str_has_prefix (ferry_chain_segment_get_name (channel), "tls1.3/"));
  g_assert_null (ferry_chain_segment_get_details (channel));
  g_assert_cmpuint (ferry_chain_segment_get_bytes (channel), ==, ferry_transfer_get_bytes (transfer));

  /* The display string is made of the segments. */
  text = ferry_chain_segment_to_string (transport);
  joined = g_strdup_printf ("local-broadcast → %s → %s", text, ferry_chain_segment_get_name (channel));
  g_assert_cmpstr (ferry_transfer_get_chain (transfer), ==, joined);
}

static void
history_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  GTask *out = user_data;
  GError *error = NULL;
  GListModel *history = ferry_engine_list_history_finish (FERRY_ENGINE (source), result, &error);

  if (history != NULL)
    g_task_return_pointer (out, history, g_object_unref);
  else
    g_task_return_error (out, error);
  g_object_unref (out);
}

static void
check_history (FerryEngine   *engine,
               FerryTransfer *transfer,
               FerryEngine   *peer)
{
  g_autoptr(GTask) out = g_task_new (NULL, NULL, NULL, NULL);
  g_autoptr(GListModel) history = NULL;
  g_autoptr(FerryHistoryRecord) record = NULL;
  g_autoptr(FerryTransferFile) file = NULL;
  g_autoptr(GError) error = NULL;

  ferry_engine_list_history_async (engine, NULL, history_cb, g_object_ref (out));
  ferry_test_wait_until (task_done, out, 15000, "the history");
  history = g_task_propagate_pointer (out, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_list_model_get_n_items (history), ==, 1);
  record = g_list_model_get_item (history, 0);
  g_assert_cmpstr (ferry_history_record_get_id (record), ==, ferry_transfer_get_id (transfer));
  g_assert_cmpint (ferry_history_record_get_direction (record), ==, ferry_transfer_get_direction (transfer));
  g_assert_cmpint (ferry_history_record_get_state (record), ==, FERRY_TRANSFER_STATE_FINISHED);
  g_assert_null (ferry_history_record_get_error_message (record));
  g_assert_nonnull (ferry_history_record_get_created (record));
  g_assert_cmpstr (ferry_history_record_get_peer_account_id (record), ==,
                   ferry_identity_get_account_id (ferry_engine_get_identity (peer)));
  g_assert_cmpstr (ferry_history_record_get_chain (record), ==, ferry_transfer_get_chain (transfer));
  g_assert_cmpuint (ferry_history_record_get_total_size (record), ==, ferry_transfer_get_total_size (transfer));
  g_assert_cmpuint (ferry_history_record_get_bytes (record), ==, ferry_transfer_get_bytes (transfer));
  g_assert_cmpuint (g_list_model_get_n_items (ferry_history_record_get_files (record)), ==, 1);
  file = g_list_model_get_item (ferry_history_record_get_files (record), 0);
  g_assert_cmpstr (ferry_transfer_file_get_name (file), ==, "payload.bin");
  g_assert_nonnull (ferry_transfer_file_get_sha3_256 (file));
}

static gboolean
no_peer (gpointer user_data)
{
  return g_list_model_get_n_items (ferry_engine_get_peers (FERRY_ENGINE (user_data))) == 0;
}

static void
test_models (void)
{
  g_autofree char *dir = ferry_test_make_dir ("models");
  g_autofree char *conf_a = NULL, *conf_b = NULL;
  g_autofree char *payload = g_build_filename (dir, "payload.bin", NULL);
  g_autofree char *received = NULL;
  g_autoptr(FerryEngine) a = NULL;
  g_autoptr(FerryEngine) b = NULL;
  g_autoptr(FerryPeer) peer = NULL;
  g_autoptr(FerryDevice) device = NULL;
  g_autoptr(FerryTransfer) transfer = NULL;
  g_autoptr(GFile) file = g_file_new_for_path (payload);
  g_autoptr(GDateTime) seen = NULL;
  g_autoptr(GError) error = NULL;
  Receiver receiver = { NULL, NULL };
  guint16 port = ferry_test_free_udp_port ();
  gint64 before = g_get_real_time () / G_USEC_PER_SEC;

  conf_a = g_strdup_printf ("[core]\nname=alice\n[local-broadcast]\nport=%u\n", port);
  conf_b = g_strdup_printf ("[core]\nname=bob\ndownload-dir=%s/in\n[local-broadcast]\nport=%u\n", dir, port);
  a = new_engine (dir, "alice", conf_a);
  b = new_engine (dir, "bob", conf_b);
  receiver.download = g_build_filename (dir, "in", NULL);
  g_assert_cmpint (g_mkdir_with_parents (receiver.download, 0700), ==, 0);
  g_signal_connect (b, "transfer-requested", G_CALLBACK (transfer_requested_cb), &receiver);
  ferry_test_write_random (payload, 2 * 1024 * 1024 + 5, 3);
  g_assert_true (start_async (a, &error));
  g_assert_true (start_async (b, &error));

  peer = find_peer (a, "bob");
  device = g_list_model_get_item (ferry_peer_get_devices (peer), 0);
  seen = ferry_device_dup_last_seen_time (device);
  g_assert_nonnull (seen);
  g_assert_cmpint (g_date_time_to_unix (seen), >=, before);

  transfer = ferry_engine_send (a, peer, &file, 1, &error);
  g_assert_no_error (error);
  ferry_test_wait_until (transfer_done, transfer, 30000, "the transfer to end");
  g_assert_cmpint (ferry_transfer_get_state (transfer), ==, FERRY_TRANSFER_STATE_FINISHED);
  check_segments (transfer);
  ferry_test_wait_until (transfer_done, receiver.incoming, 30000, "the incoming transfer to end");
  check_segments (receiver.incoming);
  received = g_build_filename (receiver.download, "payload.bin", NULL);
  g_assert_true (ferry_test_files_equal (payload, received));

  check_history (a, transfer, b);
  check_history (b, receiver.incoming, a);

  /* The account's devices, as objects: this one first. */
  {
    g_autoptr(GListModel) devices = ferry_engine_list_account_devices (a);
    g_autoptr(FerryAccountDevice) own = NULL;

    g_assert_cmpuint (g_list_model_get_n_items (devices), >=, 1);
    own = g_list_model_get_item (devices, 0);
    g_assert_true (ferry_account_device_get_is_this (own));
    g_assert_false (ferry_account_device_get_revoked (own));
    g_assert_cmpstr (ferry_account_device_get_device_id (own), ==,
                     ferry_identity_get_device_id (ferry_engine_get_identity (a)));
    g_assert_nonnull (ferry_account_device_get_last_seen (own));
  }

  /* Finished transfers can be cleared. */
  g_assert_cmpuint (g_list_model_get_n_items (ferry_engine_get_transfers (a)), ==, 1);
  g_assert_cmpuint (ferry_engine_clear_finished_transfers (a), ==, 1);
  g_assert_cmpuint (g_list_model_get_n_items (ferry_engine_get_transfers (a)), ==, 0);

  /* bob goes away: alice forgets him after the expiry. */
  ferry_engine_set_peer_expiry (a, 1);
  ferry_engine_stop (b);
  ferry_test_wait_until (no_peer, a, 15000, "alice to forget bob");
  g_assert_cmpuint (g_list_model_get_n_items (ferry_peer_get_devices (peer)), ==, 0);

  ferry_engine_stop (a);
  g_clear_object (&receiver.incoming);
  g_free (receiver.download);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  /* The dht check connects without asking the desktop for a proxy. */
  g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", TRUE);

  g_test_add_func ("/api/settings", test_settings);
  g_test_add_func ("/api/start-async", test_start_async);
  g_test_add_func ("/api/plugin-settings", test_plugin_settings);
  g_test_add_func ("/api/models", test_models);

  return g_test_run ();
}
