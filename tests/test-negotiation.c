/* test-negotiation.c: the negotiated chain, with test transports
 *
 * What both sides do when transports fail (test-negotiation-common.c):
 * falling back after a broken one, an attempt that times out, every
 * transport failing, none in common, a transport left inactive for its
 * configuration, and an answer lost on the bus and sent again.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "test-negotiation-common.h"

static void
test_fallback_after_failure (void)
{
  const char *transports[] = { "broken", "pipe", NULL };
  Fixture fixture = { 0, };
  g_autoptr(FerryTransfer) transfer = NULL;

  fixture_set_up (&fixture, transports, transports, NULL);
  transfer = send_payload (&fixture);

  g_assert_no_error (ferry_transfer_get_error (transfer));
  g_assert_cmpint (ferry_transfer_get_state (transfer), ==, FERRY_TRANSFER_STATE_FINISHED);
  /* broken ranks higher, so both sides tried it first, then fell back. */
  g_assert_cmpuint (n_connects[MODE_BROKEN], ==, 2);
  g_assert_cmpuint (n_connects[MODE_PIPE], ==, 2);
  g_assert_true (g_str_has_prefix (ferry_transfer_get_chain (transfer), "bus → pipe (socketpair) → tls1.3/"));
  assert_received (&fixture);
  g_assert_cmpstr (ferry_transfer_get_chain (fixture.incoming), ==, ferry_transfer_get_chain (transfer));
  fixture_tear_down (&fixture);
}

static void
test_attempt_timeout (void)
{
  const char *transports[] = { "hang", NULL };
  Fixture fixture = { 0, };
  g_autoptr(FerryTransfer) transfer = NULL;
  const GError *error;

  fixture_set_up (&fixture, transports, transports, "connect-timeout=1\n");
  transfer = send_payload (&fixture);

  g_assert_cmpint (ferry_transfer_get_state (transfer), ==, FERRY_TRANSFER_STATE_UNJOINABLE_PEER);
  error = ferry_transfer_get_error (transfer);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_NO_TRANSPORT);
  g_assert_nonnull (strstr (error->message, "hang"));
  /* The receiver was asked first (consent comes before connecting), then
   * could not connect either. */
  g_assert_nonnull (fixture.incoming);
  ferry_test_wait_until (transfer_done, fixture.incoming, 20000, "the incoming transfer to end");
  g_assert_cmpint (ferry_transfer_get_state (fixture.incoming), ==, FERRY_TRANSFER_STATE_UNJOINABLE_PEER);
  fixture_tear_down (&fixture);
}

static void
test_all_fail (void)
{
  const char *transports[] = { "broken", NULL };
  Fixture fixture = { 0, };
  g_autoptr(FerryTransfer) transfer = NULL;
  const GError *error;
  g_autofree char *listing = NULL;

  fixture_set_up (&fixture, transports, transports, NULL);
  transfer = send_payload (&fixture);

  g_assert_cmpint (ferry_transfer_get_state (transfer), ==, FERRY_TRANSFER_STATE_UNJOINABLE_PEER);
  error = ferry_transfer_get_error (transfer);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_NO_TRANSPORT);
  g_assert_nonnull (strstr (error->message, "broken"));
  g_assert_nonnull (strstr (error->message, "refused by the broken test transport"));
  listing = ferry_test_list_dir (fixture.download);
  g_assert_cmpstr (listing, ==, "");
  fixture_tear_down (&fixture);
}

static void
test_nothing_in_common (void)
{
  const char *sender_transports[] = { "pipe", NULL };
  const char *receiver_transports[] = { "broken", NULL };
  Fixture fixture = { 0, };
  g_autoptr(FerryTransfer) transfer = NULL;

  fixture_set_up (&fixture, sender_transports, receiver_transports, NULL);
  transfer = send_payload (&fixture);

  g_assert_cmpint (ferry_transfer_get_state (transfer), ==, FERRY_TRANSFER_STATE_UNJOINABLE_PEER);
  g_assert_error (ferry_transfer_get_error (transfer), FERRY_ERROR, FERRY_ERROR_NO_TRANSPORT);
  g_assert_cmpuint (n_connects[MODE_PIPE] + n_connects[MODE_BROKEN], ==, 0);
  fixture_tear_down (&fixture);
}

static void
test_lost_answer (void)
{
  const char *transports[] = { "pipe", NULL };
  Fixture fixture = { 0, };
  g_autoptr(FerryTransfer) transfer = NULL;

  fixture_set_up (&fixture, transports, transports, NULL);
  /* The receiver's first message, its answer, is lost on the way. */
  bus_lossy_engine = fixture.receiver;
  bus_drops = 1;
  transfer = send_payload (&fixture);
  g_assert_cmpuint (bus_drops, ==, 0);
  bus_lossy_engine = NULL;

  g_assert_no_error (ferry_transfer_get_error (transfer));
  g_assert_cmpint (ferry_transfer_get_state (transfer), ==, FERRY_TRANSFER_STATE_FINISHED);
  /* Without a copy of the answer the sender gives up (after 15 s) and the
   * transfer fails: it finished, so a later copy got through. */
  g_assert_cmpuint (bus_lossy_sent, >=, 2);
  assert_received (&fixture);
  fixture_tear_down (&fixture);
}

static void
test_inactive_feature (void)
{
  g_autofree char *dir = ferry_test_make_dir ("inactive");
  const char *bus[] = { "bus", NULL };
  const char *with_pipe[] = { "unconfigured", "pipe", NULL };
  const char *alone[] = { "unconfigured", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(FerryEngine) engine = NULL;
  g_autoptr(FerryEngine) lonely = NULL;
  FerryFeature *feature;

  engine = ferry_engine_new (dir, NULL, &error);
  g_assert_no_error (error);
  feature = ferry_registry_lookup_feature (ferry_engine_get_registry (engine), FERRY_TYPE_TRANSPORT, "unconfigured");
  g_assert_false (ferry_engine_check_feature (engine, feature, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG);
  g_clear_error (&error);

  /* Left out, with its reason, while the others start. */
  ferry_engine_set_signalings (engine, bus);
  ferry_engine_set_transports (engine, with_pipe);
  g_assert_true (ferry_engine_start (engine, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_list_model_get_n_items (ferry_engine_get_transports (engine)), ==, 1);
  g_assert_cmpstr (ferry_engine_get_inactive_reason (engine, "unconfigured"), ==, "no server is configured");
  g_assert_null (ferry_engine_get_inactive_reason (engine, "pipe"));
  ferry_engine_stop (engine);

  /* With nothing else left, starting fails and says why. */
  lonely = ferry_engine_new (dir, NULL, &error);
  g_assert_no_error (error);
  ferry_engine_set_signalings (lonely, bus);
  ferry_engine_set_transports (lonely, alone);
  g_assert_false (ferry_engine_start (lonely, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG);
  g_assert_nonnull (strstr (error->message, "unconfigured: no server is configured"));
}

int
main (int   argc,
      char *argv[])
{
  negotiation_test_init (&argc, &argv);

  g_test_add_func ("/negotiation/fallback-after-failure", test_fallback_after_failure);
  g_test_add_func ("/negotiation/attempt-timeout", test_attempt_timeout);
  g_test_add_func ("/negotiation/all-fail", test_all_fail);
  g_test_add_func ("/negotiation/nothing-in-common", test_nothing_in_common);
  g_test_add_func ("/negotiation/inactive-feature", test_inactive_feature);
  g_test_add_func ("/negotiation/lost-answer", test_lost_answer);

  return g_test_run ();
}
