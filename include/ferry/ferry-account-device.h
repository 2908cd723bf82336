/* ferry-account-device.h
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

#define FERRY_TYPE_ACCOUNT_DEVICE (ferry_account_device_get_type ())

FERRY_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (FerryAccountDevice, ferry_account_device, FERRY, ACCOUNT_DEVICE, GObject)

FERRY_AVAILABLE_IN_ALL
const char *ferry_account_device_get_device_id  (FerryAccountDevice *self);
FERRY_AVAILABLE_IN_ALL
const char *ferry_account_device_get_name       (FerryAccountDevice *self);
FERRY_AVAILABLE_IN_ALL
GDateTime  *ferry_account_device_get_last_seen  (FerryAccountDevice *self);
FERRY_AVAILABLE_IN_ALL
gboolean    ferry_account_device_get_is_this    (FerryAccountDevice *self);
FERRY_AVAILABLE_IN_ALL
gboolean    ferry_account_device_get_revoked    (FerryAccountDevice *self);

G_END_DECLS
