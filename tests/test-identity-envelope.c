/* test-identity-envelope.c: signed envelopes, built and opened: their
 * shape, signatures, chains, times, replays and sizes
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <gnutls/crypto.h>

#include "ferry-envelope-private.h"
#include "ferry-error.h"
#include "ferry-identity-private.h"
#include "test-identity-common.h"

typedef struct {
  FerryIdentity *a;
  FerryIdentity *b;
  FerryReplayCache *cache;
} EnvelopeFixture;

static void
envelope_setup (EnvelopeFixture *fixture,
                gconstpointer    data)
{
  fixture->a = make_identity ("home-a");
  fixture->b = make_identity ("home-b");
  fixture->cache = _ferry_replay_cache_new ();
}

static void
envelope_teardown (EnvelopeFixture *fixture,
                   gconstpointer    data)
{
  g_clear_object (&fixture->a);
  g_clear_object (&fixture->b);
  g_clear_pointer (&fixture->cache, _ferry_replay_cache_free);
}

static char *
object_to_string (JsonObject *object)
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), object);

  return json_to_string (node, FALSE);
}

/* A message as _ferry_envelope_build() would make it, for tests to bend. */
static JsonObject *
base_message (FerryIdentity *from,
              const char    *to,
              const char    *type)
{
  JsonObject *message = json_object_new ();
  JsonObject *sender = json_object_new ();
  guint8 raw[16];
  GString *id = g_string_new (NULL);

  g_assert_cmpint (gnutls_rnd (GNUTLS_RND_NONCE, raw, sizeof raw), ==, 0);
  for (guint i = 0; i < sizeof raw; i++)
    g_string_append_printf (id, "%02x", raw[i]);

  json_object_set_string_member (sender, "account", ferry_identity_get_account_id (from));
  json_object_set_string_member (sender, "device", ferry_identity_get_device_id (from));
  json_object_set_string_member (sender, "name", "sender");

  json_object_set_int_member (message, "v", 1);
  json_object_set_string_member (message, "id", id->str);
  g_string_free (id, TRUE);
  json_object_set_int_member (message, "ts", g_get_real_time () / 1000);
  json_object_set_string_member (message, "type", type);
  json_object_set_object_member (message, "from", sender);
  json_object_set_string_member (message, "to", to);
  json_object_set_string_member (message, "chain", _ferry_identity_get_chain_pem (from));
  json_object_set_object_member (message, "body", json_object_new ());

  return message;
}

static GBytes *
wrap_bytes (const char *m,
            const char *s)
{
  g_autoptr(JsonObject) outer = json_object_new ();
  char *text;

  json_object_set_string_member (outer, "m", m);
  json_object_set_string_member (outer, "s", s);
  text = object_to_string (outer);

  return g_bytes_new_take (text, strlen (text));
}

/* Signs @message with @signer's device key and wraps it. */
static GBytes *
sign_message (FerryIdentity *signer,
              JsonObject    *message)
{
  g_autofree char *m = object_to_string (message);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) signature = NULL;
  g_autofree char *s = NULL;

  signature = _ferry_identity_sign (signer, (const guint8 *) m, strlen (m), &error);
  g_assert_no_error (error);
  s = g_base64_encode (g_bytes_get_data (signature, NULL), g_bytes_get_size (signature));

  return wrap_bytes (m, s);
}

static GBytes *
bytes_from_string (const char *text)
{
  return g_bytes_new (text, strlen (text));
}

static void
expect_rejected (EnvelopeFixture *fixture,
                 GBytes          *wire,
                 const char      *own_device_id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FerryEnvelope) envelope = NULL;

  envelope = _ferry_envelope_parse (wire, own_device_id, fixture->cache, &error);
  g_assert_null (envelope);
  g_assert_nonnull (error);
  g_assert_true (error->domain == FERRY_ERROR);
  g_assert_true (error->code == FERRY_ERROR_BAD_MESSAGE ||
                 error->code == FERRY_ERROR_PEER_UNTRUSTED);
  g_assert_cmpstr (error->message, !=, "");
}

static void
test_envelope_round_trip (EnvelopeFixture *fixture,
                          gconstpointer    data)
{
  g_autoptr(JsonObject) body = json_object_new ();
  g_autoptr(GBytes) wire = NULL;
  g_autoptr(FerryEnvelope) envelope = NULL;
  g_autoptr(GError) error = NULL;
  gint64 now_ms = g_get_real_time () / 1000;

  json_object_set_string_member (body, "offer", "lan");
  json_object_set_int_member (body, "port", 4242);

  ferry_identity_set_name (fixture->a, "Alice's phone");
  wire = _ferry_envelope_build (fixture->a, "offer", ferry_identity_get_device_id (fixture->b),
                                body, &error);
  g_assert_no_error (error);
  g_assert_nonnull (wire);
  g_assert_cmpuint (g_bytes_get_size (wire), <=, FERRY_ENVELOPE_MAX_SIZE);

  envelope = _ferry_envelope_parse (wire, ferry_identity_get_device_id (fixture->b),
                                    fixture->cache, &error);
  g_assert_no_error (error);
  g_assert_nonnull (envelope);
  g_assert_true (strlen (envelope->id) == 32);
  g_assert_cmpstr (envelope->type, ==, "offer");
  g_assert_cmpstr (envelope->from_account, ==, ferry_identity_get_account_id (fixture->a));
  g_assert_cmpstr (envelope->from_device, ==, ferry_identity_get_device_id (fixture->a));
  g_assert_cmpstr (envelope->from_name, ==, "Alice's phone");
  g_assert_cmpstr (envelope->to, ==, ferry_identity_get_device_id (fixture->b));
  g_assert_cmpstr (envelope->chain_pem, ==, _ferry_identity_get_chain_pem (fixture->a));
  g_assert_cmpint (envelope->timestamp_ms, >=, now_ms - 1000);
  g_assert_cmpint (envelope->timestamp_ms, <=, now_ms + 1000);
  g_assert_nonnull (envelope->body);
  g_assert_cmpstr (json_object_get_string_member (envelope->body, "offer"), ==, "lan");
  g_assert_cmpint (json_object_get_int_member (envelope->body, "port"), ==, 4242);
}

static void
test_envelope_ids_differ (EnvelopeFixture *fixture,
                          gconstpointer    data)
{
  const char *to = ferry_identity_get_device_id (fixture->b);
  g_autoptr(GBytes) one = _ferry_envelope_build (fixture->a, "cancel", to, NULL, NULL);
  g_autoptr(GBytes) two = _ferry_envelope_build (fixture->a, "cancel", to, NULL, NULL);
  g_autoptr(FerryEnvelope) e1 = _ferry_envelope_parse (one, to, fixture->cache, NULL);
  g_autoptr(FerryEnvelope) e2 = _ferry_envelope_parse (two, to, fixture->cache, NULL);

  g_assert_nonnull (e1);
  g_assert_nonnull (e2);
  g_assert_cmpstr (e1->id, !=, e2->id);
  g_assert_cmpuint (json_object_get_size (e1->body), ==, 0);
}

static void
test_envelope_announce (EnvelopeFixture *fixture,
                        gconstpointer    data)
{
  g_autoptr(GBytes) announce = NULL;
  g_autoptr(GBytes) offer = NULL;
  g_autoptr(FerryEnvelope) envelope = NULL;
  g_autoptr(GError) error = NULL;

  announce = _ferry_envelope_build (fixture->a, "announce", "*", NULL, &error);
  g_assert_no_error (error);
  envelope = _ferry_envelope_parse (announce, ferry_identity_get_device_id (fixture->b),
                                    fixture->cache, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (envelope->to, ==, "*");

  /* Only an announce may go to every device. */
  offer = _ferry_envelope_build (fixture->a, "offer", "*", NULL, &error);
  g_assert_no_error (error);
  expect_rejected (fixture, offer, ferry_identity_get_device_id (fixture->b));
}

static void
test_envelope_not_json (EnvelopeFixture *fixture,
                        gconstpointer    data)
{
  const char *own = ferry_identity_get_device_id (fixture->b);
  const char *cases[] = {
    "",
    "not json",
    "{\"m\": ",
    "[1, 2, 3]",
    "\"string\"",
    "{}",
    "{\"m\": 1, \"s\": \"AAAA\"}",
    "{\"m\": \"{}\", \"s\": null}",
    "{\"m\": \"not json\", \"s\": \"AAAA\"}",
    "\xff\xfe{}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GBytes) wire = bytes_from_string (cases[i]);

      g_test_message ("case %u", i);
      expect_rejected (fixture, wire, own);
    }
}

static void
test_envelope_bad_base64 (EnvelopeFixture *fixture,
                          gconstpointer    data)
{
  const char *own = ferry_identity_get_device_id (fixture->b);
  g_autoptr(JsonObject) message = base_message (fixture->a, own, "offer");
  g_autofree char *m = object_to_string (message);
  g_autoptr(GBytes) signature = _ferry_identity_sign (fixture->a, (const guint8 *) m, strlen (m), NULL);
  g_autofree char *good = g_base64_encode (g_bytes_get_data (signature, NULL),
                                           g_bytes_get_size (signature));
  g_autofree char *with_junk = g_strdup_printf ("%s!!", good);
  g_autofree char *spaced = g_strdup_printf (" %s", good);
  g_autofree char *truncated = g_strndup (good, strlen (good) - 4);
  g_autofree char *bad_char = g_strdup (good);
  const char *cases[5];

  bad_char[3] = '*';
  cases[0] = with_junk;
  cases[1] = spaced;
  cases[2] = truncated;
  cases[3] = bad_char;
  cases[4] = "";

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GBytes) wire = wrap_bytes (m, cases[i]);

      g_test_message ("case %u", i);
      expect_rejected (fixture, wire, own);
    }

  /* The same message with the right signature passes. */
  {
    g_autoptr(GBytes) wire = wrap_bytes (m, good);
    g_autoptr(FerryEnvelope) envelope = _ferry_envelope_parse (wire, own, fixture->cache, NULL);

    g_assert_nonnull (envelope);
  }
}

static void
test_envelope_tampered (EnvelopeFixture *fixture,
                        gconstpointer    data)
{
  const char *own = ferry_identity_get_device_id (fixture->b);
  g_autoptr(JsonObject) message = base_message (fixture->a, own, "offer");
  g_autofree char *m = object_to_string (message);
  g_autoptr(GBytes) signature = _ferry_identity_sign (fixture->a, (const guint8 *) m, strlen (m), NULL);
  g_autofree char *s = g_base64_encode (g_bytes_get_data (signature, NULL),
                                        g_bytes_get_size (signature));
  g_autoptr(GBytes) wire = NULL;
  g_autofree char *tampered = NULL;
  char *type;

  /* "offer" → "offeR" */
  tampered = g_strdup (m);
  type = strstr (tampered, "\"offer\"");
  g_assert_nonnull (type);
  type[5] = 'R';
  wire = wrap_bytes (tampered, s);
  expect_rejected (fixture, wire, own);
  g_clear_pointer (&wire, g_bytes_unref);

  /* Added white space changes the bytes too. */
  g_clear_pointer (&tampered, g_free);
  tampered = g_strdup_printf ("%s ", m);
  wire = wrap_bytes (tampered, s);
  expect_rejected (fixture, wire, own);
}

static void
test_envelope_wrong_to (EnvelopeFixture *fixture,
                        gconstpointer    data)
{
  g_autoptr(GBytes) wire = NULL;

  wire = _ferry_envelope_build (fixture->a, "offer", ferry_identity_get_device_id (fixture->b),
                                NULL, NULL);
  expect_rejected (fixture, wire, ferry_identity_get_device_id (fixture->a));
  expect_rejected (fixture, wire, ferry_identity_get_account_id (fixture->b));
}

static void
test_envelope_stale (EnvelopeFixture *fixture,
                     gconstpointer    data)
{
  const char *own = ferry_identity_get_device_id (fixture->b);
  gint64 now_ms = g_get_real_time () / 1000;
  gint64 skew_ms = FERRY_ENVELOPE_MAX_SKEW_US / 1000;
  gint64 cases[] = { now_ms - skew_ms - 10000, now_ms + skew_ms + 10000, 0, -1 };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(JsonObject) message = base_message (fixture->a, own, "offer");
      g_autoptr(GBytes) wire = NULL;

      json_object_set_int_member (message, "ts", cases[i]);
      wire = sign_message (fixture->a, message);
      g_test_message ("case %u", i);
      expect_rejected (fixture, wire, own);
    }

  /* Within the allowed skew, both ways */
  for (gint sign = -1; sign <= 1; sign += 2)
    {
      g_autoptr(JsonObject) message = base_message (fixture->a, own, "offer");
      g_autoptr(GBytes) wire = NULL;
      g_autoptr(FerryEnvelope) envelope = NULL;

      json_object_set_int_member (message, "ts", now_ms + sign * (skew_ms - 10000));
      wire = sign_message (fixture->a, message);
      envelope = _ferry_envelope_parse (wire, own, fixture->cache, NULL);
      g_assert_nonnull (envelope);
    }
}

static void
test_envelope_replayed (EnvelopeFixture *fixture,
                        gconstpointer    data)
{
  const char *own = ferry_identity_get_device_id (fixture->b);
  g_autoptr(GBytes) wire = _ferry_envelope_build (fixture->a, "offer", own, NULL, NULL);
  g_autoptr(FerryEnvelope) first = NULL;
  g_autoptr(FerryEnvelope) again = NULL;
  g_autoptr(FerryReplayCache) other_cache = _ferry_replay_cache_new ();
  g_autoptr(GError) error = NULL;

  first = _ferry_envelope_parse (wire, own, fixture->cache, &error);
  g_assert_no_error (error);
  g_assert_nonnull (first);

  expect_rejected (fixture, wire, own);

  /* Without a cache, or with another cache, it parses. */
  again = _ferry_envelope_parse (wire, own, NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&again, _ferry_envelope_free);
  again = _ferry_envelope_parse (wire, own, other_cache, &error);
  g_assert_no_error (error);
}

static void
test_envelope_replay_cache_bounded (EnvelopeFixture *fixture,
                                    gconstpointer    data)
{
  const char *own = ferry_identity_get_device_id (fixture->b);
  g_autoptr(GBytes) first = _ferry_envelope_build (fixture->a, "offer", own, NULL, NULL);
  g_autoptr(FerryEnvelope) envelope = NULL;
  g_autoptr(GError) error = NULL;

  envelope = _ferry_envelope_parse (first, own, fixture->cache, &error);
  g_assert_no_error (error);
  g_clear_pointer (&envelope, _ferry_envelope_free);

  /* Far more messages than the cache holds: the oldest id is forgotten. */
  for (guint i = 0; i < 4200; i++)
    {
      g_autoptr(GBytes) wire = _ferry_envelope_build (fixture->b, "offer", own, NULL, NULL);
      g_autoptr(FerryEnvelope) e = _ferry_envelope_parse (wire, own, fixture->cache, &error);

      g_assert_no_error (error);
    }

  envelope = _ferry_envelope_parse (first, own, fixture->cache, &error);
  g_assert_no_error (error);
  g_assert_nonnull (envelope);
}

static void
test_envelope_oversized (EnvelopeFixture *fixture,
                         gconstpointer    data)
{
  const char *own = ferry_identity_get_device_id (fixture->b);
  g_autoptr(JsonObject) body = json_object_new ();
  g_autoptr(JsonObject) message = base_message (fixture->a, own, "offer");
  g_autofree char *filler = g_strnfill (FERRY_ENVELOPE_MAX_SIZE, 'x');
  g_autoptr(GBytes) wire = NULL;
  g_autoptr(GBytes) junk = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *spaces = NULL;

  /* Building refuses it */
  json_object_set_string_member (body, "filler", filler);
  wire = _ferry_envelope_build (fixture->a, "offer", own, body, &error);
  g_assert_null (wire);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_BAD_MESSAGE);

  /* Parsing refuses a signed one */
  json_object_set_object_member (message, "body", json_object_ref (body));
  wire = sign_message (fixture->a, message);
  g_assert_cmpuint (g_bytes_get_size (wire), >, FERRY_ENVELOPE_MAX_SIZE);
  expect_rejected (fixture, wire, own);

  /* And any large input, before looking at it */
  spaces = g_strnfill (FERRY_ENVELOPE_MAX_SIZE + 1, ' ');
  junk = bytes_from_string (spaces);
  expect_rejected (fixture, junk, own);
}

static void
test_envelope_from_mismatch (EnvelopeFixture *fixture,
                             gconstpointer    data)
{
  const char *own = ferry_identity_get_device_id (fixture->b);
  g_autoptr(JsonObject) message = base_message (fixture->a, own, "offer");
  g_autoptr(GBytes) wire = NULL;
  JsonObject *from = json_object_get_object_member (message, "from");

  /* A claims to be B's device, with A's own chain */
  json_object_set_string_member (from, "device", ferry_identity_get_device_id (fixture->b));
  wire = sign_message (fixture->a, message);
  expect_rejected (fixture, wire, own);
  g_clear_pointer (&wire, g_bytes_unref);

  /* A claims B's account */
  g_clear_pointer (&message, json_object_unref);
  message = base_message (fixture->a, own, "offer");
  from = json_object_get_object_member (message, "from");
  json_object_set_string_member (from, "account", ferry_identity_get_account_id (fixture->b));
  wire = sign_message (fixture->a, message);
  expect_rejected (fixture, wire, own);
  g_clear_pointer (&wire, g_bytes_unref);

  /* A's message with B's chain, signed by A */
  g_clear_pointer (&message, json_object_unref);
  message = base_message (fixture->b, own, "offer");
  wire = sign_message (fixture->a, message);
  expect_rejected (fixture, wire, own);
}

static void
test_envelope_bad_chain (EnvelopeFixture *fixture,
                         gconstpointer    data)
{
  const char *own = ferry_identity_get_device_id (fixture->b);
  g_autoptr(JsonObject) message = base_message (fixture->a, own, "offer");
  g_autoptr(GBytes) wire = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(FerryEnvelope) envelope = NULL;
  g_autofree char *a_device = read_file (ferry_identity_get_directory (fixture->a), "device.crt");
  g_autofree char *b_account = read_file (ferry_identity_get_directory (fixture->b), "account.crt");
  g_autofree char *mixed = g_strconcat (a_device, b_account, NULL);

  json_object_set_string_member (message, "chain", mixed);
  wire = sign_message (fixture->a, message);
  envelope = _ferry_envelope_parse (wire, own, fixture->cache, &error);
  g_assert_null (envelope);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_PEER_UNTRUSTED);
}

static void
test_envelope_bad_shape (EnvelopeFixture *fixture,
                         gconstpointer    data)
{
  const char *own = ferry_identity_get_device_id (fixture->b);
  const char *members[] = { "v", "id", "ts", "type", "from", "to", "chain" };

  /* Each member missing, then each of the wrong type */
  for (guint i = 0; i < G_N_ELEMENTS (members); i++)
    {
      g_autoptr(JsonObject) message = base_message (fixture->a, own, "offer");
      g_autoptr(GBytes) wire = NULL;

      json_object_remove_member (message, members[i]);
      wire = sign_message (fixture->a, message);
      g_test_message ("missing %s", members[i]);
      expect_rejected (fixture, wire, own);
    }

  for (guint i = 0; i < G_N_ELEMENTS (members); i++)
    {
      g_autoptr(JsonObject) message = base_message (fixture->a, own, "offer");
      g_autoptr(GBytes) wire = NULL;

      if (g_str_equal (members[i], "v") || g_str_equal (members[i], "ts"))
        json_object_set_string_member (message, members[i], "1");
      else
        json_object_set_int_member (message, members[i], 1);
      wire = sign_message (fixture->a, message);
      g_test_message ("wrong type for %s", members[i]);
      expect_rejected (fixture, wire, own);
    }

  {
    g_autoptr(JsonObject) message = base_message (fixture->a, own, "offer");
    g_autoptr(GBytes) wire = NULL;

    json_object_set_array_member (message, "body", json_array_new ());
    wire = sign_message (fixture->a, message);
    expect_rejected (fixture, wire, own);
  }
  {
    g_autoptr(JsonObject) message = base_message (fixture->a, own, "offer");
    g_autoptr(GBytes) wire = NULL;

    json_object_set_int_member (message, "v", 2);
    wire = sign_message (fixture->a, message);
    expect_rejected (fixture, wire, own);
  }
  {
    g_autoptr(JsonObject) message = base_message (fixture->a, own, "offer");
    g_autoptr(GBytes) wire = NULL;

    json_object_set_double_member (message, "ts", (double) (g_get_real_time () / 1000));
    wire = sign_message (fixture->a, message);
    expect_rejected (fixture, wire, own);
  }
  {
    g_autoptr(JsonObject) message = base_message (fixture->a, own, "offer");
    g_autoptr(GBytes) wire = NULL;

    json_object_set_string_member (message, "id", "not-an-id");
    wire = sign_message (fixture->a, message);
    expect_rejected (fixture, wire, own);
  }
  {
    g_autoptr(JsonObject) message = base_message (fixture->a, own, "offer");
    g_autoptr(GBytes) wire = NULL;

    json_object_remove_member (json_object_get_object_member (message, "from"), "name");
    wire = sign_message (fixture->a, message);
    expect_rejected (fixture, wire, own);
  }
  {
    g_autoptr(JsonObject) message = base_message (fixture->a, own, "");
    g_autoptr(GBytes) wire = NULL;

    wire = sign_message (fixture->a, message);
    expect_rejected (fixture, wire, own);
  }
  {
    /* Without a body it is fine: the body is then empty. */
    g_autoptr(JsonObject) message = base_message (fixture->a, own, "offer");
    g_autoptr(GBytes) wire = NULL;
    g_autoptr(FerryEnvelope) envelope = NULL;

    json_object_remove_member (message, "body");
    wire = sign_message (fixture->a, message);
    envelope = _ferry_envelope_parse (wire, own, fixture->cache, NULL);
    g_assert_nonnull (envelope);
    g_assert_nonnull (envelope->body);
  }
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD_ENVELOPE_TEST(path, func) \
  g_test_add ("/envelope/" path, EnvelopeFixture, NULL, envelope_setup, func, envelope_teardown)

  ADD_ENVELOPE_TEST ("round-trip", test_envelope_round_trip);
  ADD_ENVELOPE_TEST ("ids-differ", test_envelope_ids_differ);
  ADD_ENVELOPE_TEST ("announce", test_envelope_announce);
  ADD_ENVELOPE_TEST ("not-json", test_envelope_not_json);
  ADD_ENVELOPE_TEST ("bad-base64", test_envelope_bad_base64);
  ADD_ENVELOPE_TEST ("tampered", test_envelope_tampered);
  ADD_ENVELOPE_TEST ("wrong-to", test_envelope_wrong_to);
  ADD_ENVELOPE_TEST ("stale", test_envelope_stale);
  ADD_ENVELOPE_TEST ("replayed", test_envelope_replayed);
  ADD_ENVELOPE_TEST ("replay-cache-bounded", test_envelope_replay_cache_bounded);
  ADD_ENVELOPE_TEST ("oversized", test_envelope_oversized);
  ADD_ENVELOPE_TEST ("from-mismatch", test_envelope_from_mismatch);
  ADD_ENVELOPE_TEST ("bad-chain", test_envelope_bad_chain);
  ADD_ENVELOPE_TEST ("bad-shape", test_envelope_bad_shape);

  return g_test_run ();
}
