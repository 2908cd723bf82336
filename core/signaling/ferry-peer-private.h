/* ferry-peer-private.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "ferry-peer.h"
#include "ferry-signaling.h"

G_BEGIN_DECLS

FerryDevice    *_ferry_device_new           (const char     *account_id,
                                             const char     *device_id);
/* Updates what a message of the device says about it, unless
 * @timestamp_ms (the message's, in ms since the epoch) is not strictly
 * greater than that of the last message accepted: a replayed or overtaken
 * message changes nothing and FALSE is returned. */
gboolean        _ferry_device_update        (FerryDevice    *self,
                                             const char     *name,
                                             FerrySignaling *signaling,
                                             const char     *route,
                                             const char     *chain_pem,
                                             gint64          timestamp_ms);
FerrySignaling *_ferry_device_get_signaling (FerryDevice    *self);
const char     *_ferry_device_get_route     (FerryDevice    *self);
const char     *_ferry_device_get_chain_pem (FerryDevice    *self);

FerryPeer      *_ferry_peer_new             (const char     *account_id);
void            _ferry_peer_set_name        (FerryPeer      *self,
                                             const char     *name);
void            _ferry_peer_add_device      (FerryPeer      *self,
                                             FerryDevice    *device);
FerryDevice    *_ferry_peer_lookup_device   (FerryPeer      *self,
                                             const char     *device_id);
FerryDevice    *_ferry_peer_get_latest_device (FerryPeer    *self);
guint           _ferry_peer_forget_devices  (FerryPeer      *self,
                                             gint64          before);

G_END_DECLS
