/* ferry-progress.c: how the ferry tool follows a transfer: the progress
 * bar on a terminal, the progress events with --json, the summary
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <stdio.h>

#include <glib/gi18n.h>

#include "ferry-progress.h"
#include "ferry-events.h"
#include "ferry-escape.h"

#define TITLE_WIDTH 24

/* The one folder the transfer carries, or NULL. */
char *
transfer_view_folder (FerryTransfer *transfer)
{
  return g_strdup (ferry_transfer_get_folder (transfer));
}

static char *
transfer_title (TransferView *view)
{
  GListModel *files = ferry_transfer_get_files (view->transfer);
  guint n = g_list_model_get_n_items (files);
  char *folder = transfer_view_folder (view->transfer);

  if (folder != NULL)
    return folder;
  if (n == 1)
    {
      g_autoptr(FerryTransferFile) file = g_list_model_get_item (files, 0);
      return g_strdup (ferry_transfer_file_get_name (file));
    }
  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u file", "%u files", n), n);
}

/* The engine's smoothed rate, or the average so far until it has one. */
double
transfer_view_rate (TransferView *view)
{
  double rate = ferry_transfer_get_rate (view->transfer);
  gint64 now = g_get_monotonic_time ();

  if (rate <= 0 && view->started_us != 0 && now > view->started_us)
    rate = ferry_transfer_get_bytes (view->transfer) * (double) G_USEC_PER_SEC / (now - view->started_us);
  return rate;
}

/* The title escaped and cut to TITLE_WIDTH characters; @len: its length */
static char *
bar_title (TransferView *view,
           glong        *len)
{
  g_autofree char *title = transfer_title (view);
  char *shown = tool_escape (title, TITLE_WIDTH);

  *len = g_utf8_strlen (shown, -1);
  return shown;
}

static void
draw_bar (TransferView *view,
          gboolean      final)
{
  guint64 bytes = ferry_transfer_get_bytes (view->transfer);
  guint64 total = ferry_transfer_get_total_size (view->transfer);
  double rate = transfer_view_rate (view);
  glong len;
  g_autofree char *title = bar_title (view, &len);
  g_autofree char *rate_text = tool_format_rate (rate);
  g_autofree char *eta = NULL;
  g_autofree char *line = NULL;
  char bar[21];
  guint percent = total > 0 ? (guint) (bytes * 100 / total) : 100;
  guint filled = percent / 5;

  for (guint i = 0; i < 20; i++)
    bar[i] = i < filled ? '#' : ' ';
  bar[20] = '\0';

  if (final)
    eta = g_strdup ("0:00");
  else if (rate > 0 && total >= bytes)
    eta = tool_format_duration ((double) (total - bytes) / rate);
  else
    eta = g_strdup ("-:--");

  /* TRANSLATORS: the progress line: name, percentage, bar, rate, time left */
  line = g_strdup_printf (_("%s%*s %3u%%  [%s]  %s  ETA %s"),
                          title, (int) (TITLE_WIDTH - len), "", percent, bar, rate_text, eta);
  len = g_utf8_strlen (line, -1);
  g_printerr ("\r%s%*s", line, (int) (view->bar_width > len ? view->bar_width - len : 0), "");
  view->bar_width = len;
  if (final)
    g_printerr ("\n");
  fflush (stderr);
}

/* Clears the bar drawn last, so that a line can be written in its place. */
void
transfer_view_clear_bar (TransferView *view)
{
  if (!view->tool->progress_bar || view->bar_width == 0)
    return;
  g_printerr ("\r%*s\r", (int) view->bar_width, "");
  view->bar_width = 0;
}

static void
on_transfer_bytes (FerryTransfer *transfer,
                   GParamSpec    *pspec,
                   TransferView  *view)
{
  gint64 now = g_get_monotonic_time ();
  guint64 bytes = ferry_transfer_get_bytes (transfer);

  if (view->started_us == 0 && bytes > 0)
    view->started_us = now;

  if (view->tool->json)
    {
      /* The first event, the first with data, then at most 10 a second. */
      if (!view->progress_emitted ||
          (view->last_progress_bytes == 0 && bytes > 0) ||
          now - view->last_progress_us >= PROGRESS_INTERVAL_US)
        tool_emit_progress (view);
    }
  else if (view->tool->progress_bar && now - view->last_draw_us >= PROGRESS_INTERVAL_US)
    {
      view->last_draw_us = now;
      draw_bar (view, FALSE);
    }
}

static void
on_transfer_state (FerryTransfer *transfer,
                   GParamSpec    *pspec,
                   TransferView  *view)
{
  if (view->started_us == 0 &&
      ferry_transfer_get_state (transfer) == FERRY_TRANSFER_STATE_ONGOING)
    view->started_us = g_get_monotonic_time ();
}

/* Follows @transfer until it is removed from @tool's transfers.
 * @sources: the sender's files, or NULL */
TransferView *
transfer_view_new (FerryTool     *tool,
                   FerryTransfer *transfer,
                   GPtrArray     *sources)
{
  TransferView *view = g_new0 (TransferView, 1);

  view->transfer = g_object_ref (transfer);
  view->tool = tool;
  view->sources = sources ? g_ptr_array_ref (sources) : NULL;
  view->offered_us = g_get_monotonic_time ();
  view->bytes_handler = g_signal_connect (transfer, "notify::bytes",
                                          G_CALLBACK (on_transfer_bytes), view);
  view->state_handler = g_signal_connect (transfer, "notify::state",
                                          G_CALLBACK (on_transfer_state), view);
  if (ferry_transfer_get_state (transfer) == FERRY_TRANSFER_STATE_ONGOING)
    view->started_us = view->offered_us;
  g_ptr_array_add (tool->transfers, view);
  return view;
}

void
transfer_view_free (TransferView *view)
{
  if (view == NULL)
    return;
  g_clear_signal_handler (&view->bytes_handler, view->transfer);
  g_clear_signal_handler (&view->state_handler, view->transfer);
  g_clear_object (&view->transfer);
  g_clear_pointer (&view->sources, g_ptr_array_unref);
  g_free (view);
}

/* Where file @index is: the sender's source, the receiver's saved file */
char *
transfer_view_file_path (TransferView      *view,
                         FerryTransferFile *file,
                         guint              index)
{
  GFile *location = NULL;

  if (view->sources != NULL && index < view->sources->len)
    location = g_ptr_array_index (view->sources, index);
  else
    location = ferry_transfer_file_get_file (file);
  return location ? tool_file_to_utf8 (location) : NULL;
}

static void
print_summary (TransferView *view,
               double        seconds)
{
  FerryTransfer *transfer = view->transfer;
  GListModel *files = ferry_transfer_get_files (transfer);
  guint n = g_list_model_get_n_items (files);
  guint64 total = ferry_transfer_get_total_size (transfer);
  const char *chain = ferry_transfer_get_chain (transfer);
  g_autofree char *size = g_format_size (total);
  g_autofree char *rate = tool_format_rate (seconds > 0 ? total / seconds : 0);
  g_autofree char *count = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u file", "%u files", n), n);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(FerryTransferFile) file = g_list_model_get_item (files, i);
      g_autofree char *path = transfer_view_file_path (view, file, i);
      g_autofree char *shown = tool_escape (path ? path : ferry_transfer_file_get_name (file), TOOL_NO_LIMIT);
      g_autofree char *file_size = g_format_size (ferry_transfer_file_get_size (file));

      g_print ("  %s  %s  sha3-256 %s\n", shown, file_size, ferry_transfer_file_get_sha3_256 (file));
    }

  if (ferry_transfer_get_direction (transfer) == FERRY_TRANSFER_DIRECTION_INCOMING)
    /* TRANSLATORS: “Received 3 files, 20.0 MB in 0.4 s (50.0 MB/s), verified sha3-256” */
    g_print (_("Received %s, %s in %.1f s (%s), verified sha3-256\n"), count, size, seconds, rate);
  else
    g_print (_("Sent %s, %s in %.1f s (%s), verified sha3-256\n"), count, size, seconds, rate);
  if (chain != NULL)
    {
      /* Addresses in it come from the peer's description. */
      g_autofree char *shown = tool_escape (chain, TOOL_MESSAGE_WIDTH);
      g_print (_("Chain: %s\n"), shown);
    }
  fflush (stdout);
}

/* A received text on standard output; terminal controls shown as
 * escapes, lines and tabs kept. */
static void
print_text (TransferView *view)
{
  const char *text = ferry_transfer_get_text (view->transfer);
  g_auto(GStrv) lines = NULL;

  if (ferry_transfer_get_direction (view->transfer) != FERRY_TRANSFER_DIRECTION_INCOMING)
    {
      g_print (_("Sent a text of %u bytes\n"), (guint) strlen (text));
      return;
    }
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) cells = g_strsplit (lines[i], "\t", -1);

      for (guint j = 0; cells[j] != NULL; j++)
        {
          g_autofree char *shown = tool_escape (cells[j], TOOL_NO_LIMIT);

          g_print ("%s%s", j > 0 ? "\t" : "", shown);
        }
      if (lines[i + 1] != NULL || lines[i][0] != '\0')
        g_print ("\n");
    }
  fflush (stdout);
}

/* What a folder left out: on standard error. */
static void
print_skipped (TransferView *view)
{
  const char * const *skipped = ferry_transfer_get_skipped (view->transfer);
  guint n = skipped ? g_strv_length ((char **) skipped) : 0;

  if (n == 0)
    return;
  g_printerr (g_dngettext (GETTEXT_PACKAGE,
                           "Skipped %u symbolic link or special file:\n",
                           "Skipped %u symbolic links or special files:\n", n), n);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *shown = tool_escape (skipped[i], TOOL_NO_LIMIT);

      g_printerr ("  %s\n", shown);
    }
}

/* The transfer finished: its done event, or the last bar and a summary. */
void
transfer_view_done (TransferView *view)
{
  gint64 now = g_get_monotonic_time ();
  gint64 since = view->started_us ? view->started_us : view->offered_us;
  double seconds = (now - since) / (double) G_USEC_PER_SEC;

  if (view->tool->json)
    {
      tool_emit_done (view, seconds);
      if (ferry_transfer_get_text (view->transfer) != NULL &&
          ferry_transfer_get_direction (view->transfer) == FERRY_TRANSFER_DIRECTION_INCOMING)
        tool_emit_text (view);
      return;
    }
  if (ferry_transfer_get_text (view->transfer) != NULL)
    {
      print_text (view);
      return;
    }
  if (view->tool->progress_bar)
    draw_bar (view, TRUE);
  print_summary (view, seconds);
  print_skipped (view);
}

void
transfer_view_failed (TransferView *view,
                      const GError *error)
{
  FerryTool *tool = view->tool;

  if (tool->progress_bar && !tool->json && view->bar_width > 0)
    g_printerr ("\n");
  if (view->declined && g_error_matches (error, FERRY_ERROR, FERRY_ERROR_REJECTED))
    {
      /* Declined here: the reason was already given. */
      if (tool->json)
        tool_emit_error (tool, view->transfer, error);
      return;
    }
  tool_report_error (tool, view->transfer, error, _("Transfer failed"));
}
