/* ferry-nice-channel.c: a libnice component as a bounded byte pipe
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The core reads and writes its transport stream with blocking calls from
 * worker threads (the TLS handshake, the session's threads), while a
 * NiceAgent must only be driven from its main context: libnice's own
 * blocking I/O iterates that context from the calling thread, and a
 * blocking reader and a blocking writer on one pseudo-TCP agent stall each
 * other. So the agent never leaves its context here:
 *
 *   receive   the agent's receive callback (on the context) appends to a
 *             bounded ring, and blocked readers wait on a GCond. When the
 *             ring is nearly full, the component's sockets are moved to a
 *             context nobody iterates ("parked"), so the kernel buffers and
 *             the peer's TCP or pseudo-TCP window hold the rest; a reader
 *             that drained the ring below half moves them back.
 *   send      writers copy into a bounded ring and wake the context, which
 *             hands the bytes to nice_agent_send() in chunks of less than an
 *             RFC 4571 frame; when the agent takes no more it waits for
 *             reliable-transport-writable (with a slow timer as a safety
 *             net), and writers wait while the ring is full.
 *   close     the write side is flushed, then shut down gracefully (a
 *             pseudo-TCP FIN or a TCP shutdown, through libnice's own
 *             output stream); the agent lingers until the peer closes too,
 *             or for a few seconds, then is closed with
 *             nice_agent_close_async() (which also frees TURN allocations).
 *   failure   a FAILED component (ICE-TCP reports it when the peer closes,
 *             pseudo-TCP once both sides closed) ends the stream: readers
 *             get what is buffered, then end of stream; writers an error.
 *             The secure channel above tells a clean end (TLS close_notify)
 *             from a cut.
 *
 * Memory per connection: the two rings (2 MiB + 1 MiB), whatever the size
 * of the transfer.
 *
 * On a UDP pair or relay the agent is not reliable and QUIC carries the
 * stream (ferry-nice-quic.c, through the hooks at the end of this file):
 * the same rings and blocking calls, but received bytes come from the QUIC
 * stream (flow control bounds the receive ring: up to the 16 MiB stream
 * window, opened again as the reader drains it, so nothing is parked),
 * and the send ring (16 MiB) keeps the bytes until the peer acknowledged
 * them, since QUIC retransmits from there. The end of stream is the QUIC
 * stream's FIN.
 */
#include "config.h"

#include <string.h>
#include <sys/socket.h>

#include <glib/gi18n-lib.h>

#include "ferry-nice-channel-private.h"
#include "ferry-nice-quic-private.h"

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

/* ----------------------------------------------------------------- ring */

typedef struct {
  guint8 *data;
  gsize   capacity;
  gsize   start;
  gsize   length;
} Ring;

static void
ring_init (Ring  *ring,
           gsize  capacity)
{
  ring->data = g_malloc (capacity);
  ring->capacity = capacity;
  ring->start = 0;
  ring->length = 0;
}

static void
ring_clear (Ring *ring)
{
  g_clear_pointer (&ring->data, g_free);
  ring->capacity = ring->start = ring->length = 0;
}

static gsize
ring_free_space (const Ring *ring)
{
  return ring->capacity - ring->length;
}

static void
ring_push (Ring       *ring,
           const void *data,
           gsize       size)
{
  gsize end = (ring->start + ring->length) % ring->capacity;
  gsize first = MIN (size, ring->capacity - end);

  if (size == 0)
    return; /* e.g. a stream's FIN without data: @data may be NULL */
  g_assert (size <= ring_free_space (ring));

  memcpy (ring->data + end, data, first);
  memcpy (ring->data, (const guint8 *) data + first, size - first);
  ring->length += size;
}

/* Grows @ring so that @size more bytes fit (never needed in practice: the
 * receive side parks before; a safety net rather than losing data). */
static void
ring_reserve (Ring  *ring,
              gsize  size)
{
  Ring bigger;

  if (ring_free_space (ring) >= size)
    return;

  ring_init (&bigger, MAX (ring->capacity * 2, ring->length + size + RX_PARK_FREE));
  while (ring->length > 0)
    {
      gsize n = MIN (ring->length, ring->capacity - ring->start);

      ring_push (&bigger, ring->data + ring->start, n);
      ring->start = (ring->start + n) % ring->capacity;
      ring->length -= n;
    }
  g_free (ring->data);
  *ring = bigger;
}

static gsize
ring_pop (Ring  *ring,
          void  *out,
          gsize  size)
{
  gsize n = MIN (size, ring->length);
  gsize first = MIN (n, ring->capacity - ring->start);

  memcpy (out, ring->data + ring->start, first);
  memcpy ((guint8 *) out + first, ring->data, n - first);
  ring->start = (ring->start + n) % ring->capacity;
  ring->length -= n;
  if (ring->length == 0)
    ring->start = 0;
  return n;
}

/* The contiguous bytes at the head of @ring. */
static gsize
ring_peek (const Ring    *ring,
           const guint8 **data)
{
  *data = ring->data + ring->start;
  return MIN (ring->length, ring->capacity - ring->start);
}

static void
ring_consume (Ring  *ring,
              gsize  size)
{
  g_assert (size <= ring->length);
  ring->start = (ring->start + size) % ring->capacity;
  ring->length -= size;
  if (ring->length == 0)
    ring->start = 0;
}

/* -------------------------------------------------------------- channel */

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

  /* Under @lock. */
  GMutex              lock;
  GCond               cond;
  Ring                rx;
  Ring                tx;
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

static void channel_pump            (FerryNiceChannel *channel);
static void channel_maybe_shutdown  (FerryNiceChannel *channel);
static void channel_attach          (FerryNiceChannel *channel);
static gboolean credit_cb           (gpointer          user_data);

/* Runs @func on the channel's context, never synchronously: the caller may
 * hold locks. The source holds a reference. */
static void
channel_schedule (FerryNiceChannel *channel,
                  GSourceFunc       func,
                  const char       *name)
{
  GSource *source = g_idle_source_new ();

  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_static_name (source, name);
  g_source_set_callback (source, func, _ferry_nice_channel_ref (channel),
                         (GDestroyNotify) _ferry_nice_channel_unref);
  g_source_attach (source, channel->context);
  g_source_unref (source);
}

static void
clear_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

static void
channel_broadcast_locked (FerryNiceChannel *channel)
{
  if (channel->waiters > 0)
    g_cond_broadcast (&channel->cond);
}

static void
channel_emit (FerryNiceChannel *channel,
              FerryNiceEvent    event)
{
  if (channel->event_func != NULL)
    channel->event_func (channel, event, channel->event_data);
}

/* Context thread: the agent and the component are done for. */
static void
channel_mark_failed (FerryNiceChannel *channel)
{
  gboolean was_failed;

  g_mutex_lock (&channel->lock);
  was_failed = channel->failed;
  channel->failed = TRUE;
  channel_broadcast_locked (channel);
  g_mutex_unlock (&channel->lock);

  clear_source (&channel->retry_source);
  clear_source (&channel->shutdown_source);
  clear_source (&channel->eof_poll_source);

  /* The peer closed too: no need to linger any longer. (The reference goes
   * on the next iteration, never under a caller's feet.) */
  if (channel->linger_source != NULL)
    g_source_set_ready_time (channel->linger_source, 0);

  if (!was_failed)
    channel_emit (channel, FERRY_NICE_EVENT_FAILED);
}

static gboolean
readable_cb (gpointer user_data)
{
  channel_emit (user_data, FERRY_NICE_EVENT_READABLE);
  return G_SOURCE_REMOVE;
}

static gboolean
wake_readers_cb (gpointer user_data)
{
  FerryNiceChannel *channel = user_data;

  g_mutex_lock (&channel->lock);
  channel->wake_queued = FALSE;
  g_cond_broadcast (&channel->cond);
  g_mutex_unlock (&channel->lock);
  return G_SOURCE_REMOVE;
}

static void
recv_cb (NiceAgent *agent,
         guint      stream_id,
         guint      component_id,
         guint      len,
         gchar     *buf,
         gpointer   user_data)
{
  FerryNiceChannel *channel = user_data;
  gboolean park = FALSE;
  gboolean wake_later = FALSE;

  if (channel->quic != NULL)
    {
      _ferry_nice_quic_receive (channel->quic, (const guint8 *) buf, len);
      return;
    }

  if (!channel->got_data)
    {
      channel->got_data = TRUE;
      channel_schedule (channel, readable_cb, "[ferry-nice] readable");
    }

  g_mutex_lock (&channel->lock);
  if (!channel->rx_closed)
    {
      ring_reserve (&channel->rx, len);
      ring_push (&channel->rx, buf, len);
      /* Pseudo-TCP hands over one datagram at a time: wake a waiting
       * reader once per batch (after libnice drained the socket), not once
       * per 1.4 kB, unless there is a lot to read already. */
      if (channel->waiters > 0)
        {
          if (!channel->pseudo_tcp || channel->rx.length >= RX_WAKE_NOW)
            g_cond_broadcast (&channel->cond);
          else if (!channel->wake_queued)
            wake_later = channel->wake_queued = TRUE;
        }
      if (ring_free_space (&channel->rx) < RX_PARK_FREE && !channel->parked)
        park = channel->parked = TRUE;
    }
  g_mutex_unlock (&channel->lock);

  if (wake_later)
    channel_schedule (channel, wake_readers_cb, "[ferry-nice] wake readers");

  /* libnice calls this without its lock held, and checks after each
   * callback whether one is still attached. */
  if (park)
    nice_agent_attach_recv (agent, stream_id, component_id, channel->park_context, NULL, NULL);
}

static gboolean
resume_cb (gpointer user_data)
{
  FerryNiceChannel *channel = user_data;
  gboolean resume;

  g_mutex_lock (&channel->lock);
  channel->resume_queued = FALSE;
  resume = channel->parked && channel->agent != NULL;
  channel->parked = FALSE;
  g_mutex_unlock (&channel->lock);

  if (resume)
    channel_attach (channel);
  return G_SOURCE_REMOVE;
}

static gboolean
retry_cb (gpointer user_data)
{
  FerryNiceChannel *channel = user_data;

  g_clear_pointer (&channel->retry_source, g_source_unref);
  channel->tx_blocked = FALSE;
  channel_pump (channel);
  return G_SOURCE_REMOVE;
}

/* A message without bytes sends nothing, but fails with something other
 * than G_IO_ERROR_WOULD_BLOCK once the pseudo-TCP socket is closed. */
static gboolean
pseudo_tcp_closed (FerryNiceChannel *channel)
{
  NiceOutputMessage message = { NULL, 0 };
  g_autoptr(GError) error = NULL;

  if (nice_agent_send_messages_nonblocking (channel->agent, channel->stream_id, 1,
                                            &message, 1, NULL, &error) >= 0)
    return FALSE;
  return !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
}

static GPollableOutputStream *
nice_output (FerryNiceChannel *channel)
{
  if (channel->nice_io == NULL)
    channel->nice_io = nice_agent_get_io_stream (channel->agent, channel->stream_id, 1);
  return channel->nice_io ? G_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (channel->nice_io))
                          : NULL;
}

/* (Re)attaches the receive callback on the context. On a pseudo-TCP pair
 * this also makes libnice read again, which is when it finds the peer's
 * FIN: it then closes its own side, silently (no state change), and the
 * socket stops taking data. Reading moves no send space, so a socket that
 * could send before and cannot after has been closed. */
static void
channel_attach (FerryNiceChannel *channel)
{
  GPollableOutputStream *output = channel->pseudo_tcp ? nice_output (channel) : NULL;
  gboolean before = output != NULL && g_pollable_output_stream_is_writable (output);

  nice_agent_attach_recv (channel->agent, channel->stream_id, 1, channel->context,
                          recv_cb, channel);

  if (before && !g_pollable_output_stream_is_writable (output))
    {
      g_debug ("ice stream %u: the peer closed the pseudo-TCP connection", channel->stream_id);
      channel_mark_failed (channel);
    }
}

/* libnice reads pseudo-TCP data for the receive callback as it arrives,
 * but not the peer's FIN: it finds the end of stream only when it tries to
 * read again, which (re)attaching the callback does. So while the
 * channel lives, look now and then. */
static gboolean
eof_poll_cb (gpointer user_data)
{
  FerryNiceChannel *channel = user_data;
  gboolean poke;

  g_mutex_lock (&channel->lock);
  poke = !channel->parked && !channel->failed;
  g_mutex_unlock (&channel->lock);

  if (poke && channel->agent != NULL)
    {
      channel_attach (channel);
      if (channel->eof_poll_source != NULL && pseudo_tcp_closed (channel))
        {
          g_debug ("ice stream %u: the pseudo-TCP connection is closed", channel->stream_id);
          channel_mark_failed (channel);
        }
    }
  return channel->eof_poll_source != NULL ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static void
on_writable (NiceAgent *agent,
             guint      stream_id,
             guint      component_id,
             gpointer   user_data)
{
  FerryNiceChannel *channel = user_data;
  gboolean first;

  if (stream_id != channel->stream_id)
    return;

  channel->writable_seq++;
 
  channel->tx_blocked = FALSE;
  clear_source (&channel->retry_source);

  g_mutex_lock (&channel->lock);
  first = !channel->connected && !channel->failed;
  if (first)
    channel->connected = TRUE;
  g_mutex_unlock (&channel->lock);

  if (first && !channel->announced)
    {
      NiceCandidate *local = NULL, *remote = NULL;

      channel->announced = TRUE;
      channel->pseudo_tcp = nice_agent_get_selected_pair (agent, stream_id, 1, &local, &remote) &&
                            local->transport == NICE_CANDIDATE_TRANSPORT_UDP;
      if (channel->pseudo_tcp && channel->eof_poll_source == NULL)
        {
          channel->eof_poll_source = g_timeout_source_new (EOF_POLL_MS);
          g_source_set_static_name (channel->eof_poll_source, "[ferry-nice] eof poll");
          g_source_set_callback (channel->eof_poll_source, eof_poll_cb, channel, NULL);
          g_source_attach (channel->eof_poll_source, channel->context);
        }
      channel_emit (channel, FERRY_NICE_EVENT_WRITABLE);
    }

  channel_pump (channel);
}

/* QUIC sends bursts of datagrams, and the context may be busy for a
 * moment: room for a few milliseconds of them in the kernel (as much as
 * net.core.rmem_max / wmem_max allow). */
static void
channel_grow_socket_buffers (FerryNiceChannel *channel)
{
  g_autoptr(GPtrArray) sockets = nice_agent_get_sockets (channel->agent, channel->stream_id, 1);

  for (guint i = 0; sockets != NULL && i < sockets->len; i++)
    {
      GSocket *socket = g_ptr_array_index (sockets, i);

      if (g_socket_get_socket_type (socket) != G_SOCKET_TYPE_DATAGRAM)
        continue;
      g_socket_set_option (socket, SOL_SOCKET, SO_RCVBUF, QUIC_SOCKET_BUFFER, NULL);
      g_socket_set_option (socket, SOL_SOCKET, SO_SNDBUF, QUIC_SOCKET_BUFFER, NULL);
    }
}

static void
on_state_changed (NiceAgent *agent,
                  guint      stream_id,
                  guint      component_id,
                  guint      state,
                  gpointer   user_data)
{
  FerryNiceChannel *channel = user_data;

  if (stream_id != channel->stream_id)
    return;

  g_debug ("ice stream %u: component state %s", stream_id,
           nice_component_state_to_string (state));
  if (state == NICE_COMPONENT_STATE_FAILED)
    channel_mark_failed (channel);
  else if (channel->quic != NULL &&
           (state == NICE_COMPONENT_STATE_CONNECTED || state == NICE_COMPONENT_STATE_READY))
    {
      channel_grow_socket_buffers (channel);
      _ferry_nice_quic_path_ready (channel->quic);
    }
}

/* Context thread. Hands the send ring to the agent until it is empty or the
 * agent takes no more. */
static void
channel_pump (FerryNiceChannel *channel)
{
  if (channel->quic != NULL)
    {
      _ferry_nice_quic_flush (channel->quic);
      return;
    }

  if (channel->pumping)
    {
      /* nice_agent_send() may emit reliable-transport-writable. */
      channel->repump = TRUE;
      return;
    }

  channel->pumping = TRUE;
  do
    {
      channel->repump = FALSE;

      while (channel->agent != NULL && !channel->tx_blocked)
        {
          const guint8 *data;
          gsize n;
          guint seq;
          gint sent;

          g_mutex_lock (&channel->lock);
          n = MIN (ring_peek (&channel->tx, &data), TX_CHUNK);
          if (channel->failed || !channel->connected || n == 0)
            {
              /* The next write wakes the pump. */
              channel->pump_idle = TRUE;
              g_mutex_unlock (&channel->lock);
              break;
            }
          g_mutex_unlock (&channel->lock);

          /* Writers only append: the bytes at the head stay put. */
          seq = channel->writable_seq;
          sent = nice_agent_send (channel->agent, channel->stream_id, 1, n, (const gchar *) data);
          if (sent > 0)
            {
              g_mutex_lock (&channel->lock);
              ring_consume (&channel->tx, MIN ((gsize) sent, n));
              channel_broadcast_locked (channel);
              g_mutex_unlock (&channel->lock);
              continue;
            }

          /* Past the connection, pseudo-TCP answers -1 (rather than 0 for
           * a full buffer) only once it sent or got a FIN. */
          if ((channel->pseudo_tcp && pseudo_tcp_closed (channel)) ||
              nice_agent_get_component_state (channel->agent, channel->stream_id, 1) ==
              NICE_COMPONENT_STATE_FAILED)
            {
              channel_mark_failed (channel);
              break;
            }

          if (seq == channel->writable_seq)
            {
              channel->tx_blocked = TRUE;
              if (channel->retry_source == NULL)
                {
                  channel->retry_source = g_timeout_source_new (TX_RETRY_MS);
                  g_source_set_static_name (channel->retry_source, "[ferry-nice] send retry");
                  g_source_set_callback (channel->retry_source, retry_cb, channel, NULL);
                  g_source_attach (channel->retry_source, channel->context);
                }
            }
        }
    }
  while (channel->repump);
  channel->pumping = FALSE;

  channel_maybe_shutdown (channel);
}

static gboolean
pump_cb (gpointer user_data)
{
  FerryNiceChannel *channel = user_data;

  channel_pump (channel);
  return G_SOURCE_REMOVE;
}

static gboolean
shutdown_cb (gpointer user_data)
{
  FerryNiceChannel *channel = user_data;

  g_clear_pointer (&channel->shutdown_source, g_source_unref);
  channel_maybe_shutdown (channel);
  return G_SOURCE_REMOVE;
}

/* Context thread. On an ICE-TCP pair, libnice may still hold the tail of
 * the last frame in its own queue (it writes what the socket takes and
 * queues the rest), which a shutdown would drop. Its queue empties through
 * a default-priority watch on the socket, so while a connected TCP socket
 * of the component cannot take more, something may be pending. */
static gboolean
tcp_tail_maybe_pending (FerryNiceChannel *channel)
{
  NiceCandidate *local = NULL, *remote = NULL;
  g_autoptr(GPtrArray) sockets = NULL;
  gboolean pending = FALSE;

  if (!nice_agent_get_selected_pair (channel->agent, channel->stream_id, 1, &local, &remote) ||
      local->transport == NICE_CANDIDATE_TRANSPORT_UDP)
    return FALSE;

  sockets = nice_agent_get_sockets (channel->agent, channel->stream_id, 1);
  for (guint i = 0; sockets != NULL && i < sockets->len; i++)
    {
      GSocket *socket = g_ptr_array_index (sockets, i);
      struct sockaddr_storage peer;
      socklen_t length = sizeof peer;

      if (g_socket_get_socket_type (socket) != G_SOCKET_TYPE_STREAM ||
          getpeername (g_socket_get_fd (socket), (struct sockaddr *) &peer, &length) != 0)
        continue;
      if (g_socket_condition_check (socket, G_IO_OUT) == 0)
        pending = TRUE;
    }
  return pending;
}

static void
schedule_shutdown_check (FerryNiceChannel *channel,
                         guint             delay_ms)
{
  channel->shutdown_source = delay_ms ? g_timeout_source_new (delay_ms) : g_idle_source_new ();
  /* Below libnice's own watches: they run first. */
  g_source_set_priority (channel->shutdown_source, G_PRIORITY_LOW);
  g_source_set_static_name (channel->shutdown_source, "[ferry-nice] shutdown");
  g_source_set_callback (channel->shutdown_source, shutdown_cb, channel, NULL);
  g_source_attach (channel->shutdown_source, channel->context);
}

/* Context thread. Once the writer closed and everything went to the agent,
 * sends the graceful end of stream: a pseudo-TCP FIN, or a TCP shutdown
 * (through libnice's own output stream). */
static void
channel_maybe_shutdown (FerryNiceChannel *channel)
{
  GOutputStream *output;
  gboolean ready;

  g_mutex_lock (&channel->lock);
  ready = channel->tx_closing && !channel->tx_shut && !channel->failed &&
          channel->connected && channel->tx.length == 0;
  g_mutex_unlock (&channel->lock);

  if (!ready || channel->agent == NULL || channel->shutdown_source != NULL)
    return;

  /* Two quiet checks in a row, each after libnice's watches had their
   * turn. */
  if (tcp_tail_maybe_pending (channel))
    {
      channel->quiet_checks = 0;
      schedule_shutdown_check (channel, SHUTDOWN_WAIT_MS);
      return;
    }
  if (channel->quiet_checks < 2)
    {
      channel->quiet_checks++;
      schedule_shutdown_check (channel, 0);
      return;
    }

  output = G_OUTPUT_STREAM (nice_output (channel));
  if (output != NULL)
    g_output_stream_close (output, NULL, NULL);

  g_mutex_lock (&channel->lock);
  channel->tx_shut = TRUE;
  channel_broadcast_locked (channel);
  g_mutex_unlock (&channel->lock);
}

static void
agent_closed_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_task_propagate_boolean (G_TASK (result), NULL);
}

static void
drop_cb (NiceAgent *agent,
         guint      stream_id,
         guint      component_id,
         guint      len,
         gchar     *buf,
         gpointer   user_data)
{
}

/* Context thread, last reference gone. */
static void
channel_destroy (FerryNiceChannel *channel)
{
  clear_source (&channel->retry_source);
  clear_source (&channel->shutdown_source);
  clear_source (&channel->linger_source);
  clear_source (&channel->eof_poll_source);

  /* Its goodbye goes out through the agent. */
  g_clear_pointer (&channel->quic, _ferry_nice_quic_free);

  if (channel->agent != NULL)
    {
      g_signal_handler_disconnect (channel->agent, channel->writable_id);
      g_signal_handler_disconnect (channel->agent, channel->state_id);
      /* Keep reading (and dropping): closing waits for the TURN server's
       * answers. */
      nice_agent_attach_recv (channel->agent, channel->stream_id, 1, channel->context,
                              drop_cb, NULL);
      /* libnice keeps its own reference: close it while the agent lives. */
      if (channel->nice_io != NULL)
        g_io_stream_close (channel->nice_io, NULL, NULL);
      g_clear_object (&channel->nice_io);
      /* Frees TURN allocations and closes the sockets; the task holds the
       * agent until then. */
      nice_agent_close_async (channel->agent, agent_closed_cb, NULL);
      g_clear_object (&channel->agent);
    }

  ring_clear (&channel->rx);
  ring_clear (&channel->tx);
  g_mutex_clear (&channel->lock);
  g_cond_clear (&channel->cond);
  g_main_context_unref (channel->park_context);
  g_main_context_unref (channel->context);
  g_free (channel);
}

static gboolean
destroy_cb (gpointer user_data)
{
  channel_destroy (user_data);
  return G_SOURCE_REMOVE;
}

FerryNiceChannel *
_ferry_nice_channel_new (NiceAgent    *agent,
                         guint         stream_id,
                         GMainContext *context)
{
  FerryNiceChannel *channel = g_new0 (FerryNiceChannel, 1);

  g_atomic_ref_count_init (&channel->ref);
  channel->context = g_main_context_ref (context);
  channel->park_context = g_main_context_new ();
  channel->agent = agent;
  channel->stream_id = stream_id;
  g_mutex_init (&channel->lock);
  g_cond_init (&channel->cond);
  ring_init (&channel->rx, RX_CAPACITY);
  ring_init (&channel->tx, TX_CAPACITY);
  channel->pump_idle = TRUE;

  channel->writable_id = g_signal_connect (agent, "reliable-transport-writable",
                                           G_CALLBACK (on_writable), channel);
  channel->state_id = g_signal_connect (agent, "component-state-changed",
                                        G_CALLBACK (on_state_changed), channel);
  nice_agent_attach_recv (agent, stream_id, 1, context, recv_cb, channel);

  return channel;
}

FerryNiceChannel *
_ferry_nice_channel_ref (FerryNiceChannel *channel)
{
  g_atomic_ref_count_inc (&channel->ref);
  return channel;
}

void
_ferry_nice_channel_unref (FerryNiceChannel *channel)
{
  GSource *source;

  if (!g_atomic_ref_count_dec (&channel->ref))
    return;

  if (g_main_context_is_owner (channel->context))
    {
      channel_destroy (channel);
      return;
    }

  /* The agent belongs to its context. */
  source = g_idle_source_new ();
  g_source_set_static_name (source, "[ferry-nice] destroy");
  g_source_set_callback (source, destroy_cb, channel, NULL);
  g_source_attach (source, channel->context);
  g_source_unref (source);
}

void
_ferry_nice_channel_set_event_func (FerryNiceChannel   *channel,
                                    FerryNiceEventFunc  func,
                                    gpointer            user_data)
{
  channel->event_func = func;
  channel->event_data = user_data;
}

NiceAgent *
_ferry_nice_channel_get_agent (FerryNiceChannel *channel)
{
  return channel->agent;
}

guint
_ferry_nice_channel_get_stream_id (FerryNiceChannel *channel)
{
  return channel->stream_id;
}

gboolean
_ferry_nice_channel_is_connected (FerryNiceChannel *channel)
{
  gboolean connected;

  g_mutex_lock (&channel->lock);
  connected = channel->connected && !channel->failed;
  g_mutex_unlock (&channel->lock);
  return connected;
}

/* ------------------------------------------------------------ QUIC hooks */

/* Context thread, before the agent connects: the UDP leg's agent is not
 * reliable, and its stream is carried by QUIC (ferry-nice-quic.c). */
void
_ferry_nice_channel_use_quic (FerryNiceChannel *channel,
                              gboolean          client,
                              guint             drop_every)
{
  g_return_if_fail (channel->quic == NULL);

  /* ngtcp2 retransmits from the send ring: bytes stay in place until
   * acknowledged, so the ring holds what may be in flight. */
  ring_clear (&channel->tx);
  ring_init (&channel->tx, QUIC_TX_CAPACITY);
  channel->quic = _ferry_nice_quic_new (channel, channel->context, client, drop_every);
}

void
_ferry_nice_channel_send_datagrams (FerryNiceChannel  *channel,
                                    guint8           **data,
                                    const gsize       *lengths,
                                    guint              count)
{
  GOutputVector *vectors;
  NiceOutputMessage *messages;

  if (channel->agent == NULL || count == 0)
    return;
  /* A burst is a few packets (bounded by the QUIC layer): the stack holds it. */
  vectors = g_newa (GOutputVector, count);
  messages = g_newa (NiceOutputMessage, count);
  for (guint i = 0; i < count; i++)
    {
      vectors[i].buffer = data[i];
      vectors[i].size = lengths[i];
      messages[i].buffers = &vectors[i];
      messages[i].n_buffers = 1;
    }
  /* A datagram the socket does not take is lost; QUIC recovers. */
  nice_agent_send_messages_nonblocking (channel->agent, channel->stream_id, 1, messages, count,
                                        NULL, NULL);
}

void
_ferry_nice_channel_quic_up (FerryNiceChannel *channel)
{
  gboolean first;

  g_mutex_lock (&channel->lock);
  first = !channel->connected && !channel->failed;
  channel->connected = TRUE;
  g_mutex_unlock (&channel->lock);

  if (first && !channel->announced)
    {
      channel->announced = TRUE;
      channel_emit (channel, FERRY_NICE_EVENT_WRITABLE);
    }
}

void
_ferry_nice_channel_deliver (FerryNiceChannel *channel,
                             const guint8     *data,
                             gsize             length,
                             gboolean          fin)
{
  gboolean credit = FALSE;
  gboolean wake_later = FALSE;

  if (length > 0 && !channel->got_data)
    {
      channel->got_data = TRUE;
      channel_schedule (channel, readable_cb, "[ferry-nice] readable");
    }

  g_mutex_lock (&channel->lock);
  if (channel->rx_closed)
    {
      /* Nobody reads any more: let the peer finish all the same. */
      channel->rx_credit += length;
      credit = !channel->credit_queued;
      channel->credit_queued = TRUE;
    }
  else
    {
      /* Flow control bounds what the peer may send ahead of the reader. */
      ring_reserve (&channel->rx, length);
      ring_push (&channel->rx, data, length);
    }
  if (fin)
    channel->peer_fin = TRUE;
  /* One packet at a time: wake a waiting reader once per batch (after the
   * socket was drained), unless there is a lot to read already. */
  if (channel->waiters > 0)
    {
      if (fin || channel->rx.length >= RX_WAKE_NOW)
        g_cond_broadcast (&channel->cond);
      else if (!channel->wake_queued)
        wake_later = channel->wake_queued = TRUE;
    }
  g_mutex_unlock (&channel->lock);

  if (wake_later)
    channel_schedule (channel, wake_readers_cb, "[ferry-nice] wake readers");
  if (credit)
    channel_schedule (channel, credit_cb, "[ferry-nice] quic credit");
}

gsize
_ferry_nice_channel_peek_unsent (FerryNiceChannel  *channel,
                                 gsize              offset,
                                 const guint8     **data,
                                 gsize             *lengths,
                                 gboolean          *closing)
{
  gsize n = 0;

  g_mutex_lock (&channel->lock);
  if (channel->tx.length > offset)
    {
      gsize start = (channel->tx.start + offset) % channel->tx.capacity;
      gsize unsent = channel->tx.length - offset;

      data[0] = channel->tx.data + start;
      lengths[0] = MIN (unsent, channel->tx.capacity - start);
      n = 1;
      if (lengths[0] < unsent)
        {
          data[1] = channel->tx.data;
          lengths[1] = unsent - lengths[0];
          n = 2;
        }
    }
  else
    /* The next write wakes the pump. */
    channel->pump_idle = TRUE;
  *closing = channel->tx_closing;
  g_mutex_unlock (&channel->lock);
  return n;
}

void
_ferry_nice_channel_acked (FerryNiceChannel *channel,
                           gsize             count)
{
  g_mutex_lock (&channel->lock);
  ring_consume (&channel->tx, MIN (count, channel->tx.length));
  channel_broadcast_locked (channel);
  g_mutex_unlock (&channel->lock);
}

void
_ferry_nice_channel_quic_down (FerryNiceChannel *channel)
{
  channel_mark_failed (channel);
}

/* Any thread, under the lock: the reader took @count bytes. Returns
 * whether to give the credit back now (in a batch, or when the reader
 * caught up). */
static gboolean
channel_take_credit_locked (FerryNiceChannel *channel,
                            gsize             count)
{
  if (channel->quic == NULL)
    return FALSE;
  channel->rx_credit += count;
  if (channel->credit_queued || channel->rx_credit < QUIC_CREDIT_MIN)
    return FALSE;
  channel->credit_queued = TRUE;
  return TRUE;
}

static gboolean
credit_cb (gpointer user_data)
{
  FerryNiceChannel *channel = user_data;
  gsize credit;

  g_mutex_lock (&channel->lock);
  credit = channel->rx_credit;
  channel->rx_credit = 0;
  channel->credit_queued = FALSE;
  g_mutex_unlock (&channel->lock);

  if (channel->quic != NULL && credit > 0)
    _ferry_nice_quic_consumed (channel->quic, credit);
  return G_SOURCE_REMOVE;
}

/* --------------------------------------------------- blocking side (any thread) */

static void
wake_cb (GCancellable *cancellable,
         gpointer      user_data)
{
  FerryNiceChannel *channel = user_data;

  g_mutex_lock (&channel->lock);
  g_cond_broadcast (&channel->cond);
  g_mutex_unlock (&channel->lock);
}

gssize
_ferry_nice_channel_read (FerryNiceChannel  *channel,
                          void              *buffer,
                          gsize              count,
                          GCancellable      *cancellable,
                          GError           **error)
{
  gulong handler = 0;
  gssize result = -1;
  gboolean resume = FALSE;
  gboolean credit = FALSE;

  if (cancellable != NULL)
    handler = g_cancellable_connect (cancellable, G_CALLBACK (wake_cb), channel, NULL);

  g_mutex_lock (&channel->lock);
  while (channel->rx.length == 0 && !channel->failed && !channel->rx_closed &&
         !channel->peer_fin && !g_cancellable_is_cancelled (cancellable))
    {
      channel->waiters++;
      g_cond_wait (&channel->cond, &channel->lock);
      channel->waiters--;
    }

  if (channel->rx_closed)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CLOSED, _("The stream is closed"));
  else if (channel->rx.length > 0)
    {
      result = ring_pop (&channel->rx, buffer, count);
      credit = channel_take_credit_locked (channel, result);
      if (channel->parked && !channel->resume_queued && channel->rx.length <= RX_RESUME_FILL)
        resume = channel->resume_queued = TRUE;
    }
  else if (g_cancellable_set_error_if_cancelled (cancellable, error))
    ;
  else
    result = 0;   /* the peer closed, or the connection failed */
  g_mutex_unlock (&channel->lock);

  if (resume)
    channel_schedule (channel, resume_cb, "[ferry-nice] resume");
  if (credit)
    channel_schedule (channel, credit_cb, "[ferry-nice] quic credit");

  if (handler != 0)
    g_cancellable_disconnect (cancellable, handler);

  return result;
}

gssize
_ferry_nice_channel_write (FerryNiceChannel  *channel,
                           const void        *buffer,
                           gsize              count,
                           GCancellable      *cancellable,
                           GError           **error)
{
  gulong handler = 0;
  gssize result = -1;
  gboolean pump = FALSE;

  if (count == 0)
    return 0;

  if (cancellable != NULL)
    handler = g_cancellable_connect (cancellable, G_CALLBACK (wake_cb), channel, NULL);

  g_mutex_lock (&channel->lock);
  while (ring_free_space (&channel->tx) == 0 && !channel->failed && !channel->tx_closing &&
         !g_cancellable_is_cancelled (cancellable))
    {
      channel->waiters++;
      g_cond_wait (&channel->cond, &channel->lock);
      channel->waiters--;
    }

  if (channel->tx_closing)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CLOSED, _("The stream is closed"));
  else if (channel->failed)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE,
                         _("The ICE connection was closed by the peer or failed"));
  else if (g_cancellable_set_error_if_cancelled (cancellable, error))
    ;
  else
    {
      result = MIN (count, ring_free_space (&channel->tx));
      ring_push (&channel->tx, buffer, result);
      /* A blocked pump is woken by reliable-transport-writable. */
      pump = channel->pump_idle;
      channel->pump_idle = FALSE;
    }
  g_mutex_unlock (&channel->lock);

  if (pump)
    channel_schedule (channel, pump_cb, "[ferry-nice] pump");

  if (handler != 0)
    g_cancellable_disconnect (cancellable, handler);

  return result;
}

static gboolean
linger_cb (gpointer user_data)
{
  FerryNiceChannel *channel = user_data;

  g_clear_pointer (&channel->linger_source, g_source_unref);
  _ferry_nice_channel_unref (channel);
  return G_SOURCE_REMOVE;
}

/* Context thread: keeps the agent until the peer closed too, or a while,
 * so that the last bytes and the end of stream reach it. */
static gboolean
close_cb (gpointer user_data)
{
  FerryNiceChannel *channel = user_data;
  gboolean failed;

  g_mutex_lock (&channel->lock);
  failed = channel->failed;
  g_mutex_unlock (&channel->lock);

  channel_pump (channel);

  if (!failed && channel->agent != NULL && channel->linger_source == NULL)
    {
      channel->linger_source = g_timeout_source_new (LINGER_MS);
      g_source_set_static_name (channel->linger_source, "[ferry-nice] linger");
      g_source_set_callback (channel->linger_source, linger_cb,
                             _ferry_nice_channel_ref (channel), NULL);
      g_source_attach (channel->linger_source, channel->context);
    }
  return G_SOURCE_REMOVE;
}

/* Any thread. Drops what was received, flushes what was written, then shuts
 * the write side down. On a thread other than the context's, waits (a
 * little) for the end of stream to be sent and for the peer to close, so
 * that a process may exit right after. */
void
_ferry_nice_channel_close (FerryNiceChannel *channel,
                           GCancellable     *cancellable)
{
  gboolean resume;
  gboolean wait = !g_main_context_is_owner (channel->context);
  gint64 deadline = g_get_monotonic_time () + CLOSE_WAIT_US;
  gulong handler = 0;

  g_mutex_lock (&channel->lock);
  channel->rx_closed = TRUE;
  channel->rx.length = channel->rx.start = 0;
  resume = channel->parked && !channel->resume_queued;
  if (resume)
    channel->resume_queued = TRUE;
  channel->tx_closing = TRUE;
  g_cond_broadcast (&channel->cond);
  g_mutex_unlock (&channel->lock);

  if (resume)
    channel_schedule (channel, resume_cb, "[ferry-nice] resume");
  channel_schedule (channel, close_cb, "[ferry-nice] close");

  if (!wait)
    return;

  if (cancellable != NULL)
    handler = g_cancellable_connect (cancellable, G_CALLBACK (wake_cb), channel, NULL);

  g_mutex_lock (&channel->lock);
  while (channel->connected && !channel->failed && !g_cancellable_is_cancelled (cancellable))
    {
      channel->waiters++;
      if (!g_cond_wait_until (&channel->cond, &channel->lock, deadline))
        {
          channel->waiters--;
          break;
        }
      channel->waiters--;
    }
  g_mutex_unlock (&channel->lock);

  if (handler != 0)
    g_cancellable_disconnect (cancellable, handler);
}

/* Any thread: whether no stream was opened on @channel yet (and marks it
 * opened). */
gboolean
_ferry_nice_channel_claim_stream (FerryNiceChannel *channel)
{
  gboolean opened;

  g_mutex_lock (&channel->lock);
  opened = channel->stream_opened;
  channel->stream_opened = TRUE;
  g_mutex_unlock (&channel->lock);
  return !opened;
}
