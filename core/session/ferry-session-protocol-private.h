/* ferry-session-protocol-private.h: the session's control messages
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <json-glib/json-glib.h>

#include "ferry-session-private.h"

G_BEGIN_DECLS

/*
 * Building and checking the control messages of the session protocol
 * (header, accept, end, verified, and the frames that end a transfer:
 * reject, cancel, error). Pure functions: no I/O, no state, so that every
 * parser can be fed hostile bytes on its own. Parsers take the payload of
 * one control frame and return what it says or a GError; a frame of
 * another type that ends the transfer (reject, cancel, error) becomes the
 * matching FERRY_ERROR, anything else out of place FERRY_ERROR_PROTOCOL.
 */

#define FERRY_PROTOCOL_MAX_FILES       100000   /* files and directories */
#define FERRY_PROTOCOL_MAX_DEPTH       64
#define FERRY_PROTOCOL_MAX_PATH        4096
#define FERRY_PROTOCOL_MAX_TEXT        (64 * 1024)
/* All the frames of one header together: every entry costs at least its
 * path, its type and its JSON, so this bounds what a tree header makes
 * the receiver hold (and parse). A real large folder, 100,000 files with
 * paths of ~60 bytes, takes ~13 MB. */
#define FERRY_PROTOCOL_MAX_HEADER_BYTES (32 * 1024 * 1024)
#define FERRY_PROTOCOL_MAX_FILE_SIZE   (G_GUINT64_CONSTANT (1) << 50)
#define FERRY_PROTOCOL_DIGEST_HEX_SIZE 64

/*
 * The header may span several control frames: {"type":"header", ...,
 * "more":true} then {"type":"header-more","files":[...],"dirs":[...],
 * "text":"...","more":...} until "more" is false. A file entry may hold
 * "dir" (its directory, relative, '/'-separated), "x" (executable) and
 * "mtime" (seconds); "dirs" lists directories, with the empty ones, as
 * {"path","mtime"}; "text" pieces add up to a text offered instead of
 * files (then "files" is empty).
 */
typedef struct {
  char      *transfer_id;
  GPtrArray *files;        /* FerrySessionFile: sanitised unique names, sizes, mime types */
  GPtrArray *dirs;         /* FerrySessionDir: checked relative paths */
  GString   *text;         /* NULL: none */
  gboolean   more;         /* more header frames follow */
  guint64    total;
  guint64    bytes;        /* of the frames read so far */
} FerryProtocolHeader;

/* 8 to 64 lower-case hex digits. */
gboolean             _ferry_protocol_is_valid_transfer_id (const char   *id);
/* 64 lower-case hex digits (SHA3-256). */
gboolean             _ferry_protocol_is_valid_digest      (const char   *hex);

/* Reasons are shown to the other side's user: at most 200 characters,
 * control and bidi-override characters replaced by spaces. */
char                *_ferry_protocol_clean_reason         (const char   *reason);

/* {"type": @type, "code": @code, "reason": cleaned @reason}; @code and
 * @reason may be NULL. Reasons are not translated: the peer's user may
 * read another language. */
JsonObject          *_ferry_protocol_build_frame          (const char   *type,
                                                           const char   *code,
                                                           const char   *reason);

/* Turns a frame that ends the transfer (reject, cancel, error) or that
 * is out of place into an error. */
void                 _ferry_protocol_set_peer_error       (JsonObject   *frame,
                                                           GError      **error);

/* The frames of a header (JsonObject), each under the control frame
 * limit. @dirs (FerrySessionDir) and @text may be NULL. */
GPtrArray           *_ferry_protocol_build_header         (const char   *transfer_id,
                                                           GPtrArray    *files,
                                                           GPtrArray    *dirs,
                                                           const char   *text);
/* The first frame of a header; while header->more, feed the next ones
 * to _ferry_protocol_parse_header_more(), then check the whole with
 * _ferry_protocol_header_check(). */
FerryProtocolHeader *_ferry_protocol_parse_header         (const guint8 *payload,
                                                           gsize         length,
                                                           GError      **error);
gboolean             _ferry_protocol_parse_header_more    (FerryProtocolHeader *header,
                                                           const guint8 *payload,
                                                           gsize         length,
                                                           GError      **error);
/* The tree as a whole: every path of a folder unique, no file where a
 * directory is, top-level files given unique names; at least one file,
 * directory or text. */
gboolean             _ferry_protocol_header_check         (FerryProtocolHeader *header,
                                                           GError      **error);
void                 _ferry_protocol_header_free          (FerryProtocolHeader *header);

JsonObject          *_ferry_protocol_build_accept         (const guint64 *offsets,
                                                           guint          n_offsets);
/* Returns one offset per file of @files (FerrySessionFile, for their
 * sizes): each at most the file's size, and 0 unless @allow_resume. */
guint64             *_ferry_protocol_parse_accept         (const guint8 *payload,
                                                           gsize         length,
                                                           GPtrArray    *files,
                                                           gboolean      allow_resume,
                                                           GError      **error);

JsonObject          *_ferry_protocol_build_end            (guint         index,
                                                           const char   *sha3_256);
/* Returns the digest the end of file @index (named @name in messages)
 * announces. */
char                *_ferry_protocol_parse_end            (const guint8 *payload,
                                                           gsize         length,
                                                           guint         index,
                                                           const char   *name,
                                                           GError      **error);

JsonObject          *_ferry_protocol_build_verified       (void);
/* The receiver's last word: TRUE for "verified", else FALSE and why. */
gboolean             _ferry_protocol_parse_verdict        (const guint8 *payload,
                                                           gsize         length,
                                                           GError      **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerryProtocolHeader, _ferry_protocol_header_free)

G_END_DECLS
