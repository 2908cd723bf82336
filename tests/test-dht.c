/* test-dht.c: the dht signaling on a private OpenDHT network
 *
 * Each test that needs the network starts two `dhtnode` processes with
 * proxies on loopback (random ports, a random network id: never the public
 * network) and stops them by pid (test-dht-common.c). Engines use the real
 * plugins: dht (and local-broadcast) signaling, lan transport on `lo`,
 * TLS 1.3, real files. Here: transfers, proxies that are missing, die,
 * come back or never answer, an engine on its own main context. Junk on
 * the network is in test-dht-hostile.c, the `ferry` tool in
 * test-dht-tool.c.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "test-dht-common.h"

/* Two engines on different proxies find each other and move a file. */
static void
test_transfer (Fixture       *fx,
               gconstpointer  data)
{
  FerryEngine *a, *b;
  g_autoptr(GError) error = NULL;
  FerryFeature *feature;

  if (fx->skipped)
    return;

  a = make_engine (fx, "alice", ferry_test_dht_proxy (fx->dht, 0));
  b = make_engine (fx, "bob", ferry_test_dht_proxy (fx->dht, 1));

  feature = ferry_registry_lookup_feature (ferry_engine_get_registry (a), FERRY_TYPE_SIGNALING, "dht");
  g_assert_nonnull (feature);
  g_assert_cmpuint (ferry_feature_get_rank (feature), ==, FERRY_RANK_PRIMARY);
  g_assert_true (ferry_engine_check_feature (a, feature, &error));
  g_assert_no_error (error);
  g_assert_null (ferry_engine_get_inactive_reason (a, "dht"));

  transfer (fx, a, b, "dht", 300 * 1024);
  /* And back, through the other proxy first. */
  transfer (fx, b, a, "dht", 1000);

  {
    g_autoptr(FerryPeer) peer = find_peer (a, account_of (b), 1000);
    g_autoptr(FerryDevice) device = g_list_model_get_item (ferry_peer_get_devices (peer), 0);

    g_assert_cmpstr (ferry_device_get_signaling (device), ==, "dht");
  }
}

/* No proxy, or none that answers: dht stays inactive and says why; with
 * local-broadcast alongside, devices still find each other. */
static void
test_proxy_down (Fixture       *fx,
                 gconstpointer  data)
{
  const char *dht_only[] = { "dht", NULL };
  const char *both[] = { "dht", "local-broadcast", NULL };
  guint16 dead_port = ferry_test_dht_free_tcp_port ();
  g_autofree char *dead = g_strdup_printf ("http://127.0.0.1:%u", dead_port);
  guint16 lb_port = ferry_test_free_udp_port ();
  g_autoptr(GError) error = NULL;
  FerryEngine *engine;
  FerryEngine *a, *b;
  GListModel *signalings;

  /* Nothing configured. */
  engine = try_engine (fx, "none", NULL, dht_only, 0, &error);
  g_assert_null (engine);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG);
  g_assert_nonnull (strstr (error->message, "no OpenDHT proxy configured"));
  g_assert_nonnull (strstr (error->message, "--dht-proxy"));
  g_clear_error (&error);

  /* Not a proxy URL. */
  engine = try_engine (fx, "ftp", "ftp://127.0.0.1/", dht_only, 0, &error);
  g_assert_null (engine);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG);
  g_assert_nonnull (strstr (error->message, "Invalid OpenDHT proxy URL"));
  g_clear_error (&error);

  /* Nothing listens there. */
  engine = try_engine (fx, "dead", dead, dht_only, 0, &error);
  g_assert_null (engine);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG);
  g_assert_nonnull (strstr (error->message, "no OpenDHT proxy answers"));
  g_assert_nonnull (strstr (error->message, dead));
  g_clear_error (&error);

  /* With local-broadcast too, the engines start and work without it. */
  a = try_engine (fx, "alice", dead, both, lb_port, &error);
  g_assert_no_error (error);
  b = try_engine (fx, "bob", dead, both, lb_port, &error);
  g_assert_no_error (error);
  g_object_unref (a);
  g_object_unref (b);
  g_assert_nonnull (strstr (ferry_engine_get_inactive_reason (a, "dht"), "no OpenDHT proxy answers"));
  g_assert_null (ferry_engine_get_inactive_reason (a, "local-broadcast"));
  signalings = ferry_engine_get_signalings (a);
  g_assert_cmpuint (g_list_model_get_n_items (signalings), ==, 1);
  {
    g_autoptr(FerrySignaling) only = g_list_model_get_item (signalings, 0);

    g_assert_cmpstr (ferry_signaling_get_name (only), ==, "local-broadcast");
  }

  transfer (fx, a, b, "local-broadcast", 64 * 1024);
}

/* A proxy that dies under a listening device and comes back: the device
 * listens again, and is reachable again. */
static void
test_proxy_restart (Fixture       *fx,
                    gconstpointer  data)
{
  FerryEngine *a, *b;
  g_autoptr(GError) error = NULL;
  g_autofree char *ended = NULL;
  g_autofree char *again = NULL;
  g_autofree char *failed = NULL;

  if (fx->skipped)
    return;

  a = make_engine (fx, "alice", ferry_test_dht_proxy (fx->dht, 0));
  b = make_engine (fx, "bob", ferry_test_dht_proxy (fx->dht, 1));
  transfer (fx, a, b, "dht", 10 * 1024);

  ended = g_strdup_printf ("Listening through the OpenDHT proxy %s ended", ferry_test_dht_proxy (fx->dht, 1));
  again = g_strdup_printf ("Listening through the OpenDHT proxy %s again", ferry_test_dht_proxy (fx->dht, 1));
  failed = g_strdup_printf ("listen through %s ended", ferry_test_dht_proxy (fx->dht, 1));
  g_assert_cmpuint (ferry_test_log_count (ended), ==, 0);
  g_assert_cmpuint (ferry_test_log_count (failed), ==, 0);

  /* Killed: to the listener it looks like a clean end of stream. */
  ferry_test_dht_kill (fx->dht, 1);
  wait_log (ended, 1, 10000);

  /* Down for a while: the listen keeps failing. Awaited as events (two
   * more attempts that failed, at most max-backoff apart), not slept. */
  wait_log (failed, 3, 30000);
  g_assert_cmpuint (ferry_test_log_count (again), ==, 0);

  g_assert_true (ferry_test_dht_restart (fx->dht, 1, &error));
  g_assert_no_error (error);
  wait_log (again, 1, 10000);

  transfer (fx, a, b, "dht", 20 * 1024);
  transfer (fx, b, a, "dht", 20 * 1024);
}

/* Several proxies: the first accepts connections and never answers, the
 * second refuses them; the plugin fails over to the third. */
static void
test_failover (Fixture       *fx,
               gconstpointer  data)
{
  guint16 dead_port = ferry_test_dht_free_tcp_port ();
  g_autoptr(GSocket) silent = NULL;
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *proxies = NULL;
  FerryEngine *a, *b;

  if (fx->skipped)
    return;

  /* Listening, never accepting: the kernel completes the handshakes. */
  silent = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_assert_true (g_socket_bind (silent, any, TRUE, &error));
  g_socket_set_listen_backlog (silent, 16);
  g_assert_true (g_socket_listen (silent, &error));
  bound = g_socket_get_local_address (silent, &error);
  g_assert_no_error (error);

  proxies = g_strdup_printf ("http://127.0.0.1:%u, http://127.0.0.1:%u, %s",
                             g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)),
                             dead_port, ferry_test_dht_proxy (fx->dht, 0));
  fx->dht_extra = "request-timeout=1\n";
  a = make_engine (fx, "alice", proxies);
  fx->dht_extra = NULL;
  b = make_engine (fx, "bob", ferry_test_dht_proxy (fx->dht, 1));

  transfer (fx, b, a, "dht", 4096);
  transfer (fx, a, b, "dht", 4096);
}

/* An engine on its own main context (not the global default): the
 * plugin's timers run there too, so a listen that a dead proxy ended is
 * retried while only that context turns. */
static void
test_own_context (Fixture       *fx,
                  gconstpointer  data)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *ended = NULL;
  g_autofree char *again = NULL;

  if (fx->skipped)
    return;

  g_main_context_push_thread_default (context);
  make_engine (fx, "alice", ferry_test_dht_proxy (fx->dht, 1));
  wait_log ("listening on", 1, 10000);

  ended = g_strdup_printf ("Listening through the OpenDHT proxy %s ended", ferry_test_dht_proxy (fx->dht, 1));
  again = g_strdup_printf ("Listening through the OpenDHT proxy %s again", ferry_test_dht_proxy (fx->dht, 1));
  ferry_test_dht_kill (fx->dht, 1);
  wait_log (ended, 1, 10000);
  g_assert_true (ferry_test_dht_restart (fx->dht, 1, &error));
  g_assert_no_error (error);
  /* Only the retry timer brings the listen back. */
  wait_log (again, 1, 20000);

  for (guint i = 0; i < fx->engines->len; i++)
    ferry_engine_stop (g_ptr_array_index (fx->engines, i));
  g_ptr_array_set_size (fx->engines, 0);
  while (g_main_context_iteration (context, FALSE))
    ;
  g_main_context_pop_thread_default (context);
}

int
main (int    argc,
      char **argv)
{
  dht_test_init (&argc, &argv);

  dht_test_add ("/dht/transfer", TRUE, test_transfer);
  dht_test_add ("/dht/proxy-down", FALSE, test_proxy_down);
  dht_test_add ("/dht/proxy-restart", TRUE, test_proxy_restart);
  dht_test_add ("/dht/failover", TRUE, test_failover);
  dht_test_add ("/dht/own-context", TRUE, test_own_context);

  return g_test_run ();
}
