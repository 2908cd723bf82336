/* ferry-cmd-history.c: `ferry history`: past transfers, newest first
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "ferry-tool.h"
#include "ferry-events.h"

static const char *
member_string (JsonObject *object,
               const char *member,
               const char *fallback)
{
  return json_object_get_string_member_with_default (object, member, fallback);
}

static JsonObject *
member_object (JsonObject *object,
               const char *member)
{
  JsonNode *node = json_object_get_member (object, member);

  return node && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

static JsonArray *
member_array (JsonObject *object,
              const char *member)
{
  JsonNode *node = json_object_get_member (object, member);

  return node && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
}

/* The first line: when, which transfer, with whom, how it went */
static void
print_summary (JsonObject *record)
{
  JsonObject *peer = member_object (record, "peer");
  JsonObject *error = member_object (record, "error");
  gboolean incoming = g_strcmp0 (member_string (record, "direction", ""), "incoming") == 0;
  g_autoptr(GDateTime) when = g_date_time_new_from_unix_local (json_object_get_int_member_with_default (record, "created", 0) / 1000);
  g_autofree char *date = when ? g_date_time_format (when, "%Y-%m-%d %H:%M:%S") : g_strdup ("?");
  g_autofree char *total = g_format_size (json_object_get_int_member_with_default (record, "total", 0));
  g_autofree char *moved = g_format_size (json_object_get_int_member_with_default (record, "moved", 0));
  const char *account = peer ? member_string (peer, "account", "") : "";

  g_print ("%s  %s  %s %s  %s (%.12s)  %s, %s moved\n", date,
           member_string (record, "id", "?"),
           incoming ? _("from") : _("to"),
           member_string (record, "state", "?"),
           peer ? member_string (peer, "name", "?") : "?",
           account ? account : "", total, moved);
  if (error != NULL)
    g_print ("    %s\n", member_string (error, "message", ""));
}

static void
print_files (JsonArray *files)
{
  for (guint i = 0; files != NULL && i < json_array_get_length (files); i++)
    {
      JsonNode *node = json_array_get_element (files, i);
      JsonObject *file;
      g_autofree char *size = NULL;
      const char *part;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;
      file = json_node_get_object (node);
      size = g_format_size (json_object_get_int_member_with_default (file, "size", 0));
      part = member_string (file, "part", NULL);
      g_print ("    %s  %s  sha3-256 %s", member_string (file, "path", member_string (file, "name", "?")),
               size, member_string (file, "sha3-256", "-"));
      if (part != NULL)
        {
          g_autofree char *have = g_format_size (json_object_get_int_member_with_default (file, "part-bytes", 0));

          g_print (_("  (kept %s: %s)"), part, have);
        }
      g_print ("\n");
    }
}

static void
print_devices (JsonArray *devices)
{
  for (guint i = 0; devices != NULL && i < json_array_get_length (devices); i++)
    {
      JsonNode *node = json_array_get_element (devices, i);
      JsonObject *device;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;
      device = json_node_get_object (node);
      g_print (_("    device %s (%.12s): %s, transfer %s\n"),
               member_string (device, "name", "?"),
               member_string (device, "device", ""),
               member_string (device, "state", "?"),
               member_string (device, "transfer", "?"));
    }
}

static void
print_record (JsonObject *record)
{
  print_summary (record);
  print_files (member_array (record, "files"));
  print_devices (member_array (record, "devices"));
}

int
tool_history_run (FerryTool *tool,
                  gpointer   state)
{
  g_autoptr(JsonArray) records = NULL;
  int code;

  if ((code = tool_open_engine (tool)) != EXIT_OK)
    return code;

  records = ferry_engine_get_history (tool->engine);
  for (guint i = 0; i < json_array_get_length (records); i++)
    {
      JsonObject *record = json_array_get_object_element (records, i);

      if (tool->json)
        {
          g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), record);
          g_autofree char *text = json_to_string (node, FALSE);

          g_print ("%s\n", text);
        }
      else
        print_record (record);
    }
  if (!tool->json && json_array_get_length (records) == 0)
    g_print (_("No transfer yet.\n"));
  return EXIT_OK;
}
