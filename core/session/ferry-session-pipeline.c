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

  /* A shared hash thread (FerryHashShare) may still hold some: it
   * always makes progress. */
  for (guint i = 0; i < POOL_SIZE; i++)
    g_async_queue_pop (pool->free);
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

  _ferry_hasher_update (hasher, FERRY_BUFFER_PAYLOAD (buffer), buffer->len);
  digest = _ferry_hasher_finish (hasher);

  g_mutex_lock (&share->lock);
  file->digest = g_strdup (digest);
  g_cond_broadcast (&share->cond);
  g_mutex_unlock (&share->lock);
  return digest;
}
