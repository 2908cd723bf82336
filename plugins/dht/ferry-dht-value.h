/* ferry-dht-value.h: the values the dht plugin puts on and reads from the
 * DHT (anyone can write any key: everything read is checked)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/*
 * A value as the proxy returns it, one JSON object per line:
 *   { "data": "<base64 of a frame>", "id": "...", "type": N, ... }
 * or { "expired": true, ... } when a listen says a value went away.
 * A frame: "FDH1" | kind ('A' announcement, 'M' message) | the sender's
 * device id (64 lower-case hex digits) | the payload.
 */
#define DHT_FRAME_MAGIC               "FDH1"
#define DHT_FRAME_MAGIC_SIZE          4
#define DHT_DEVICE_ID_SIZE            64
#define DHT_FRAME_HEADER_SIZE         (DHT_FRAME_MAGIC_SIZE + 1 + DHT_DEVICE_ID_SIZE)
#define DHT_KIND_ANNOUNCEMENT         'A'
#define DHT_KIND_MESSAGE              'M'

/* The proxy refuses data above ~64 KB; real blobs are a few KB. */
#define DHT_MAX_DATA_BASE64           (48 * 1024)

typedef enum {
  DHT_VALUE_OK,
  DHT_VALUE_IGNORE,   /* nothing to do: an empty line, an expiry marker */
  DHT_VALUE_DROP,     /* junk: *reason says what is wrong */
} FerryDhtValueResult;

gboolean             _ferry_dht_is_lower_hex     (const char  *text,
                                                  gsize        length);

/* Strict base64: the standard alphabet, padded to a multiple of four. */
GBytes              *_ferry_dht_decode_base64    (const char  *text,
                                                  gsize        len);

/* Reads one line of a get or a listen: on DHT_VALUE_OK, *data is its
 * "data" member (owned by @parser, at most DHT_MAX_DATA_BASE64 bytes). */
FerryDhtValueResult  _ferry_dht_value_parse      (JsonParser  *parser,
                                                  const char  *line,
                                                  gsize        len,
                                                  const char **data,
                                                  const char **reason);

/* Decodes the "data" of a value: on DHT_VALUE_OK, the frame was of
 * @expected_kind, *sender is the sender's device id and *payload what it
 * carries. An announcement counts only when the account it claims is
 * @account (the key it was stored under). */
FerryDhtValueResult  _ferry_dht_value_decode     (const char  *data,
                                                  char         expected_kind,
                                                  const char  *account,
                                                  char       **sender,
                                                  GBytes     **payload,
                                                  const char **reason);

G_END_DECLS
