/* ferry-history-private.h: the record of past transfers
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/*
 * One JSON file per transfer, <home>/history/<id>.json (directory 0700,
 * files 0600), each written whole to a temporary file, synced and renamed
 * over the old one (g_file_set_contents_full, CONSISTENT): a crash leaves
 * either the previous record or the new one, never a torn one.
 *
 *   { "version": 1, "id": "<hex>", "direction": "outgoing"|"incoming",
 *     "created": <unix ms>, "updated": <unix ms>,
 *     "state": "<FerryTransferState nick>",
 *     "error": { "code": "<nick>", "message": "..." }   (when it failed)
 *     "peer": { "account": "<hex>", "name": "..." },
 *     "chain": "...", "bytes": N, "total": N,
 *     "files": [ { "name", "size", "mime", "sha3-256",
 *                  "path":   sender: the source; receiver: the saved file,
 *                  "mtime":  sender: the source's modification time (µs),
 *                  "part":   receiver: the kept "<name>.part" of an
 *                            interrupted transfer, relative to "directory"
 *                            ("album/sub/<name>.part" in a folder),
 *                  "part-bytes": its length when it was recorded } ],
 *     "directory": "<receiver: the download folder>",
 *     "folders": [ "<top-level folder the receiver created in directory>" ]
 *     "devices": [ { "device", "account", "name", "transfer": "<sub id>",
 *                    "state", "bytes", "error"? } ]   (outgoing)
 *     "device": { "device", "account", "name" }       (incoming: the sender)
 *     "resend-of": "<id>"  (outgoing: a re-send after a request)
 *     "moved": N           bytes that actually crossed the network
 *   }
 */

#define FERRY_HISTORY_VERSION 1

gboolean    _ferry_history_save      (const char  *home,
                                      JsonObject  *record,
                                      GError     **error);
/* NULL (no error) when there is no such record. */
JsonObject *_ferry_history_load      (const char  *home,
                                      const char  *id,
                                      GError     **error);
/* Every readable record, newest first; unreadable ones are skipped. */
JsonArray  *_ferry_history_list      (const char  *home);
/* The outgoing record one of whose "devices" has sub-transfer @sub_id,
 * or the record @sub_id itself: read through an index of sub-transfer
 * ids (<home>/history-index/), never by reading every record. Blocking:
 * call it from a worker thread. */
JsonObject *_ferry_history_find_sent (const char  *home,
                                      const char  *sub_id);

/* At start-up, before any transfer runs: records of transfers that were
 * still running when their process ended become "error" with code
 * "interrupted"; the .part files of records last updated more than
 * @part_max_age_ms ago are removed (and forgotten), in folders too
 * (reached from the download folder without following links), with the
 * directories of the record's "folders" they leave empty, unless the
 * transfer finished; records beyond the
 * @max_records newest, or created more than @max_age_ms ago, are removed
 * with their .part files. A limit of 0 keeps everything. */
void        _ferry_history_maintain  (const char  *home,
                                      gint64       now_ms,
                                      guint        max_records,
                                      gint64       max_age_ms,
                                      gint64       part_max_age_ms);

G_END_DECLS
