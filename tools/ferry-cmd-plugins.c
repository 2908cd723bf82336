/* ferry-cmd-plugins.c: `ferry plugins`: plugins, their features, ranks,
 * versions and load errors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdio.h>

#include <glib/gi18n.h>

#include "ferry-tool.h"
#include "ferry-events.h"

static const char *
feature_kind (FerryFeature *feature)
{
  GType type = ferry_feature_get_gtype (feature);

  if (g_type_is_a (type, FERRY_TYPE_TRANSPORT))
    return "transport";
  if (g_type_is_a (type, FERRY_TYPE_SIGNALING))
    return "signaling";
  return "other";
}

static void
print_json (FerryTool   *tool,
            FerryPlugin *plugin)
{
  GListModel *features = ferry_plugin_get_features (plugin);
  guint n_features = features ? g_list_model_get_n_items (features) : 0;
  const GError *error = ferry_plugin_get_error (plugin);
  JsonBuilder *builder = tool_json_begin (tool, NULL);

  tool_json_add_string (builder, "name", ferry_plugin_get_name (plugin));
  tool_json_add_string (builder, "version", ferry_plugin_get_version (plugin));
  tool_json_add_string (builder, "description", ferry_plugin_get_description (plugin));
  tool_json_add_string (builder, "license", ferry_plugin_get_license (plugin));
  tool_json_add_string (builder, "filename", ferry_plugin_get_filename (plugin));
  json_builder_set_member_name (builder, "features");
  json_builder_begin_array (builder);
  for (guint j = 0; j < n_features; j++)
    {
      g_autoptr(FerryFeature) feature = g_list_model_get_item (features, j);
      g_autoptr(GError) check_error = NULL;
      gboolean active = ferry_engine_check_feature (tool->engine, feature, &check_error);

      json_builder_begin_object (builder);
      tool_json_add_string (builder, "name", ferry_feature_get_name (feature));
      tool_json_add_string (builder, "kind", feature_kind (feature));
      tool_json_add_int (builder, "rank", ferry_feature_get_rank (feature));
      json_builder_set_member_name (builder, "active");
      json_builder_add_boolean_value (builder, active);
      tool_json_add_string (builder, "inactive_reason", active ? NULL : check_error->message);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  tool_json_add_string (builder, "error", error ? error->message : NULL);
  tool_json_end (builder);
}

static void
print_text (FerryTool   *tool,
            FerryPlugin *plugin)
{
  GListModel *features = ferry_plugin_get_features (plugin);
  guint n_features = features ? g_list_model_get_n_items (features) : 0;
  const GError *error = ferry_plugin_get_error (plugin);
  const char *name = ferry_plugin_get_name (plugin);
  const char *filename = ferry_plugin_get_filename (plugin);
  g_autofree char *basename = filename ? g_path_get_basename (filename) : NULL;
  const char *version = ferry_plugin_get_version (plugin);
  const char *description = ferry_plugin_get_description (plugin);

  g_print ("%s%s%s%s%s\n", name ? name : (basename ? basename : "?"),
           version ? " " : "", version ? version : "",
           description ? ": " : "", description ? description : "");
  if (filename != NULL)
    g_print (_("  file       %s\n"), filename);
  for (guint j = 0; j < n_features; j++)
    {
      g_autoptr(FerryFeature) feature = g_list_model_get_item (features, j);
      g_autoptr(GError) check_error = NULL;

      /* TRANSLATORS: a plugin feature: kind, name, rank */
      g_print (_("  %-10s %s, rank %u\n"), feature_kind (feature),
               ferry_feature_get_name (feature), ferry_feature_get_rank (feature));
      /* Whether its configuration lets it work (e.g. a server is set). */
      if (!ferry_engine_check_feature (tool->engine, feature, &check_error))
        g_print (_("  %-10s inactive: %s\n"), "", check_error->message);
    }
  if (error != NULL)
    g_print (_("  not loaded: %s\n"), error->message);
}

int
tool_plugins_run (FerryTool *tool,
                  gpointer   state)
{
  GListModel *plugins;
  guint n;
  int code;

  if ((code = tool_open_engine (tool)) != EXIT_OK)
    return code;

  plugins = G_LIST_MODEL (ferry_engine_get_registry (tool->engine));
  n = g_list_model_get_n_items (plugins);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(FerryPlugin) plugin = g_list_model_get_item (plugins, i);

      if (tool->json)
        print_json (tool, plugin);
      else
        print_text (tool, plugin);
    }

  if (!tool->json && n == 0)
    g_printerr (_("No plugin found.\n"));

  fflush (stdout);
  return EXIT_OK;
}
