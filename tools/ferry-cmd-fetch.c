/* ferry-cmd-fetch.c: `ferry fetch`: ask the sender of a received transfer
 * for it again; an interrupted one resumes
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <math.h>

#include <glib/gi18n.h>

#include "ferry-tool.h"
#include "ferry-events.h"
#include "ferry-progress.h"

typedef struct {
  FerryTool  *tool;
  char      **args;
  char       *id;
  guint       attempts;
} Fetch;

gpointer
tool_fetch_options (FerryTool    *tool,
                    GOptionGroup *group)
{
  Fetch *fetch = g_new0 (Fetch, 1);
  const GOptionEntry entries[] = {
    { "timeout", 't', 0, G_OPTION_ARG_CALLBACK, tool_option_timeout,
      N_("Seconds to wait for the sender to offer it again (default: 30)"), N_("SECS") },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &fetch->args, NULL, NULL },
    G_OPTION_ENTRY_NULL
  };

  fetch->tool = tool;
  g_option_group_add_entries (group, entries);
  return fetch;
}

int
tool_fetch_check (FerryTool *tool,
                  gpointer   state)
{
  Fetch *fetch = state;
  int code = EXIT_OK;

  if (fetch->args == NULL || fetch->args[0] == NULL)
    code = tool_usage_error (_("No TRANSFER-ID to fetch"));
  else if (fetch->args[1] != NULL)
    code = tool_usage_error (_("Unexpected argument “%s”"), fetch->args[1]);
  else if (!tool_is_hex_id (fetch->args[0]))
    code = tool_usage_error (_("Invalid transfer id “%s”"), fetch->args[0]);
  else
    fetch->id = g_ascii_strdown (fetch->args[0], -1);
  if (isnan (tool->timeout))
    tool->timeout = 30;
  return code;
}

void
tool_fetch_free (gpointer state)
{
  Fetch *fetch = state;

  g_clear_pointer (&fetch->args, g_strfreev);
  g_clear_pointer (&fetch->id, g_free);
  g_free (fetch);
}

static void start_fetch (Fetch *fetch);

static void
on_fetch_waited (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  TransferView *view = user_data;
  Fetch *fetch = view->owner;
  FerryTool *tool = fetch->tool;
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
  g_ptr_array_remove (tool->transfers, view);

  /* A resumed .part that does not match was discarded: once more, whole. */
  if (!finished && !tool->quitting && fetch->attempts < 2 &&
      g_error_matches (error, FERRY_ERROR, FERRY_ERROR_HASH_MISMATCH))
    {
      if (!tool->json)
        g_printerr (_("Fetching it again from the start…\n"));
      start_fetch (fetch);
      return;
    }
  tool_quit (tool, finished && !tool->quitting ? EXIT_OK : EXIT_FAILED);
}

static void
on_fetched (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Fetch *fetch = user_data;
  FerryTool *tool = fetch->tool;
  g_autoptr(GError) error = NULL;
  g_autoptr(FerryTransfer) transfer = NULL;
  TransferView *view;

  tool->finding = FALSE;
  transfer = ferry_engine_fetch_finish (FERRY_ENGINE (source), result, &error);
  if (transfer == NULL)
    {
      tool_report_error (tool, NULL, error, _("Cannot fetch"));
      tool_quit (tool, EXIT_FAILED);
      return;
    }
  view = transfer_view_new (tool, transfer, NULL);
  view->owner = fetch;
  if (tool->json)
    tool_emit_offer (view, NULL);
  else if (tool->progress_bar)
    {
      g_autofree char *size = g_format_size (ferry_transfer_get_total_size (transfer));
      g_printerr (_("Fetching %s again…\n"), size);
    }
  if (tool->quitting)
    ferry_transfer_cancel (transfer, _("interrupted by the user"));
  ferry_transfer_wait_async (transfer, NULL, on_fetch_waited, view);
}

static void
start_fetch (Fetch *fetch)
{
  FerryTool *tool = fetch->tool;

  fetch->attempts++;
  tool->finding = TRUE;
  ferry_engine_fetch_async (tool->engine, fetch->id, (guint) (tool->timeout * 1000),
                            tool->find_cancellable, on_fetched, fetch);
}

int
tool_fetch_run (FerryTool *tool,
                gpointer   state)
{
  int code;

  if ((code = tool_start_online (tool)) != EXIT_OK)
    return code;
  if (tool->json)
    tool_emit_ready (tool, NULL);

  tool->find_cancellable = g_cancellable_new ();
  start_fetch (state);
  return tool_run_loop (tool, EXIT_FAILED);
}
