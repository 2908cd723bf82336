/* test-peer.c: what messages of a device may change about it
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "ferry-envelope-private.h"
#include "ferry-identity-private.h"
#include "ferry-peer-private.h"

static FerryIdentity *
make_identity (const char *name)
{
  g_autofree char *dir = g_build_filename (g_get_user_data_dir (), name, NULL);
  g_autoptr(GError) error = NULL;
  FerryIdentity *identity = ferry_identity_new (dir, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (identity);
  return identity;
}

/* An announcement of @from signed at @timestamp_ms, as a device (or a
 * recording of it) would send it. */
static GBytes *
announcement_at (FerryIdentity *from,
                 gint64         timestamp_ms)
{
  g_autoptr(GBytes) plain = NULL;
  g_autoptr(GBytes) signature = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) outer_parser = json_parser_new ();
  g_autoptr(JsonParser) inner_parser = json_parser_new ();
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(JsonObject) outer = json_object_new ();
  g_autoptr(JsonNode) outer_node = NULL;
  g_autofree char *m = NULL;
  g_autofree char *s = NULL;
  JsonObject *message;
  char *text;

  plain = _ferry_envelope_build (from, "announce", "*", NULL, &error);
  g_assert_no_error (error);
  g_assert_true (json_parser_load_from_data (outer_parser, g_bytes_get_data (plain, NULL),
                                             g_bytes_get_size (plain), NULL));
  g_assert_true (json_parser_load_from_data (inner_parser,
                                             json_object_get_string_member (json_node_get_object (json_parser_get_root (outer_parser)), "m"),
                                             -1, NULL));
  message = json_node_get_object (json_parser_get_root (inner_parser));
  json_object_set_int_member (message, "ts", timestamp_ms);

  node = json_node_init_object (json_node_alloc (), message);
  m = json_to_string (node, FALSE);
  signature = _ferry_identity_sign (from, (const guint8 *) m, strlen (m), &error);
  g_assert_no_error (error);
  s = g_base64_encode (g_bytes_get_data (signature, NULL), g_bytes_get_size (signature));
  json_object_set_string_member (outer, "m", m);
  json_object_set_string_member (outer, "s", s);
  outer_node = json_node_init_object (json_node_alloc (), outer);
  text = json_to_string (outer_node, FALSE);

  return g_bytes_new_take (text, strlen (text));
}

/* What the engine does with an announcement that arrived by @route. */
static gboolean
deliver (FerryIdentity *to,
         FerryDevice   *device,
         GBytes        *announcement,
         const char    *route)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FerryEnvelope) envelope = NULL;

  envelope = _ferry_envelope_receive (to, announcement, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (envelope);

  return _ferry_device_update (device, envelope->from_name, NULL, route,
                               envelope->chain_pem, envelope->timestamp_ms);
}

/* A recorded announcement replayed within its validity window, from
 * another address, does not redirect the device's messages: only a newer
 * announcement moves its route. */
static void
test_announcement_replay (void)
{
  g_autoptr(FerryIdentity) alice = make_identity ("alice");
  g_autoptr(FerryIdentity) bob = make_identity ("bob");
  g_autoptr(FerryDevice) device = NULL;
  gint64 now_ms = g_get_real_time () / 1000;
  g_autoptr(GBytes) older = announcement_at (alice, now_ms - 60 * 1000);
  g_autoptr(GBytes) current = announcement_at (alice, now_ms - 1000);
  g_autoptr(GBytes) newer = announcement_at (alice, now_ms);

  device = _ferry_device_new (ferry_identity_get_account_id (alice),
                              ferry_identity_get_device_id (alice));

  g_assert_true (deliver (bob, device, current, "192.0.2.10:4000"));
  g_assert_cmpstr (_ferry_device_get_route (device), ==, "192.0.2.10:4000");

  /* An older one, replayed by someone else. */
  g_assert_false (deliver (bob, device, older, "198.51.100.66:4000"));
  g_assert_cmpstr (_ferry_device_get_route (device), ==, "192.0.2.10:4000");

  /* The same one again, replayed by someone else. */
  g_assert_false (deliver (bob, device, current, "198.51.100.66:4000"));
  g_assert_cmpstr (_ferry_device_get_route (device), ==, "192.0.2.10:4000");

  /* The device moved: its next announcement is newer. */
  g_assert_true (deliver (bob, device, newer, "192.0.2.11:4000"));
  g_assert_cmpstr (_ferry_device_get_route (device), ==, "192.0.2.11:4000");
  g_assert_false (deliver (bob, device, current, "198.51.100.66:4000"));
  g_assert_cmpstr (_ferry_device_get_route (device), ==, "192.0.2.11:4000");
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/peer/announcement-replay", test_announcement_replay);

  return g_test_run ();
}
