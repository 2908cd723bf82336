/* ferry-network-interface.c: the network interfaces of this host, and
 * which of them an engine uses
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The one place that reads the system's interface list (getifaddrs): the
 * engine's local addresses, plugins (through their #FerryPluginContext)
 * and `ferry doctor` all ask here.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include "ferry-network-interface.h"

/**
 * FerryNetworkInterface:
 *
 * A network interface of this host that is up, with its IPv4 and IPv6
 * addresses. A snapshot: list the interfaces again to see changes.
 *
 * Plugins get the interfaces their engine uses with
 * [method@Ferry.PluginContext.list_interfaces]; applications with
 * [func@Ferry.NetworkInterface.list] (as an engine chooses them) or
 * [func@Ferry.NetworkInterface.list_all].
 */
struct _FerryNetworkInterface
{
  GObject     parent_instance;

  char       *name;
  guint       index;
  gboolean    loopback;
  GPtrArray  *addresses;   /* GInetAddress */
  GArray     *prefixes;    /* guint: the prefix length of each address,
                            * or G_MAXUINT when its netmask is unknown */
};

G_DEFINE_FINAL_TYPE (FerryNetworkInterface, ferry_network_interface, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_NAME,
  PROP_INDEX,
  PROP_IS_LOOPBACK,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

static void
ferry_network_interface_finalize (GObject *object)
{
  FerryNetworkInterface *self = FERRY_NETWORK_INTERFACE (object);

  g_free (self->name);
  g_ptr_array_unref (self->addresses);
  g_array_unref (self->prefixes);

  G_OBJECT_CLASS (ferry_network_interface_parent_class)->finalize (object);
}

static void
ferry_network_interface_get_property (GObject    *object,
                                      guint       prop_id,
                                      GValue     *value,
                                      GParamSpec *pspec)
{
  FerryNetworkInterface *self = FERRY_NETWORK_INTERFACE (object);

  switch (prop_id)
    {
    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;
    case PROP_INDEX:
      g_value_set_uint (value, self->index);
      break;
    case PROP_IS_LOOPBACK:
      g_value_set_boolean (value, self->loopback);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ferry_network_interface_class_init (FerryNetworkInterfaceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = ferry_network_interface_finalize;
  object_class->get_property = ferry_network_interface_get_property;

  /**
   * FerryNetworkInterface:name: (getter get_name)
   *
   * The system's name of the interface, e.g. `eth0` or `lo`.
   */
  props[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * FerryNetworkInterface:index: (getter get_index)
   *
   * The system's index of the interface, or 0 when it has none any more.
   */
  props[PROP_INDEX] =
    g_param_spec_uint ("index", NULL, NULL, 0, G_MAXUINT, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * FerryNetworkInterface:is-loopback: (getter get_is_loopback)
   *
   * Whether the interface is the host's loopback.
   */
  props[PROP_IS_LOOPBACK] =
    g_param_spec_boolean ("is-loopback", NULL, NULL, FALSE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
ferry_network_interface_init (FerryNetworkInterface *self)
{
  self->addresses = g_ptr_array_new_with_free_func (g_object_unref);
  self->prefixes = g_array_new (FALSE, FALSE, sizeof (guint));
}

/* Listing {{{1 */

#define PREFIX_UNKNOWN G_MAXUINT

static guint
mask_prefix_length (const guint8 *mask,
                    gsize         size)
{
  guint bits = 0;

  for (gsize i = 0; i < size; i++)
    bits += __builtin_popcount (mask[i]);
  return bits;
}

/* The address of @addr, with the prefix length of @netmask in @prefix
 * (PREFIX_UNKNOWN without one); NULL for a family other than IPv4 and
 * IPv6. */
static GInetAddress *
address_from_sockaddr (const struct sockaddr *addr,
                       const struct sockaddr *netmask,
                       guint                 *prefix)
{
  if (addr->sa_family == AF_INET)
    {
      const struct sockaddr_in *sin = (const struct sockaddr_in *) addr;
      const struct sockaddr_in *mask = (const struct sockaddr_in *) netmask;

      *prefix = mask != NULL && mask->sin_family == AF_INET
                ? mask_prefix_length ((const guint8 *) &mask->sin_addr, sizeof mask->sin_addr)
                : PREFIX_UNKNOWN;
      return g_inet_address_new_from_bytes ((const guint8 *) &sin->sin_addr, G_SOCKET_FAMILY_IPV4);
    }
  if (addr->sa_family == AF_INET6)
    {
      const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *) addr;
      const struct sockaddr_in6 *mask = (const struct sockaddr_in6 *) netmask;

      *prefix = mask != NULL && mask->sin6_family == AF_INET6
                ? mask_prefix_length ((const guint8 *) &mask->sin6_addr, sizeof mask->sin6_addr)
                : PREFIX_UNKNOWN;
      return g_inet_address_new_from_bytes ((const guint8 *) &sin6->sin6_addr, G_SOCKET_FAMILY_IPV6);
    }
  return NULL;
}

static FerryNetworkInterface *
lookup_or_add (GPtrArray            *found,
               const struct ifaddrs *ifa)
{
  FerryNetworkInterface *self;

  for (guint i = 0; i < found->len; i++)
    {
      self = g_ptr_array_index (found, i);
      if (g_str_equal (self->name, ifa->ifa_name))
        return self;
    }

  self = g_object_new (FERRY_TYPE_NETWORK_INTERFACE, NULL);
  self->name = g_strdup (ifa->ifa_name);
  self->index = if_nametoindex (ifa->ifa_name);
  self->loopback = (ifa->ifa_flags & IFF_LOOPBACK) != 0;
  g_ptr_array_add (found, self);
  return self;
}

/* The interfaces that are up, in the order of the system's list, keeping
 * those for which @keep says so (all when @keep is NULL). */
static GListModel *
list_interfaces (gboolean (*keep) (const struct ifaddrs *ifa,
                                   const char * const   *names),
                 const char * const *names)
{
  GListStore *list = g_list_store_new (FERRY_TYPE_NETWORK_INTERFACE);
  g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func (g_object_unref);
  struct ifaddrs *ifaddrs = NULL;

  if (getifaddrs (&ifaddrs) != 0)
    {
      g_warning ("getifaddrs: %s", g_strerror (errno));
      return G_LIST_MODEL (list);
    }

  for (struct ifaddrs *ifa = ifaddrs; ifa != NULL; ifa = ifa->ifa_next)
    {
      FerryNetworkInterface *self;
      GInetAddress *address;
      guint prefix = 0;

      if (!(ifa->ifa_flags & IFF_UP) || (keep != NULL && !keep (ifa, names)))
        continue;

      self = lookup_or_add (found, ifa);
      if (ifa->ifa_addr == NULL)
        continue;
      address = address_from_sockaddr (ifa->ifa_addr, ifa->ifa_netmask, &prefix);
      if (address == NULL)
        continue;
      g_ptr_array_add (self->addresses, address);
      g_array_append_val (self->prefixes, prefix);
    }

  freeifaddrs (ifaddrs);
  g_list_store_splice (list, 0, 0, found->pdata, found->len);
  return G_LIST_MODEL (list);
}

static gboolean
is_chosen (const struct ifaddrs *ifa,
           const char * const   *names)
{
  if (names == NULL || names[0] == NULL)
    return (ifa->ifa_flags & IFF_LOOPBACK) == 0;
  return g_strv_contains (names, ifa->ifa_name);
}

/**
 * ferry_network_interface_list:
 * @names: (nullable) (array zero-terminated=1): the interface names an
 *   engine is set to use (see [method@Ferry.Engine.set_interfaces])
 *
 * Lists the interfaces an engine set to use @names uses: those of @names
 * that are up, or, when @names is %NULL or empty, every interface that is
 * up but loopback. They come in the order of the system's interface list.
 *
 * Returns: (transfer full): the interfaces, a list of
 *   #FerryNetworkInterface
 */
GListModel *
ferry_network_interface_list (const char * const *names)
{
  return list_interfaces (is_chosen, names);
}

/**
 * ferry_network_interface_list_all:
 *
 * Lists every interface of this host that is up, loopback included, in
 * the order of the system's interface list.
 *
 * Returns: (transfer full): the interfaces, a list of
 *   #FerryNetworkInterface
 */
GListModel *
ferry_network_interface_list_all (void)
{
  return list_interfaces (NULL, NULL);
}

/* Getters {{{1 */

/**
 * ferry_network_interface_get_name: (get-property name)
 * @self: a #FerryNetworkInterface
 *
 * Gets the system's name of the interface.
 *
 * Returns: the name, e.g. `eth0`
 */
const char *
ferry_network_interface_get_name (FerryNetworkInterface *self)
{
  g_return_val_if_fail (FERRY_IS_NETWORK_INTERFACE (self), NULL);
  return self->name;
}

/**
 * ferry_network_interface_get_index: (get-property index)
 * @self: a #FerryNetworkInterface
 *
 * Gets the system's index of the interface, as socket options such as
 * `IP_UNICAST_IF` take it.
 *
 * Returns: the index, or 0 when the interface went away
 */
guint
ferry_network_interface_get_index (FerryNetworkInterface *self)
{
  g_return_val_if_fail (FERRY_IS_NETWORK_INTERFACE (self), 0);
  return self->index;
}

/**
 * ferry_network_interface_get_is_loopback: (get-property is-loopback)
 * @self: a #FerryNetworkInterface
 *
 * Tells whether the interface is the host's loopback.
 *
 * Returns: %TRUE for loopback
 */
gboolean
ferry_network_interface_get_is_loopback (FerryNetworkInterface *self)
{
  g_return_val_if_fail (FERRY_IS_NETWORK_INTERFACE (self), FALSE);
  return self->loopback;
}

/**
 * ferry_network_interface_get_addresses:
 * @self: a #FerryNetworkInterface
 *
 * Gets the IPv4 and IPv6 addresses of the interface, in the order of the
 * system's list. Check the family of each with
 * g_inet_address_get_family().
 *
 * Returns: (transfer none) (element-type GInetAddress): the addresses
 */
GPtrArray *
ferry_network_interface_get_addresses (FerryNetworkInterface *self)
{
  g_return_val_if_fail (FERRY_IS_NETWORK_INTERFACE (self), NULL);
  return self->addresses;
}

/**
 * ferry_network_interface_dup_network:
 * @self: a #FerryNetworkInterface
 * @address: one of the interface's addresses
 *
 * Gets the network @address is on, from the interface's netmask for it:
 * for 192.0.2.7/24, 192.0.2.0/24.
 *
 * Returns: (transfer full) (nullable): the network, or %NULL when
 *   @address is not one of the interface's or its netmask is unknown
 */
GInetAddressMask *
ferry_network_interface_dup_network (FerryNetworkInterface *self,
                                     GInetAddress          *address)
{
  g_return_val_if_fail (FERRY_IS_NETWORK_INTERFACE (self), NULL);
  g_return_val_if_fail (G_IS_INET_ADDRESS (address), NULL);

  for (guint i = 0; i < self->addresses->len; i++)
    {
      GInetAddress *own = g_ptr_array_index (self->addresses, i);
      guint prefix = g_array_index (self->prefixes, guint, i);
      gsize size = g_inet_address_get_native_size (own);
      guint8 bytes[16];
      g_autoptr(GInetAddress) base = NULL;

      if (!g_inet_address_equal (own, address))
        continue;
      if (prefix > size * 8)
        return NULL;

      /* GInetAddressMask wants the network address, not the host's. */
      memcpy (bytes, g_inet_address_to_bytes (own), size);
      for (gsize bit = prefix; bit < size * 8; bit++)
        bytes[bit / 8] &= ~(0x80 >> (bit % 8));
      base = g_inet_address_new_from_bytes (bytes, g_inet_address_get_family (own));
      return g_inet_address_mask_new (base, prefix, NULL);
    }
  return NULL;
}
