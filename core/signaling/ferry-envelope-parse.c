/* ferry-envelope-parse.c: the checks a signed signaling message must
 * pass, and the replay cache
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "ferry-envelope-internal.h"
#include "ferry-identity-private.h"
#include "ferry-sanitize-private.h"
#include "ferry-utils-private.h"

#define ED25519_SIGNATURE_SIZE 64
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

/* Remembers "@device/@id"; FALSE when it was already there. */
gboolean
_ferry_replay_cache_add (FerryReplayCache *cache,
                         const char       *device,
                         const char       *id,
                         gint64            timestamp_ms,
                         gint64            now_ms)
{
  g_autofree char *key = g_strconcat (device, "/", id, NULL);
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

/* Parsing */

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
      _ferry_envelope_drop (error, FERRY_ERROR_BAD_MESSAGE, _("Member “%s” is missing from %s"),
                            name, where);
      return NULL;
    }
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    {
      _ferry_envelope_drop (error, FERRY_ERROR_BAD_MESSAGE, _("Member “%s” of %s is not a string"),
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
      _ferry_envelope_drop (error, FERRY_ERROR_BAD_MESSAGE, _("Member “%s” is missing from %s"),
                            name, where);
      return FALSE;
    }
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    {
      _ferry_envelope_drop (error, FERRY_ERROR_BAD_MESSAGE, _("Member “%s” of %s is not an integer"),
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
      _ferry_envelope_drop (error, FERRY_ERROR_BAD_MESSAGE, _("Member “%s” is missing from %s"),
                            name, where);
      return NULL;
    }
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      _ferry_envelope_drop (error, FERRY_ERROR_BAD_MESSAGE, _("Member “%s” of %s is not an object"),
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
      _ferry_envelope_drop (error, FERRY_ERROR_BAD_MESSAGE, _("The %s is not valid JSON: %s"),
                            what, local_error->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      _ferry_envelope_drop (error, FERRY_ERROR_BAD_MESSAGE, _("The %s is not a JSON object"), what);
      return NULL;
    }

  *parser_out = g_steal_pointer (&parser);
  return json_node_get_object (root);
}

/* What a message says, borrowed from its parsers. */
typedef struct {
  const char *m;              /* the signed text */
  GBytes     *signature;
  const char *id;
  const char *type;
  const char *from_account;
  const char *from_device;
  const char *from_name;
  const char *to;
  const char *chain;
  gint64      timestamp_ms;
  JsonNode   *body_node;      /* NULL when absent */
  GBytes     *x25519;         /* NULL when absent */
  JsonParser *outer_parser;
  JsonParser *message_parser;
} Fields;

static void
fields_clear (Fields *f)
{
  g_clear_pointer (&f->signature, g_bytes_unref);
  g_clear_pointer (&f->x25519, g_bytes_unref);
  g_clear_object (&f->outer_parser);
  g_clear_object (&f->message_parser);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Fields, fields_clear)

static GBytes *
decode_base64 (const char *text)
{
  gsize len = 0;
  guint8 *data = _ferry_base64_decode_strict (text, &len);

  return data != NULL ? g_bytes_new_take (data, len) : NULL;
}

/* Size, then the outer shape: {"m": "...", "s": "..."}. */
static gboolean
parse_outer (GBytes  *wire,
             Fields  *f,
             GError **error)
{
  const char *data;
  const char *s;
  JsonObject *outer;
  gsize size = 0;

  data = g_bytes_get_data (wire, &size);
  if (size == 0)
    {
      _ferry_envelope_drop (error, FERRY_ERROR_BAD_MESSAGE, _("The message is empty"));
      return FALSE;
    }
  if (size > FERRY_ENVELOPE_MAX_SIZE)
    {
      _ferry_envelope_drop (error, FERRY_ERROR_BAD_MESSAGE,
                            _("The message is too large (%zu bytes, at most %u)"),
                            size, (guint) FERRY_ENVELOPE_MAX_SIZE);
      return FALSE;
    }
  if (!g_utf8_validate_len (data, size, NULL))
    {
      _ferry_envelope_drop (error, FERRY_ERROR_BAD_MESSAGE, _("The message is not valid UTF-8"));
      return FALSE;
    }

  outer = parse_object (data, size, _("envelope"), &f->outer_parser, error);
  if (outer == NULL)
    return FALSE;
  if ((f->m = get_string_member (outer, "m", _("the envelope"), error)) == NULL ||
      (s = get_string_member (outer, "s", _("the envelope"), error)) == NULL)
    return FALSE;

  f->signature = decode_base64 (s);
  if (f->signature == NULL)
    {
      _ferry_envelope_drop (error, FERRY_ERROR_BAD_MESSAGE, _("The signature is not valid base64"));
      return FALSE;
    }
  if (g_bytes_get_size (f->signature) != ED25519_SIGNATURE_SIZE)
    {
      _ferry_envelope_drop (error, FERRY_ERROR_BAD_MESSAGE,
                            _("The signature has %zu bytes instead of %u"),
                            g_bytes_get_size (f->signature), (guint) ED25519_SIGNATURE_SIZE);
      return FALSE;
    }

  return TRUE;
}

/* "v", "id", "ts", "type" and "from" of @message. */
static gboolean
parse_head (JsonObject  *message,
            Fields      *f,
            GError     **error)
{
  JsonObject *from;
  gint64 version;

  if (!get_int_member (message, "v", _("the message"), &version, error))
    return FALSE;
  if (version != ENVELOPE_VERSION)
    {
      _ferry_envelope_drop (error, FERRY_ERROR_BAD_MESSAGE,
                            _("Unsupported message version %lld"), (long long) version);
      return FALSE;
    }

  if ((f->id = get_string_member (message, "id", _("the message"), error)) == NULL)
    return FALSE;
  if (!_ferry_str_is_lower_hex_len (f->id, 2 * ID_BYTES))
    {
      _ferry_envelope_drop (error, FERRY_ERROR_BAD_MESSAGE, _("The message id is not 32 hexadecimal digits"));
      return FALSE;
    }

  if (!get_int_member (message, "ts", _("the message"), &f->timestamp_ms, error))
    return FALSE;

  if ((f->type = get_string_member (message, "type", _("the message"), error)) == NULL)
    return FALSE;
  if (!is_valid_type (f->type))
    {
      _ferry_envelope_drop (error, FERRY_ERROR_BAD_MESSAGE, _("The message type is not valid"));
      return FALSE;
    }

  if ((from = get_object_member (message, "from", _("the message"), error)) == NULL)
    return FALSE;
  if ((f->from_account = get_string_member (from, "account", "“from”", error)) == NULL ||
      (f->from_device = get_string_member (from, "device", "“from”", error)) == NULL ||
      (f->from_name = get_string_member (from, "name", "“from”", error)) == NULL)
    return FALSE;
  if (!_ferry_device_id_is_valid (f->from_account) || !_ferry_device_id_is_valid (f->from_device))
    {
      _ferry_envelope_drop (error, FERRY_ERROR_BAD_MESSAGE,
                            _("The sender's account or device id is not 64 hexadecimal digits"));
      return FALSE;
    }

  return TRUE;
}

/* The message shape: everything parse_outer() does not check. */
static gboolean
parse_message (Fields  *f,
               GError **error)
{
  JsonObject *message;

  message = parse_object (f->m, -1, _("message"), &f->message_parser, error);
  if (message == NULL || !parse_head (message, f, error))
    return FALSE;

  if ((f->to = get_string_member (message, "to", _("the message"), error)) == NULL ||
      (f->chain = get_string_member (message, "chain", _("the message"), error)) == NULL)
    return FALSE;

  f->body_node = get_member (message, "body");
  if (f->body_node != NULL && !JSON_NODE_HOLDS_OBJECT (f->body_node))
    {
      _ferry_envelope_drop (error, FERRY_ERROR_BAD_MESSAGE, _("Member “body” of the message is not an object"));
      return FALSE;
    }

  if (get_member (message, "x25519") != NULL)
    {
      const char *x25519_b64 = get_string_member (message, "x25519", _("the message"), error);

      if (x25519_b64 == NULL)
        return FALSE;
      f->x25519 = decode_base64 (x25519_b64);
      if (f->x25519 == NULL || g_bytes_get_size (f->x25519) != FERRY_X25519_KEY_SIZE)
        {
          _ferry_envelope_drop (error, FERRY_ERROR_BAD_MESSAGE, _("The sender's encryption key is not valid"));
          return FALSE;
        }
    }

  return TRUE;
}

/* The recipient, then the timestamp within the skew of @now_ms. */
static gboolean
check_recipient_and_time (Fields      *f,
                          const char  *own_device_id,
                          gint64       now_ms,
                          GError     **error)
{
  gint64 skew_ms = FERRY_ENVELOPE_MAX_SKEW_US / 1000;

  if (g_str_equal (f->to, "*"))
    {
      if (!g_str_equal (f->type, "announce"))
        {
          _ferry_envelope_drop (error, FERRY_ERROR_BAD_MESSAGE,
                                _("A “%s” message cannot be addressed to every device"), f->type);
          return FALSE;
        }
    }
  else if (!g_str_equal (f->to, own_device_id))
    {
      g_autofree char *to_short = _ferry_envelope_shorten (f->to);
      g_autofree char *own_short = _ferry_envelope_shorten (own_device_id);

      _ferry_envelope_drop (error, FERRY_ERROR_BAD_MESSAGE,
                            _("The message is addressed to device %s, not to this device (%s)"),
                            to_short, own_short);
      return FALSE;
    }

  if (f->timestamp_ms < now_ms - skew_ms || f->timestamp_ms > now_ms + skew_ms)
    {
      _ferry_envelope_drop (error, FERRY_ERROR_BAD_MESSAGE,
                            _("The message timestamp is %lld s away from now"),
                            (long long) ((f->timestamp_ms - now_ms) / 1000));
      return FALSE;
    }

  return TRUE;
}

/* The sender: the chain must verify, name the sender and have signed. */
static gboolean
check_sender (Fields  *f,
              GError **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *chain_account = NULL;
  g_autofree char *chain_device = NULL;

  if (!_ferry_chain_pem_verify (f->chain, &chain_account, &chain_device, &local_error))
    {
      _ferry_envelope_drop (error, FERRY_ERROR_PEER_UNTRUSTED,
                            _("The sender's certificate chain is not trusted: %s"),
                            local_error->message);
      return FALSE;
    }
  if (!g_str_equal (chain_account, f->from_account) || !g_str_equal (chain_device, f->from_device))
    {
      _ferry_envelope_drop (error, FERRY_ERROR_BAD_MESSAGE,
                            _("The sender does not match its certificate chain"));
      return FALSE;
    }

  if (!_ferry_chain_pem_verify_signature (f->chain, (const guint8 *) f->m, strlen (f->m),
                                          f->signature, &local_error))
    {
      _ferry_envelope_drop (error, FERRY_ERROR_BAD_MESSAGE, _("The message signature is not valid: %s"),
                            local_error->message);
      return FALSE;
    }

  return TRUE;
}

static FerryEnvelope *
envelope_new (Fields *f)
{
  FerryEnvelope *envelope = g_new0 (FerryEnvelope, 1);

  envelope->id = g_strdup (f->id);
  envelope->type = g_strdup (f->type);
  envelope->from_account = g_strdup (f->from_account);
  envelope->from_device = g_strdup (f->from_device);
  envelope->from_name = _ferry_sanitize_display_name (f->from_name, -1);
  if (envelope->from_name == NULL)
    {
      g_autofree char *device_short = _ferry_envelope_shorten (f->from_device);

      /* TRANSLATORS: the name shown for a device whose own name is empty
       * or unprintable; %s is the start of its device id. */
      envelope->from_name = g_strdup_printf (_("Device %s"), device_short);
    }
  envelope->to = g_strdup (f->to);
  envelope->timestamp_ms = f->timestamp_ms;
  envelope->chain_pem = g_strdup (f->chain);
  envelope->body = f->body_node != NULL
                   ? json_object_ref (json_node_get_object (f->body_node))
                   : json_object_new ();
  if (f->x25519 != NULL)
    {
      envelope->has_x25519 = TRUE;
      memcpy (envelope->x25519, g_bytes_get_data (f->x25519, NULL), FERRY_X25519_KEY_SIZE);
    }

  return envelope;
}

FerryEnvelope *
_ferry_envelope_parse (GBytes            *wire,
                       const char        *own_device_id,
                       FerryReplayCache  *cache,
                       GError           **error)
{
  g_auto(Fields) f = { NULL, };
  gint64 now_ms;

  g_return_val_if_fail (wire != NULL, NULL);
  g_return_val_if_fail (own_device_id != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!parse_outer (wire, &f, error) || !parse_message (&f, error))
    return NULL;
  now_ms = g_get_real_time () / 1000;
  if (!check_recipient_and_time (&f, own_device_id, now_ms, error) ||
      !check_sender (&f, error))
    return NULL;

  if (cache != NULL &&
      !_ferry_replay_cache_add (cache, f.from_device, f.id, f.timestamp_ms, now_ms))
    {
      _ferry_envelope_drop (error, FERRY_ERROR_BAD_MESSAGE, _("The message %s was already received"), f.id);
      return NULL;
    }

  return envelope_new (&f);
}
