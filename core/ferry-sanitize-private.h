/* ferry-sanitize-private.h: safe file names on the receiving side
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Reduces a file name offered by a peer to one safe path component: only
 * what follows the last '/' or '\\', valid UTF-8, no control characters,
 * no leading dots or spaces, no trailing dots or spaces, not "." or "..",
 * at most 200 bytes (cut on a character boundary, keeping the extension
 * when short), never ending in ".part" (the suffix of the receiver's
 * unfinished files: "x.part" becomes "x_part"). Never returns an empty
 * string: falls back to "file". */
char *_ferry_sanitize_filename (const char *name);

/* The n-th alternative of a sanitised name: "a.txt" → "a (1).txt" for
 * n = 1; n = 0 returns a copy. */
char *_ferry_filename_variant  (const char *name,
                                guint       n);

/* Longest display name kept from a peer: characters and bytes. */
#define FERRY_DISPLAY_NAME_MAX_CHARS 64
#define FERRY_DISPLAY_NAME_MAX_BYTES 256

/* Cleans a display name received from a peer: invalid UTF-8 replaced,
 * control characters (C0, DEL, C1), bidirectional overrides and other
 * invisible format characters removed, line breaks and tabs turned into
 * spaces, runs of spaces collapsed, leading and trailing spaces trimmed,
 * cut to FERRY_DISPLAY_NAME_MAX_CHARS characters and
 * FERRY_DISPLAY_NAME_MAX_BYTES bytes on a character boundary. Returns NULL
 * when nothing printable is left (the caller picks a fallback). */
char *_ferry_sanitize_display_name (const char *name,
                                    gssize      length);

/* Checks a relative path offered by a peer ("album/2024") and returns it
 * with every component sanitised as by _ferry_sanitize_filename(); NULL
 * (FERRY_ERROR_PROTOCOL) for an absolute path, an empty, "." or ".."
 * component, a backslash, more than 64 components with @extra_depth
 * added, or more than 4096 bytes. */
char *_ferry_sanitize_relative_path (const char  *path,
                                     guint        extra_depth,
                                     GError     **error);

G_END_DECLS
