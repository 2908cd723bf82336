/* ferry-registry.c: finding, loading and listing plugins
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>
#include <unistd.h>
#ifdef __linux__
# include <sys/auxv.h>
#endif

#include <glib/gi18n-lib.h>
#include <gmodule.h>

#include "ferry-error.h"
#include "ferry-i18n-private.h"
#include "ferry-plugin.h"
#include "ferry-plugin-private.h"
#include "ferry-registry.h"

/**
 * FerryRegistry:
 *
 * The plugins a process knows about, and the features they register.
 *
 * A registry is a [iface@Gio.ListModel] of [class@Ferry.Plugin]: one item for
 * every plugin file it tried (and every plugin registered statically), in
 * the order they were tried, including the ones that failed to load. A
 * plugin that fails, because its file is not a module, it has no entry
 * point, its ABI does not match, its name is taken or its initialisation
 * fails, is skipped and keeps its [method@Ferry.Plugin.get_error]: it never
 * breaks start-up.
 *
 * Modules that loaded stay resident. The registry is not thread-safe: use it
 * from one thread.
 */
struct _FerryRegistry
{
  GObject    parent_instance;

  GPtrArray *plugins;   /* FerryPlugin, in the order tried */
};

enum {
  PROP_0,
  PROP_N_ITEMS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void list_model_iface_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (FerryRegistry, ferry_registry, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, list_model_iface_init))

static GType
ferry_registry_get_item_type (GListModel *model)
{
  return FERRY_TYPE_PLUGIN;
}

static guint
ferry_registry_get_n_items (GListModel *model)
{
  FerryRegistry *self = FERRY_REGISTRY (model);

  return self->plugins->len;
}

static gpointer
ferry_registry_get_item (GListModel *model,
                         guint       position)
{
  FerryRegistry *self = FERRY_REGISTRY (model);

  if (position >= self->plugins->len)
    return NULL;

  return g_object_ref (g_ptr_array_index (self->plugins, position));
}

static void
list_model_iface_init (GListModelInterface *iface)
{
  iface->get_item_type = ferry_registry_get_item_type;
  iface->get_n_items = ferry_registry_get_n_items;
  iface->get_item = ferry_registry_get_item;
}

static void
ferry_registry_dispose (GObject *object)
{
  FerryRegistry *self = FERRY_REGISTRY (object);

  for (guint i = 0; i < self->plugins->len; i++)
    _ferry_plugin_set_registry (g_ptr_array_index (self->plugins, i), NULL);

  g_ptr_array_set_size (self->plugins, 0);

  G_OBJECT_CLASS (ferry_registry_parent_class)->dispose (object);
}

static void
ferry_registry_finalize (GObject *object)
{
  FerryRegistry *self = FERRY_REGISTRY (object);

  g_ptr_array_unref (self->plugins);

  G_OBJECT_CLASS (ferry_registry_parent_class)->finalize (object);
}

static void
ferry_registry_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  FerryRegistry *self = FERRY_REGISTRY (object);

  switch (prop_id)
    {
    case PROP_N_ITEMS:
      g_value_set_uint (value, self->plugins->len);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ferry_registry_class_init (FerryRegistryClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  _ferry_i18n_init ();

  object_class->dispose = ferry_registry_dispose;
  object_class->finalize = ferry_registry_finalize;
  object_class->get_property = ferry_registry_get_property;

  /**
   * FerryRegistry:n-items:
   *
   * The number of plugins in the registry, loaded or not.
   */
  properties[PROP_N_ITEMS] =
    g_param_spec_uint ("n-items", NULL, NULL,
                       0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
ferry_registry_init (FerryRegistry *self)
{
  self->plugins = g_ptr_array_new_with_free_func (g_object_unref);
}

/**
 * ferry_registry_new:
 *
 * Creates an empty registry. Most programs want the one returned by
 * [func@Ferry.Registry.get_default] instead.
 *
 * Returns: (transfer full): a new registry
 */
FerryRegistry *
ferry_registry_new (void)
{
  return g_object_new (FERRY_TYPE_REGISTRY, NULL);
}

/* Environment variables are not trusted in setuid / setgid processes. */
static const char *
get_safe_env (const char *name)
{
#ifdef __linux__
  if (getauxval (AT_SECURE) != 0)
    return NULL;
#else
  if (getuid () != geteuid () || getgid () != getegid ())
    return NULL;
#endif

  return g_getenv (name);
}

static void
scan_search_path (FerryRegistry *self,
                  const char    *search_path)
{
  g_auto(GStrv) dirs = g_strsplit (search_path, G_SEARCHPATH_SEPARATOR_S, -1);

  for (guint i = 0; dirs[i] != NULL; i++)
    {
      if (dirs[i][0] != '\0')
        ferry_registry_scan_directory (self, dirs[i]);
    }
}

/**
 * ferry_registry_get_default:
 *
 * Gets the process-wide registry, created and filled on the first call.
 *
 * It holds the plugins of every directory listed in the `FERRY_PLUGIN_PATH`
 * environment variable (separated by `G_SEARCHPATH_SEPARATOR_S`), in that
 * order, then those of the directory plugins are installed to. When
 * `FERRY_PLUGIN_SYSTEM_PATH` is set, its directories replace the install
 * directory (an empty value means none). Both variables are ignored in
 * setuid processes.
 *
 * Returns: (transfer none): the default registry
 */
FerryRegistry *
ferry_registry_get_default (void)
{
  static FerryRegistry *default_registry;

  if (g_once_init_enter (&default_registry))
    {
      FerryRegistry *registry = ferry_registry_new ();
      const char *plugin_path = get_safe_env ("FERRY_PLUGIN_PATH");
      const char *system_path = get_safe_env ("FERRY_PLUGIN_SYSTEM_PATH");

      if (plugin_path != NULL)
        scan_search_path (registry, plugin_path);

      if (system_path != NULL)
        scan_search_path (registry, system_path);
      else
        ferry_registry_scan_directory (registry, FERRY_PLUGINDIR);

      g_once_init_leave (&default_registry, registry);
    }

  return default_registry;
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* Subdirectories are scanned too, like GStreamer does, so that pointing
 * FERRY_PLUGIN_PATH at a build tree's plugins/ finds every plugin. */
#define MAX_SCAN_DEPTH 3

static void
scan_directory (FerryRegistry *self,
                const char    *directory,
                guint          depth)
{
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GPtrArray) names = NULL;
  g_autoptr(GPtrArray) subdirs = NULL;
  g_autoptr(GError) error = NULL;
  const char *name;

  dir = g_dir_open (directory, 0, &error);
  if (dir == NULL)
    {
      g_debug ("Not scanning %s for plugins: %s", directory, error->message);
      return;
    }

  g_debug ("Scanning %s for plugins", directory);

  names = g_ptr_array_new_with_free_func (g_free);
  subdirs = g_ptr_array_new_with_free_func (g_free);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (directory, name, NULL);

      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        {
          if (name[0] != '.' && depth < MAX_SCAN_DEPTH &&
              !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
            g_ptr_array_add (subdirs, g_steal_pointer (&path));
          continue;
        }
      if (g_str_has_suffix (name, "." G_MODULE_SUFFIX) &&
          strlen (name) > strlen ("." G_MODULE_SUFFIX))
        g_ptr_array_add (names, g_steal_pointer (&path));
    }

  g_ptr_array_sort (names, compare_strings);
  g_ptr_array_sort (subdirs, compare_strings);

  for (guint i = 0; i < names->len; i++)
    {
      g_autoptr(GError) load_error = NULL;

      /* Failures are logged and kept on the plugin. */
      ferry_registry_load_file (self, g_ptr_array_index (names, i), &load_error);
    }
  for (guint i = 0; i < subdirs->len; i++)
    scan_directory (self, g_ptr_array_index (subdirs, i), depth + 1);
}

/**
 * ferry_registry_scan_directory:
 * @self: a registry
 * @directory: (type filename): a directory
 *
 * Tries to load every file of @directory whose name ends in
 * `.` `G_MODULE_SUFFIX` (e.g. `.so`), in the order of their names, with
 * [method@Ferry.Registry.load_file], then does the same in its
 * subdirectories, three levels deep (hidden ones and symbolic links
 * excepted). Other files are ignored, and so is a directory that does not
 * exist. Plugins that fail stay in the registry with their error.
 */
void
ferry_registry_scan_directory (FerryRegistry *self,
                               const char    *directory)
{
  g_return_if_fail (FERRY_IS_REGISTRY (self));
  g_return_if_fail (directory != NULL);

  scan_directory (self, directory, 0);
}

static void
append_plugin (FerryRegistry *self,
               FerryPlugin   *plugin)
{
  g_ptr_array_add (self->plugins, g_object_ref (plugin));
  g_list_model_items_changed (G_LIST_MODEL (self), self->plugins->len - 1, 0, 1);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_ITEMS]);
}

/* The entry point of a module: "libferry-local-broadcast.so" →
 * "ferry_plugin_local_broadcast_get_desc". */
static char *
entry_symbol_for_file (const char *filename)
{
  g_autofree char *base = g_path_get_basename (filename);
  const char *start = base;
  char *dot;

  if (g_str_has_suffix (base, "." G_MODULE_SUFFIX))
    base[strlen (base) - strlen ("." G_MODULE_SUFFIX)] = '\0';
  else if ((dot = strchr (base, '.')) != NULL)
    *dot = '\0';

  if (g_str_has_prefix (start, "lib"))
    start += strlen ("lib");
  if (g_str_has_prefix (start, "ferry-"))
    start += strlen ("ferry-");

  g_strdelimit (base, "-", '_');

  return g_strdup_printf ("ferry_plugin_%s_get_desc", start);
}

/* The checks shared by modules and static plugins. @init_ran is set once
 * code of the plugin beyond its descriptor function ran. */
static gboolean
load_desc (FerryRegistry          *self,
           FerryPlugin            *plugin,
           const FerryPluginDesc  *desc,
           gboolean               *init_ran,
           GError                **error)
{
  g_autoptr(GError) local_error = NULL;
  FerryPlugin *loaded;

  *init_ran = FALSE;

  if (desc == NULL)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PLUGIN_ENTRY,
                   _("The plugin entry point returned no descriptor"));
      return FALSE;
    }

  if (desc->abi_major != FERRY_PLUGIN_ABI_MAJOR ||
      desc->abi_minor > FERRY_PLUGIN_ABI_MINOR)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PLUGIN_ABI,
                   _("Built for the plugin ABI %u.%u, which is not compatible with %u.%u"),
                   desc->abi_major, desc->abi_minor,
                   FERRY_PLUGIN_ABI_MAJOR, FERRY_PLUGIN_ABI_MINOR);
      return FALSE;
    }

  if (!_ferry_plugin_name_is_valid (desc->name))
    {
      if (desc->name == NULL)
        g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_PLUGIN_ENTRY,
                             _("The plugin has no name"));
      else
        g_set_error (error, FERRY_ERROR, FERRY_ERROR_PLUGIN_ENTRY,
                     _("Invalid plugin name “%s”: only a-z, 0-9 and - are allowed"),
                     desc->name);
      return FALSE;
    }

  _ferry_plugin_set_desc (plugin, desc);

  if (desc->register_features == NULL)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PLUGIN_ENTRY,
                   _("Plugin %s has no function to register its features"), desc->name);
      return FALSE;
    }

  loaded = ferry_registry_lookup_plugin (self, desc->name);
  if (loaded != NULL)
    {
      if (ferry_plugin_get_filename (loaded) != NULL)
        g_set_error (error, FERRY_ERROR, FERRY_ERROR_PLUGIN_DUPLICATE,
                     _("A plugin called %s is already loaded from %s"),
                     desc->name, ferry_plugin_get_filename (loaded));
      else
        g_set_error (error, FERRY_ERROR, FERRY_ERROR_PLUGIN_DUPLICATE,
                     _("A plugin called %s is already built in"), desc->name);
      return FALSE;
    }

  _ferry_plugin_set_registry (plugin, self);

  *init_ran = TRUE;
  if (!desc->register_features (plugin, &local_error))
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PLUGIN_INIT,
                   _("Plugin %s failed to initialize: %s"), desc->name,
                   local_error != NULL ? local_error->message : _("unknown error"));
      return FALSE;
    }

  if (local_error != NULL)
    g_warning ("Plugin %s set an error but reported success: %s",
               desc->name, local_error->message);

  return TRUE;
}

/**
 * ferry_registry_load_file:
 * @self: a registry
 * @filename: (type filename): a plugin module, `libferry-<name>.so`
 * @error: return location for a #GError
 *
 * Loads a plugin module and registers its features.
 *
 * The entry point is derived from the file name: `libferry-local-broadcast.so`
 * must export `ferry_plugin_local_broadcast_get_desc()` (see
 * FERRY_PLUGIN_DEFINE()). A plugin whose name is already loaded in @self is
 * refused, and so is the same file loaded twice.
 *
 * Whatever the outcome, the plugin is added to @self; on failure it keeps
 * the error, see [method@Ferry.Plugin.get_error].
 *
 * Returns: (transfer none) (nullable): the loaded plugin, owned by @self, or
 *   %NULL with @error set to %FERRY_ERROR_NOT_A_PLUGIN,
 *   %FERRY_ERROR_PLUGIN_ENTRY, %FERRY_ERROR_PLUGIN_ABI,
 *   %FERRY_ERROR_PLUGIN_DUPLICATE or %FERRY_ERROR_PLUGIN_INIT
 */
FerryPlugin *
ferry_registry_load_file (FerryRegistry  *self,
                          const char     *filename,
                          GError        **error)
{
  g_autoptr(FerryPlugin) plugin = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *path = NULL;
  g_autofree char *symbol = NULL;
  const FerryPluginDesc *(*get_desc) (void) = NULL;
  GModule *module;
  gboolean init_ran = FALSE;
  gboolean ok = FALSE;

  g_return_val_if_fail (FERRY_IS_REGISTRY (self), NULL);
  g_return_val_if_fail (filename != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* An absolute path, so that the loader never searches system paths. */
  path = g_canonicalize_filename (filename, NULL);
  plugin = _ferry_plugin_new (path);

  module = g_module_open (path, G_MODULE_BIND_LOCAL | G_MODULE_BIND_LAZY);
  if (module == NULL)
    {
      g_set_error (&local_error, FERRY_ERROR, FERRY_ERROR_NOT_A_PLUGIN,
                   _("Not a loadable module: %s"), g_module_error ());
    }
  else
    {
      symbol = entry_symbol_for_file (path);
      if (!g_module_symbol (module, symbol, (gpointer *) &get_desc) || get_desc == NULL)
        g_set_error (&local_error, FERRY_ERROR, FERRY_ERROR_PLUGIN_ENTRY,
                     _("The module has no plugin entry point %s()"), symbol);
      else
        ok = load_desc (self, plugin, get_desc (), &init_ran, &local_error);

      /* Once the plugin's code ran, it may have registered types: the
       * module must then never be unloaded, even when it failed. */
      if (ok || init_ran)
        g_module_make_resident (module);
      g_module_close (module);
    }

  if (ok)
    {
      _ferry_plugin_set_loaded (plugin);
      g_debug ("Loaded plugin %s %s from %s",
               ferry_plugin_get_name (plugin),
               ferry_plugin_get_version (plugin), path);
    }
  else
    {
      _ferry_plugin_set_error (plugin, local_error);
      g_debug ("Skipped plugin %s: %s", path, local_error->message);
    }

  append_plugin (self, plugin);

  if (!ok)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }

  return plugin;
}

/**
 * ferry_registry_register_static:
 * @self: a registry
 * @desc: the plugin's descriptor, e.g. the result of
 *   `ferry_plugin_<name>_get_desc()` of a plugin linked into the program
 * @error: return location for a #GError
 *
 * Registers a plugin that is not a module, with the same checks as
 * [method@Ferry.Registry.load_file]. Its [property@Ferry.Plugin:filename] is
 * %NULL.
 *
 * Returns: (transfer none) (nullable): the loaded plugin, owned by @self, or
 *   %NULL with @error set
 */
FerryPlugin *
ferry_registry_register_static (FerryRegistry          *self,
                                const FerryPluginDesc  *desc,
                                GError                **error)
{
  g_autoptr(FerryPlugin) plugin = NULL;
  g_autoptr(GError) local_error = NULL;
  gboolean init_ran;

  g_return_val_if_fail (FERRY_IS_REGISTRY (self), NULL);
  g_return_val_if_fail (desc != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  plugin = _ferry_plugin_new (NULL);

  if (load_desc (self, plugin, desc, &init_ran, &local_error))
    {
      _ferry_plugin_set_loaded (plugin);
      g_debug ("Registered static plugin %s %s",
               ferry_plugin_get_name (plugin),
               ferry_plugin_get_version (plugin));
      append_plugin (self, plugin);
      return plugin;
    }

  _ferry_plugin_set_error (plugin, local_error);
  g_debug ("Skipped static plugin: %s", local_error->message);
  append_plugin (self, plugin);
  g_propagate_error (error, g_steal_pointer (&local_error));

  return NULL;
}

/**
 * ferry_registry_lookup_plugin:
 * @self: a registry
 * @name: a plugin name
 *
 * Finds a loaded plugin by name. Plugins that failed are not found.
 *
 * Returns: (transfer none) (nullable): the plugin, or %NULL
 */
FerryPlugin *
ferry_registry_lookup_plugin (FerryRegistry *self,
                              const char    *name)
{
  g_return_val_if_fail (FERRY_IS_REGISTRY (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  for (guint i = 0; i < self->plugins->len; i++)
    {
      FerryPlugin *plugin = g_ptr_array_index (self->plugins, i);

      if (ferry_plugin_is_loaded (plugin) &&
          g_strcmp0 (ferry_plugin_get_name (plugin), name) == 0)
        return plugin;
    }

  return NULL;
}

/**
 * ferry_registry_lookup_feature:
 * @self: a registry
 * @base_type: the kind of feature, e.g. %FERRY_TYPE_TRANSPORT;
 *   %G_TYPE_OBJECT matches any
 * @name: a feature name
 *
 * Finds a feature of a loaded plugin by name, if its type is a @base_type.
 *
 * Returns: (transfer none) (nullable): the feature, or %NULL
 */
FerryFeature *
ferry_registry_lookup_feature (FerryRegistry *self,
                               GType          base_type,
                               const char    *name)
{
  g_return_val_if_fail (FERRY_IS_REGISTRY (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  for (guint i = 0; i < self->plugins->len; i++)
    {
      FerryPlugin *plugin = g_ptr_array_index (self->plugins, i);
      FerryFeature *feature;

      if (!ferry_plugin_is_loaded (plugin))
        continue;

      feature = _ferry_plugin_find_feature (plugin, name);
      if (feature != NULL && g_type_is_a (ferry_feature_get_gtype (feature), base_type))
        return feature;
    }

  return NULL;
}

static int
compare_features (gconstpointer a,
                  gconstpointer b)
{
  FerryFeature *fa = *(FerryFeature * const *) a;
  FerryFeature *fb = *(FerryFeature * const *) b;
  guint ra = ferry_feature_get_rank (fa);
  guint rb = ferry_feature_get_rank (fb);

  if (ra != rb)
    return ra > rb ? -1 : 1;

  return strcmp (ferry_feature_get_name (fa), ferry_feature_get_name (fb));
}

/**
 * ferry_registry_list_features:
 * @self: a registry
 * @base_type: the kind of feature, e.g. %FERRY_TYPE_TRANSPORT;
 *   %G_TYPE_OBJECT lists all
 *
 * Lists the features of the loaded plugins whose type is a @base_type,
 * highest rank first, then by name.
 *
 * Returns: (transfer container) (element-type FerryFeature): the features
 */
GPtrArray *
ferry_registry_list_features (FerryRegistry *self,
                              GType          base_type)
{
  GPtrArray *features;

  g_return_val_if_fail (FERRY_IS_REGISTRY (self), NULL);

  features = g_ptr_array_new ();

  for (guint i = 0; i < self->plugins->len; i++)
    {
      FerryPlugin *plugin = g_ptr_array_index (self->plugins, i);
      GListModel *model;
      guint n;

      if (!ferry_plugin_is_loaded (plugin))
        continue;

      model = ferry_plugin_get_features (plugin);
      n = g_list_model_get_n_items (model);
      for (guint j = 0; j < n; j++)
        {
          g_autoptr(FerryFeature) feature = g_list_model_get_item (model, j);

          if (g_type_is_a (ferry_feature_get_gtype (feature), base_type))
            g_ptr_array_add (features, feature);   /* owned by the plugin */
        }
    }

  g_ptr_array_sort (features, compare_features);

  return features;
}
