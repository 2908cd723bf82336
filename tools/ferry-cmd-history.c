/* ferry-cmd-history.c: `ferry history`: past transfers, newest first
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "ferry-tool.h"
#include "ferry-escape.h"
#include "ferry-events.h"

static const char *
member_string (JsonObject *object,
               const char *member,
               const char *fallback)
{
  return json_object_get_string_member_with_default (object, member, fallback);
}

/* A string of the record, escaped for the terminal: history keeps what
 * peers said (names, file names, reasons). */
static char *
member_text (JsonObject *object,
             const char *member,
             const char *fallback,
             gsize       max_chars)
{
  return tool_escape (member_string (object, member, fallback), max_chars);
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
  g_autofree char *id = member_text (record, "id", "?", TOOL_NAME_WIDTH);
  g_autofree char *state = member_text (record, "state", "?", TOOL_NAME_WIDTH);
  g_autofree char *name = peer ? member_text (peer, "name", "?", TOOL_NAME_WIDTH) : g_strdup ("?");
  g_autofree char *account = peer ? member_text (peer, "account", "", TOOL_NAME_WIDTH) : g_strdup ("");

  g_print ("%s  %s  %s %s  %s (%.12s)  %s, %s moved\n", date, id,
           incoming ? _("from") : _("to"), state, name,
           account ? account : "", total, moved);
  if (error != NULL)
    {
      g_autofree char *message = member_text (error, "message", "", TOOL_MESSAGE_WIDTH);
      g_print ("    %s\n", message);
    }
}

static void
print_files (JsonArray *files)
{
  for (guint i = 0; files != NULL && i < json_array_get_length (files); i++)
    {
      JsonNode *node = json_array_get_element (files, i);
      JsonObject *file;
      g_autofree char *size = NULL;
      g_autofree char *path = NULL;
      g_autofree char *sha3 = NULL;
      g_autofree char *part = NULL;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;
      file = json_node_get_object (node);
      size = g_format_size (json_object_get_int_member_with_default (file, "size", 0));
      path = member_text (file, "path", member_string (file, "name", "?"), TOOL_NO_LIMIT);
      sha3 = member_text (file, "sha3-256", "-", TOOL_NAME_WIDTH);
      part = member_text (file, "part", NULL, TOOL_NO_LIMIT);
      g_print ("    %s  %s  sha3-256 %s", path, size, sha3);
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
      g_autofree char *name = NULL;
      g_autofree char *id = NULL;
      g_autofree char *state = NULL;
      g_autofree char *transfer = NULL;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;
      device = json_node_get_object (node);
      name = member_text (device, "name", "?", TOOL_NAME_WIDTH);
      id = member_text (device, "device", "", TOOL_NAME_WIDTH);
      state = member_text (device, "state", "?", TOOL_NAME_WIDTH);
      transfer = member_text (device, "transfer", "?", TOOL_NAME_WIDTH);
      g_print (_("    device %s (%.12s): %s, transfer %s\n"), name, id, state, transfer);
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
          g_autofree char *safe = tool_json_escape_extra (text);

          g_print ("%s\n", safe);
        }
      else
        print_record (record);
    }
  if (!tool->json && json_array_get_length (records) == 0)
    g_print (_("No transfer yet.\n"));
  return EXIT_OK;
}
