/* ferry-nice-reach.c: what the candidates say a direct pair can do
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A relayed attempt gives way to the direct one of the same transfer for
 * a while (relay-grace). That is worth it only when a direct pair may
 * connect at all. It cannot when the peer offers nothing but private host
 * addresses outside our own networks (no reflexive candidate: no STUN
 * server, or one that does not answer) while we have no public address
 * either: neither side can reach the other's host candidates, and there is
 * no mapping to punch through.
 */
#include "config.h"

#include "ferry-nice-core-private.h"

/* RFC 1918 and RFC 6598 (carrier-grade NAT) for IPv4; unique-local
 * (fc00::/7) for IPv6; link-local and loopback for both. */
gboolean
_ferry_nice_address_is_private (GInetAddress *address)
{
  const guint8 *bytes = g_inet_address_to_bytes (address);

  if (g_inet_address_get_is_site_local (address) || g_inet_address_get_is_link_local (address) ||
      g_inet_address_get_is_loopback (address))
    return TRUE;
  if (g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV4)
    return bytes[0] == 100 && (bytes[1] & 0xc0) == 64;
  return (bytes[0] & 0xfe) == 0xfc;
}

/* The networks of this host's interfaces that are up (GInetAddressMask),
 * from the SDK's one interface listing. */
GPtrArray *
_ferry_nice_local_networks (void)
{
  GPtrArray *networks = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GListModel) interfaces = ferry_network_interface_list_all ();
  guint n = g_list_model_get_n_items (interfaces);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(FerryNetworkInterface) interface = g_list_model_get_item (interfaces, i);
      GPtrArray *addresses = ferry_network_interface_get_addresses (interface);

      for (guint j = 0; j < addresses->len; j++)
        {
          GInetAddressMask *network =
            ferry_network_interface_dup_network (interface, g_ptr_array_index (addresses, j));

          if (network != NULL)
            g_ptr_array_add (networks, network);
        }
    }
  return networks;
}

static GInetAddress *
candidate_address (const NiceCandidate *candidate)
{
  char ip[NICE_ADDRESS_STRING_LEN];

  nice_address_to_string (&candidate->addr, ip);
  return g_inet_address_new_from_string (ip);
}

static gboolean
in_networks (GPtrArray    *networks,
             GInetAddress *address)
{
  for (guint i = 0; i < networks->len; i++)
    if (g_inet_address_mask_matches (g_ptr_array_index (networks, i), address))
      return TRUE;
  return FALSE;
}

/* Whether a direct pair may connect, judging by the candidates (@local:
 * ours; @remote: the peer's; @networks: ours, see above). */
gboolean
_ferry_nice_direct_possible (GPtrArray *networks,
                             GSList    *local,
                             GSList    *remote)
{
  if (remote == NULL)
    return TRUE;   /* nothing to judge by */

  for (GSList *l = remote; l != NULL; l = l->next)
    {
      g_autoptr(GInetAddress) address = NULL;

      if (((NiceCandidate *) l->data)->type != NICE_CANDIDATE_TYPE_HOST)
        return TRUE;   /* a mapping to punch through, or a relay */
      address = candidate_address (l->data);
      if (address == NULL || !_ferry_nice_address_is_private (address) ||
          in_networks (networks, address))
        return TRUE;   /* a public host, or one of our networks */
    }

  for (GSList *l = local; l != NULL; l = l->next)
    {
      g_autoptr(GInetAddress) address = candidate_address (l->data);

      if (((NiceCandidate *) l->data)->type == NICE_CANDIDATE_TYPE_HOST &&
          address != NULL && !_ferry_nice_address_is_private (address))
        return TRUE;   /* the peer may reach us */
    }
  return FALSE;
}
