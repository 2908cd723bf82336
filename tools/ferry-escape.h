/* ferry-escape.h: peer-provided text made safe to show on a terminal
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Display widths, in characters, of what peers name */
#define TOOL_NAME_WIDTH     64     /* a device or account name */
#define TOOL_FILE_WIDTH     160    /* a file name */
#define TOOL_MESSAGE_WIDTH  512    /* an error message, a reason */
#define TOOL_NO_LIMIT       0

char *tool_escape            (const char *text,
                              gsize       max_chars);
char *tool_json_escape_extra (const char *json);

G_END_DECLS
