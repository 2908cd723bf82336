/* ferry-transfer-internal.h: what the files of FerryTransfer share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "ferry-transfer-private.h"

G_BEGIN_DECLS

struct _FerryTransfer
{
  GObject                 parent_instance;

  char                   *id;
  FerryTransferDirection  direction;
  FerryTransferState      state;
  FerryDevice            *device;
  GListStore             *files;
  guint64                 total_size;
  guint64                 bytes;
  double                  rate;
  char                   *chain;
  GListStore             *chain_segments;
  GError                 *error;

  gint64                  rate_time;
  guint64                 rate_bytes;

  const FerryTransferOps *ops;
  gpointer                ops_data;

  GPtrArray              *waiters;

  GListStore             *sub_transfers;  /* FerryTransfer, fan-out only */

  char                   *text;           /* a text instead of files */
  gboolean                is_text;        /* known from the offer, before the text */
  char                   *folder;         /* the one folder sent, or NULL */
  guint                   n_files;        /* as offered: the model may list fewer yet */
  gboolean                offered;        /* n_files and total_size come from the offer */
  GPtrArray              *skipped;        /* char *, NULL-terminated */
  GPtrArray              *directories;    /* opaque to the transfer */
};

gboolean _ferry_transfer_state_is_done (FerryTransferState state);

G_END_DECLS
