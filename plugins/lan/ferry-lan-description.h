/* ferry-lan-description.h: the lan transport's part of an offer
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define LAN_TOKEN_SIZE         16
#define LAN_MAX_ADDRESSES      32

/*
 * A description: { "addresses": [ "192.0.2.1:4711", "[2001:db8::1]:4711" ],
 *                   "token": "<32 hex digits>" }
 * 1 to LAN_MAX_ADDRESSES addresses, canonical forms only, no port 0, no
 * unspecified or multicast address.
 */

/* "192.0.2.1:4711" or "[2001:db8::1]:4711". */
char               *_ferry_lan_format_address     (GInetSocketAddress  *address);

/* Parses what _ferry_lan_format_address writes, and nothing else; NULL
 * when @text is anything else. */
GInetSocketAddress *_ferry_lan_parse_address      (const char          *text);

gboolean            _ferry_lan_parse_token        (const char          *hex,
                                                   guint8               token[LAN_TOKEN_SIZE]);
char               *_ferry_lan_format_token       (const guint8         token[LAN_TOKEN_SIZE]);

/* Reads a peer's description: its addresses (GInetSocketAddress) and
 * token. G_IO_ERROR_INVALID_ARGUMENT when @remote is NULL or not exactly
 * a description. */
gboolean            _ferry_lan_parse_description  (JsonObject          *remote,
                                                   GPtrArray          **addresses,
                                                   guint8               token[LAN_TOKEN_SIZE],
                                                   GError             **error);

G_END_DECLS
