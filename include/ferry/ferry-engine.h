/* ferry-engine.h
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
#include "ferry-identity.h"
#include "ferry-peer.h"
#include "ferry-registry.h"
#include "ferry-transfer.h"

G_BEGIN_DECLS

#define FERRY_TYPE_ENGINE (ferry_engine_get_type ())

FERRY_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (FerryEngine, ferry_engine, FERRY, ENGINE, GObject)

FERRY_AVAILABLE_IN_ALL
FerryEngine   *ferry_engine_new                    (const char           *home,
                                                    GCancellable         *cancellable,
                                                    GError              **error);
FERRY_AVAILABLE_IN_ALL
const char    *ferry_engine_get_home               (FerryEngine          *self);
FERRY_AVAILABLE_IN_ALL
FerryIdentity *ferry_engine_get_identity           (FerryEngine          *self);
FERRY_AVAILABLE_IN_ALL
FerryRegistry *ferry_engine_get_registry           (FerryEngine          *self);
FERRY_AVAILABLE_IN_ALL
GKeyFile      *ferry_engine_get_config             (FerryEngine          *self);
FERRY_AVAILABLE_IN_ALL
void           ferry_engine_set_signalings         (FerryEngine          *self,
                                                    const char * const   *names);
FERRY_AVAILABLE_IN_ALL
void           ferry_engine_set_transports         (FerryEngine          *self,
                                                    const char * const   *names);
FERRY_AVAILABLE_IN_ALL
void           ferry_engine_set_interfaces         (FerryEngine          *self,
                                                    const char * const   *names);
FERRY_AVAILABLE_IN_ALL
const char * const *ferry_engine_get_interfaces    (FerryEngine          *self);
FERRY_AVAILABLE_IN_ALL
GPtrArray     *ferry_engine_get_local_addresses    (FerryEngine          *self);
FERRY_AVAILABLE_IN_ALL
GBytes        *ferry_engine_get_announcement       (FerryEngine          *self);
FERRY_AVAILABLE_IN_ALL
gboolean       ferry_engine_start                  (FerryEngine          *self,
                                                    GError              **error);
FERRY_AVAILABLE_IN_ALL
gboolean       ferry_engine_check_feature          (FerryEngine          *self,
                                                    FerryFeature         *feature,
                                                    GError              **error);
FERRY_AVAILABLE_IN_ALL
const char    *ferry_engine_get_inactive_reason    (FerryEngine          *self,
                                                    const char           *name);
FERRY_AVAILABLE_IN_ALL
void           ferry_engine_stop                   (FerryEngine          *self);
FERRY_AVAILABLE_IN_ALL
void           ferry_engine_close_async            (FerryEngine          *self,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
FERRY_AVAILABLE_IN_ALL
gboolean       ferry_engine_close_finish           (FerryEngine          *self,
                                                    GAsyncResult         *result,
                                                    GError              **error);
FERRY_AVAILABLE_IN_ALL
GListModel    *ferry_engine_get_signalings         (FerryEngine          *self);
FERRY_AVAILABLE_IN_ALL
GListModel    *ferry_engine_get_transports         (FerryEngine          *self);
FERRY_AVAILABLE_IN_ALL
GListModel    *ferry_engine_get_peers              (FerryEngine          *self);
FERRY_AVAILABLE_IN_ALL
GListModel    *ferry_engine_get_transfers          (FerryEngine          *self);
FERRY_AVAILABLE_IN_ALL
void           ferry_engine_find_peer_async        (FerryEngine          *self,
                                                    const char           *query,
                                                    guint                 timeout_ms,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
FERRY_AVAILABLE_IN_ALL
FerryPeer     *ferry_engine_find_peer_finish       (FerryEngine          *self,
                                                    GAsyncResult         *result,
                                                    GError              **error);
FERRY_AVAILABLE_IN_ALL
FerryTransfer *ferry_engine_send                   (FerryEngine          *self,
                                                    FerryPeer            *peer,
                                                    GFile               **files,
                                                    guint                 n_files,
                                                    GError              **error);
FERRY_AVAILABLE_IN_ALL
JsonArray     *ferry_engine_get_history            (FerryEngine          *self);
FERRY_AVAILABLE_IN_ALL
void           ferry_engine_fetch_async            (FerryEngine          *self,
                                                    const char           *transfer_id,
                                                    guint                 timeout_ms,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
FERRY_AVAILABLE_IN_ALL
FerryTransfer *ferry_engine_fetch_finish           (FerryEngine          *self,
                                                    GAsyncResult         *result,
                                                    GError              **error);
FERRY_AVAILABLE_IN_ALL
FerryTransfer *ferry_engine_send_to_device         (FerryEngine          *self,
                                                    FerryDevice          *device,
                                                    GFile               **files,
                                                    guint                 n_files,
                                                    GError              **error);

G_END_DECLS
