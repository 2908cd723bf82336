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

#define FERRY_PROTOCOL_MAX_FILES       10000
#define FERRY_PROTOCOL_MAX_FILE_SIZE   (G_GUINT64_CONSTANT (1) << 50)
#define FERRY_PROTOCOL_DIGEST_HEX_SIZE 64

typedef struct {
  char      *transfer_id;
  GPtrArray *files;        /* FerrySessionFile: sanitised unique names, sizes, mime types */
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

JsonObject          *_ferry_protocol_build_header         (const char   *transfer_id,
                                                           GPtrArray    *files);
FerryProtocolHeader *_ferry_protocol_parse_header         (const guint8 *payload,
                                                           gsize         length,
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
