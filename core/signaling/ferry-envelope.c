/* ferry-envelope.c: signed signaling messages
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdarg.h>
#include <string.h>

#include <glib/gi18n-lib.h>
#include <gnutls/crypto.h>
#include <nettle/chacha-poly1305.h>
#include <nettle/curve25519.h>
#include <nettle/hkdf.h>
#include <nettle/hmac.h>
#include <nettle/memops.h>

#include "ferry-envelope-private.h"
#include "ferry-error.h"
#include "ferry-identity-private.h"
#include "ferry-sanitize-private.h"

#define ENVELOPE_VERSION 1
#define ED25519_SIGNATURE_SIZE 64
#define ID_BYTES 16
#define MAX_TYPE_LENGTH 64
#define DEVICE_ID_HEX 64

#define SEAL_MAGIC       "FSL1"
#define SEAL_MAGIC_SIZE  4
#define SEAL_ID_SIZE     32
#define SEAL_SALT_SIZE   16
#define SEAL_HEADER_SIZE (SEAL_MAGIC_SIZE + 2 * SEAL_ID_SIZE + FERRY_X25519_KEY_SIZE + SEAL_SALT_SIZE)
#define SEAL_TAG_SIZE    CHACHA_POLY1305_DIGEST_SIZE
#define SEAL_INFO        "ferry seal v1"

G_STATIC_ASSERT (SEAL_HEADER_SIZE + SEAL_TAG_SIZE == FERRY_SEAL_OVERHEAD);
G_STATIC_ASSERT (FERRY_X25519_KEY_SIZE == CURVE25519_SIZE);

/* The replay cache forgets an id once its message is older than this (by
 * then the message is stale anyway), and never holds more than
 * REPLAY_CACHE_MAX_ENTRIES ids (the oldest go first). */
#define REPLAY_CACHE_MAX_AGE_MS (2 * FERRY_ENVELOPE_MAX_SKEW_US / 1000)
#define REPLAY_CACHE_MAX_ENTRIES 4096

struct _FerryReplayCache
{
  GMutex      mutex;
  GHashTable *seen;   /* "device/id" → gint64 timestamp in ms */
};

void
_ferry_envelope_free (FerryEnvelope *envelope)
{
  if (envelope == NULL)
    return;

  g_free (envelope->id);
  g_free (envelope->type);
  g_free (envelope->from_account);
  g_free (envelope->from_device);
  g_free (envelope->from_name);
  g_free (envelope->to);
  g_free (envelope->chain_pem);
  g_clear_pointer (&envelope->body, json_object_unref);
  g_free (envelope);
}

/* Replay cache */

FerryReplayCache *
_ferry_replay_cache_new (void)
{
  FerryReplayCache *cache = g_new0 (FerryReplayCache, 1);

  g_mutex_init (&cache->mutex);
  cache->seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  return cache;
}

void
_ferry_replay_cache_free (FerryReplayCache *cache)
{
  if (cache == NULL)
    return;

  g_hash_table_unref (cache->seen);
  g_mutex_clear (&cache->mutex);
  g_free (cache);
}

static gboolean
is_expired (gpointer key,
            gpointer value,
            gpointer user_data)
{
  gint64 limit = *(const gint64 *) user_data;

  return *(const gint64 *) value < limit;
}

/* Remembers @key; FALSE when it was already there. */
static gboolean
replay_cache_add (FerryReplayCache *cache,
                  const char       *key,
                  gint64            timestamp_ms,
                  gint64            now_ms)
{
  gint64 limit = now_ms - REPLAY_CACHE_MAX_AGE_MS;
  gboolean added = FALSE;

  g_mutex_lock (&cache->mutex);

  if (!g_hash_table_contains (cache->seen, key))
    {
      g_hash_table_foreach_remove (cache->seen, is_expired, &limit);

      while (g_hash_table_size (cache->seen) >= REPLAY_CACHE_MAX_ENTRIES)
        {
          GHashTableIter iter;
          gpointer k, v;
          gpointer oldest = NULL;
          gint64 oldest_ts = G_MAXINT64;

          g_hash_table_iter_init (&iter, cache->seen);
          while (g_hash_table_iter_next (&iter, &k, &v))
            {
              if (*(const gint64 *) v < oldest_ts)
                {
                  oldest_ts = *(const gint64 *) v;
                  oldest = k;
                }
            }
          g_hash_table_remove (cache->seen, oldest);
        }

      g_hash_table_insert (cache->seen, g_strdup (key),
                           g_memdup2 (&timestamp_ms, sizeof timestamp_ms));
      added = TRUE;
    }

  g_mutex_unlock (&cache->mutex);

  return added;
}

/* Building */

/* Message ids come from gnutls' generator only (never g_random, whose
 * output can be predicted): NULL when the system has no randomness. */
static char *
random_id (GError **error)
{
  guint8 raw[ID_BYTES];
  GString *hex;
  guint i;
  int ret;

  if ((ret = gnutls_rnd (GNUTLS_RND_NONCE, raw, sizeof raw)) < 0)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_FAILED,
                   _("No random numbers: %s"), gnutls_strerror (ret));
      return NULL;
    }
  hex = g_string_sized_new (2 * ID_BYTES);
  for (i = 0; i < sizeof raw; i++)
    g_string_append_printf (hex, "%02x", raw[i]);

  return g_string_free (hex, FALSE);
}

static char *
object_to_string (JsonObject *object)
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), object);

  return json_to_string (node, FALSE);
}

GBytes *
_ferry_envelope_build (FerryIdentity  *identity,
                       const char     *type,
                       const char     *to,
                       JsonObject     *body,
                       GError        **error)
{
  g_autoptr(JsonObject) message = NULL;
  g_autoptr(JsonObject) from = NULL;
  g_autoptr(JsonObject) outer = NULL;
  g_autoptr(GBytes) signature = NULL;
  g_autofree char *id = NULL;
  g_autofree char *m = NULL;
  g_autofree char *s = NULL;
  char *wire;
  gsize wire_len;
  const guint8 *sig_data;
  gsize sig_len;

  g_return_val_if_fail (FERRY_IS_IDENTITY (identity), NULL);
  g_return_val_if_fail (type != NULL && type[0] != '\0', NULL);
  g_return_val_if_fail (to != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  id = random_id (error);
  if (id == NULL)
    return NULL;

  from = json_object_new ();
  json_object_set_string_member (from, "account", ferry_identity_get_account_id (identity));
  json_object_set_string_member (from, "device", ferry_identity_get_device_id (identity));
  json_object_set_string_member (from, "name", ferry_identity_get_name (identity));

  message = json_object_new ();
  json_object_set_int_member (message, "v", ENVELOPE_VERSION);
  json_object_set_string_member (message, "id", id);
  json_object_set_int_member (message, "ts", g_get_real_time () / 1000);
  json_object_set_string_member (message, "type", type);
  json_object_set_object_member (message, "from", json_object_ref (from));
  json_object_set_string_member (message, "to", to);
  json_object_set_string_member (message, "chain", _ferry_identity_get_chain_pem (identity));
  {
    g_autofree char *x25519 = g_base64_encode (_ferry_identity_get_x25519_public (identity),
                                               FERRY_X25519_KEY_SIZE);

    json_object_set_string_member (message, "x25519", x25519);
  }
  json_object_set_object_member (message, "body",
                                 body != NULL ? json_object_ref (body) : json_object_new ());

  m = object_to_string (message);

  signature = _ferry_identity_sign (identity, (const guint8 *) m, strlen (m), error);
  if (signature == NULL)
    return NULL;
  sig_data = g_bytes_get_data (signature, &sig_len);
  s = g_base64_encode (sig_data, sig_len);

  outer = json_object_new ();
  json_object_set_string_member (outer, "m", m);
  json_object_set_string_member (outer, "s", s);
  wire = object_to_string (outer);
  wire_len = strlen (wire);

  if (wire_len > FERRY_ENVELOPE_MAX_SIZE)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_BAD_MESSAGE,
                   _("The signaling message is too large (%zu bytes, at most %u)"),
                   wire_len, (guint) FERRY_ENVELOPE_MAX_SIZE);
      g_free (wire);
      return NULL;
    }

  return g_bytes_new_take (wire, wire_len);
}

/* Parsing */

static void drop (GError     **error,
                  FerryError   code,
                  const char  *format,
                  ...) G_GNUC_PRINTF (3, 4);

/* Every reason to drop a message goes through here: one debug line each. */
static void
drop (GError     **error,
      FerryError   code,
      const char  *format,
      ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  g_debug ("Dropping signaling message: %s", message);
  g_set_error_literal (error, FERRY_ERROR, code, message);
}

static gboolean
is_lower_hex (const char *text,
              gsize       length)
{
  gsize i;

  if (strlen (text) != length)
    return FALSE;
  for (i = 0; i < length; i++)
    {
      if (!g_ascii_isxdigit (text[i]) || g_ascii_isupper (text[i]))
        return FALSE;
    }

  return TRUE;
}

static gboolean
is_valid_type (const char *type)
{
  gsize len = strlen (type);
  gsize i;

  if (len == 0 || len > MAX_TYPE_LENGTH)
    return FALSE;
  for (i = 0; i < len; i++)
    {
      if (!g_ascii_isalnum (type[i]) && type[i] != '-' && type[i] != '_' && type[i] != '.')
        return FALSE;
    }

  return TRUE;
}

/* Strict base64: only the alphabet, padded to a multiple of 4. */
static GBytes *
decode_base64_strict (const char *text)
{
  gsize len = strlen (text);
  gsize padding = 0;
  gsize i;
  guchar *data;
  gsize data_len = 0;

  if (len == 0 || len % 4 != 0)
    return NULL;
  if (text[len - 1] == '=')
    padding++;
  if (text[len - 2] == '=')
    padding++;
  for (i = 0; i < len - padding; i++)
    {
      char c = text[i];

      if (!g_ascii_isalnum (c) && c != '+' && c != '/')
        return NULL;
    }

  data = g_base64_decode (text, &data_len);

  return g_bytes_new_take (data, data_len);
}

static JsonNode *
get_member (JsonObject *object,
            const char *name)
{
  return json_object_get_member (object, name);
}

static const char *
get_string_member (JsonObject  *object,
                   const char  *name,
                   const char  *where,
                   GError     **error)
{
  JsonNode *node = get_member (object, name);

  if (node == NULL)
    {
      drop (error, FERRY_ERROR_BAD_MESSAGE, _("Member “%s” is missing from %s"),
            name, where);
      return NULL;
    }
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    {
      drop (error, FERRY_ERROR_BAD_MESSAGE, _("Member “%s” of %s is not a string"),
            name, where);
      return NULL;
    }

  return json_node_get_string (node);
}

static gboolean
get_int_member (JsonObject  *object,
                const char  *name,
                const char  *where,
                gint64      *value,
                GError     **error)
{
  JsonNode *node = get_member (object, name);

  if (node == NULL)
    {
      drop (error, FERRY_ERROR_BAD_MESSAGE, _("Member “%s” is missing from %s"),
            name, where);
      return FALSE;
    }
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    {
      drop (error, FERRY_ERROR_BAD_MESSAGE, _("Member “%s” of %s is not an integer"),
            name, where);
      return FALSE;
    }

  *value = json_node_get_int (node);
  return TRUE;
}

static JsonObject *
get_object_member (JsonObject  *object,
                   const char  *name,
                   const char  *where,
                   GError     **error)
{
  JsonNode *node = get_member (object, name);

  if (node == NULL)
    {
      drop (error, FERRY_ERROR_BAD_MESSAGE, _("Member “%s” is missing from %s"),
            name, where);
      return NULL;
    }
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      drop (error, FERRY_ERROR_BAD_MESSAGE, _("Member “%s” of %s is not an object"),
            name, where);
      return NULL;
    }

  return json_node_get_object (node);
}

static JsonObject *
parse_object (const char  *text,
              gssize       length,
              const char  *what,
              JsonParser **parser_out,
              GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local_error = NULL;
  JsonNode *root;

  if (!json_parser_load_from_data (parser, text, length, &local_error))
    {
      drop (error, FERRY_ERROR_BAD_MESSAGE, _("The %s is not valid JSON: %s"),
            what, local_error->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      drop (error, FERRY_ERROR_BAD_MESSAGE, _("The %s is not a JSON object"), what);
      return NULL;
    }

  *parser_out = g_steal_pointer (&parser);
  return json_node_get_object (root);
}

static char *
shorten (const char *id)
{
  return g_strdup_printf ("%.12s", id);
}

FerryEnvelope *
_ferry_envelope_parse (GBytes            *wire,
                       const char        *own_device_id,
                       FerryReplayCache  *cache,
                       GError           **error)
{
  g_autoptr(JsonParser) outer_parser = NULL;
  g_autoptr(JsonParser) message_parser = NULL;
  g_autoptr(FerryEnvelope) envelope = NULL;
  g_autoptr(GBytes) signature = NULL;
  g_autoptr(GBytes) x25519 = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *chain_account = NULL;
  g_autofree char *chain_device = NULL;
  g_autofree char *replay_key = NULL;
  JsonObject *outer;
  JsonObject *message;
  JsonObject *from;
  JsonNode *body_node;
  const char *data;
  gsize size = 0;
  const char *m;
  const char *s;
  const char *id;
  const char *type;
  const char *from_account;
  const char *from_device;
  const char *from_name;
  const char *to;
  const char *chain;
  gint64 version;
  gint64 timestamp_ms;
  gint64 now_ms;
  gint64 skew_ms;

  g_return_val_if_fail (wire != NULL, NULL);
  g_return_val_if_fail (own_device_id != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* Size */
  data = g_bytes_get_data (wire, &size);
  if (size == 0)
    {
      drop (error, FERRY_ERROR_BAD_MESSAGE, _("The message is empty"));
      return NULL;
    }
  if (size > FERRY_ENVELOPE_MAX_SIZE)
    {
      drop (error, FERRY_ERROR_BAD_MESSAGE,
            _("The message is too large (%zu bytes, at most %u)"),
            size, (guint) FERRY_ENVELOPE_MAX_SIZE);
      return NULL;
    }
  if (!g_utf8_validate_len (data, size, NULL))
    {
      drop (error, FERRY_ERROR_BAD_MESSAGE, _("The message is not valid UTF-8"));
      return NULL;
    }

  /* Outer shape: {"m": "...", "s": "..."} */
  outer = parse_object (data, size, _("envelope"), &outer_parser, error);
  if (outer == NULL)
    return NULL;
  if ((m = get_string_member (outer, "m", _("the envelope"), error)) == NULL ||
      (s = get_string_member (outer, "s", _("the envelope"), error)) == NULL)
    return NULL;

  signature = decode_base64_strict (s);
  if (signature == NULL)
    {
      drop (error, FERRY_ERROR_BAD_MESSAGE, _("The signature is not valid base64"));
      return NULL;
    }
  if (g_bytes_get_size (signature) != ED25519_SIGNATURE_SIZE)
    {
      drop (error, FERRY_ERROR_BAD_MESSAGE,
            _("The signature has %zu bytes instead of %u"),
            g_bytes_get_size (signature), (guint) ED25519_SIGNATURE_SIZE);
      return NULL;
    }

  /* Message shape */
  message = parse_object (m, -1, _("message"), &message_parser, error);
  if (message == NULL)
    return NULL;

  if (!get_int_member (message, "v", _("the message"), &version, error))
    return NULL;
  if (version != ENVELOPE_VERSION)
    {
      drop (error, FERRY_ERROR_BAD_MESSAGE,
            _("Unsupported message version %lld"), (long long) version);
      return NULL;
    }

  if ((id = get_string_member (message, "id", _("the message"), error)) == NULL)
    return NULL;
  if (!is_lower_hex (id, 2 * ID_BYTES))
    {
      drop (error, FERRY_ERROR_BAD_MESSAGE, _("The message id is not 32 hexadecimal digits"));
      return NULL;
    }

  if (!get_int_member (message, "ts", _("the message"), &timestamp_ms, error))
    return NULL;

  if ((type = get_string_member (message, "type", _("the message"), error)) == NULL)
    return NULL;
  if (!is_valid_type (type))
    {
      drop (error, FERRY_ERROR_BAD_MESSAGE, _("The message type is not valid"));
      return NULL;
    }

  if ((from = get_object_member (message, "from", _("the message"), error)) == NULL)
    return NULL;
  if ((from_account = get_string_member (from, "account", "“from”", error)) == NULL ||
      (from_device = get_string_member (from, "device", "“from”", error)) == NULL ||
      (from_name = get_string_member (from, "name", "“from”", error)) == NULL)
    return NULL;
  if (!is_lower_hex (from_account, 64) || !is_lower_hex (from_device, 64))
    {
      drop (error, FERRY_ERROR_BAD_MESSAGE,
            _("The sender's account or device id is not 64 hexadecimal digits"));
      return NULL;
    }

  if ((to = get_string_member (message, "to", _("the message"), error)) == NULL ||
      (chain = get_string_member (message, "chain", _("the message"), error)) == NULL)
    return NULL;

  body_node = get_member (message, "body");
  if (body_node != NULL && !JSON_NODE_HOLDS_OBJECT (body_node))
    {
      drop (error, FERRY_ERROR_BAD_MESSAGE, _("Member “body” of the message is not an object"));
      return NULL;
    }

  if (get_member (message, "x25519") != NULL)
    {
      const char *x25519_b64 = get_string_member (message, "x25519", _("the message"), error);

      if (x25519_b64 == NULL)
        return NULL;
      x25519 = decode_base64_strict (x25519_b64);
      if (x25519 == NULL || g_bytes_get_size (x25519) != FERRY_X25519_KEY_SIZE)
        {
          drop (error, FERRY_ERROR_BAD_MESSAGE, _("The sender's encryption key is not valid"));
          return NULL;
        }
    }

  /* Recipient */
  if (g_str_equal (to, "*"))
    {
      if (!g_str_equal (type, "announce"))
        {
          drop (error, FERRY_ERROR_BAD_MESSAGE,
                _("A “%s” message cannot be addressed to every device"), type);
          return NULL;
        }
    }
  else if (!g_str_equal (to, own_device_id))
    {
      g_autofree char *to_short = shorten (to);
      g_autofree char *own_short = shorten (own_device_id);

      drop (error, FERRY_ERROR_BAD_MESSAGE,
            _("The message is addressed to device %s, not to this device (%s)"),
            to_short, own_short);
      return NULL;
    }

  /* Freshness */
  now_ms = g_get_real_time () / 1000;
  skew_ms = FERRY_ENVELOPE_MAX_SKEW_US / 1000;
  if (timestamp_ms < now_ms - skew_ms || timestamp_ms > now_ms + skew_ms)
    {
      drop (error, FERRY_ERROR_BAD_MESSAGE,
            _("The message timestamp is %lld s away from now"),
            (long long) ((timestamp_ms - now_ms) / 1000));
      return NULL;
    }

  /* Sender: the chain must verify and name the sender */
  if (!_ferry_chain_pem_verify (chain, &chain_account, &chain_device, &local_error))
    {
      drop (error, FERRY_ERROR_PEER_UNTRUSTED,
            _("The sender's certificate chain is not trusted: %s"),
            local_error->message);
      return NULL;
    }
  if (!g_str_equal (chain_account, from_account) || !g_str_equal (chain_device, from_device))
    {
      drop (error, FERRY_ERROR_BAD_MESSAGE,
            _("The sender does not match its certificate chain"));
      return NULL;
    }

  if (!_ferry_chain_pem_verify_signature (chain, (const guint8 *) m, strlen (m),
                                          signature, &local_error))
    {
      drop (error, FERRY_ERROR_BAD_MESSAGE, _("The message signature is not valid: %s"),
            local_error->message);
      return NULL;
    }

  /* Replay */
  if (cache != NULL)
    {
      replay_key = g_strconcat (from_device, "/", id, NULL);
      if (!replay_cache_add (cache, replay_key, timestamp_ms, now_ms))
        {
          drop (error, FERRY_ERROR_BAD_MESSAGE, _("The message %s was already received"), id);
          return NULL;
        }
    }

  envelope = g_new0 (FerryEnvelope, 1);
  envelope->id = g_strdup (id);
  envelope->type = g_strdup (type);
  envelope->from_account = g_strdup (from_account);
  envelope->from_device = g_strdup (from_device);
  envelope->from_name = _ferry_sanitize_display_name (from_name, -1);
  if (envelope->from_name == NULL)
    {
      g_autofree char *device_short = shorten (from_device);

      /* TRANSLATORS: the name shown for a device whose own name is empty
       * or unprintable; %s is the start of its device id. */
      envelope->from_name = g_strdup_printf (_("Device %s"), device_short);
    }
  envelope->to = g_strdup (to);
  envelope->timestamp_ms = timestamp_ms;
  envelope->chain_pem = g_strdup (chain);
  envelope->body = body_node != NULL
                   ? json_object_ref (json_node_get_object (body_node))
                   : json_object_new ();
  if (x25519 != NULL)
    {
      envelope->has_x25519 = TRUE;
      memcpy (envelope->x25519, g_bytes_get_data (x25519, NULL), FERRY_X25519_KEY_SIZE);
    }

  return g_steal_pointer (&envelope);
}

/* Sealing */

static gboolean
hex_to_raw (const char *hex,
            guint8     *raw,
            gsize       raw_len)
{
  if (!is_lower_hex (hex, 2 * raw_len))
    return FALSE;
  for (gsize i = 0; i < raw_len; i++)
    raw[i] = (guint8) (g_ascii_xdigit_value (hex[2 * i]) << 4 |
                       g_ascii_xdigit_value (hex[2 * i + 1]));

  return TRUE;
}

static char *
raw_to_hex (const guint8 *raw,
            gsize         raw_len)
{
  static const char digits[] = "0123456789abcdef";
  char *hex = g_malloc (2 * raw_len + 1);

  for (gsize i = 0; i < raw_len; i++)
    {
      hex[2 * i] = digits[raw[i] >> 4];
      hex[2 * i + 1] = digits[raw[i] & 0xf];
    }
  hex[2 * raw_len] = '\0';

  return hex;
}

/* HKDF-SHA256 → a ChaCha20-Poly1305 key and nonce. */
static void
seal_derive (const guint8 *shared,
             const guint8 *salt,
             const guint8 *ephemeral_public,
             const guint8 *recipient_public,
             guint8       *key,
             guint8       *nonce)
{
  struct hmac_sha256_ctx mac;
  guint8 prk[SHA256_DIGEST_SIZE];
  guint8 info[sizeof SEAL_INFO - 1 + 2 * FERRY_X25519_KEY_SIZE];
  guint8 okm[CHACHA_POLY1305_KEY_SIZE + CHACHA_POLY1305_NONCE_SIZE];

  memcpy (info, SEAL_INFO, sizeof SEAL_INFO - 1);
  memcpy (info + sizeof SEAL_INFO - 1, ephemeral_public, FERRY_X25519_KEY_SIZE);
  memcpy (info + sizeof SEAL_INFO - 1 + FERRY_X25519_KEY_SIZE, recipient_public, FERRY_X25519_KEY_SIZE);

  hmac_sha256_set_key (&mac, SEAL_SALT_SIZE, salt);
  hkdf_extract (&mac,
                (nettle_hash_update_func *) hmac_sha256_update,
                (nettle_hash_digest_func *) hmac_sha256_digest,
                SHA256_DIGEST_SIZE, FERRY_X25519_KEY_SIZE, shared, prk);
  hmac_sha256_set_key (&mac, SHA256_DIGEST_SIZE, prk);
  hkdf_expand (&mac,
               (nettle_hash_update_func *) hmac_sha256_update,
               (nettle_hash_digest_func *) hmac_sha256_digest,
               SHA256_DIGEST_SIZE, sizeof info, info, sizeof okm, okm);

  memcpy (key, okm, CHACHA_POLY1305_KEY_SIZE);
  memcpy (nonce, okm + CHACHA_POLY1305_KEY_SIZE, CHACHA_POLY1305_NONCE_SIZE);

  gnutls_memset (&mac, 0, sizeof mac);
  gnutls_memset (prk, 0, sizeof prk);
  gnutls_memset (okm, 0, sizeof okm);
}

static gboolean
is_all_zero (const guint8 *data,
             gsize         len)
{
  guint8 acc = 0;

  for (gsize i = 0; i < len; i++)
    acc |= data[i];

  return acc == 0;
}

GBytes *
_ferry_envelope_seal (FerryIdentity  *identity,
                      const char     *to_device_id,
                      const guint8   *to_key,
                      GBytes         *plain,
                      GError        **error)
{
  struct chacha_poly1305_ctx aead;
  guint8 ephemeral_secret[FERRY_X25519_KEY_SIZE];
  guint8 shared[FERRY_X25519_KEY_SIZE];
  guint8 key[CHACHA_POLY1305_KEY_SIZE];
  guint8 nonce[CHACHA_POLY1305_NONCE_SIZE];
  const guint8 *plain_data;
  gsize plain_len = 0;
  guint8 *out;
  guint8 *header;
  gsize out_len;
  int ret;

  g_return_val_if_fail (FERRY_IS_IDENTITY (identity), NULL);
  g_return_val_if_fail (to_device_id != NULL, NULL);
  g_return_val_if_fail (to_key != NULL, NULL);
  g_return_val_if_fail (plain != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  plain_data = g_bytes_get_data (plain, &plain_len);
  if (plain_len > FERRY_ENVELOPE_MAX_SIZE)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_BAD_MESSAGE,
                   _("The signaling message is too large (%zu bytes, at most %u)"),
                   plain_len, (guint) FERRY_ENVELOPE_MAX_SIZE);
      return NULL;
    }

  out_len = SEAL_HEADER_SIZE + plain_len + SEAL_TAG_SIZE;
  out = g_malloc (out_len);
  header = out;

  /* Header: magic, recipient, sender, ephemeral key, salt */
  memcpy (header, SEAL_MAGIC, SEAL_MAGIC_SIZE);
  if (!hex_to_raw (to_device_id, header + SEAL_MAGIC_SIZE, SEAL_ID_SIZE) ||
      !hex_to_raw (ferry_identity_get_device_id (identity),
                   header + SEAL_MAGIC_SIZE + SEAL_ID_SIZE, SEAL_ID_SIZE))
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_FAILED,
                           _("A device id is not 64 hexadecimal digits"));
      g_free (out);
      return NULL;
    }

  if ((ret = gnutls_rnd (GNUTLS_RND_KEY, ephemeral_secret, sizeof ephemeral_secret)) < 0 ||
      (ret = gnutls_rnd (GNUTLS_RND_NONCE, header + SEAL_HEADER_SIZE - SEAL_SALT_SIZE,
                         SEAL_SALT_SIZE)) < 0)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_FAILED,
                   _("No random numbers: %s"), gnutls_strerror (ret));
      g_free (out);
      return NULL;
    }
  curve25519_mul_g (header + SEAL_MAGIC_SIZE + 2 * SEAL_ID_SIZE, ephemeral_secret);
  curve25519_mul (shared, ephemeral_secret, to_key);
  gnutls_memset (ephemeral_secret, 0, sizeof ephemeral_secret);
  if (is_all_zero (shared, sizeof shared))
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_PEER_UNTRUSTED,
                           _("The receiving device's encryption key is not valid"));
      g_free (out);
      return NULL;
    }

  seal_derive (shared, header + SEAL_HEADER_SIZE - SEAL_SALT_SIZE,
               header + SEAL_MAGIC_SIZE + 2 * SEAL_ID_SIZE, to_key, key, nonce);

  chacha_poly1305_set_key (&aead, key);
  chacha_poly1305_set_nonce (&aead, nonce);
  chacha_poly1305_update (&aead, SEAL_HEADER_SIZE, header);
  chacha_poly1305_encrypt (&aead, plain_len, out + SEAL_HEADER_SIZE, plain_data);
  chacha_poly1305_digest (&aead, SEAL_TAG_SIZE, out + SEAL_HEADER_SIZE + plain_len);

  gnutls_memset (&aead, 0, sizeof aead);
  gnutls_memset (shared, 0, sizeof shared);
  gnutls_memset (key, 0, sizeof key);

  return g_bytes_new_take (out, out_len);
}

gboolean
_ferry_envelope_is_sealed (GBytes *wire)
{
  gsize size = 0;
  const guint8 *data;

  g_return_val_if_fail (wire != NULL, FALSE);

  data = g_bytes_get_data (wire, &size);

  return size >= SEAL_HEADER_SIZE + SEAL_TAG_SIZE &&
         memcmp (data, SEAL_MAGIC, SEAL_MAGIC_SIZE) == 0;
}

GBytes *
_ferry_envelope_open (FerryIdentity  *identity,
                      GBytes         *wire,
                      char          **sender_device_id,
                      GError        **error)
{
  struct chacha_poly1305_ctx aead;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *recipient = NULL;
  guint8 shared[FERRY_X25519_KEY_SIZE];
  guint8 key[CHACHA_POLY1305_KEY_SIZE];
  guint8 nonce[CHACHA_POLY1305_NONCE_SIZE];
  guint8 tag[SEAL_TAG_SIZE];
  const guint8 *data;
  const guint8 *ephemeral;
  gsize size = 0;
  gsize plain_len;
  guint8 *plain;

  g_return_val_if_fail (FERRY_IS_IDENTITY (identity), NULL);
  g_return_val_if_fail (wire != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  data = g_bytes_get_data (wire, &size);
  if (!_ferry_envelope_is_sealed (wire))
    {
      drop (error, FERRY_ERROR_BAD_MESSAGE, _("The message is not sealed"));
      return NULL;
    }
  if (size > SEAL_HEADER_SIZE + FERRY_ENVELOPE_MAX_SIZE + SEAL_TAG_SIZE)
    {
      drop (error, FERRY_ERROR_BAD_MESSAGE,
            _("The message is too large (%zu bytes, at most %u)"),
            size, (guint) (FERRY_ENVELOPE_MAX_SIZE + FERRY_SEAL_OVERHEAD));
      return NULL;
    }

  recipient = raw_to_hex (data + SEAL_MAGIC_SIZE, SEAL_ID_SIZE);
  if (!g_str_equal (recipient, ferry_identity_get_device_id (identity)))
    {
      g_autofree char *to_short = shorten (recipient);
      g_autofree char *own_short = shorten (ferry_identity_get_device_id (identity));

      drop (error, FERRY_ERROR_BAD_MESSAGE,
            _("The message is addressed to device %s, not to this device (%s)"),
            to_short, own_short);
      return NULL;
    }

  ephemeral = data + SEAL_MAGIC_SIZE + 2 * SEAL_ID_SIZE;
  if (!_ferry_identity_x25519_agree (identity, ephemeral, shared, &local_error))
    {
      drop (error, FERRY_ERROR_BAD_MESSAGE, _("The message cannot be decrypted: %s"),
            local_error->message);
      return NULL;
    }

  seal_derive (shared, data + SEAL_HEADER_SIZE - SEAL_SALT_SIZE, ephemeral,
               _ferry_identity_get_x25519_public (identity), key, nonce);
  gnutls_memset (shared, 0, sizeof shared);

  plain_len = size - SEAL_HEADER_SIZE - SEAL_TAG_SIZE;
  plain = g_malloc (plain_len + 1);
  chacha_poly1305_set_key (&aead, key);
  chacha_poly1305_set_nonce (&aead, nonce);
  chacha_poly1305_update (&aead, SEAL_HEADER_SIZE, data);
  chacha_poly1305_decrypt (&aead, plain_len, plain, data + SEAL_HEADER_SIZE);
  chacha_poly1305_digest (&aead, SEAL_TAG_SIZE, tag);
  gnutls_memset (&aead, 0, sizeof aead);
  gnutls_memset (key, 0, sizeof key);

  if (!memeql_sec (tag, data + SEAL_HEADER_SIZE + plain_len, SEAL_TAG_SIZE))
    {
      gnutls_memset (plain, 0, plain_len);
      g_free (plain);
      drop (error, FERRY_ERROR_BAD_MESSAGE,
            _("The message cannot be decrypted: it was not sealed to this device's key "
              "or it was altered"));
      return NULL;
    }

  if (sender_device_id != NULL)
    *sender_device_id = raw_to_hex (data + SEAL_MAGIC_SIZE + SEAL_ID_SIZE, SEAL_ID_SIZE);

  return g_bytes_new_take (plain, plain_len);
}

GBytes *
_ferry_envelope_build_sealed (FerryIdentity  *identity,
                              const char     *type,
                              const char     *to,
                              JsonObject     *body,
                              GError        **error)
{
  g_autoptr(GBytes) plain = NULL;
  guint8 key[FERRY_X25519_KEY_SIZE];

  g_return_val_if_fail (FERRY_IS_IDENTITY (identity), NULL);
  g_return_val_if_fail (to != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!g_str_equal (to, "*") && !_ferry_identity_lookup_peer_key (identity, to, key))
    {
      g_autofree char *to_short = shorten (to);

      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PEER_UNTRUSTED,
                   _("No encryption key is known for device %s"), to_short);
      return NULL;
    }

  plain = _ferry_envelope_build (identity, type, to, body, error);
  if (plain == NULL || g_str_equal (to, "*"))
    return g_steal_pointer (&plain);

  return _ferry_envelope_seal (identity, to, key, plain, error);
}

FerryEnvelope *
_ferry_envelope_receive (FerryIdentity     *identity,
                         GBytes            *wire,
                         FerryReplayCache  *cache,
                         GError           **error)
{
  g_autoptr(FerryEnvelope) envelope = NULL;
  const char *own_device_id;

  g_return_val_if_fail (FERRY_IS_IDENTITY (identity), NULL);
  g_return_val_if_fail (wire != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  own_device_id = ferry_identity_get_device_id (identity);

  if (_ferry_envelope_is_sealed (wire))
    {
      g_autoptr(GBytes) plain = NULL;
      g_autofree char *sender = NULL;

      plain = _ferry_envelope_open (identity, wire, &sender, error);
      if (plain == NULL)
        return NULL;
      envelope = _ferry_envelope_parse (plain, own_device_id, cache, error);
      if (envelope == NULL)
        return NULL;
      if (!g_str_equal (envelope->from_device, sender))
        {
          g_autofree char *sender_short = shorten (sender);
          g_autofree char *signer_short = shorten (envelope->from_device);

          drop (error, FERRY_ERROR_BAD_MESSAGE,
                _("The message was sealed by device %s but signed by device %s"),
                sender_short, signer_short);
          return NULL;
        }
      envelope->sealed = TRUE;
    }
  else
    {
      envelope = _ferry_envelope_parse (wire, own_device_id, NULL, error);
      if (envelope == NULL)
        return NULL;
      if (!g_str_equal (envelope->type, "announce"))
        {
          drop (error, FERRY_ERROR_BAD_MESSAGE,
                _("A “%s” message must be encrypted to this device"), envelope->type);
          return NULL;
        }
      if (cache != NULL)
        {
          g_autofree char *replay_key = g_strconcat (envelope->from_device, "/", envelope->id, NULL);

          if (!replay_cache_add (cache, replay_key, envelope->timestamp_ms,
                                 g_get_real_time () / 1000))
            {
              drop (error, FERRY_ERROR_BAD_MESSAGE, _("The message %s was already received"),
                    envelope->id);
              return NULL;
            }
        }
    }

  if (envelope->has_x25519)
    _ferry_identity_remember_peer_key (identity, envelope->from_device, envelope->x25519,
                                       envelope->timestamp_ms);

  return g_steal_pointer (&envelope);
}
