/* ferry-scope.c: which of a peer's addresses this device may connect to
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "ferry-negotiation-private.h"

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
