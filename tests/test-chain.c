/* test-chain.c: a transfer's chain with the paths its transport took
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <gio/gio.h>

#include "ferry-chain-private.h"

#define RELAY  "ice (udp relay via 192.0.2.1:3478, relay↔srflx)"
#define DIRECT "ice (udp, srflx↔srflx)"

static GListStore *
parse (const char *chain)
{
  g_autoptr(GPtrArray) segments = _ferry_chain_parse (chain, NULL);
  GListStore *store = g_list_store_new (FERRY_TYPE_CHAIN_SEGMENT);

  g_list_store_splice (store, 0, 0, segments->pdata, segments->len);
  return store;
}

static FerryChainSegment *
nth (GListStore *store,
     guint       i)
{
  FerryChainSegment *segment = g_list_model_get_item (G_LIST_MODEL (store), i);

  g_object_unref (segment);   /* the store keeps it */
  return segment;
}

static void
set_bytes (GListStore *store,
           guint64     bytes)
{
  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (store)); i++)
    _ferry_chain_segment_set_bytes (nth (store, i), bytes);
}

/* One path: one transport segment that counts every byte. */
static void
test_chain_one_path (void)
{
  g_autoptr(GListStore) store = parse ("dht → " DIRECT " → tls1.3/aes-256-gcm");
  g_autofree char *text = NULL;

  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, 3);
  set_bytes (store, 1000);
  g_assert_cmpuint (ferry_chain_segment_get_bytes (nth (store, 1)), ==, 1000);
  text = _ferry_chain_to_string (G_LIST_MODEL (store));
  g_assert_cmpstr (text, ==, "dht → " DIRECT " → tls1.3/aes-256-gcm");
}

/* The relay gives way to a direct pair after 300 bytes: two transport
 * segments, each with its bytes; the text keeps what the first carried and
 * reads back the same. */
static void
test_chain_moved (void)
{
  g_autoptr(GListStore) store = parse ("dht → " RELAY " → tls1.3/aes-256-gcm");
  g_autofree char *moved = NULL;
  g_autoptr(GListStore) again = NULL;
  g_autofree char *text = NULL;
  g_autofree char *text_again = NULL;

  set_bytes (store, 250);
  /* (the stream had delivered 300 bytes when the transfer counted 250) */
  moved = _ferry_chain_add_path (store, DIRECT, 300, 250);
  g_assert_cmpstr (moved, ==, "dht → " RELAY " [300 bytes] ⇒ " DIRECT " → tls1.3/aes-256-gcm");
  g_assert_null (_ferry_chain_add_path (store, DIRECT, 400, 400));
  set_bytes (store, 1000);

  g_assert_cmpuint (ferry_chain_segment_get_bytes (nth (store, 1)), ==, 300);
  g_assert_cmpuint (ferry_chain_segment_get_bytes (nth (store, 2)), ==, 700);
  g_assert_cmpuint (ferry_chain_segment_get_bytes (nth (store, 3)), ==, 1000);
  g_assert_cmpstr (ferry_chain_segment_get_details (nth (store, 1)), ==,
                   "udp relay via 192.0.2.1:3478, relay↔srflx");
  g_assert_cmpstr (ferry_chain_segment_get_addresses (nth (store, 1))[0], ==, "192.0.2.1:3478");

  text = _ferry_chain_to_string (G_LIST_MODEL (store));
  g_assert_cmpstr (text, ==, "dht → " RELAY " [300 bytes] ⇒ " DIRECT " → tls1.3/aes-256-gcm");

  /* A fan-out parent copies the text of its sub-transfer. */
  again = parse (text);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (again)), ==, 4);
  set_bytes (again, 1000);
  g_assert_cmpint (ferry_chain_segment_get_kind (nth (again, 2)), ==, FERRY_CHAIN_SEGMENT_TRANSPORT);
  g_assert_cmpuint (ferry_chain_segment_get_bytes (nth (again, 1)), ==, 300);
  g_assert_cmpuint (ferry_chain_segment_get_bytes (nth (again, 2)), ==, 700);
  text_again = _ferry_chain_to_string (G_LIST_MODEL (again));
  g_assert_cmpstr (text_again, ==, text);
}

/* Text that only looks like a count stays part of the details. */
static void
test_chain_not_a_count (void)
{
  g_autoptr(GListStore) store = parse ("dht → lan (tcp [x bytes]) → tls1.3/aes-256-gcm");

  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, 3);
  g_assert_cmpstr (ferry_chain_segment_get_details (nth (store, 1)), ==, "tcp [x bytes]");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/chain/one-path", test_chain_one_path);
  g_test_add_func ("/chain/moved", test_chain_moved);
  g_test_add_func ("/chain/not-a-count", test_chain_not_a_count);
  return g_test_run ();
}
