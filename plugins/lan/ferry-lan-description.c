/* ferry-lan-description.c: what the lan transport puts in an offer, and
 * how it reads a peer's (data from the network: checked strictly)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "ferry-lan-description.h"

char *
_ferry_lan_format_address (GInetSocketAddress *address)
{
  GInetAddress *inet = g_inet_socket_address_get_address (address);
  g_autofree char *ip = g_inet_address_to_string (inet);
  guint16 port = g_inet_socket_address_get_port (address);

  if (g_inet_address_get_family (inet) == G_SOCKET_FAMILY_IPV6)
    return g_strdup_printf ("[%s]:%u", ip, port);

  return g_strdup_printf ("%s:%u", ip, port);
}

/* Whether @port is 1 to 5 digits and nothing else: g_network_address_parse()
 * would also take a service name ("http", from /etc/services), white
 * space or a sign before the number, or no port at all. */
static gboolean
is_port_text (const char *port)
{
  gsize length = strlen (port);

  if (length == 0 || length > 5)
    return FALSE;
  for (gsize i = 0; i < length; i++)
    if (!g_ascii_isdigit (port[i]))
      return FALSE;
  return TRUE;
}

/* Parses "192.0.2.1:4711" or "[2001:db8::1]:4711", and nothing else. */
GInetSocketAddress *
_ferry_lan_parse_address (const char *text)
{
  g_autoptr(GSocketConnectable) parsed = NULL;
  g_autoptr(GInetAddress) inet = NULL;
  const char *colon;
  const char *host;
  guint16 port;

  if (text == NULL || *text == '\0' || strlen (text) > 64)
    return NULL;

  colon = strrchr (text, ':');
  if (colon == NULL || !is_port_text (colon + 1))
    return NULL;

  parsed = g_network_address_parse (text, 0, NULL);
  if (parsed == NULL)
    return NULL;
  host = g_network_address_get_hostname (G_NETWORK_ADDRESS (parsed));
  port = g_network_address_get_port (G_NETWORK_ADDRESS (parsed));
  inet = g_inet_address_new_from_string (host);
  if (port == 0 || inet == NULL)
    return NULL;

  /* Brackets around an IPv6 address, and only around one. */
  if ((text[0] == '[') != (g_inet_address_get_family (inet) == G_SOCKET_FAMILY_IPV6))
    return NULL;

  /* g_inet_address_new_from_string() accepts inet_aton() forms such as
   * "127.1"; a description carries the canonical form only. */
  if (g_inet_address_get_family (inet) == G_SOCKET_FAMILY_IPV4)
    {
      g_autofree char *canonical = g_inet_address_to_string (inet);

      if (g_strcmp0 (canonical, host) != 0)
        return NULL;
    }

  if (g_inet_address_get_is_any (inet) || g_inet_address_get_is_multicast (inet))
    return NULL;

  return G_INET_SOCKET_ADDRESS (g_inet_socket_address_new (inet, port));
}

gboolean
_ferry_lan_parse_token (const char *hex,
                        guint8      token[LAN_TOKEN_SIZE])
{
  if (hex == NULL || strlen (hex) != LAN_TOKEN_SIZE * 2)
    return FALSE;

  for (guint i = 0; i < LAN_TOKEN_SIZE; i++)
    {
      int hi = g_ascii_xdigit_value (hex[2 * i]);
      int lo = g_ascii_xdigit_value (hex[2 * i + 1]);

      if (hi < 0 || lo < 0)
        return FALSE;

      token[i] = (guint8) ((hi << 4) | lo);
    }

  return TRUE;
}

char *
_ferry_lan_format_token (const guint8 token[LAN_TOKEN_SIZE])
{
  GString *hex = g_string_sized_new (LAN_TOKEN_SIZE * 2);

  for (guint i = 0; i < LAN_TOKEN_SIZE; i++)
    g_string_append_printf (hex, "%02x", token[i]);

  return g_string_free (hex, FALSE);
}

gboolean
_ferry_lan_parse_description (JsonObject  *remote,
                              GPtrArray  **addresses,
                              guint8       token[LAN_TOKEN_SIZE],
                              GError     **error)
{
  g_autoptr(GPtrArray) parsed = g_ptr_array_new_with_free_func (g_object_unref);
  JsonNode *node;
  JsonArray *array;

  if (remote == NULL)
    goto invalid;

  node = json_object_get_member (remote, "token");
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING ||
      !_ferry_lan_parse_token (json_node_get_string (node), token))
    goto invalid;

  node = json_object_get_member (remote, "addresses");
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    goto invalid;

  array = json_node_get_array (node);
  if (json_array_get_length (array) == 0 || json_array_get_length (array) > LAN_MAX_ADDRESSES)
    goto invalid;

  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *element = json_array_get_element (array, i);
      GInetSocketAddress *address;

      if (!JSON_NODE_HOLDS_VALUE (element) ||
          json_node_get_value_type (element) != G_TYPE_STRING)
        goto invalid;

      address = _ferry_lan_parse_address (json_node_get_string (element));
      if (address == NULL)
        goto invalid;

      g_ptr_array_add (parsed, address);
    }

  *addresses = g_steal_pointer (&parsed);
  return TRUE;

invalid:
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       _("Invalid LAN transport description"));
  return FALSE;
}
