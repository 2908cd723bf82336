/* test-seal.c: signaling messages sealed to the receiving device
 *
 * The X25519 key of each identity, sealing and opening, and what a
 * receiver drops: unsealed messages, messages sealed to another device or
 * another key, altered, replayed or stale ones, and a seal that names
 * another sender than the signature.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>
#include <gnutls/crypto.h>

#include "ferry-envelope-private.h"
#include "ferry-error.h"
#include "ferry-identity-private.h"

#define X25519_FILE "device-x25519.key"

/* Offsets in the sealed header (see ferry-envelope-private.h). */
#define OFF_RECIPIENT  4
#define OFF_SENDER     (4 + 32)
#define OFF_EPHEMERAL  (4 + 64)
#define OFF_SALT       (4 + 96)
#define HEADER_SIZE    (4 + 96 + 16)

typedef struct {
  FerryIdentity    *a;
  FerryIdentity    *b;
  FerryIdentity    *c;
  FerryReplayCache *cache;
} Fixture;

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

/* @to learns @from's key the way an engine does: from its announcement. */
static void
learn (FerryIdentity *to,
       FerryIdentity *from)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) announcement = NULL;
  g_autoptr(FerryEnvelope) envelope = NULL;

  announcement = _ferry_envelope_build_sealed (from, "announce", "*", NULL, &error);
  g_assert_no_error (error);
  /* Announcements stay readable by everyone. */
  g_assert_false (_ferry_envelope_is_sealed (announcement));
  envelope = _ferry_envelope_receive (to, announcement, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (envelope->has_x25519);
  g_assert_false (envelope->sealed);
  g_assert_cmpmem (envelope->x25519, 32, _ferry_identity_get_x25519_public (from), 32);
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  fixture->a = make_identity ("a");
  fixture->b = make_identity ("b");
  fixture->c = make_identity ("c");
  fixture->cache = _ferry_replay_cache_new ();
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  g_clear_object (&fixture->a);
  g_clear_object (&fixture->b);
  g_clear_object (&fixture->c);
  g_clear_pointer (&fixture->cache, _ferry_replay_cache_free);
}

static JsonObject *
offer_body (void)
{
  JsonObject *body = json_object_new ();

  json_object_set_string_member (body, "transfer", "0123456789abcdef");
  json_object_set_string_member (body, "secret", "only-b-may-read-this");
  return body;
}

static GBytes *
seal_offer (FerryIdentity *from,
            FerryIdentity *to)
{
  g_autoptr(JsonObject) body = offer_body ();
  g_autoptr(GError) error = NULL;
  GBytes *wire;

  wire = _ferry_envelope_build_sealed (from, "offer", ferry_identity_get_device_id (to), body, &error);
  g_assert_no_error (error);
  g_assert_nonnull (wire);
  return wire;
}

static void
expect_dropped (FerryIdentity    *receiver,
                GBytes           *wire,
                FerryReplayCache *cache,
                const char       *reason)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FerryEnvelope) envelope = NULL;

  envelope = _ferry_envelope_receive (receiver, wire, cache, &error);
  g_assert_null (envelope);
  g_assert_nonnull (error);
  g_assert_true (error->domain == FERRY_ERROR);
  g_assert_true (error->code == FERRY_ERROR_BAD_MESSAGE || error->code == FERRY_ERROR_PEER_UNTRUSTED);
  if (strstr (error->message, reason) == NULL)
    g_error ("expected a drop for “%s”, got “%s”", reason, error->message);
}

static GBytes *
copy_modified (GBytes *wire,
               gsize   offset,
               guint8  xor_mask)
{
  gsize size = 0;
  guint8 *data = g_memdup2 (g_bytes_get_data (wire, &size), g_bytes_get_size (wire));

  g_assert_cmpuint (offset, <, size);
  data[offset] ^= xor_mask;
  return g_bytes_new_take (data, size);
}

static gboolean
contains (GBytes     *haystack,
          const char *needle)
{
  gsize size = 0;
  const guint8 *data = g_bytes_get_data (haystack, &size);
  gsize len = strlen (needle);

  for (gsize i = 0; i + len <= size; i++)
    if (memcmp (data + i, needle, len) == 0)
      return TRUE;
  return FALSE;
}

/* The key file: 0600, stable, replaced with the device, refused when corrupt. */
static void
test_key_file (void)
{
  g_autofree char *dir = g_build_filename (g_get_user_data_dir (), "keyfile", NULL);
  g_autofree char *path = g_build_filename (dir, X25519_FILE, NULL);
  g_autoptr(FerryIdentity) first = make_identity ("keyfile");
  g_autoptr(FerryIdentity) again = NULL;
  g_autoptr(FerryIdentity) corrupt = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  guint8 public_key[32];
  GStatBuf st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_true (g_str_has_prefix (contents, "-----BEGIN FERRY X25519 PRIVATE KEY-----\n"));
  g_assert_nonnull (strstr (contents, ferry_identity_get_device_id (first)));
  memcpy (public_key, _ferry_identity_get_x25519_public (first), 32);

  /* Loaded again, the same key. */
  g_clear_object (&first);
  again = make_identity ("keyfile");
  g_assert_cmpmem (_ferry_identity_get_x25519_public (again), 32, public_key, 32);
  g_clear_object (&again);

  /* A new device of the account gets a new encryption key too. */
  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *device_file = g_build_filename (dir, i == 0 ? "device.key" : "device.crt", NULL);

      g_assert_cmpint (g_unlink (device_file), ==, 0);
    }
  again = make_identity ("keyfile");
  g_assert_false (memcmp (_ferry_identity_get_x25519_public (again), public_key, 32) == 0);
  memcpy (public_key, _ferry_identity_get_x25519_public (again), 32);
  g_clear_object (&again);

  /* A corrupt file is refused, not replaced. */
  g_assert_true (g_file_set_contents (path, "-----BEGIN FERRY X25519 PRIVATE KEY-----\ngarbage\n", -1, NULL));
  corrupt = ferry_identity_new (dir, NULL, &error);
  g_assert_null (corrupt);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_IDENTITY);
  g_assert_nonnull (strstr (error->message, X25519_FILE));
  g_clear_pointer (&contents, g_free);
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "-----BEGIN FERRY X25519 PRIVATE KEY-----\ngarbage\n");
}

static void
test_round_trip (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(GBytes) offer = NULL;
  g_autoptr(GBytes) answer = NULL;
  g_autoptr(FerryEnvelope) received = NULL;
  g_autoptr(FerryEnvelope) answered = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) answer_body = json_object_new ();

  /* Without B's key, A cannot write to B. */
  offer = _ferry_envelope_build_sealed (fixture->a, "offer", ferry_identity_get_device_id (fixture->b),
                                        NULL, &error);
  g_assert_null (offer);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_PEER_UNTRUSTED);
  g_clear_error (&error);

  learn (fixture->a, fixture->b);
  offer = seal_offer (fixture->a, fixture->b);
  g_assert_true (_ferry_envelope_is_sealed (offer));
  g_assert_false (contains (offer, "only-b-may-read-this"));
  g_assert_false (contains (offer, "offer"));
  g_assert_cmpuint (g_bytes_get_size (offer), <, 8 * 1024);

  /* B opens it, and learns A's key from it. */
  received = _ferry_envelope_receive (fixture->b, offer, fixture->cache, &error);
  g_assert_no_error (error);
  g_assert_true (received->sealed);
  g_assert_cmpstr (received->type, ==, "offer");
  g_assert_cmpstr (received->from_device, ==, ferry_identity_get_device_id (fixture->a));
  g_assert_cmpstr (received->to, ==, ferry_identity_get_device_id (fixture->b));
  g_assert_cmpstr (json_object_get_string_member (received->body, "secret"), ==, "only-b-may-read-this");

  json_object_set_string_member (answer_body, "transfer", "0123456789abcdef");
  answer = _ferry_envelope_build_sealed (fixture->b, "answer", ferry_identity_get_device_id (fixture->a),
                                         answer_body, &error);
  g_assert_no_error (error);
  answered = _ferry_envelope_receive (fixture->a, answer, fixture->cache, &error);
  g_assert_no_error (error);
  g_assert_true (answered->sealed);
  g_assert_cmpstr (answered->type, ==, "answer");
  g_assert_cmpstr (answered->from_device, ==, ferry_identity_get_device_id (fixture->b));

  /* Two seals of the same message differ (fresh ephemeral key and salt). */
  {
    g_autoptr(GBytes) plain = _ferry_envelope_build (fixture->a, "offer", ferry_identity_get_device_id (fixture->b),
                                                     NULL, &error);
    guint8 key[32];
    g_autoptr(GBytes) one = NULL;
    g_autoptr(GBytes) two = NULL;

    g_assert_true (_ferry_identity_lookup_peer_key (fixture->a, ferry_identity_get_device_id (fixture->b), key));
    one = _ferry_envelope_seal (fixture->a, ferry_identity_get_device_id (fixture->b), key, plain, &error);
    two = _ferry_envelope_seal (fixture->a, ferry_identity_get_device_id (fixture->b), key, plain, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (g_bytes_get_size (one), ==, g_bytes_get_size (plain) + FERRY_SEAL_OVERHEAD);
    g_assert_false (g_bytes_equal (one, two));
  }
}

static void
test_unsealed_dropped (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autoptr(JsonObject) body = offer_body ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) plain = NULL;
  g_autoptr(GBytes) junk = g_bytes_new_static ("FSL1 too short", 14);

  /* Correctly signed, but readable by anyone: refused for anything but an announcement. */
  plain = _ferry_envelope_build (fixture->a, "offer", ferry_identity_get_device_id (fixture->b), body, &error);
  g_assert_no_error (error);
  expect_dropped (fixture->b, plain, fixture->cache, "must be encrypted");

  /* Not even a signed envelope. */
  expect_dropped (fixture->b, junk, fixture->cache, "not valid JSON");
}

static void
test_wrong_recipient (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(GBytes) to_c = NULL;
  g_autoptr(GBytes) plain_to_c = NULL;
  g_autoptr(GBytes) resealed = NULL;
  g_autoptr(GError) error = NULL;
  guint8 key_b[32];

  learn (fixture->a, fixture->c);
  learn (fixture->a, fixture->b);
  to_c = seal_offer (fixture->a, fixture->c);
  expect_dropped (fixture->b, to_c, fixture->cache, "addressed to device");

  /* Sealed to B, but the signed message inside is for C. */
  plain_to_c = _ferry_envelope_build (fixture->a, "offer", ferry_identity_get_device_id (fixture->c), NULL, &error);
  g_assert_true (_ferry_identity_lookup_peer_key (fixture->a, ferry_identity_get_device_id (fixture->b), key_b));
  resealed = _ferry_envelope_seal (fixture->a, ferry_identity_get_device_id (fixture->b), key_b, plain_to_c, &error);
  g_assert_no_error (error);
  expect_dropped (fixture->b, resealed, fixture->cache, "addressed to device");
}

static void
test_wrong_key (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GBytes) plain = NULL;
  g_autoptr(GBytes) wire = NULL;
  g_autoptr(GError) error = NULL;
  guint8 key_c[32];

  /* Addressed to B, but sealed to C's key (as with a stale key). */
  learn (fixture->a, fixture->c);
  g_assert_true (_ferry_identity_lookup_peer_key (fixture->a, ferry_identity_get_device_id (fixture->c), key_c));
  plain = _ferry_envelope_build (fixture->a, "offer", ferry_identity_get_device_id (fixture->b), NULL, &error);
  wire = _ferry_envelope_seal (fixture->a, ferry_identity_get_device_id (fixture->b), key_c, plain, &error);
  g_assert_no_error (error);
  expect_dropped (fixture->b, wire, fixture->cache, "cannot be decrypted");
}

static void
test_altered (Fixture       *fixture,
              gconstpointer  data)
{
  g_autoptr(GBytes) wire = NULL;
  static const struct {
    gsize       offset;
    const char *reason;
  } cases[] = {
    { 0, "not valid UTF-8" },                /* magic: no longer sealed */
    { OFF_RECIPIENT + 5, "addressed to device" },
    { OFF_SENDER + 7, "cannot be decrypted" },   /* bound by the AAD */
    { OFF_EPHEMERAL + 3, "cannot be decrypted" },
    { OFF_SALT + 1, "cannot be decrypted" },
    { HEADER_SIZE + 10, "cannot be decrypted" }, /* ciphertext */
  };

  learn (fixture->a, fixture->b);
  wire = seal_offer (fixture->a, fixture->b);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GBytes) altered = copy_modified (wire, cases[i].offset, 0x20);

      g_test_message ("altered byte %" G_GSIZE_FORMAT, cases[i].offset);
      expect_dropped (fixture->b, altered, fixture->cache, cases[i].reason);
    }

  /* The tag, and a truncated message. */
  {
    g_autoptr(GBytes) altered = copy_modified (wire, g_bytes_get_size (wire) - 1, 0x01);
    g_autoptr(GBytes) truncated = g_bytes_new_from_bytes (wire, 0, g_bytes_get_size (wire) - 20);
    g_autoptr(GBytes) header_only = g_bytes_new_from_bytes (wire, 0, HEADER_SIZE);

    expect_dropped (fixture->b, altered, fixture->cache, "cannot be decrypted");
    expect_dropped (fixture->b, truncated, fixture->cache, "cannot be decrypted");
    expect_dropped (fixture->b, header_only, fixture->cache, "not valid UTF-8");
  }

  /* A low-order ephemeral key (all zeros). */
  {
    gsize size = 0;
    guint8 *data = g_memdup2 (g_bytes_get_data (wire, &size), g_bytes_get_size (wire));
    g_autoptr(GBytes) zero = NULL;

    memset (data + OFF_EPHEMERAL, 0, 32);
    zero = g_bytes_new_take (data, size);
    expect_dropped (fixture->b, zero, fixture->cache, "not a valid X25519 public key");
  }

  /* The original still opens: nothing above was remembered as seen. */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(FerryEnvelope) envelope = _ferry_envelope_receive (fixture->b, wire, fixture->cache, &error);

    g_assert_no_error (error);
    g_assert_nonnull (envelope);
  }
}

static void
test_sender_mismatch (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(GBytes) plain = NULL;
  g_autoptr(GBytes) wire = NULL;
  g_autoptr(GError) error = NULL;
  guint8 key_b[32];

  /* C re-seals a message A signed for B under its own name. */
  learn (fixture->c, fixture->b);
  plain = _ferry_envelope_build (fixture->a, "offer", ferry_identity_get_device_id (fixture->b), NULL, &error);
  g_assert_true (_ferry_identity_lookup_peer_key (fixture->c, ferry_identity_get_device_id (fixture->b), key_b));
  wire = _ferry_envelope_seal (fixture->c, ferry_identity_get_device_id (fixture->b), key_b, plain, &error);
  g_assert_no_error (error);
  expect_dropped (fixture->b, wire, fixture->cache, "sealed by device");
}

static void
test_replayed (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GBytes) wire = NULL;
  g_autoptr(FerryEnvelope) first = NULL;
  g_autoptr(GError) error = NULL;

  learn (fixture->a, fixture->b);
  wire = seal_offer (fixture->a, fixture->b);
  first = _ferry_envelope_receive (fixture->b, wire, fixture->cache, &error);
  g_assert_no_error (error);
  expect_dropped (fixture->b, wire, fixture->cache, "already received");

  /* Sealed again (new ephemeral key), the same message is still a replay. */
  {
    g_autoptr(GBytes) plain = NULL;
    g_autoptr(GBytes) resealed = NULL;
    guint8 key_b[32];

    plain = _ferry_envelope_open (fixture->b, wire, NULL, &error);
    g_assert_no_error (error);
    g_assert_true (_ferry_identity_lookup_peer_key (fixture->a, ferry_identity_get_device_id (fixture->b), key_b));
    resealed = _ferry_envelope_seal (fixture->a, ferry_identity_get_device_id (fixture->b), key_b, plain, &error);
    g_assert_no_error (error);
    expect_dropped (fixture->b, resealed, fixture->cache, "already received");
  }
}

/* A correctly signed and sealed message, from ten minutes ago. */
static void
test_stale (Fixture       *fixture,
            gconstpointer  data)
{
  g_autoptr(GBytes) fresh = NULL;
  g_autoptr(GBytes) plain = NULL;
  g_autoptr(GBytes) stale_plain = NULL;
  g_autoptr(GBytes) wire = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) outer_parser = json_parser_new ();
  g_autoptr(JsonParser) inner_parser = json_parser_new ();
  g_autoptr(GBytes) signature = NULL;
  g_autofree char *m = NULL;
  g_autofree char *s = NULL;
  g_autofree char *text = NULL;
  JsonObject *message;
  guint8 key_b[32];

  learn (fixture->a, fixture->b);
  plain = _ferry_envelope_build (fixture->a, "offer", ferry_identity_get_device_id (fixture->b), NULL, &error);
  g_assert_no_error (error);

  /* Take the signed message apart, move its timestamp back, sign it again. */
  g_assert_true (json_parser_load_from_data (outer_parser, g_bytes_get_data (plain, NULL),
                                             g_bytes_get_size (plain), NULL));
  g_assert_true (json_parser_load_from_data (inner_parser,
                                             json_object_get_string_member (json_node_get_object (json_parser_get_root (outer_parser)), "m"),
                                             -1, NULL));
  message = json_node_get_object (json_parser_get_root (inner_parser));
  json_object_set_int_member (message, "ts", g_get_real_time () / 1000 - 10 * 60 * 1000);
  {
    g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), message);
    g_autoptr(JsonObject) outer = json_object_new ();
    g_autoptr(JsonNode) outer_node = NULL;

    m = json_to_string (node, FALSE);
    signature = _ferry_identity_sign (fixture->a, (const guint8 *) m, strlen (m), &error);
    g_assert_no_error (error);
    s = g_base64_encode (g_bytes_get_data (signature, NULL), g_bytes_get_size (signature));
    json_object_set_string_member (outer, "m", m);
    json_object_set_string_member (outer, "s", s);
    outer_node = json_node_init_object (json_node_alloc (), outer);
    text = json_to_string (outer_node, FALSE);
  }
  stale_plain = g_bytes_new (text, strlen (text));
  g_assert_true (_ferry_identity_lookup_peer_key (fixture->a, ferry_identity_get_device_id (fixture->b), key_b));
  wire = _ferry_envelope_seal (fixture->a, ferry_identity_get_device_id (fixture->b), key_b, stale_plain, &error);
  g_assert_no_error (error);
  expect_dropped (fixture->b, wire, fixture->cache, "timestamp");

  /* The same, fresh, goes through: the test can fail for the right reason. */
  fresh = _ferry_envelope_seal (fixture->a, ferry_identity_get_device_id (fixture->b), key_b, plain, &error);
  g_assert_no_error (error);
  {
    g_autoptr(FerryEnvelope) envelope = _ferry_envelope_receive (fixture->b, fresh, fixture->cache, &error);

    g_assert_no_error (error);
    g_assert_nonnull (envelope);
  }
}

static void
test_key_updates (Fixture       *fixture,
                  gconstpointer  data)
{
  const char *b = ferry_identity_get_device_id (fixture->b);
  guint8 k1[32], k2[32], out[32];

  memset (k1, 1, sizeof k1);
  memset (k2, 2, sizeof k2);
  g_assert_false (_ferry_identity_lookup_peer_key (fixture->a, b, out));
  _ferry_identity_remember_peer_key (fixture->a, b, k1, 2000);
  g_assert_true (_ferry_identity_lookup_peer_key (fixture->a, b, out));
  g_assert_cmpmem (out, 32, k1, 32);

  /* An older message (a replay) does not bring back an older key. */
  _ferry_identity_remember_peer_key (fixture->a, b, k2, 1000);
  g_assert_true (_ferry_identity_lookup_peer_key (fixture->a, b, out));
  g_assert_cmpmem (out, 32, k1, 32);
  _ferry_identity_remember_peer_key (fixture->a, b, k2, 3000);
  g_assert_true (_ferry_identity_lookup_peer_key (fixture->a, b, out));
  g_assert_cmpmem (out, 32, k2, 32);

  /* Its own key is not a peer key. */
  _ferry_identity_remember_peer_key (fixture->a, ferry_identity_get_device_id (fixture->a), k1, 4000);
  g_assert_false (_ferry_identity_lookup_peer_key (fixture->a, ferry_identity_get_device_id (fixture->a), out));
}

/* A message of @from whose "from.name" is @name, signed by @from (a patched
 * sender can write anything there). */
static GBytes *
build_with_name (FerryIdentity *from,
                 const char    *type,
                 const char    *to,
                 const char    *name)
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

  plain = _ferry_envelope_build (from, type, to, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (json_parser_load_from_data (outer_parser, g_bytes_get_data (plain, NULL),
                                             g_bytes_get_size (plain), NULL));
  g_assert_true (json_parser_load_from_data (inner_parser,
                                             json_object_get_string_member (json_node_get_object (json_parser_get_root (outer_parser)), "m"),
                                             -1, NULL));
  message = json_node_get_object (json_parser_get_root (inner_parser));
  json_object_set_string_member (json_object_get_object_member (message, "from"), "name", name);

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

static char *
received_name (Fixture    *fixture,
               const char *name)
{
  g_autoptr(GBytes) plain = NULL;
  g_autoptr(GBytes) wire = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(FerryEnvelope) envelope = NULL;
  const char *b = ferry_identity_get_device_id (fixture->b);
  guint8 key_b[32];

  learn (fixture->a, fixture->b);
  g_assert_true (_ferry_identity_lookup_peer_key (fixture->a, b, key_b));
  plain = build_with_name (fixture->a, "offer", b, name);
  wire = _ferry_envelope_seal (fixture->a, b, key_b, plain, &error);
  g_assert_no_error (error);
  envelope = _ferry_envelope_receive (fixture->b, wire, fixture->cache, &error);
  g_assert_no_error (error);
  g_assert_nonnull (envelope);

  return g_strdup (envelope->from_name);
}

/* A peer's display name is data from a stranger: bounded and cleaned where
 * it is parsed, so no caller can print terminal escapes or 40 KB of it. */
static void
test_hostile_name (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(GString) long_name = g_string_new (NULL);
  g_autofree char *escapes = NULL;
  g_autofree char *empty = NULL;
  g_autofree char *longest = NULL;
  g_autofree char *fallback = NULL;

  escapes = received_name (fixture, "\033]0;owned\007\033[2J\033[31mMallory\xe2\x80\xae");
  g_assert_cmpstr (escapes, ==, "]0;owned[2J[31mMallory");

  for (guint i = 0; i < 40 * 1024 / 8; i++)
    g_string_append (long_name, "Mallory ");
  longest = received_name (fixture, long_name->str);
  g_assert_cmpuint (strlen (longest), <=, 256);
  g_assert_cmpuint (g_utf8_strlen (longest, -1), <=, 64);
  g_assert_true (g_str_has_prefix (longest, "Mallory Mallory"));

  /* Nothing printable left: a fallback naming the device. */
  empty = received_name (fixture, "\033\007 \t");
  fallback = g_strdup_printf ("Device %.12s", ferry_identity_get_device_id (fixture->a));
  g_assert_cmpstr (empty, ==, fallback);

  /* Announcements go through the same parser. */
  {
    g_autoptr(GBytes) announcement = build_with_name (fixture->a, "announce", "*", "\033[2JEve");
    g_autoptr(GError) error = NULL;
    g_autoptr(FerryEnvelope) envelope = _ferry_envelope_receive (fixture->c, announcement, NULL, &error);

    g_assert_no_error (error);
    g_assert_cmpstr (envelope->from_name, ==, "[2JEve");
  }
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/seal/key-file", test_key_file);
  g_test_add ("/seal/round-trip", Fixture, NULL, fixture_set_up, test_round_trip, fixture_tear_down);
  g_test_add ("/seal/unsealed-dropped", Fixture, NULL, fixture_set_up, test_unsealed_dropped, fixture_tear_down);
  g_test_add ("/seal/wrong-recipient", Fixture, NULL, fixture_set_up, test_wrong_recipient, fixture_tear_down);
  g_test_add ("/seal/wrong-key", Fixture, NULL, fixture_set_up, test_wrong_key, fixture_tear_down);
  g_test_add ("/seal/altered", Fixture, NULL, fixture_set_up, test_altered, fixture_tear_down);
  g_test_add ("/seal/sender-mismatch", Fixture, NULL, fixture_set_up, test_sender_mismatch, fixture_tear_down);
  g_test_add ("/seal/replayed", Fixture, NULL, fixture_set_up, test_replayed, fixture_tear_down);
  g_test_add ("/seal/stale", Fixture, NULL, fixture_set_up, test_stale, fixture_tear_down);
  g_test_add ("/seal/key-updates", Fixture, NULL, fixture_set_up, test_key_updates, fixture_tear_down);
  g_test_add ("/seal/hostile-name", Fixture, NULL, fixture_set_up, test_hostile_name, fixture_tear_down);

  return g_test_run ();
}
