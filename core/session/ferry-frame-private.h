/* ferry-frame-private.h: framing of the session protocol
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/*
 * A frame is a 5-byte header, then the payload:
 *   byte 0     type (FerryFrameType)
 *   bytes 1-4  payload length, unsigned 32-bit big-endian
 * Control payloads are one UTF-8 JSON object with a "type" member and are at
 * most FERRY_FRAME_MAX_CONTROL bytes; data payloads at most
 * FERRY_FRAME_MAX_DATA bytes. Anything else is a protocol error.
 */
typedef enum {
  FERRY_FRAME_CONTROL = 1,
  FERRY_FRAME_DATA = 2,
} FerryFrameType;

#define FERRY_FRAME_HEADER_SIZE 5
#define FERRY_FRAME_MAX_CONTROL (64 * 1024)
#define FERRY_FRAME_MAX_DATA (1024 * 1024)

/* Writes the header for a frame of @type and @length into @out. */
void        _ferry_frame_write_header (guint8          out[FERRY_FRAME_HEADER_SIZE],
                                       FerryFrameType  type,
                                       guint32         length);

/* Parses and checks a header (type known, length within its limit).
 * Errors: FERRY_ERROR_PROTOCOL. */
gboolean    _ferry_frame_parse_header (const guint8    in[FERRY_FRAME_HEADER_SIZE],
                                       FerryFrameType *type,
                                       guint32        *length,
                                       GError        **error);

/* Serialises @object and writes it as one control frame (blocking). */
gboolean    _ferry_frame_write_control (GOutputStream  *out,
                                        JsonObject     *object,
                                        GCancellable   *cancellable,
                                        GError        **error);

/* Parses a control payload: valid UTF-8 JSON object with a string "type".
 * Errors: FERRY_ERROR_PROTOCOL. */
JsonObject *_ferry_frame_parse_control (const guint8   *payload,
                                        gsize           length,
                                        GError        **error);

G_END_DECLS
