/* ferry-nice-channel-quic.c: the channel as the QUIC layer sees it
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The hooks of ferry-nice-quic.c (context thread): datagrams out through
 * the agent, stream bytes into the receive ring, the send ring as QUIC's
 * retransmission buffer, and the flow-control credit the reader gives back.
 */
#include "config.h"


#include "ferry-nice-channel-internal.h"

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
  _ferry_nice_ring_clear (&channel->tx);
  _ferry_nice_ring_init (&channel->tx, QUIC_TX_CAPACITY);
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

  channel->stream_in += length;
  if (length > 0 && !channel->got_data)
    {
      channel->got_data = TRUE;
      _ferry_nice_channel_schedule (channel, _ferry_nice_channel_readable_cb, "[ferry-nice] readable");
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
      _ferry_nice_ring_reserve (&channel->rx, length);
      _ferry_nice_ring_push (&channel->rx, data, length);
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
    _ferry_nice_channel_schedule (channel, _ferry_nice_channel_wake_readers_cb, "[ferry-nice] wake readers");
  if (credit)
    _ferry_nice_channel_schedule (channel, _ferry_nice_channel_credit_cb, "[ferry-nice] quic credit");
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
  channel->stream_acked += count;
  g_mutex_lock (&channel->lock);
  _ferry_nice_ring_consume (&channel->tx, MIN (count, channel->tx.length));
  channel_broadcast_locked (channel);
  g_mutex_unlock (&channel->lock);
}

void
_ferry_nice_channel_quic_down (FerryNiceChannel *channel)
{
  _ferry_nice_channel_mark_failed (channel);
}

/* Any thread, under the lock: the reader took @count bytes. Returns
 * whether to give the credit back now (in a batch, or when the reader
 * caught up). */
gboolean
_ferry_nice_channel_take_credit_locked (FerryNiceChannel *channel,
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

gboolean
_ferry_nice_channel_credit_cb (gpointer user_data)
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
