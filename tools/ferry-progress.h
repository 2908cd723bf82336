/* ferry-progress.h: how the ferry tool follows a transfer: the progress
 * bar, the progress events, the summary at the end
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "ferry-tool.h"

G_BEGIN_DECLS

#define PROGRESS_INTERVAL_US (100 * G_TIME_SPAN_MILLISECOND)

typedef struct {
  FerryTransfer *transfer;
  FerryTool     *tool;
  gpointer       owner;             /* the command's state */
  GPtrArray     *sources;           /* sender: the GFile of each file */
  gulong         bytes_handler;
  gulong         state_handler;
  gint64         offered_us;
  gint64         started_us;        /* first seen ongoing */
  gint64         last_progress_us;
  guint64        last_progress_bytes;
  gboolean       progress_emitted;
  gint64         last_draw_us;
  guint          bar_width;         /* characters of the last bar drawn */
  gboolean       declined;          /* receiver: rejected here, already said */
} TransferView;

TransferView *transfer_view_new       (FerryTool     *tool,
                                       FerryTransfer *transfer,
                                       GPtrArray     *sources);
void          transfer_view_free      (TransferView  *view);
double        transfer_view_rate      (TransferView  *view);
char         *transfer_view_file_path (TransferView  *view,
                                       FerryTransferFile *file,
                                       guint          index);
void          transfer_view_clear_bar (TransferView  *view);
void          transfer_view_done      (TransferView  *view);
/* The folder every file of @transfer lies in, or NULL. */
char         *transfer_view_folder    (FerryTransfer *transfer);
void          transfer_view_failed    (TransferView  *view,
                                       const GError  *error);

G_END_DECLS
