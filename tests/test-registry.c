/* test-registry.c: loading plugins, and the plugin base classes
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Links the shared library, as plugins do. The test plugins live in
 * tests/plugins/ of the build tree (see tests/plugins/meson.build):
 *   libferry-good.so      "good": a transport and a signaling feature
 *   libferry-gooddup.so   the name "good" again
 *   libferry-abi.so       built for ABI 99.0
 *   libferry-noentry.so   no ferry_plugin_noentry_get_desc symbol
 *   libferry-initfail.so  adds a feature, then register_features fails
 *   libferry-junk.so      a text file
 */
#include "config.h"

#include <unistd.h>

#include <string.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <ferry/ferry.h>

#define N_TEST_PLUGIN_FILES 6

/* Absolute, as the registry reports file names. */
static char *
test_plugin_dir (void)
{
  g_autofree char *dir = g_test_build_filename (G_TEST_BUILT, "plugins", NULL);

  return g_canonicalize_filename (dir, NULL);
}

static char *
test_plugin_file (const char *name)
{
  g_autofree char *dir = test_plugin_dir ();
  g_autofree char *base = g_strdup_printf ("libferry-%s.%s", name, G_MODULE_SUFFIX);

  return g_build_filename (dir, base, NULL);
}

static guint
count_loaded (FerryRegistry *registry)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (registry));
  guint loaded = 0;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(FerryPlugin) plugin = g_list_model_get_item (G_LIST_MODEL (registry), i);

      if (ferry_plugin_is_loaded (plugin))
        loaded++;
    }

  return loaded;
}

/* Loads @name into @registry, expects @code, and checks the item the
 * registry added for it. */
static FerryPlugin *
load_failing (FerryRegistry *registry,
              const char    *name,
              int            code)
{
  g_autofree char *file = test_plugin_file (name);
  g_autoptr(GError) error = NULL;
  g_autoptr(FerryPlugin) item = NULL;
  guint n_before = g_list_model_get_n_items (G_LIST_MODEL (registry));
  FerryPlugin *plugin;

  plugin = ferry_registry_load_file (registry, file, &error);
  g_assert_error (error, FERRY_ERROR, code);
  g_assert_null (plugin);

  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (registry)), ==, n_before + 1);
  item = g_list_model_get_item (G_LIST_MODEL (registry), n_before);
  g_assert_nonnull (item);
  g_assert_false (ferry_plugin_is_loaded (item));
  g_assert_cmpstr (ferry_plugin_get_filename (item), ==, file);
  g_assert_nonnull (ferry_plugin_get_error (item));
  g_assert_error ((GError *) ferry_plugin_get_error (item), FERRY_ERROR, code);
  g_assert_cmpstr (ferry_plugin_get_error (item)->message, ==, error->message);
  g_assert_cmpuint (g_list_model_get_n_items (ferry_plugin_get_features (item)), ==, 0);

  return item;   /* still owned by the registry */
}

static void
on_items_changed (GListModel *model,
                  guint       position,
                  guint       removed,
                  guint       added,
                  gpointer    user_data)
{
  guint *n_added = user_data;

  g_assert_cmpuint (removed, ==, 0);
  g_assert_cmpuint (position + added, ==, g_list_model_get_n_items (model));
  *n_added += added;
}

static void
test_load_good (void)
{
  g_autoptr(FerryRegistry) registry = ferry_registry_new ();
  g_autofree char *file = test_plugin_file ("good");
  g_autoptr(GError) error = NULL;
  g_autoptr(FerryPlugin) item = NULL;
  g_autoptr(FerryFeature) first = NULL;
  g_autoptr(FerryFeature) second = NULL;
  g_autoptr(GPtrArray) transports = NULL;
  g_autoptr(GPtrArray) signalings = NULL;
  g_autoptr(GPtrArray) all = NULL;
  g_autoptr(FerryTransport) transport = NULL;
  g_autoptr(FerrySignaling) signaling = NULL;
  g_auto(GStrv) addresses = NULL;
  FerryFeature *feature;
  FerryPlugin *plugin;
  GListModel *features;
  guint n_added = 0;
  gboolean loaded = FALSE;

  g_assert_true (g_list_model_get_item_type (G_LIST_MODEL (registry)) == FERRY_TYPE_PLUGIN);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (registry)), ==, 0);
  g_signal_connect (registry, "items-changed", G_CALLBACK (on_items_changed), &n_added);

  plugin = ferry_registry_load_file (registry, file, &error);
  g_assert_no_error (error);
  g_assert_true (FERRY_IS_PLUGIN (plugin));
  g_assert_cmpuint (n_added, ==, 1);

  g_assert_true (ferry_plugin_is_loaded (plugin));
  g_assert_null (ferry_plugin_get_error (plugin));
  g_assert_cmpstr (ferry_plugin_get_name (plugin), ==, "good");
  g_assert_cmpstr (ferry_plugin_get_version (plugin), ==, "1.2.3");
  g_assert_cmpstr (ferry_plugin_get_description (plugin), ==, "A test plugin that loads");
  g_assert_cmpstr (ferry_plugin_get_license (plugin), ==, "LGPL-2.1-or-later");
  g_assert_cmpstr (ferry_plugin_get_filename (plugin), ==, file);
  g_object_get (plugin, "loaded", &loaded, NULL);
  g_assert_true (loaded);

  /* The registry's list model holds it. */
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (registry)), ==, 1);
  item = g_list_model_get_item (G_LIST_MODEL (registry), 0);
  g_assert_true (item == plugin);
  g_assert_null (g_list_model_get_item (G_LIST_MODEL (registry), 1));
  g_assert_true (ferry_registry_lookup_plugin (registry, "good") == plugin);
  g_assert_null (ferry_registry_lookup_plugin (registry, "gooddup"));

  /* Its features, in the order it added them. */
  features = ferry_plugin_get_features (plugin);
  g_assert_true (g_list_model_get_item_type (features) == FERRY_TYPE_FEATURE);
  g_assert_cmpuint (g_list_model_get_n_items (features), ==, 2);
  first = g_list_model_get_item (features, 0);
  second = g_list_model_get_item (features, 1);
  g_assert_cmpstr (ferry_feature_get_name (first), ==, "test-good-transport");
  g_assert_cmpstr (g_type_name (ferry_feature_get_gtype (first)), ==, "TestGoodTransport");
  g_assert_true (g_type_is_a (ferry_feature_get_gtype (first), FERRY_TYPE_TRANSPORT));
  g_assert_cmpuint (ferry_feature_get_rank (first), ==, FERRY_RANK_PRIMARY);
  g_assert_true (ferry_feature_get_plugin (first) == plugin);
  g_assert_cmpstr (ferry_feature_get_name (second), ==, "test-good-signaling");
  g_assert_cmpstr (g_type_name (ferry_feature_get_gtype (second)), ==, "TestGoodSignaling");
  g_assert_true (g_type_is_a (ferry_feature_get_gtype (second), FERRY_TYPE_SIGNALING));
  g_assert_cmpuint (ferry_feature_get_rank (second), ==, FERRY_RANK_SECONDARY);
  g_assert_true (ferry_feature_get_plugin (second) == plugin);

  /* Lookups filter by kind. */
  feature = ferry_registry_lookup_feature (registry, FERRY_TYPE_TRANSPORT, "test-good-transport");
  g_assert_true (feature == first);
  g_assert_null (ferry_registry_lookup_feature (registry, FERRY_TYPE_SIGNALING, "test-good-transport"));
  feature = ferry_registry_lookup_feature (registry, FERRY_TYPE_SIGNALING, "test-good-signaling");
  g_assert_true (feature == second);
  g_assert_null (ferry_registry_lookup_feature (registry, FERRY_TYPE_TRANSPORT, "lan"));

  transports = ferry_registry_list_features (registry, FERRY_TYPE_TRANSPORT);
  g_assert_cmpuint (transports->len, ==, 1);
  g_assert_true (g_ptr_array_index (transports, 0) == first);
  signalings = ferry_registry_list_features (registry, FERRY_TYPE_SIGNALING);
  g_assert_cmpuint (signalings->len, ==, 1);
  g_assert_true (g_ptr_array_index (signalings, 0) == second);
  all = ferry_registry_list_features (registry, G_TYPE_OBJECT);
  g_assert_cmpuint (all->len, ==, 2);
  g_assert_true (g_ptr_array_index (all, 0) == first);    /* primary */
  g_assert_true (g_ptr_array_index (all, 1) == second);   /* secondary */

  /* The features' types work. */
  transport = g_object_new (ferry_feature_get_gtype (first),
                            "name", ferry_feature_get_name (first),
                            "rank", ferry_feature_get_rank (first),
                            NULL);
  g_assert_cmpstr (ferry_transport_get_name (transport), ==, "test-good-transport");
  g_assert_cmpuint (ferry_transport_get_rank (transport), ==, FERRY_RANK_PRIMARY);
  g_assert_null (ferry_transport_get_engine (transport));
  addresses = ferry_transport_dup_listen_addresses (transport);
  g_assert_nonnull (addresses);
  g_assert_cmpstr (addresses[0], ==, "test:good");
  g_assert_null (addresses[1]);

  signaling = g_object_new (ferry_feature_get_gtype (second),
                            "name", ferry_feature_get_name (second),
                            NULL);
  g_assert_cmpstr (ferry_signaling_get_name (signaling), ==, "test-good-signaling");

  g_signal_handlers_disconnect_by_func (registry, on_items_changed, &n_added);
}

static void
test_load_abi (void)
{
  g_autoptr(FerryRegistry) registry = ferry_registry_new ();
  FerryPlugin *plugin;
  const char *message;

  plugin = load_failing (registry, "abi", FERRY_ERROR_PLUGIN_ABI);
  message = ferry_plugin_get_error (plugin)->message;
  g_assert_nonnull (strstr (message, "99.0"));
  g_assert_nonnull (strstr (message, "1.0"));
  /* Nothing of a descriptor of another ABI is trusted. */
  g_assert_null (ferry_plugin_get_name (plugin));
  g_assert_null (ferry_registry_lookup_plugin (registry, "abi"));
  g_assert_cmpuint (count_loaded (registry), ==, 0);
}

static void
test_load_noentry (void)
{
  g_autoptr(FerryRegistry) registry = ferry_registry_new ();
  FerryPlugin *plugin;

  plugin = load_failing (registry, "noentry", FERRY_ERROR_PLUGIN_ENTRY);
  g_assert_nonnull (strstr (ferry_plugin_get_error (plugin)->message,
                            "ferry_plugin_noentry_get_desc"));
  g_assert_null (ferry_registry_lookup_plugin (registry, "noentry"));
}

static void
test_load_junk (void)
{
  g_autoptr(FerryRegistry) registry = ferry_registry_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *missing = NULL;
  g_autofree char *dir = test_plugin_dir ();
  g_autoptr(FerryPlugin) item = NULL;

  load_failing (registry, "junk", FERRY_ERROR_NOT_A_PLUGIN);

  /* A file that does not exist is not a plugin either. */
  missing = g_build_filename (dir, "libferry-missing." G_MODULE_SUFFIX, NULL);
  g_assert_null (ferry_registry_load_file (registry, missing, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_NOT_A_PLUGIN);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (registry)), ==, 2);
  item = g_list_model_get_item (G_LIST_MODEL (registry), 1);
  g_assert_cmpstr (ferry_plugin_get_filename (item), ==, missing);
  g_assert_false (ferry_plugin_is_loaded (item));
}

static void
test_load_initfail (void)
{
  g_autoptr(FerryRegistry) registry = ferry_registry_new ();
  g_autoptr(GPtrArray) transports = NULL;
  GTypeClass *klass;
  FerryPlugin *plugin;
  GType type;

  plugin = load_failing (registry, "initfail", FERRY_ERROR_PLUGIN_INIT);
  g_assert_nonnull (strstr (ferry_plugin_get_error (plugin)->message,
                            "the test device is missing"));
  g_assert_cmpstr (ferry_plugin_get_name (plugin), ==, "initfail");
  g_assert_null (ferry_registry_lookup_plugin (registry, "initfail"));

  /* The feature it added before failing is dropped... */
  g_assert_null (ferry_registry_lookup_feature (registry, G_TYPE_OBJECT, "test-initfail-transport"));
  transports = ferry_registry_list_features (registry, FERRY_TYPE_TRANSPORT);
  g_assert_cmpuint (transports->len, ==, 0);

  /* ...but the type it registered stays usable: its code is still there. */
  type = g_type_from_name ("TestInitfailTransport");
  g_assert_true (g_type_is_a (type, FERRY_TYPE_TRANSPORT));
  klass = g_type_class_ref (type);
  g_assert_nonnull (klass);
  g_type_class_unref (klass);
}

static void
test_load_duplicate (void)
{
  g_autoptr(FerryRegistry) registry = ferry_registry_new ();
  g_autofree char *good = test_plugin_file ("good");
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) features = NULL;
  FerryPlugin *plugin;
  FerryPlugin *dup;

  plugin = ferry_registry_load_file (registry, good, &error);
  g_assert_no_error (error);
  g_assert_nonnull (plugin);

  /* Another file with the same plugin name. */
  dup = load_failing (registry, "gooddup", FERRY_ERROR_PLUGIN_DUPLICATE);
  g_assert_cmpstr (ferry_plugin_get_name (dup), ==, "good");
  g_assert_cmpstr (ferry_plugin_get_description (dup), ==,
                   "A test plugin that takes the name of another one");

  /* The same file again. */
  load_failing (registry, "good", FERRY_ERROR_PLUGIN_DUPLICATE);

  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (registry)), ==, 3);
  g_assert_cmpuint (count_loaded (registry), ==, 1);
  g_assert_true (ferry_registry_lookup_plugin (registry, "good") == plugin);
  features = ferry_registry_list_features (registry, G_TYPE_OBJECT);
  g_assert_cmpuint (features->len, ==, 2);
}

static void
test_load_two_registries (void)
{
  g_autoptr(FerryRegistry) a = ferry_registry_new ();
  g_autoptr(FerryRegistry) b = ferry_registry_new ();
  g_autofree char *good = test_plugin_file ("good");
  g_autoptr(GError) error = NULL;
  FerryFeature *fa, *fb;
  FerryPlugin *plugin_a;

  g_assert_nonnull (ferry_registry_load_file (a, good, &error));
  g_assert_no_error (error);
  g_assert_nonnull (ferry_registry_load_file (b, good, &error));
  g_assert_no_error (error);

  fa = ferry_registry_lookup_feature (a, FERRY_TYPE_TRANSPORT, "test-good-transport");
  fb = ferry_registry_lookup_feature (b, FERRY_TYPE_TRANSPORT, "test-good-transport");
  g_assert_nonnull (fa);
  g_assert_nonnull (fb);
  g_assert_true (fa != fb);
  g_assert_true (ferry_feature_get_gtype (fa) == ferry_feature_get_gtype (fb));

  /* A registry going away takes its plugins and features along, and
   * leaves the other one intact. */
  g_object_add_weak_pointer (G_OBJECT (fa), (gpointer *) &fa);
  plugin_a = ferry_feature_get_plugin (fa);
  g_object_add_weak_pointer (G_OBJECT (plugin_a), (gpointer *) &plugin_a);
  g_clear_object (&a);
  g_assert_null (fa);
  g_assert_null (plugin_a);
  g_assert_true (ferry_registry_lookup_feature (b, FERRY_TYPE_TRANSPORT, "test-good-transport") == fb);
}

static void
check_scanned_plugin_dir (FerryRegistry *registry,
                          guint          first)
{
  static const struct {
    const char *file;
    int         code;   /* -1: loads */
  } expected[N_TEST_PLUGIN_FILES] = {
    /* sorted by file name */
    { "abi", FERRY_ERROR_PLUGIN_ABI },
    { "good", -1 },
    { "gooddup", FERRY_ERROR_PLUGIN_DUPLICATE },
    { "initfail", FERRY_ERROR_PLUGIN_INIT },
    { "junk", FERRY_ERROR_NOT_A_PLUGIN },
    { "noentry", FERRY_ERROR_PLUGIN_ENTRY },
  };

  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (registry)), >=, first + N_TEST_PLUGIN_FILES);

  for (guint i = 0; i < N_TEST_PLUGIN_FILES; i++)
    {
      g_autoptr(FerryPlugin) plugin = g_list_model_get_item (G_LIST_MODEL (registry), first + i);
      g_autofree char *file = test_plugin_file (expected[i].file);

      g_test_message ("%s: %s", ferry_plugin_get_filename (plugin),
                      ferry_plugin_get_error (plugin) ? ferry_plugin_get_error (plugin)->message : "loaded");
      g_assert_cmpstr (ferry_plugin_get_filename (plugin), ==, file);
      if (expected[i].code < 0)
        {
          g_assert_true (ferry_plugin_is_loaded (plugin));
          g_assert_null (ferry_plugin_get_error (plugin));
        }
      else
        {
          g_assert_false (ferry_plugin_is_loaded (plugin));
          g_assert_error ((GError *) ferry_plugin_get_error (plugin), FERRY_ERROR, expected[i].code);
        }
    }
}

static void
test_scan_directory (void)
{
  g_autoptr(FerryRegistry) registry = ferry_registry_new ();
  g_autofree char *dir = test_plugin_dir ();
  g_autoptr(GPtrArray) features = NULL;
  FerryPlugin *good;

  ferry_registry_scan_directory (registry, dir);

  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (registry)), ==, N_TEST_PLUGIN_FILES);
  check_scanned_plugin_dir (registry, 0);
  g_assert_cmpuint (count_loaded (registry), ==, 1);

  good = ferry_registry_lookup_plugin (registry, "good");
  g_assert_nonnull (good);
  features = ferry_registry_list_features (registry, G_TYPE_OBJECT);
  g_assert_cmpuint (features->len, ==, 2);
  g_assert_cmpstr (ferry_feature_get_name (g_ptr_array_index (features, 0)), ==, "test-good-transport");
  g_assert_cmpstr (ferry_feature_get_name (g_ptr_array_index (features, 1)), ==, "test-good-signaling");

  /* Scanning again only adds duplicates and the same failures. */
  ferry_registry_scan_directory (registry, dir);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (registry)), ==, 2 * N_TEST_PLUGIN_FILES);
  g_assert_cmpuint (count_loaded (registry), ==, 1);
}

static void
test_scan_ignored (void)
{
  g_autoptr(FerryRegistry) registry = ferry_registry_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = NULL;
  g_autofree char *missing = NULL;
  g_autofree char *readme = NULL;
  g_autofree char *almost = NULL;
  g_autofree char *subdir = NULL;

  tmp = g_dir_make_tmp ("ferry-registry-XXXXXX", &error);
  g_assert_no_error (error);

  /* A directory that does not exist. */
  missing = g_build_filename (tmp, "missing", NULL);
  ferry_registry_scan_directory (registry, missing);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (registry)), ==, 0);

  /* Files that do not look like modules, and a directory that does. */
  readme = g_build_filename (tmp, "README", NULL);
  g_file_set_contents (readme, "not a plugin", -1, &error);
  g_assert_no_error (error);
  almost = g_build_filename (tmp, "libferry-almost." G_MODULE_SUFFIX ".txt", NULL);
  g_file_set_contents (almost, "not a plugin", -1, &error);
  g_assert_no_error (error);
  subdir = g_build_filename (tmp, "libferry-dir." G_MODULE_SUFFIX, NULL);
  g_assert_cmpint (g_mkdir (subdir, 0700), ==, 0);

  ferry_registry_scan_directory (registry, tmp);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (registry)), ==, 0);

  g_assert_cmpint (g_remove (subdir), ==, 0);
  g_assert_cmpint (g_remove (almost), ==, 0);
  g_assert_cmpint (g_remove (readme), ==, 0);
  g_assert_cmpint (g_remove (tmp), ==, 0);
}

static void
test_scan_nested (void)
{
  g_autoptr(FerryRegistry) registry = ferry_registry_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = g_dir_make_tmp ("ferry-registry-XXXXXX", &error);
  g_autofree char *good = test_plugin_file ("good");
  g_autofree char *nested = NULL;
  g_autofree char *hidden = NULL;
  g_autofree char *nested_file = NULL;
  g_autofree char *hidden_file = NULL;
  FerryPlugin *plugin;

  g_assert_no_error (error);
  nested = g_build_filename (tmp, "a", "b", NULL);
  hidden = g_build_filename (tmp, ".hidden", NULL);
  g_assert_cmpint (g_mkdir_with_parents (nested, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (hidden, 0700), ==, 0);
  nested_file = g_build_filename (nested, "libferry-good." G_MODULE_SUFFIX, NULL);
  hidden_file = g_build_filename (hidden, "libferry-good." G_MODULE_SUFFIX, NULL);
  /* Links to the one module: a GType can only be registered once. */
  g_assert_cmpint (symlink (good, nested_file), ==, 0);
  g_assert_cmpint (symlink (good, hidden_file), ==, 0);

  /* Found two levels down; the hidden directory is not entered. */
  ferry_registry_scan_directory (registry, tmp);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (registry)), ==, 1);
  plugin = ferry_registry_lookup_plugin (registry, "good");
  g_assert_nonnull (plugin);
  g_assert_cmpstr (ferry_plugin_get_filename (plugin), ==, nested_file);

  g_remove (nested_file);
  g_remove (hidden_file);
  g_remove (nested);
  g_remove (hidden);
  nested[strlen (nested) - 2] = '\0';
  g_remove (nested);
  g_remove (tmp);
}

/* Static plugins, defined here. */

#define TEST_TYPE_STATIC_TRANSPORT (test_static_transport_get_type ())
G_DECLARE_FINAL_TYPE (TestStaticTransport, test_static_transport, TEST, STATIC_TRANSPORT, FerryTransport)

struct _TestStaticTransport
{
  FerryTransport parent_instance;
};

G_DEFINE_FINAL_TYPE (TestStaticTransport, test_static_transport, FERRY_TYPE_TRANSPORT)

static void
test_static_transport_class_init (TestStaticTransportClass *klass)
{
}

static void
test_static_transport_init (TestStaticTransport *self)
{
}

#define TEST_TYPE_STATIC_SIGNALING (test_static_signaling_get_type ())
G_DECLARE_FINAL_TYPE (TestStaticSignaling, test_static_signaling, TEST, STATIC_SIGNALING, FerrySignaling)

struct _TestStaticSignaling
{
  FerrySignaling parent_instance;
};

G_DEFINE_FINAL_TYPE (TestStaticSignaling, test_static_signaling, FERRY_TYPE_SIGNALING)

static void
test_static_signaling_class_init (TestStaticSignalingClass *klass)
{
}

static void
test_static_signaling_init (TestStaticSignaling *self)
{
}

static gboolean
register_static_features (FerryPlugin  *plugin,
                          GError      **error)
{
  ferry_plugin_add_feature (plugin, "static-b", TEST_TYPE_STATIC_TRANSPORT, FERRY_RANK_SECONDARY);
  ferry_plugin_add_feature (plugin, "static-a", TEST_TYPE_STATIC_TRANSPORT, FERRY_RANK_SECONDARY);
  ferry_plugin_add_feature (plugin, "static-low", TEST_TYPE_STATIC_TRANSPORT, FERRY_RANK_MARGINAL);
  ferry_plugin_add_feature (plugin, "static-top", TEST_TYPE_STATIC_TRANSPORT, 300);
  ferry_plugin_add_feature (plugin, "static-signaling", TEST_TYPE_STATIC_SIGNALING, FERRY_RANK_NONE);

  return TRUE;
}

static gboolean
register_fail_silently (FerryPlugin  *plugin,
                        GError      **error)
{
  ferry_plugin_add_feature (plugin, "silent", TEST_TYPE_STATIC_TRANSPORT, FERRY_RANK_PRIMARY);

  return FALSE;
}

/* Each of these is refused with a warning (checked by the parent process,
 * see test_refused_features). */
static gboolean
register_refused_features (FerryPlugin  *plugin,
                           GError      **error)
{
  ferry_plugin_add_feature (plugin, "not-a-transport", G_TYPE_OBJECT, FERRY_RANK_PRIMARY);
  ferry_plugin_add_feature (plugin, "abstract", FERRY_TYPE_TRANSPORT, FERRY_RANK_PRIMARY);
  ferry_plugin_add_feature (plugin, "Not Valid", TEST_TYPE_STATIC_TRANSPORT, FERRY_RANK_PRIMARY);

  ferry_plugin_add_feature (plugin, "kept", TEST_TYPE_STATIC_TRANSPORT, FERRY_RANK_PRIMARY);

  /* Taken inside this plugin, then by another plugin of the registry. */
  ferry_plugin_add_feature (plugin, "kept", TEST_TYPE_STATIC_SIGNALING, FERRY_RANK_PRIMARY);
  ferry_plugin_add_feature (plugin, "static-a", TEST_TYPE_STATIC_TRANSPORT, FERRY_RANK_PRIMARY);

  return TRUE;
}

static const FerryPluginDesc static_desc = {
  FERRY_PLUGIN_ABI_MAJOR, FERRY_PLUGIN_ABI_MINOR,
  "static", "0.1", "A plugin linked into the test", "LGPL-2.1-or-later",
  register_static_features, { NULL, }
};

static void
check_static_failure (FerryRegistry         *registry,
                      const FerryPluginDesc *desc,
                      int                    code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FerryPlugin) item = NULL;
  guint n = g_list_model_get_n_items (G_LIST_MODEL (registry));

  g_assert_null (ferry_registry_register_static (registry, desc, &error));
  g_assert_error (error, FERRY_ERROR, code);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (registry)), ==, n + 1);
  item = g_list_model_get_item (G_LIST_MODEL (registry), n);
  g_assert_false (ferry_plugin_is_loaded (item));
  g_assert_null (ferry_plugin_get_filename (item));
  g_assert_error ((GError *) ferry_plugin_get_error (item), FERRY_ERROR, code);
  g_assert_cmpuint (g_list_model_get_n_items (ferry_plugin_get_features (item)), ==, 0);
}

static void
test_register_static (void)
{
  g_autoptr(FerryRegistry) registry = ferry_registry_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) transports = NULL;
  g_autoptr(GPtrArray) signalings = NULL;
  static const char * const order[] = { "static-top", "static-a", "static-b", "static-low" };
  FerryPluginDesc desc;
  FerryPlugin *plugin;

  plugin = ferry_registry_register_static (registry, &static_desc, &error);
  g_assert_no_error (error);
  g_assert_nonnull (plugin);
  g_assert_true (ferry_plugin_is_loaded (plugin));
  g_assert_null (ferry_plugin_get_filename (plugin));
  g_assert_cmpstr (ferry_plugin_get_name (plugin), ==, "static");
  g_assert_cmpuint (g_list_model_get_n_items (ferry_plugin_get_features (plugin)), ==, 5);

  /* Highest rank first, then by name. */
  transports = ferry_registry_list_features (registry, FERRY_TYPE_TRANSPORT);
  g_assert_cmpuint (transports->len, ==, G_N_ELEMENTS (order));
  for (guint i = 0; i < G_N_ELEMENTS (order); i++)
    g_assert_cmpstr (ferry_feature_get_name (g_ptr_array_index (transports, i)), ==, order[i]);
  signalings = ferry_registry_list_features (registry, FERRY_TYPE_SIGNALING);
  g_assert_cmpuint (signalings->len, ==, 1);
  g_assert_cmpstr (ferry_feature_get_name (g_ptr_array_index (signalings, 0)), ==, "static-signaling");

  /* Same name again. */
  check_static_failure (registry, &static_desc, FERRY_ERROR_PLUGIN_DUPLICATE);

  /* ABI: another major, or a newer minor. */
  desc = static_desc;
  desc.name = "other";
  desc.abi_major = FERRY_PLUGIN_ABI_MAJOR + 1;
  check_static_failure (registry, &desc, FERRY_ERROR_PLUGIN_ABI);
  desc.abi_major = FERRY_PLUGIN_ABI_MAJOR - 1;
  check_static_failure (registry, &desc, FERRY_ERROR_PLUGIN_ABI);
  desc.abi_major = FERRY_PLUGIN_ABI_MAJOR;
  desc.abi_minor = FERRY_PLUGIN_ABI_MINOR + 1;
  check_static_failure (registry, &desc, FERRY_ERROR_PLUGIN_ABI);

  /* Bad names. */
  desc = static_desc;
  desc.name = NULL;
  check_static_failure (registry, &desc, FERRY_ERROR_PLUGIN_ENTRY);
  desc.name = "";
  check_static_failure (registry, &desc, FERRY_ERROR_PLUGIN_ENTRY);
  desc.name = "Static";
  check_static_failure (registry, &desc, FERRY_ERROR_PLUGIN_ENTRY);
  desc.name = "static/../x";
  check_static_failure (registry, &desc, FERRY_ERROR_PLUGIN_ENTRY);

  /* No register function. */
  desc = static_desc;
  desc.name = "no-register";
  desc.register_features = NULL;
  check_static_failure (registry, &desc, FERRY_ERROR_PLUGIN_ENTRY);

  /* register_features returns FALSE without an error. */
  desc = static_desc;
  desc.name = "silent";
  desc.register_features = register_fail_silently;
  check_static_failure (registry, &desc, FERRY_ERROR_PLUGIN_INIT);
  g_assert_null (ferry_registry_lookup_feature (registry, G_TYPE_OBJECT, "silent"));

  /* None of that changed what is loaded. */
  g_assert_cmpuint (count_loaded (registry), ==, 1);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (registry)), ==, 11);
  g_clear_pointer (&transports, g_ptr_array_unref);
  transports = ferry_registry_list_features (registry, FERRY_TYPE_TRANSPORT);
  g_assert_cmpuint (transports->len, ==, G_N_ELEMENTS (order));
}

static void
test_refused_features (void)
{
  /* g_test_expect_message() does not see structured log messages: the
   * warnings are checked on the subprocess's stderr instead. */
  if (g_test_subprocess ())
    {
      g_autoptr(FerryRegistry) registry = ferry_registry_new ();
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) features = NULL;
      FerryPluginDesc desc = static_desc;
      FerryPlugin *plugin;
      FerryFeature *kept;

      g_log_set_always_fatal (G_LOG_FATAL_MASK);

      g_assert_nonnull (ferry_registry_register_static (registry, &static_desc, &error));
      g_assert_no_error (error);

      desc.name = "refused";
      desc.register_features = register_refused_features;
      plugin = ferry_registry_register_static (registry, &desc, &error);
      g_assert_no_error (error);
      g_assert_nonnull (plugin);

      /* Only the valid feature is there; the other plugin kept its own. */
      g_assert_cmpuint (g_list_model_get_n_items (ferry_plugin_get_features (plugin)), ==, 1);
      kept = ferry_registry_lookup_feature (registry, G_TYPE_OBJECT, "kept");
      g_assert_nonnull (kept);
      g_assert_true (ferry_feature_get_plugin (kept) == plugin);
      g_assert_true (ferry_feature_get_gtype (kept) == TEST_TYPE_STATIC_TRANSPORT);
      g_assert_true (ferry_feature_get_plugin (ferry_registry_lookup_feature (registry, G_TYPE_OBJECT, "static-a"))
                     == ferry_registry_lookup_plugin (registry, "static"));
      features = ferry_registry_list_features (registry, G_TYPE_OBJECT);
      g_assert_cmpuint (features->len, ==, 6);
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("*WARNING*refused*not-a-transport*neither*"
                             "*WARNING*refused*abstract*"
                             "*WARNING*refused*invalid feature name*Not Valid*"
                             "*WARNING*refused*kept*already exists*"
                             "*WARNING*refused*static-a*already exists*");
}

/* The default registry is process-wide: each case runs in a subprocess. */

static void
check_default_registry (guint first)
{
  FerryRegistry *registry = ferry_registry_get_default ();

  g_assert_true (FERRY_IS_REGISTRY (registry));
  g_assert_true (ferry_registry_get_default () == registry);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (registry)), ==, first + N_TEST_PLUGIN_FILES);
  check_scanned_plugin_dir (registry, first);
  g_assert_nonnull (ferry_registry_lookup_feature (registry, FERRY_TYPE_TRANSPORT, "test-good-transport"));
  g_assert_nonnull (ferry_registry_lookup_feature (registry, FERRY_TYPE_SIGNALING, "test-good-signaling"));
}

static void
test_default_plugin_path (void)
{
  if (g_test_subprocess ())
    {
      g_autofree char *dir = test_plugin_dir ();
      g_autofree char *path = g_strjoin (G_SEARCHPATH_SEPARATOR_S,
                                         "/nonexistent/ferry-plugins", "", dir, NULL);

      g_setenv ("FERRY_PLUGIN_PATH", path, TRUE);
      g_setenv ("FERRY_PLUGIN_SYSTEM_PATH", "", TRUE);
      check_default_registry (0);
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

static void
test_default_system_path (void)
{
  if (g_test_subprocess ())
    {
      g_autofree char *dir = test_plugin_dir ();

      /* The system path replaces the install directory. */
      g_unsetenv ("FERRY_PLUGIN_PATH");
      g_setenv ("FERRY_PLUGIN_SYSTEM_PATH", dir, TRUE);
      check_default_registry (0);
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

static void
test_default_empty (void)
{
  if (g_test_subprocess ())
    {
      g_unsetenv ("FERRY_PLUGIN_PATH");
      g_setenv ("FERRY_PLUGIN_SYSTEM_PATH", "", TRUE);
      g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (ferry_registry_get_default ())), ==, 0);
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

static void
test_default_order (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *dir = test_plugin_dir ();
      g_autofree char *good = test_plugin_file ("good");
      g_autofree char *tmp = g_dir_make_tmp ("ferry-plugins-XXXXXX", &error);
      g_autofree char *copy = NULL;
      g_autofree char *path = NULL;
      g_autoptr(GFile) source = NULL;
      g_autoptr(GFile) target = NULL;
      g_autoptr(FerryPlugin) first = NULL;
      g_autoptr(FerryPlugin) later = NULL;
      FerryRegistry *registry;

      g_assert_no_error (error);
      copy = g_build_filename (tmp, "libferry-good." G_MODULE_SUFFIX, NULL);
      source = g_file_new_for_path (good);
      target = g_file_new_for_path (copy);
      g_file_copy (source, target, G_FILE_COPY_NONE, NULL, NULL, NULL, &error);
      g_assert_no_error (error);

      /* The copy comes first on the path: it wins, the original is a
       * duplicate. */
      path = g_strjoin (G_SEARCHPATH_SEPARATOR_S, tmp, dir, NULL);
      g_setenv ("FERRY_PLUGIN_PATH", path, TRUE);
      g_setenv ("FERRY_PLUGIN_SYSTEM_PATH", "", TRUE);

      registry = ferry_registry_get_default ();
      g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (registry)), ==, 1 + N_TEST_PLUGIN_FILES);
      first = g_list_model_get_item (G_LIST_MODEL (registry), 0);
      g_assert_cmpstr (ferry_plugin_get_filename (first), ==, copy);
      g_assert_true (ferry_plugin_is_loaded (first));
      g_assert_true (ferry_registry_lookup_plugin (registry, "good") == first);
      later = g_list_model_get_item (G_LIST_MODEL (registry), 2);
      g_assert_cmpstr (ferry_plugin_get_filename (later), ==, good);
      g_assert_error ((GError *) ferry_plugin_get_error (later), FERRY_ERROR, FERRY_ERROR_PLUGIN_DUPLICATE);

      g_assert_cmpint (g_remove (copy), ==, 0);
      g_assert_cmpint (g_remove (tmp), ==, 0);
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

/* The base classes. */

#define TEST_TYPE_BARE_TRANSPORT (test_bare_transport_get_type ())
G_DECLARE_FINAL_TYPE (TestBareTransport, test_bare_transport, TEST, BARE_TRANSPORT, FerryTransport)

struct _TestBareTransport
{
  FerryTransport parent_instance;
};

G_DEFINE_FINAL_TYPE (TestBareTransport, test_bare_transport, FERRY_TYPE_TRANSPORT)

static void
test_bare_transport_class_init (TestBareTransportClass *klass)
{
}

static void
test_bare_transport_init (TestBareTransport *self)
{
}

#define TEST_TYPE_BARE_SIGNALING (test_bare_signaling_get_type ())
G_DECLARE_FINAL_TYPE (TestBareSignaling, test_bare_signaling, TEST, BARE_SIGNALING, FerrySignaling)

struct _TestBareSignaling
{
  FerrySignaling parent_instance;
};

G_DEFINE_FINAL_TYPE (TestBareSignaling, test_bare_signaling, FERRY_TYPE_SIGNALING)

static void
test_bare_signaling_class_init (TestBareSignalingClass *klass)
{
}

static void
test_bare_signaling_init (TestBareSignaling *self)
{
}

/* A signaling that implements sending with a GTask and no send_finish. */
#define TEST_TYPE_ECHO_SIGNALING (test_echo_signaling_get_type ())
G_DECLARE_FINAL_TYPE (TestEchoSignaling, test_echo_signaling, TEST, ECHO_SIGNALING, FerrySignaling)

struct _TestEchoSignaling
{
  FerrySignaling parent_instance;
  guint          started;
  guint          stopped;
  char          *queried;
};

G_DEFINE_FINAL_TYPE (TestEchoSignaling, test_echo_signaling, FERRY_TYPE_SIGNALING)

static gboolean
test_echo_signaling_start (FerrySignaling  *signaling,
                           GError         **error)
{
  TestEchoSignaling *self = TEST_ECHO_SIGNALING (signaling);

  if (self->started++ > 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_BUSY, "started twice");
      return FALSE;
    }

  return TRUE;
}

static void
test_echo_signaling_stop (FerrySignaling *signaling)
{
  TEST_ECHO_SIGNALING (signaling)->stopped++;
}

static void
test_echo_signaling_query (FerrySignaling *signaling,
                           const char     *account_id)
{
  TestEchoSignaling *self = TEST_ECHO_SIGNALING (signaling);

  g_free (self->queried);
  self->queried = g_strdup (account_id != NULL ? account_id : "*");
}

/* Sending echoes the message back as received from @route. */
static void
test_echo_signaling_send_async (FerrySignaling      *signaling,
                                const char          *route,
                                GBytes              *message,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (signaling, cancellable, callback, user_data);

  ferry_signaling_emit_message (signaling, message, route);
  g_task_return_boolean (task, TRUE);
}

static void
test_echo_signaling_finalize (GObject *object)
{
  g_free (TEST_ECHO_SIGNALING (object)->queried);

  G_OBJECT_CLASS (test_echo_signaling_parent_class)->finalize (object);
}

static void
test_echo_signaling_class_init (TestEchoSignalingClass *klass)
{
  FerrySignalingClass *signaling_class = FERRY_SIGNALING_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = test_echo_signaling_finalize;
  signaling_class->start = test_echo_signaling_start;
  signaling_class->stop = test_echo_signaling_stop;
  signaling_class->query = test_echo_signaling_query;
  signaling_class->send_async = test_echo_signaling_send_async;
}

static void
test_echo_signaling_init (TestEchoSignaling *self)
{
}

static gboolean
timed_out_cb (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterates the default main context until *@result is set, or fails. */
static void
await_result (GAsyncResult **result)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add_seconds (10, timed_out_cb, &timed_out);

  while (*result == NULL && !timed_out)
    g_main_context_iteration (NULL, TRUE);

  g_assert_false (timed_out);
  g_source_remove (id);
}

static void
store_result (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  GAsyncResult **out = user_data;

  g_assert_null (*out);
  *out = g_object_ref (result);
}

typedef struct {
  guint   count;
  GBytes *bytes;
  char   *route;
} Received;

static void
received_clear (Received *received)
{
  g_clear_pointer (&received->bytes, g_bytes_unref);
  g_clear_pointer (&received->route, g_free);
}

static void
on_received (FerrySignaling *signaling,
             GBytes         *bytes,
             const char     *route,
             gpointer        user_data)
{
  Received *received = user_data;

  received_clear (received);
  received->count++;
  received->bytes = g_bytes_ref (bytes);
  received->route = g_strdup (route);
}

static void
test_signaling_base (void)
{
  g_autoptr(FerrySignaling) bare = NULL;
  g_autoptr(FerrySignaling) echo = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GBytes) payload = g_bytes_new_static ("hello", 5);
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;
  FerryEngine *engine = (FerryEngine *) 0x1;
  Received announcements = { 0, };
  Received messages = { 0, };
  gboolean done;

  bare = g_object_new (TEST_TYPE_BARE_SIGNALING, "name", "bare", NULL);
  g_assert_cmpstr (ferry_signaling_get_name (bare), ==, "bare");
  g_object_get (bare, "name", &name, "engine", &engine, NULL);
  g_assert_cmpstr (name, ==, "bare");
  g_assert_null (engine);
  g_assert_null (ferry_signaling_get_engine (bare));

  /* Without implementations: start succeeds, the rest does nothing... */
  g_assert_true (ferry_signaling_start (bare, &error));
  g_assert_no_error (error);
  ferry_signaling_query (bare, NULL);
  ferry_signaling_stop (bare);

  /* ...and sending is not supported, reported asynchronously. */
  ferry_signaling_send_async (bare, "route", payload, NULL, store_result, &result);
  g_assert_null (result);
  await_result (&result);
  done = ferry_signaling_send_finish (bare, result, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
  g_assert_false (done);
  g_clear_error (&error);
  g_clear_object (&result);

  /* The signals carry the bytes and the route. */
  g_signal_connect (bare, "announcement-received", G_CALLBACK (on_received), &announcements);
  g_signal_connect (bare, "message-received", G_CALLBACK (on_received), &messages);
  ferry_signaling_emit_announcement (bare, payload, "127.0.0.1:47474");
  g_assert_cmpuint (announcements.count, ==, 1);
  g_assert_cmpuint (messages.count, ==, 0);
  g_assert_true (g_bytes_equal (announcements.bytes, payload));
  g_assert_cmpstr (announcements.route, ==, "127.0.0.1:47474");
  ferry_signaling_emit_message (bare, payload, "inbox");
  g_assert_cmpuint (announcements.count, ==, 1);
  g_assert_cmpuint (messages.count, ==, 1);
  g_assert_true (g_bytes_equal (messages.bytes, payload));
  g_assert_cmpstr (messages.route, ==, "inbox");
  received_clear (&announcements);
  received_clear (&messages);
  messages.count = 0;

  /* With implementations, the wrappers call them. */
  echo = g_object_new (TEST_TYPE_ECHO_SIGNALING, "name", "echo", NULL);
  g_signal_connect (echo, "message-received", G_CALLBACK (on_received), &messages);
  g_assert_true (ferry_signaling_start (echo, &error));
  g_assert_no_error (error);
  g_assert_false (ferry_signaling_start (echo, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_BUSY);
  g_clear_error (&error);
  ferry_signaling_query (echo, "0123abcd");
  g_assert_cmpstr (TEST_ECHO_SIGNALING (echo)->queried, ==, "0123abcd");
  ferry_signaling_query (echo, NULL);
  g_assert_cmpstr (TEST_ECHO_SIGNALING (echo)->queried, ==, "*");

  ferry_signaling_send_async (echo, "peer-route", payload, NULL, store_result, &result);
  await_result (&result);
  g_assert_true (ferry_signaling_send_finish (echo, result, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (messages.count, ==, 1);
  g_assert_cmpstr (messages.route, ==, "peer-route");
  g_assert_true (g_bytes_equal (messages.bytes, payload));
  received_clear (&messages);

  ferry_signaling_stop (echo);
  g_assert_cmpuint (TEST_ECHO_SIGNALING (echo)->stopped, ==, 1);
}

static void
test_transport_base (void)
{
  g_autoptr(FerryTransport) transport = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) remote = json_object_new ();
  g_autoptr(JsonObject) description = NULL;
  g_autoptr(GIOStream) stream = NULL;
  char *text = (char *) "untouched";
  guint rank = 0;

  transport = g_object_new (TEST_TYPE_BARE_TRANSPORT,
                            "name", "bare",
                            "rank", FERRY_RANK_SECONDARY,
                            NULL);
  g_assert_cmpstr (ferry_transport_get_name (transport), ==, "bare");
  g_assert_cmpuint (ferry_transport_get_rank (transport), ==, FERRY_RANK_SECONDARY);
  g_object_get (transport, "rank", &rank, NULL);
  g_assert_cmpuint (rank, ==, FERRY_RANK_SECONDARY);
  g_assert_null (ferry_transport_get_engine (transport));

  g_assert_true (ferry_transport_start (transport, &error));
  g_assert_no_error (error);
  g_assert_null (ferry_transport_dup_listen_addresses (transport));
  ferry_transport_release (transport, "attempt");

  ferry_transport_describe_async (transport, "attempt", TRUE, NULL, store_result, &result);
  g_assert_null (result);
  await_result (&result);
  description = ferry_transport_describe_finish (transport, result, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
  g_assert_null (description);
  g_clear_error (&error);
  g_clear_object (&result);

  ferry_transport_connect_async (transport, "attempt", FALSE, remote, NULL, store_result, &result);
  g_assert_null (result);
  await_result (&result);
  stream = ferry_transport_connect_finish (transport, result, &text, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
  g_assert_null (stream);
  g_assert_null (text);
  g_clear_error (&error);
  g_clear_object (&result);

  ferry_transport_stop (transport);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/registry/load/good", test_load_good);
  g_test_add_func ("/registry/load/abi", test_load_abi);
  g_test_add_func ("/registry/load/noentry", test_load_noentry);
  g_test_add_func ("/registry/load/junk", test_load_junk);
  g_test_add_func ("/registry/load/initfail", test_load_initfail);
  g_test_add_func ("/registry/load/duplicate", test_load_duplicate);
  g_test_add_func ("/registry/load/two-registries", test_load_two_registries);
  g_test_add_func ("/registry/scan/plugin-dir", test_scan_directory);
  g_test_add_func ("/registry/scan/nested", test_scan_nested);
  g_test_add_func ("/registry/scan/ignored", test_scan_ignored);
  g_test_add_func ("/registry/static", test_register_static);
  g_test_add_func ("/registry/refused-features", test_refused_features);
  g_test_add_func ("/registry/default/plugin-path", test_default_plugin_path);
  g_test_add_func ("/registry/default/system-path", test_default_system_path);
  g_test_add_func ("/registry/default/empty", test_default_empty);
  g_test_add_func ("/registry/default/order", test_default_order);
  g_test_add_func ("/signaling/base", test_signaling_base);
  g_test_add_func ("/transport/base", test_transport_base);

  return g_test_run ();
}
