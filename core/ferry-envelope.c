/* ferry-envelope.c: signed signaling messages
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdarg.h>
#include <string.h>

#include <glib/gi18n-lib.h>
#include <gnutls/crypto.h>

#include "ferry-envelope-private.h"
#include "ferry-error.h"
#include "ferry-identity-private.h"

#define ENVELOPE_VERSION 1
#define ED25519_SIGNATURE_SIZE 64
#define ID_BYTES 16
#define MAX_TYPE_LENGTH 64

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

static char *
random_id (void)
{
  guint8 raw[ID_BYTES];
  GString *hex = g_string_sized_new (2 * ID_BYTES);
  guint i;

  if (gnutls_rnd (GNUTLS_RND_NONCE, raw, sizeof raw) < 0)
    {
      /* gnutls_rnd only fails when the system has no randomness at all. */
      for (i = 0; i < sizeof raw; i++)
        raw[i] = (guint8) g_random_int_range (0, 256);
    }
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

  id = random_id ();

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
                   _("The signaling message is too large (%" G_GSIZE_FORMAT
                     " bytes, at most %u)"),
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
            _("The message is too large (%" G_GSIZE_FORMAT " bytes, at most %u)"),
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
            _("The signature has %" G_GSIZE_FORMAT " bytes instead of %u"),
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
            _("Unsupported message version %" G_GINT64_FORMAT), version);
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
            _("The message timestamp is %" G_GINT64_FORMAT " s away from now"),
            (timestamp_ms - now_ms) / 1000);
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
  envelope->from_name = g_strdup (from_name);
  envelope->to = g_strdup (to);
  envelope->timestamp_ms = timestamp_ms;
  envelope->chain_pem = g_strdup (chain);
  envelope->body = body_node != NULL
                   ? json_object_ref (json_node_get_object (body_node))
                   : json_object_new ();

  return g_steal_pointer (&envelope);
}
