/* ferry-scope.c: which of a peer's addresses this device may connect to,
 * and which it could reach at all
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "ferry-negotiation-private.h"
#include "ferry-network-interface.h"

/* The address of an "ip:port" / "[ip]:port" text, or of the connection
 * address field of an ICE candidate line. */
static GInetAddress *
scope_address (const char *text)
{
  g_autofree char *host = NULL;
  const char *colon;

  if (g_str_has_prefix (text, "a=candidate:") || g_str_has_prefix (text, "candidate:"))
    {
      g_auto(GStrv) fields = g_strsplit (text, " ", 7);

      return g_strv_length (fields) >= 6 ? g_inet_address_new_from_string (fields[4]) : NULL;
    }
  colon = strrchr (text, ':');
  if (colon == NULL)
    return g_inet_address_new_from_string (text);
  if (text[0] == '[' && colon > text + 1 && colon[-1] == ']')
    host = g_strndup (text + 1, colon - text - 2);
  else
    host = g_strndup (text, colon - text);
  return g_inet_address_new_from_string (host);
}

static JsonArray *
filter_out_loopback (JsonArray *array)
{
  JsonArray *kept = json_array_new ();

  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *node = json_array_get_element (array, i);
      const char *text = JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING
                         ? json_node_get_string (node) : NULL;
      g_autoptr(GInetAddress) address = text ? scope_address (text) : NULL;

      if (address != NULL && g_inet_address_get_is_loopback (address))
        {
          g_debug ("not connecting to %s: this device does not use loopback", text);
          continue;
        }
      json_array_add_element (kept, json_node_copy (node));
    }
  return kept;
}

/**
 * _ferry_negotiation_filter_scope:
 * @remote: a peer's description of its end ({"addresses": [...]} for lan,
 *   {"candidates": [...]} for ice and turn)
 * @loopback: whether this device itself uses the loopback interface
 *
 * A peer chooses the addresses it describes; this device connects only to
 * those in the scope it uses itself: no loopback address unless it runs
 * on loopback.
 *
 * Returns: (transfer full): a copy of @remote without the addresses out of
 *   scope
 */
JsonObject *
_ferry_negotiation_filter_scope (JsonObject *remote,
                                 gboolean    loopback)
{
  JsonObject *filtered = json_object_new ();
  g_autoptr(GList) members = json_object_get_members (remote);

  /* A new object: the peer's description may be shared (re-sent offers). */
  for (GList *l = members; l != NULL; l = l->next)
    {
      JsonNode *member = json_object_get_member (remote, l->data);

      if (!loopback && JSON_NODE_HOLDS_ARRAY (member) &&
          (g_str_equal (l->data, "addresses") || g_str_equal (l->data, "candidates")))
        json_object_set_array_member (filtered, l->data, filter_out_loopback (json_node_get_array (member)));
      else
        json_object_set_member (filtered, l->data, json_node_copy (member));
    }
  return filtered;
}

/* Reachability {{{1 */

GPtrArray *
_ferry_negotiation_local_networks (const char * const *interfaces)
{
  GPtrArray *networks = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GListModel) list = ferry_network_interface_list (interfaces);

  for (guint i = 0; i < g_list_model_get_n_items (list); i++)
    {
      g_autoptr(FerryNetworkInterface) iface = g_list_model_get_item (list, i);
      GPtrArray *addresses = ferry_network_interface_get_addresses (iface);

      for (guint j = 0; j < addresses->len; j++)
        {
          GInetAddress *address = g_ptr_array_index (addresses, j);
          GInetAddressMask *network = ferry_network_interface_dup_network (iface, address);

          /* Without a netmask, the address alone. */
          if (network == NULL)
            network = g_inet_address_mask_new (address, g_inet_address_get_native_size (address) * 8, NULL);
          if (network != NULL)
            g_ptr_array_add (networks, network);
        }
    }
  return networks;
}

/* Addresses that only mean something inside one network: RFC 1918 and
 * link-local IPv4, shared address space (RFC 6598, carrier-grade NAT),
 * unique-local and link-local IPv6. */
static gboolean
is_private (GInetAddress *address)
{
  const guint8 *bytes = g_inet_address_to_bytes (address);

  if (g_inet_address_get_is_site_local (address) || g_inet_address_get_is_link_local (address))
    return TRUE;
  if (g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV4)
    return bytes[0] == 100 && (bytes[1] & 0xc0) == 64;
  return (bytes[0] & 0xfe) == 0xfc;
}

/* Whether the system has a route to @address: connecting a UDP socket
 * looks the route up and sends nothing. */
static gboolean
has_route (GInetAddress *address)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketAddress) target = NULL;
  g_autoptr(GError) error = NULL;

  socket = g_socket_new (g_inet_address_get_family (address), G_SOCKET_TYPE_DATAGRAM,
                         G_SOCKET_PROTOCOL_UDP, &error);
  if (socket == NULL)
    return FALSE;
  target = g_inet_socket_address_new (address, 9);
  return g_socket_connect (socket, target, NULL, &error);
}

/* Whether an IPv4 route other than the default one leads to @address (a
 * private network routed from here: an office's other subnets, a VPN).
 * Linux's /proc/net/route; FALSE where it cannot be read. */
static gboolean
has_specific_route (GInetAddress *address)
{
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;
  guint32 target;

  if (g_inet_address_get_family (address) != G_SOCKET_FAMILY_IPV4 ||
      !g_file_get_contents ("/proc/net/route", &contents, NULL, NULL))
    return FALSE;
  memcpy (&target, g_inet_address_to_bytes (address), sizeof target);

  lines = g_strsplit (contents, "\n", -1);
  /* Iface Destination Gateway Flags RefCnt Use Metric Mask …, the
   * addresses as the kernel holds them (network order) in hex. */
  for (guint i = 1; lines[i] != NULL; i++)
    {
      g_auto(GStrv) fields = g_strsplit_set (lines[i], " \t", -1);
      const char *values[8];
      guint n = 0;
      guint64 destination, mask;

      for (guint j = 0; fields[j] != NULL && n < G_N_ELEMENTS (values); j++)
        if (fields[j][0] != '\0')
          values[n++] = fields[j];
      if (n < G_N_ELEMENTS (values) ||
          !g_ascii_string_to_unsigned (values[1], 16, 0, G_MAXUINT32, &destination, NULL) ||
          !g_ascii_string_to_unsigned (values[7], 16, 0, G_MAXUINT32, &mask, NULL))
        continue;
      if (mask != 0 && (target & (guint32) mask) == (guint32) destination)
        return TRUE;
    }
  return FALSE;
}

static gboolean
address_reachable (GInetAddress *address,
                   GPtrArray    *networks,
                   gboolean      loopback)
{
  if (g_inet_address_get_is_loopback (address))
    return loopback;
  if (g_inet_address_get_is_any (address) || g_inet_address_get_is_multicast (address))
    return FALSE;
  for (guint i = 0; i < networks->len; i++)
    if (g_inet_address_mask_matches (g_ptr_array_index (networks, i), address))
      return TRUE;
  if (is_private (address))
    return has_specific_route (address);
  return has_route (address);
}

gboolean
_ferry_negotiation_unreachable (JsonObject *remote,
                                GPtrArray  *networks,
                                gboolean    loopback)
{
  JsonNode *member = remote ? json_object_get_member (remote, "addresses") : NULL;
  JsonArray *array;

  if (member == NULL || !JSON_NODE_HOLDS_ARRAY (member))
    return FALSE;
  array = json_node_get_array (member);
  /* (a peer lists a handful; more are not looked at) */
  for (guint i = 0; i < MIN (json_array_get_length (array), 32); i++)
    {
      JsonNode *node = json_array_get_element (array, i);
      const char *text = JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING
                         ? json_node_get_string (node) : NULL;
      g_autoptr(GInetAddress) address = text ? scope_address (text) : NULL;

      if (address != NULL && address_reachable (address, networks, loopback))
        return FALSE;
    }
  return TRUE;
}

JsonArray *
_ferry_negotiation_judge (GPtrArray *entries,
                          GPtrArray *networks,
                          gboolean   loopback)
{
  JsonArray *names = NULL;

  for (guint i = 0; i < entries->len; i++)
    {
      FerryRaceEntry *entry = g_ptr_array_index (entries, i);
      const char *name = ferry_transport_get_name (entry->transport);

      entry->unreachable = _ferry_negotiation_unreachable (entry->remote, networks, loopback);
      if (!entry->unreachable)
        continue;
      g_debug ("none of the addresses the peer described for %s is reachable from here", name);
      if (names == NULL)
        names = json_array_new ();
      json_array_add_string_element (names, name);
    }
  return names;
}

#define MAX_HINTS 16

void
_ferry_negotiation_take_hints (GPtrArray  *entries,
                               JsonObject *answer)
{
  JsonNode *member = json_object_get_member (answer, "unreachable");
  JsonArray *names;

  if (member == NULL || !JSON_NODE_HOLDS_ARRAY (member))
    return;
  names = json_node_get_array (member);
  for (guint i = 0; i < MIN (json_array_get_length (names), MAX_HINTS); i++)
    {
      JsonNode *node = json_array_get_element (names, i);

      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
        continue;
      for (guint j = 0; j < entries->len; j++)
        {
          FerryRaceEntry *entry = g_ptr_array_index (entries, j);

          if (g_strcmp0 (ferry_transport_get_name (entry->transport), json_node_get_string (node)) == 0)
            entry->unreachable = TRUE;
        }
    }
}
