/* ferry-account-internal.h: what the parts of the account code share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   ferry-account.c              home files, the devices of the account
 *   ferry-account-export.c       export and import of the account key
 *   ferry-account-revocations.c  signed revocations of devices
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define ACCOUNT_KEY_FILE   "account.key"
#define ACCOUNT_CRT_FILE   "account.crt"
#define DEVICE_CRT_FILE    "device.crt"

/* The file @name of @home, whole. */
gboolean    _ferry_account_read_file     (const char  *home,
                                          const char  *name,
                                          char       **contents,
                                          GError     **error);
/* Replaces the file @name of @home (mode 0600). */
gboolean    _ferry_account_write_file    (const char  *home,
                                          const char  *name,
                                          const char  *contents,
                                          GError     **error);
/* The id (public key fingerprint) of a PEM certificate, or NULL. */
char       *_ferry_account_crt_id        (const char  *pem);

/* Whether @root is a node of @type: json-glib parses an empty text
 * without error and without a root. */
gboolean    _ferry_json_holds            (JsonNode     *root,
                                          JsonNodeType  type);
/* Members of the right type only; NULL or FALSE otherwise. */
const char *_ferry_json_member_string    (JsonObject  *object,
                                          const char  *name);
gboolean    _ferry_json_member_int       (JsonObject  *object,
                                          const char  *name,
                                          gint64      *value);
guint8     *_ferry_json_member_base64    (JsonObject  *object,
                                          const char  *name,
                                          gsize       *len);

G_END_DECLS
