/* ferry-events.c: the JSON output of the ferry tool (--json)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdio.h>
#include <unistd.h>

#include <glib/gi18n.h>

#include "ferry-events.h"
#include "ferry-escape.h"

JsonBuilder *
tool_json_begin (FerryTool  *tool,
                 const char *event)
{
  JsonBuilder *builder = json_builder_new ();

  json_builder_begin_object (builder);
  if (event != NULL)
    {
      json_builder_set_member_name (builder, "event");
      json_builder_add_string_value (builder, event);
      json_builder_set_member_name (builder, "elapsed_ms");
      json_builder_add_int_value (builder, tool_elapsed_ms (tool));
    }
  return builder;
}

/* Ends the object, writes it as one line and frees @builder. */
void
tool_json_end (JsonBuilder *builder)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;
  g_autofree char *safe = NULL;

  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, NULL);
  safe = tool_json_escape_extra (text);
  fputs (safe, stdout);
  fputc ('\n', stdout);
  fflush (stdout);
  g_object_unref (builder);
}

void
tool_json_add_string (JsonBuilder *builder,
                      const char  *member,
                      const char  *value)
{
  json_builder_set_member_name (builder, member);
  if (value != NULL && g_utf8_validate (value, -1, NULL))
    json_builder_add_string_value (builder, value);
  else if (value != NULL)
    {
      g_autofree char *valid = g_utf8_make_valid (value, -1);
      json_builder_add_string_value (builder, valid);
    }
  else
    json_builder_add_null_value (builder);
}

void
tool_json_add_int (JsonBuilder *builder,
                   const char  *member,
                   gint64       value)
{
  json_builder_set_member_name (builder, member);
  json_builder_add_int_value (builder, value);
}

void
tool_emit_error (FerryTool     *tool,
                 FerryTransfer *transfer,
                 const GError  *error)
{
  JsonBuilder *builder = tool_json_begin (tool, "error");

  if (transfer != NULL)
    tool_json_add_string (builder, "transfer", ferry_transfer_get_id (transfer));
  tool_json_add_string (builder, "code", tool_error_code (error));
  tool_json_add_string (builder, "message", error ? error->message : _("Failed"));
  tool_json_end (builder);
}

static void
add_listen_addresses (JsonBuilder *builder,
                      GListModel  *transports)
{
  guint n = transports ? g_list_model_get_n_items (transports) : 0;

  json_builder_set_member_name (builder, "transports");
  json_builder_begin_object (builder);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(FerryTransport) transport = g_list_model_get_item (transports, i);
      g_auto(GStrv) addresses = ferry_transport_dup_listen_addresses (transport);

      json_builder_set_member_name (builder, ferry_transport_get_name (transport));
      json_builder_begin_array (builder);
      for (guint j = 0; addresses != NULL && addresses[j] != NULL; j++)
        json_builder_add_string_value (builder, addresses[j]);
      json_builder_end_array (builder);
    }
  json_builder_end_object (builder);
}

/* @download_dir: the receiver's, or NULL */
void
tool_emit_ready (FerryTool *tool,
                 GFile     *download_dir)
{
  FerryIdentity *identity = ferry_engine_get_identity (tool->engine);
  JsonBuilder *builder = tool_json_begin (tool, "ready");

  tool_json_add_string (builder, "account", ferry_identity_get_account_id (identity));
  tool_json_add_string (builder, "device", ferry_identity_get_device_id (identity));
  tool_json_add_string (builder, "name", ferry_identity_get_name (identity));
  tool_json_add_int (builder, "started_at_ms", tool->start_real_us / 1000);
  tool_json_add_int (builder, "pid", getpid ());
  if (download_dir != NULL)
    {
      g_autofree char *dir = tool_file_to_utf8 (download_dir);
      tool_json_add_string (builder, "dir", dir);
    }
  add_listen_addresses (builder, ferry_engine_get_transports (tool->engine));
  tool_json_end (builder);
}

static void
add_peer (JsonBuilder   *builder,
          FerryTransfer *transfer,
          FerryPeer     *peer)
{
  FerryDevice *device = ferry_transfer_get_device (transfer);

  json_builder_set_member_name (builder, "peer");
  json_builder_begin_object (builder);
  if (device != NULL)
    {
      tool_json_add_string (builder, "account", ferry_device_get_account_id (device));
      tool_json_add_string (builder, "device", ferry_device_get_device_id (device));
      tool_json_add_string (builder, "name", peer ? ferry_peer_get_name (peer)
                                                  : ferry_device_get_name (device));
    }
  else
    {
      tool_json_add_string (builder, "account", peer ? ferry_peer_get_account_id (peer) : NULL);
      tool_json_add_string (builder, "device", NULL);
      tool_json_add_string (builder, "name", peer ? ferry_peer_get_name (peer) : NULL);
    }
  json_builder_end_object (builder);
}

/* @peer: the peer sent to, or NULL */
void
tool_emit_offer (TransferView *view,
                 FerryPeer    *peer)
{
  FerryTransfer *transfer = view->transfer;
  GListModel *files = ferry_transfer_get_files (transfer);
  guint n = g_list_model_get_n_items (files);
  JsonBuilder *builder = tool_json_begin (view->tool, "offer");
  gboolean incoming = ferry_transfer_get_direction (transfer) == FERRY_TRANSFER_DIRECTION_INCOMING;

  tool_json_add_string (builder, "transfer", ferry_transfer_get_id (transfer));
  tool_json_add_string (builder, "direction", incoming ? "incoming" : "outgoing");
  add_peer (builder, transfer, peer);
  json_builder_set_member_name (builder, "files");
  json_builder_begin_array (builder);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(FerryTransferFile) file = g_list_model_get_item (files, i);

      json_builder_begin_object (builder);
      tool_json_add_string (builder, "name", ferry_transfer_file_get_name (file));
      if (g_strcmp0 (ferry_transfer_file_get_path (file), ferry_transfer_file_get_name (file)) != 0)
        tool_json_add_string (builder, "relative", ferry_transfer_file_get_path (file));
      tool_json_add_int (builder, "size", ferry_transfer_file_get_size (file));
      tool_json_add_string (builder, "mime", ferry_transfer_file_get_mime_type (file));
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  tool_json_add_int (builder, "total", ferry_transfer_get_total_size (transfer));
  tool_json_end (builder);
}

void
tool_emit_progress (TransferView *view)
{
  JsonBuilder *builder = tool_json_begin (view->tool, "progress");
  guint64 bytes = ferry_transfer_get_bytes (view->transfer);

  tool_json_add_string (builder, "transfer", ferry_transfer_get_id (view->transfer));
  tool_json_add_int (builder, "bytes", bytes);
  tool_json_add_int (builder, "total", ferry_transfer_get_total_size (view->transfer));
  json_builder_set_member_name (builder, "rate");
  json_builder_add_double_value (builder, transfer_view_rate (view));
  tool_json_end (builder);

  view->progress_emitted = TRUE;
  view->last_progress_bytes = bytes;
  view->last_progress_us = g_get_monotonic_time ();
}

/* What a folder left out (symbolic links, special files), if anything. */
static void
add_skipped (JsonBuilder   *builder,
             FerryTransfer *transfer)
{
  const char * const *skipped = ferry_transfer_get_skipped (transfer);

  if (skipped == NULL)
    return;
  json_builder_set_member_name (builder, "skipped");
  json_builder_begin_array (builder);
  for (guint i = 0; skipped[i] != NULL; i++)
    json_builder_add_string_value (builder, skipped[i]);
  json_builder_end_array (builder);
}

/* A received text, once accepted. */
void
tool_emit_text (TransferView *view)
{
  JsonBuilder *builder = tool_json_begin (view->tool, "text");

  tool_json_add_string (builder, "transfer", ferry_transfer_get_id (view->transfer));
  tool_json_add_string (builder, "text", ferry_transfer_get_text (view->transfer));
  tool_json_end (builder);
}

/* "paths": every transport path the transfer used, in order, with the
 * bytes each carried (more than one when the transport moved, e.g. from a
 * relay to a direct pair). */
static void
add_paths (JsonBuilder   *builder,
           FerryTransfer *transfer)
{
  GListModel *segments = ferry_transfer_get_chain_segments (transfer);

  json_builder_set_member_name (builder, "paths");
  json_builder_begin_array (builder);
  for (guint i = 0; i < g_list_model_get_n_items (segments); i++)
    {
      g_autoptr(FerryChainSegment) segment = g_list_model_get_item (segments, i);
      g_autofree char *text = NULL;

      if (ferry_chain_segment_get_kind (segment) != FERRY_CHAIN_SEGMENT_TRANSPORT)
        continue;
      text = ferry_chain_segment_to_string (segment);
      json_builder_begin_object (builder);
      tool_json_add_string (builder, "transport", text);
      tool_json_add_int (builder, "bytes", ferry_chain_segment_get_bytes (segment));
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
}

/* The last progress event unless it was sent, then the done event. */
void
tool_emit_done (TransferView *view,
                double        seconds)
{
  FerryTransfer *transfer = view->transfer;
  GListModel *files = ferry_transfer_get_files (transfer);
  guint n = g_list_model_get_n_items (files);
  gboolean incoming = ferry_transfer_get_direction (transfer) == FERRY_TRANSFER_DIRECTION_INCOMING;
  JsonBuilder *builder;

  if (!view->progress_emitted || view->last_progress_bytes != ferry_transfer_get_bytes (transfer))
    tool_emit_progress (view);

  builder = tool_json_begin (view->tool, "done");
  tool_json_add_string (builder, "transfer", ferry_transfer_get_id (transfer));
  tool_json_add_string (builder, "direction", incoming ? "incoming" : "outgoing");
  json_builder_set_member_name (builder, "files");
  json_builder_begin_array (builder);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(FerryTransferFile) file = g_list_model_get_item (files, i);
      g_autofree char *path = transfer_view_file_path (view, file, i);

      json_builder_begin_object (builder);
      tool_json_add_string (builder, "name", ferry_transfer_file_get_name (file));
      tool_json_add_string (builder, "path", path);
      tool_json_add_int (builder, "size", ferry_transfer_file_get_size (file));
      tool_json_add_string (builder, "sha3-256", ferry_transfer_file_get_sha3_256 (file));
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  add_skipped (builder, transfer);
  tool_json_add_int (builder, "total", ferry_transfer_get_total_size (transfer));
  tool_json_add_int (builder, "duration_ms", (gint64) (seconds * 1000));
  tool_json_add_string (builder, "chain", ferry_transfer_get_chain (transfer));
  add_paths (builder, transfer);
  tool_json_end (builder);
}

void
tool_emit_exit (FerryTool *tool,
                int        code)
{
  JsonBuilder *builder = tool_json_begin (tool, "exit");

  tool_json_add_int (builder, "code", code);
  tool_json_add_int (builder, "peak_rss_kib", tool_peak_rss_kib ());
  tool_json_end (builder);
}
