/* ferry-session-pipeline.c: pooled buffers and the hashing thread
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ferry-hasher-private.h"
#include "ferry-session-pipeline-private.h"

#define POOL_SIZE 8

struct _FerryPool {
  GAsyncQueue *free;
  gsize        capacity;
  FerryBuffer  buffers[POOL_SIZE];
};

FerryPool *
_ferry_pool_new (gsize capacity)
{
  FerryPool *pool = g_new0 (FerryPool, 1);

  pool->capacity = capacity;
  pool->free = g_async_queue_new ();
  for (guint i = 0; i < POOL_SIZE; i++)
    {
      pool->buffers[i].mem = g_malloc (FERRY_FRAME_HEADER_SIZE + capacity);
      pool->buffers[i].pool = pool;
      g_async_queue_push (pool->free, &pool->buffers[i]);
    }

  return pool;
}

void
_ferry_pool_free (FerryPool *pool)
{
  if (pool == NULL)
    return;

  g_warn_if_fail (g_async_queue_length (pool->free) == POOL_SIZE);
  for (guint i = 0; i < POOL_SIZE; i++)
    g_free (pool->buffers[i].mem);
  g_async_queue_unref (pool->free);
  g_free (pool);
}

gsize
_ferry_pool_get_capacity (FerryPool *pool)
{
  return pool->capacity;
}

FerryBuffer *
_ferry_pool_take (FerryPool *pool)
{
  FerryBuffer *buffer = g_async_queue_pop (pool->free);

  buffer->len = 0;
  g_atomic_int_set (&buffer->refs, 1);

  return buffer;
}

void
_ferry_buffer_release (FerryBuffer *buffer)
{
  if (g_atomic_int_dec_and_test (&buffer->refs))
    g_async_queue_push (buffer->pool->free, buffer);
}

/* ------------------------------------------------------------------ */

struct _FerryHashThread {
  GThread     *thread;
  GAsyncQueue *jobs;      /* FerryBuffer *, JOB_FINISH or JOB_QUIT */
  GAsyncQueue *digests;   /* char *, lower-case hex */
  FerryHasher *hasher;    /* used by the thread only */
};

static int job_finish_marker;
static int job_quit_marker;
#define JOB_FINISH ((gpointer) &job_finish_marker)
#define JOB_QUIT   ((gpointer) &job_quit_marker)

static gpointer
hash_thread (gpointer data)
{
  FerryHashThread *self = data;

  for (;;)
    {
      gpointer job = g_async_queue_pop (self->jobs);
      FerryBuffer *buffer = job;

      if (job == JOB_QUIT)
        break;

      if (job == JOB_FINISH)
        {
          g_async_queue_push (self->digests, _ferry_hasher_finish (self->hasher));
          continue;
        }

      _ferry_hasher_update (self->hasher, FERRY_BUFFER_PAYLOAD (buffer), buffer->len);
      _ferry_buffer_release (buffer);
    }

  return NULL;
}

FerryHashThread *
_ferry_hash_thread_new (GError **error)
{
  FerryHashThread *self = g_new0 (FerryHashThread, 1);

  self->jobs = g_async_queue_new ();
  self->digests = g_async_queue_new_full (g_free);
  self->hasher = _ferry_hasher_new ();
  self->thread = g_thread_try_new ("ferry-sha3", hash_thread, self, error);
  if (self->thread == NULL)
    {
      g_async_queue_unref (self->jobs);
      g_async_queue_unref (self->digests);
      _ferry_hasher_free (self->hasher);
      g_free (self);
      return NULL;
    }

  return self;
}

void
_ferry_hash_thread_push (FerryHashThread *self,
                         FerryBuffer     *buffer)
{
  g_atomic_int_inc (&buffer->refs);
  g_async_queue_push (self->jobs, buffer);
}

char *
_ferry_hash_thread_digest (FerryHashThread *self)
{
  g_async_queue_push (self->jobs, JOB_FINISH);
  return g_async_queue_pop (self->digests);
}

void
_ferry_hash_thread_free (FerryHashThread *self)
{
  if (self == NULL)
    return;

  g_async_queue_push (self->jobs, JOB_QUIT);
  g_thread_join (self->thread);
  g_async_queue_unref (self->jobs);
  g_async_queue_unref (self->digests);
  _ferry_hasher_free (self->hasher);
  g_free (self);
}
