/* ferry-identity.h
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

#define FERRY_TYPE_IDENTITY (ferry_identity_get_type ())

FERRY_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (FerryIdentity, ferry_identity, FERRY, IDENTITY, GObject)

FERRY_AVAILABLE_IN_ALL
FerryIdentity *ferry_identity_new            (const char     *directory,
                                              GCancellable   *cancellable,
                                              GError        **error);
FERRY_AVAILABLE_IN_ALL
const char    *ferry_identity_get_directory  (FerryIdentity  *self);
FERRY_AVAILABLE_IN_ALL
const char    *ferry_identity_get_account_id (FerryIdentity  *self);
FERRY_AVAILABLE_IN_ALL
const char    *ferry_identity_get_device_id  (FerryIdentity  *self);
FERRY_AVAILABLE_IN_ALL
const char    *ferry_identity_get_name       (FerryIdentity  *self);
FERRY_AVAILABLE_IN_ALL
void           ferry_identity_set_name       (FerryIdentity  *self,
                                              const char     *name);

G_END_DECLS
