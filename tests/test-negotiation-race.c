/* test-negotiation-race.c: the race of transports (happy eyeballs)
 *
 * Staggered starts between test transports (test-negotiation-common.c)
 * and the real lan one: a lower-ranked attempt starts beside one that
 * hangs, without waiting when the higher-ranked one cannot reach the peer
 * (a private address in another home, loopback), after the stagger when
 * it could; and lan, reachable, wins while the other waits.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "test-negotiation-common.h"

static gboolean
hang_cancelled_twice (gpointer user_data)
{
  return n_cancelled[MODE_HANG] == 2;
}

static void
test_stagger_past_hanging (void)
{
  const char *transports[] = { "hang", "pipe", NULL };
  Fixture fixture = { 0, };
  g_autoptr(FerryTransfer) transfer = NULL;

  /* The hanging attempt ends only when cancelled (or after the 10 s
   * connect-timeout, which cancels it too): each side must have started
   * its pipe attempt while its hanging one was still pending, i.e. by the
   * staggered start and not as a fallback. An order of events, not a
   * duration, so it holds however slow the machine. */
  fixture_set_up (&fixture, transports, transports, "connect-timeout=10\n");
  transfer = send_payload (&fixture);

  g_assert_cmpint (ferry_transfer_get_state (transfer), ==, FERRY_TRANSFER_STATE_FINISHED);
  g_assert_cmpuint (n_connects[MODE_HANG], ==, 2);
  g_assert_cmpuint (n_connects[MODE_PIPE], ==, 2);
  g_assert_cmpuint (pipe_beside_hang[TRUE], ==, 1);
  g_assert_cmpuint (pipe_beside_hang[FALSE], ==, 1);
  /* "hang" describes no address: nothing says it cannot connect, so
   * both sides held pipe back behind it. */
  g_assert_cmpuint (ferry_test_log_count ("offerer: waiting 150 ms"), ==, 1);
  g_assert_cmpuint (ferry_test_log_count ("answerer: waiting 150 ms"), ==, 1);
  g_assert_cmpuint (ferry_test_log_count ("offerer: not waiting"), ==, 0);
  g_assert_cmpuint (ferry_test_log_count ("answerer: not waiting"), ==, 0);
  assert_received (&fixture);
  /* The loser was cancelled on both sides. */
  ferry_test_wait_until (hang_cancelled_twice, NULL, 5000, "both hanging attempts to be cancelled");
  fixture_tear_down (&fixture);
}

/* Whether a route other than the default one covers @address (IPv4). */
static gboolean
routed (GInetAddress *address)
{
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;
  guint32 target;

  if (!g_file_get_contents ("/proc/net/route", &contents, NULL, NULL))
    return FALSE;
  memcpy (&target, g_inet_address_to_bytes (address), sizeof target);
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 1; lines[i] != NULL; i++)
    {
      char iface[64];
      unsigned int destination, gateway, flags, refcnt, use, metric, mask;

      if (sscanf (lines[i], "%63s %x %x %x %u %u %u %x", iface, &destination, &gateway,
                  &flags, &refcnt, &use, &metric, &mask) == 8 &&
          mask != 0 && (target & mask) == destination)
        return TRUE;
    }
  return FALSE;
}

/* A private address (RFC 1918 or shared) on none of this host's networks
 * and reached by its default route only: one in another home, behind its
 * router. Never dialled: "far" hangs. */
static char *
private_address_elsewhere (void)
{
  const char *candidates[] = { "10.254.253.252", "172.31.253.252", "192.168.253.252", "100.127.253.252" };
  g_autoptr(GListModel) interfaces = ferry_network_interface_list_all ();

  for (guint c = 0; c < G_N_ELEMENTS (candidates); c++)
    {
      g_autoptr(GInetAddress) candidate = g_inet_address_new_from_string (candidates[c]);
      gboolean ours = FALSE;

      for (guint i = 0; i < g_list_model_get_n_items (interfaces); i++)
        {
          g_autoptr(FerryNetworkInterface) iface = g_list_model_get_item (interfaces, i);
          GPtrArray *addresses = ferry_network_interface_get_addresses (iface);

          for (guint j = 0; j < addresses->len; j++)
            {
              g_autoptr(GInetAddressMask) network =
                ferry_network_interface_dup_network (iface, g_ptr_array_index (addresses, j));

              if (network != NULL && g_inet_address_mask_matches (network, candidate))
                ours = TRUE;
            }
        }
      if (!ours && !routed (candidate))
        return g_strdup_printf ("%s:9", candidates[c]);
    }
  g_assert_not_reached ();
}

/* The transfer went over pipe, started at once beside the far attempt on
 * both sides: the stagger was skipped, not waited out (60 s, beyond the
 * wait for the transfer) nor cut short by a failure (far only hangs). */
static void
assert_stagger_skipped (Fixture       *fixture,
                        FerryTransfer *transfer)
{
  g_assert_cmpint (ferry_transfer_get_state (transfer), ==, FERRY_TRANSFER_STATE_FINISHED);
  g_assert_true (g_str_has_prefix (ferry_transfer_get_chain (transfer), "bus → pipe (socketpair) → tls1.3/"));
  g_assert_cmpuint (n_connects[MODE_HANG], ==, 2);
  g_assert_cmpuint (n_connects[MODE_PIPE], ==, 2);
  g_assert_cmpuint (pipe_beside_hang[TRUE], ==, 1);
  g_assert_cmpuint (pipe_beside_hang[FALSE], ==, 1);
  /* The answerer judged the address, and told the offerer in its answer. */
  g_assert_cmpuint (ferry_test_log_count ("answerer: not waiting for far"), ==, 1);
  g_assert_cmpuint (ferry_test_log_count ("offerer: not waiting for far"), ==, 1);
  g_assert_cmpuint (ferry_test_log_count ("answerer: waiting"), ==, 0);
  g_assert_cmpuint (ferry_test_log_count ("offerer: waiting"), ==, 0);
  assert_received (fixture);
  ferry_test_wait_until (hang_cancelled_twice, NULL, 5000, "both far attempts to be cancelled");
}

static void
test_stagger_skipped_private (void)
{
  const char *transports[] = { "far", "pipe", NULL };
  Fixture fixture = { 0, };
  g_autoptr(FerryTransfer) transfer = NULL;

  /* Two homes: the offerer's address is private and on none of the
   * answerer's networks, so that attempt cannot win. */
  fixture_set_up (&fixture, transports, transports, "stagger=60000\nconnect-timeout=60\n");
  far_address = private_address_elsewhere ();
  transfer = send_payload (&fixture);
  assert_stagger_skipped (&fixture, transfer);
  fixture_tear_down (&fixture);
}

static void
test_stagger_skipped_loopback (void)
{
  const char *transports[] = { "far", "pipe", NULL };
  Fixture fixture = { 0, };
  g_autoptr(FerryTransfer) transfer = NULL;

  /* A loopback address, to a device that does not use loopback. */
  fixture_set_up (&fixture, transports, transports, "stagger=60000\nconnect-timeout=60\n");
  far_address = g_strdup ("127.0.0.1:9");
  transfer = send_payload (&fixture);
  assert_stagger_skipped (&fixture, transfer);
  fixture_tear_down (&fixture);
}

static void
test_stagger_kept_reachable (void)
{
  const char *transports[] = { "far", "pipe", NULL };
  Fixture fixture = { 0, };
  g_autoptr(FerryTransfer) transfer = NULL;

  /* The same address on the network both devices use: far could win,
   * so pipe waits for the stagger on both sides. */
  fixture_set_up (&fixture, transports, transports, "interfaces=lo\nconnect-timeout=60\n");
  far_address = g_strdup ("127.0.0.1:9");
  transfer = send_payload (&fixture);

  g_assert_cmpint (ferry_transfer_get_state (transfer), ==, FERRY_TRANSFER_STATE_FINISHED);
  g_assert_true (g_str_has_prefix (ferry_transfer_get_chain (transfer), "bus → pipe (socketpair) → tls1.3/"));
  g_assert_cmpuint (pipe_beside_hang[TRUE], ==, 1);
  g_assert_cmpuint (pipe_beside_hang[FALSE], ==, 1);
  g_assert_cmpuint (ferry_test_log_count ("answerer: waiting 150 ms"), ==, 1);
  g_assert_cmpuint (ferry_test_log_count ("offerer: waiting 150 ms"), ==, 1);
  g_assert_cmpuint (ferry_test_log_count ("answerer: not waiting"), ==, 0);
  g_assert_cmpuint (ferry_test_log_count ("offerer: not waiting"), ==, 0);
  assert_received (&fixture);
  ferry_test_wait_until (hang_cancelled_twice, NULL, 5000, "both far attempts to be cancelled");
  fixture_tear_down (&fixture);
}

static void
test_stagger_lan_wins (void)
{
  const char *transports[] = { "lan", "pipe", NULL };
  Fixture fixture = { 0, };
  g_autoptr(FerryTransfer) transfer = NULL;

  /* The real lan transport on a LAN (loopback here): its addresses are
   * on the answerer's network, so both sides hold pipe back (for 60 s)
   * and lan wins; pipe never starts. */
  fixture_set_up (&fixture, transports, transports, "interfaces=lo\nstagger=60000\n");
  transfer = send_payload (&fixture);

  g_assert_no_error (ferry_transfer_get_error (transfer));
  g_assert_cmpint (ferry_transfer_get_state (transfer), ==, FERRY_TRANSFER_STATE_FINISHED);
  g_assert_true (g_str_has_prefix (ferry_transfer_get_chain (transfer), "bus → lan (tcp 127.0.0.1:"));
  g_assert_cmpuint (n_connects[MODE_PIPE], ==, 0);
  g_assert_cmpuint (ferry_test_log_count ("answerer: waiting 60000 ms"), ==, 1);
  g_assert_cmpuint (ferry_test_log_count ("offerer: waiting 60000 ms"), ==, 1);
  g_assert_cmpuint (ferry_test_log_count ("answerer: not waiting"), ==, 0);
  g_assert_cmpuint (ferry_test_log_count ("offerer: not waiting"), ==, 0);
  assert_received (&fixture);
  fixture_tear_down (&fixture);
}

int
main (int   argc,
      char *argv[])
{
  /* the core's debug lines about staggered starts, per side */
  ferry_test_log_capture ("Ferry", (const char * const []) { "offerer: ", "answerer: ", NULL });
  negotiation_test_init (&argc, &argv);

  g_test_add_func ("/negotiation/stagger-past-hanging", test_stagger_past_hanging);
  g_test_add_func ("/negotiation/stagger/skipped-private", test_stagger_skipped_private);
  g_test_add_func ("/negotiation/stagger/skipped-loopback", test_stagger_skipped_loopback);
  g_test_add_func ("/negotiation/stagger/kept-reachable", test_stagger_kept_reachable);
  g_test_add_func ("/negotiation/stagger/lan-wins", test_stagger_lan_wins);

  return g_test_run ();
}
