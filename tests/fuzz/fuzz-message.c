/* fuzz-message.c: the signed message inside an envelope, past the
 * signature check (core/signaling/ferry-envelope-parse.c)
 *
 * The input is the message JSON ("m"); the harness signs it with its own
 * identity, so everything a correctly signed message reaches is fuzzed:
 * shape, recipient, freshness, chain and sender, display name, X25519 key,
 * replay. Placeholders let seeds stay valid with any identity and at any
 * time: @ACCOUNT@, @DEVICE@ (this identity's ids), @CHAIN@ (its chain, as
 * a JSON string body), @X25519@ (its key, base64), @NOW@ (now in ms).
 * The first byte picks the path: even, received unsealed (announcements);
 * odd, sealed to this device first (every other type).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "ferry-envelope-private.h"
#include "fuzz-common.h"
#include "fuzz-identity.h"

static FerryReplayCache *cache;
static char *chain_escaped;
static char *x25519_b64;

static char *
escape_json (const char *text)
{
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_VALUE);
  g_autofree char *quoted = NULL;

  json_node_set_string (node, text);
  quoted = json_to_string (node, FALSE);
  return g_strndup (quoted + 1, strlen (quoted) - 2);
}

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  FerryIdentity *identity;

  fuzz_init_logging ();
  identity = fuzz_identity ();
  cache = _ferry_replay_cache_new ();
  chain_escaped = escape_json (_ferry_identity_get_chain_pem (identity));
  x25519_b64 = g_base64_encode (_ferry_identity_get_x25519_public (identity), 32);
  return 0;
}

static char *
expand (const char *m,
        gsize       len)
{
  FerryIdentity *identity = fuzz_identity ();
  g_autofree char *now = g_strdup_printf ("%" G_GINT64_FORMAT, g_get_real_time () / 1000);
  const char *names[] = { "@ACCOUNT@", "@DEVICE@", "@CHAIN@", "@X25519@", "@NOW@" };
  const char *values[] = { ferry_identity_get_account_id (identity),
                           ferry_identity_get_device_id (identity),
                           chain_escaped, x25519_b64, now };
  GString *out = g_string_new_len (m, len);

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    g_string_replace (out, names[i], values[i], 0);
  return g_string_free (out, FALSE);
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  FerryIdentity *identity = fuzz_identity ();
  g_autoptr(GBytes) signature = NULL;
  g_autoptr(GBytes) wire = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(FerryEnvelope) envelope = NULL;
  g_autoptr(JsonObject) outer = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *m = NULL;
  g_autofree char *s = NULL;
  char *text;

  if (size < 1 || size > FERRY_ENVELOPE_MAX_SIZE || memchr (data + 1, '\0', size - 1) != NULL)
    return 0;
  m = expand ((const char *) data + 1, size - 1);
  if (!g_utf8_validate (m, -1, NULL))
    return 0;

  signature = _ferry_identity_sign (identity, (const guint8 *) m, strlen (m), &error);
  g_assert_no_error (error);
  s = g_base64_encode (g_bytes_get_data (signature, NULL), g_bytes_get_size (signature));
  outer = json_object_new ();
  json_object_set_string_member (outer, "m", m);
  json_object_set_string_member (outer, "s", s);
  node = json_node_init_object (json_node_alloc (), outer);
  text = json_to_string (node, FALSE);
  wire = g_bytes_new_take (text, strlen (text));

  if (data[0] & 1)
    {
      g_autoptr(GBytes) sealed = _ferry_envelope_seal (identity, ferry_identity_get_device_id (identity),
                                                       _ferry_identity_get_x25519_public (identity),
                                                       wire, &error);

      if (sealed == NULL)
        return 0;
      envelope = _ferry_envelope_receive (identity, sealed, cache, &error);
    }
  else
    envelope = _ferry_envelope_receive (identity, wire, cache, &error);

  g_assert ((envelope == NULL) == (error != NULL));
  if (envelope != NULL)
    {
      g_assert (envelope->body != NULL);
      g_assert (envelope->from_name != NULL && envelope->from_name[0] != '\0');
      g_assert (strlen (envelope->from_name) <= 256);
    }
  return 0;
}
