/* ferry-dht-value.c: the values the dht plugin reads from the DHT
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "ferry-dht-value.h"

gboolean
_ferry_dht_is_lower_hex (const char *text,
                         gsize       length)
{
  if (text == NULL)
    return FALSE;
  for (gsize i = 0; i < length; i++)
    if (!g_ascii_isxdigit (text[i]) || g_ascii_isupper (text[i]))
      return FALSE;
  return text[length] == '\0';
}

GBytes *
_ferry_dht_decode_base64 (const char *text,
                          gsize       len)
{
  gsize padding = 0;
  gsize out_len = 0;
  guchar *out;

  if (len == 0 || len % 4 != 0)
    return NULL;
  if (text[len - 1] == '=')
    padding++;
  if (text[len - 2] == '=')
    padding++;
  for (gsize i = 0; i < len - padding; i++)
    if (!g_ascii_isalnum (text[i]) && text[i] != '+' && text[i] != '/')
      return NULL;

  out = g_base64_decode (text, &out_len);
  return g_bytes_new_take (out, out_len);
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
