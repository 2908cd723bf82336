/* ferry-network-interface.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(FERRY_INSIDE) && !defined(FERRY_COMPILATION)
# error "Only <ferry/ferry.h> can be included directly."
#endif

#include <gio/gio.h>
#include "ferry-version-macros.h"

G_BEGIN_DECLS

#define FERRY_TYPE_NETWORK_INTERFACE (ferry_network_interface_get_type ())

FERRY_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (FerryNetworkInterface, ferry_network_interface, FERRY, NETWORK_INTERFACE, GObject)

FERRY_AVAILABLE_IN_ALL
GListModel       *ferry_network_interface_list            (const char * const    *names);
FERRY_AVAILABLE_IN_ALL
GListModel       *ferry_network_interface_list_all        (void);

FERRY_AVAILABLE_IN_ALL
const char       *ferry_network_interface_get_name        (FerryNetworkInterface *self);
FERRY_AVAILABLE_IN_ALL
guint             ferry_network_interface_get_index       (FerryNetworkInterface *self);
FERRY_AVAILABLE_IN_ALL
gboolean          ferry_network_interface_get_is_loopback (FerryNetworkInterface *self);
FERRY_AVAILABLE_IN_ALL
GPtrArray        *ferry_network_interface_get_addresses   (FerryNetworkInterface *self);
FERRY_AVAILABLE_IN_ALL
GInetAddressMask *ferry_network_interface_dup_network     (FerryNetworkInterface *self,
                                                           GInetAddress          *address);

G_END_DECLS
