/* ferry-session-pipeline.c: pooled buffers and the hashing thread
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ferry-hasher-private.h"
#include "ferry-session-pipeline-private.h"

#define POOL_SIZE 8
/* A fan-out's sessions share their reads as long as they stay within
 * this many chunks of each other... */
#define SHARE_POOL_SIZE 16
/* ...and the first runs up to SHARE_LEAD chunks ahead of the others,
 * then waits until those at most SHARE_WINDOW chunks behind caught up,
 * at most SHARE_WAIT_US per chunk. Waiting once per few chunks rather
 * than at each: every wait is a sleep and a wake-up of a thread, which
 * cost more than the chunk's copy. */
#define SHARE_LEAD      4
#define SHARE_WINDOW    8
#define SHARE_WAIT_US   (20 * 1000)

struct _FerryPool {
  GAsyncQueue *free;
  gsize        capacity;
  guint        size;
  GMutex      *lock;        /* a release takes it, if set */
  FerryBuffer *buffers;
};

static FerryPool *
pool_new (gsize   capacity,
          guint   size,
          GMutex *lock)
{
  FerryPool *pool = g_new0 (FerryPool, 1);

  pool->capacity = capacity;
  pool->size = size;
  pool->lock = lock;
  pool->buffers = g_new0 (FerryBuffer, size);
  pool->free = g_async_queue_new ();
  for (guint i = 0; i < size; i++)
    {
      pool->buffers[i].mem = g_malloc (FERRY_FRAME_HEADER_SIZE + capacity);
      pool->buffers[i].pool = pool;
      g_async_queue_push (pool->free, &pool->buffers[i]);
    }

  return pool;
}

FerryPool *
_ferry_pool_new (gsize capacity)
{
  return pool_new (capacity, POOL_SIZE, NULL);
}

void
_ferry_pool_free (FerryPool *pool)
{
  if (pool == NULL)
    return;

  /* A shared hash thread (FerryHashShare) may still hold some: it
   * always makes progress. */
  for (guint i = 0; i < pool->size; i++)
    g_async_queue_pop (pool->free);
  for (guint i = 0; i < pool->size; i++)
    g_free (pool->buffers[i].mem);
  g_async_queue_unref (pool->free);
  g_free (pool->buffers);
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
  FerryPool *pool = buffer->pool;

  /* A shared pool's buffers go from and to zero under its lock, so that
   * _ferry_hash_share_lookup() sees them either in use or free. */
  if (pool->lock != NULL)
    g_mutex_lock (pool->lock);
  if (g_atomic_int_dec_and_test (&buffer->refs))
    g_async_queue_push (pool->free, buffer);
  if (pool->lock != NULL)
    g_mutex_unlock (pool->lock);
}

/* ------------------------------------------------------------------ */

static int job_quit_marker;
#define JOB_QUIT ((gpointer) &job_quit_marker)

/* ------------------------------------------------------------------ */

typedef struct {
  guint64      pushed;      /* bytes [0, pushed) are queued for hashing */
  FerryHasher *hasher;      /* hash thread only, once created */
  gboolean     finishing;   /* the digest is queued */
  char        *digest;      /* lower-case hex, once known */
} ShareFile;

typedef struct {
  ShareFile   *file;
  FerryBuffer *buffer;      /* NULL: finish the file */
  gsize        start;       /* hash the buffer's payload from here */
} ShareJob;

struct _FerryHashShare {
  gint         refs;        /* atomic */
  GMutex       lock;        /* everything below, but ShareFile.hasher */
  GCond        cond;
  GHashTable  *files;       /* GUINT_TO_POINTER (index) → ShareFile */
  GMutex       thread_lock; /* the two below; never taken by the thread */
  guint        users;       /* sessions between _start() and _stop() */
  GThread     *thread;      /* runs while there are users */
  GAsyncQueue *jobs;        /* ShareJob *, or JOB_QUIT */
  GMutex       cache_lock;  /* the pool's pointer, FerryBuffer.cached... */
  GCond        cache_cond;  /* a cursor moved */
  guint        waiters;     /* on cache_cond */
  FerryPool   *pool;        /* sender: the buffers read, once made */
  GList       *cursors;     /* FerryShareCursor * */
  GMutex       read_lock;   /* one reading session at a time */
};

struct _FerryShareCursor {
  guint        index;
  guint64      offset;
  gboolean     waiting;     /* in _read_begin(), before reading... */
  guint        wait_index;  /* ...the chunk of this file... */
  guint64      wait_offset; /* ...at this offset */
};

static void
share_file_free (gpointer data)
{
  ShareFile *file = data;

  if (file->hasher != NULL)
    _ferry_hasher_free (file->hasher);
  g_free (file->digest);
  g_free (file);
}

FerryHashShare *
_ferry_hash_share_new (void)
{
  FerryHashShare *share = g_new0 (FerryHashShare, 1);

  share->refs = 1;
  g_mutex_init (&share->lock);
  g_cond_init (&share->cond);
  g_mutex_init (&share->thread_lock);
  g_mutex_init (&share->cache_lock);
  g_cond_init (&share->cache_cond);
  g_mutex_init (&share->read_lock);
  share->files = g_hash_table_new_full (NULL, NULL, NULL, share_file_free);
  share->jobs = g_async_queue_new ();
  return share;
}

FerryHashShare *
_ferry_hash_share_ref (FerryHashShare *share)
{
  g_atomic_int_inc (&share->refs);
  return share;
}

void
_ferry_hash_share_unref (FerryHashShare *share)
{
  if (share == NULL || !g_atomic_int_dec_and_test (&share->refs))
    return;

  g_warn_if_fail (share->thread == NULL);
  g_async_queue_unref (share->jobs);
  _ferry_pool_free (share->pool);
  g_warn_if_fail (share->cursors == NULL);
  g_mutex_clear (&share->read_lock);
  g_cond_clear (&share->cache_cond);
  g_mutex_clear (&share->cache_lock);
  g_hash_table_unref (share->files);
  g_cond_clear (&share->cond);
  g_mutex_clear (&share->lock);
  g_mutex_clear (&share->thread_lock);
  g_free (share);
}

static gpointer
share_thread (gpointer data)
{
  FerryHashShare *share = data;

  for (;;)
    {
      gpointer item = g_async_queue_pop (share->jobs);
      ShareJob *job = item;

      if (item == JOB_QUIT)
        break;

      /* made on first use, freed once done: a tree of many files holds
       * few at a time */
      if (job->file->hasher == NULL)
        job->file->hasher = _ferry_hasher_new ();
      if (job->buffer != NULL)
        {
          _ferry_hasher_update (job->file->hasher, FERRY_BUFFER_PAYLOAD (job->buffer) + job->start,
                                job->buffer->len - job->start);
          _ferry_buffer_release (job->buffer);
        }
      else
        {
          char *digest = _ferry_hasher_finish (job->file->hasher);

          g_clear_pointer (&job->file->hasher, _ferry_hasher_free);

          g_mutex_lock (&share->lock);
          job->file->digest = digest;
          g_cond_broadcast (&share->cond);
          g_mutex_unlock (&share->lock);
        }
      g_free (job);
    }

  return NULL;
}

gboolean
_ferry_hash_share_start (FerryHashShare  *share,
                         GError         **error)
{
  gboolean ok = TRUE;

  g_mutex_lock (&share->thread_lock);
  if (share->thread == NULL)
    share->thread = g_thread_try_new ("ferry-sha3", share_thread, share, error);
  ok = share->thread != NULL;
  if (ok)
    share->users++;
  g_mutex_unlock (&share->thread_lock);

  return ok;
}

void
_ferry_hash_share_stop (FerryHashShare *share)
{
  g_mutex_lock (&share->thread_lock);
  if (--share->users == 0)
    {
      /* after what is queued (the thread takes only share->lock) */
      g_async_queue_push (share->jobs, JOB_QUIT);
      g_thread_join (share->thread);
      share->thread = NULL;
    }
  g_mutex_unlock (&share->thread_lock);
}

/* Under the lock. */
static ShareFile *
share_get_file (FerryHashShare *share,
                guint           index)
{
  ShareFile *file = g_hash_table_lookup (share->files, GUINT_TO_POINTER (index));

  if (file == NULL)
    {
      file = g_new0 (ShareFile, 1);
      g_hash_table_insert (share->files, GUINT_TO_POINTER (index), file);
    }

  return file;
}

void
_ferry_hash_share_push (FerryHashShare *share,
                        guint           index,
                        guint64         offset,
                        FerryBuffer    *buffer)
{
  ShareFile *file;

  g_mutex_lock (&share->lock);
  file = share_get_file (share, index);
  /* Everyone reads from the start: what is before @offset was pushed,
   * by the caller if nobody else. */
  g_warn_if_fail (offset <= file->pushed);
  if (offset + buffer->len > file->pushed && !file->finishing)
    {
      ShareJob *job = g_new (ShareJob, 1);

      job->file = file;
      job->buffer = buffer;
      job->start = (gsize) (file->pushed - offset);
      file->pushed = offset + buffer->len;
      g_atomic_int_inc (&buffer->refs);
      /* under the lock: the jobs of a file stay in order */
      g_async_queue_push (share->jobs, job);
    }
  g_mutex_unlock (&share->lock);

  /* Other sessions may find it now (after the bytes count as pushed: they
   * go on from there). */
  if (buffer->pool == share->pool)
    {
      g_mutex_lock (&share->cache_lock);
      buffer->index = index;
      buffer->offset = offset;
      buffer->cached = TRUE;
      g_mutex_unlock (&share->cache_lock);
    }
}

char *
_ferry_hash_share_digest (FerryHashShare *share,
                          guint           index,
                          guint64         size)
{
  ShareFile *file;
  char *digest;

  g_mutex_lock (&share->lock);
  file = share_get_file (share, index);
  g_warn_if_fail (file->pushed == size);
  if (!file->finishing)
    {
      ShareJob *job = g_new0 (ShareJob, 1);

      job->file = file;
      file->finishing = TRUE;
      g_async_queue_push (share->jobs, job);
    }
  while (file->digest == NULL)
    g_cond_wait (&share->cond, &share->lock);
  digest = g_strdup (file->digest);
  g_mutex_unlock (&share->lock);

  return digest;
}

void
_ferry_hash_share_set_digest (FerryHashShare *share,
                              guint           index,
                              guint64         size,
                              const char     *digest)
{
  ShareFile *file;

  g_mutex_lock (&share->lock);
  file = share_get_file (share, index);
  g_warn_if_fail (file->pushed == 0 && !file->finishing);
  file->pushed = size;
  file->finishing = TRUE;
  g_free (file->digest);
  file->digest = g_strdup (digest);
  g_cond_broadcast (&share->cond);
  g_mutex_unlock (&share->lock);
}

char *
_ferry_hash_share_digest_whole (FerryHashShare *share,
                                guint           index,
                                FerryBuffer    *buffer,
                                FerryHasher    *hasher)
{
  ShareFile *file;
  char *digest;

  g_mutex_lock (&share->lock);
  file = share_get_file (share, index);
  if (file->digest != NULL)
    {
      digest = g_strdup (file->digest);
      g_mutex_unlock (&share->lock);
      return digest;
    }
  if (file->pushed > 0 || file->finishing)
    {
      /* another session hashes it on the thread: wait for that */
      g_mutex_unlock (&share->lock);
      return _ferry_hash_share_digest (share, index, buffer->len);
    }
  /* claimed: the others wait for this digest */
  file->pushed = buffer->len;
  file->finishing = TRUE;
  g_mutex_unlock (&share->lock);

  /* the other sessions of a fan-out may send the same buffer */
  if (buffer->pool == share->pool)
    {
      g_mutex_lock (&share->cache_lock);
      buffer->index = index;
      buffer->offset = 0;
      buffer->cached = TRUE;
      g_mutex_unlock (&share->cache_lock);
    }

  _ferry_hasher_update (hasher, FERRY_BUFFER_PAYLOAD (buffer), buffer->len);
  digest = _ferry_hasher_finish (hasher);

  g_mutex_lock (&share->lock);
  file->digest = g_strdup (digest);
  g_cond_broadcast (&share->cond);
  g_mutex_unlock (&share->lock);
  return digest;
}

FerryBuffer *
_ferry_hash_share_take (FerryHashShare *share,
                        gsize           capacity)
{
  FerryPool *pool;
  FerryBuffer *buffer;

  g_mutex_lock (&share->cache_lock);
  if (share->pool == NULL)
    share->pool = pool_new (capacity, SHARE_POOL_SIZE, &share->cache_lock);
  pool = share->pool;
  g_mutex_unlock (&share->cache_lock);
  g_return_val_if_fail (capacity == pool->capacity, NULL);

  /* the oldest free buffer: the one least likely to be looked up */
  buffer = g_async_queue_pop (pool->free);
  g_mutex_lock (&share->cache_lock);
  buffer->cached = FALSE;
  buffer->len = 0;
  g_atomic_int_set (&buffer->refs, 1);
  g_mutex_unlock (&share->cache_lock);

  return buffer;
}

FerryBuffer *
_ferry_hash_share_lookup (FerryHashShare *share,
                          guint           index,
                          guint64         offset)
{
  FerryBuffer *found = NULL;

  g_mutex_lock (&share->cache_lock);
  for (guint i = 0; share->pool != NULL && i < share->pool->size; i++)
    {
      FerryBuffer *buffer = &share->pool->buffers[i];

      if (!buffer->cached || buffer->index != index || buffer->offset != offset)
        continue;
      if (g_atomic_int_get (&buffer->refs) > 0)
        {
          g_atomic_int_inc (&buffer->refs);
          found = buffer;
        }
      /* free: unless a taker popped it and waits for the lock */
      else if (g_async_queue_remove (share->pool->free, buffer))
        {
          g_atomic_int_set (&buffer->refs, 1);
          found = buffer;
        }
      break;
    }
  g_mutex_unlock (&share->cache_lock);

  return found;
}

FerryShareCursor *
_ferry_hash_share_join (FerryHashShare *share)
{
  FerryShareCursor *cursor = g_new0 (FerryShareCursor, 1);

  g_mutex_lock (&share->cache_lock);
  share->cursors = g_list_prepend (share->cursors, cursor);
  g_mutex_unlock (&share->cache_lock);

  return cursor;
}

void
_ferry_hash_share_leave (FerryHashShare   *share,
                         FerryShareCursor *cursor)
{
  g_mutex_lock (&share->cache_lock);
  share->cursors = g_list_remove (share->cursors, cursor);
  g_cond_broadcast (&share->cache_cond);
  g_mutex_unlock (&share->cache_lock);
  g_free (cursor);
}

/* Under the cache lock: whether a session other than @self holds less
 * than @offset minus @lead of file @index, and more than @offset minus
 * @window. */
static gboolean
share_someone_behind (FerryHashShare   *share,
                      FerryShareCursor *self,
                      guint             index,
                      guint64           offset,
                      guint64           lead,
                      guint64           window)
{
  for (GList *l = share->cursors; l != NULL; l = l->next)
    {
      FerryShareCursor *cursor = l->data;

      if (cursor != self && cursor->index == index && cursor->offset < offset &&
          offset - cursor->offset > lead && offset - cursor->offset <= window)
        return TRUE;
    }

  return FALSE;
}

/* Under the cache lock: whether a waiting session may go on. */
static gboolean
share_wait_over (FerryHashShare   *share,
                 FerryShareCursor *waiter)
{
  guint64 window = (guint64) SHARE_WINDOW * share->pool->capacity;

  return !share_someone_behind (share, waiter, waiter->wait_index, waiter->wait_offset, 0, window);
}

void
_ferry_hash_share_advance (FerryHashShare   *share,
                           FerryShareCursor *cursor,
                           guint             index,
                           guint64           offset)
{
  g_mutex_lock (&share->cache_lock);
  cursor->index = index;
  cursor->offset = offset;
  /* only a waiter this move lets go on: waking it to wait again costs */
  for (GList *l = share->waiters > 0 ? share->cursors : NULL; l != NULL; l = l->next)
    {
      FerryShareCursor *waiter = l->data;

      if (waiter->waiting && share_wait_over (share, waiter))
        {
          g_cond_broadcast (&share->cache_cond);
          break;
        }
    }
  g_mutex_unlock (&share->cache_lock);
}

void
_ferry_hash_share_read_begin (FerryHashShare   *share,
                              FerryShareCursor *cursor,
                              guint             index,
                              guint64           offset)
{
  gint64 end_time = g_get_monotonic_time () + SHARE_WAIT_US;

  g_mutex_lock (&share->cache_lock);
  if (share->pool != NULL &&
      share_someone_behind (share, cursor, index, offset,
                            (guint64) SHARE_LEAD * share->pool->capacity,
                            (guint64) SHARE_WINDOW * share->pool->capacity))
    {
      /* until they caught up: the next few chunks go without a wait */
      share->waiters++;
      cursor->waiting = TRUE;
      cursor->wait_index = index;
      cursor->wait_offset = offset;
      while (!share_wait_over (share, cursor))
        if (!g_cond_wait_until (&share->cache_cond, &share->cache_lock, end_time))
          break;
      cursor->waiting = FALSE;
      share->waiters--;
    }
  g_mutex_unlock (&share->cache_lock);

  g_mutex_lock (&share->read_lock);
}

void
_ferry_hash_share_read_end (FerryHashShare *share)
{
  g_mutex_unlock (&share->read_lock);
}
