/* test-ice.c: the ice and turn transports, with libnice and a real coturn
 *
 * Two engines in one process on the loopback interface (local-broadcast
 * signaling on a port picked for the test), real TLS 1.3 and real files.
 * The TURN tests start coturn (`turnserver`) on 127.0.0.1 with random
 * ports and stop it by pid; without coturn they are skipped (or fail when
 * FERRY_TEST_NO_SKIP is set, as in CI).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <signal.h>
#include <sys/wait.h>
#include <string.h>

#include <glib/gstdio.h>

#include "ferry.h"
#include "test-utils.h"

#define TRANSFER_TIMEOUT_MS 60000
#define STREAM_BYTES        (24 * 1024 * 1024)

/* coturn {{{1 */

typedef struct {
  GSubprocess *process;
  char        *dir;
  guint16      port;
} Coturn;

static gboolean
stun_answers (guint16 port)
{
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                            G_SOCKET_PROTOCOL_UDP, NULL);
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (lo, port);
  guint8 request[20] = { 0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42,
                         'f', 'e', 'r', 'r', 'y', '-', 't', 'e', 's', 't', '-', '1' };
  guint8 answer[512];
  gssize n;

  g_socket_set_timeout (socket, 1);
  if (g_socket_send_to (socket, address, (const char *) request, sizeof request, NULL, NULL) < 0)
    return FALSE;
  /* The receive waits for the answer (or the 1 s timeout): no sleep. */
  n = g_socket_receive (socket, (char *) answer, sizeof answer, NULL, NULL);
  return n >= 20 && answer[0] == 0x01 && answer[1] == 0x01 && memcmp (answer + 8, request + 8, 12) == 0;
}

static Coturn *
coturn_start (void)
{
  g_autofree char *turnserver = g_find_program_in_path ("turnserver");
  g_autoptr(GError) error = NULL;
  Coturn *coturn;

  if (turnserver == NULL)
    {
      ferry_test_skip_or_fail ("turnserver (coturn) is not installed");
      return NULL;
    }

  coturn = g_new0 (Coturn, 1);
  coturn->dir = ferry_test_make_dir ("coturn");

  for (guint attempt = 0; attempt < 5 && coturn->process == NULL; attempt++)
    {
      guint16 port = ferry_test_free_udp_port ();
      guint min_port = 20000 + g_random_int_range (0, 400) * 100;
      g_autofree char *listening = g_strdup_printf ("--listening-port=%u", port);
      g_autofree char *min = g_strdup_printf ("--min-port=%u", min_port);
      g_autofree char *max = g_strdup_printf ("--max-port=%u", min_port + 99);
      g_autofree char *userdb = g_strdup_printf ("--userdb=%s/turndb", coturn->dir);
      g_autofree char *pidfile = g_strdup_printf ("--pidfile=%s/turn.pid", coturn->dir);
      g_autofree char *logfile = g_strdup_printf ("--log-file=%s/turn.log", coturn->dir);
      GSubprocess *process;

      process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE,
                                  &error, turnserver, "-n", "--no-cli", "--no-tls", "--no-dtls",
                                  "--listening-ip=127.0.0.1", listening, "--relay-ip=127.0.0.1",
                                  min, max, "--lt-cred-mech", "--user=test:test",
                                  "--realm=ferry.test", "--fingerprint", "--allow-loopback-peers",
                                  "--no-stdout-log", userdb, pidfile, logfile, "--simple-log", NULL);
      g_assert_no_error (error);

      /* Ready when it answers a STUN Binding request (< 1.5 s). */
      for (guint i = 0; i < 10; i++)
        if (stun_answers (port))
          {
            coturn->process = process;
            coturn->port = port;
            break;
          }
      if (coturn->process == NULL)
        {
          g_subprocess_force_exit (process);
          g_subprocess_wait (process, NULL, NULL);
          g_object_unref (process);
        }
    }

  g_assert_nonnull (coturn->process);
  return coturn;
}

static void
coturn_stop (Coturn *coturn)
{
  if (coturn == NULL)
    return;
  g_subprocess_send_signal (coturn->process, SIGTERM);
  g_subprocess_wait (coturn->process, NULL, NULL);
  g_object_unref (coturn->process);
  g_free (coturn->dir);
  g_free (coturn);
}

/* Log capture {{{1 */

/* The nice code's debug lines about STUN and read-ahead, kept in order so that tests can
 * check what happened before what. */
static GMutex log_lock;
static GPtrArray *log_lines;

static GLogWriterOutput
capture_writer (GLogLevelFlags   level,
                const GLogField *fields,
                gsize            n_fields,
                gpointer         user_data)
{
  const char *domain = NULL;
  const char *message = NULL;

  for (gsize i = 0; i < n_fields; i++)
    {
      if (g_str_equal (fields[i].key, "GLIB_DOMAIN") && fields[i].length < 0)
        domain = fields[i].value;
      else if (g_str_equal (fields[i].key, "MESSAGE") && fields[i].length < 0)
        message = fields[i].value;
    }

  if (g_strcmp0 (domain, "Ferry-nice") == 0 && message != NULL &&
      (strstr (message, "STUN") != NULL || strstr (message, "read ahead") != NULL))
    {
      g_mutex_lock (&log_lock);
      if (log_lines == NULL)
        log_lines = g_ptr_array_new_with_free_func (g_free);
      g_ptr_array_add (log_lines, g_strdup (message));
      g_mutex_unlock (&log_lock);
    }

  return g_log_writer_default (level, fields, n_fields, user_data);
}

static guint
log_count (const char *needle)
{
  guint count = 0;

  g_mutex_lock (&log_lock);
  for (guint i = 0; log_lines != NULL && i < log_lines->len; i++)
    if (strstr (g_ptr_array_index (log_lines, i), needle) != NULL)
      count++;
  g_mutex_unlock (&log_lock);
  return count;
}

static void
log_clear (void)
{
  g_mutex_lock (&log_lock);
  g_clear_pointer (&log_lines, g_ptr_array_unref);
  g_mutex_unlock (&log_lock);
}

/* Fixture {{{1 */

typedef struct {
  char          *dir;
  char          *download;
  guint16        signaling_port;
  Coturn        *coturn;
  FerryEngine   *a;    /* sender */
  FerryEngine   *b;    /* receiver */
  FerryTransfer *incoming;
} Fixture;

static FerryEngine *
make_engine (Fixture    *fixture,
             const char *name,
             const char *transports,
             const char *extra)
{
  g_autofree char *home = g_build_filename (fixture->dir, name, NULL);
  g_autofree char *config = g_strdup_printf ("[core]\nname=%s\n[local-broadcast]\nport=%u\n%s\n",
                                             name, fixture->signaling_port, extra ? extra : "");

  return ferry_test_new_engine (home, config, "local-broadcast", transports);
}

static void
transfer_requested_cb (FerryEngine   *engine,
                       FerryTransfer *transfer,
                       Fixture       *fixture)
{
  g_autoptr(GFile) dir = g_file_new_for_path (fixture->download);

  g_set_object (&fixture->incoming, transfer);
  ferry_transfer_accept (transfer, dir);
}

static void
start_engines (Fixture    *fixture,
               const char *transports_a,
               const char *extra_a,
               const char *transports_b,
               const char *extra_b)
{
  fixture->a = make_engine (fixture, "alice", transports_a, extra_a);
  fixture->b = make_engine (fixture, "bob", transports_b, extra_b);
  g_signal_connect (fixture->b, "transfer-requested", G_CALLBACK (transfer_requested_cb), fixture);
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  fixture->signaling_port = ferry_test_free_udp_port ();
  fixture->dir = ferry_test_make_dir ("ice");
  fixture->download = g_build_filename (fixture->dir, "download", NULL);
  g_assert_cmpint (g_mkdir_with_parents (fixture->download, 0700), ==, 0);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  g_clear_object (&fixture->incoming);
  if (fixture->a != NULL)
    ferry_engine_stop (fixture->a);
  if (fixture->b != NULL)
    ferry_engine_stop (fixture->b);
  g_clear_object (&fixture->a);
  g_clear_object (&fixture->b);
  coturn_stop (fixture->coturn);
  g_free (fixture->download);
  g_free (fixture->dir);
}

static char *
turn_url (Fixture    *fixture,
          const char *password,
          guint16     port,
          const char *transport)
{
  return g_strdup_printf ("[turn]\nservers=turn:test:%s@127.0.0.1:%u?transport=%s\n",
                          password, port ? port : fixture->coturn->port, transport);
}

/* Transfers {{{1 */

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

static gboolean
transfer_done (gpointer user_data)
{
  return ferry_transfer_is_done (FERRY_TRANSFER (user_data));
}

static FerryTransfer *
send_gfile (Fixture *fixture,
            GFile   *file)
{
  g_autoptr(GTask) out = g_task_new (NULL, NULL, NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(FerryPeer) peer = NULL;
  const char *bob = ferry_identity_get_account_id (ferry_engine_get_identity (fixture->b));
  FerryTransfer *transfer;

  ferry_engine_find_peer_async (fixture->a, bob, 10000, NULL, find_peer_cb, g_object_ref (out));
  ferry_test_wait_until (task_done, out, 15000, "bob to be found");
  peer = g_task_propagate_pointer (out, &error);
  g_assert_no_error (error);

  transfer = ferry_engine_send (fixture->a, peer, &file, 1, &error);
  g_assert_no_error (error);
  return transfer;
}

static FerryTransfer *
send_file (Fixture    *fixture,
           const char *path)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);

  return send_gfile (fixture, file);
}

/* Sends a file of @size bytes, checks it arrived intact, returns the chain. */
static char *
transfer_ok (Fixture *fixture,
             gsize    size)
{
  g_autofree char *path = g_build_filename (fixture->dir, "data.bin", NULL);
  g_autofree char *received = g_build_filename (fixture->download, "data.bin", NULL);
  g_autoptr(FerryTransfer) transfer = NULL;

  ferry_test_write_random (path, size, (guint32) size);
  transfer = send_file (fixture, path);
  ferry_test_wait_until (transfer_done, transfer, TRANSFER_TIMEOUT_MS, "the transfer to end");
  g_assert_no_error (ferry_transfer_get_error (transfer));
  g_assert_cmpint (ferry_transfer_get_state (transfer), ==, FERRY_TRANSFER_STATE_FINISHED);

  g_assert_nonnull (fixture->incoming);
  ferry_test_wait_until (transfer_done, fixture->incoming, TRANSFER_TIMEOUT_MS, "the incoming transfer to end");
  g_assert_cmpint (ferry_transfer_get_state (fixture->incoming), ==, FERRY_TRANSFER_STATE_FINISHED);
  g_assert_true (ferry_test_files_equal (path, received));
  g_assert_cmpstr (ferry_transfer_get_chain (fixture->incoming), !=, NULL);
  g_test_message ("chain: %s", ferry_transfer_get_chain (transfer));

  return g_strdup (ferry_transfer_get_chain (transfer));
}

static void
test_ice_tcp (Fixture       *fixture,
              gconstpointer  data)
{
  g_autofree char *chain = NULL;

  start_engines (fixture, "ice", NULL, "ice", NULL);
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
  g_autofree char *chain = NULL;

  log_clear ();
  start_engines (fixture, "lan,ice", stun, "lan,ice", stun);
  chain = transfer_ok (fixture, 100 * 1000);
  g_assert_true (g_str_has_prefix (chain, "local-broadcast → lan"));

  /* Both engines found the server silent, described ice without its
   * reflexive candidates, and the transfer ended before libnice gave up
   * on the server (the attempts are gone by now: it never will). */
  g_assert_cmpuint (log_count ("does not answer (probe)"), ==, 2);
  g_assert_cmpuint (log_count ("(not waiting for the silent STUN server)"), ==, 2);
  g_assert_cmpuint (log_count ("STUN gathering over"), ==, 0);
}

static void
test_turn_udp (Fixture       *fixture,
               gconstpointer  data)
{
  g_autofree char *conf = NULL;
  g_autofree char *chain = NULL;
  g_autofree char *expected = NULL;

  fixture->coturn = coturn_start ();
  if (fixture->coturn == NULL)
    return;
  conf = turn_url (fixture, "test", 0, "udp");
  start_engines (fixture, "turn", conf, "turn", conf);
  chain = transfer_ok (fixture, 4 * 1024 * 1024 + 1);
  expected = g_strdup_printf ("local-broadcast → turn (udp relay via 127.0.0.1:%u, relay↔relay) → tls1.3/",
                              fixture->coturn->port);
  g_assert_true (g_str_has_prefix (chain, expected));
}

static void
test_turn_tcp (Fixture       *fixture,
               gconstpointer  data)
{
  g_autofree char *conf = NULL;
  g_autofree char *chain = NULL;
  g_autofree char *expected = NULL;

  fixture->coturn = coturn_start ();
  if (fixture->coturn == NULL)
    return;
  conf = turn_url (fixture, "test", 0, "tcp");
  start_engines (fixture, "turn", conf, "turn", conf);
  chain = transfer_ok (fixture, 1024 * 1024 + 3);
  expected = g_strdup_printf ("local-broadcast → turn (tcp relay via 127.0.0.1:%u, relay↔relay) → tls1.3/",
                              fixture->coturn->port);
  g_assert_true (g_str_has_prefix (chain, expected));
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
  g_assert_true (g_file_set_contents (conf, "[turn]\nservers=turn:nopassword@127.0.0.1\n", -1, NULL));

  /* A malformed server: turn stays inactive, ice runs. */
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
  g_assert_true (g_str_has_prefix (chain, expected));
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

/* The stream itself {{{1 */

typedef struct {
  GIOStream *stream;
  guint32    seed;       /* of the bytes this side writes */
  guint32    peer_seed;  /* of the bytes it reads */
  gsize      chunk;      /* read size: small reads are slow readers */
  GError    *error;
  gsize      moved;
} Side;

static void
fill_pattern (guint8  *buffer,
              gsize    size,
              guint64  offset,
              guint32  seed)
{
  for (gsize i = 0; i < size; i++)
    buffer[i] = (guint8) (((offset + i) * 2654435761u) >> 13) ^ (guint8) seed;
}

static gpointer
writer_thread (gpointer user_data)
{
  Side *side = user_data;
  GOutputStream *output = g_io_stream_get_output_stream (side->stream);
  guint8 *buffer = g_malloc (100 * 1000);

  while (side->moved < STREAM_BYTES && side->error == NULL)
    {
      gsize n = MIN (100 * 1000, STREAM_BYTES - side->moved);

      fill_pattern (buffer, n, side->moved, side->seed);
      if (g_output_stream_write_all (output, buffer, n, NULL, NULL, &side->error))
        side->moved += n;
    }
  g_free (buffer);
  return NULL;
}

static gpointer
reader_thread (gpointer user_data)
{
  Side *side = user_data;
  GInputStream *input = g_io_stream_get_input_stream (side->stream);
  guint8 *buffer = g_malloc (side->chunk);
  guint8 *expected = g_malloc (side->chunk);

  while (side->moved < STREAM_BYTES && side->error == NULL)
    {
      gssize n = g_input_stream_read (input, buffer, MIN (side->chunk, STREAM_BYTES - side->moved),
                                      NULL, &side->error);

      if (n <= 0)
        break;
      fill_pattern (expected, n, side->moved, side->peer_seed);
      if (memcmp (buffer, expected, n) != 0)
        {
          side->error = g_error_new (G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                                     "wrong bytes at offset %" G_GSIZE_FORMAT, side->moved);
          break;
        }
      side->moved += n;
    }
  g_free (buffer);
  g_free (expected);
  return NULL;
}

static gpointer
eof_thread (gpointer user_data)
{
  Side *side = user_data;
  guint8 byte;

  /* After the peer closed: end of stream, not a hang. */
  side->moved = g_input_stream_read (g_io_stream_get_input_stream (side->stream), &byte, 1,
                                     NULL, &side->error);
  g_io_stream_close (side->stream, NULL, NULL);
  return NULL;
}

static gpointer
close_thread (gpointer user_data)
{
  g_io_stream_close (G_IO_STREAM (user_data), NULL, NULL);
  return NULL;
}

static gboolean
thread_done (gpointer user_data)
{
  return g_atomic_int_get ((gint *) user_data) != 0;
}

typedef struct {
  GThreadFunc func;
  gpointer    data;
  gint        done;
} Job;

static gpointer
job_thread (gpointer user_data)
{
  Job *job = user_data;

  job->func (job->data);
  g_atomic_int_set (&job->done, 1);
  return NULL;
}

/* Runs @func in a thread while the main context turns (the agents live
 * there). */
static void
run_in_thread (GThreadFunc  func,
               gpointer     data,
               const char  *what)
{
  Job job = { func, data, 0 };
  GThread *thread = g_thread_new (what, job_thread, &job);

  ferry_test_wait_until (thread_done, &job.done, 60000, what);
  g_thread_join (thread);
}

typedef struct {
  Job jobs[4];
} JobSet;

static gboolean
jobs_done (gpointer user_data)
{
  JobSet *set = user_data;

  for (guint i = 0; i < G_N_ELEMENTS (set->jobs); i++)
    if (!g_atomic_int_get (&set->jobs[i].done))
      return FALSE;
  return TRUE;
}

static void
describe_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  GTask *out = user_data;
  GError *error = NULL;
  JsonObject *description = ferry_transport_describe_finish (FERRY_TRANSPORT (source), result, &error);

  if (description != NULL)
    g_task_return_pointer (out, description, (GDestroyNotify) json_object_unref);
  else
    g_task_return_error (out, error);
  g_object_unref (out);
}

static JsonObject *
describe (FerryTransport *transport,
          const char     *id,
          gboolean        offerer)
{
  g_autoptr(GTask) out = g_task_new (NULL, NULL, NULL, NULL);
  g_autoptr(GError) error = NULL;
  JsonObject *description;

  ferry_transport_describe_async (transport, id, offerer, NULL, describe_cb, g_object_ref (out));
  ferry_test_wait_until (task_done, out, 10000, "the description");
  description = g_task_propagate_pointer (out, &error);
  g_assert_no_error (error);
  return description;
}

static void
connect_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  GTask *out = user_data;
  GError *error = NULL;
  char *text = NULL;
  GIOStream *stream = ferry_transport_connect_finish (FERRY_TRANSPORT (source), result, &text, &error);

  if (stream != NULL)
    {
      g_object_set_data_full (G_OBJECT (stream), "description", text, g_free);
      g_task_return_pointer (out, stream, g_object_unref);
    }
  else
    g_task_return_error (out, error);
  g_object_unref (out);
}

static FerryTransport *
first_transport (FerryEngine *engine)
{
  FerryTransport *transport = g_list_model_get_item (ferry_engine_get_transports (engine), 0);

  g_object_unref (transport);   /* the engine keeps it */
  return transport;
}

static void
run_stream (Fixture    *fixture,
            const char *extra,
            const char *expected_description)
{
  FerryTransport *ta, *tb;
  g_autoptr(JsonObject) da = NULL;
  g_autoptr(JsonObject) db = NULL;
  g_autoptr(GTask) ca = g_task_new (NULL, NULL, NULL, NULL);
  g_autoptr(GTask) cb = g_task_new (NULL, NULL, NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GIOStream) sa = NULL;
  g_autoptr(GIOStream) sb = NULL;
  Side a_out = { 0 }, a_in = { 0 }, b_out = { 0 }, b_in = { 0 }, b_eof = { 0 };
  JobSet set = { { { writer_thread, &a_out, 0 }, { reader_thread, &a_in, 0 },
                   { writer_thread, &b_out, 0 }, { reader_thread, &b_in, 0 } } };
  GThread *threads[4];

  start_engines (fixture, "ice", extra, "ice", extra);
  ta = first_transport (fixture->a);
  tb = first_transport (fixture->b);

  da = describe (ta, "0123456789abcdef", TRUE);
  db = describe (tb, "0123456789abcdef", FALSE);
  ferry_transport_connect_async (tb, "0123456789abcdef", FALSE, da, NULL, connect_cb, g_object_ref (cb));
  ferry_transport_connect_async (ta, "0123456789abcdef", TRUE, db, NULL, connect_cb, g_object_ref (ca));
  ferry_test_wait_until (task_done, ca, 15000, "alice to connect");
  sa = g_task_propagate_pointer (ca, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_object_get_data (G_OBJECT (sa), "description"), ==, expected_description);

  /* Both directions at once, each with a blocking reader and a blocking
   * writer thread; bob reads in small pieces, so alice's bytes back up.
   * The answerer's stream comes with the offerer's first bytes (as the
   * TLS client speaks first): alice starts, then bob. */
  a_out = (Side) { sa, 1, 0, 0, NULL, 0 };
  a_in = (Side) { sa, 1, 2, 256 * 1024, NULL, 0 };
  for (guint i = 0; i < 2; i++)
    threads[i] = g_thread_new ("stream", job_thread, &set.jobs[i]);

  ferry_test_wait_until (task_done, cb, 15000, "bob to connect");
  sb = g_task_propagate_pointer (cb, &error);
  g_assert_no_error (error);
  ferry_transport_release (ta, "0123456789abcdef");
  ferry_transport_release (tb, "0123456789abcdef");

  b_out = (Side) { sb, 2, 0, 0, NULL, 0 };
  b_in = (Side) { sb, 2, 1, 1000, NULL, 0 };
  for (guint i = 2; i < 4; i++)
    threads[i] = g_thread_new ("stream", job_thread, &set.jobs[i]);
  ferry_test_wait_until (jobs_done, &set, 60000, "both directions to be moved");
  for (guint i = 0; i < 4; i++)
    g_thread_join (threads[i]);
  g_assert_no_error (a_out.error);
  g_assert_no_error (a_in.error);
  g_assert_no_error (b_out.error);
  g_assert_no_error (b_in.error);
  g_assert_cmpuint (a_in.moved, ==, STREAM_BYTES);
  g_assert_cmpuint (b_in.moved, ==, STREAM_BYTES);

  /* Alice closes; bob's next read is the end of the stream. */
  {
    Job closer = { close_thread, sa, 0 };
    GThread *thread = g_thread_new ("close", job_thread, &closer);

    b_eof.stream = sb;
    b_eof.moved = 42;
    run_in_thread (eof_thread, &b_eof, "bob to read the end of stream");
    ferry_test_wait_until (thread_done, &closer.done, 10000, "alice to close");
    g_thread_join (thread);
  }
  g_assert_no_error (b_eof.error);
  g_assert_cmpuint (b_eof.moved, ==, 0);

  /* Writing on a closed stream fails, it does not hang. */
  g_assert_cmpint (g_output_stream_write (g_io_stream_get_output_stream (sa), "x", 1, NULL, &error), ==, -1);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED);
}

static void
test_stream_tcp (Fixture       *fixture,
                 gconstpointer  data)
{
  run_stream (fixture, NULL, "ice (tcp, host↔prflx)");
}

static void
test_stream_udp (Fixture       *fixture,
                 gconstpointer  data)
{
  run_stream (fixture, "[ice]\ntcp=false", "ice (udp, host↔host)");
}

/* Rounds over a TCP pair: alice writes a block, bob reads it all and
 * answers one byte. The blocks are a little larger than what bob's side
 * buffers before it stops reading (parks), so that the end of each block
 * is often what libnice already read ahead from the socket when bob
 * parked; nothing else arrives on the socket until bob answers, so those
 * bytes reach bob only if his side takes them itself when it reads again
 * (see channel_take_read_ahead()). */
#define ROUNDS 16

typedef struct {
  GIOStream *stream;
  gboolean   alice;
  GError    *error;
  gint       rounds;     /* done */
} Rounds;

/* Bob starts reading a block once alice's writes of it returned: by then
 * his side has buffered all it takes and stopped reading. */
static GMutex rounds_lock;
static GCond  rounds_cond;
static guint  rounds_written;
static guint  rounds_released;

/* While bob reads a block, the context's poll waits for events only: the
 * agents' timers (consent checks every few seconds) would otherwise wake
 * a stalled side by sending a packet. A poll that ends without an event
 * (after 20 s, before consent runs out) is a stall. */
static GPollFunc default_poll;
static gint      round_pending;
static guint     stalls;

static gint
events_only_poll (GPollFD *fds,
                  guint    n_fds,
                  gint     timeout)
{
  gint ready;

  if (timeout == 0 || !g_atomic_int_get (&round_pending))
    return default_poll (fds, n_fds, timeout);
  ready = default_poll (fds, n_fds, 20000);
  if (ready == 0)
    stalls++;
  return ready;
}

static gsize
round_size (guint round)
{
  /* Around 2 MiB, the receive ring, with tails of every size. */
  return 2 * 1024 * 1024 + round * 5 * 1024 + 7;
}

static gpointer
rounds_thread (gpointer user_data)
{
  Rounds *side = user_data;
  GInputStream *input = g_io_stream_get_input_stream (side->stream);
  GOutputStream *output = g_io_stream_get_output_stream (side->stream);
  guint8 *buffer = g_malloc (round_size (ROUNDS));
  guint8 *expected = g_malloc (round_size (ROUNDS));

  for (guint round = 0; round < ROUNDS && side->error == NULL; round++)
    {
      gsize size = round_size (round), n = 0;
      guint8 ack = 0;

      fill_pattern (expected, size, round, (guint32) round);
      if (side->alice)
        {
          gboolean written = g_output_stream_write_all (output, expected, size, NULL, NULL,
                                                        &side->error);

          g_mutex_lock (&rounds_lock);
          rounds_written = round + 1;
          g_mutex_unlock (&rounds_lock);
          g_main_context_wakeup (NULL);
          if (written &&
              g_input_stream_read_all (input, &ack, 1, &n, NULL, &side->error) && n == 1 &&
              ack != (guint8) round)
            side->error = g_error_new (G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "wrong answer");
        }
      else
        {
          gboolean read;

          ack = (guint8) round;
          g_mutex_lock (&rounds_lock);
          while (rounds_released <= round)
            g_cond_wait (&rounds_cond, &rounds_lock);
          g_mutex_unlock (&rounds_lock);
          read = g_input_stream_read_all (input, buffer, size, &n, NULL, &side->error);
          g_atomic_int_set (&round_pending, 0);
          g_main_context_wakeup (NULL);
          if (read && n == size && memcmp (buffer, expected, size) == 0)
            g_output_stream_write_all (output, &ack, 1, NULL, NULL, &side->error);
          else if (side->error == NULL)
            side->error = g_error_new (G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                                       "round %u: %" G_GSIZE_FORMAT " bytes", round, n);
        }
      if (side->error == NULL)
        g_atomic_int_inc (&side->rounds);
    }
  g_free (buffer);
  g_free (expected);
  return NULL;
}

static gboolean
rounds_done (gpointer user_data)
{
  Rounds *sides = user_data;

  return (g_atomic_int_get (&sides[0].rounds) == ROUNDS || sides[0].error != NULL) &&
         (g_atomic_int_get (&sides[1].rounds) == ROUNDS || sides[1].error != NULL);
}

static void
test_stream_tcp_read_ahead (Fixture       *fixture,
                            gconstpointer  data)
{
  FerryTransport *ta, *tb;
  g_autoptr(JsonObject) da = NULL;
  g_autoptr(JsonObject) db = NULL;
  g_autoptr(GTask) ca = g_task_new (NULL, NULL, NULL, NULL);
  g_autoptr(GTask) cb = g_task_new (NULL, NULL, NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GIOStream) sa = NULL;
  g_autoptr(GIOStream) sb = NULL;
  Rounds sides[2] = { { 0 } };
  GThread *threads[2];

  log_clear ();
  rounds_written = rounds_released = stalls = 0;
  start_engines (fixture, "ice", "[ice]\nudp=false", "ice", "[ice]\nudp=false");
  ta = first_transport (fixture->a);
  tb = first_transport (fixture->b);
  da = describe (ta, "0123456789abcdef", TRUE);
  db = describe (tb, "0123456789abcdef", FALSE);
  ferry_transport_connect_async (tb, "0123456789abcdef", FALSE, da, NULL, connect_cb, g_object_ref (cb));
  ferry_transport_connect_async (ta, "0123456789abcdef", TRUE, db, NULL, connect_cb, g_object_ref (ca));
  ferry_test_wait_until (task_done, ca, 15000, "alice to connect");
  sa = g_task_propagate_pointer (ca, &error);
  g_assert_no_error (error);

  sides[0] = (Rounds) { sa, TRUE, NULL, 0 };
  threads[0] = g_thread_new ("alice", rounds_thread, &sides[0]);
  ferry_test_wait_until (task_done, cb, 15000, "bob to connect");
  sb = g_task_propagate_pointer (cb, &error);
  g_assert_no_error (error);
  sides[1] = (Rounds) { sb, FALSE, NULL, 0 };
  threads[1] = g_thread_new ("bob", rounds_thread, &sides[1]);

  /* Once alice wrote a block, the main context turns until nothing is
   * left to do (alice blocked or done, bob's side parked), then bob reads
   * it with events only. */
  default_poll = g_main_context_get_poll_func (NULL);
  g_main_context_set_poll_func (NULL, events_only_poll);
  while (!rounds_done (sides))
    {
      gboolean release;

      g_main_context_iteration (NULL, TRUE);
      g_mutex_lock (&rounds_lock);
      release = rounds_written > rounds_released;
      g_mutex_unlock (&rounds_lock);
      if (!release)
        continue;
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_atomic_int_set (&round_pending, 1);
      g_mutex_lock (&rounds_lock);
      rounds_released = rounds_written;
      g_cond_broadcast (&rounds_cond);
      g_mutex_unlock (&rounds_lock);
    }
  g_main_context_set_poll_func (NULL, default_poll);
  for (guint i = 0; i < 2; i++)
    g_thread_join (threads[i]);
  g_test_message ("read-ahead taken back in %u of %u rounds", log_count ("read ahead"), ROUNDS);
  /* Every block reached bob through events alone. */
  g_assert_cmpuint (stalls, ==, 0);
  g_assert_no_error (sides[0].error);
  g_assert_no_error (sides[1].error);
  g_assert_cmpint (sides[1].rounds, ==, ROUNDS);
  ferry_transport_release (ta, "0123456789abcdef");
  ferry_transport_release (tb, "0123456789abcdef");
  g_io_stream_close (sa, NULL, NULL);
  g_io_stream_close (sb, NULL, NULL);
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
  g_log_set_writer_func (capture_writer, NULL, NULL);
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/ice/transfer-tcp", test_ice_tcp);
  ADD ("/ice/transfer-udp", test_ice_udp);
  ADD ("/ice/lossy-udp", test_ice_lossy);
  ADD ("/ice/stun", test_ice_stun);
  ADD ("/ice/dead-stun", test_ice_dead_stun);
  ADD ("/ice/dead-stun-lan", test_ice_dead_stun_lan);
  ADD ("/ice/stream-tcp", test_stream_tcp);
  ADD ("/ice/stream-udp", test_stream_udp);
  ADD ("/ice/stream-tcp-read-ahead", test_stream_tcp_read_ahead);
  ADD ("/ice/bad-descriptions", test_bad_descriptions);
  ADD ("/ice/old-peer", test_old_peer);
  ADD ("/ice/peer-stops", test_peer_stops);
  ADD ("/turn/transfer-udp", test_turn_udp);
  ADD ("/turn/transfer-tcp", test_turn_tcp);
  ADD ("/turn/wrong-password", test_turn_wrong_password);
  ADD ("/turn/unreachable", test_turn_unreachable);
  ADD ("/turn/not-configured", test_turn_not_configured);
  ADD ("/chain/fallback", test_chain);
  ADD ("/chain/all-fail", test_all_fail);
#undef ADD
  g_test_add_func ("/cli/bad-options", test_cli_options);

  return g_test_run ();
}
