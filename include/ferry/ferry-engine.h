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
/**
 * ferry_engine_get_home:
 * @self: a #FerryEngine
 *
 * Gets the home folder of the engine: it holds the keys, the certificates,
 * `ferry.conf` and the history.
 *
 * Returns: (type filename): the home directory
 */
FERRY_AVAILABLE_IN_ALL
const char    *ferry_engine_get_home               (FerryEngine          *self);
/**
 * ferry_engine_get_identity:
 * @self: a #FerryEngine
 *
 * Gets the identity of this device: its account and device ids, keys and
 * certificate.
 *
 * Returns: (transfer none): the identity of this device
 */
FERRY_AVAILABLE_IN_ALL
FerryIdentity *ferry_engine_get_identity           (FerryEngine          *self);
/**
 * ferry_engine_get_registry:
 * @self: a #FerryEngine
 *
 * Gets the registry of the plugins the engine loaded, with their features
 * and load errors.
 *
 * Returns: (transfer none): the plugin registry
 */
FERRY_AVAILABLE_IN_ALL
FerryRegistry *ferry_engine_get_registry           (FerryEngine          *self);
FERRY_DEPRECATED_FOR (ferry_engine_dup_plugin_setting)
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
const char * const *ferry_engine_get_signaling_names (FerryEngine      *self);
FERRY_AVAILABLE_IN_ALL
const char * const *ferry_engine_get_transport_names (FerryEngine      *self);
FERRY_AVAILABLE_IN_ALL
char         **ferry_engine_dup_dht_proxies        (FerryEngine          *self);
FERRY_AVAILABLE_IN_ALL
void           ferry_engine_set_dht_proxies        (FerryEngine          *self,
                                                    const char * const   *urls);
FERRY_AVAILABLE_IN_ALL
char         **ferry_engine_dup_turn_servers       (FerryEngine          *self);
FERRY_AVAILABLE_IN_ALL
void           ferry_engine_set_turn_servers       (FerryEngine          *self,
                                                    const char * const   *urls);
FERRY_AVAILABLE_IN_ALL
char          *ferry_engine_dup_stun_server        (FerryEngine          *self);
FERRY_AVAILABLE_IN_ALL
void           ferry_engine_set_stun_server        (FerryEngine          *self,
                                                    const char           *server);
FERRY_AVAILABLE_IN_ALL
guint          ferry_engine_get_offer_timeout      (FerryEngine          *self);
FERRY_AVAILABLE_IN_ALL
void           ferry_engine_set_offer_timeout      (FerryEngine          *self,
                                                    guint                 seconds);
FERRY_AVAILABLE_IN_ALL
guint          ferry_engine_get_connect_timeout    (FerryEngine          *self);
FERRY_AVAILABLE_IN_ALL
void           ferry_engine_set_connect_timeout    (FerryEngine          *self,
                                                    guint                 seconds);
FERRY_AVAILABLE_IN_ALL
guint          ferry_engine_get_peer_expiry        (FerryEngine          *self);
FERRY_AVAILABLE_IN_ALL
void           ferry_engine_set_peer_expiry        (FerryEngine          *self,
                                                    guint                 seconds);
FERRY_AVAILABLE_IN_ALL
guint64        ferry_engine_get_send_rate_limit    (FerryEngine          *self);
FERRY_AVAILABLE_IN_ALL
void           ferry_engine_set_send_rate_limit    (FerryEngine          *self,
                                                    guint64               bytes_per_second);
FERRY_AVAILABLE_IN_ALL
gboolean       ferry_engine_parse_rate             (const char           *text,
                                                    guint64              *bytes_per_second);
FERRY_AVAILABLE_IN_ALL
GFile         *ferry_engine_get_download_dir       (FerryEngine          *self);
FERRY_AVAILABLE_IN_ALL
void           ferry_engine_set_download_dir       (FerryEngine          *self,
                                                    GFile                *dir);
FERRY_AVAILABLE_IN_ALL
char          *ferry_engine_dup_plugin_setting     (FerryEngine          *self,
                                                    const char           *plugin,
                                                    const char           *key);
FERRY_AVAILABLE_IN_ALL
void           ferry_engine_set_plugin_setting     (FerryEngine          *self,
                                                    const char           *plugin,
                                                    const char           *key,
                                                    const char           *value);
FERRY_DEPRECATED_FOR (ferry_plugin_context_get_local_addresses)
GPtrArray     *ferry_engine_get_local_addresses    (FerryEngine          *self);
FERRY_DEPRECATED_FOR (ferry_plugin_context_get_announcement)
GBytes        *ferry_engine_get_announcement       (FerryEngine          *self);
FERRY_AVAILABLE_IN_ALL
gboolean       ferry_engine_start                  (FerryEngine          *self,
                                                    GError              **error);
FERRY_AVAILABLE_IN_ALL
void           ferry_engine_start_async            (FerryEngine          *self,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
/**
 * ferry_engine_start_finish:
 * @self: a #FerryEngine
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes an operation started with ferry_engine_start_async().
 *
 * Returns: %TRUE when the engine runs; %FALSE with the errors of
 *   ferry_engine_start(), or %G_IO_ERROR_CANCELLED
 */
FERRY_AVAILABLE_IN_ALL
gboolean       ferry_engine_start_finish           (FerryEngine          *self,
                                                    GAsyncResult         *result,
                                                    GError              **error);
FERRY_AVAILABLE_IN_ALL
gboolean       ferry_engine_check_feature          (FerryEngine          *self,
                                                    FerryFeature         *feature,
                                                    GError              **error);
/**
 * ferry_engine_get_inactive_reason:
 * @self: a started #FerryEngine
 * @name: a feature name
 *
 * Tells why an enabled signaling or transport does not run, e.g. because
 * its check found no server configured.
 *
 * Returns: (nullable): why the enabled feature @name was left inactive at
 *   start, or %NULL when it runs (or was not enabled)
 */
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
/**
 * ferry_engine_close_finish:
 * @self: a #FerryEngine
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes an operation started with ferry_engine_close_async().
 *
 * Returns: %TRUE once closed; %FALSE when the wait was cancelled
 */
FERRY_AVAILABLE_IN_ALL
gboolean       ferry_engine_close_finish           (FerryEngine          *self,
                                                    GAsyncResult         *result,
                                                    GError              **error);
/**
 * ferry_engine_get_signalings:
 * @self: a #FerryEngine
 *
 * Gets the signaling instances the engine started.
 *
 * Returns: (transfer none): the running #FerrySignaling instances
 */
FERRY_AVAILABLE_IN_ALL
GListModel    *ferry_engine_get_signalings         (FerryEngine          *self);
/**
 * ferry_engine_get_transports:
 * @self: a #FerryEngine
 *
 * Gets the transport instances the engine started.
 *
 * Returns: (transfer none): the running #FerryTransport instances
 */
FERRY_AVAILABLE_IN_ALL
GListModel    *ferry_engine_get_transports         (FerryEngine          *self);
/**
 * ferry_engine_get_peers:
 * @self: a #FerryEngine
 *
 * Gets the accounts seen through signaling, each with its devices. The
 * model changes on the engine's main context as devices announce
 * themselves.
 *
 * Returns: (transfer none): the peers seen so far, a #GListModel of #FerryPeer
 */
FERRY_AVAILABLE_IN_ALL
GListModel    *ferry_engine_get_peers              (FerryEngine          *self);
/**
 * ferry_engine_get_transfers:
 * @self: a #FerryEngine
 *
 * Gets the outgoing and incoming transfers of this engine.
 *
 * Returns: (transfer none): the transfers, a #GListModel of #FerryTransfer
 */
FERRY_AVAILABLE_IN_ALL
GListModel    *ferry_engine_get_transfers          (FerryEngine          *self);
FERRY_AVAILABLE_IN_ALL
guint          ferry_engine_clear_finished_transfers (FerryEngine        *self);
FERRY_AVAILABLE_IN_ALL
void           ferry_engine_find_peer_async        (FerryEngine          *self,
                                                    const char           *query,
                                                    guint                 timeout_ms,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
/**
 * ferry_engine_find_peer_finish:
 * @self: a #FerryEngine
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes an operation started with ferry_engine_find_peer_async().
 *
 * Returns: (transfer full): the peer, or %NULL with %FERRY_ERROR_PEER_NOT_FOUND
 *   or %FERRY_ERROR_PEER_AMBIGUOUS
 */
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
void           ferry_engine_list_history_async     (FerryEngine          *self,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
FERRY_AVAILABLE_IN_ALL
GListModel    *ferry_engine_list_account_devices   (FerryEngine          *self);
FERRY_AVAILABLE_IN_ALL
GListModel    *ferry_engine_list_history_finish    (FerryEngine          *self,
                                                    GAsyncResult         *result,
                                                    GError              **error);
FERRY_AVAILABLE_IN_ALL
void           ferry_engine_fetch_async            (FerryEngine          *self,
                                                    const char           *transfer_id,
                                                    guint                 timeout_ms,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
/**
 * ferry_engine_fetch_finish:
 * @self: a #FerryEngine
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes an operation started with ferry_engine_fetch_async().
 *
 * Returns: (transfer full): the incoming transfer, accepted and running
 *   (follow it until it is done), or %NULL with %FERRY_ERROR_REJECTED when
 *   the sender refused, %FERRY_ERROR_TIMEOUT, or %G_IO_ERROR_NOT_FOUND when
 *   the history has no such transfer
 */
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
FERRY_AVAILABLE_IN_ALL
FerryTransfer *ferry_engine_send_text              (FerryEngine          *self,
                                                    FerryPeer            *peer,
                                                    FerryDevice          *device,
                                                    const char           *text,
                                                    GError              **error);

G_END_DECLS
