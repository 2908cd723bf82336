/* ferry-nice-channel-io.c: the blocking side of a channel (any thread)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Reads, writes and close from the core's threads: they wait on the
 * channel's condition and leave the agent to its context.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "ferry-nice-channel-internal.h"

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
      result = _ferry_nice_ring_pop (&channel->rx, buffer, count);
      credit = _ferry_nice_channel_take_credit_locked (channel, result);
      if (channel->parked && !channel->resume_queued && channel->rx.length <= RX_RESUME_FILL)
        resume = channel->resume_queued = TRUE;
    }
  else if (g_cancellable_set_error_if_cancelled (cancellable, error))
    ;
  else
    result = 0;   /* the peer closed, or the connection failed */
  g_mutex_unlock (&channel->lock);

  if (resume)
    _ferry_nice_channel_schedule (channel, _ferry_nice_channel_resume_cb, "[ferry-nice] resume");
  if (credit)
    _ferry_nice_channel_schedule (channel, _ferry_nice_channel_credit_cb, "[ferry-nice] quic credit");

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
  while (_ferry_nice_ring_free_space (&channel->tx) == 0 && !channel->failed && !channel->tx_closing &&
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
      result = MIN (count, _ferry_nice_ring_free_space (&channel->tx));
      _ferry_nice_ring_push (&channel->tx, buffer, result);
      /* A blocked pump is woken by reliable-transport-writable. */
      pump = channel->pump_idle;
      channel->pump_idle = FALSE;
    }
  g_mutex_unlock (&channel->lock);

  if (pump)
    _ferry_nice_channel_schedule (channel, _ferry_nice_channel_pump_cb, "[ferry-nice] pump");

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

  _ferry_nice_channel_pump (channel);

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
    _ferry_nice_channel_schedule (channel, _ferry_nice_channel_resume_cb, "[ferry-nice] resume");
  _ferry_nice_channel_schedule (channel, close_cb, "[ferry-nice] close");

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
