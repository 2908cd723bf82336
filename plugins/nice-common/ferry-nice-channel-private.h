/* ferry-nice-channel-private.h: a libnice component as a bounded byte pipe
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "ferry-nice-common.h"

G_BEGIN_DECLS

typedef enum {
  FERRY_NICE_EVENT_WRITABLE,   /* the first reliable-transport-writable */
  FERRY_NICE_EVENT_FAILED,     /* the component failed (or was closed) */
  FERRY_NICE_EVENT_READABLE,   /* the first bytes arrived (on the next
                                  iteration of the context) */
} FerryNiceEvent;

typedef void (*FerryNiceEventFunc) (FerryNiceChannel *channel,
                                    FerryNiceEvent    event,
                                    gpointer          user_data);

/* Takes @agent over; attaches the receive callback on @context at once, so
 * that the agent reads its sockets while it gathers and checks. Call on
 * @context's thread. */
FerryNiceChannel *_ferry_nice_channel_new            (NiceAgent          *agent,
                                                      guint               stream_id,
                                                      GMainContext       *context);
FerryNiceChannel *_ferry_nice_channel_ref            (FerryNiceChannel   *channel);
/* The last reference tears the agent down on its context. */
void              _ferry_nice_channel_unref          (FerryNiceChannel   *channel);
void              _ferry_nice_channel_set_event_func (FerryNiceChannel   *channel,
                                                      FerryNiceEventFunc  func,
                                                      gpointer            user_data);
NiceAgent        *_ferry_nice_channel_get_agent      (FerryNiceChannel   *channel);
guint             _ferry_nice_channel_get_stream_id  (FerryNiceChannel   *channel);
gboolean          _ferry_nice_channel_is_connected   (FerryNiceChannel   *channel);
/* The UDP leg: the agent is not reliable and QUIC carries the stream
 * (@client on the offerer's side; @drop_every: see _ferry_nice_quic_new).
 * Call before the agent connects. */
void              _ferry_nice_channel_use_quic       (FerryNiceChannel   *channel,
                                                      gboolean            client,
                                                      guint               drop_every);
/* The blocking side, from any thread (ferry-nice-stream.c). */
gssize            _ferry_nice_channel_read           (FerryNiceChannel   *channel,
                                                      void               *buffer,
                                                      gsize               count,
                                                      GCancellable       *cancellable,
                                                      GError            **error);
gssize            _ferry_nice_channel_write          (FerryNiceChannel   *channel,
                                                      const void         *buffer,
                                                      gsize               count,
                                                      GCancellable       *cancellable,
                                                      GError            **error);
/* Drops what was received, flushes what was written, ends the stream. */
void              _ferry_nice_channel_close          (FerryNiceChannel   *channel,
                                                      GCancellable       *cancellable);
gboolean          _ferry_nice_channel_claim_stream   (FerryNiceChannel   *channel);
/* A new GIOStream on the channel; at most one per channel. */
GIOStream        *_ferry_nice_channel_open_stream    (FerryNiceChannel   *channel);

/* ferry-nice-path.c: once the stream was handed out with the pair
 * @current, tells @transport of every later change of pair. */
typedef struct _FerryNicePathWatch FerryNicePathWatch;
void              _ferry_nice_channel_watch_paths    (FerryNiceChannel   *channel,
                                                      FerryTransport     *transport,
                                                      const char         *attempt_id,
                                                      const char         *name,
                                                      const char         *current);
void              _ferry_nice_channel_unwatch_paths  (FerryNiceChannel   *channel);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerryNiceChannel, _ferry_nice_channel_unref)

G_END_DECLS
