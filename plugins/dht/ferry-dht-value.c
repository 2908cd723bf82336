/* ferry-dht-value.c: the values the dht plugin reads from the DHT
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <nettle/base16.h>
#include <nettle/base64.h>

#include "ferry-dht-value.h"

/* nettle's base16 reads either case and skips white space: what it read
 * must encode back to @text. */
gboolean
_ferry_dht_is_lower_hex (const char *text,
                         gsize       length)
{
  struct base16_decode_ctx ctx;
  g_autofree guint8 *raw = NULL;
  g_autofree char *again = NULL;
  size_t done = 0;

  g_return_val_if_fail (length % 2 == 0, FALSE);

  if (text == NULL || strnlen (text, length + 1) != length)
    return FALSE;

  raw = g_malloc (BASE16_DECODE_LENGTH (length) + 1);
  done = BASE16_DECODE_LENGTH (length);
  base16_decode_init (&ctx);
  if (!base16_decode_update (&ctx, &done, raw, length, text) ||
      !base16_decode_final (&ctx) || done != length / 2)
    return FALSE;

  again = g_malloc (BASE16_ENCODE_LENGTH (done) + 1);
  if (done > 0)
    base16_encode_update (again, done, raw);
  return memcmp (again, text, length) == 0;
}

/* The standard alphabet only, then at most two '=' that pad @text to a
 * multiple of four characters, not empty. Returns the number of '='. */
static gboolean
is_strict_base64 (const char *text,
                  gsize       len,
                  gsize      *padding)
{
  *padding = 0;
  if (len == 0 || len % 4 != 0)
    return FALSE;
  if (text[len - 1] == '=')
    (*padding)++;
  if (text[len - 2] == '=')
    (*padding)++;
  for (gsize i = 0; i < len - *padding; i++)
    if (!g_ascii_isalnum (text[i]) && text[i] != '+' && text[i] != '/')
      return FALSE;
  return TRUE;
}

GBytes *
_ferry_dht_decode_base64 (const char *text,
                          gsize       len)
{
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  struct base64_decode_ctx ctx;
  char last[4];
  gsize padding;
  size_t done = 0;
  size_t more = 0;
  guint8 *out;

  if (!is_strict_base64 (text, len, &padding))
    return NULL;

  /* This decoder always let the bits of the last character that no byte
   * uses be set ("QR==" for "A"), as g_base64_decode() does; nettle
   * refuses them, so they are cleared in a copy of the last four. */
  memcpy (last, text + len - 4, sizeof last);
  if (padding > 0)
    {
      char *c = &last[3 - padding];
      gsize value = strchr (alphabet, *c) - alphabet;

      *c = alphabet[value & (padding == 1 ? ~(gsize) 3 : ~(gsize) 15)];
    }

  out = g_malloc (BASE64_DECODE_LENGTH (len) + 1);
  done = BASE64_DECODE_LENGTH (len - 4);
  more = BASE64_DECODE_LENGTH (sizeof last);
  base64_decode_init (&ctx);
  if (!base64_decode_update (&ctx, &done, out, len - 4, text) ||
      !base64_decode_update (&ctx, &more, out + done, sizeof last, last) ||
      !base64_decode_final (&ctx))
    {
      g_free (out);
      return NULL;
    }
  return g_bytes_new_take (out, done + more);
}

/* The account an announcement claims to come from ("from"/"account" of
 * the signed message, see core/ferry-envelope-private.h), or NULL. The
 * core checks that this claim matches the certificate chain and the
 * signature; here it only has to match the key the announcement was
 * stored under. */
static char *
announcement_account (GBytes *announcement)
{
  g_autoptr(JsonParser) outer = json_parser_new ();
  g_autoptr(JsonParser) inner = json_parser_new ();
  gsize size = 0;
  const char *data = g_bytes_get_data (announcement, &size);
  JsonNode *root;
  JsonNode *from;
  const char *m;

  if (!g_utf8_validate_len (data, size, NULL) ||
      !json_parser_load_from_data (outer, data, size, NULL) ||
      (root = json_parser_get_root (outer)) == NULL || !JSON_NODE_HOLDS_OBJECT (root) ||
      (m = json_object_get_string_member_with_default (json_node_get_object (root), "m", NULL)) == NULL ||
      !json_parser_load_from_data (inner, m, -1, NULL) ||
      (root = json_parser_get_root (inner)) == NULL || !JSON_NODE_HOLDS_OBJECT (root) ||
      (from = json_object_get_member (json_node_get_object (root), "from")) == NULL ||
      !JSON_NODE_HOLDS_OBJECT (from))
    return NULL;

  return g_strdup (json_object_get_string_member_with_default (json_node_get_object (from),
                                                               "account", NULL));
}

FerryDhtValueResult
_ferry_dht_value_parse (JsonParser  *parser,
                        const char  *line,
                        gsize        len,
                        const char **data,
                        const char **reason)
{
  JsonObject *object;
  JsonNode *node;

  while (len > 0 && g_ascii_isspace (line[len - 1]))
    len--;
  while (len > 0 && g_ascii_isspace (line[0]))
    {
      line++;
      len--;
    }
  if (len == 0)
    return DHT_VALUE_IGNORE;

  if (!g_utf8_validate_len (line, len, NULL) ||
      !json_parser_load_from_data (parser, line, len, NULL) ||
      json_parser_get_root (parser) == NULL ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      *reason = "not a JSON object";
      return DHT_VALUE_DROP;
    }
  object = json_node_get_object (json_parser_get_root (parser));

  /* The listen's markers of values that expired. */
  if (json_object_has_member (object, "expired"))
    return DHT_VALUE_IGNORE;

  node = json_object_get_member (object, "data");
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    {
      *reason = "no data";
      return DHT_VALUE_DROP;
    }
  *data = json_node_get_string (node);
  if (strlen (*data) > DHT_MAX_DATA_BASE64)
    {
      *reason = "data too large";
      return DHT_VALUE_DROP;
    }

  return DHT_VALUE_OK;
}

FerryDhtValueResult
_ferry_dht_value_decode (const char  *data,
                         char         expected_kind,
                         const char  *account,
                         char       **sender,
                         GBytes     **payload,
                         const char **reason)
{
  g_autoptr(GBytes) frame = NULL;
  g_autoptr(GBytes) carried = NULL;
  g_autofree char *route = NULL;
  const guint8 *bytes;
  gsize size = 0;

  frame = _ferry_dht_decode_base64 (data, strlen (data));
  if (frame == NULL)
    {
      *reason = "data not valid base64";
      return DHT_VALUE_DROP;
    }

  bytes = g_bytes_get_data (frame, &size);
  if (size <= DHT_FRAME_HEADER_SIZE || memcmp (bytes, DHT_FRAME_MAGIC, DHT_FRAME_MAGIC_SIZE) != 0)
    {
      *reason = "not a Ferry value";
      return DHT_VALUE_DROP;
    }
  if (bytes[DHT_FRAME_MAGIC_SIZE] != expected_kind)
    {
      *reason = "a value of the wrong kind";
      return DHT_VALUE_DROP;
    }
  route = g_strndup ((const char *) bytes + DHT_FRAME_MAGIC_SIZE + 1, DHT_DEVICE_ID_SIZE);
  if (!_ferry_dht_is_lower_hex (route, DHT_DEVICE_ID_SIZE))
    {
      *reason = "a sender that is not a device id";
      return DHT_VALUE_DROP;
    }

  carried = g_bytes_new_from_bytes (frame, DHT_FRAME_HEADER_SIZE, size - DHT_FRAME_HEADER_SIZE);
  if (expected_kind == DHT_KIND_ANNOUNCEMENT)
    {
      g_autofree char *claimed = announcement_account (carried);

      if (claimed == NULL || g_strcmp0 (claimed, account) != 0)
        {
          *reason = "an announcement of another account";
          return DHT_VALUE_DROP;
        }
    }

  *sender = g_steal_pointer (&route);
  *payload = g_steal_pointer (&carried);
  return DHT_VALUE_OK;
}
