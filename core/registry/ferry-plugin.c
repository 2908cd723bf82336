/* ferry-plugin.c: loaded modules and the features they register
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "ferry-enums.h"
#include "ferry-plugin.h"
#include "ferry-plugin-private.h"
#include "ferry-registry.h"
#include "ferry-signaling.h"
#include "ferry-transport.h"

/**
 * FerryFeature:
 *
 * One type a plugin registers: a [class@Ferry.Transport] or a
 * [class@Ferry.Signaling] subclass, under a name unique in its registry and
 * with a rank (see [enum@Ferry.Rank]).
 */
struct _FerryFeature
{
  GObject      parent_instance;

  char        *name;
  GType        gtype;
  guint        rank;
  FerryPlugin *plugin;   /* weak: the plugin owns its features */
};

enum {
  FEATURE_PROP_0,
  FEATURE_PROP_NAME,
  FEATURE_PROP_GTYPE,
  FEATURE_PROP_RANK,
  FEATURE_PROP_PLUGIN,
  FEATURE_N_PROPS
};

static GParamSpec *feature_properties[FEATURE_N_PROPS];

G_DEFINE_FINAL_TYPE (FerryFeature, ferry_feature, G_TYPE_OBJECT)

static void
ferry_feature_finalize (GObject *object)
{
  FerryFeature *self = FERRY_FEATURE (object);

  g_clear_weak_pointer (&self->plugin);
  g_free (self->name);

  G_OBJECT_CLASS (ferry_feature_parent_class)->finalize (object);
}

static void
ferry_feature_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  FerryFeature *self = FERRY_FEATURE (object);

  switch (prop_id)
    {
    case FEATURE_PROP_NAME:
      g_value_set_string (value, self->name);
      break;

    case FEATURE_PROP_GTYPE:
      g_value_set_gtype (value, self->gtype);
      break;

    case FEATURE_PROP_RANK:
      g_value_set_uint (value, self->rank);
      break;

    case FEATURE_PROP_PLUGIN:
      g_value_set_object (value, self->plugin);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ferry_feature_class_init (FerryFeatureClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = ferry_feature_finalize;
  object_class->get_property = ferry_feature_get_property;

  /**
   * FerryFeature:name: (getter get_name)
   *
   * The feature's name, unique in its registry, e.g. `lan`.
   */
  feature_properties[FEATURE_PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL,
                         NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * FerryFeature:gtype: (getter get_gtype)
   *
   * The type the feature instantiates: a subtype of
   * [class@Ferry.Transport] or [class@Ferry.Signaling].
   */
  feature_properties[FEATURE_PROP_GTYPE] =
    g_param_spec_gtype ("gtype", NULL, NULL,
                        G_TYPE_OBJECT,
                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * FerryFeature:rank: (getter get_rank)
   *
   * The rank: features of a higher rank are preferred.
   */
  feature_properties[FEATURE_PROP_RANK] =
    g_param_spec_uint ("rank", NULL, NULL,
                       0, G_MAXUINT, FERRY_RANK_NONE,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * FerryFeature:plugin: (getter get_plugin)
   *
   * The plugin that registered the feature.
   */
  feature_properties[FEATURE_PROP_PLUGIN] =
    g_param_spec_object ("plugin", NULL, NULL,
                         FERRY_TYPE_PLUGIN,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  g_object_class_install_properties (object_class, FEATURE_N_PROPS, feature_properties);
}

static void
ferry_feature_init (FerryFeature *self)
{
}

/**
 * ferry_feature_get_name:
 * @self: a feature
 *
 * Gets the feature's name.
 *
 * Returns: the name
 */
const char *
ferry_feature_get_name (FerryFeature *self)
{
  g_return_val_if_fail (FERRY_IS_FEATURE (self), NULL);

  return self->name;
}

/**
 * ferry_feature_get_gtype:
 * @self: a feature
 *
 * Gets the type the feature instantiates.
 *
 * Returns: a subtype of [class@Ferry.Transport] or [class@Ferry.Signaling]
 */
GType
ferry_feature_get_gtype (FerryFeature *self)
{
  g_return_val_if_fail (FERRY_IS_FEATURE (self), G_TYPE_INVALID);

  return self->gtype;
}

/**
 * ferry_feature_get_rank:
 * @self: a feature
 *
 * Gets the feature's rank.
 *
 * Returns: the rank, see [enum@Ferry.Rank]
 */
guint
ferry_feature_get_rank (FerryFeature *self)
{
  g_return_val_if_fail (FERRY_IS_FEATURE (self), FERRY_RANK_NONE);

  return self->rank;
}

/**
 * ferry_feature_get_plugin:
 * @self: a feature
 *
 * Gets the plugin that registered the feature.
 *
 * Returns: (transfer none) (nullable): the plugin, or %NULL once the plugin
 *   was finalized
 */
FerryPlugin *
ferry_feature_get_plugin (FerryFeature *self)
{
  g_return_val_if_fail (FERRY_IS_FEATURE (self), NULL);

  return self->plugin;
}

/**
 * FerryPlugin:
 *
 * A plugin module, or a plugin registered statically, as seen by a
 * [class@Ferry.Registry].
 *
 * A registry keeps one `FerryPlugin` for every file it tried, including
 * those that failed: [method@Ferry.Plugin.is_loaded] says which, and
 * [method@Ferry.Plugin.get_error] why. Only a loaded plugin contributes
 * features.
 *
 * Plugins call [method@Ferry.Plugin.add_feature] from their
 * [callback@Ferry.PluginRegisterFunc].
 */
struct _FerryPlugin
{
  GObject        parent_instance;

  char          *name;
  char          *version;
  char          *description;
  char          *license;
  char          *filename;
  GError        *error;
  GListStore    *features;
  FerryRegistry *registry;   /* weak */
  guint          loaded : 1;
};

enum {
  PROP_0,
  PROP_NAME,
  PROP_VERSION,
  PROP_DESCRIPTION,
  PROP_LICENSE,
  PROP_FILENAME,
  PROP_ERROR,
  PROP_LOADED,
  PROP_FEATURES,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (FerryPlugin, ferry_plugin, G_TYPE_OBJECT)

static void
ferry_plugin_dispose (GObject *object)
{
  FerryPlugin *self = FERRY_PLUGIN (object);

  g_clear_weak_pointer (&self->registry);
  if (self->features != NULL)
    g_list_store_remove_all (self->features);

  G_OBJECT_CLASS (ferry_plugin_parent_class)->dispose (object);
}

static void
ferry_plugin_finalize (GObject *object)
{
  FerryPlugin *self = FERRY_PLUGIN (object);

  g_clear_object (&self->features);
  g_clear_error (&self->error);
  g_free (self->name);
  g_free (self->version);
  g_free (self->description);
  g_free (self->license);
  g_free (self->filename);

  G_OBJECT_CLASS (ferry_plugin_parent_class)->finalize (object);
}

static void
ferry_plugin_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  FerryPlugin *self = FERRY_PLUGIN (object);

  switch (prop_id)
    {
    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;

    case PROP_VERSION:
      g_value_set_string (value, self->version);
      break;

    case PROP_DESCRIPTION:
      g_value_set_string (value, self->description);
      break;

    case PROP_LICENSE:
      g_value_set_string (value, self->license);
      break;

    case PROP_FILENAME:
      g_value_set_string (value, self->filename);
      break;

    case PROP_ERROR:
      g_value_set_boxed (value, self->error);
      break;

    case PROP_LOADED:
      g_value_set_boolean (value, self->loaded);
      break;

    case PROP_FEATURES:
      g_value_set_object (value, self->features);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ferry_plugin_class_init (FerryPluginClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = ferry_plugin_dispose;
  object_class->finalize = ferry_plugin_finalize;
  object_class->get_property = ferry_plugin_get_property;

  /**
   * FerryPlugin:name: (getter get_name)
   *
   * The plugin's name from its descriptor, %NULL when the descriptor could
   * not be read.
   */
  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL,
                         NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * FerryPlugin:version: (getter get_version)
   *
   * The plugin's version.
   */
  properties[PROP_VERSION] =
    g_param_spec_string ("version", NULL, NULL,
                         NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * FerryPlugin:description: (getter get_description)
   *
   * A one-line description of the plugin.
   */
  properties[PROP_DESCRIPTION] =
    g_param_spec_string ("description", NULL, NULL,
                         NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * FerryPlugin:license: (getter get_license)
   *
   * The plugin's SPDX license identifier.
   */
  properties[PROP_LICENSE] =
    g_param_spec_string ("license", NULL, NULL,
                         NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * FerryPlugin:filename: (getter get_filename)
   *
   * The module file, %NULL for a plugin registered statically.
   */
  properties[PROP_FILENAME] =
    g_param_spec_string ("filename", NULL, NULL,
                         NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * FerryPlugin:error: (getter get_error)
   *
   * Why the plugin was not loaded, %NULL for a loaded plugin.
   */
  properties[PROP_ERROR] =
    g_param_spec_boxed ("error", NULL, NULL,
                        G_TYPE_ERROR,
                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * FerryPlugin:loaded: (getter is_loaded)
   *
   * Whether the plugin was loaded and registered its features.
   */
  properties[PROP_LOADED] =
    g_param_spec_boolean ("loaded", NULL, NULL,
                          FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * FerryPlugin:features: (getter get_features)
   *
   * The plugin's features, a list model of [class@Ferry.Feature].
   */
  properties[PROP_FEATURES] =
    g_param_spec_object ("features", NULL, NULL,
                         G_TYPE_LIST_MODEL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
ferry_plugin_init (FerryPlugin *self)
{
  self->features = g_list_store_new (FERRY_TYPE_FEATURE);
}

static gboolean
set_str (char       **field,
         const char  *value)
{
  if (g_strcmp0 (*field, value) == 0)
    return FALSE;

  g_free (*field);
  *field = g_strdup (value);

  return TRUE;
}

FerryPlugin *
_ferry_plugin_new (const char *filename)
{
  FerryPlugin *self = g_object_new (FERRY_TYPE_PLUGIN, NULL);

  self->filename = g_strdup (filename);

  return self;
}

void
_ferry_plugin_set_desc (FerryPlugin           *self,
                        const FerryPluginDesc *desc)
{
  g_return_if_fail (FERRY_IS_PLUGIN (self));
  g_return_if_fail (desc != NULL);

  g_object_freeze_notify (G_OBJECT (self));
  if (set_str (&self->name, desc->name))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NAME]);
  if (set_str (&self->version, desc->version))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VERSION]);
  if (set_str (&self->description, desc->description))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DESCRIPTION]);
  if (set_str (&self->license, desc->license))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LICENSE]);
  g_object_thaw_notify (G_OBJECT (self));
}

void
_ferry_plugin_set_registry (FerryPlugin   *self,
                            FerryRegistry *registry)
{
  g_return_if_fail (FERRY_IS_PLUGIN (self));
  g_return_if_fail (registry == NULL || FERRY_IS_REGISTRY (registry));

  g_set_weak_pointer (&self->registry, registry);
}

void
_ferry_plugin_set_error (FerryPlugin  *self,
                         const GError *error)
{
  g_return_if_fail (FERRY_IS_PLUGIN (self));
  g_return_if_fail (error != NULL);

  g_object_freeze_notify (G_OBJECT (self));

  g_clear_error (&self->error);
  self->error = g_error_copy (error);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ERROR]);

  if (self->loaded)
    {
      self->loaded = FALSE;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOADED]);
    }

  g_list_store_remove_all (self->features);

  g_object_thaw_notify (G_OBJECT (self));
}

void
_ferry_plugin_set_loaded (FerryPlugin *self)
{
  g_return_if_fail (FERRY_IS_PLUGIN (self));

  g_object_freeze_notify (G_OBJECT (self));

  if (self->error != NULL)
    {
      g_clear_error (&self->error);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ERROR]);
    }

  if (!self->loaded)
    {
      self->loaded = TRUE;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOADED]);
    }

  g_object_thaw_notify (G_OBJECT (self));
}

FerryFeature *
_ferry_plugin_find_feature (FerryPlugin *self,
                            const char  *name)
{
  guint n;

  g_return_val_if_fail (FERRY_IS_PLUGIN (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  n = g_list_model_get_n_items (G_LIST_MODEL (self->features));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(FerryFeature) feature = g_list_model_get_item (G_LIST_MODEL (self->features), i);

      if (g_str_equal (feature->name, name))
        return feature;   /* still owned by the store */
    }

  return NULL;
}

gboolean
_ferry_plugin_name_is_valid (const char *name)
{
  if (name == NULL || *name == '\0')
    return FALSE;

  for (const char *p = name; *p != '\0'; p++)
    {
      if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
        return FALSE;
    }

  return TRUE;
}

/**
 * ferry_plugin_add_feature:
 * @self: the plugin being loaded
 * @name: the feature's name, `[a-z0-9-]+`, unique in the registry
 * @type: a non-abstract subtype of [class@Ferry.Transport] or
 *   [class@Ferry.Signaling]
 * @rank: the feature's rank, see [enum@Ferry.Rank]
 *
 * Registers a feature of the plugin. Plugins call it from their
 * [callback@Ferry.PluginRegisterFunc].
 *
 * A feature whose type is not a concrete transport or signaling, or whose
 * name is invalid or already used in the registry, is refused with a
 * warning; the plugin itself still loads.
 */
void
ferry_plugin_add_feature (FerryPlugin *self,
                          const char  *name,
                          GType        type,
                          guint        rank)
{
  g_autoptr(FerryFeature) feature = NULL;

  g_return_if_fail (FERRY_IS_PLUGIN (self));
  g_return_if_fail (name != NULL);

  if (!_ferry_plugin_name_is_valid (name))
    {
      g_warning ("Plugin %s: invalid feature name “%s”, ignored",
                 self->name, name);
      return;
    }

  if (!g_type_is_a (type, FERRY_TYPE_TRANSPORT) &&
      !g_type_is_a (type, FERRY_TYPE_SIGNALING))
    {
      g_warning ("Plugin %s: feature %s has type %s, which is neither a "
                 "FerryTransport nor a FerrySignaling, ignored",
                 self->name, name, g_type_name (type));
      return;
    }

  if (G_TYPE_IS_ABSTRACT (type))
    {
      g_warning ("Plugin %s: feature %s has the abstract type %s, ignored",
                 self->name, name, g_type_name (type));
      return;
    }

  if (_ferry_plugin_find_feature (self, name) != NULL ||
      (self->registry != NULL &&
       ferry_registry_lookup_feature (self->registry, G_TYPE_OBJECT, name) != NULL))
    {
      g_warning ("Plugin %s: a feature called %s already exists, ignored",
                 self->name, name);
      return;
    }

  feature = g_object_new (FERRY_TYPE_FEATURE, NULL);
  feature->name = g_strdup (name);
  feature->gtype = type;
  feature->rank = rank;
  g_set_weak_pointer (&feature->plugin, self);

  g_list_store_append (self->features, feature);
}

/**
 * ferry_plugin_get_name:
 * @self: a plugin
 *
 * Gets the plugin's name.
 *
 * Returns: (nullable): the name, or %NULL when the plugin's descriptor could
 *   not be read
 */
const char *
ferry_plugin_get_name (FerryPlugin *self)
{
  g_return_val_if_fail (FERRY_IS_PLUGIN (self), NULL);

  return self->name;
}

/**
 * ferry_plugin_get_version:
 * @self: a plugin
 *
 * Gets the plugin's version.
 *
 * Returns: (nullable): the version
 */
const char *
ferry_plugin_get_version (FerryPlugin *self)
{
  g_return_val_if_fail (FERRY_IS_PLUGIN (self), NULL);

  return self->version;
}

/**
 * ferry_plugin_get_description:
 * @self: a plugin
 *
 * Gets the plugin's one-line description.
 *
 * Returns: (nullable): the description
 */
const char *
ferry_plugin_get_description (FerryPlugin *self)
{
  g_return_val_if_fail (FERRY_IS_PLUGIN (self), NULL);

  return self->description;
}

/**
 * ferry_plugin_get_license:
 * @self: a plugin
 *
 * Gets the plugin's SPDX license identifier.
 *
 * Returns: (nullable): the license
 */
const char *
ferry_plugin_get_license (FerryPlugin *self)
{
  g_return_val_if_fail (FERRY_IS_PLUGIN (self), NULL);

  return self->license;
}

/**
 * ferry_plugin_get_filename:
 * @self: a plugin
 *
 * Gets the file the plugin was loaded from.
 *
 * Returns: (nullable) (type filename): the file name, or %NULL for a plugin
 *   registered with [method@Ferry.Registry.register_static]
 */
const char *
ferry_plugin_get_filename (FerryPlugin *self)
{
  g_return_val_if_fail (FERRY_IS_PLUGIN (self), NULL);

  return self->filename;
}

/**
 * ferry_plugin_get_error:
 * @self: a plugin
 *
 * Gets the reason the plugin was not loaded, an error in the
 * [error@Ferry.Error] domain.
 *
 * Returns: (nullable) (transfer none): the error, or %NULL
 */
const GError *
ferry_plugin_get_error (FerryPlugin *self)
{
  g_return_val_if_fail (FERRY_IS_PLUGIN (self), NULL);

  return self->error;
}

/**
 * ferry_plugin_is_loaded:
 * @self: a plugin
 *
 * Whether the plugin was loaded and registered its features.
 *
 * Returns: %TRUE for a loaded plugin
 */
gboolean
ferry_plugin_is_loaded (FerryPlugin *self)
{
  g_return_val_if_fail (FERRY_IS_PLUGIN (self), FALSE);

  return self->loaded;
}

/**
 * ferry_plugin_get_features:
 * @self: a plugin
 *
 * Gets the plugin's features, in the order it registered them. A plugin
 * that failed to load has none.
 *
 * Returns: (transfer none): a list model of [class@Ferry.Feature]
 */
GListModel *
ferry_plugin_get_features (FerryPlugin *self)
{
  g_return_val_if_fail (FERRY_IS_PLUGIN (self), NULL);

  return G_LIST_MODEL (self->features);
}
