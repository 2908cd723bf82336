/* ferry-cmd-peers.c: `ferry peers`: the devices seen through signaling
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <math.h>

#include <glib/gi18n.h>

#include "ferry-tool.h"
#include "ferry-escape.h"
#include "ferry-events.h"

gpointer
tool_peers_options (FerryTool    *tool,
                    GOptionGroup *group)
{
  const GOptionEntry entries[] = {
    { "timeout", 't', 0, G_OPTION_ARG_CALLBACK, tool_option_timeout,
      N_("Seconds to listen for devices (default: 2)"), N_("SECS") },
    G_OPTION_ENTRY_NULL
  };

  g_option_group_add_entries (group, entries);
  return NULL;
}

int
tool_peers_check (FerryTool *tool,
                  gpointer   state)
{
  if (isnan (tool->timeout))
    tool->timeout = 2;
  return EXIT_OK;
}

static gboolean
on_peers_timeout (gpointer user_data)
{
  tool_quit (user_data, EXIT_OK);
  return G_SOURCE_REMOVE;
}

static void
print_device (FerryTool   *tool,
              FerryDevice *device)
{
  JsonBuilder *builder;

  if (!tool->json)
    {
      g_autofree char *id = tool_escape (ferry_device_get_device_id (device), TOOL_NAME_WIDTH * 2);
      g_autofree char *name = tool_escape (ferry_device_get_name (device), TOOL_NAME_WIDTH);

      g_print (_("  device   %s  “%s” via %s\n"), id, name, ferry_device_get_signaling (device));
      return;
    }

  builder = tool_json_begin (tool, NULL);
  tool_json_add_string (builder, "account", ferry_device_get_account_id (device));
  tool_json_add_string (builder, "device", ferry_device_get_device_id (device));
  tool_json_add_string (builder, "name", ferry_device_get_name (device));
  tool_json_add_string (builder, "signaling", ferry_device_get_signaling (device));
  tool_json_add_int (builder, "seen_ms_ago",
                     (g_get_monotonic_time () - ferry_device_get_last_seen (device)) / 1000);
  tool_json_end (builder);
}

int
tool_peers_run (FerryTool *tool,
                gpointer   state)
{
  GListModel *peers;
  guint n_peers, n_devices = 0;
  int code;

  if ((code = tool_start_online (tool)) != EXIT_OK)
    return code;

  g_timeout_add ((guint) (tool->timeout * 1000), on_peers_timeout, tool);
  code = tool_run_loop (tool, EXIT_OK);

  peers = ferry_engine_get_peers (tool->engine);
  n_peers = g_list_model_get_n_items (peers);
  for (guint i = 0; i < n_peers; i++)
    {
      g_autoptr(FerryPeer) peer = g_list_model_get_item (peers, i);
      GListModel *devices = ferry_peer_get_devices (peer);
      guint n = g_list_model_get_n_items (devices);

      if (!tool->json)
        {
          g_autofree char *name = tool_escape (ferry_peer_get_name (peer), TOOL_NAME_WIDTH);
          g_autofree char *account = tool_escape (ferry_peer_get_account_id (peer), TOOL_NAME_WIDTH * 2);

          g_print ("%s\n  %s  %s\n", name, _("account"), account);
        }

      for (guint j = 0; j < n; j++)
        {
          g_autoptr(FerryDevice) device = g_list_model_get_item (devices, j);

          n_devices++;
          print_device (tool, device);
        }
    }

  if (!tool->json && n_devices == 0)
    g_printerr (_("No device found.\n"));

  return code;
}
