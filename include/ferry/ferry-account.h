/* ferry-account.h: linking devices to an account, revoking them
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(FERRY_INSIDE) && !defined(FERRY_COMPILATION)
# error "Only <ferry/ferry.h> can be included directly."
#endif

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include "ferry-version-macros.h"

G_BEGIN_DECLS

/**
 * FERRY_ACCOUNT_EXPORT_ITERATIONS:
 *
 * PBKDF2-HMAC-SHA256 iterations used by ferry_account_export().
 */
#define FERRY_ACCOUNT_EXPORT_ITERATIONS 600000

FERRY_AVAILABLE_IN_ALL
gboolean   ferry_account_export           (const char   *home,
                                           const char   *path,
                                           const char   *passphrase,
                                           GError      **error);
FERRY_AVAILABLE_IN_ALL
gboolean   ferry_account_import           (const char   *home,
                                           const char   *path,
                                           const char   *passphrase,
                                           GError      **error);
FERRY_AVAILABLE_IN_ALL
gboolean   ferry_account_revoke_device    (const char   *home,
                                           const char   *device_id,
                                           GError      **error);
FERRY_AVAILABLE_IN_ALL
char     **ferry_account_list_revoked     (const char   *home);
FERRY_AVAILABLE_IN_ALL
GPtrArray *ferry_account_list_devices     (const char   *home);

G_END_DECLS
