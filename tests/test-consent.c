/* test-consent.c: consent before any network work, and bounded offers
 *
 * Two engines in one process with the real plugins (local-broadcast and
 * lan on loopback). The sender's lan transport listens on a known port, so
 * that the kernel's own table of TCP connections (/proc/net/tcp) tells
 * whether the receiver is connected to it while it decides (before the
 * consent fix, the offer was only shown once that connection was up and
 * the session header had come through it).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "ferry.h"
#include "test-utils.h"

typedef enum {
  ON_REQUEST_ACCEPT,
  ON_REQUEST_REJECT,
  ON_REQUEST_IGNORE,
} OnRequest;

typedef struct {
  char          *dir;
  char          *download;
  guint16        lan_port;   /* the sender's lan listener */
  FerryEngine   *sender;
  FerryEngine   *receiver;
  OnRequest      on_request;
  GPtrArray     *requested;  /* FerryTransfer */
  guint          connected_when_asked;
  guint          connected_while_running;
} Fixture;

/* TCP connections (in any state but LISTEN) from or to @port on this
 * machine, as the kernel lists them. */
static guint
tcp_connections_on_port (guint16 port)
{
  const char *tables[] = { "/proc/net/tcp", "/proc/net/tcp6" };
  guint n = 0;

  for (guint t = 0; t < G_N_ELEMENTS (tables); t++)
    {
      g_autofree char *text = NULL;
      g_auto(GStrv) lines = NULL;

      if (!g_file_get_contents (tables[t], &text, NULL, NULL))
        continue;
      lines = g_strsplit (text, "\n", -1);
      for (guint i = 1; lines[i] != NULL; i++)
        {
          g_auto(GStrv) fields = g_strsplit_set (g_strstrip (lines[i]), " ", -1);
          g_autoptr(GPtrArray) words = g_ptr_array_new ();

          for (guint j = 0; fields[j] != NULL; j++)
            if (fields[j][0] != '\0')
              g_ptr_array_add (words, fields[j]);
          if (words->len < 4 || g_str_equal (g_ptr_array_index (words, 3), "0A"))
            continue;
          for (guint j = 1; j <= 2; j++)
            {
              const char *colon = strrchr (g_ptr_array_index (words, j), ':');

              if (colon != NULL && g_ascii_strtoull (colon + 1, NULL, 16) == port)
                n++;
            }
        }
    }
  return n;
}

/* A TCP port that was free a moment ago, on 127.0.0.1, and that no
 * socket of this machine uses in any state: a port an earlier test's
 * connections left in TIME_WAIT would count as a connection here. */
static guint16
free_tcp_port (void)
{
  for (guint attempt = 0; attempt < 100; attempt++)
    {
      g_autoptr(GSocketListener) listener = g_socket_listener_new ();
      g_autoptr(GError) error = NULL;
      guint16 port = g_socket_listener_add_any_inet_port (listener, NULL, &error);

      g_assert_no_error (error);
      g_socket_listener_close (listener);
      if (tcp_connections_on_port (port) == 0)
        return port;
    }
  g_assert_not_reached ();
}

static FerryEngine *
make_engine (Fixture    *fixture,
             const char *name,
             guint16     signaling_port,
             const char *extra)
{
  g_autofree char *home = g_build_filename (fixture->dir, name, NULL);
  g_autofree char *config = g_strdup_printf ("[core]\nname=%s\n%s\n[local-broadcast]\nport=%u\n[lan]\nport=%u\n",
                                             name, extra, signaling_port,
                                             g_str_equal (name, "alice") ? fixture->lan_port : 0);

  return ferry_test_new_engine (home, config, "local-broadcast", "lan");
}

static void
transfer_requested_cb (FerryEngine   *engine,
                       FerryTransfer *transfer,
                       Fixture       *fixture)
{
  g_autoptr(GFile) dir = g_file_new_for_path (fixture->download);

  g_ptr_array_add (fixture->requested, g_object_ref (transfer));
  fixture->connected_when_asked += tcp_connections_on_port (fixture->lan_port);
  if (fixture->on_request == ON_REQUEST_ACCEPT)
    ferry_transfer_accept (transfer, dir);
  else if (fixture->on_request == ON_REQUEST_REJECT)
    ferry_transfer_reject (transfer, "not from you");
}

static void
fixture_set_up (Fixture    *fixture,
                const char *sender_extra,
                const char *receiver_extra)
{
  guint16 port = ferry_test_free_udp_port ();

  fixture->dir = ferry_test_make_dir ("consent");
  fixture->download = g_build_filename (fixture->dir, "download", NULL);
  g_assert_cmpint (g_mkdir_with_parents (fixture->download, 0700), ==, 0);
  fixture->requested = g_ptr_array_new_with_free_func (g_object_unref);
  fixture->lan_port = free_tcp_port ();
  fixture->sender = make_engine (fixture, "alice", port, sender_extra ? sender_extra : "");
  fixture->receiver = make_engine (fixture, "bob", port, receiver_extra ? receiver_extra : "");
  g_signal_connect (fixture->receiver, "transfer-requested", G_CALLBACK (transfer_requested_cb), fixture);
}

static void
fixture_tear_down (Fixture *fixture)
{
  g_clear_pointer (&fixture->requested, g_ptr_array_unref);
  ferry_engine_stop (fixture->sender);
  ferry_engine_stop (fixture->receiver);
  g_clear_object (&fixture->sender);
  g_clear_object (&fixture->receiver);
  g_free (fixture->download);
  g_free (fixture->dir);
}

static void
find_peer_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  FerryPeer **out = user_data;
  g_autoptr(GError) error = NULL;

  *out = ferry_engine_find_peer_finish (FERRY_ENGINE (source), result, &error);
  if (*out == NULL)
    *out = (FerryPeer *) GINT_TO_POINTER (1);   /* checked by the caller */
}

static gboolean
pointer_set (gpointer user_data)
{
  return *(gpointer *) user_data != NULL;
}

static gboolean
uint_set (gpointer user_data)
{
  return *(guint *) user_data != 0;
}

static gboolean
transfer_done (gpointer user_data)
{
  return ferry_transfer_is_done (FERRY_TRANSFER (user_data));
}

static FerryTransfer *
send_file (Fixture    *fixture,
           const char *path)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GError) error = NULL;
  FerryPeer *peer = NULL;
  FerryTransfer *transfer;

  ferry_engine_find_peer_async (fixture->sender, "bob", 10000, NULL, find_peer_cb, &peer);
  ferry_test_wait_until (pointer_set, &peer, 15000, "bob to be found");
  g_assert_true (peer != GINT_TO_POINTER (1));
  transfer = ferry_engine_send (fixture->sender, peer, &file, 1, &error);
  g_object_unref (peer);
  g_assert_no_error (error);
  return transfer;
}

static FerryTransfer *
send_text (Fixture    *fixture,
           const char *name,
           const char *text)
{
  g_autofree char *path = g_build_filename (fixture->dir, name, NULL);

  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  return send_file (fixture, path);
}

static guint
n_history_records (FerryEngine *engine)
{
  g_autoptr(JsonArray) history = ferry_engine_get_history (engine);

  return json_array_get_length (history);
}

/* A rejected offer: the receiver never connected, recorded nothing, and
 * the sender heard the reason. */
static void
test_rejected_costs_nothing (void)
{
  Fixture fixture = { 0, };
  g_autoptr(FerryTransfer) transfer = NULL;
  FerryTransfer *incoming;

  fixture_set_up (&fixture, NULL, NULL);
  fixture.on_request = ON_REQUEST_REJECT;
  g_assert_cmpuint (tcp_connections_on_port (fixture.lan_port), ==, 0);

  transfer = send_text (&fixture, "unwanted.txt", "unwanted");
  ferry_test_wait_until (transfer_done, transfer, 20000, "the transfer to end");
  g_assert_error (ferry_transfer_get_error (transfer), FERRY_ERROR, FERRY_ERROR_REJECTED);
  g_assert_nonnull (strstr (ferry_transfer_get_error (transfer)->message, "not from you"));

  /* The receiver decided on what the offer said. */
  g_assert_cmpuint (fixture.requested->len, ==, 1);
  incoming = g_ptr_array_index (fixture.requested, 0);
  g_assert_cmpint (ferry_transfer_get_state (incoming), ==, FERRY_TRANSFER_STATE_CANCELLED);
  g_assert_cmpuint (g_list_model_get_n_items (ferry_transfer_get_files (incoming)), ==, 1);
  g_assert_cmpuint (ferry_transfer_get_total_size (incoming), ==, strlen ("unwanted"));

  g_assert_cmpuint (fixture.connected_when_asked, ==, 0);
  g_assert_cmpuint (tcp_connections_on_port (fixture.lan_port), ==, 0);
  g_assert_cmpuint (n_history_records (fixture.receiver), ==, 0);
  g_assert_cmpuint (g_list_model_get_n_items (ferry_engine_get_transfers (fixture.receiver)), ==, 0);
  fixture_tear_down (&fixture);
}

/* An offer nobody decides on expires, still without a connection or a
 * record; the sender hears that it expired. */
static void
test_ignored_expires (void)
{
  Fixture fixture = { 0, };
  g_autoptr(FerryTransfer) transfer = NULL;
  FerryTransfer *incoming;

  fixture_set_up (&fixture, NULL, "offer-timeout=1");
  fixture.on_request = ON_REQUEST_IGNORE;
  transfer = send_text (&fixture, "ignored.txt", "ignored");
  ferry_test_wait_until (transfer_done, transfer, 20000, "the transfer to end");
  g_assert_error (ferry_transfer_get_error (transfer), FERRY_ERROR, FERRY_ERROR_REJECTED);
  g_assert_nonnull (strstr (ferry_transfer_get_error (transfer)->message, "expired"));
  g_assert_cmpuint (fixture.requested->len, ==, 1);
  incoming = g_ptr_array_index (fixture.requested, 0);
  g_assert_cmpint (ferry_transfer_get_state (incoming), ==, FERRY_TRANSFER_STATE_TIMEOUT_EXPIRED);
  g_assert_cmpuint (fixture.connected_when_asked, ==, 0);
  g_assert_cmpuint (tcp_connections_on_port (fixture.lan_port), ==, 0);
  g_assert_cmpuint (n_history_records (fixture.receiver), ==, 0);
  fixture_tear_down (&fixture);
}

static void
incoming_bytes_cb (FerryTransfer *incoming,
                   GParamSpec    *pspec,
                   Fixture       *fixture)
{
  fixture->connected_while_running = MAX (fixture->connected_while_running,
                                          tcp_connections_on_port (fixture->lan_port));
}

/* The same check sees the connection of an accepted transfer while it
 * runs; the transfer arrives and is recorded. */
static void
test_accepted_connects (void)
{
  Fixture fixture = { 0, };
  g_autoptr(FerryTransfer) transfer = NULL;
  g_autofree char *source = NULL;
  g_autofree char *received = NULL;
  FerryTransfer *incoming;

  fixture_set_up (&fixture, NULL, NULL);
  fixture.on_request = ON_REQUEST_ACCEPT;
  source = g_build_filename (fixture.dir, "wanted.bin", NULL);
  ferry_test_write_random (source, 4 * 1024 * 1024, 3);
  transfer = send_file (&fixture, source);
  ferry_test_wait_until (uint_set, &fixture.requested->len, 20000, "the offer to arrive");
  incoming = g_ptr_array_index (fixture.requested, 0);
  g_signal_connect (incoming, "notify::bytes", G_CALLBACK (incoming_bytes_cb), &fixture);

  ferry_test_wait_until (transfer_done, transfer, 20000, "the transfer to end");
  g_assert_no_error (ferry_transfer_get_error (transfer));
  ferry_test_wait_until (transfer_done, incoming, 20000, "the incoming transfer to end");
  g_signal_handlers_disconnect_by_data (incoming, &fixture);
  g_assert_cmpint (ferry_transfer_get_state (incoming), ==, FERRY_TRANSFER_STATE_FINISHED);
  received = g_build_filename (fixture.download, "wanted.bin", NULL);
  g_assert_true (ferry_test_files_equal (source, received));
  g_assert_cmpuint (fixture.connected_when_asked, ==, 0);
  /* The accepted transfer connected over lan: its chain says so. (The
   * sampled count of connections is only a hint: a fast transfer can end
   * before the first progress report, which comes with its last bytes.) */
  g_test_message ("connections seen while running: %u", fixture.connected_while_running);
  g_assert_nonnull (ferry_transfer_get_chain (incoming));
  g_assert_nonnull (strstr (ferry_transfer_get_chain (incoming), "lan (tcp "));
  g_assert_cmpuint (n_history_records (fixture.receiver), ==, 1);
  fixture_tear_down (&fixture);
}

/* Offers waiting for a decision are bounded per account: the second one
 * is dropped unseen and unanswered, and its sender gives up. */
static void
test_pending_offers_bounded (void)
{
  Fixture fixture = { 0, };
  g_autoptr(FerryTransfer) first = NULL;
  g_autoptr(FerryTransfer) second = NULL;

  fixture_set_up (&fixture, "offer-timeout=2", "max-pending-offers-per-account=1");
  fixture.on_request = ON_REQUEST_IGNORE;
  first = send_text (&fixture, "one.txt", "one");
  second = send_text (&fixture, "two.txt", "two");
  ferry_test_wait_until (transfer_done, second, 20000, "the second transfer to end");
  ferry_test_wait_until (transfer_done, first, 20000, "the first transfer to end");
  g_assert_error (ferry_transfer_get_error (second), FERRY_ERROR, FERRY_ERROR_NO_TRANSPORT);
  /* The first one was shown: its sender waited for the decision. */
  g_assert_error (ferry_transfer_get_error (first), FERRY_ERROR, FERRY_ERROR_TIMEOUT);
  g_assert_cmpuint (fixture.requested->len, ==, 1);
  g_assert_cmpuint (fixture.connected_when_asked, ==, 0);
  fixture_tear_down (&fixture);
}

typedef struct {
  FerryEngine *engine;
  const char  *account;
} PeerWait;

static gboolean
knows_account (gpointer user_data)
{
  PeerWait *wait = user_data;
  GListModel *peers = ferry_engine_get_peers (wait->engine);

  for (guint i = 0; i < g_list_model_get_n_items (peers); i++)
    {
      g_autoptr(FerryPeer) peer = g_list_model_get_item (peers, i);

      if (g_str_equal (ferry_peer_get_account_id (peer), wait->account))
        return TRUE;
    }
  return FALSE;
}

/* Peers are remembered up to max-peers: the one seen least recently is
 * forgotten when another one shows up. */
static void
test_peers_bounded (void)
{
  g_autofree char *carol_home = NULL;
  g_autofree char *config = NULL;
  g_autoptr(FerryEngine) carol = NULL;
  Fixture fixture = { 0, };
  PeerWait wait;
  g_autofree char *port_text = NULL;
  guint16 port;

  fixture_set_up (&fixture, NULL, "max-peers=1");
  wait.engine = fixture.receiver;
  wait.account = ferry_identity_get_account_id (ferry_engine_get_identity (fixture.sender));
  ferry_test_wait_until (knows_account, &wait, 15000, "bob to see alice");

  /* carol uses the same signaling port as the others. */
  port_text = ferry_engine_dup_plugin_setting (fixture.sender, "local-broadcast", "port");
  port = (guint16) g_ascii_strtoull (port_text, NULL, 10);
  carol_home = g_build_filename (fixture.dir, "carol", NULL);
  config = g_strdup_printf ("[core]\nname=carol\n[local-broadcast]\nport=%u\n", port);
  carol = ferry_test_new_engine (carol_home, config, "local-broadcast", "lan");
  wait.account = ferry_identity_get_account_id (ferry_engine_get_identity (carol));
  ferry_test_wait_until (knows_account, &wait, 15000, "bob to see carol");
  g_assert_cmpuint (g_list_model_get_n_items (ferry_engine_get_peers (fixture.receiver)), ==, 1);
  ferry_engine_stop (carol);
  fixture_tear_down (&fixture);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/consent/rejected-costs-nothing", test_rejected_costs_nothing);
  g_test_add_func ("/consent/ignored-expires", test_ignored_expires);
  g_test_add_func ("/consent/accepted-connects", test_accepted_connects);
  g_test_add_func ("/consent/pending-offers-bounded", test_pending_offers_bounded);
  g_test_add_func ("/consent/peers-bounded", test_peers_bounded);
  return g_test_run ();
}
