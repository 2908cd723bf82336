/* ferry-session-timer.c: the session's deadlines
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Both are GSources on the session's context, not threads: the threads of
 * a transfer are those that block on I/O or hash. Either may be stopped
 * from any thread (g_source_destroy() is thread-safe); each holds a
 * reference to what it acts on, so that a dispatch racing with the stop
 * stays harmless.
 */
#include "config.h"

#include "ferry-session-internal.h"

/* ------------------------------------------------------------------ */
/* The reaper: gives up on a session's last words (cancels self->abort) */

static gboolean
reaper_cb (gpointer data)
{
  g_cancellable_cancel (G_CANCELLABLE (data));

  return G_SOURCE_REMOVE;
}

void
_ferry_session_arm_reaper_locked (FerrySession *self)
{
  GSource *source;

  if (self->reaper != NULL)
    return;

  source = g_timeout_source_new (FERRY_SESSION_TERMINATE_TIMEOUT_US / 1000);
  g_source_set_callback (source, reaper_cb, g_object_ref (self->abort), g_object_unref);
  g_source_set_static_name (source, "[ferry] session reaper");
  g_source_attach (source, self->context);
  self->reaper = source;
}

void
_ferry_session_arm_reaper (FerrySession *self)
{
  g_mutex_lock (&self->lock);
  _ferry_session_arm_reaper_locked (self);
  g_mutex_unlock (&self->lock);
}

void
_ferry_session_stop_reaper (FerrySession *self)
{
  GSource *reaper;

  g_mutex_lock (&self->lock);
  reaper = g_steal_pointer (&self->reaper);
  g_mutex_unlock (&self->lock);

  if (reaper != NULL)
    {
      g_source_destroy (reaper);
      g_source_unref (reaper);
    }
}

/* ------------------------------------------------------------------ */
/* Stall watchdog: a silent peer ends the transfer                     */

static gboolean
watchdog_cb (gpointer data)
{
  FerrySession *self = data;
  gboolean stalled;

  g_mutex_lock (&self->lock);
  stalled = g_get_monotonic_time () - self->last_read_us > self->stall_us;
  if (stalled)
    self->stalled = TRUE;
  g_mutex_unlock (&self->lock);

  if (!stalled)
    return G_SOURCE_CONTINUE;

  /* The read waiting for the silent peer ends; writes go on, so that the
   * peer may still learn why (the receiver "stopped waiting") and the
   * channel close cleanly. A write that cannot go on either (a peer that
   * reads nothing) is given up on by the reaper. */
  g_cancellable_cancel (self->cancellable);
  _ferry_session_arm_reaper (self);
  return G_SOURCE_REMOVE;
}

FerryWatchdog *
_ferry_session_watchdog_new (FerrySession *self)
{
  GSource *source;
  gint64 step;

  if (self->stall_us <= 0)
    return NULL;

  g_mutex_lock (&self->lock);
  self->last_read_us = g_get_monotonic_time ();
  g_mutex_unlock (&self->lock);

  /* checks four times per timeout, at least once a second */
  step = MIN (self->stall_us / 4, G_USEC_PER_SEC);
  source = g_timeout_source_new (MAX (step / 1000, 1));
  g_source_set_callback (source, watchdog_cb, g_object_ref (self), g_object_unref);
  g_source_set_static_name (source, "[ferry] session watchdog");
  g_source_attach (source, self->context);

  return (FerryWatchdog *) source;
}

void
_ferry_session_watchdog_stop (FerryWatchdog *watchdog)
{
  GSource *source = (GSource *) watchdog;

  if (source == NULL)
    return;

  g_source_destroy (source);
  g_source_unref (source);
}
