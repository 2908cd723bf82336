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

#include <ifaddrs.h>
#include <string.h>
#include <sys/socket.h>

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

/* The network of @address under @netmask, or NULL. */
static GInetAddressMask *
network_of (const struct sockaddr *address,
            const struct sockaddr *netmask)
{
  guint8 bytes[16];
  const guint8 *mask;
  gsize size;
  guint length = 0;
  g_autoptr(GInetAddress) network = NULL;

  if (netmask == NULL || netmask->sa_family != address->sa_family)
    return NULL;
  if (address->sa_family == AF_INET)
    {
      size = 4;
      memcpy (bytes, &((const struct sockaddr_in *) address)->sin_addr, size);
      mask = (const guint8 *) &((const struct sockaddr_in *) netmask)->sin_addr;
    }
  else
    {
      size = 16;
      memcpy (bytes, &((const struct sockaddr_in6 *) address)->sin6_addr, size);
      mask = (const guint8 *) &((const struct sockaddr_in6 *) netmask)->sin6_addr;
    }
  for (gsize i = 0; i < size; i++)
    {
      bytes[i] &= mask[i];
      for (guint bit = 0; bit < 8; bit++)
        if (mask[i] & (0x80 >> bit))
          length++;
    }
  network = g_inet_address_new_from_bytes (bytes, address->sa_family == AF_INET
                                                  ? G_SOCKET_FAMILY_IPV4 : G_SOCKET_FAMILY_IPV6);
  return g_inet_address_mask_new (network, length, NULL);
}

/* The networks of this host's interfaces (GInetAddressMask). */
GPtrArray *
_ferry_nice_local_networks (void)
{
  GPtrArray *networks = g_ptr_array_new_with_free_func (g_object_unref);
  struct ifaddrs *list = NULL;

  if (getifaddrs (&list) != 0)
    return networks;
  for (struct ifaddrs *i = list; i != NULL; i = i->ifa_next)
    {
      GInetAddressMask *network;

      if (i->ifa_addr == NULL ||
          (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6))
        continue;
      network = network_of (i->ifa_addr, i->ifa_netmask);
      if (network != NULL)
        g_ptr_array_add (networks, network);
    }
  freeifaddrs (list);
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
