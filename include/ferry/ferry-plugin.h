/* ferry-plugin.h: the plugin SDK
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

/**
 * FERRY_PLUGIN_ABI_MAJOR:
 *
 * The plugin ABI major version of this build. A plugin is loaded only when
 * its major version equals this one.
 */
#define FERRY_PLUGIN_ABI_MAJOR 1

/**
 * FERRY_PLUGIN_ABI_MINOR:
 *
 * The plugin ABI minor version of this build. A plugin is loaded only when
 * its minor version is not newer than this one.
 */
#define FERRY_PLUGIN_ABI_MINOR 0

#define FERRY_TYPE_PLUGIN (ferry_plugin_get_type ())

FERRY_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (FerryPlugin, ferry_plugin, FERRY, PLUGIN, GObject)

#define FERRY_TYPE_FEATURE (ferry_feature_get_type ())

FERRY_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (FerryFeature, ferry_feature, FERRY, FEATURE, GObject)

/**
 * FerryPluginRegisterFunc:
 * @plugin: the plugin being loaded
 * @error: return location for a #GError
 *
 * Registers the plugin's features with ferry_plugin_add_feature().
 *
 * Returns: %TRUE on success; on %FALSE the plugin is skipped
 */
typedef gboolean (*FerryPluginRegisterFunc) (FerryPlugin  *plugin,
                                             GError      **error);

/**
 * FerryPluginDesc:
 * @abi_major: %FERRY_PLUGIN_ABI_MAJOR of the build
 * @abi_minor: %FERRY_PLUGIN_ABI_MINOR of the build
 * @name: a unique name, `[a-z0-9-]+`
 * @version: the plugin's version
 * @description: one line saying what the plugin does
 * @license: an SPDX license identifier
 * @register_features: registers the plugin's features
 *
 * What a plugin tells the core about itself. Plugins define it with
 * FERRY_PLUGIN_DEFINE().
 */
typedef struct {
  guint                    abi_major;
  guint                    abi_minor;
  const char              *name;
  const char              *version;
  const char              *description;
  const char              *license;
  FerryPluginRegisterFunc  register_features;
  /*< private >*/
  gpointer                 _ferry_reserved[8];
} FerryPluginDesc;

/**
 * FERRY_PLUGIN_DEFINE:
 * @symbol: the plugin name with `-` replaced by `_`, e.g. `local_broadcast`
 * @name: the plugin name as a string, e.g. `"local-broadcast"`
 * @description: a one-line description
 * @version: a version string
 * @license: an SPDX license identifier
 * @register_func: a #FerryPluginRegisterFunc
 *
 * Defines the plugin's entry point, `ferry_plugin_<symbol>_get_desc()`. The
 * module file must be called `libferry-<name>.so` so that the loader finds
 * the entry point.
 */
#define FERRY_PLUGIN_DEFINE(symbol, name, description, version, license, register_func) \
  G_MODULE_EXPORT const FerryPluginDesc *ferry_plugin_##symbol##_get_desc (void);       \
  G_MODULE_EXPORT const FerryPluginDesc *                                               \
  ferry_plugin_##symbol##_get_desc (void)                                               \
  {                                                                                     \
    static const FerryPluginDesc desc = {                                               \
      FERRY_PLUGIN_ABI_MAJOR, FERRY_PLUGIN_ABI_MINOR,                                   \
      name, version, description, license, register_func, { NULL, }                     \
    };                                                                                  \
    return &desc;                                                                       \
  }

FERRY_AVAILABLE_IN_ALL
void          ferry_plugin_add_feature     (FerryPlugin   *self,
                                            const char    *name,
                                            GType          type,
                                            guint          rank);
FERRY_AVAILABLE_IN_ALL
const char   *ferry_plugin_get_name        (FerryPlugin   *self);
FERRY_AVAILABLE_IN_ALL
const char   *ferry_plugin_get_version     (FerryPlugin   *self);
FERRY_AVAILABLE_IN_ALL
const char   *ferry_plugin_get_description (FerryPlugin   *self);
FERRY_AVAILABLE_IN_ALL
const char   *ferry_plugin_get_license     (FerryPlugin   *self);
FERRY_AVAILABLE_IN_ALL
const char   *ferry_plugin_get_filename    (FerryPlugin   *self);
FERRY_AVAILABLE_IN_ALL
const GError *ferry_plugin_get_error       (FerryPlugin   *self);
FERRY_AVAILABLE_IN_ALL
gboolean      ferry_plugin_is_loaded       (FerryPlugin   *self);
FERRY_AVAILABLE_IN_ALL
GListModel   *ferry_plugin_get_features    (FerryPlugin   *self);

FERRY_AVAILABLE_IN_ALL
const char   *ferry_feature_get_name       (FerryFeature  *self);
FERRY_AVAILABLE_IN_ALL
GType         ferry_feature_get_gtype      (FerryFeature  *self);
FERRY_AVAILABLE_IN_ALL
guint         ferry_feature_get_rank       (FerryFeature  *self);
FERRY_AVAILABLE_IN_ALL
FerryPlugin  *ferry_feature_get_plugin     (FerryFeature  *self);

G_END_DECLS
