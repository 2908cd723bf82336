/* ferry-nice-candidates.c: candidates as text, and the peer's description
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "ferry-nice-core-private.h"

const char *
_ferry_nice_candidate_type_name (NiceCandidateType type)
{
  switch (type)
    {
    case NICE_CANDIDATE_TYPE_HOST:             return "host";
    case NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE: return "srflx";
    case NICE_CANDIDATE_TYPE_PEER_REFLEXIVE:   return "prflx";
    case NICE_CANDIDATE_TYPE_RELAYED:          return "relay";
    default:                                   return "?";
    }
}

gboolean
_ferry_nice_candidate_is_tcp (const NiceCandidate *candidate)
{
  return candidate->transport != NICE_CANDIDATE_TRANSPORT_UDP;
}

static char *
address_to_string (const NiceAddress *address)
{
  char ip[NICE_ADDRESS_STRING_LEN];

  nice_address_to_string (address, ip);
  if (nice_address_ip_version (address) == 6)
    return g_strdup_printf ("[%s]:%u", ip, nice_address_get_port (address));
  return g_strdup_printf ("%s:%u", ip, nice_address_get_port (address));
}

/* "host, srflx (udp, tcp)" */
char *
_ferry_nice_summarize_candidates (GSList *candidates)
{
  static const NiceCandidateType order[] = {
    NICE_CANDIDATE_TYPE_HOST, NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE,
    NICE_CANDIDATE_TYPE_PEER_REFLEXIVE, NICE_CANDIDATE_TYPE_RELAYED,
  };
  GString *text = g_string_new (NULL);
  gboolean udp = FALSE, tcp = FALSE;

  for (guint i = 0; i < G_N_ELEMENTS (order); i++)
    for (GSList *l = candidates; l != NULL; l = l->next)
      if (((NiceCandidate *) l->data)->type == order[i])
        {
          g_string_append_printf (text, "%s%s", text->len ? ", " : "", _ferry_nice_candidate_type_name (order[i]));
          break;
        }
  for (GSList *l = candidates; l != NULL; l = l->next)
    {
      if (_ferry_nice_candidate_is_tcp (l->data))
        tcp = TRUE;
      else
        udp = TRUE;
    }

  if (text->len == 0)
    g_string_append (text, _("no candidate"));
  else
    g_string_append_printf (text, " (%s%s%s)", udp ? "udp" : "", udp && tcp ? ", " : "",
                            tcp ? "tcp" : "");
  return g_string_free (text, FALSE);
}

void
_ferry_nice_free_candidates (GSList *candidates)
{
  g_slist_free_full (candidates, (GDestroyNotify) nice_candidate_free);
}

/* Which kind of TURN allocation a relayed candidate of ours is: libnice
 * gives those over UDP a higher type preference (the top byte of the
 * priority) than those over TCP, so the candidate tells even when a UDP
 * and a TCP server share one HOST:PORT. */
static const char *
relay_transport (const NiceCandidate *local)
{
  return (local->priority >> 24) >= RELAYED_UDP_TYPE_PREFERENCE ? "udp" : "tcp";
}

char *
_ferry_nice_pair_description (const char          *name,
                              const NiceCandidate *local,
                              const NiceCandidate *remote)
{
  if (local->type == NICE_CANDIDATE_TYPE_RELAYED)
    {
      NiceAddress relay;
      g_autofree char *via = NULL;

      nice_address_init (&relay);
      nice_candidate_relay_address (local, &relay);
      if (nice_address_is_valid (&relay))
        via = address_to_string (&relay);
      return g_strdup_printf ("%s (%s relay via %s, %s↔%s)", name, relay_transport (local),
                              via ? via : "?", _ferry_nice_candidate_type_name (local->type),
                              _ferry_nice_candidate_type_name (remote->type));
    }

  /* Through the peer's relay: its relayed address (on the TURN server). */
  if (remote->type == NICE_CANDIDATE_TYPE_RELAYED)
    {
      g_autofree char *via = address_to_string (&remote->addr);

      return g_strdup_printf ("%s (udp via the peer's relay %s, %s↔%s)", name, via,
                              _ferry_nice_candidate_type_name (local->type),
                              _ferry_nice_candidate_type_name (remote->type));
    }

  return g_strdup_printf ("%s (%s, %s↔%s)", name,
                          _ferry_nice_candidate_is_tcp (local) ? "tcp" : "udp",
                          _ferry_nice_candidate_type_name (local->type), _ferry_nice_candidate_type_name (remote->type));
}

char *
_ferry_nice_selected_pair_description (NiceAttempt *attempt,
                                       NiceLeg     *leg)
{
  FerryNiceConfig *config = attempt->core->config;
  NiceCandidate *local = NULL, *remote = NULL;

  if (!nice_agent_get_selected_pair (leg->agent, leg->stream_id, 1, &local, &remote))
    return g_strdup (config->name);
  return _ferry_nice_pair_description (config->name, local, remote);
}

static gboolean
valid_ice_string (const char *text,
                  gsize       min,
                  gsize       max)
{
  gsize length = text ? strlen (text) : 0;

  if (length < min || length > max)
    return FALSE;
  for (const char *p = text; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '+' && *p != '/')
      return FALSE;
  return TRUE;
}

const char *
_ferry_nice_get_string_member (JsonObject *object,
                               const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

/* Parses the peer's description. Returns the candidates (possibly none). */
gboolean
_ferry_nice_parse_remote (NiceAttempt  *attempt,
                          JsonObject   *remote,
                          const char  **ufrag,
                          const char  **pwd,
                          GSList      **candidates,
                          GError      **error)
{
  JsonNode *node;
  JsonArray *array;
  GSList *list = NULL;
  NiceLeg *parser = attempt->legs[LEG_UDP] ? attempt->legs[LEG_UDP] : attempt->legs[LEG_TCP];

  *ufrag = _ferry_nice_get_string_member (remote, "ufrag");
  *pwd = _ferry_nice_get_string_member (remote, "pwd");
  node = json_object_get_member (remote, "candidates");

  if (!valid_ice_string (*ufrag, 4, 256) || !valid_ice_string (*pwd, 22, 256) ||
      node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("Invalid %s transport description"), transport_name (attempt));
      return FALSE;
    }

  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array) && i < MAX_REMOTE_CANDIDATES; i++)
    {
      JsonNode *element = json_array_get_element (array, i);
      NiceCandidate *candidate;
      const char *sdp;

      if (!JSON_NODE_HOLDS_VALUE (element) || json_node_get_value_type (element) != G_TYPE_STRING)
        continue;
      sdp = json_node_get_string (element);
      if (strlen (sdp) > MAX_CANDIDATE_LENGTH || !g_str_has_prefix (sdp, "a=candidate:"))
        continue;
      candidate = nice_agent_parse_remote_candidate_sdp (parser->agent, parser->stream_id, sdp);
      if (candidate == NULL)
        continue;
      /* turn: the answerer's pairs all end on the offerer's relay. */
      if (attempt->core->config->relay_only && !attempt->offerer &&
          candidate->type != NICE_CANDIDATE_TYPE_RELAYED)
        {
          nice_candidate_free (candidate);
          continue;
        }
      list = g_slist_prepend (list, candidate);
    }

  *candidates = g_slist_reverse (list);
  return TRUE;
}
