/* ferry.c: the ferry command-line tool: its commands, and main
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   ferry [--home DIR] [--signaling LIST] [--transport LIST]
 *         [--interface NAME]... [--dht-proxy URL]... [--json] COMMAND
 *     id | plugins | peers [--timeout SECS]
 *     receive [--dir DIR] [--yes | --accept-from ID ...] [--once]
 *     send --to ID [--timeout SECS] FILE...
 *     history | fetch TRANSFER-ID
 *     account export|import FILE | device revoke ID
 *
 * Exit status: 0 success, 1 a failed, rejected or cancelled transfer or any
 * other runtime error, 2 a usage error. Results go to stdout, errors to
 * stderr; with --json, send and receive write one JSON object per line.
 *
 * Each command lives in its own file (ferry-cmd-*.c); the table below
 * names it, and says what it needs.
 */
#include "config.h"

#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <unistd.h>

#include <glib/gi18n.h>

#include "ferry-tool.h"
#include "ferry-events.h"
#include "ferry-progress.h"

#define ONLINE (FERRY_COMMAND_NETWORK)
#define TRANSFERS (FERRY_COMMAND_NETWORK | FERRY_COMMAND_EXIT_EVENT)

static const FerryCommand commands[] = {
  { "id", NULL,
    N_("Show this device’s account id, device id and name."),
    0, NULL, NULL, tool_id_run, NULL },
  { "plugins", NULL,
    N_("List plugins, their features, ranks, versions and load errors."),
    0, NULL, NULL, tool_plugins_run, NULL },
  { "peers", NULL,
    N_("List the devices seen through signaling."),
    ONLINE, tool_peers_options, tool_peers_check, tool_peers_run, NULL },
  { "receive", NULL,
    N_("Wait for files from other devices."),
    TRANSFERS, tool_receive_options, tool_receive_check, tool_receive_run, tool_receive_free },
  { "account export", N_("FILE"),
    N_("Write the account key, encrypted under a passphrase."),
    0, tool_account_options, tool_account_check, tool_account_export_run, tool_account_free },
  { "account import", N_("FILE"),
    N_("Make this home a new device of an exported account."),
    0, tool_account_options, tool_account_check, tool_account_import_run, tool_account_free },
  { "device revoke", N_("ID"),
    N_("Revoke a device of this account: the others and the peers refuse it."),
    ONLINE, tool_revoke_options, tool_revoke_check, tool_revoke_run, tool_revoke_free },
  { "history", NULL,
    N_("List past transfers, newest first."),
    0, NULL, NULL, tool_history_run, NULL },
  { "fetch", N_("TRANSFER-ID"),
    N_("Ask the sender for a received transfer again; an interrupted one resumes."),
    TRANSFERS, tool_fetch_options, tool_fetch_check, tool_fetch_run, tool_fetch_free },
  { "doctor", NULL,
    N_("Check what a transfer needs from the network, and say what will work."),
    0, tool_doctor_options, tool_doctor_check, tool_doctor_run, NULL },
  { "send", N_("--to ID FILE…"),
    N_("Send files to a device."),
    TRANSFERS | FERRY_COMMAND_SIGNAL_FAILS,
    tool_send_options, tool_send_check, tool_send_run, tool_send_free },
};

/* Commands of two words: what to say when the second is missing or wrong */
static const struct {
  const char *word;
  const char *usage;
} command_groups[] = {
  { "account", N_("Use “ferry account export FILE” or “ferry account import FILE”") },
  { "device", N_("Use “ferry device revoke ID”") },
};

static const char *
commands_description (void)
{
  return _("Commands:\n"
           "  id                       Show this device’s account id, device id and name\n"
           "  plugins                  List plugins, their features, ranks and load errors\n"
           "  peers [--timeout SECS]   List the devices seen through signaling\n"
           "  receive [--dir DIR] [--yes | --accept-from ID …] [--once]\n"
           "                           Wait for files\n"
           "  send --to ID [-v] FILE…  Send files to every device of an account, or to one device\n"
           "  history                  List past transfers\n"
           "  account export FILE      Write the account key, encrypted under a passphrase\n"
           "  account import FILE      Make this home a new device of an exported account\n"
           "  device revoke ID         Revoke a device of this account\n"
           "  fetch TRANSFER-ID        Ask the sender for a received transfer again, resuming it\n"
           "  doctor                   Check interfaces, DHT proxies, STUN and TURN servers, NAT\n"
           "\n"
           "Run “ferry COMMAND --help” for a command’s options.\n"
           "Exit status: 0 success, 1 failure, 2 usage error.");
}

static const FerryCommand *
lookup_command (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (g_str_equal (commands[i].name, name))
      return &commands[i];
  return NULL;
}

/* The command named by @args (after the global options: the program,
 * then the command's words); @words: how many words name it. NULL after
 * a usage error. */
static const FerryCommand *
find_command (char  **args,
              guint  *words)
{
  const FerryCommand *command;
  g_autofree char *display = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (command_groups); i++)
    if (g_str_equal (args[1], command_groups[i].word))
      {
        g_autofree char *name = g_strconcat (args[1], " ", args[2], NULL);

        command = args[2] != NULL ? lookup_command (name) : NULL;
        if (command == NULL)
          tool_usage_error ("%s", _(command_groups[i].usage));
        *words = 2;
        return command;
      }

  command = lookup_command (args[1]);
  if (command == NULL)
    {
      display = g_filename_display_name (args[1]);
      tool_usage_error (_("Unknown command “%s”"), display);
    }
  *words = 1;
  return command;
}

/* Parses the options of @command in @args (its last word first); its
 * state comes back in @state even when the options are wrong. */
static int
parse_command (FerryTool          *tool,
               const FerryCommand *command,
               GStrv              *args,
               gpointer           *state)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  GOptionGroup *global;
  g_autofree char *prgname = g_strconcat ("ferry ", command->name, NULL);
  gboolean parsed;

  context = g_option_context_new (command->parameters ? _(command->parameters) : NULL);
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_summary (context, _(command->summary));
  if (command->options != NULL)
    {
      GOptionGroup *main_group = g_option_group_new (NULL, NULL, NULL, tool, NULL);

      g_option_group_set_translation_domain (main_group, GETTEXT_PACKAGE);
      *state = command->options (tool, main_group);
      g_option_context_set_main_group (context, main_group);
    }

  /* The global options are accepted after the command too. */
  global = g_option_group_new ("global", _("Global options:"), _("Show global options"), tool, NULL);
  g_option_group_set_translation_domain (global, GETTEXT_PACKAGE);
  tool_add_global_options (tool, global);
  g_option_context_add_group (context, global);

  /* So that the usage line reads “ferry send [OPTION…] --to ID FILE…”. */
  g_set_prgname (prgname);
  parsed = g_option_context_parse_strv (context, args, &error);
  g_set_prgname ("ferry");
  if (!parsed)
    return tool_usage_error ("%s", error->message);

  if ((*args)[0] != NULL && (*args)[1] != NULL)
    {
      g_autofree char *display = g_filename_display_name ((*args)[1]);
      return tool_usage_error (_("Unexpected argument “%s”"), display);
    }

  tool->command = command;
  return EXIT_OK;
}

/* The global options before the command; the command's arguments (its
 * last word first) in @command_args. */
static int
parse_global (FerryTool           *tool,
              char               **argv,
              const FerryCommand **command,
              GStrv               *command_args)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) args = g_strdupv (argv);
  GOptionGroup *main_group = g_option_group_new (NULL, NULL, NULL, tool, NULL);
  guint words;

  context = g_option_context_new (_("COMMAND [OPTION…]"));
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_strict_posix (context, TRUE);
  g_option_context_set_summary (context, _("Send files to another device, peer to peer."));
  g_option_context_set_description (context, commands_description ());
  g_option_group_set_translation_domain (main_group, GETTEXT_PACKAGE);
  tool_add_global_options (tool, main_group);
  g_option_context_set_main_group (context, main_group);

  if (!g_option_context_parse_strv (context, &args, &error))
    return tool_usage_error ("%s", error->message);
  if (args[0] == NULL || args[1] == NULL)
    return tool_usage_error (_("No command given"));

  *command = find_command (args, &words);
  if (*command == NULL)
    return EXIT_USAGE;
  *command_args = g_strdupv (args + words);
  return EXIT_OK;
}

static int
run_command (FerryTool          *tool,
             const FerryCommand *command,
             gpointer            state)
{
  int code;

  /* Checks that need no engine: a usage error exits 2 before any work. */
  if (command->check != NULL && (code = command->check (tool, state)) != EXIT_OK)
    return code;
  if (command->flags & FERRY_COMMAND_NETWORK &&
      (code = tool_check_plugin_names (tool)) != EXIT_OK)
    return code;

  tool->progress_bar = !tool->json && isatty (STDERR_FILENO);
  tool->loop = g_main_loop_new (NULL, FALSE);
  return command->run (tool, state);
}

static void
finish (FerryTool          *tool,
        const FerryCommand *command,
        gpointer            state,
        int                 code)
{
  const FerryCommand *parsed = tool->command;

  if (tool->engine != NULL && parsed != NULL && parsed->flags & FERRY_COMMAND_NETWORK)
    tool_close_engine (tool);
  if (tool->json && parsed != NULL && parsed->flags & FERRY_COMMAND_EXIT_EVENT)
    tool_emit_exit (tool, code);

  tool_remove_sources (tool);
  g_clear_pointer (&tool->transfers, g_ptr_array_unref);
  if (state != NULL && command->free_state != NULL)
    command->free_state (state);
  g_clear_object (&tool->find_cancellable);
  g_clear_object (&tool->engine);
  g_clear_pointer (&tool->loop, g_main_loop_unref);
  tool_clear_options (tool);
}

int
main (int    argc,
      char **argv)
{
  FerryTool tool = { 0 };
  const FerryCommand *command = NULL;
  g_auto(GStrv) command_args = NULL;
  gpointer state = NULL;
  int code;

  tool.start_us = g_get_monotonic_time ();
  tool.start_real_us = g_get_real_time ();
  tool.timeout = NAN;
  tool.transfers = g_ptr_array_new_with_free_func ((GDestroyNotify) transfer_view_free);

  setlocale (LC_ALL, "");
  /* FERRY_LOCALEDIR, when set, points at other catalogues (a build tree's, in tests) */
  bindtextdomain (GETTEXT_PACKAGE, g_getenv ("FERRY_LOCALEDIR") ? g_getenv ("FERRY_LOCALEDIR") : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  g_set_prgname ("ferry");

  setvbuf (stdout, NULL, _IOLBF, 0);

  code = parse_global (&tool, argv, &command, &command_args);
  if (code == EXIT_OK)
    code = parse_command (&tool, command, &command_args, &state);
  if (code == EXIT_OK)
    code = run_command (&tool, tool.command, state);

  finish (&tool, command, state, code);
  return code;
}
