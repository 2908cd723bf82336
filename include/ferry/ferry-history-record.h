/* ferry-history-record.h
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

G_BEGIN_DECLS

#define FERRY_TYPE_HISTORY_RECORD (ferry_history_record_get_type ())

FERRY_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (FerryHistoryRecord, ferry_history_record, FERRY, HISTORY_RECORD, GObject)

FERRY_AVAILABLE_IN_ALL
const char             *ferry_history_record_get_id              (FerryHistoryRecord *self);
FERRY_AVAILABLE_IN_ALL
FerryTransferDirection  ferry_history_record_get_direction       (FerryHistoryRecord *self);
FERRY_AVAILABLE_IN_ALL
FerryTransferState      ferry_history_record_get_state           (FerryHistoryRecord *self);
FERRY_AVAILABLE_IN_ALL
const char             *ferry_history_record_get_error_message   (FerryHistoryRecord *self);
FERRY_AVAILABLE_IN_ALL
GDateTime              *ferry_history_record_get_created         (FerryHistoryRecord *self);
FERRY_AVAILABLE_IN_ALL
const char             *ferry_history_record_get_peer_account_id (FerryHistoryRecord *self);
FERRY_AVAILABLE_IN_ALL
const char             *ferry_history_record_get_peer_name       (FerryHistoryRecord *self);
FERRY_AVAILABLE_IN_ALL
const char             *ferry_history_record_get_chain           (FerryHistoryRecord *self);
FERRY_AVAILABLE_IN_ALL
guint64                 ferry_history_record_get_bytes           (FerryHistoryRecord *self);
FERRY_AVAILABLE_IN_ALL
guint64                 ferry_history_record_get_total_size      (FerryHistoryRecord *self);
FERRY_AVAILABLE_IN_ALL
GListModel             *ferry_history_record_get_files           (FerryHistoryRecord *self);

G_END_DECLS
