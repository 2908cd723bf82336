/* ferry-disk-writer.c: a received file's data onto the disk
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ferry-disk-writer-private.h"
#include "ferry-part-file-private.h"

/* Files from this size on are written on the writer thread, and go
 * through the page cache instead of filling it. */
#define THREAD_MIN   (16 * 1024 * 1024)
/* Every this much, the disk is asked to start on what was written (so
 * that the fdatasync() before "verified" finds little left to write),
 * and on the writer thread, what was written before that is waited for
 * and dropped from the page cache. */
#define WRITE_BEHIND (8 * 1024 * 1024)

static int quit_marker;
#define QUIT ((gpointer) &quit_marker)

struct _FerryDiskWriter {
  GThread     *thread;     /* started for the first large file */
  GAsyncQueue *queue;      /* FerryBuffer *, then QUIT */
  GMutex       lock;
  GCond        cond;
  guint        pending;    /* pushed, not yet written (under lock) */
  GError      *error;      /* the first write that failed (under lock) */

  /* The current file: set by _ferry_disk_writer_begin() while nothing
   * is pending, then the thread's while it is threaded. */
  int          fd;
  char        *name;
  gboolean     threaded;
  guint64      position;   /* where the next buffer goes */
  guint64      started;    /* the writeback of what is before has started */
  guint64      dropped;    /* what is before is out of the page cache */
};

/* Writes @buffer after the previous ones and gives it back to its pool. */
static gboolean
write_buffer (FerryDiskWriter  *writer,
              FerryBuffer      *buffer,
              GError          **error)
{
  gboolean ok = _ferry_part_file_write (writer->fd, FERRY_BUFFER_PAYLOAD (buffer), buffer->len,
                                        writer->name, error);

  writer->position += buffer->len;
  _ferry_buffer_release (buffer);
  if (ok && writer->position - writer->started >= WRITE_BEHIND)
    {
      _ferry_part_file_write_behind (writer->fd, writer->started, writer->position);
      if (writer->threaded && writer->dropped < writer->started)
        _ferry_part_file_drop_behind (writer->fd, writer->dropped, writer->started);
      writer->dropped = writer->started;
      writer->started = writer->position;
    }

  return ok;
}

static gpointer
writer_thread (gpointer data)
{
  FerryDiskWriter *writer = data;
  gpointer item;

  while ((item = g_async_queue_pop (writer->queue)) != QUIT)
    {
      FerryBuffer *buffer = item;
      GError *error = NULL;
      gboolean failed;

      g_mutex_lock (&writer->lock);
      failed = writer->error != NULL;
      g_mutex_unlock (&writer->lock);

      /* after a failure, the rest of the file is dropped */
      if (failed)
        _ferry_buffer_release (buffer);
      else
        write_buffer (writer, buffer, &error);

      g_mutex_lock (&writer->lock);
      if (error != NULL)
        g_propagate_error (&writer->error, error);
      if (--writer->pending == 0)
        g_cond_broadcast (&writer->cond);
      g_mutex_unlock (&writer->lock);
    }

  return NULL;
}

FerryDiskWriter *
_ferry_disk_writer_new (void)
{
  FerryDiskWriter *writer = g_new0 (FerryDiskWriter, 1);

  writer->queue = g_async_queue_new ();
  g_mutex_init (&writer->lock);
  g_cond_init (&writer->cond);
  writer->fd = -1;

  return writer;
}

void
_ferry_disk_writer_free (FerryDiskWriter *writer)
{
  if (writer->thread != NULL)
    {
      /* after what is queued */
      g_async_queue_push (writer->queue, QUIT);
      g_thread_join (writer->thread);
    }
  g_async_queue_unref (writer->queue);
  g_mutex_clear (&writer->lock);
  g_cond_clear (&writer->cond);
  g_clear_error (&writer->error);
  g_free (writer->name);
  g_free (writer);
}

void
_ferry_disk_writer_begin (FerryDiskWriter *writer,
                          int              fd,
                          const char      *name,
                          guint64          size,
                          guint64          offset)
{
  g_return_if_fail (writer->pending == 0);

  writer->fd = fd;
  g_free (writer->name);
  writer->name = g_strdup (name);
  writer->position = writer->started = writer->dropped = offset;
  writer->threaded = size - offset >= THREAD_MIN;
  if (writer->threaded && writer->thread == NULL)
    {
      /* without a thread, the file is written here */
      writer->thread = g_thread_try_new ("ferry-write", writer_thread, writer, NULL);
      writer->threaded = writer->thread != NULL;
    }
  g_clear_error (&writer->error);
}

gboolean
_ferry_disk_writer_push (FerryDiskWriter  *writer,
                         FerryBuffer      *buffer,
                         GError          **error)
{
  if (!writer->threaded)
    {
      GError *local_error = NULL;

      if (write_buffer (writer, buffer, &local_error))
        return TRUE;
      /* for the finish as well, as on the thread */
      if (writer->error == NULL)
        writer->error = g_error_copy (local_error);
      g_propagate_error (error, local_error);
      return FALSE;
    }

  g_mutex_lock (&writer->lock);
  if (writer->error != NULL)
    {
      g_propagate_error (error, g_error_copy (writer->error));
      g_mutex_unlock (&writer->lock);
      _ferry_buffer_release (buffer);
      return FALSE;
    }
  writer->pending++;
  g_mutex_unlock (&writer->lock);
  g_async_queue_push (writer->queue, buffer);

  return TRUE;
}

gboolean
_ferry_disk_writer_finish (FerryDiskWriter  *writer,
                           GError          **error)
{
  gboolean ok;

  g_mutex_lock (&writer->lock);
  while (writer->pending > 0)
    g_cond_wait (&writer->cond, &writer->lock);
  ok = writer->error == NULL;
  if (!ok)
    g_propagate_error (error, g_steal_pointer (&writer->error));
  g_mutex_unlock (&writer->lock);

  return ok;
}
