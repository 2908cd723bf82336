/* ferry-transfer.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(FERRY_INSIDE) && !defined(FERRY_COMPILATION)
# error "Only <ferry/ferry.h> can be included directly."
#endif

#include <gio/gio.h>
#include "ferry-version-macros.h"
#include "ferry-enums.h"
#include "ferry-peer.h"

G_BEGIN_DECLS

#define FERRY_TYPE_TRANSFER_FILE (ferry_transfer_file_get_type ())

FERRY_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (FerryTransferFile, ferry_transfer_file, FERRY, TRANSFER_FILE, GObject)

#define FERRY_TYPE_TRANSFER (ferry_transfer_get_type ())

FERRY_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (FerryTransfer, ferry_transfer, FERRY, TRANSFER, GObject)

FERRY_AVAILABLE_IN_ALL
const char             *ferry_transfer_file_get_name      (FerryTransferFile  *self);
FERRY_AVAILABLE_IN_ALL
guint64                 ferry_transfer_file_get_size      (FerryTransferFile  *self);
FERRY_AVAILABLE_IN_ALL
const char             *ferry_transfer_file_get_mime_type (FerryTransferFile  *self);
FERRY_AVAILABLE_IN_ALL
GFile                  *ferry_transfer_file_get_file      (FerryTransferFile  *self);
FERRY_AVAILABLE_IN_ALL
const char             *ferry_transfer_file_get_sha3_256  (FerryTransferFile  *self);

FERRY_AVAILABLE_IN_ALL
const char             *ferry_transfer_file_get_path      (FerryTransferFile  *self);

FERRY_AVAILABLE_IN_ALL
const char             *ferry_transfer_get_text           (FerryTransfer      *self);
FERRY_AVAILABLE_IN_ALL
const char * const     *ferry_transfer_get_skipped        (FerryTransfer      *self);
FERRY_AVAILABLE_IN_ALL
guint                   ferry_transfer_get_n_files        (FerryTransfer      *self);
FERRY_AVAILABLE_IN_ALL
const char             *ferry_transfer_get_folder         (FerryTransfer      *self);
FERRY_AVAILABLE_IN_ALL
gboolean                ferry_transfer_is_text            (FerryTransfer      *self);
FERRY_AVAILABLE_IN_ALL
const char             *ferry_transfer_get_id             (FerryTransfer      *self);
FERRY_AVAILABLE_IN_ALL
FerryTransferDirection  ferry_transfer_get_direction      (FerryTransfer      *self);
FERRY_AVAILABLE_IN_ALL
FerryTransferState      ferry_transfer_get_state          (FerryTransfer      *self);
FERRY_AVAILABLE_IN_ALL
FerryDevice            *ferry_transfer_get_device         (FerryTransfer      *self);
FERRY_AVAILABLE_IN_ALL
GListModel             *ferry_transfer_get_files          (FerryTransfer      *self);
FERRY_AVAILABLE_IN_ALL
guint64                 ferry_transfer_get_total_size     (FerryTransfer      *self);
FERRY_AVAILABLE_IN_ALL
guint64                 ferry_transfer_get_bytes          (FerryTransfer      *self);
FERRY_AVAILABLE_IN_ALL
double                  ferry_transfer_get_rate           (FerryTransfer      *self);
FERRY_AVAILABLE_IN_ALL
const char             *ferry_transfer_get_chain          (FerryTransfer      *self);
FERRY_AVAILABLE_IN_ALL
GListModel             *ferry_transfer_get_chain_segments (FerryTransfer      *self);
FERRY_AVAILABLE_IN_ALL
const GError           *ferry_transfer_get_error          (FerryTransfer      *self);
FERRY_AVAILABLE_IN_ALL
gboolean                ferry_transfer_is_done            (FerryTransfer      *self);
FERRY_AVAILABLE_IN_ALL
GListModel             *ferry_transfer_get_sub_transfers  (FerryTransfer      *self);

FERRY_AVAILABLE_IN_ALL
void                    ferry_transfer_accept             (FerryTransfer      *self,
                                                           GFile              *directory);
FERRY_AVAILABLE_IN_ALL
void                    ferry_transfer_reject             (FerryTransfer      *self,
                                                           const char         *reason);
FERRY_AVAILABLE_IN_ALL
void                    ferry_transfer_cancel             (FerryTransfer      *self,
                                                           const char         *reason);
FERRY_AVAILABLE_IN_ALL
void                    ferry_transfer_wait_async         (FerryTransfer      *self,
                                                           GCancellable       *cancellable,
                                                           GAsyncReadyCallback callback,
                                                           gpointer            user_data);
FERRY_AVAILABLE_IN_ALL
gboolean                ferry_transfer_wait_finish        (FerryTransfer      *self,
                                                           GAsyncResult       *result,
                                                           GError            **error);

G_END_DECLS
