/* test-dht.c: the dht signaling on a private OpenDHT network
 *
 * Each test that needs the network starts two `dhtnode` processes with
 * proxies on loopback (random ports, a random network id: never the public
 * network) and stops them by pid. Engines use the real plugins: dht (and
 * local-broadcast) signaling, lan transport on `lo`, TLS 1.3, real files.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <json-glib/json-glib.h>

#include "ferry.h"
#include "dht-helpers.h"
#include "test-utils.h"

#define FRAME_HEADER_SIZE (4 + 1 + 64)

typedef struct {
  char          *dir;
  FerryTestDht  *dht;
  SoupSession   *session;
  GPtrArray     *engines;     /* FerryEngine */
  GPtrArray     *requested;   /* FerryTransfer, incoming */
  const char    *dht_extra;   /* more lines for [dht] of the next engine */
  gboolean       skipped;
} Fixture;

/* ------------------------------------------------------------ log capture */

/* The lines that say something was dropped, skipped or reconnected,
 * debug ones included, so that tests can wait for them. */
static const char * const log_needles[] = {
  "dropped", "skipped", "Listening", "listen through", "listening on", NULL
};

typedef struct {
  const char *needle;
  guint       at_least;
} LogWait;

static gboolean
log_has (gpointer user_data)
{
  LogWait *wait = user_data;

  return ferry_test_log_count (wait->needle) >= wait->at_least;
}

static void
wait_log (const char *needle,
          guint       at_least,
          guint       timeout_ms)
{
  LogWait wait = { needle, at_least };
  g_autofree char *what = g_strdup_printf ("%u log lines with “%s”", at_least, needle);

  ferry_test_wait_until (log_has, &wait, timeout_ms, what);
}

/* ---------------------------------------------------------------- fixture */

static void
transfer_requested_cb (FerryEngine   *engine,
                       FerryTransfer *transfer,
                       Fixture       *fx)
{
  const char *name = ferry_identity_get_name (ferry_engine_get_identity (engine));
  g_autofree char *path = g_build_filename (fx->dir, "download", name, NULL);
  g_autoptr(GFile) dir = g_file_new_for_path (path);

  g_assert_cmpint (g_mkdir_with_parents (path, 0700), ==, 0);
  g_ptr_array_add (fx->requested, g_object_ref (transfer));
  ferry_transfer_accept (transfer, dir);
}

/* An engine named @name; @proxies is the [dht] proxies value (NULL: none).
 * Returns NULL with @error when it does not start. */
static FerryEngine *
try_engine (Fixture            *fx,
            const char         *name,
            const char         *proxies,
            const char * const *signalings,
            guint16             lb_port,
            GError            **error)
{
  g_autofree char *home = g_build_filename (fx->dir, name, NULL);
  g_autofree char *conf = g_build_filename (home, "ferry.conf", NULL);
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(FerryEngine) engine = NULL;
  const char *lo[] = { "lo", NULL };
  const char *transports[] = { "lan", NULL };

  g_string_append_printf (text, "[core]\nname=%s\n", name);
  /* Quick reconnections, so that tests do not wait long. */
  g_string_append (text, "[dht]\nmax-backoff=0.5\n");
  if (fx->dht_extra != NULL)
    g_string_append (text, fx->dht_extra);
  if (proxies != NULL)
    g_string_append_printf (text, "proxies=%s\n", proxies);
  g_string_append_printf (text, "[local-broadcast]\nport=%u\n", lb_port ? lb_port : 9);

  g_assert_cmpint (g_mkdir_with_parents (home, 0700), ==, 0);
  g_assert_true (g_file_set_contents (conf, text->str, -1, NULL));
  engine = ferry_engine_new (home, NULL, error);
  g_assert_nonnull (engine);
  ferry_engine_set_interfaces (engine, lo);
  ferry_engine_set_signalings (engine, signalings);
  ferry_engine_set_transports (engine, transports);
  if (!ferry_engine_start (engine, error))
    return NULL;

  g_signal_connect (engine, "transfer-requested", G_CALLBACK (transfer_requested_cb), fx);
  g_ptr_array_add (fx->engines, g_object_ref (engine));
  return g_steal_pointer (&engine);
}

static FerryEngine *
make_engine (Fixture    *fx,
             const char *name,
             const char *proxies)
{
  const char *signalings[] = { "dht", NULL };
  g_autoptr(GError) error = NULL;
  FerryEngine *engine = try_engine (fx, name, proxies, signalings, 0, &error);

  g_assert_no_error (error);
  g_assert_nonnull (engine);
  g_object_unref (engine);  /* the fixture keeps it */
  return engine;
}

static void
fixture_set_up (Fixture       *fx,
                gconstpointer  data)
{
  gboolean network = GPOINTER_TO_INT (data);
  g_autoptr(GError) error = NULL;

  fx->dir = ferry_test_make_dir ("dht");
  fx->engines = g_ptr_array_new_with_free_func (g_object_unref);
  fx->requested = g_ptr_array_new_with_free_func (g_object_unref);
  fx->session = soup_session_new_with_options ("timeout", 20, NULL);
  ferry_test_log_clear ();

  if (!network)
    return;
  if (!ferry_test_dht_available ())
    {
      ferry_test_skip_or_fail ("dhtnode is not installed (Debian package dhtnode)");
      fx->skipped = TRUE;
      return;
    }
  fx->dht = ferry_test_dht_start (fx->dir, &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture       *fx,
                   gconstpointer  data)
{
  for (guint i = 0; i < fx->engines->len; i++)
    ferry_engine_stop (g_ptr_array_index (fx->engines, i));
  g_clear_pointer (&fx->requested, g_ptr_array_unref);
  g_clear_pointer (&fx->engines, g_ptr_array_unref);
  /* Let cancelled requests finish. */
  for (guint i = 0; i < 50 && g_main_context_iteration (NULL, FALSE); i++)
    ;
  ferry_test_dht_stop (fx->dht);
  g_clear_object (&fx->session);
  g_free (fx->dir);
}

/* ---------------------------------------------------------------- helpers */

static const char *
account_of (FerryEngine *engine)
{
  return ferry_identity_get_account_id (ferry_engine_get_identity (engine));
}

static const char *
device_of (FerryEngine *engine)
{
  return ferry_identity_get_device_id (ferry_engine_get_identity (engine));
}

static void
find_peer_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  GTask *out = user_data;
  GError *error = NULL;
  FerryPeer *peer = ferry_engine_find_peer_finish (FERRY_ENGINE (source), result, &error);

  if (peer != NULL)
    g_task_return_pointer (out, peer, g_object_unref);
  else
    g_task_return_error (out, error);
  g_object_unref (out);
}

static gboolean
task_done (gpointer user_data)
{
  return g_task_get_completed (G_TASK (user_data));
}

static FerryPeer *
find_peer (FerryEngine *engine,
           const char  *query,
           guint        timeout_ms)
{
  g_autoptr(GTask) out = g_task_new (NULL, NULL, NULL, NULL);
  g_autoptr(GError) error = NULL;
  FerryPeer *peer;

  ferry_engine_find_peer_async (engine, query, timeout_ms, NULL, find_peer_cb, g_object_ref (out));
  ferry_test_wait_until (task_done, out, timeout_ms + 5000, "find_peer to answer");
  peer = g_task_propagate_pointer (out, &error);
  g_assert_no_error (error);
  g_assert_nonnull (peer);
  return peer;
}

static gboolean
transfer_done (gpointer user_data)
{
  return ferry_transfer_is_done (FERRY_TRANSFER (user_data));
}

/* Sends a file from @from to @to (found by its account id) and checks that
 * it arrived intact, through @signaling. */
static void
transfer (Fixture     *fx,
          FerryEngine *from,
          FerryEngine *to,
          const char  *signaling,
          gsize        size)
{
  static guint counter;
  g_autoptr(FerryPeer) peer = NULL;
  g_autoptr(FerryTransfer) outgoing = NULL;
  g_autoptr(GFile) file = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(FerryDevice) device = NULL;
  g_autofree char *name = g_strdup_printf ("file-%u.bin", ++counter);
  g_autofree char *source = g_build_filename (fx->dir, name, NULL);
  g_autofree char *received = NULL;
  g_autofree char *prefix = g_strconcat (signaling, " → lan", NULL);
  const char *to_name = ferry_identity_get_name (ferry_engine_get_identity (to));
  guint requested = fx->requested->len;
  FerryTransfer *incoming;

  ferry_test_write_random (source, size, counter);
  peer = find_peer (from, account_of (to), 15000);
  g_assert_cmpstr (ferry_peer_get_account_id (peer), ==, account_of (to));
  g_assert_cmpstr (ferry_peer_get_name (peer), ==, to_name);
  device = g_list_model_get_item (ferry_peer_get_devices (peer), 0);
  g_assert_cmpstr (ferry_device_get_device_id (device), ==, device_of (to));

  file = g_file_new_for_path (source);
  outgoing = ferry_engine_send (from, peer, &file, 1, &error);
  g_assert_no_error (error);
  ferry_test_wait_until (transfer_done, outgoing, 30000, "the transfer to end");
  if (ferry_transfer_get_error (outgoing) != NULL)
    g_error ("transfer failed: %s", ferry_transfer_get_error (outgoing)->message);
  g_assert_cmpint (ferry_transfer_get_state (outgoing), ==, FERRY_TRANSFER_STATE_FINISHED);
  g_assert_true (g_str_has_prefix (ferry_transfer_get_chain (outgoing), prefix));

  g_assert_cmpuint (fx->requested->len, ==, requested + 1);
  incoming = g_ptr_array_index (fx->requested, requested);
  ferry_test_wait_until (transfer_done, incoming, 10000, "the incoming transfer to end");
  g_assert_cmpint (ferry_transfer_get_state (incoming), ==, FERRY_TRANSFER_STATE_FINISHED);
  g_assert_true (g_str_has_prefix (ferry_transfer_get_chain (incoming), prefix));
  received = g_build_filename (fx->dir, "download", to_name, name, NULL);
  g_assert_true (ferry_test_files_equal (source, received));
}

static GBytes *
make_frame (char          kind,
            const char   *sender,
            const void   *payload,
            gsize         size)
{
  GByteArray *frame = g_byte_array_new ();

  g_byte_array_append (frame, (const guint8 *) "FDH1", 4);
  g_byte_array_append (frame, (const guint8 *) &kind, 1);
  g_byte_array_append (frame, (const guint8 *) sender, 64);
  g_byte_array_append (frame, payload, size);
  return g_byte_array_free_to_bytes (frame);
}

static void
put (Fixture    *fx,
     guint       proxy,
     const char *key,
     GBytes     *data)
{
  g_autoptr(GError) error = NULL;

  ferry_test_dht_put (fx->session, ferry_test_dht_proxy (fx->dht, proxy), key, data, 5, &error);
  g_assert_no_error (error);
}

/* ------------------------------------------------------------------ tests */

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

/* Junk written to a device's inbox by hand is dropped and counted; the
 * device keeps working. */
static void
test_junk (Fixture       *fx,
           gconstpointer  data)
{
  FerryEngine *a, *b, *c;
  g_autofree char *inbox_b = NULL;
  g_autofree char *inbox_c = NULL;
  g_autofree char *account_a = NULL;
  g_autoptr(GPtrArray) to_b = NULL;
  g_autoptr(GPtrArray) to_c = NULL;
  g_autoptr(GPtrArray) announcements = NULL;
  g_autoptr(GError) error = NULL;
  GBytes *offer_to_b = NULL;
  GBytes *offer_to_c = NULL;
  GBytes *announcement = NULL;
  guint requested;
  guint peers;

  if (fx->skipped)
    return;

  a = make_engine (fx, "alice", ferry_test_dht_proxy (fx->dht, 0));
  b = make_engine (fx, "bob", ferry_test_dht_proxy (fx->dht, 1));
  c = make_engine (fx, "carol", ferry_test_dht_proxy (fx->dht, 0));
  transfer (fx, a, b, "dht", 1024);
  transfer (fx, a, c, "dht", 1024);

  /* What is on the network: A's offers to B and C, A's announcement. */
  inbox_b = ferry_test_dht_inbox_key (device_of (b));
  inbox_c = ferry_test_dht_inbox_key (device_of (c));
  account_a = ferry_test_dht_account_key (account_of (a));
  to_b = ferry_test_dht_get (fx->session, ferry_test_dht_proxy (fx->dht, 0), inbox_b, &error);
  g_assert_no_error (error);
  to_c = ferry_test_dht_get (fx->session, ferry_test_dht_proxy (fx->dht, 1), inbox_c, &error);
  g_assert_no_error (error);
  announcements = ferry_test_dht_get (fx->session, ferry_test_dht_proxy (fx->dht, 1), account_a, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < to_b->len && offer_to_b == NULL; i++)
    if (g_bytes_get_size (g_ptr_array_index (to_b, i)) > FRAME_HEADER_SIZE &&
        memcmp (g_bytes_get_data (g_ptr_array_index (to_b, i), NULL) + 5, device_of (a), 64) == 0)
      offer_to_b = g_ptr_array_index (to_b, i);
  for (guint i = 0; i < to_c->len && offer_to_c == NULL; i++)
    if (g_bytes_get_size (g_ptr_array_index (to_c, i)) > FRAME_HEADER_SIZE &&
        memcmp (g_bytes_get_data (g_ptr_array_index (to_c, i), NULL) + 5, device_of (a), 64) == 0)
      offer_to_c = g_ptr_array_index (to_c, i);
  if (announcements->len > 0)
    announcement = g_ptr_array_index (announcements, 0);
  g_assert_nonnull (offer_to_b);
  g_assert_nonnull (offer_to_c);
  g_assert_nonnull (announcement);

  /* Nothing readable in the offers: they are sealed to their device. */
  {
    gsize size = 0;
    const guint8 *raw = g_bytes_get_data (offer_to_b, &size);

    g_assert_cmpmem (raw + FRAME_HEADER_SIZE, 4, "FSL1", 4);
    for (gsize i = FRAME_HEADER_SIZE; i + 8 <= size; i++)
      g_assert_false (memcmp (raw + i, "transfer", 8) == 0);
  }

  requested = fx->requested->len;
  peers = g_list_model_get_n_items (ferry_engine_get_peers (b));
  ferry_test_log_clear ();

  /* Garbage that the proxy turns into other garbage. */
  g_assert_true (ferry_test_dht_put_raw (fx->session, ferry_test_dht_proxy (fx->dht, 0), inbox_b,
                                         "%%%not base64%%%", 5, &error));
  g_assert_no_error (error);
  {
    g_autoptr(GBytes) hello = g_bytes_new_static ("hello, ferry", 12);
    g_autoptr(GBytes) bad_json = make_frame ('M', device_of (a), "{not json", 9);
    g_autoptr(GBytes) not_utf8 = make_frame ('M', device_of (a), "\xff\xfe\xfd", 3);
    g_autoptr(GBytes) wrong_kind = make_frame ('A', device_of (a), "{}", 2);
    g_autoptr(GBytes) bad_sender = make_frame ('M', "ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ", "{}", 2);
    g_autofree guint8 *big = g_malloc (40 * 1024);
    g_autoptr(GBytes) oversized = NULL;

    for (gsize i = 0; i < 40 * 1024; i++)
      big[i] = (guint8) g_random_int ();
    oversized = make_frame ('M', device_of (a), big, 40 * 1024);

    put (fx, 0, inbox_b, hello);
    put (fx, 0, inbox_b, bad_json);
    put (fx, 1, inbox_b, not_utf8);
    put (fx, 0, inbox_b, wrong_kind);
    put (fx, 0, inbox_b, bad_sender);
    put (fx, 0, inbox_b, oversized);
  }

  /* A's announcement posted as a message: without its signature, with a
   * broken one, and turned into an offer to B (the signature no longer
   * matches). */
  {
    g_autoptr(JsonParser) parser = json_parser_new ();
    g_autoptr(JsonParser) inner = json_parser_new ();
    g_autoptr(JsonNode) root = NULL;
    g_autofree char *zeros = NULL;
    g_autofree char *forged_m = NULL;
    guint8 zero_signature[64] = { 0, };
    char *texts[3];
    JsonObject *outer;
    JsonObject *message;

    g_assert_true (json_parser_load_from_data (parser,
                                               (const char *) g_bytes_get_data (announcement, NULL) + FRAME_HEADER_SIZE,
                                               g_bytes_get_size (announcement) - FRAME_HEADER_SIZE, NULL));
    root = json_node_copy (json_parser_get_root (parser));
    outer = json_node_get_object (root);
    g_assert_true (json_parser_load_from_data (inner, json_object_get_string_member (outer, "m"), -1, NULL));
    message = json_node_get_object (json_parser_get_root (inner));
    g_assert_cmpstr (json_object_get_string_member (message, "type"), ==, "announce");
    json_object_set_string_member (message, "type", "offer");
    json_object_set_string_member (message, "to", device_of (b));
    forged_m = json_to_string (json_parser_get_root (inner), FALSE);

    json_object_set_string_member (outer, "m", forged_m);
    texts[0] = json_to_string (root, FALSE);
    zeros = g_base64_encode (zero_signature, sizeof zero_signature);
    json_object_set_string_member (outer, "s", zeros);
    texts[1] = json_to_string (root, FALSE);
    json_object_remove_member (outer, "s");
    texts[2] = json_to_string (root, FALSE);

    for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
      {
        g_autoptr(GBytes) frame = make_frame ('M', device_of (a), texts[i], strlen (texts[i]));

        put (fx, 0, inbox_b, frame);
        g_free (texts[i]);
      }
  }

  /* A's real offer to C, posted to B: not for B. */
  put (fx, 0, inbox_b, offer_to_c);

  /* A's real offer to B, again: the plugin skips the copy; with another
   * route in the frame it reaches the core, which has seen its id. */
  put (fx, 0, inbox_b, offer_to_b);
  {
    g_autoptr(GBytes) rerouted = make_frame ('M', device_of (c),
                                             (const guint8 *) g_bytes_get_data (offer_to_b, NULL) + FRAME_HEADER_SIZE,
                                             g_bytes_get_size (offer_to_b) - FRAME_HEADER_SIZE);

    put (fx, 0, inbox_b, rerouted);
  }

  /* Under A's account key: C's genuine announcement (it verifies, but not
   * as A's), and garbage. B looks A up again. */
  {
    g_autofree char *account_c = ferry_test_dht_account_key (account_of (c));
    g_autoptr(GPtrArray) of_c = ferry_test_dht_get (fx->session, ferry_test_dht_proxy (fx->dht, 0),
                                                    account_c, &error);
    g_autoptr(GBytes) garbage = make_frame ('A', device_of (c), "{]", 2);
    g_autoptr(FerrySignaling) dht_b = g_list_model_get_item (ferry_engine_get_signalings (b), 0);

    g_assert_no_error (error);
    g_assert_cmpuint (of_c->len, >, 0);
    put (fx, 1, account_a, g_ptr_array_index (of_c, 0));
    put (fx, 1, account_a, garbage);
    g_assert_cmpstr (ferry_signaling_get_name (dht_b), ==, "dht");
    ferry_signaling_query (dht_b, account_of (a));
  }

  /* Each one was dropped, for its own reason, and counted. */
  wait_log ("dropped a value on the inbox: not a Ferry value", 2, 10000);
  wait_log ("dropped a value on the inbox: a value of the wrong kind", 1, 10000);
  wait_log ("dropped a value on the inbox: a sender that is not a device id", 1, 10000);
  wait_log ("dropped a value on the inbox: data too large", 1, 10000);
  wait_log ("via dht: The envelope is not valid JSON", 1, 10000);
  wait_log ("via dht: The message is not valid UTF-8", 1, 10000);
  wait_log ("via dht: The message signature is not valid", 2, 10000);
  wait_log ("via dht: Member “s” is missing", 1, 10000);
  wait_log ("via dht: The message is addressed to device", 1, 10000);
  wait_log ("skipped a value seen before", 1, 10000);
  wait_log ("was already received", 1, 10000);
  wait_log ("an announcement of another account", 2, 10000);
  g_assert_cmpuint (ferry_test_log_count ("dropped so far"), >=, 12);

  /* No harm: nothing was offered, nobody new appeared, B still works. */
  g_assert_cmpuint (fx->requested->len, ==, requested);
  g_assert_cmpuint (g_list_model_get_n_items (ferry_engine_get_peers (b)), ==, peers);
  transfer (fx, a, b, "dht", 2048);
}

/* ------------------------------------------------------------ the tool */

typedef struct {
  GSubprocess *process;
  GString     *out;
  gboolean     done;
} Tool;

static void
tool_communicated_cb (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  Tool *tool = user_data;
  g_autoptr(GBytes) out = NULL;
  g_autoptr(GError) error = NULL;

  g_subprocess_communicate_finish (G_SUBPROCESS (source), result, &out, NULL, &error);
  g_assert_no_error (error);
  if (out != NULL)
    g_string_append_len (tool->out, g_bytes_get_data (out, NULL), g_bytes_get_size (out));
  tool->done = TRUE;
}

/* Runs `ferry ARGS…` with its stdout captured; the main context keeps
 * running meanwhile. */
static Tool *
tool_spawn (const char * const *args)
{
  const char *path = g_getenv ("FERRY_TOOL");
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GError) error = NULL;
  Tool *tool = g_new0 (Tool, 1);

  g_assert_nonnull (path);
  g_ptr_array_add (argv, (gpointer) path);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_set_stdin_file_path (launcher, "/dev/null");
  g_subprocess_launcher_setenv (launcher, "FERRY_PLUGIN_SYSTEM_PATH", "", TRUE);
  g_subprocess_launcher_setenv (launcher, "GIO_USE_PROXY_RESOLVER", "dummy", TRUE);
  tool->process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  tool->out = g_string_new (NULL);
  g_subprocess_communicate_async (tool->process, NULL, NULL, tool_communicated_cb, tool);
  return tool;
}

static gboolean
tool_done (gpointer user_data)
{
  Tool *tool = user_data;

  return tool->done && g_subprocess_get_identifier (tool->process) == NULL;
}

/* Waits for the tool, checks its exit status and returns the JSON objects
 * it printed. */
static GPtrArray *
tool_finish (Tool *tool,
             int   status)
{
  GPtrArray *objects = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  g_auto(GStrv) lines = NULL;

  ferry_test_wait_until (tool_done, tool, 30000, "ferry to exit");
  g_subprocess_wait (tool->process, NULL, NULL);
  if (g_subprocess_get_exit_status (tool->process) != status)
    g_error ("ferry exited with %d instead of %d; its output:\n%s",
             g_subprocess_get_exit_status (tool->process), status, tool->out->str);

  lines = g_strsplit (tool->out->str, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();

      if (lines[i][0] == '\0')
        continue;
      g_assert_true (json_parser_load_from_data (parser, lines[i], -1, NULL));
      g_ptr_array_add (objects, json_object_ref (json_node_get_object (json_parser_get_root (parser))));
    }
  g_object_unref (tool->process);
  g_string_free (tool->out, TRUE);
  g_free (tool);
  return objects;
}

static JsonObject *
find_object (GPtrArray  *objects,
             const char *member,
             const char *value)
{
  for (guint i = 0; i < objects->len; i++)
    if (g_strcmp0 (json_object_get_string_member_with_default (g_ptr_array_index (objects, i), member, NULL),
                   value) == 0)
      return g_ptr_array_index (objects, i);
  return NULL;
}

static JsonObject *
dht_feature (GPtrArray *plugins)
{
  JsonObject *plugin = find_object (plugins, "name", "dht");

  g_assert_nonnull (plugin);
  return json_array_get_object_element (json_object_get_array_member (plugin, "features"), 0);
}

/* Two `ferry` processes on different proxies: plugins, a transfer, peers. */
static void
test_tool (Fixture       *fx,
           gconstpointer  data)
{
  g_autofree char *home_a = g_build_filename (fx->dir, "tool-a", NULL);
  g_autofree char *home_b = g_build_filename (fx->dir, "tool-b", NULL);
  g_autofree char *inbox = g_build_filename (fx->dir, "tool-inbox", NULL);
  g_autofree char *file = g_build_filename (fx->dir, "sent.bin", NULL);
  g_autofree char *received = g_build_filename (inbox, "sent.bin", NULL);
  g_autoptr(GPtrArray) plugins = NULL;
  g_autoptr(GPtrArray) id_b = NULL;
  g_autoptr(GPtrArray) sent = NULL;
  g_autoptr(GPtrArray) got = NULL;
  g_autoptr(GPtrArray) peers = NULL;
  const char *p0, *p1;
  const char *account_b, *device_b;
  JsonObject *feature;
  Tool *receiver;

  if (fx->skipped)
    return;
  p0 = ferry_test_dht_proxy (fx->dht, 0);
  p1 = ferry_test_dht_proxy (fx->dht, 1);

  /* Inactive without a proxy, and says why; active with one. */
  plugins = tool_finish (tool_spawn ((const char * const []) { "--home", home_a, "--json", "plugins", NULL }), 0);
  feature = dht_feature (plugins);
  g_assert_false (json_object_get_boolean_member (feature, "active"));
  g_assert_nonnull (strstr (json_object_get_string_member (feature, "inactive_reason"), "no OpenDHT proxy configured"));
  g_clear_pointer (&plugins, g_ptr_array_unref);
  plugins = tool_finish (tool_spawn ((const char * const []) { "--home", home_a, "--dht-proxy", p0, "--json", "plugins", NULL }), 0);
  feature = dht_feature (plugins);
  g_assert_true (json_object_get_boolean_member (feature, "active"));
  g_assert_true (json_object_get_null_member (feature, "inactive_reason"));

  /* --dht-proxy alone enables dht (beside local-broadcast, on a port of
   * its own so that only dht can carry this). */
  id_b = tool_finish (tool_spawn ((const char * const []) { "--home", home_b, "--json", "id", NULL }), 0);
  account_b = json_object_get_string_member (g_ptr_array_index (id_b, 0), "account");
  device_b = json_object_get_string_member (g_ptr_array_index (id_b, 0), "device");
  ferry_test_write_random (file, 100 * 1024, 7);
  {
    g_autofree char *conf = g_build_filename (home_b, "ferry.conf", NULL);
    g_autofree char *text = g_strdup_printf ("[local-broadcast]\nport=%u\n", ferry_test_free_udp_port ());

    g_assert_true (g_file_set_contents (conf, text, -1, NULL));
  }
  receiver = tool_spawn ((const char * const []) {
    "--home", home_b, "--interface", "lo", "--dht-proxy", p1, "--json",
    "receive", "--yes", "--once", "--dir", inbox, NULL });
  sent = tool_finish (tool_spawn ((const char * const []) {
    "--home", home_a, "--interface", "lo", "--signaling", "dht", "--dht-proxy", p0, "--json",
    "send", "--to", account_b, "--timeout", "15", file, NULL }), 0);
  got = tool_finish (receiver, 0);
  g_assert_true (ferry_test_files_equal (file, received));
  g_assert_true (g_str_has_prefix (json_object_get_string_member (find_object (sent, "event", "done"), "chain"),
                                   "dht → lan"));
  g_assert_true (g_str_has_prefix (json_object_get_string_member (find_object (got, "event", "done"), "chain"),
                                   "dht → lan"));

  /* A remembers whom it looked up: `ferry peers` finds B's device. */
  peers = tool_finish (tool_spawn ((const char * const []) {
    "--home", home_a, "--interface", "lo", "--dht-proxy", p0, "--json", "peers", "--timeout", "2", NULL }), 0);
  {
    JsonObject *device = find_object (peers, "device", device_b);

    g_assert_nonnull (device);
    g_assert_cmpstr (json_object_get_string_member (device, "signaling"), ==, "dht");
  }
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
  /* Isolated directories hide the GSettings schemas a desktop proxy
   * resolver would read: no HTTP proxy between us and loopback anyway. */
  g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", TRUE);
  ferry_test_log_capture ("Ferry", log_needles);
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, network, func) \
  g_test_add (path, Fixture, GINT_TO_POINTER (network), fixture_set_up, func, fixture_tear_down)

  ADD ("/dht/transfer", TRUE, test_transfer);
  ADD ("/dht/proxy-down", FALSE, test_proxy_down);
  ADD ("/dht/proxy-restart", TRUE, test_proxy_restart);
  ADD ("/dht/failover", TRUE, test_failover);
  ADD ("/dht/junk", TRUE, test_junk);
  ADD ("/dht/tool", TRUE, test_tool);
  ADD ("/dht/own-context", TRUE, test_own_context);

  return g_test_run ();
}
