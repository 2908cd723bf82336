/* test-dht-hostile.c: junk on a private OpenDHT network
 *
 * Three engines on two `dhtnode` processes on loopback (test-dht-common.c).
 * Values written by hand to a device's inbox and to an account's key (not
 * Ferry values, wrong kinds, bad senders, oversized, forged, re-addressed
 * or replayed messages) are dropped and counted; the devices keep working.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <json-glib/json-glib.h>

#include "test-dht-common.h"

#define FRAME_HEADER_SIZE (4 + 1 + 64)

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

int
main (int    argc,
      char **argv)
{
  dht_test_init (&argc, &argv);

  dht_test_add ("/dht/junk", TRUE, test_junk);

  return g_test_run ();
}
