/* ferry-registry.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(FERRY_INSIDE) && !defined(FERRY_COMPILATION)
# error "Only <ferry/ferry.h> can be included directly."
#endif

#include <gio/gio.h>
#include "ferry-version-macros.h"
#include "ferry-plugin.h"

G_BEGIN_DECLS

#define FERRY_TYPE_REGISTRY (ferry_registry_get_type ())

FERRY_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (FerryRegistry, ferry_registry, FERRY, REGISTRY, GObject)

FERRY_AVAILABLE_IN_ALL
FerryRegistry *ferry_registry_new              (void);
FERRY_AVAILABLE_IN_ALL
FerryRegistry *ferry_registry_get_default      (void);
FERRY_AVAILABLE_IN_ALL
void           ferry_registry_scan_directory   (FerryRegistry          *self,
                                                const char             *directory);
FERRY_AVAILABLE_IN_ALL
FerryPlugin   *ferry_registry_load_file        (FerryRegistry          *self,
                                                const char             *filename,
                                                GError                **error);
FERRY_AVAILABLE_IN_ALL
FerryPlugin   *ferry_registry_register_static  (FerryRegistry          *self,
                                                const FerryPluginDesc  *desc,
                                                GError                **error);
FERRY_AVAILABLE_IN_ALL
FerryPlugin   *ferry_registry_lookup_plugin    (FerryRegistry          *self,
                                                const char             *name);
FERRY_AVAILABLE_IN_ALL
FerryFeature  *ferry_registry_lookup_feature   (FerryRegistry          *self,
                                                GType                   base_type,
                                                const char             *name);
FERRY_AVAILABLE_IN_ALL
GPtrArray     *ferry_registry_list_features    (FerryRegistry          *self,
                                                GType                   base_type);

G_END_DECLS
