/* ferry-cmd-account.c: `ferry account export|import`: move the account
 * key to another device, encrypted under a passphrase
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>

#include <glib/gi18n.h>

#include "ferry-tool.h"

typedef struct {
  char  *passphrase_file;
  char **args;
} Account;

gpointer
tool_account_options (FerryTool    *tool,
                      GOptionGroup *group)
{
  Account *account = g_new0 (Account, 1);
  const GOptionEntry entries[] = {
    { "passphrase-file", 0, 0, G_OPTION_ARG_FILENAME, &account->passphrase_file,
      N_("Read the passphrase from the first line of FILE instead of the terminal"), N_("FILE") },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &account->args, NULL, NULL },
    G_OPTION_ENTRY_NULL
  };

  g_option_group_add_entries (group, entries);
  return account;
}

int
tool_account_check (FerryTool *tool,
                    gpointer   state)
{
  Account *account = state;
  int code = EXIT_OK;

  if (account->args == NULL || account->args[0] == NULL)
    code = tool_usage_error (_("No FILE given"));
  else if (account->args[1] != NULL)
    code = tool_usage_error (_("Unexpected argument “%s”"), account->args[1]);
  if (isnan (tool->timeout))
    tool->timeout = 3;
  return code;
}

void
tool_account_free (gpointer state)
{
  Account *account = state;

  g_clear_pointer (&account->passphrase_file, g_free);
  g_clear_pointer (&account->args, g_strfreev);
  g_free (account);
}

/* The first line of @path */
static char *
read_passphrase_file (const char  *path,
                      GError     **error)
{
  g_autofree char *contents = NULL;
  char *end;

  if (!g_file_get_contents (path, &contents, NULL, error))
    return NULL;
  end = strchr (contents, '\n');
  if (end != NULL)
    *end = '\0';
  return g_steal_pointer (&contents);
}

/* One line from the terminal, not echoed */
static char *
ask_passphrase (const char  *prompt,
                GError     **error)
{
  FILE *tty = fopen ("/dev/tty", "r+");
  struct termios saved, quiet;
  char line[1024];
  char *answer;
  gboolean got;

  if (tty == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   _("No terminal to ask for the passphrase: use --passphrase-file"));
      return NULL;
    }
  fputs (prompt, tty);
  fflush (tty);
  tcgetattr (fileno (tty), &saved);
  quiet = saved;
  quiet.c_lflag &= ~(tcflag_t) ECHO;
  tcsetattr (fileno (tty), TCSAFLUSH, &quiet);
  got = fgets (line, sizeof line, tty) != NULL;
  tcsetattr (fileno (tty), TCSAFLUSH, &saved);
  fputs ("\n", tty);
  fclose (tty);
  if (!got)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, _("No passphrase given"));
      return NULL;
    }
  line[strcspn (line, "\n")] = '\0';
  answer = g_strdup (line);
  memset (line, 0, sizeof line);
  return answer;
}

/* From --passphrase-file (its first line), or asked on the terminal
 * (@twice: and asked again, to be sure). */
static char *
read_passphrase (Account   *account,
                 gboolean   twice,
                 GError   **error)
{
  g_autofree char *first = NULL;
  g_autofree char *again = NULL;

  if (account->passphrase_file != NULL)
    return read_passphrase_file (account->passphrase_file, error);

  first = ask_passphrase (_("Passphrase: "), error);
  if (first == NULL || !twice)
    return g_steal_pointer (&first);
  again = ask_passphrase (_("Again: "), error);
  if (again == NULL)
    return NULL;
  if (!g_str_equal (first, again))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, _("The passphrases differ"));
      return NULL;
    }
  memset (again, 0, strlen (again));
  return g_steal_pointer (&first);
}

typedef gboolean (*AccountFunc) (const char  *home,
                                 const char  *file,
                                 const char  *passphrase,
                                 GError     **error);

static int
run_account (FerryTool   *tool,
             Account     *account,
             gboolean     export,
             AccountFunc  func,
             const char  *context)
{
  g_autofree char *home = tool_resolve_home (tool);
  g_autofree char *passphrase = NULL;
  g_autoptr(GError) error = NULL;
  gboolean ok;

  passphrase = read_passphrase (account, export, &error);
  if (passphrase == NULL)
    {
      tool_report_error (tool, NULL, error, NULL);
      return EXIT_FAILED;
    }
  ok = func (home, account->args[0], passphrase, &error);
  memset (passphrase, 0, strlen (passphrase));
  if (!ok)
    {
      tool_report_error (tool, NULL, error, context);
      return EXIT_FAILED;
    }
  return EXIT_OK;
}

int
tool_account_export_run (FerryTool *tool,
                         gpointer   state)
{
  Account *account = state;
  int code = run_account (tool, account, TRUE, ferry_account_export, _("Cannot export"));

  if (code == EXIT_OK && !tool->json)
    g_print (_("Account written to %s: import it on another device with “ferry account import”\n"),
             account->args[0]);
  return code;
}

int
tool_account_import_run (FerryTool *tool,
                         gpointer   state)
{
  int code = run_account (tool, state, FALSE, ferry_account_import, _("Cannot import"));

  if (code != EXIT_OK)
    return code;
  return tool_id_run (tool, NULL);
}
