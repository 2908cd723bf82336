/* ferry-plugin-private.h: what the registry may do to a plugin
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "ferry-plugin.h"
#include "ferry-registry.h"

G_BEGIN_DECLS

/* A plugin that is not loaded (yet), for @filename (NULL for a static one). */
FerryPlugin *_ferry_plugin_new              (const char            *filename);

/* Copies name, version, description and license from @desc. */
void         _ferry_plugin_set_desc         (FerryPlugin           *self,
                                             const FerryPluginDesc *desc);

/* The registry ferry_plugin_add_feature() checks feature names against
 * (a weak pointer), or NULL. */
void         _ferry_plugin_set_registry     (FerryPlugin           *self,
                                             FerryRegistry         *registry);

/* Marks the plugin as failed with a copy of @error; drops its features. */
void         _ferry_plugin_set_error        (FerryPlugin           *self,
                                             const GError          *error);

/* Marks the plugin as loaded: its features become visible. */
void         _ferry_plugin_set_loaded       (FerryPlugin           *self);

/* Whether @self (loaded or loading) holds a feature called @name. */
FerryFeature *_ferry_plugin_find_feature    (FerryPlugin           *self,
                                             const char            *name);

/* TRUE when @name matches `[a-z0-9-]+`. */
gboolean     _ferry_plugin_name_is_valid    (const char            *name);

G_END_DECLS
