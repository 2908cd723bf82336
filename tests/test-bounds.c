/* test-bounds.c: what an offer may say, where a device may connect, and
 * what the history keeps
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>
#include <glib/gstdio.h>

#include "ferry-history-private.h"
#include "negotiation/ferry-negotiation-private.h"
#include "negotiation/ferry-offer-private.h"
#include "test-utils.h"

#define ID     "0123456789abcdef0123456789abcdef"
#define SUB    "fedcba9876543210fedcba9876543210"
#define OTHER  "00112233445566778899aabbccddeeff"

static GPtrArray *
some_files (guint n)
{
  GPtrArray *files = g_ptr_array_new_with_free_func ((GDestroyNotify) _ferry_session_file_free);

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *name = g_strdup_printf ("file %u/..\\x.txt", i % 3);

      g_ptr_array_add (files, _ferry_session_file_new (name, 1000 + i, "text/plain"));
    }
  return files;
}

static void
test_offer_round_trip (void)
{
  g_autoptr(GPtrArray) files = some_files (3);
  g_autoptr(JsonObject) body = json_object_new ();
  g_autoptr(FerryOfferFiles) offer = NULL;
  g_autoptr(GError) error = NULL;
  FerrySessionFile *changed;

  g_assert_true (_ferry_offer_describe_files (body, ID, files, NULL, NULL, &error));
  g_assert_no_error (error);
  offer = _ferry_offer_parse_files (body, ID, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (offer->count, ==, 3);
  g_assert_cmpuint (offer->files->len, ==, 3);
  g_assert_cmpuint (offer->total, ==, 1000 + 1001 + 1002);
  /* Names are sanitised as the session does. */
  g_assert_null (strchr (((FerrySessionFile *) g_ptr_array_index (offer->files, 0))->name, '/'));

  /* The header must match: the receiver's session sanitises the same way. */
  {
    g_autoptr(GPtrArray) same = g_ptr_array_new_with_free_func ((GDestroyNotify) _ferry_session_file_free);

    for (guint i = 0; i < offer->files->len; i++)
      {
        FerrySessionFile *sf = g_ptr_array_index (offer->files, i);

        g_ptr_array_add (same, _ferry_session_file_new (sf->name, sf->size, sf->mime_type));
      }
    g_assert_true (_ferry_offer_matches (offer, same, NULL, NULL));
    changed = g_ptr_array_index (same, 1);
    changed->size++;
    g_assert_false (_ferry_offer_matches (offer, same, NULL, NULL));
    changed->size--;
    g_ptr_array_remove_index (same, 2);
    g_assert_false (_ferry_offer_matches (offer, same, NULL, NULL));
  }
}

static void
test_offer_bounded (void)
{
  g_autoptr(GPtrArray) files = some_files (200);
  g_autoptr(JsonObject) body = json_object_new ();
  g_autoptr(FerryOfferFiles) offer = NULL;
  g_autoptr(GError) error = NULL;

  /* Many files: the first are listed, the rest are counted. */
  g_assert_true (_ferry_offer_describe_files (body, ID, files, NULL, NULL, &error));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (body, "files")), <=, FERRY_OFFER_MAX_LISTED);
  offer = _ferry_offer_parse_files (body, ID, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (offer->count, ==, 200);

  /* Lies are refused. */
  json_object_set_int_member (body, "total", 5);
  g_clear_pointer (&offer, _ferry_offer_files_free);
  offer = _ferry_offer_parse_files (body, ID, &error);
  g_assert_null (offer);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL);
  g_clear_error (&error);

  json_object_set_int_member (body, "total", 1000000);
  json_object_set_int_member (body, "count", 3);
  offer = _ferry_offer_parse_files (body, ID, &error);
  g_assert_null (offer);
  g_clear_error (&error);

  json_object_set_int_member (body, "count", 1000000);
  offer = _ferry_offer_parse_files (body, ID, &error);
  g_assert_null (offer);
  g_clear_error (&error);

  json_object_remove_member (body, "digest");
  json_object_set_int_member (body, "count", 200);
  offer = _ferry_offer_parse_files (body, ID, &error);
  g_assert_null (offer);
  g_clear_error (&error);
}

static void
test_scope_filter (void)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(JsonObject) lan_kept = NULL;
  g_autoptr(JsonObject) lan = NULL;
  g_autoptr(JsonObject) ice = NULL;
  JsonObject *remote;
  JsonArray *addresses;

  g_assert_true (json_parser_load_from_data (parser,
    "{\"token\":\"t\",\"addresses\":[\"127.0.0.1:4000\",\"192.168.1.2:4000\",\"[::1]:4000\",\"127.9.9.9:1\"],"
    "\"candidates\":[\"a=candidate:1 1 UDP 2013266431 127.0.0.1 45678 typ host\","
    "\"a=candidate:2 1 UDP 2013266431 10.0.0.7 45678 typ host\"]}", -1, NULL));
  remote = json_node_get_object (json_parser_get_root (parser));

  lan_kept = _ferry_negotiation_filter_scope (remote, TRUE);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (lan_kept, "addresses")), ==, 4);

  lan = _ferry_negotiation_filter_scope (remote, FALSE);
  addresses = json_object_get_array_member (lan, "addresses");
  g_assert_cmpuint (json_array_get_length (addresses), ==, 1);
  g_assert_cmpstr (json_array_get_string_element (addresses, 0), ==, "192.168.1.2:4000");
  g_assert_cmpstr (json_object_get_string_member (lan, "token"), ==, "t");

  ice = g_steal_pointer (&lan);
  addresses = json_object_get_array_member (ice, "candidates");
  g_assert_cmpuint (json_array_get_length (addresses), ==, 1);
  g_assert_nonnull (strstr (json_array_get_string_element (addresses, 0), "10.0.0.7"));
  /* The original is left alone. */
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (remote, "addresses")), ==, 4);
}

/* Writes a record as an older version of Ferry would have, unindexed. */
static void
write_raw_record (const char *home,
                  const char *id,
                  const char *json)
{
  g_autofree char *dir = g_build_filename (home, "history", NULL);
  g_autofree char *name = g_strconcat (id, ".json", NULL);
  g_autofree char *path = g_build_filename (dir, name, NULL);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (path, json, -1, NULL));
}

static JsonObject *
parse_object (const char *json)
{
  g_autoptr(JsonParser) parser = json_parser_new ();

  g_assert_true (json_parser_load_from_data (parser, json, -1, NULL));
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

#define SENT_RECORD(id, sub) \
  "{\"id\":\"" id "\",\"direction\":\"outgoing\",\"created\":1,\"state\":\"finished\"," \
  "\"devices\":[{\"device\":\"d\",\"account\":\"a\",\"transfer\":\"" sub "\"}],\"files\":[]}"

static void
test_history_index (void)
{
  g_autofree char *home = ferry_test_make_dir ("index");
  g_autofree char *legacy = ferry_test_make_dir ("legacy");
  g_autoptr(JsonObject) record = parse_object (SENT_RECORD (ID, SUB));
  g_autoptr(JsonObject) found = NULL;
  g_autoptr(GError) error = NULL;

  /* Saved records are indexed by sub-transfer id. */
  g_assert_true (_ferry_history_save (home, record, &error));
  g_assert_no_error (error);
  found = _ferry_history_find_sent (home, SUB);
  g_assert_nonnull (found);
  g_assert_cmpstr (json_object_get_string_member (found, "id"), ==, ID);
  g_clear_pointer (&found, json_object_unref);
  found = _ferry_history_find_sent (home, ID);
  g_assert_nonnull (found);
  g_clear_pointer (&found, json_object_unref);

  /* A lookup reads the index, not every record: a record the index does
   * not know is not found. */
  write_raw_record (home, OTHER, SENT_RECORD (OTHER, "99999999999999999999999999999999"));
  g_assert_null (_ferry_history_find_sent (home, "99999999999999999999999999999999"));
  g_assert_null (_ferry_history_find_sent (home, "abababababababababababababababab"));

  /* A history from before the index is indexed once. */
  write_raw_record (legacy, ID, SENT_RECORD (ID, SUB));
  found = _ferry_history_find_sent (legacy, SUB);
  g_assert_nonnull (found);
  g_assert_cmpstr (json_object_get_string_member (found, "id"), ==, ID);
}

static void
test_history_maintain (void)
{
  g_autofree char *home = ferry_test_make_dir ("maintain");
  g_autofree char *download = ferry_test_make_dir ("download");
  g_autofree char *part = g_build_filename (download, "big.bin.part", NULL);
  g_autofree char *fresh_part = g_build_filename (download, "new.bin.part", NULL);
  g_autofree char *record = NULL;
  g_autoptr(JsonArray) list = NULL;
  gint64 now = 100LL * 24 * 3600 * 1000;
  gint64 day = 24LL * 3600 * 1000;

  g_assert_true (g_file_set_contents (part, "0123", -1, NULL));
  g_assert_true (g_file_set_contents (fresh_part, "0123", -1, NULL));
  /* Crashed while receiving, 40 days ago: interrupted, .part expired. */
  record = g_strdup_printf ("{\"id\":\"%s\",\"direction\":\"incoming\",\"created\":%" G_GINT64_FORMAT ","
                            "\"updated\":%" G_GINT64_FORMAT ",\"state\":\"ongoing\",\"directory\":\"%s\","
                            "\"files\":[{\"name\":\"big.bin\",\"size\":10,\"part\":\"big.bin.part\",\"part-bytes\":4}]}",
                            ID, now - 40 * day, now - 40 * day, download);
  write_raw_record (home, ID, record);
  g_free (record);
  /* Crashed yesterday: interrupted, .part kept for a fetch. */
  record = g_strdup_printf ("{\"id\":\"%s\",\"direction\":\"incoming\",\"created\":%" G_GINT64_FORMAT ","
                            "\"updated\":%" G_GINT64_FORMAT ",\"state\":\"ongoing\",\"directory\":\"%s\","
                            "\"files\":[{\"name\":\"new.bin\",\"size\":10,\"part\":\"new.bin.part\",\"part-bytes\":4}]}",
                            SUB, now - day, now - day, download);
  write_raw_record (home, SUB, record);
  g_free (record);
  /* The oldest of three, beyond max_records=2: removed. */
  record = g_strdup_printf ("{\"id\":\"%s\",\"direction\":\"outgoing\",\"created\":%" G_GINT64_FORMAT ","
                            "\"state\":\"finished\",\"files\":[]}", OTHER, now - 50 * day);
  write_raw_record (home, OTHER, record);

  _ferry_history_maintain (home, now, 2, 0, 30 * day);

  list = _ferry_history_list (home);
  g_assert_cmpuint (json_array_get_length (list), ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      JsonObject *r = json_array_get_object_element (list, i);
      JsonObject *file = json_array_get_object_element (json_object_get_array_member (r, "files"), 0);

      g_assert_cmpstr (json_object_get_string_member (r, "state"), ==, "error");
      g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (r, "error"), "code"), ==,
                       "interrupted");
      if (g_str_equal (json_object_get_string_member (r, "id"), ID))
        g_assert_false (json_object_has_member (file, "part"));
      else
        g_assert_cmpstr (json_object_get_string_member (file, "part"), ==, "new.bin.part");
    }
  g_assert_false (g_file_test (part, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (fresh_part, G_FILE_TEST_EXISTS));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/bounds/offer/round-trip", test_offer_round_trip);
  g_test_add_func ("/bounds/offer/bounded", test_offer_bounded);
  g_test_add_func ("/bounds/scope-filter", test_scope_filter);
  g_test_add_func ("/bounds/history/index", test_history_index);
  g_test_add_func ("/bounds/history/maintain", test_history_maintain);
  return g_test_run ();
}
