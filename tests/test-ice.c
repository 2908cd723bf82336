/* test-ice.c: the ice and turn transports, with libnice and a real coturn
 *
 * Two engines in one process on the loopback interface (local-broadcast
 * signaling on a port picked for the test), real TLS 1.3 and real files.
 * The TURN tests start coturn (`turnserver`) on 127.0.0.1 with random
 * ports and stop it by pid; without coturn they are skipped (or fail when
 * FERRY_TEST_NO_SKIP is set, as in CI). The streams themselves:
 * test-ice-stream.c.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "test-ice-common.h"

/* Transfers {{{1 */

static void
test_ice_tcp (Fixture       *fixture,
              gconstpointer  data)
{
  g_autofree char *chain = NULL;

  /* a UDP pair waits for the TCP pair far longer than a busy machine
   * could delay it: the choice does not depend on the timing */
  start_engines (fixture, "ice", "[ice]\ntcp-preference=60000", "ice", "[ice]\ntcp-preference=60000");
  chain = transfer_ok (fixture, 16 * 1024 * 1024 + 5);
  /* With UDP and TCP candidates, the reliable agent prefers the TCP pair
   * (the answerer's active TCP candidate shows as peer-reflexive). */
  g_assert_true (g_str_has_prefix (chain, "local-broadcast → ice (tcp, "));
  g_assert_nonnull (strstr (chain, ") → tls1.3/"));
}

static void
test_ice_udp (Fixture       *fixture,
              gconstpointer  data)
{
  g_autofree char *chain = NULL;

  start_engines (fixture, "ice", "[ice]\ntcp=false", "ice", "[ice]\ntcp=false");
  chain = transfer_ok (fixture, 4 * 1024 * 1024 + 7);
  g_assert_cmpstr (chain, ==, "local-broadcast → ice (udp, host↔host) → tls1.3/aes-256-gcm");
}

/* QUIC recovers what the path loses: every 23rd datagram of the sender and
 * every 29th of the receiver (handshake, data, acknowledgements) never
 * leaves. */
static void
test_ice_lossy (Fixture       *fixture,
                gconstpointer  data)
{
  g_autofree char *chain = NULL;

  start_engines (fixture, "ice", "[ice]\ntcp=false", "ice", "[ice]\ntcp=false");
  g_object_set_data (G_OBJECT (fixture->a), "ferry-nice-test-drop-every", GUINT_TO_POINTER (23));
  g_object_set_data (G_OBJECT (fixture->b), "ferry-nice-test-drop-every", GUINT_TO_POINTER (29));
  chain = transfer_ok (fixture, 3 * 1024 * 1024 + 11);
  g_assert_cmpstr (chain, ==, "local-broadcast → ice (udp, host↔host) → tls1.3/aes-256-gcm");
}

static void
test_ice_stun (Fixture       *fixture,
               gconstpointer  data)
{
  g_autofree char *stun = NULL;
  g_autofree char *chain = NULL;

  fixture->coturn = coturn_start ();
  if (fixture->coturn == NULL)
    return;
  stun = g_strdup_printf ("[ice]\nstun-server=127.0.0.1:%u", fixture->coturn->port);
  start_engines (fixture, "ice", stun, "ice", stun);
  chain = transfer_ok (fixture, 1024 * 1024);
  g_assert_true (g_str_has_prefix (chain, "local-broadcast → ice ("));
}

static void
test_ice_dead_stun (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autofree char *stun = g_strdup_printf ("[ice]\nstun-server=127.0.0.1:%u\ngather-timeout=500",
                                           ferry_test_free_udp_port ());
  g_autofree char *chain = NULL;

  /* A STUN server that does not answer costs the gathering timeout, not
   * the transfer. */
  start_engines (fixture, "ice", stun, "ice", stun);
  chain = transfer_ok (fixture, 100 * 1000);
  g_assert_true (g_str_has_prefix (chain, "local-broadcast → ice (tcp, "));
}

/* Both engines with @transports and @conf; a small file goes over lan
 * (the log is cleared first, for what the caller then counts). */
static void
transfer_over_lan (Fixture    *fixture,
                   const char *transports,
                   const char *conf)
{
  g_autofree char *chain = NULL;

  ferry_test_log_clear ();
  start_engines (fixture, transports, conf, transports, conf);
  chain = transfer_ok (fixture, 100 * 1000);
  g_assert_true (g_str_has_prefix (chain, "local-broadcast → lan"));
}

/* A STUN server nobody answers (a closed port on loopback) costs a lan
 * transfer nothing: the ice descriptions go out with the host candidates
 * as soon as the probe found the server silent, while libnice still tries
 * it. Checked by the order of events, with a gathering timeout far beyond
 * anything the transfer takes. */
static void
test_ice_dead_stun_lan (Fixture       *fixture,
                        gconstpointer  data)
{
  g_autofree char *stun = g_strdup_printf ("[ice]\nstun-server=127.0.0.1:%u\ngather-timeout=30000",
                                           ferry_test_free_udp_port ());

  transfer_over_lan (fixture, "lan,ice", stun);
  /* Both engines found the server silent, described ice without its
   * reflexive candidates, and the transfer ended before libnice gave up
   * on the server (the attempts are gone by now: it never will). */
  g_assert_cmpuint (ferry_test_log_count ("does not answer (probe)"), ==, 2);
  g_assert_cmpuint (ferry_test_log_count ("(not waiting for the silent STUN server)"), ==, 2);
  g_assert_cmpuint (ferry_test_log_count ("STUN gathering over"), ==, 0);
}

/* The same for TURN servers nobody answers, given to ice ([ice] relay,
 * on by default) and to turn: the lan transfer does not wait for them.
 * Each engine's ice and turn probe the servers at start; ice leaves them
 * out once the probe found them silent (or describes its other candidates
 * as soon as it does), turn asks them all the same but describes at once
 * that it has no relay (and fails, saying why); libnice still tries them
 * for turn when the transfer is over, and ice never waited for them. */
static void
test_ice_dead_turn_lan (Fixture       *fixture,
                        gconstpointer  data)
{
  g_autofree char *conf = g_strdup_printf ("[turn]\nservers=turn:test:test@127.0.0.1:%u?transport=udp\n"
                                           "gather-timeout=30000\n[ice]\ngather-timeout=30000",
                                           ferry_test_free_udp_port ());

  transfer_over_lan (fixture, "lan,ice,turn", conf);
  g_assert_cmpuint (ferry_test_log_count ("ice: the TURN servers do not answer (probe)"), ==, 2);
  g_assert_cmpuint (ferry_test_log_count ("turn: the TURN servers do not answer (probe)"), ==, 2);
  g_assert_cmpuint (ferry_test_log_count ("turn attempt "), ==, 2);
  g_assert_cmpuint (ferry_test_log_count ("(not waiting for the silent TURN servers)"), ==, 2);
  g_assert_cmpuint (ferry_test_log_count ("TURN gathering over"), ==, 0);
}

/* Shows both strings when @string does not start with @prefix. */
#define assert_has_prefix(string, prefix) \
  G_STMT_START { \
    if (!g_str_has_prefix ((string), (prefix))) \
      g_assert_cmpstr ((string), ==, (prefix)); \
  } G_STMT_END

/* The offerer (the sender) relays; the answerer reaches that relay from
 * its host address: the data crosses the TURN server once, not through
 * two allocations of the same server. (The transfer may start relay to
 * relay, should the answerer's first check beat the offerer's permission,
 * and then moves: the last path counts.) */
static void
assert_turn_chain (const char *chain,
                   const char *protocol,
                   guint       port)
{
  g_autofree char *first = g_strdup_printf ("local-broadcast → turn (%s relay via 127.0.0.1:%u, relay↔",
                                            protocol, port);
  g_autofree char *last = g_strdup_printf ("turn (%s relay via 127.0.0.1:%u, relay↔host) → tls1.3/",
                                           protocol, port);

  assert_has_prefix (chain, first);
  if (strstr (chain, last) == NULL)
    g_assert_cmpstr (chain, ==, last);
}

static void
test_turn_udp (Fixture       *fixture,
               gconstpointer  data)
{
  g_autofree char *conf = NULL;
  g_autofree char *chain = NULL;

  fixture->coturn = coturn_start ();
  if (fixture->coturn == NULL)
    return;
  conf = turn_url (fixture, "test", 0, "udp");
  start_engines (fixture, "turn", conf, "turn", conf);
  chain = transfer_ok (fixture, 4 * 1024 * 1024 + 1);
  assert_turn_chain (chain, "udp", fixture->coturn->port);
}

static void
test_turn_tcp (Fixture       *fixture,
               gconstpointer  data)
{
  g_autofree char *conf = NULL;
  g_autofree char *chain = NULL;

  fixture->coturn = coturn_start ();
  if (fixture->coturn == NULL)
    return;
  conf = turn_url (fixture, "test", 0, "tcp");
  start_engines (fixture, "turn", conf, "turn", conf);
  chain = transfer_ok (fixture, 1024 * 1024 + 3);
  assert_turn_chain (chain, "tcp", fixture->coturn->port);
}

/* A UDP and a TCP TURN server on one HOST:PORT (coturn serves both): the
 * chain names the allocation the pair used, which libnice ranks first
 * (UDP), not whichever server of that address the list gave last. */
static void
test_turn_shared_port (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autofree char *conf = NULL;
  g_autofree char *chain = NULL;

  fixture->coturn = coturn_start ();
  if (fixture->coturn == NULL)
    return;
  conf = g_strdup_printf ("[turn]\nservers=turn:test:test@127.0.0.1:%u?transport=udp;"
                          "turn:test:test@127.0.0.1:%u?transport=tcp\n",
                          fixture->coturn->port, fixture->coturn->port);
  start_engines (fixture, "turn", conf, "turn", conf);
  chain = transfer_ok (fixture, 256 * 1024);
  assert_turn_chain (chain, "udp", fixture->coturn->port);
}

/* A transfer that cannot connect: returns its error message. */
static char *
transfer_fails (Fixture *fixture)
{
  g_autofree char *path = g_build_filename (fixture->dir, "small.txt", NULL);
  g_autoptr(FerryTransfer) transfer = NULL;
  const GError *error;

  g_assert_true (g_file_set_contents (path, "never arrives", -1, NULL));
  transfer = send_file (fixture, path);
  ferry_test_wait_until (transfer_done, transfer, TRANSFER_TIMEOUT_MS, "the transfer to fail");
  error = ferry_transfer_get_error (transfer);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_NO_TRANSPORT);
  g_test_message ("error: %s", error->message);
  {
    g_autofree char *listing = ferry_test_list_dir (fixture->download);

    g_assert_cmpstr (listing, ==, "");
  }
  return g_strdup (error->message);
}

static void
test_turn_wrong_password (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autofree char *conf = NULL;
  g_autofree char *message = NULL;
  g_autofree char *server = NULL;

  fixture->coturn = coturn_start ();
  if (fixture->coturn == NULL)
    return;
  conf = turn_url (fixture, "wrong", 0, "udp");
  start_engines (fixture, "turn", conf, "turn", conf);
  message = transfer_fails (fixture);
  server = g_strdup_printf ("TURN server 127.0.0.1:%u (udp) answers but refused to relay",
                            fixture->coturn->port);
  g_assert_nonnull (strstr (message, "turn: "));
  g_assert_nonnull (strstr (message, server));
  g_assert_nonnull (strstr (message, "password"));
}

static void
test_turn_unreachable (Fixture       *fixture,
                       gconstpointer  data)
{
  guint16 port = ferry_test_free_udp_port ();
  g_autofree char *conf = g_strdup_printf ("[turn]\nservers=turn:test:test@127.0.0.1:%u\n"
                                           "gather-timeout=1000\n", port);
  g_autofree char *message = NULL;
  g_autofree char *server = NULL;

  start_engines (fixture, "turn", conf, "turn", conf);
  message = transfer_fails (fixture);
  server = g_strdup_printf ("TURN server 127.0.0.1:%u (udp) does not answer", port);
  g_assert_nonnull (strstr (message, server));
}

static void
test_turn_not_configured (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autofree char *home = g_build_filename (fixture->dir, "carol", NULL);
  g_autofree char *conf = g_build_filename (home, "ferry.conf", NULL);
  const char *both[] = { "ice", "turn", NULL };
  const char *turn_only[] = { "turn", NULL };
  g_autoptr(FerryEngine) engine = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (home, 0700), ==, 0);
  g_assert_true (g_file_set_contents (conf, "[ice]\nrelay=true\n[turn]\nservers=turn:nopassword@127.0.0.1\n",
                                      -1, NULL));

  /* A malformed server: turn stays inactive, ice runs (without the
   * relayed candidates [ice] relay asks for). */
  engine = ferry_engine_new (home, NULL, &error);
  g_assert_no_error (error);
  ferry_engine_set_transports (engine, both);
  g_assert_true (ferry_engine_start (engine, &error));
  g_assert_no_error (error);
  g_assert_nonnull (strstr (ferry_engine_get_inactive_reason (engine, "turn"), "Invalid TURN server"));
  g_assert_null (ferry_engine_get_inactive_reason (engine, "ice"));
  g_assert_cmpuint (g_list_model_get_n_items (ferry_engine_get_transports (engine)), ==, 1);
  ferry_engine_stop (engine);
  g_clear_object (&engine);

  /* No server at all, and nothing else: the engine cannot start. */
  g_assert_true (g_file_set_contents (conf, "", -1, NULL));
  engine = ferry_engine_new (home, NULL, &error);
  g_assert_no_error (error);
  ferry_engine_set_transports (engine, turn_only);
  g_assert_false (ferry_engine_start (engine, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG);
  g_assert_nonnull (strstr (error->message, "No TURN server is configured"));
}

/* The chain: lan first, then ice, then turn, keeping what connects. */
static void
test_chain (Fixture       *fixture,
            gconstpointer  data)
{
  g_autofree char *conf = NULL;
  g_autofree char *conf_a = NULL;
  g_autofree char *conf_b = NULL;
  g_autofree char *chain = NULL;
  g_autofree char *expected = NULL;

  fixture->coturn = coturn_start ();
  if (fixture->coturn == NULL)
    return;
  conf = turn_url (fixture, "test", 0, "udp");

  /* Bob has no lan: ice is the best both have. */
  start_engines (fixture, "lan,ice,turn", conf, "ice,turn", conf);
  chain = transfer_ok (fixture, 256 * 1024);
  g_assert_true (g_str_has_prefix (chain, "local-broadcast → ice (tcp, "));
  g_clear_pointer (&chain, g_free);
  ferry_engine_stop (fixture->a);
  ferry_engine_stop (fixture->b);
  g_clear_object (&fixture->a);
  g_clear_object (&fixture->b);
  g_clear_object (&fixture->incoming);
  {
    g_autofree char *old = g_build_filename (fixture->download, "data.bin", NULL);

    g_assert_cmpint (g_unlink (old), ==, 0);
  }

  /* ice cannot pair (alice offers only UDP, bob only TCP): turn carries it. */
  conf_a = g_strconcat (conf, "[ice]\ntcp=false\n", NULL);
  conf_b = g_strconcat (conf, "[ice]\nudp=false\n", NULL);
  start_engines (fixture, "ice,turn", conf_a, "ice,turn", conf_b);
  chain = transfer_ok (fixture, 256 * 1024);
  expected = g_strdup_printf ("local-broadcast → turn (udp relay via 127.0.0.1:%u,",
                              fixture->coturn->port);
  assert_has_prefix (chain, expected);
}

/* Every transport fails: the error says what each one tried. */
static void
test_all_fail (Fixture       *fixture,
               gconstpointer  data)
{
  guint16 port = ferry_test_free_udp_port ();
  g_autofree char *conf_a = g_strdup_printf ("[ice]\ntcp=false\n[turn]\nservers=turn:test:test@127.0.0.1:%u\n"
                                             "gather-timeout=800\n", port);
  g_autofree char *conf_b = g_strdup_printf ("[ice]\nudp=false\n[turn]\nservers=turn:test:test@127.0.0.1:%u\n"
                                             "gather-timeout=800\n", port);
  g_autofree char *message = NULL;

  start_engines (fixture, "ice,turn", conf_a, "ice,turn", conf_b);
  message = transfer_fails (fixture);
  g_assert_nonnull (strstr (message, "ice: "));
  g_assert_nonnull (strstr (message, "host (udp)"));
  g_assert_nonnull (strstr (message, "turn: "));
  g_assert_nonnull (strstr (message, "does not answer"));
}

/* Bad descriptions from the peer are errors, never crashes. */
static void
test_bad_descriptions (Fixture       *fixture,
                       gconstpointer  data)
{
  static const char *bad[] = {
    "{}",
    "{\"ufrag\":\"abcd\",\"pwd\":\"short\",\"candidates\":[]}",
    "{\"ufrag\":\"ab\\ncd\",\"pwd\":\"0123456789012345678901\",\"candidates\":[]}",
    "{\"ufrag\":\"abcd\",\"pwd\":\"0123456789012345678901\",\"candidates\":\"x\"}",
    "{\"ufrag\":\"abcd\",\"pwd\":\"0123456789012345678901\",\"candidates\":[1,null,{},\"junk\","
    "\"a=candidate:1 1 UDP 1 999.1.1.1 1 typ host\",\"a=candidate:\"]}",
  };
  FerryTransport *ta;
  g_autoptr(JsonObject) da = NULL;

  start_engines (fixture, "ice", NULL, "ice", NULL);
  ta = first_transport (fixture->a);
  da = describe (ta, "feedfacefeedface", TRUE);
  g_assert_true (json_object_has_member (da, "ufrag"));

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(JsonNode) node = json_from_string (bad[i], NULL);
      g_autoptr(GTask) out = g_task_new (NULL, NULL, NULL, NULL);
      g_autoptr(GError) error = NULL;
      g_autoptr(GIOStream) stream = NULL;

      g_assert_nonnull (node);
      ferry_transport_connect_async (ta, "feedfacefeedface", TRUE, json_node_get_object (node),
                                     NULL, connect_cb, g_object_ref (out));
      ferry_test_wait_until (task_done, out, 20000, "the connection to fail");
      stream = g_task_propagate_pointer (out, &error);
      g_assert_null (stream);
      g_assert_nonnull (error);
      g_test_message ("%s → %s", bad[i], error->message);
    }

  /* An attempt that was never described. */
  {
    g_autoptr(GTask) out = g_task_new (NULL, NULL, NULL, NULL);
    g_autoptr(GError) error = NULL;

    ferry_transport_connect_async (ta, "0000000000000000", TRUE, da, NULL, connect_cb, g_object_ref (out));
    ferry_test_wait_until (task_done, out, 20000, "the connection to fail");
    g_assert_null (g_task_propagate_pointer (out, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  }
  ferry_transport_release (ta, "feedfacefeedface");
}

/* The receiver stops in the middle: the sender ends with an error (a cut
 * link, without a goodbye, is in the nat suite). */
static gboolean
incoming_has_bytes (gpointer user_data)
{
  Fixture *fixture = user_data;

  return fixture->incoming != NULL && ferry_transfer_get_bytes (fixture->incoming) > 0;
}

/* A peer from before QUIC carried pseudo-TCP on its UDP candidates and
 * did not say so in its description: its UDP pairs are not used. */
static void
test_old_peer (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(JsonObject) da = NULL;
  g_autoptr(JsonObject) db = NULL;
  g_autoptr(GTask) out = g_task_new (NULL, NULL, NULL, NULL);
  g_autoptr(GError) error = NULL;
  FerryTransport *ta, *tb;

  start_engines (fixture, "ice", "[ice]\ntcp=false", "ice", "[ice]\ntcp=false");
  ta = first_transport (fixture->a);
  tb = first_transport (fixture->b);
  da = describe (ta, "0ddba110ddba110d", TRUE);
  db = describe (tb, "0ddba110ddba110d", FALSE);
  g_assert_cmpstr (json_object_get_string_member (db, "udp"), ==, "quic-1");
  json_object_remove_member (db, "udp");

  ferry_transport_connect_async (ta, "0ddba110ddba110d", TRUE, db, NULL, connect_cb, g_object_ref (out));
  ferry_test_wait_until (task_done, out, 5000, "the connection to fail");
  g_assert_null (g_task_propagate_pointer (out, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_NO_TRANSPORT);
  g_assert_nonnull (strstr (error->message, "pseudo-TCP"));
  ferry_transport_release (ta, "0ddba110ddba110d");
  ferry_transport_release (tb, "0ddba110ddba110d");
}

static void
test_peer_stops (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(FerryTransfer) transfer = NULL;
  FerryTestHeld *held = ferry_test_held_new ("big.bin", 64 * 1024 * 1024);

  start_engines (fixture, "ice", "[ice]\ntcp=false", "ice", "[ice]\ntcp=false");
  /* The sender gets the first MiB only: the transfer is certainly running
   * when the receiver stops, however fast or slow the machine. */
  ferry_test_held_give (held, 1024 * 1024);
  transfer = send_gfile (fixture, ferry_test_held_get_file (held));
  ferry_test_wait_until (incoming_has_bytes, fixture, 20000, "the first bytes to arrive");
  g_assert_cmpint (ferry_transfer_get_state (transfer), ==, FERRY_TRANSFER_STATE_ONGOING);

  ferry_engine_stop (fixture->b);
  g_clear_object (&fixture->incoming);
  g_clear_object (&fixture->b);
  /* A sender blocked in reading its source notices the end only at its
   * next chunk: from now on the file reads like a local one. */
  ferry_test_held_give_all (held);

  ferry_test_wait_until (transfer_done, transfer, 30000, "the sender to see the end");
  g_assert_nonnull (ferry_transfer_get_error (transfer));
  g_test_message ("error: %s", ferry_transfer_get_error (transfer)->message);
  g_assert_cmpint (ferry_transfer_get_state (transfer), !=, FERRY_TRANSFER_STATE_FINISHED);
  ferry_test_held_free (held);
}

/* The ferry tool's --turn and --stun {{{1 */

static void
test_cli_options (void)
{
  const char *tool = g_getenv ("FERRY_TOOL");
  g_autofree char *home = ferry_test_make_dir ("cli");
  struct {
    const char *option;
    const char *value;
    const char *shown;
  } bad[] = {
    { "--turn", "turn:user:s3cret", "turn:user:s3cret" },              /* no '@': nothing secret */
    { "--turn", "stun:user:s3cret@127.0.0.1:3478", "127.0.0.1:3478" },
    { "--stun", "nohostport", "nohostport" },
  };

  if (tool == NULL)
    {
      ferry_test_skip_or_fail ("FERRY_TOOL is not set");
      return;
    }

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      const char *argv[] = { tool, "--home", home, bad[i].option, bad[i].value, "id", NULL };
      g_autofree char *out = NULL;
      g_autofree char *err = NULL;
      g_autoptr(GError) error = NULL;
      int status;

      g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                                   &out, &err, &status, &error));
      g_assert_no_error (error);
      g_test_message ("%s %s → %s", bad[i].option, bad[i].value, err);
      g_assert_true (g_spawn_check_wait_status (status, NULL) == FALSE);
      g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 2);
      g_assert_nonnull (strstr (err, bad[i].option));
      g_assert_nonnull (strstr (err, bad[i].shown));
      if (i == 1)
        g_assert_null (strstr (err, "s3cret"));
    }
}

int
main (int   argc,
      char *argv[])
{
  ice_test_init (&argc, &argv);

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/ice/transfer-tcp", test_ice_tcp);
  ADD ("/ice/transfer-udp", test_ice_udp);
  ADD ("/ice/lossy-udp", test_ice_lossy);
  ADD ("/ice/stun", test_ice_stun);
  ADD ("/ice/dead-stun", test_ice_dead_stun);
  ADD ("/ice/dead-stun-lan", test_ice_dead_stun_lan);
  ADD ("/ice/dead-turn-lan", test_ice_dead_turn_lan);
  ADD ("/ice/bad-descriptions", test_bad_descriptions);
  ADD ("/ice/old-peer", test_old_peer);
  ADD ("/ice/peer-stops", test_peer_stops);
  ADD ("/turn/transfer-udp", test_turn_udp);
  ADD ("/turn/transfer-tcp", test_turn_tcp);
  ADD ("/turn/shared-port", test_turn_shared_port);
  ADD ("/turn/wrong-password", test_turn_wrong_password);
  ADD ("/turn/unreachable", test_turn_unreachable);
  ADD ("/turn/not-configured", test_turn_not_configured);
  ADD ("/chain/fallback", test_chain);
  ADD ("/chain/all-fail", test_all_fail);
#undef ADD
  g_test_add_func ("/cli/bad-options", test_cli_options);

  return g_test_run ();
}
