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
 * when short). Never returns an empty string: falls back to "file". */
char *_ferry_sanitize_filename (const char *name);

/* The n-th alternative of a sanitised name: "a.txt" → "a (1).txt" for
 * n = 1; n = 0 returns a copy. */
char *_ferry_filename_variant  (const char *name,
                                guint       n);

/* Checks a relative path offered by a peer ("album/2024") and returns it
 * with every component sanitised as by _ferry_sanitize_filename(); NULL
 * (FERRY_ERROR_PROTOCOL) for an absolute path, an empty, "." or ".."
 * component, a backslash, more than 64 components with @extra_depth
 * added, or more than 4096 bytes. */
char *_ferry_sanitize_relative_path (const char  *path,
                                     guint        extra_depth,
                                     GError     **error);

G_END_DECLS
