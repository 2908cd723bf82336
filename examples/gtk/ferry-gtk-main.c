/* ferry-gtk-main.c: the command line of the Ferry GTK example
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   ferry-gtk [--home DIR] [--dir DIR] [--interface NAME]... [--signaling LIST]
 *             [--transport LIST] [--dht-proxy URL]... [--turn URL]...
 *             [--stun HOST:PORT] [--accept-all] [--app-id ID] [--json]
 *
 * The options are those of the `ferry` tool. --app-id names the instance
 * on the session bus (scripts and tests run several side by side); --json
 * writes what happens as JSON lines on stdout.
 */

#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>

#include "ferry-gtk.h"

int
main (int   argc,
      char *argv[])
{
  FerryGtkOptions options = { 0 };
  g_autofree char *app_id = NULL;
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(FerryGtkApp) app = NULL;
  g_autoptr(GError) error = NULL;
  char *args[] = { argv[0], NULL };
  GOptionEntry entries[] = {
    { "home", 0, 0, G_OPTION_ARG_FILENAME, &options.home,
      N_("Home directory (default: $FERRY_HOME, then $XDG_DATA_HOME/ferry)"), N_("DIR") },
    { "dir", 'd', 0, G_OPTION_ARG_FILENAME, &options.dir,
      N_("Folder to save files in (default: the download folder)"), N_("DIR") },
    { "interface", 0, 0, G_OPTION_ARG_STRING_ARRAY, &options.interfaces,
      N_("Network interface to use (repeatable)"), N_("NAME") },
    { "signaling", 0, 0, G_OPTION_ARG_STRING, &options.signalings,
      N_("Signaling plugins to use, comma-separated"), N_("LIST") },
    { "transport", 0, 0, G_OPTION_ARG_STRING, &options.transports,
      N_("Transport plugins to use, comma-separated"), N_("LIST") },
    { "dht-proxy", 0, 0, G_OPTION_ARG_STRING_ARRAY, &options.dht_proxies,
      N_("OpenDHT proxy for the dht signaling, e.g. http://127.0.0.1:8000 (repeatable); enables dht"), N_("URL") },
    { "turn", 0, 0, G_OPTION_ARG_STRING_ARRAY, &options.turn_servers,
      N_("TURN server turn:USER:PASS@HOST:PORT[?transport=udp|tcp] (repeatable); enables turn"), N_("URL") },
    { "stun", 0, 0, G_OPTION_ARG_STRING, &options.stun_server,
      N_("STUN server for the ice transport; enables ice"), N_("HOST:PORT") },
    { "accept-all", 'y', 0, G_OPTION_ARG_NONE, &options.accept_all,
      N_("Accept every transfer without asking"), NULL },
    { "app-id", 0, 0, G_OPTION_ARG_STRING, &app_id,
      N_("Application id on the session bus, to run several instances"), N_("ID") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &options.json,
      N_("Write events as JSON lines on stdout, for scripts"), NULL },
    G_OPTION_ENTRY_NULL
  };
  int status;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  context = g_option_context_new (NULL);
  g_option_context_set_summary (context, _("Send files to the devices nearby with Ferry."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      ferry_gtk_options_clear (&options);
      return 2;
    }
  if (app_id != NULL && !g_application_id_is_valid (app_id))
    {
      g_printerr (_("Invalid application id “%s”\n"), app_id);
      ferry_gtk_options_clear (&options);
      return 2;
    }

  app = ferry_gtk_app_new (app_id ? app_id : FERRY_GTK_APP_ID, &options);
  status = g_application_run (G_APPLICATION (app), 1, args);
  return ferry_gtk_app_failed (app) ? 1 : status;
}
