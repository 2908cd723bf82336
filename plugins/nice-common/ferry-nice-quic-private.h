/* ferry-nice-quic-private.h: QUIC (ngtcp2) over a libnice UDP component
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "ferry-nice-channel-private.h"

#include <gnutls/gnutls.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>

G_BEGIN_DECLS

typedef struct _FerryNiceQuic FerryNiceQuic;

/* Everything below runs on the channel's context. The QUIC connection
 * carries one bidirectional stream; the offerer is the QUIC client.
 * @drop_every (tests only, normally 0) loses every Nth datagram sent. */
FerryNiceQuic *_ferry_nice_quic_new        (FerryNiceChannel *channel,
                                            GMainContext     *context,
                                            gboolean          client,
                                            guint             drop_every);
/* Sends a CONNECTION_CLOSE if the connection is still open. */
void           _ferry_nice_quic_free       (FerryNiceQuic    *quic);
/* The component has a selected pair: the client starts its handshake,
 * the server reads what arrived before. */
void           _ferry_nice_quic_path_ready (FerryNiceQuic    *quic);
/* A datagram from the component. */
void           _ferry_nice_quic_receive    (FerryNiceQuic    *quic,
                                            const guint8     *data,
                                            gsize             length);
/* Writes what can be written: new stream data, acknowledgements,
 * retransmissions; re-arms the timer. */
void           _ferry_nice_quic_flush      (FerryNiceQuic    *quic);
/* The reader took @count bytes: open the flow-control windows by as much. */
void           _ferry_nice_quic_consumed   (FerryNiceQuic    *quic,
                                            gsize             count);
/* "quic/bbr", for the chain. */
const char    *_ferry_nice_quic_describe   (FerryNiceQuic    *quic);

/* Hooks of the channel, for ferry-nice-quic.c (context thread). */
void           _ferry_nice_channel_send_datagrams (FerryNiceChannel *channel,
                                                   guint8          **data,
                                                   const gsize      *lengths,
                                                   guint             count);
/* The stream is open: writers may go. */
void           _ferry_nice_channel_quic_up       (FerryNiceChannel *channel);
/* Stream bytes in order, and whether the peer ended its side. */
void           _ferry_nice_channel_deliver       (FerryNiceChannel *channel,
                                                  const guint8     *data,
                                                  gsize             length,
                                                  gboolean          fin);
/* The bytes written but not yet handed to QUIC, from @offset past the
 * oldest unacknowledged one: at most two pieces. Sets *@closing when the
 * writer closed (no more bytes will come). */
gsize          _ferry_nice_channel_peek_unsent   (FerryNiceChannel *channel,
                                                  gsize             offset,
                                                  const guint8    **data,
                                                  gsize            *lengths,
                                                  gboolean         *closing);
/* The oldest @count bytes were acknowledged: their space is free. */
void           _ferry_nice_channel_acked         (FerryNiceChannel *channel,
                                                  gsize             count);
/* The connection is over (closed, idle, failed). */
void           _ferry_nice_channel_quic_down     (FerryNiceChannel *channel);

/* ferry-nice-quic-tls.c: a gnutls session for a QUIC endpoint, ALPN and
 * priorities set, pointing at @conn_ref; NULL on failure. */
gnutls_session_t _ferry_nice_quic_tls_new        (gboolean                client,
                                                  ngtcp2_crypto_conn_ref *conn_ref);

/* ferry-nice-quic-timer.c: a GSource (no callback yet) that fires at an
 * ngtcp2 timestamp set with _ferry_nice_quic_timer_set (UINT64_MAX: never),
 * to the nanosecond where the system has timerfd. */
GSource         *_ferry_nice_quic_timer_new      (void);
void             _ferry_nice_quic_timer_set      (GSource                *source,
                                                  ngtcp2_tstamp           expiry);

/* ferry-nice-quic-timer.c: the pacer. Whether a burst due at @next must
 * still wait at @now; when the one after @bytes sent at @now is due. */
gboolean         _ferry_nice_quic_pace_wait      (ngtcp2_tstamp           next,
                                                  ngtcp2_tstamp           now);
ngtcp2_tstamp    _ferry_nice_quic_pace_next      (ngtcp2_conn            *conn,
                                                  ngtcp2_tstamp           next,
                                                  ngtcp2_tstamp           now,
                                                  gsize                   bytes);
/* How many packets of @packet bytes go in one burst, at most @max. */
gsize            _ferry_nice_quic_pace_burst     (ngtcp2_conn            *conn,
                                                  gsize                   packet,
                                                  gsize                   max);

G_END_DECLS
