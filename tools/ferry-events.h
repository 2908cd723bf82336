/* ferry-events.h: the JSON output of the ferry tool (--json)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * One object per line, flushed at once. Events carry "event" and
 * "elapsed_ms"; the listings of id, plugins and peers are plain objects.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "ferry-tool.h"
#include "ferry-progress.h"

G_BEGIN_DECLS

JsonBuilder *tool_json_begin      (FerryTool     *tool,
                                   const char    *event);
void         tool_json_end        (JsonBuilder   *builder);
void         tool_json_add_string (JsonBuilder   *builder,
                                   const char    *member,
                                   const char    *value);
void         tool_json_add_int    (JsonBuilder   *builder,
                                   const char    *member,
                                   gint64         value);

void         tool_emit_error      (FerryTool     *tool,
                                   FerryTransfer *transfer,
                                   const GError  *error);
void         tool_emit_ready      (FerryTool     *tool,
                                   GFile         *download_dir);
void         tool_emit_offer      (TransferView  *view,
                                   FerryPeer     *peer);
void         tool_emit_progress   (TransferView  *view);
void         tool_emit_text       (TransferView  *view);
void         tool_emit_done       (TransferView  *view,
                                   double         seconds);
void         tool_emit_exit       (FerryTool     *tool,
                                   int            code);

G_END_DECLS
