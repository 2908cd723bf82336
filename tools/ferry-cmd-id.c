/* ferry-cmd-id.c: `ferry id`: this device's account, device and name,
 * and the devices of its account
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdio.h>

#include <glib/gi18n.h>

#include "ferry-tool.h"
#include "ferry-escape.h"
#include "ferry-events.h"

static void
print_json (FerryTool     *tool,
            FerryIdentity *identity,
            GPtrArray     *devices)
{
  JsonBuilder *builder = tool_json_begin (tool, NULL);

  tool_json_add_string (builder, "account", ferry_identity_get_account_id (identity));
  tool_json_add_string (builder, "device", ferry_identity_get_device_id (identity));
  tool_json_add_string (builder, "name", ferry_identity_get_name (identity));
  json_builder_set_member_name (builder, "devices");
  json_builder_begin_array (builder);
  for (guint i = 0; i < devices->len; i++)
    {
      JsonObject *entry = g_ptr_array_index (devices, i);
      g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), entry);

      if (json_object_get_boolean_member (entry, "this"))
        json_object_set_string_member (entry, "name", ferry_identity_get_name (identity));
      json_builder_add_value (builder, g_steal_pointer (&node));
    }
  json_builder_end_array (builder);
  tool_json_end (builder);
}

static void
print_text (FerryIdentity *identity,
            GPtrArray     *devices)
{
  g_print (_("account  %s\n"), ferry_identity_get_account_id (identity));
  g_print (_("device   %s\n"), ferry_identity_get_device_id (identity));
  g_print (_("name     %s\n"), ferry_identity_get_name (identity));
  g_print (_("devices of this account:\n"));
  for (guint i = 0; i < devices->len; i++)
    {
      JsonObject *entry = g_ptr_array_index (devices, i);
      gboolean this = json_object_get_boolean_member (entry, "this");
      gboolean revoked = json_object_get_boolean_member (entry, "revoked");
      gint64 seen = json_object_get_int_member (entry, "last-seen");
      g_autoptr(GDateTime) when = seen > 0 ? g_date_time_new_from_unix_local (seen / 1000) : NULL;
      g_autofree char *date = when ? g_date_time_format (when, "%Y-%m-%d %H:%M") : g_strdup ("-");
      /* Another device's name: as that device announced it. */
      g_autofree char *name = tool_escape (this ? ferry_identity_get_name (identity)
                                                : json_object_get_string_member (entry, "name"),
                                           TOOL_NAME_WIDTH);

      g_print ("  %s  %-16s  %s%s%s\n", json_object_get_string_member (entry, "device"),
               name,
               this ? _("this device") : date,
               revoked ? "  " : "",
               revoked ? _("REVOKED") : "");
    }
}

/* Also the end of `ferry account import`, which opens no engine before. */
int
tool_id_run (FerryTool *tool,
             gpointer   state)
{
  FerryIdentity *identity;
  g_autoptr(GPtrArray) devices = NULL;
  int code;

  if (tool->engine == NULL && (code = tool_open_engine (tool)) != EXIT_OK)
    return code;

  identity = ferry_engine_get_identity (tool->engine);
  devices = ferry_account_list_devices (ferry_engine_get_home (tool->engine));
  if (tool->json)
    print_json (tool, identity, devices);
  else
    print_text (identity, devices);
  fflush (stdout);
  return EXIT_OK;
}
