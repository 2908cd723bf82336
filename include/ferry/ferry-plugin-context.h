/* ferry-plugin-context.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(FERRY_INSIDE) && !defined(FERRY_COMPILATION)
# error "Only <ferry/ferry.h> can be included directly."
#endif

#include <gio/gio.h>
#include "ferry-version-macros.h"
#include "ferry-network-interface.h"
#include "ferry-peer.h"
#include "ferry-signaling.h"
#include "ferry-transport.h"

G_BEGIN_DECLS

#define FERRY_TYPE_PLUGIN_CONTEXT (ferry_plugin_context_get_type ())

FERRY_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (FerryPluginContext, ferry_plugin_context, FERRY, PLUGIN_CONTEXT, GObject)

FERRY_AVAILABLE_IN_ALL
FerryPluginContext *ferry_signaling_get_plugin_context       (FerrySignaling     *signaling);
FERRY_AVAILABLE_IN_ALL
FerryPluginContext *ferry_transport_get_plugin_context       (FerryTransport     *transport);

FERRY_AVAILABLE_IN_ALL
const char         *ferry_plugin_context_get_name            (FerryPluginContext *self);
FERRY_AVAILABLE_IN_ALL
GMainContext       *ferry_plugin_context_get_main_context    (FerryPluginContext *self);
FERRY_AVAILABLE_IN_ALL
GBytes             *ferry_plugin_context_get_announcement    (FerryPluginContext *self);
FERRY_AVAILABLE_IN_ALL
GPtrArray          *ferry_plugin_context_get_local_addresses (FerryPluginContext *self);
FERRY_AVAILABLE_IN_ALL
char              **ferry_plugin_context_dup_interfaces      (FerryPluginContext *self);
FERRY_AVAILABLE_IN_ALL
GListModel         *ferry_plugin_context_list_interfaces     (FerryPluginContext *self);
FERRY_AVAILABLE_IN_ALL
char               *ferry_plugin_context_dup_setting         (FerryPluginContext *self,
                                                              const char         *key);
FERRY_AVAILABLE_IN_ALL
gboolean            ferry_plugin_context_get_int64_setting   (FerryPluginContext *self,
                                                              const char         *key,
                                                              gint64             *value,
                                                              GError            **error);
FERRY_AVAILABLE_IN_ALL
gboolean            ferry_plugin_context_get_double_setting  (FerryPluginContext *self,
                                                              const char         *key,
                                                              double             *value,
                                                              GError            **error);
FERRY_AVAILABLE_IN_ALL
gboolean            ferry_plugin_context_get_boolean_setting (FerryPluginContext *self,
                                                              const char         *key,
                                                              gboolean           *value,
                                                              GError            **error);
FERRY_AVAILABLE_IN_ALL
gboolean            ferry_plugin_context_get_core_int64_setting (FerryPluginContext *self,
                                                                 const char         *key,
                                                                 gint64             *value,
                                                                 GError            **error);
FERRY_AVAILABLE_IN_ALL
char              **ferry_plugin_context_dup_setting_list    (FerryPluginContext *self,
                                                              const char         *key);
FERRY_AVAILABLE_IN_ALL
const char         *ferry_plugin_context_get_account_id      (FerryPluginContext *self);
FERRY_AVAILABLE_IN_ALL
const char         *ferry_plugin_context_get_device_id       (FerryPluginContext *self);
FERRY_AVAILABLE_IN_ALL
const char         *ferry_plugin_context_get_home            (FerryPluginContext *self);
FERRY_AVAILABLE_IN_ALL
GListModel         *ferry_plugin_context_list_peers          (FerryPluginContext *self);
FERRY_AVAILABLE_IN_ALL
char               *ferry_plugin_context_dup_core_setting    (FerryPluginContext *self,
                                                              const char         *key);

G_END_DECLS
