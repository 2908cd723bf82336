/* ferry-cmd-device.c: `ferry device revoke`: revoke a device of this
 * account, and tell the devices around for a while
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gi18n.h>

#include "ferry-tool.h"
#include "ferry-events.h"

typedef struct {
  char **args;
} Revoke;

gpointer
tool_revoke_options (FerryTool    *tool,
                     GOptionGroup *group)
{
  Revoke *revoke = g_new0 (Revoke, 1);
  const GOptionEntry entries[] = {
    { "timeout", 't', 0, G_OPTION_ARG_CALLBACK, tool_option_timeout,
      N_("Seconds to tell the devices around (default: 3)"), N_("SECS") },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &revoke->args, NULL, NULL },
    G_OPTION_ENTRY_NULL
  };

  g_option_group_add_entries (group, entries);
  return revoke;
}

int
tool_revoke_check (FerryTool *tool,
                   gpointer   state)
{
  Revoke *revoke = state;
  int code = EXIT_OK;

  if (revoke->args == NULL || revoke->args[0] == NULL)
    code = tool_usage_error (_("No device ID given"));
  else if (revoke->args[1] != NULL)
    code = tool_usage_error (_("Unexpected argument “%s”"), revoke->args[1]);
  else if (!tool_is_hex_id (revoke->args[0]))
    code = tool_usage_error (_("Invalid device id “%s”"), revoke->args[0]);
  if (isnan (tool->timeout))
    tool->timeout = 3;
  return code;
}

void
tool_revoke_free (gpointer state)
{
  Revoke *revoke = state;

  g_clear_pointer (&revoke->args, g_strfreev);
  g_free (revoke);
}

/* A full id, or a unique prefix of a device this home knows; NULL after
 * saying why not. */
static char *
full_device_id (const char *home,
                const char *query)
{
  g_autoptr(GPtrArray) devices = ferry_account_list_devices (home);
  g_autofree char *full = NULL;
  guint matches = 0;

  if (strlen (query) == 64)
    return g_ascii_strdown (query, -1);

  for (guint i = 0; i < devices->len; i++)
    {
      const char *id = json_object_get_string_member (g_ptr_array_index (devices, i), "device");

      if (tool_id_has_prefix (id, query))
        {
          matches++;
          g_free (full);
          full = g_strdup (id);
        }
    }
  if (full == NULL || matches > 1)
    {
      tool_print_error (matches > 1 ? _("“%s” matches several devices: give more of the id")
                                    : _("No known device of this account matches “%s”: give the full id"),
                        query);
      return NULL;
    }
  return g_steal_pointer (&full);
}

static gboolean
on_revoke_timeout (gpointer user_data)
{
  tool_quit (user_data, EXIT_OK);
  return G_SOURCE_REMOVE;
}

int
tool_revoke_run (FerryTool *tool,
                 gpointer   state)
{
  Revoke *revoke = state;
  g_autofree char *home = tool_resolve_home (tool);
  g_autofree char *full = full_device_id (home, revoke->args[0]);
  g_autoptr(GError) error = NULL;
  int code;

  if (full == NULL)
    return EXIT_FAILED;
  if (!ferry_account_revoke_device (home, full, &error))
    {
      tool_report_error (tool, NULL, error, _("Cannot revoke"));
      return EXIT_FAILED;
    }

  /* Hand the revocation to the devices met in the next seconds. */
  if ((code = tool_start_online (tool)) != EXIT_OK)
    return code;
  if (tool->json)
    {
      JsonBuilder *builder = tool_json_begin (tool, "revoked");

      tool_json_add_string (builder, "device", full);
      tool_json_end (builder);
    }
  else
    g_print (_("Device %s is revoked; telling the devices around for %.0f s…\n"), full, tool->timeout);
  g_timeout_add ((guint) (tool->timeout * 1000), on_revoke_timeout, tool);
  tool_run_loop (tool, EXIT_OK);
  return EXIT_OK;
}
