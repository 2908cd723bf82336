/* ferry-options.c: the global options of the ferry tool, and --timeout
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The global options are accepted before the command and after it; their
 * callbacks get the FerryTool as the data of their option group.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gi18n.h>

#include "ferry-tool.h"

static gboolean
add_list (GPtrArray  **list,
          const char  *option_name,
          const char  *value,
          GError     **error)
{
  g_auto(GStrv) parts = g_strsplit (value, ",", -1);
  guint added = 0;

  if (*list == NULL)
    *list = g_ptr_array_new_null_terminated (4, g_free, TRUE);

  for (guint i = 0; parts[i] != NULL; i++)
    {
      char *part = g_strstrip (parts[i]);

      if (*part == '\0')
        continue;
      g_ptr_array_add (*list, g_strdup (part));
      added++;
    }

  if (added == 0)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("Empty value for %s"), option_name);
      return FALSE;
    }
  return TRUE;
}

gboolean
tool_option_timeout (const char  *option_name,
                     const char  *value,
                     gpointer     data,
                     GError     **error)
{
  FerryTool *tool = data;
  char *end = NULL;
  double seconds = g_ascii_strtod (value, &end);

  if (end == value || *end != '\0' || !isfinite (seconds) || seconds <= 0 || seconds > 86400)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("Invalid %s “%s”: give a number of seconds greater than 0"),
                   option_name, value);
      return FALSE;
    }
  tool->timeout = seconds;
  return TRUE;
}

static gboolean
option_home (const char  *option_name,
             const char  *value,
             gpointer     data,
             GError     **error)
{
  FerryTool *tool = data;

  if (value[0] == '\0')
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("Empty value for %s"), option_name);
      return FALSE;
    }
  g_free (tool->home);
  tool->home = g_strdup (value);
  return TRUE;
}

static gboolean
option_signaling (const char  *option_name,
                  const char  *value,
                  gpointer     data,
                  GError     **error)
{
  return add_list (&((FerryTool *) data)->signalings, option_name, value, error);
}

static gboolean
option_transport (const char  *option_name,
                  const char  *value,
                  gpointer     data,
                  GError     **error)
{
  return add_list (&((FerryTool *) data)->transports, option_name, value, error);
}

static gboolean
option_interface (const char  *option_name,
                  const char  *value,
                  gpointer     data,
                  GError     **error)
{
  return add_list (&((FerryTool *) data)->interfaces, option_name, value, error);
}

static gboolean
option_dht_proxy (const char  *option_name,
                  const char  *value,
                  gpointer     data,
                  GError     **error)
{
  return add_list (&((FerryTool *) data)->dht_proxies, option_name, value, error);
}

/* The TURN plugin checks the URL in full; here only its shape, without
 * echoing a password back. */
static gboolean
option_turn (const char  *option_name,
             const char  *value,
             gpointer     data,
             GError     **error)
{
  FerryTool *tool = data;

  if (!g_str_has_prefix (value, "turn:") || strchr (value, '@') == NULL)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("Invalid %s “%s”: expected turn:USER:PASS@HOST:PORT[?transport=udp|tcp]"),
                   option_name, strchr (value, '@') ? strrchr (value, '@') + 1 : value);
      return FALSE;
    }
  if (tool->turn_servers == NULL)
    tool->turn_servers = g_ptr_array_new_null_terminated (2, g_free, TRUE);
  g_ptr_array_add (tool->turn_servers, g_strdup (value));
  return TRUE;
}

static gboolean
option_stun (const char  *option_name,
             const char  *value,
             gpointer     data,
             GError     **error)
{
  FerryTool *tool = data;

  if (value[0] == '\0' || strchr (value, ':') == NULL)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("Invalid %s “%s”: expected HOST:PORT"), option_name, value);
      return FALSE;
    }
  g_free (tool->stun_server);
  tool->stun_server = g_strdup (value);
  return TRUE;
}

/* @group must pass @tool to its callbacks. */
void
tool_add_global_options (FerryTool    *tool,
                         GOptionGroup *group)
{
  const GOptionEntry entries[] = {
    { "home", 0, G_OPTION_FLAG_FILENAME, G_OPTION_ARG_CALLBACK, option_home,
      N_("Home directory (default: $FERRY_HOME, then $XDG_DATA_HOME/ferry)"), N_("DIR") },
    { "signaling", 0, 0, G_OPTION_ARG_CALLBACK, option_signaling,
      N_("Signaling plugins to use, comma-separated"), N_("LIST") },
    { "transport", 0, 0, G_OPTION_ARG_CALLBACK, option_transport,
      N_("Transport plugins to use, comma-separated"), N_("LIST") },
    { "interface", 0, 0, G_OPTION_ARG_CALLBACK, option_interface,
      N_("Network interface to use (repeatable)"), N_("NAME") },
    { "dht-proxy", 0, 0, G_OPTION_ARG_CALLBACK, option_dht_proxy,
      N_("OpenDHT proxy for the dht signaling, e.g. http://127.0.0.1:8000 (repeatable); enables dht"), N_("URL") },
    { "turn", 0, 0, G_OPTION_ARG_CALLBACK, option_turn,
      N_("TURN server turn:USER:PASS@HOST:PORT[?transport=udp|tcp] (repeatable); enables turn"),
      N_("URL") },
    { "stun", 0, 0, G_OPTION_ARG_CALLBACK, option_stun,
      N_("STUN server for the ice transport; enables ice"), N_("HOST:PORT") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &tool->json,
      N_("Write JSON, one object per line"), NULL },
    G_OPTION_ENTRY_NULL
  };

  /* The group keeps a copy of the entries. */
  g_option_group_add_entries (group, entries);
}

void
tool_clear_options (FerryTool *tool)
{
  g_clear_pointer (&tool->signalings, g_ptr_array_unref);
  g_clear_pointer (&tool->transports, g_ptr_array_unref);
  g_clear_pointer (&tool->interfaces, g_ptr_array_unref);
  g_clear_pointer (&tool->dht_proxies, g_ptr_array_unref);
  g_clear_pointer (&tool->turn_servers, g_ptr_array_unref);
  g_clear_pointer (&tool->stun_server, g_free);
  g_clear_pointer (&tool->home, g_free);
}
