/* ferry-cmd-send.c: `ferry send`: find the receiver, send files to every
 * device of its account (or to one device), follow each device
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

#include <gio/gunixinputstream.h>

#include <glib/gi18n.h>

#include "ferry-tool.h"
#include "ferry-escape.h"
#include "ferry-events.h"
#include "ferry-progress.h"

/* After a send to an account is done, how long the devices that did not
 * start receiving yet still have to accept. */
#define SEND_LINGER_S 10
#define SEND_TEXT_MAX (64 * 1024)
/* The smallest --limit-rate, as the library takes it. */

typedef struct {
  FerryTool     *tool;

  /* Options */
  char          *to;
  char         **file_args;
  char          *text;
  gboolean       verbose;
  char          *limit_rate;
  guint64        rate;              /* --limit-rate, bytes/s (0: none) */

  GPtrArray     *files;             /* GFile */
  GPtrArray     *subs;              /* SubWatch: one per receiving device */
  FerryTransfer *aggregate;         /* one sub-transfer per device */
  gulong         subs_handler;
  TransferView  *sending;           /* the aggregate, until it ends */
  char          *sending_id;
  gboolean       reported;          /* the aggregate ended; waiting for the rest */
  guint          linger_id;         /* then: how long devices not started yet get */
  int            code;
} Send;

/* Fan-out: one line or JSON event per receiving device. */
typedef struct {
  Send               *send;
  FerryTransfer      *sub;
  FerryTransferState  last_state;
  gint64              last_progress_us;
} SubWatch;

gpointer
tool_send_options (FerryTool    *tool,
                   GOptionGroup *group)
{
  Send *send = g_new0 (Send, 1);
  const GOptionEntry entries[] = {
    { "to", 0, 0, G_OPTION_ARG_STRING, &send->to,
      N_("The receiver: an account or device id, a unique prefix of at least 8 hex digits, or a display name"), N_("ID") },
    { "timeout", 't', 0, G_OPTION_ARG_CALLBACK, tool_option_timeout,
      N_("Seconds to look for the receiver (default: 10)"), N_("SECS") },
    { "text", 0, 0, G_OPTION_ARG_STRING, &send->text,
      N_("Send this text instead of files (“-”: read it from standard input; at most 64 KiB)"), N_("TEXT") },
    { "limit-rate", 0, 0, G_OPTION_ARG_STRING, &send->limit_rate,
      N_("Send at most RATE bytes per second, e.g. 800K or 50M (K = 1024; 0: no limit; default: send-rate-limit in ferry.conf)"), N_("RATE") },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &send->verbose,
      N_("Show each receiving device (with --json: its progress too)"), NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &send->file_args, NULL, NULL },
    G_OPTION_ENTRY_NULL
  };

  send->tool = tool;
  g_option_group_add_entries (group, entries);
  return send;
}

/* --text -: the text from standard input. */
static int
read_text (Send *send)
{
  g_autoptr(GInputStream) input = g_unix_input_stream_new (STDIN_FILENO, FALSE);
  g_autofree char *buffer = g_malloc (SEND_TEXT_MAX + 2);
  g_autoptr(GError) error = NULL;
  gsize got = 0;

  if (!g_input_stream_read_all (input, buffer, SEND_TEXT_MAX + 1, &got, NULL, &error))
    {
      tool_print_error (_("Cannot read the text: %s"), error->message);
      return EXIT_USAGE;
    }
  buffer[got] = '\0';
  g_free (send->text);
  send->text = g_steal_pointer (&buffer);
  return EXIT_OK;
}

static int
check_text (Send *send)
{
  int code;

  if (send->file_args != NULL && send->file_args[0] != NULL)
    return tool_usage_error (_("Send either a --text or files, not both"));
  if (g_str_equal (send->text, "-") && (code = read_text (send)) != EXIT_OK)
    return code;
  if (strlen (send->text) > SEND_TEXT_MAX || !g_utf8_validate (send->text, -1, NULL))
    return tool_usage_error (_("The text must be valid UTF-8 of at most 64 KiB"));
  send->files = g_ptr_array_new_null_terminated (0, g_object_unref, TRUE);
  return EXIT_OK;
}

/* Each FILE must be a readable regular file or folder: a usage error
 * otherwise. */
static int
check_files (Send *send)
{
  send->files = g_ptr_array_new_null_terminated (0, g_object_unref, TRUE);

  for (guint i = 0; send->file_args[i] != NULL; i++)
    {
      g_autoptr(GFile) file = g_file_new_for_commandline_arg (send->file_args[i]);
      g_autoptr(GFileInfo) info = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *display = g_filename_display_name (send->file_args[i]);

      info = g_file_query_info (file,
                                G_FILE_ATTRIBUTE_STANDARD_TYPE ","
                                G_FILE_ATTRIBUTE_ACCESS_CAN_READ,
                                G_FILE_QUERY_INFO_NONE, NULL, &error);
      if (info == NULL)
        {
          tool_print_error (_("Cannot send %s: %s"), display, error->message);
          return EXIT_USAGE;
        }
      if (g_file_info_get_file_type (info) != G_FILE_TYPE_REGULAR &&
          g_file_info_get_file_type (info) != G_FILE_TYPE_DIRECTORY)
        {
          tool_print_error (_("Cannot send %s: not a regular file"), display);
          return EXIT_USAGE;
        }
      if (g_file_info_has_attribute (info, G_FILE_ATTRIBUTE_ACCESS_CAN_READ) &&
          !g_file_info_get_attribute_boolean (info, G_FILE_ATTRIBUTE_ACCESS_CAN_READ))
        {
          tool_print_error (_("Cannot send %s: permission denied"), display);
          return EXIT_USAGE;
        }
      g_ptr_array_add (send->files, g_steal_pointer (&file));
    }

  return EXIT_OK;
}

int
tool_send_check (FerryTool *tool,
                 gpointer   state)
{
  Send *send = state;
  int code;

  if (send->to == NULL || send->to[0] == '\0')
    code = tool_usage_error (_("Missing --to ID: whom to send to"));
  else if (send->limit_rate != NULL && !ferry_engine_parse_rate (send->limit_rate, &send->rate))
    {
      g_autofree char *value = tool_escape (send->limit_rate, TOOL_NAME_WIDTH);

      code = tool_usage_error (_("Invalid --limit-rate “%s”: give bytes per second of at least 1K, "
                                 "such as 800K, 50M or 1.5G (0: no limit)"), value);
    }
  else if (send->text != NULL)
    code = check_text (send);
  else if (send->file_args == NULL || send->file_args[0] == NULL)
    code = tool_usage_error (_("No FILE to send"));
  else
    code = check_files (send);
  if (isnan (tool->timeout))
    tool->timeout = 10;
  return code;
}

void
tool_send_free (gpointer state)
{
  Send *send = state;

  g_clear_handle_id (&send->linger_id, g_source_remove);
  if (send->aggregate != NULL)
    g_clear_signal_handler (&send->subs_handler, ferry_transfer_get_sub_transfers (send->aggregate));
  g_clear_object (&send->aggregate);
  g_clear_pointer (&send->subs, g_ptr_array_unref);
  g_clear_pointer (&send->sending_id, g_free);
  g_clear_pointer (&send->files, g_ptr_array_unref);
  g_clear_pointer (&send->to, g_free);
  g_clear_pointer (&send->text, g_free);
  g_clear_pointer (&send->limit_rate, g_free);
  g_clear_pointer (&send->file_args, g_strfreev);
  g_free (send);
}

/* Each receiving device {{{1 */

static void
sub_watch_free (gpointer data)
{
  SubWatch *watch = data;

  g_signal_handlers_disconnect_by_data (watch->sub, watch);
  g_object_unref (watch->sub);
  g_free (watch);
}

static void
emit_device_event (SubWatch   *watch,
                   const char *event)
{
  FerryTransfer *sub = watch->sub;
  FerryDevice *device = ferry_transfer_get_device (sub);
  const GError *error = ferry_transfer_get_error (sub);
  FerryTransferState state = ferry_transfer_get_state (sub);
  JsonBuilder *builder = tool_json_begin (watch->send->tool, event);

  tool_json_add_string (builder, "transfer", watch->send->sending_id);
  tool_json_add_string (builder, "device", ferry_device_get_device_id (device));
  tool_json_add_string (builder, "name", ferry_device_get_name (device));
  tool_json_add_string (builder, "sub_transfer", ferry_transfer_get_id (sub));
  tool_json_add_string (builder, "state", tool_state_nick (state));
  tool_json_add_int (builder, "bytes", ferry_transfer_get_bytes (sub));
  tool_json_add_int (builder, "total", ferry_transfer_get_total_size (sub));
  if (ferry_transfer_get_chain (sub) != NULL)
    tool_json_add_string (builder, "chain", ferry_transfer_get_chain (sub));
  if (ferry_transfer_is_done (sub) && state != FERRY_TRANSFER_STATE_FINISHED)
    {
      tool_json_add_string (builder, "code", tool_error_code (error));
      tool_json_add_string (builder, "message", error ? error->message : _("Failed"));
    }
  tool_json_end (builder);
}

static void
print_device_line (SubWatch *watch)
{
  FerryTransfer *sub = watch->sub;
  FerryDevice *device = ferry_transfer_get_device (sub);
  const GError *error = ferry_transfer_get_error (sub);
  FerryTransferState state = ferry_transfer_get_state (sub);
  g_autofree char *size = g_format_size (ferry_transfer_get_bytes (sub));
  g_autofree char *name = tool_escape (ferry_device_get_name (device), TOOL_NAME_WIDTH);
  g_autofree char *id = tool_escape (ferry_device_get_device_id (device), TOOL_NAME_WIDTH);
  g_autofree char *text = NULL;

  if (state == FERRY_TRANSFER_STATE_FINISHED)
    text = g_strdup_printf (_("finished, %s verified"), size);
  else if (ferry_transfer_is_done (sub))
    {
      /* The reason may be the receiver's words. */
      g_autofree char *message = tool_escape (error ? error->message : _("Failed"), TOOL_MESSAGE_WIDTH);

      text = g_strdup_printf ("%s (%s): %s", tool_state_nick (state), size, message);
    }
  else
    text = g_strdup (tool_state_nick (state));

  if (watch->send->sending != NULL)
    transfer_view_clear_bar (watch->send->sending);
  /* TRANSLATORS: one receiving device: name, short device id, what happened */
  g_printerr (_("  device %s (%.12s): %s\n"), name, id, text);
}

static void
report_device (SubWatch *watch)
{
  if (watch->send->tool->json)
    emit_device_event (watch, "device");
  else if (watch->send->verbose)
    print_device_line (watch);
}

static gboolean
all_subs_done (Send *send)
{
  for (guint i = 0; send->subs != NULL && i < send->subs->len; i++)
    if (!ferry_transfer_is_done (((SubWatch *) g_ptr_array_index (send->subs, i))->sub))
      return FALSE;
  return TRUE;
}

static gboolean
on_linger_timeout (gpointer user_data)
{
  Send *send = user_data;
  g_autoptr(GPtrArray) waiting = g_ptr_array_new_with_free_func (g_object_unref);

  send->linger_id = 0;
  for (guint i = 0; send->subs != NULL && i < send->subs->len; i++)
    {
      FerryTransfer *sub = ((SubWatch *) g_ptr_array_index (send->subs, i))->sub;

      if (!ferry_transfer_is_done (sub) && ferry_transfer_get_state (sub) != FERRY_TRANSFER_STATE_ONGOING)
        g_ptr_array_add (waiting, g_object_ref (sub));
    }
  for (guint i = 0; i < waiting->len; i++)
    ferry_transfer_cancel (g_ptr_array_index (waiting, i), _("the sender is leaving"));
  if (all_subs_done (send))
    tool_quit (send->tool, send->code);
  return G_SOURCE_REMOVE;
}

static void
on_sub_state (FerryTransfer *sub,
              GParamSpec    *pspec,
              SubWatch      *watch)
{
  Send *send = watch->send;
  FerryTransferState state = ferry_transfer_get_state (sub);

  if (state == watch->last_state)
    return;
  watch->last_state = state;
  report_device (watch);

  if (send->reported && all_subs_done (send))
    tool_quit (send->tool, send->code);
}

static void
on_sub_bytes (FerryTransfer *sub,
              GParamSpec    *pspec,
              SubWatch      *watch)
{
  gint64 now = g_get_monotonic_time ();

  if (!watch->send->tool->json || !watch->send->verbose)
    return;
  if (now - watch->last_progress_us < PROGRESS_INTERVAL_US &&
      ferry_transfer_get_bytes (sub) != ferry_transfer_get_total_size (sub))
    return;
  watch->last_progress_us = now;
  emit_device_event (watch, "progress");
}

static void
watch_subs (Send       *send,
            GListModel *subs)
{
  for (guint i = send->subs->len; i < g_list_model_get_n_items (subs); i++)
    {
      SubWatch *watch = g_new0 (SubWatch, 1);

      watch->send = send;
      watch->sub = g_list_model_get_item (subs, i);
      watch->last_state = ferry_transfer_get_state (watch->sub);
      g_ptr_array_add (send->subs, watch);
      g_signal_connect (watch->sub, "notify::state", G_CALLBACK (on_sub_state), watch);
      g_signal_connect (watch->sub, "notify::bytes", G_CALLBACK (on_sub_bytes), watch);
      if (watch->last_state != FERRY_TRANSFER_STATE_CREATED)
        report_device (watch);
    }
}

static void
on_subs_changed (GListModel *subs,
                 guint       position,
                 guint       removed,
                 guint       added,
                 gpointer    user_data)
{
  watch_subs (user_data, subs);
}

/* The transfer {{{1 */

static void
on_transfer_waited (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  TransferView *view = user_data;
  Send *send = view->owner;
  FerryTool *tool = send->tool;
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

  if (send->sending == view)
    send->sending = NULL;
  g_ptr_array_remove (tool->transfers, view);
  /* The other devices of the account may still be receiving: those that
   * are get to finish; those that did not start yet get a while to do so. */
  send->code = finished && !tool->quitting ? EXIT_OK : EXIT_FAILED;
  send->reported = TRUE;
  if (all_subs_done (send) || tool->quitting)
    tool_quit (tool, send->code);
  else
    send->linger_id = g_timeout_add_seconds (SEND_LINGER_S, on_linger_timeout, send);
}

/* A --to that names one device (a prefix of its id, not of the account's):
 * that device only. */
static FerryDevice *
device_target (Send      *send,
               FerryPeer *peer)
{
  GListModel *devices = ferry_peer_get_devices (peer);
  FerryDevice *found = NULL;

  if (!tool_is_hex_id (send->to) || tool_id_has_prefix (ferry_peer_get_account_id (peer), send->to))
    return NULL;
  for (guint i = 0; i < g_list_model_get_n_items (devices); i++)
    {
      g_autoptr(FerryDevice) device = g_list_model_get_item (devices, i);

      if (tool_id_has_prefix (ferry_device_get_device_id (device), send->to))
        {
          g_clear_object (&found);
          found = g_steal_pointer (&device);
        }
    }
  return found;
}

static FerryTransfer *
start_transfer (Send       *send,
                FerryPeer  *peer,
                GError    **error)
{
  g_autoptr(FerryDevice) device = device_target (send, peer);
  FerryEngine *engine = send->tool->engine;

  /* the option wins over ferry.conf */
  if (send->limit_rate != NULL)
    ferry_engine_set_send_rate_limit (engine, send->rate);
  if (send->text != NULL)
    return ferry_engine_send_text (engine, device ? NULL : peer, device, send->text, error);
  if (device != NULL)
    return ferry_engine_send_to_device (engine, device, (GFile **) send->files->pdata,
                                        send->files->len, error);
  return ferry_engine_send (engine, peer, (GFile **) send->files->pdata,
                            send->files->len, error);
}

static void
on_peer_found (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  Send *send = user_data;
  FerryTool *tool = send->tool;
  g_autoptr(GError) error = NULL;
  g_autoptr(FerryPeer) peer = NULL;
  g_autoptr(FerryTransfer) transfer = NULL;
  TransferView *view;

  tool->finding = FALSE;
  peer = ferry_engine_find_peer_finish (FERRY_ENGINE (source), result, &error);
  if (peer == NULL)
    {
      tool_report_error (tool, NULL, error, NULL);
      tool_quit (tool, EXIT_FAILED);
      return;
    }
  if (tool->quitting)
    {
      tool_quit (tool, tool->exit_code);
      return;
    }

  transfer = start_transfer (send, peer, &error);
  if (transfer == NULL)
    {
      tool_report_error (tool, NULL, error, _("Cannot send"));
      tool_quit (tool, EXIT_FAILED);
      return;
    }

  /* the transfer's files know their sources, in folders too */
  view = transfer_view_new (tool, transfer, NULL);
  view->owner = send;
  send->sending = view;
  send->sending_id = g_strdup (ferry_transfer_get_id (transfer));
  if (tool->json)
    tool_emit_offer (view, peer);
  else if (tool->progress_bar)
    {
      g_autofree char *size = g_format_size (ferry_transfer_get_total_size (transfer));
      g_autofree char *name = tool_escape (ferry_peer_get_name (peer), TOOL_NAME_WIDTH);

      g_printerr (_("Sending %s to %s…\n"), size, name);
    }
  send->subs = g_ptr_array_new_with_free_func (sub_watch_free);
  send->aggregate = g_object_ref (transfer);
  watch_subs (send, ferry_transfer_get_sub_transfers (transfer));
  send->subs_handler = g_signal_connect (ferry_transfer_get_sub_transfers (transfer), "items-changed",
                                         G_CALLBACK (on_subs_changed), send);
  ferry_transfer_wait_async (transfer, NULL, on_transfer_waited, view);
}

int
tool_send_run (FerryTool *tool,
               gpointer   state)
{
  Send *send = state;
  int code;

  if ((code = tool_start_online (tool)) != EXIT_OK)
    return code;
  if (tool->json)
    tool_emit_ready (tool, NULL);

  tool->find_cancellable = g_cancellable_new ();
  tool->finding = TRUE;
  ferry_engine_find_peer_async (tool->engine, send->to, (guint) (tool->timeout * 1000),
                                tool->find_cancellable, on_peer_found, send);

  return tool_run_loop (tool, EXIT_FAILED);
}

/* vim: set foldmethod=marker: */
