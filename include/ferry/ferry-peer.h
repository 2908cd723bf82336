/* ferry-peer.h
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

#define FERRY_TYPE_DEVICE (ferry_device_get_type ())

FERRY_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (FerryDevice, ferry_device, FERRY, DEVICE, GObject)

#define FERRY_TYPE_PEER (ferry_peer_get_type ())

FERRY_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (FerryPeer, ferry_peer, FERRY, PEER, GObject)

FERRY_AVAILABLE_IN_ALL
const char *ferry_device_get_device_id  (FerryDevice *self);
FERRY_AVAILABLE_IN_ALL
const char *ferry_device_get_account_id (FerryDevice *self);
FERRY_AVAILABLE_IN_ALL
const char *ferry_device_get_name       (FerryDevice *self);
FERRY_AVAILABLE_IN_ALL
const char *ferry_device_get_signaling  (FerryDevice *self);
FERRY_AVAILABLE_IN_ALL
gint64      ferry_device_get_last_seen  (FerryDevice *self);
FERRY_AVAILABLE_IN_ALL
GDateTime  *ferry_device_dup_last_seen_time (FerryDevice *self);

FERRY_AVAILABLE_IN_ALL
const char *ferry_peer_get_account_id   (FerryPeer   *self);
FERRY_AVAILABLE_IN_ALL
const char *ferry_peer_get_name         (FerryPeer   *self);
FERRY_AVAILABLE_IN_ALL
GListModel *ferry_peer_get_devices      (FerryPeer   *self);

G_END_DECLS
