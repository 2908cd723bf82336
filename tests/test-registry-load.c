/* test-registry-load.c: loading plugin files: one by one, by scanning a
 * directory, and the default registry's search path
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

#include "test-registry-common.h"

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
  g_test_add_func ("/registry/default/plugin-path", test_default_plugin_path);
  g_test_add_func ("/registry/default/system-path", test_default_system_path);
  g_test_add_func ("/registry/default/empty", test_default_empty);
  g_test_add_func ("/registry/default/order", test_default_order);

  return g_test_run ();
}
