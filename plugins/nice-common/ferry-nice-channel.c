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
 *             that drained the ring below half moves them back (first
 *             taking what libnice had read ahead of an ICE-TCP socket).
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
 * stream (ferry-nice-quic.c, through the hooks in ferry-nice-channel-quic.c):
 * the same rings and blocking calls, but received bytes come from the QUIC
 * stream (flow control bounds the receive ring: up to the 16 MiB stream
 * window, opened again as the reader drains it, so nothing is parked),
 * and the send ring (16 MiB) keeps the bytes until the peer acknowledged
 * them, since QUIC retransmits from there. The end of stream is the QUIC
 * stream's FIN.
 */
#include "config.h"

#include <sys/socket.h>

#include "ferry-nice-channel-internal.h"

static void channel_attach (FerryNiceChannel *channel);

/* Runs @func on the channel's context, never synchronously: the caller may
 * hold locks. The source holds a reference. */
void
_ferry_nice_channel_schedule (FerryNiceChannel *channel,
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

/* Context thread: the agent and the component are done for. */
void
_ferry_nice_channel_mark_failed (FerryNiceChannel *channel)
{
  gboolean was_failed;

  g_mutex_lock (&channel->lock);
  was_failed = channel->failed;
  channel->failed = TRUE;
  channel_broadcast_locked (channel);
  g_mutex_unlock (&channel->lock);

  channel_clear_source (&channel->retry_source);
  channel_clear_source (&channel->shutdown_source);
  channel_clear_source (&channel->eof_poll_source);

  /* The peer closed too: no need to linger any longer. (The reference goes
   * on the next iteration, never under a caller's feet.) */
  if (channel->linger_source != NULL)
    g_source_set_ready_time (channel->linger_source, 0);

  if (!was_failed)
    channel_emit (channel, FERRY_NICE_EVENT_FAILED);
}

gboolean
_ferry_nice_channel_readable_cb (gpointer user_data)
{
  channel_emit (user_data, FERRY_NICE_EVENT_READABLE);
  return G_SOURCE_REMOVE;
}

gboolean
_ferry_nice_channel_wake_readers_cb (gpointer user_data)
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
      _ferry_nice_channel_schedule (channel, _ferry_nice_channel_readable_cb, "[ferry-nice] readable");
    }

  g_mutex_lock (&channel->lock);
  if (!channel->rx_closed)
    {
      _ferry_nice_ring_reserve (&channel->rx, len);
      _ferry_nice_ring_push (&channel->rx, buf, len);
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
      if (_ferry_nice_ring_free_space (&channel->rx) < RX_PARK_FREE && !channel->parked)
        park = channel->parked = TRUE;
    }
  g_mutex_unlock (&channel->lock);

  if (wake_later)
    _ferry_nice_channel_schedule (channel, _ferry_nice_channel_wake_readers_cb, "[ferry-nice] wake readers");

  /* libnice calls this without its lock held, and checks after each
   * callback whether one is still attached. */
  if (park)
    nice_agent_attach_recv (agent, stream_id, component_id, channel->park_context, NULL, NULL);
}

/* Context thread, parked. On an ICE-TCP pair libnice reads the socket
 * ahead, into a buffer of its own, and hands it out one callback at a
 * time; a channel that parks between two callbacks leaves what was read
 * ahead there, and libnice looks at it again only when the socket is
 * readable. At the end of a transfer nothing more comes: the last bytes
 * would wait for the peer's next consent check, seconds later. So before
 * the callback goes back, take them with non-blocking reads, which look at
 * that buffer first and then read the parked sockets once. Returns FALSE
 * when the ring filled up again (the channel parked again). */
static gboolean
channel_take_read_ahead (FerryNiceChannel *channel)
{
  g_autofree guint8 *buffer = NULL;
  gsize taken = 0;
  gboolean parked = FALSE;

  if (channel->pseudo_tcp || channel->quic != NULL)
    return TRUE;

  buffer = g_malloc (RX_PARK_FREE);
  while (!parked)
    {
      gssize n = nice_agent_recv_nonblocking (channel->agent, channel->stream_id, 1,
                                              buffer, RX_PARK_FREE, NULL, NULL);

      if (n <= 0)
        break;
      taken += n;
      recv_cb (channel->agent, channel->stream_id, 1, n, (gchar *) buffer, channel);
      g_mutex_lock (&channel->lock);
      parked = channel->parked;
      g_mutex_unlock (&channel->lock);
    }
  if (taken > 0)
    g_debug ("ice stream %u: took %" G_GSIZE_FORMAT " bytes libnice had read ahead",
             channel->stream_id, taken);
  return !parked;
}

gboolean
_ferry_nice_channel_resume_cb (gpointer user_data)
{
  FerryNiceChannel *channel = user_data;
  gboolean resume;

  g_mutex_lock (&channel->lock);
  channel->resume_queued = FALSE;
  resume = channel->parked && channel->agent != NULL;
  channel->parked = FALSE;
  g_mutex_unlock (&channel->lock);

  if (resume && channel_take_read_ahead (channel))
    channel_attach (channel);
  return G_SOURCE_REMOVE;
}

/* (Re)attaches the receive callback on the context. On a pseudo-TCP pair
 * this also makes libnice read again, which is when it finds the peer's
 * FIN: it then closes its own side, silently (no state change), and the
 * socket stops taking data. Reading moves no send space, so a socket that
 * could send before and cannot after has been closed. */
static void
channel_attach (FerryNiceChannel *channel)
{
  GPollableOutputStream *output = channel->pseudo_tcp ? _ferry_nice_channel_nice_output (channel) : NULL;
  gboolean before = output != NULL && g_pollable_output_stream_is_writable (output);

  nice_agent_attach_recv (channel->agent, channel->stream_id, 1, channel->context,
                          recv_cb, channel);

  if (before && !g_pollable_output_stream_is_writable (output))
    {
      g_debug ("ice stream %u: the peer closed the pseudo-TCP connection", channel->stream_id);
      _ferry_nice_channel_mark_failed (channel);
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
      if (channel->eof_poll_source != NULL && _ferry_nice_channel_pseudo_tcp_closed (channel))
        {
          g_debug ("ice stream %u: the pseudo-TCP connection is closed", channel->stream_id);
          _ferry_nice_channel_mark_failed (channel);
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
  channel_clear_source (&channel->retry_source);

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

  _ferry_nice_channel_pump (channel);
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
    _ferry_nice_channel_mark_failed (channel);
  else if (channel->quic != NULL &&
           (state == NICE_COMPONENT_STATE_CONNECTED || state == NICE_COMPONENT_STATE_READY))
    {
      channel_grow_socket_buffers (channel);
      _ferry_nice_quic_path_ready (channel->quic);
    }
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
  channel_clear_source (&channel->retry_source);
  channel_clear_source (&channel->shutdown_source);
  channel_clear_source (&channel->linger_source);
  channel_clear_source (&channel->eof_poll_source);

  /* Its goodbye goes out through the agent. */
  g_clear_pointer (&channel->quic, _ferry_nice_quic_free);
  _ferry_nice_channel_unwatch_paths (channel);

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

  _ferry_nice_ring_clear (&channel->rx);
  _ferry_nice_ring_clear (&channel->tx);
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
  _ferry_nice_ring_init (&channel->rx, RX_CAPACITY);
  _ferry_nice_ring_init (&channel->tx, TX_CAPACITY);
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
