/* ferry-cmd-receive.c: `ferry receive`: wait for files, accept them by
 * policy (--yes, --accept-from) or by asking on the terminal
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include <glib/gi18n.h>
#include <gio/gunixinputstream.h>

#include "ferry-tool.h"
#include "ferry-escape.h"
#include "ferry-events.h"
#include "ferry-progress.h"

typedef struct {
  FerryTool        *tool;

  /* Options */
  char             *dir;
  gboolean          yes;
  char            **accept_from;
  gboolean          once;

  GFile            *download_dir;
  FerryTransfer    *once_transfer;
  GQueue            prompts;             /* TransferView waiting for an answer */
  TransferView     *prompting;
  gboolean          prompt_pending;
  gboolean          stdin_closed;
  GDataInputStream *stdin_stream;
  GCancellable     *prompt_cancellable;
} Receive;

gpointer
tool_receive_options (FerryTool    *tool,
                      GOptionGroup *group)
{
  Receive *rc = g_new0 (Receive, 1);
  const GOptionEntry entries[] = {
    { "dir", 'd', 0, G_OPTION_ARG_FILENAME, &rc->dir,
      N_("Folder to save files in (default: the download folder)"), N_("DIR") },
    { "yes", 'y', 0, G_OPTION_ARG_NONE, &rc->yes,
      N_("Accept every transfer without asking"), NULL },
    { "accept-from", 'a', 0, G_OPTION_ARG_STRING_ARRAY, &rc->accept_from,
      N_("Accept transfers from this account or device id, or a prefix of at least 8 hex digits (repeatable); reject others"), N_("ID") },
    { "once", 0, 0, G_OPTION_ARG_NONE, &rc->once,
      N_("Exit after the first transfer"), NULL },
    G_OPTION_ENTRY_NULL
  };

  rc->tool = tool;
  g_queue_init (&rc->prompts);
  g_option_group_add_entries (group, entries);
  return rc;
}

int
tool_receive_check (FerryTool *tool,
                    gpointer   state)
{
  Receive *rc = state;

  if (rc->yes && rc->accept_from != NULL)
    return tool_usage_error (_("--yes and --accept-from cannot be used together"));
  for (guint i = 0; rc->accept_from != NULL && rc->accept_from[i] != NULL; i++)
    if (!tool_is_hex_id (rc->accept_from[i]))
      return tool_usage_error (_("Invalid --accept-from “%s”: give an account or device id, "
                                 "or a prefix of at least %d hex digits"),
                               rc->accept_from[i], MIN_ID_PREFIX);
  if (rc->dir != NULL && rc->dir[0] == '\0')
    return tool_usage_error (_("Empty value for --dir"));
  return EXIT_OK;
}

void
tool_receive_free (gpointer state)
{
  Receive *rc = state;

  g_queue_clear (&rc->prompts);
  g_clear_object (&rc->stdin_stream);
  g_clear_object (&rc->prompt_cancellable);
  g_clear_object (&rc->download_dir);
  g_clear_pointer (&rc->dir, g_free);
  g_clear_pointer (&rc->accept_from, g_strfreev);
  g_free (rc);
}

/* Deciding {{{1 */

static void prompt_next (Receive *rc);

static void
accept_transfer (Receive      *rc,
                 TransferView *view)
{
  ferry_transfer_accept (view->transfer, rc->download_dir);
}

static void
reject_transfer (TransferView *view,
                 const char   *reason)
{
  view->declined = TRUE;
  ferry_transfer_reject (view->transfer, reason);
}

/* “name (account…)”: the name is the sender's choice, shown escaped */
static char *
describe_sender (FerryTransfer *transfer)
{
  FerryDevice *device = ferry_transfer_get_device (transfer);
  g_autofree char *name = tool_escape (device ? ferry_device_get_name (device) : "?", TOOL_NAME_WIDTH);
  g_autofree char *account = tool_escape (device ? ferry_device_get_account_id (device) : "?",
                                          TOOL_NAME_WIDTH);

  return g_strdup_printf ("%s (%.12s…)", name ? name : "?", account ? account : "?");
}

static gboolean
is_yes (const char *answer)
{
  return g_ascii_strcasecmp (answer, "y") == 0 ||
         g_ascii_strcasecmp (answer, "yes") == 0 ||
         /* TRANSLATORS: the short and long “yes” answers to the [y/N] question */
         g_utf8_collate (answer, C_("answer", "y")) == 0 ||
         g_utf8_collate (answer, C_("answer", "yes")) == 0;
}

static void
on_prompt_line (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  Receive *rc = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  TransferView *view = rc->prompting;

  line = g_data_input_stream_read_line_finish (G_DATA_INPUT_STREAM (source), result, NULL, &error);
  rc->prompt_pending = FALSE;
  rc->prompting = NULL;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    ;
  else if (line == NULL)
    {
      /* End of input: nobody can answer any more. */
      rc->stdin_closed = TRUE;
      if (view != NULL)
        {
          g_printerr ("\n");
          tool_print_error (_("No answer (end of input): rejected"));
          reject_transfer (view, _("Nobody answered on the receiving device"));
        }
    }
  else if (view != NULL)
    {
      if (is_yes (g_strstrip (line)))
        accept_transfer (rc, view);
      else
        reject_transfer (view, _("The receiver declined the files"));
    }

  prompt_next (rc);
}

static void
prompt_next (Receive *rc)
{
  TransferView *view;
  guint n;
  g_autofree char *size = NULL;
  g_autofree char *who = NULL;
  g_autofree char *folder = NULL;

  if (rc->prompt_pending)
    return;

  view = g_queue_pop_head (&rc->prompts);
  if (view == NULL)
    return;

  if (rc->stdin_closed)
    {
      reject_transfer (view, _("Nobody answered on the receiving device"));
      prompt_next (rc);
      return;
    }

  if (rc->stdin_stream == NULL)
    {
      g_autoptr(GInputStream) base = g_unix_input_stream_new (STDIN_FILENO, FALSE);
      rc->stdin_stream = g_data_input_stream_new (base);
    }

  n = ferry_transfer_get_n_files (view->transfer);
  size = g_format_size (ferry_transfer_get_total_size (view->transfer));
  who = describe_sender (view->transfer);
  folder = transfer_view_folder (view->transfer);
  if (ferry_transfer_is_text (view->transfer))
    g_printerr (_("Accept a text from %s? [y/N] "), who);
  else if (folder != NULL)
    {
      g_autofree char *shown = tool_escape (folder, TOOL_FILE_WIDTH);

      /* TRANSLATORS: Accept folder "album" (1,204 files, 3.1 GB) from laptop? */
      g_printerr (g_dngettext (GETTEXT_PACKAGE,
                               "Accept folder “%s” (%'u file, %s) from %s? [y/N] ",
                               "Accept folder “%s” (%'u files, %s) from %s? [y/N] ", n),
                  shown, n, size, who);
    }
  else
    g_printerr (g_dngettext (GETTEXT_PACKAGE,
                             "Accept %u file, %s, from %s? [y/N] ",
                             "Accept %u files, %s, from %s? [y/N] ", n),
                n, size, who);
  fflush (stderr);

  g_clear_object (&rc->prompt_cancellable);
  rc->prompt_cancellable = g_cancellable_new ();
  rc->prompting = view;
  rc->prompt_pending = TRUE;
  g_data_input_stream_read_line_async (rc->stdin_stream, G_PRIORITY_DEFAULT,
                                       rc->prompt_cancellable, on_prompt_line, rc);
}

static gboolean
accepts_from (Receive     *rc,
              FerryDevice *device)
{
  for (guint i = 0; device != NULL && rc->accept_from[i] != NULL; i++)
    if (tool_id_has_prefix (ferry_device_get_account_id (device), rc->accept_from[i]) ||
        tool_id_has_prefix (ferry_device_get_device_id (device), rc->accept_from[i]))
      return TRUE;
  return FALSE;
}

/* --yes, --accept-from, or the terminal. */
static void
decide (Receive      *rc,
        TransferView *view)
{
  FerryDevice *device = ferry_transfer_get_device (view->transfer);
  g_autofree char *who = describe_sender (view->transfer);

  if (rc->yes)
    accept_transfer (rc, view);
  else if (rc->accept_from != NULL)
    {
      if (accepts_from (rc, device))
        accept_transfer (rc, view);
      else
        {
          tool_print_error (_("Rejected files from %s: not in --accept-from"), who);
          reject_transfer (view, _("The receiver does not accept files from this device"));
        }
    }
  else if (isatty (STDIN_FILENO) && !rc->stdin_closed)
    {
      g_queue_push_tail (&rc->prompts, view);
      prompt_next (rc);
    }
  else
    {
      tool_print_error (_("Rejected files from %s: nobody can answer on a terminal; "
                          "use --yes or --accept-from ID to accept files"), who);
      reject_transfer (view, _("The receiver is not accepting files"));
    }
}

/* Transfers {{{1 */

static void
transfer_ended (Receive      *rc,
                TransferView *view,
                gboolean      finished)
{
  FerryTool *tool = rc->tool;
  gboolean was_once = view->transfer == rc->once_transfer;

  if (rc->prompting == view)
    {
      rc->prompting = NULL;
      g_printerr ("\n");
      if (!tool->quitting)
        g_printerr (_("The offer was withdrawn.\n"));
      g_cancellable_cancel (rc->prompt_cancellable);
    }
  g_queue_remove (&rc->prompts, view);
  g_ptr_array_remove (tool->transfers, view);

  if (tool->quitting)
    {
      if (tool->transfers->len == 0)
        tool_quit (tool, tool->exit_code);
    }
  else if (was_once)
    tool_quit (tool, finished ? EXIT_OK : EXIT_FAILED);
}

static void
on_transfer_waited (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  TransferView *view = user_data;
  g_autoptr(GError) error = NULL;
  gboolean finished;

  finished = ferry_transfer_wait_finish (FERRY_TRANSFER (source), result, &error);
  if (finished)
    transfer_view_done (view);
  else
    {
      if (error == NULL)
        g_set_error_literal (&error, FERRY_ERROR, FERRY_ERROR_FAILED, _("The transfer did not finish"));
      transfer_view_failed (view, error);
    }
  transfer_ended (view->owner, view, finished);
}

static void
on_transfer_requested (FerryEngine   *engine,
                       FerryTransfer *transfer,
                       gpointer       user_data)
{
  Receive *rc = user_data;
  TransferView *view = transfer_view_new (rc->tool, transfer, NULL);

  view->owner = rc;
  if (rc->tool->json)
    tool_emit_offer (view, NULL);

  ferry_transfer_wait_async (transfer, NULL, on_transfer_waited, view);

  if (rc->tool->quitting)
    {
      reject_transfer (view, _("The receiver is shutting down"));
      return;
    }

  if (rc->once)
    {
      if (rc->once_transfer != NULL)
        {
          g_autofree char *who = describe_sender (transfer);

          tool_print_error (_("Rejected files from %s: busy with another transfer (--once)"), who);
          reject_transfer (view, _("The receiver is busy"));
          return;
        }
      rc->once_transfer = transfer;
    }

  decide (rc, view);
}

/* The download folder {{{1 */

/* --dir, else the engine's: download-dir of ferry.conf, else XDG's, else
 * ~/Downloads */
static char *
choose_download_dir (Receive *rc)
{
  if (rc->dir != NULL)
    return g_strdup (rc->dir);
  return g_file_get_path (ferry_engine_get_download_dir (rc->tool->engine));
}

static gboolean
resolve_download_dir (Receive  *rc,
                      GError  **error)
{
  g_autofree char *dir = choose_download_dir (rc);
  g_autofree char *absolute = g_canonicalize_filename (dir, NULL);

  if (g_mkdir_with_parents (absolute, 0755) != 0)
    {
      int saved_errno = errno;
      g_autofree char *display = g_filename_display_name (absolute);

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _("Cannot create the download folder %s: %s"), display,
                   g_strerror (saved_errno));
      return FALSE;
    }
  if (!g_file_test (absolute, G_FILE_TEST_IS_DIR) || access (absolute, W_OK | X_OK) != 0)
    {
      g_autofree char *display = g_filename_display_name (absolute);

      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_DIRECTORY,
                   _("The download folder %s is not a writable directory"), display);
      return FALSE;
    }

  rc->download_dir = g_file_new_for_path (absolute);
  return TRUE;
}

/* Running {{{1 */

static void
print_ready (Receive *rc)
{
  FerryIdentity *identity = ferry_engine_get_identity (rc->tool->engine);
  GListModel *transports = ferry_engine_get_transports (rc->tool->engine);
  guint n = transports ? g_list_model_get_n_items (transports) : 0;
  g_autofree char *dir = tool_file_to_utf8 (rc->download_dir);

  g_print (_("Ready to receive as “%s”\n"), ferry_identity_get_name (identity));
  g_print (_("  account  %s\n"), ferry_identity_get_account_id (identity));
  g_print (_("  device   %s\n"), ferry_identity_get_device_id (identity));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(FerryTransport) transport = g_list_model_get_item (transports, i);
      g_auto(GStrv) addresses = ferry_transport_dup_listen_addresses (transport);
      g_autofree char *joined = NULL;

      if (addresses == NULL || addresses[0] == NULL)
        continue;
      joined = g_strjoinv (", ", addresses);
      g_print (_("  %s listens on %s\n"), ferry_transport_get_name (transport), joined);
    }
  g_print (_("  files go to %s\n"), dir);
  fflush (stdout);
}

int
tool_receive_run (FerryTool *tool,
                  gpointer   state)
{
  Receive *rc = state;
  g_autoptr(GError) error = NULL;
  int code;

  if ((code = tool_open_engine (tool)) != EXIT_OK)
    return code;

  if (!resolve_download_dir (rc, &error))
    {
      tool_report_error (tool, NULL, error, NULL);
      return EXIT_FAILED;
    }

  g_signal_connect (tool->engine, "transfer-requested", G_CALLBACK (on_transfer_requested), rc);
  tool_install_signal_handlers (tool);

  if ((code = tool_start_engine (tool)) != EXIT_OK)
    return code;

  if (tool->json)
    tool_emit_ready (tool, rc->download_dir);
  else
    print_ready (rc);

  tool->exit_code = EXIT_OK;
  if (!tool->quitting)
    g_main_loop_run (tool->loop);
  return tool->exit_code;
}

/* vim: set foldmethod=marker: */
