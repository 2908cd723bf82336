/* ferry-nice-channel-send.c: the send side of a byte-stream channel
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Writers fill the send ring; the pump, on the channel's context, hands it
 * to nice_agent_send() and, once the writer closed and everything went
 * out, sends the graceful end of stream (see ferry-nice-channel.c).
 */
#include "config.h"

#include <sys/socket.h>

#include "ferry-nice-channel-internal.h"

static void channel_maybe_shutdown (FerryNiceChannel *channel);

static gboolean
retry_cb (gpointer user_data)
{
  FerryNiceChannel *channel = user_data;

  g_clear_pointer (&channel->retry_source, g_source_unref);
  channel->tx_blocked = FALSE;
  _ferry_nice_channel_pump (channel);
  return G_SOURCE_REMOVE;
}

/* A message without bytes sends nothing, but fails with something other
 * than G_IO_ERROR_WOULD_BLOCK once the pseudo-TCP socket is closed. */
gboolean
_ferry_nice_channel_pseudo_tcp_closed (FerryNiceChannel *channel)
{
  NiceOutputMessage message = { NULL, 0 };
  g_autoptr(GError) error = NULL;

  if (nice_agent_send_messages_nonblocking (channel->agent, channel->stream_id, 1,
                                            &message, 1, NULL, &error) >= 0)
    return FALSE;
  return !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
}

GPollableOutputStream *
_ferry_nice_channel_nice_output (FerryNiceChannel *channel)
{
  if (channel->nice_io == NULL)
    channel->nice_io = nice_agent_get_io_stream (channel->agent, channel->stream_id, 1);
  return channel->nice_io ? G_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (channel->nice_io))
                          : NULL;
}

/* Context thread. Hands the send ring to the agent until it is empty or the
 * agent takes no more. */
void
_ferry_nice_channel_pump (FerryNiceChannel *channel)
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
          n = MIN (_ferry_nice_ring_peek (&channel->tx, &data), TX_CHUNK);
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
              _ferry_nice_ring_consume (&channel->tx, MIN ((gsize) sent, n));
              channel_broadcast_locked (channel);
              g_mutex_unlock (&channel->lock);
              continue;
            }

          /* Past the connection, pseudo-TCP answers -1 (rather than 0 for
           * a full buffer) only once it sent or got a FIN. */
          if ((channel->pseudo_tcp && _ferry_nice_channel_pseudo_tcp_closed (channel)) ||
              nice_agent_get_component_state (channel->agent, channel->stream_id, 1) ==
              NICE_COMPONENT_STATE_FAILED)
            {
              _ferry_nice_channel_mark_failed (channel);
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

gboolean
_ferry_nice_channel_pump_cb (gpointer user_data)
{
  FerryNiceChannel *channel = user_data;

  _ferry_nice_channel_pump (channel);
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

  output = G_OUTPUT_STREAM (_ferry_nice_channel_nice_output (channel));
  if (output != NULL)
    g_output_stream_close (output, NULL, NULL);

  g_mutex_lock (&channel->lock);
  channel->tx_shut = TRUE;
  channel_broadcast_locked (channel);
  g_mutex_unlock (&channel->lock);
}
