/* ferry-nice-channel-internal.h: what the channel's files share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * ferry-nice-channel.c        life cycle, agent events, receiving
 * ferry-nice-channel-send.c   the byte-stream send side (pump, shutdown)
 * ferry-nice-channel-quic.c   the hooks of the QUIC layer
 * ferry-nice-channel-io.c     the blocking side (read, write, close)
 */
#pragma once

#include "ferry-nice-channel-private.h"
#include "ferry-nice-quic-private.h"
#include "ferry-nice-ring.h"

G_BEGIN_DECLS

#define RX_CAPACITY      (2 * 1024 * 1024)
#define RX_PARK_FREE     (64 * 1024)       /* park with less room than one callback */
#define RX_RESUME_FILL   (RX_CAPACITY / 2)
#define RX_WAKE_NOW      (32 * 1024)       /* pseudo-TCP: wake readers at once above */
#define TX_CAPACITY      (1024 * 1024)
#define QUIC_TX_CAPACITY (16 * 1024 * 1024) /* what QUIC may have in flight */
#define QUIC_CREDIT_MIN  (64 * 1024)       /* flow control: open by at least */
#define QUIC_SOCKET_BUFFER (4 * 1024 * 1024)
#define TX_CHUNK         0xF800            /* one RFC 4571 frame of libnice */
#define TX_RETRY_MS      100               /* if reliable-transport-writable never comes */
#define SHUTDOWN_WAIT_MS 10                /* between checks for libnice's own queue */
#define CLOSE_WAIT_US    (2 * G_USEC_PER_SEC)
#define LINGER_MS        3000
#define EOF_POLL_MS      100               /* pseudo-TCP: see eof_poll_cb() */

struct _FerryNiceChannel
{
  gatomicrefcount     ref;
  GMainContext       *context;
  GMainContext       *park_context;

  /* Only touched on @context's thread. */
  NiceAgent          *agent;
  guint               stream_id;
  GIOStream          *nice_io;        /* libnice's own, for the shutdown */
  gulong              writable_id;
  gulong              state_id;
  FerryNiceEventFunc  event_func;
  gpointer            event_data;
  gboolean            tx_blocked;
  guint               writable_seq;
  gboolean            pumping;
  gboolean            repump;
  GSource            *retry_source;
  GSource            *shutdown_source;
  guint               quiet_checks;
  GSource            *linger_source;
  GSource            *eof_poll_source;
  gboolean            announced;      /* FERRY_NICE_EVENT_WRITABLE sent */
  gboolean            pseudo_tcp;     /* the selected pair is UDP */
  gboolean            got_data;       /* FERRY_NICE_EVENT_READABLE scheduled */
  FerryNiceQuic      *quic;           /* the UDP leg: the stream is QUIC's */
  FerryNicePathWatch *path_watch;     /* see ferry-nice-path.c */
  gulong              selected_id;
  guint64             stream_in;      /* QUIC: stream bytes received */
  guint64             stream_acked;   /* QUIC: stream bytes the peer acked */

  /* Under @lock. */
  GMutex              lock;
  GCond               cond;
  FerryNiceRing                rx;
  FerryNiceRing                tx;
  guint               waiters;
  gboolean            parked;
  gboolean            resume_queued;
  gboolean            wake_queued;
  gboolean            pump_idle;      /* nothing will run the pump */
  gboolean            connected;
  gboolean            failed;
  gboolean            rx_closed;
  gboolean            tx_closing;
  gboolean            tx_shut;
  gboolean            stream_opened;
  gboolean            peer_fin;       /* QUIC: the peer ended its side */
  gsize               rx_credit;      /* QUIC: read, not yet given back */
  gboolean            credit_queued;
};

static inline void
channel_clear_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

static inline void
channel_broadcast_locked (FerryNiceChannel *channel)
{
  if (channel->waiters > 0)
    g_cond_broadcast (&channel->cond);
}

static inline void
channel_emit (FerryNiceChannel *channel,
              FerryNiceEvent    event)
{
  if (channel->event_func != NULL)
    channel->event_func (channel, event, channel->event_data);
}

/* ferry-nice-channel.c */
void     _ferry_nice_channel_schedule           (FerryNiceChannel *channel,
                                                 GSourceFunc       func,
                                                 const char       *name);
void     _ferry_nice_channel_mark_failed        (FerryNiceChannel *channel);
gboolean _ferry_nice_channel_readable_cb        (gpointer          user_data);
gboolean _ferry_nice_channel_wake_readers_cb    (gpointer          user_data);
gboolean _ferry_nice_channel_resume_cb          (gpointer          user_data);

/* ferry-nice-channel-send.c */
gboolean _ferry_nice_channel_pseudo_tcp_closed  (FerryNiceChannel *channel);
GPollableOutputStream *
         _ferry_nice_channel_nice_output        (FerryNiceChannel *channel);
void     _ferry_nice_channel_pump               (FerryNiceChannel *channel);
gboolean _ferry_nice_channel_pump_cb            (gpointer          user_data);

/* ferry-nice-channel-quic.c */
gboolean _ferry_nice_channel_take_credit_locked (FerryNiceChannel *channel,
                                                 gsize             count);
gboolean _ferry_nice_channel_credit_cb          (gpointer          user_data);

G_END_DECLS
