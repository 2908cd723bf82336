/* ferry-session-group.c: the threads of an engine's sessions
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Every thread that may still send a session's last frame is counted in
 * its session's group, so that an engine can wait for its own sessions
 * (and only those) before the process exits.
 */
#include "config.h"

#include "ferry-session-internal.h"

struct _FerrySessionGroup {
  gint    refs;      /* atomic */
  GMutex  lock;
  GCond   cond;
  guint   threads;   /* under lock */
};

FerrySessionGroup *
_ferry_session_group_new (void)
{
  FerrySessionGroup *group = g_new0 (FerrySessionGroup, 1);

  group->refs = 1;
  g_mutex_init (&group->lock);
  g_cond_init (&group->cond);
  return group;
}

FerrySessionGroup *
_ferry_session_group_ref (FerrySessionGroup *group)
{
  g_return_val_if_fail (group != NULL, NULL);

  g_atomic_int_inc (&group->refs);
  return group;
}

void
_ferry_session_group_unref (FerrySessionGroup *group)
{
  if (group == NULL || !g_atomic_int_dec_and_test (&group->refs))
    return;

  g_mutex_clear (&group->lock);
  g_cond_clear (&group->cond);
  g_free (group);
}

static void
group_add (FerrySessionGroup *group,
           int                delta)
{
  if (group == NULL)
    return;

  g_mutex_lock (&group->lock);
  group->threads += delta;
  if (group->threads == 0)
    g_cond_broadcast (&group->cond);
  g_mutex_unlock (&group->lock);
}

static void
group_wake_cb (GCancellable      *cancellable,
               FerrySessionGroup *group)
{
  g_mutex_lock (&group->lock);
  g_cond_broadcast (&group->cond);
  g_mutex_unlock (&group->lock);
}

gboolean
_ferry_session_group_wait (FerrySessionGroup *group,
                           gint64             end_time,
                           GCancellable      *cancellable)
{
  gulong handler = 0;
  gboolean idle;

  g_return_val_if_fail (group != NULL, FALSE);

  if (cancellable != NULL)
    handler = g_cancellable_connect (cancellable, G_CALLBACK (group_wake_cb), group, NULL);

  g_mutex_lock (&group->lock);
  while (group->threads > 0 && !g_cancellable_is_cancelled (cancellable))
    if (!g_cond_wait_until (&group->cond, &group->lock, end_time))
      break;
  idle = group->threads == 0;
  g_mutex_unlock (&group->lock);

  if (handler != 0)
    g_cancellable_disconnect (cancellable, handler);
  return idle;
}

void
_ferry_session_set_group (FerrySession      *self,
                          FerrySessionGroup *group)
{
  g_return_if_fail (FERRY_IS_SESSION (self));

  if (group != NULL)
    _ferry_session_group_ref (group);
  g_mutex_lock (&self->lock);
  g_clear_pointer (&self->group, _ferry_session_group_unref);
  self->group = group;
  g_mutex_unlock (&self->lock);
}

typedef struct {
  GThreadFunc        func;
  gpointer           data;
  FerrySessionGroup *group;
} Trampoline;

static gpointer
trampoline_thread (gpointer data)
{
  Trampoline trampoline = *(Trampoline *) data;
  gpointer result;

  g_free (data);
  result = trampoline.func (trampoline.data);
  group_add (trampoline.group, -1);
  g_clear_pointer (&trampoline.group, _ferry_session_group_unref);
  return result;
}

GThread *
_ferry_session_thread_new (FerrySession  *self,
                           const char    *name,
                           GThreadFunc    func,
                           gpointer       data,
                           GError       **error)
{
  Trampoline *trampoline = g_new0 (Trampoline, 1);
  GThread *thread;

  trampoline->func = func;
  trampoline->data = data;
  g_mutex_lock (&self->lock);
  if (self->group != NULL)
    trampoline->group = _ferry_session_group_ref (self->group);
  g_mutex_unlock (&self->lock);

  group_add (trampoline->group, 1);
  thread = g_thread_try_new (name, trampoline_thread, trampoline, error);
  if (thread == NULL)
    {
      group_add (trampoline->group, -1);
      g_clear_pointer (&trampoline->group, _ferry_session_group_unref);
      g_free (trampoline);
    }
  return thread;
}
