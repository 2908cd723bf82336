/* ferry-offer-private.h: what an offer tells the receiver before it decides
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <json-glib/json-glib.h>

#include "ferry-session-private.h"

G_BEGIN_DECLS

/*
 * An offer carries what the receiver needs to decide, before any
 * connection: {"files": [{"name","size","mime","dir"}...], "count": N,
 * "total": bytes, "digest": "<sha-256 hex>", "dirs": D, "folder": "album",
 * "text": bytes}. "files" lists the first files (all of them when they fit
 * in a signaling message); "dirs" counts the directories of the folders
 * sent (absent: none), "folder" names the one folder everything lies in
 * (absent: several, or loose files), "text" is the size of a text sent
 * instead of files (absent: files). "digest" covers the whole tree as the
 * receiver's session will see it (sanitised paths, sizes, mime types,
 * directories, the text), so that the header that arrives once the
 * receiver accepted can be held to what was offered.
 */

/* Bounds what an offer lists of the files, to stay far below the
 * signaling message size. */
#define FERRY_OFFER_MAX_LISTED        64
#define FERRY_OFFER_MAX_LISTED_BYTES  (16 * 1024)

typedef struct {
  GPtrArray *files;    /* FerrySessionFile: the listed ones, names sanitised */
  guint      count;    /* every file of the transfer */
  guint64    total;    /* their size */
  char      *digest;
  guint      n_dirs;   /* directories of the folders */
  char      *folder;   /* the one folder everything lies in, or NULL */
  gboolean   text;     /* a text instead of files */
} FerryOfferFiles;

void             _ferry_offer_files_free   (FerryOfferFiles *offer);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerryOfferFiles, _ferry_offer_files_free)

/* Sender: adds "files", "count", "total", "digest" (and "dirs",
 * "folder", "text") for @files (FerrySessionFile with name, size, mime
 * type, dir), @dirs (FerrySessionDir, may be NULL) and @text (may be
 * NULL) to @body. */
gboolean         _ferry_offer_describe_files (JsonObject  *body,
                                              const char  *transfer_id,
                                              GPtrArray   *files,
                                              GPtrArray   *dirs,
                                              const char  *text,
                                              GError     **error);

/* Receiver: the files an offer body describes, checked (bounds, names
 * sanitised as the session does, the listed sizes within the total). */
FerryOfferFiles *_ferry_offer_parse_files  (JsonObject  *body,
                                            const char  *transfer_id,
                                            GError     **error);

/* Receiver: TRUE when @files, @dirs and @text (from the session's
 * header) are the ones @offer described. */
gboolean         _ferry_offer_matches      (FerryOfferFiles *offer,
                                            GPtrArray       *files,
                                            GPtrArray       *dirs,
                                            const char      *text);

G_END_DECLS
