/* ferry-session-timer.c: the session's deadlines
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ferry-session-internal.h"

/* ------------------------------------------------------------------ */
/* Deadline: cancels a GCancellable unless stopped in time             */

struct _FerryDeadline {
  GMutex        lock;
  GCond         cond;
  gboolean      stopped;
  gint64        end_time;
  GCancellable *target;
  GThread      *thread;
};

static gpointer
deadline_thread (gpointer data)
{
  FerryDeadline *deadline = data;
  gboolean fire;

  g_mutex_lock (&deadline->lock);
  while (!deadline->stopped)
    if (!g_cond_wait_until (&deadline->cond, &deadline->lock, deadline->end_time))
      break;
  fire = !deadline->stopped;
  g_mutex_unlock (&deadline->lock);

  if (fire)
    g_cancellable_cancel (deadline->target);

  return NULL;
}

static FerryDeadline *
deadline_new (GCancellable *target,
              gint64        timeout_us)
{
  FerryDeadline *deadline = g_new0 (FerryDeadline, 1);

  g_mutex_init (&deadline->lock);
  g_cond_init (&deadline->cond);
  deadline->target = g_object_ref (target);
  deadline->end_time = g_get_monotonic_time () + timeout_us;
  deadline->thread = g_thread_try_new ("ferry-deadline", deadline_thread, deadline, NULL);
  if (deadline->thread == NULL)
    /* No way to wait: do not wait at all. */
    g_cancellable_cancel (target);

  return deadline;
}

static void
deadline_stop (FerryDeadline *deadline)
{
  if (deadline == NULL)
    return;

  g_mutex_lock (&deadline->lock);
  deadline->stopped = TRUE;
  g_cond_signal (&deadline->cond);
  g_mutex_unlock (&deadline->lock);

  if (deadline->thread != NULL)
    g_thread_join (deadline->thread);

  g_object_unref (deadline->target);
  g_mutex_clear (&deadline->lock);
  g_cond_clear (&deadline->cond);
  g_free (deadline);
}

void
_ferry_session_arm_reaper_locked (FerrySession *self)
{
  if (self->reaper == NULL)
    self->reaper = deadline_new (self->abort, FERRY_SESSION_TERMINATE_TIMEOUT_US);
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
  FerryDeadline *reaper;

  g_mutex_lock (&self->lock);
  reaper = g_steal_pointer (&self->reaper);
  g_mutex_unlock (&self->lock);
  deadline_stop (reaper);
}

/* ------------------------------------------------------------------ */
/* Stall watchdog: a silent peer ends the transfer                     */

struct _FerryWatchdog {
  FerrySession *self;
  GMutex        lock;
  GCond         cond;
  gboolean      stopped;
  GThread      *thread;
};

static gpointer
watchdog_thread (gpointer data)
{
  FerryWatchdog *watchdog = data;
  FerrySession *self = watchdog->self;
  gint64 step = MIN (self->stall_us / 4, G_USEC_PER_SEC);

  g_mutex_lock (&watchdog->lock);
  while (!watchdog->stopped)
    {
      gint64 last;

      g_cond_wait_until (&watchdog->cond, &watchdog->lock, g_get_monotonic_time () + step);
      if (watchdog->stopped)
        break;
      g_mutex_lock (&self->lock);
      last = self->last_read_us;
      if (g_get_monotonic_time () - last > self->stall_us)
        self->stalled = TRUE;
      g_mutex_unlock (&self->lock);
      if (g_get_monotonic_time () - last > self->stall_us)
        {
          g_cancellable_cancel (self->cancellable);
          g_cancellable_cancel (self->abort);
          break;
        }
    }
  g_mutex_unlock (&watchdog->lock);
  return NULL;
}

FerryWatchdog *
_ferry_session_watchdog_new (FerrySession *self)
{
  FerryWatchdog *watchdog;

  if (self->stall_us <= 0)
    return NULL;
  watchdog = g_new0 (FerryWatchdog, 1);
  watchdog->self = self;
  g_mutex_init (&watchdog->lock);
  g_cond_init (&watchdog->cond);
  g_mutex_lock (&self->lock);
  self->last_read_us = g_get_monotonic_time ();
  g_mutex_unlock (&self->lock);
  watchdog->thread = g_thread_try_new ("ferry-watchdog", watchdog_thread, watchdog, NULL);
  return watchdog;
}

void
_ferry_session_watchdog_stop (FerryWatchdog *watchdog)
{
  if (watchdog == NULL)
    return;
  g_mutex_lock (&watchdog->lock);
  watchdog->stopped = TRUE;
  g_cond_signal (&watchdog->cond);
  g_mutex_unlock (&watchdog->lock);
  if (watchdog->thread != NULL)
    g_thread_join (watchdog->thread);
  g_mutex_clear (&watchdog->lock);
  g_cond_clear (&watchdog->cond);
  g_free (watchdog);
}
