/* ferry-session.c: the session protocol over a secure stream
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#ifndef _GNU_SOURCE
# define _GNU_SOURCE 1   /* renameat2 */
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>
#include <nettle/sha3.h>

#include "ferry-error.h"
#include "ferry-frame-private.h"
#include "ferry-sanitize-private.h"
#include "ferry-session-private.h"

/*
 * Threads of one operation
 * ------------------------
 * Sender:   the worker reads each file in 256 KiB chunks into pooled
 *           buffers (with room for the frame header in front, so that a
 *           frame goes out in one write), hands every buffer to the hashing
 *           thread and writes it; a buffer returns to the pool once it is
 *           both hashed and written. A reader thread waits for the
 *           receiver's final word (verified, error, cancel) and stops the
 *           sending early when it comes too soon.
 * Receiver: the worker reads frames, writes the data with write(2) and
 *           hands the same buffers to the hashing thread.
 * The pool is bounded, so memory use does not depend on file sizes.
 *
 * Cancellation
 * ------------
 * self->cancellable interrupts reads and is cancelled by
 * _ferry_session_cancel(). Writes use self->abort instead, so that a frame
 * is never cut in the middle when the user cancels: the worker finishes the
 * frame it is writing, sends a cancel frame, reads what the peer still sends
 * until it closes (so that closing does not reset the connection and lose
 * our last frame), then closes. A "reaper" thread cancels self->abort when
 * this takes more than TERMINATE_TIMEOUT_US, e.g. with a peer that stopped
 * reading.
 */

#define SEND_CHUNK            (256 * 1024)
#define RECEIVE_CHUNK         (256 * 1024)
#define POOL_SIZE             8
#define MAX_FILES             10000
#define MAX_FILE_SIZE         (G_GUINT64_CONSTANT (1) << 50)
#define SPACE_MARGIN          (G_GUINT64_CONSTANT (16) * 1024 * 1024)
#define MAX_NAME_VARIANTS     10000
#define MAX_REASON_CHARS      200
#define MAX_MIME_BYTES        255
#define PROGRESS_INTERVAL_US  (100 * 1000)
#define TERMINATE_TIMEOUT_US  (5 * G_USEC_PER_SEC)
#define READER_GRACE_US       (2 * G_USEC_PER_SEC)
#define DRAIN_BUFFER_SIZE     (64 * 1024)

/* ------------------------------------------------------------------ */
/* Deadline: cancels a GCancellable unless stopped in time             */

typedef struct {
  GMutex        lock;
  GCond         cond;
  gboolean      stopped;
  gint64        end_time;
  GCancellable *target;
  GThread      *thread;
} Deadline;

static gpointer
deadline_thread (gpointer data)
{
  Deadline *deadline = data;
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

static Deadline *
deadline_new (GCancellable *target,
              gint64        timeout_us)
{
  Deadline *deadline = g_new0 (Deadline, 1);

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
deadline_stop (Deadline *deadline)
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

/* ------------------------------------------------------------------ */
/* Buffer pool and hashing thread                                       */

typedef struct _Pool Pool;

typedef struct {
  guint8 *mem;     /* FERRY_FRAME_HEADER_SIZE bytes of room, then the payload */
  gsize   len;     /* payload bytes */
  gint    refs;    /* atomic: back to the pool at zero */
  Pool   *pool;
} Buffer;

#define BUFFER_PAYLOAD(b) ((b)->mem + FERRY_FRAME_HEADER_SIZE)

struct _Pool {
  GAsyncQueue *free;
  gsize        capacity;
  Buffer       buffers[POOL_SIZE];
};

static Pool *
pool_new (gsize capacity)
{
  Pool *pool = g_new0 (Pool, 1);

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

/* Call only once every buffer is back (the hasher has been stopped). */
static void
pool_free (Pool *pool)
{
  if (pool == NULL)
    return;

  g_warn_if_fail (g_async_queue_length (pool->free) == POOL_SIZE);
  for (guint i = 0; i < POOL_SIZE; i++)
    g_free (pool->buffers[i].mem);
  g_async_queue_unref (pool->free);
  g_free (pool);
}

/* Blocks until a buffer is free; the hasher always makes progress, so
 * this never waits for long. */
static Buffer *
pool_take (Pool *pool)
{
  Buffer *buffer = g_async_queue_pop (pool->free);

  buffer->len = 0;
  buffer->refs = 1;

  return buffer;
}

static void
buffer_release (Buffer *buffer)
{
  if (g_atomic_int_dec_and_test (&buffer->refs))
    g_async_queue_push (buffer->pool->free, buffer);
}

typedef struct {
  GThread            *thread;
  GAsyncQueue        *jobs;      /* Buffer *, JOB_FINISH or JOB_QUIT */
  GAsyncQueue        *digests;   /* char *, lower-case hex */
  struct sha3_256_ctx ctx;
} Hasher;

static int job_finish_marker;
static int job_quit_marker;
#define JOB_FINISH ((gpointer) &job_finish_marker)
#define JOB_QUIT   ((gpointer) &job_quit_marker)

static gpointer
hasher_thread (gpointer data)
{
  Hasher *hasher = data;

  for (;;)
    {
      gpointer job = g_async_queue_pop (hasher->jobs);

      if (job == JOB_QUIT)
        break;

      if (job == JOB_FINISH)
        {
          guint8 digest[SHA3_256_DIGEST_SIZE];
          char hex[2 * SHA3_256_DIGEST_SIZE + 1];

          /* also resets the context for the next file */
          sha3_256_digest (&hasher->ctx, sizeof digest, digest);
          for (guint i = 0; i < sizeof digest; i++)
            {
              hex[2 * i] = "0123456789abcdef"[digest[i] >> 4];
              hex[2 * i + 1] = "0123456789abcdef"[digest[i] & 0xf];
            }
          hex[sizeof hex - 1] = '\0';
          g_async_queue_push (hasher->digests, g_strdup (hex));
          continue;
        }

      sha3_256_update (&hasher->ctx, ((Buffer *) job)->len, BUFFER_PAYLOAD ((Buffer *) job));
      buffer_release (job);
    }

  return NULL;
}

static Hasher *
hasher_new (GError **error)
{
  Hasher *hasher = g_new0 (Hasher, 1);

  hasher->jobs = g_async_queue_new ();
  hasher->digests = g_async_queue_new_full (g_free);
  sha3_256_init (&hasher->ctx);
  hasher->thread = g_thread_try_new ("ferry-sha3", hasher_thread, hasher, error);
  if (hasher->thread == NULL)
    {
      g_async_queue_unref (hasher->jobs);
      g_async_queue_unref (hasher->digests);
      g_free (hasher);
      return NULL;
    }

  return hasher;
}

/* Hands a buffer to the hasher, which releases it when done. */
static void
hasher_push (Hasher *hasher,
             Buffer *buffer)
{
  g_atomic_int_inc (&buffer->refs);
  g_async_queue_push (hasher->jobs, buffer);
}

/* Waits for the digest of everything pushed since the last one. */
static char *
hasher_digest (Hasher *hasher)
{
  g_async_queue_push (hasher->jobs, JOB_FINISH);
  return g_async_queue_pop (hasher->digests);
}

/* Finishes the pending jobs (releasing their buffers) and stops. */
static void
hasher_free (Hasher *hasher)
{
  if (hasher == NULL)
    return;

  g_async_queue_push (hasher->jobs, JOB_QUIT);
  g_thread_join (hasher->thread);
  g_async_queue_unref (hasher->jobs);
  g_async_queue_unref (hasher->digests);
  g_free (hasher);
}

/* ------------------------------------------------------------------ */
/* The session object                                                   */

typedef enum {
  ROLE_NONE,
  ROLE_SENDER,
  ROLE_RECEIVER,
} Role;

struct _FerrySession
{
  GObject        parent_instance;

  GMainContext  *context;
  GIOStream     *stream;
  GInputStream  *input;
  GOutputStream *output;
  GCancellable  *cancellable;   /* reads and waits; cancelled by _ferry_session_cancel() */
  GCancellable  *abort;         /* writes and the final drain; cancelled by the reaper */

  GMutex         write_lock;    /* one frame at a time on the output */
  gboolean       output_broken; /* a write failed: no more frames (under write_lock) */

  GMutex         lock;          /* everything below */
  Role           role;
  gboolean       busy;          /* an operation runs */
  gboolean       done;          /* no further operation: closed or closing */
  gboolean       closed;
  gboolean       cancel_requested;
  char          *cancel_reason;
  Deadline      *reaper;

  gint64         progress_time;
  guint64        progress_bytes;
  guint64        progress_total;
  gboolean       progress_pending;

  gboolean       header_read;
  char          *transfer_id;
  GPtrArray     *files;

  guint64        moved;         /* DATA payload bytes on the stream (under lock) */
  gboolean       keep_parts;    /* receiver: keep the .part when interrupted */
  gboolean       allow_resume;  /* sender: accept offsets other than 0 */
  gint64         stall_us;      /* receiver: give up after this long without data (0: never) */
  gint64         last_read_us;  /* when bytes last arrived (under lock) */
  gboolean       stalled;       /* the watchdog gave up (under lock) */
  char         **parts;         /* receiver: .part names opened (under lock) */
};

enum {
  SIGNAL_PROGRESS,
  SIGNAL_ACCEPTED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (FerrySession, _ferry_session, G_TYPE_OBJECT)

FerrySessionFile *
_ferry_session_file_new (const char *name,
                         guint64     size,
                         const char *mime_type)
{
  FerrySessionFile *file = g_new0 (FerrySessionFile, 1);

  file->name = g_strdup (name);
  file->size = size;
  file->mime_type = g_strdup (mime_type);

  return file;
}

void
_ferry_session_file_free (FerrySessionFile *file)
{
  if (file == NULL)
    return;

  g_free (file->name);
  g_free (file->mime_type);
  g_free (file->sha3_256);
  g_free (file->part_name);
  g_free (file->expected_sha3);
  g_clear_object (&file->source);
  g_clear_object (&file->destination);
  g_free (file);
}

static void
_ferry_session_finalize (GObject *object)
{
  FerrySession *self = FERRY_SESSION (object);

  if (!self->closed)
    g_io_stream_close (self->stream, NULL, NULL);

  g_clear_object (&self->stream);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->abort);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_pointer (&self->cancel_reason, g_free);
  g_clear_pointer (&self->transfer_id, g_free);
  g_clear_pointer (&self->files, g_ptr_array_unref);
  g_clear_pointer (&self->parts, g_strfreev);
  g_mutex_clear (&self->write_lock);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (_ferry_session_parent_class)->finalize (object);
}

static void
_ferry_session_class_init (FerrySessionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = _ferry_session_finalize;

  /* FerrySession::progress:
   * @bytes: bytes of file data sent or received so far
   * @total: bytes of file data in the whole transfer
   *
   * Emitted on the session's main context, at most every 100 ms and once
   * at the end. */
  signals[SIGNAL_PROGRESS] =
    g_signal_new ("progress",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_UINT64, G_TYPE_UINT64);

  /* FerrySession::accepted:
   *
   * Sender side: the receiver accepted the transfer. */
  signals[SIGNAL_ACCEPTED] =
    g_signal_new ("accepted",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);
}

static void
_ferry_session_init (FerrySession *self)
{
  g_mutex_init (&self->write_lock);
  g_mutex_init (&self->lock);
  self->context = g_main_context_ref_thread_default ();
  self->cancellable = g_cancellable_new ();
  self->abort = g_cancellable_new ();
}

FerrySession *
_ferry_session_new (GIOStream *stream)
{
  FerrySession *self;

  g_return_val_if_fail (G_IS_IO_STREAM (stream), NULL);

  self = g_object_new (FERRY_TYPE_SESSION, NULL);
  self->stream = g_object_ref (stream);
  self->input = g_io_stream_get_input_stream (stream);
  self->output = g_io_stream_get_output_stream (stream);

  return self;
}

GPtrArray *
_ferry_session_get_files (FerrySession *self)
{
  g_return_val_if_fail (FERRY_IS_SESSION (self), NULL);

  return self->files;
}

guint64
_ferry_session_get_moved (FerrySession *self)
{
  guint64 moved;

  g_return_val_if_fail (FERRY_IS_SESSION (self), 0);

  g_mutex_lock (&self->lock);
  moved = self->moved;
  g_mutex_unlock (&self->lock);
  return moved;
}

static void
session_add_moved (FerrySession *self,
                   guint64       n)
{
  g_mutex_lock (&self->lock);
  self->moved += n;
  g_mutex_unlock (&self->lock);
}

void
_ferry_session_set_allow_resume (FerrySession *self,
                                 gboolean      allow)
{
  g_return_if_fail (FERRY_IS_SESSION (self));

  g_mutex_lock (&self->lock);
  self->allow_resume = allow;
  g_mutex_unlock (&self->lock);
}

void
_ferry_session_set_stall_timeout (FerrySession *self,
                                  guint         seconds)
{
  g_return_if_fail (FERRY_IS_SESSION (self));

  g_mutex_lock (&self->lock);
  self->stall_us = (gint64) seconds * G_USEC_PER_SEC;
  g_mutex_unlock (&self->lock);
}

void
_ferry_session_set_keep_parts (FerrySession *self,
                               gboolean      keep)
{
  g_return_if_fail (FERRY_IS_SESSION (self));

  g_mutex_lock (&self->lock);
  self->keep_parts = keep;
  g_mutex_unlock (&self->lock);
}

char **
_ferry_session_dup_parts (FerrySession *self)
{
  char **parts;

  g_return_val_if_fail (FERRY_IS_SESSION (self), NULL);

  g_mutex_lock (&self->lock);
  parts = self->parts ? g_strdupv (self->parts) : g_new0 (char *, 1);
  g_mutex_unlock (&self->lock);
  return parts;
}

static void
session_set_part (FerrySession *self,
                  guint         index,
                  guint         n_files,
                  const char   *part_name)
{
  g_mutex_lock (&self->lock);
  if (self->parts == NULL)
    {
      self->parts = g_new0 (char *, n_files + 1);
      for (guint i = 0; i < n_files; i++)
        self->parts[i] = g_strdup ("");
    }
  if (index < n_files)
    {
      g_free (self->parts[index]);
      self->parts[index] = g_strdup (part_name ? part_name : "");
    }
  g_mutex_unlock (&self->lock);
}

/* ------------------------------------------------------------------ */
/* Signals, always on the session's context                            */

static void
session_invoke (FerrySession *self,
                GSourceFunc   func)
{
  GSource *source = g_idle_source_new ();

  /* An explicit source, never g_main_context_invoke(): that would run the
   * function right here, in a worker thread, when the context is free. */
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, func, g_object_ref (self), g_object_unref);
  g_source_set_static_name (source, "[ferry] session signal");
  g_source_attach (source, self->context);
  g_source_unref (source);
}

static gboolean
emit_progress_cb (gpointer data)
{
  FerrySession *self = data;
  guint64 bytes;
  guint64 total;

  g_mutex_lock (&self->lock);
  bytes = self->progress_bytes;
  total = self->progress_total;
  self->progress_pending = FALSE;
  g_mutex_unlock (&self->lock);

  g_signal_emit (self, signals[SIGNAL_PROGRESS], 0, bytes, total);

  return G_SOURCE_REMOVE;
}

static gboolean
emit_accepted_cb (gpointer data)
{
  g_signal_emit (data, signals[SIGNAL_ACCEPTED], 0);

  return G_SOURCE_REMOVE;
}

static void
session_progress (FerrySession *self,
                  guint64       bytes,
                  guint64       total,
                  gboolean      final)
{
  gint64 now = g_get_monotonic_time ();
  gboolean schedule = FALSE;

  g_mutex_lock (&self->lock);
  self->progress_bytes = bytes;
  self->progress_total = total;
  /* A pending emission picks up the newest figures when it runs. */
  if (!self->progress_pending &&
      (final || now - self->progress_time >= PROGRESS_INTERVAL_US))
    {
      self->progress_pending = TRUE;
      self->progress_time = now;
      schedule = TRUE;
    }
  g_mutex_unlock (&self->lock);

  if (schedule)
    session_invoke (self, emit_progress_cb);
}

/* ------------------------------------------------------------------ */
/* Stall watchdog (receiver): a silent peer ends the transfer          */

typedef struct {
  FerrySession *self;
  GMutex        lock;
  GCond         cond;
  gboolean      stopped;
  GThread      *thread;
} Watchdog;

static gpointer
watchdog_thread (gpointer data)
{
  Watchdog *watchdog = data;
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

static Watchdog *
watchdog_new (FerrySession *self)
{
  Watchdog *watchdog;

  if (self->stall_us <= 0)
    return NULL;
  watchdog = g_new0 (Watchdog, 1);
  watchdog->self = self;
  g_mutex_init (&watchdog->lock);
  g_cond_init (&watchdog->cond);
  g_mutex_lock (&self->lock);
  self->last_read_us = g_get_monotonic_time ();
  g_mutex_unlock (&self->lock);
  watchdog->thread = g_thread_try_new ("ferry-watchdog", watchdog_thread, watchdog, NULL);
  return watchdog;
}

static void
watchdog_stop (Watchdog *watchdog)
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

/* ------------------------------------------------------------------ */
/* Frames on the stream                                                */

/* Reads exactly @size bytes; the end of the stream is an error. */
static gboolean
session_read_exact (FerrySession  *self,
                    void          *buffer,
                    gsize          size,
                    GError       **error)
{
  g_autoptr(GError) local_error = NULL;
  gsize got = 0;

  while (got < size)
    {
      gssize n = g_input_stream_read (self->input, (guint8 *) buffer + got, size - got,
                                      self->cancellable, &local_error);

      if (n < 0)
        {
          gboolean stalled;

          g_mutex_lock (&self->lock);
          stalled = self->stalled;
          g_mutex_unlock (&self->lock);
          if (stalled)
            g_set_error (error, FERRY_ERROR, FERRY_ERROR_TIMEOUT,
                         _("The peer sent nothing for %u s: the connection seems lost"),
                         (guint) (self->stall_us / G_USEC_PER_SEC));
          else if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            g_propagate_error (error, g_steal_pointer (&local_error));
          else
            g_set_error (error, FERRY_ERROR, FERRY_ERROR_PEER_VANISHED,
                         _("The connection to the peer was lost: %s"),
                         local_error->message);
          return FALSE;
        }
      if (n == 0)
        break;
      got += (gsize) n;
      if (self->stall_us > 0)
        {
          g_mutex_lock (&self->lock);
          self->last_read_us = g_get_monotonic_time ();
          g_mutex_unlock (&self->lock);
        }
    }

  if (got < size)
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_PEER_VANISHED,
                           _("The peer closed the connection in the middle of the transfer"));
      return FALSE;
    }

  return TRUE;
}

static gboolean
session_read_frame_header (FerrySession    *self,
                           FerryFrameType  *type,
                           guint32         *length,
                           GError         **error)
{
  guint8 header[FERRY_FRAME_HEADER_SIZE];

  return session_read_exact (self, header, sizeof header, error) &&
         _ferry_frame_parse_header (header, type, length, error);
}

static JsonObject *
session_read_control_payload (FerrySession  *self,
                              guint32        length,
                              GError       **error)
{
  g_autofree guint8 *payload = g_malloc (MAX (length, 1));

  if (!session_read_exact (self, payload, length, error))
    return NULL;

  return _ferry_frame_parse_control (payload, length, error);
}

/* Reads one frame, which must be a control frame. */
static JsonObject *
session_read_control (FerrySession  *self,
                      GError       **error)
{
  FerryFrameType type;
  guint32 length;

  if (!session_read_frame_header (self, &type, &length, error))
    return NULL;

  if (type != FERRY_FRAME_CONTROL)
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                           _("The peer sent file data where a message was expected"));
      return NULL;
    }

  return session_read_control_payload (self, length, error);
}

static void
set_write_error (FerrySession  *self,
                 GError        *local_error,
                 GError       **error)
{
  gboolean stalled;

  g_mutex_lock (&self->lock);
  stalled = self->stalled;
  g_mutex_unlock (&self->lock);
  if (stalled)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_TIMEOUT,
                   _("The peer took nothing for %u s: the connection seems lost"),
                   (guint) (self->stall_us / G_USEC_PER_SEC));
      g_error_free (local_error);
    }
  else if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
           local_error->domain == FERRY_ERROR)
    g_propagate_error (error, local_error);
  else
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PEER_VANISHED,
                   _("The connection to the peer was lost: %s"),
                   local_error->message);
      g_error_free (local_error);
    }
}

static gboolean
session_write_control (FerrySession  *self,
                       JsonObject    *object,
                       GError       **error)
{
  GError *local_error = NULL;
  gboolean ok;

  g_mutex_lock (&self->write_lock);
  if (self->output_broken)
    {
      ok = FALSE;
      local_error = g_error_new_literal (FERRY_ERROR, FERRY_ERROR_PEER_VANISHED,
                                         _("The connection to the peer was lost"));
    }
  else
    {
      ok = _ferry_frame_write_control (self->output, object, self->abort, &local_error);
      /* A message too large to send was not written at all. */
      if (!ok && !g_error_matches (local_error, FERRY_ERROR, FERRY_ERROR_PROTOCOL))
        self->output_broken = TRUE;
    }
  g_mutex_unlock (&self->write_lock);

  if (!ok)
    set_write_error (self, local_error, error);

  return ok;
}

/* Writes the buffer as one data frame, header and payload in one write. */
static gboolean
session_write_data (FerrySession  *self,
                    Buffer        *buffer,
                    GError       **error)
{
  GError *local_error = NULL;
  gboolean ok;

  _ferry_frame_write_header (buffer->mem, FERRY_FRAME_DATA, (guint32) buffer->len);

  g_mutex_lock (&self->write_lock);
  if (self->output_broken)
    {
      ok = FALSE;
      local_error = g_error_new_literal (FERRY_ERROR, FERRY_ERROR_PEER_VANISHED,
                                         _("The connection to the peer was lost"));
    }
  else
    {
      ok = g_output_stream_write_all (self->output, buffer->mem,
                                      FERRY_FRAME_HEADER_SIZE + buffer->len,
                                      NULL, self->abort, &local_error);
      if (!ok)
        self->output_broken = TRUE;
    }
  g_mutex_unlock (&self->write_lock);

  if (ok && self->stall_us > 0)
    {
      g_mutex_lock (&self->lock);
      self->last_read_us = g_get_monotonic_time ();
      g_mutex_unlock (&self->lock);
    }
  if (!ok)
    set_write_error (self, local_error, error);

  return ok;
}

/* An empty data frame: the sender is alive while it sends nothing. */
static gboolean
session_write_keepalive (FerrySession  *self,
                         GError       **error)
{
  GError *local_error = NULL;
  guint8 header[FERRY_FRAME_HEADER_SIZE];
  gboolean ok;

  _ferry_frame_write_header (header, FERRY_FRAME_DATA, 0);

  g_mutex_lock (&self->write_lock);
  if (self->output_broken)
    {
      ok = FALSE;
      local_error = g_error_new_literal (FERRY_ERROR, FERRY_ERROR_PEER_VANISHED,
                                         _("The connection to the peer was lost"));
    }
  else
    {
      ok = g_output_stream_write_all (self->output, header, sizeof header, NULL, self->abort, &local_error);
      if (!ok)
        self->output_broken = TRUE;
    }
  g_mutex_unlock (&self->write_lock);

  if (!ok)
    set_write_error (self, local_error, error);

  return ok;
}

/* Reasons are shown to the other side's user: keep them short and
 * printable. */
static char *
clean_reason (const char *reason)
{
  GString *out = g_string_new (NULL);
  guint n = 0;

  if (reason == NULL || *reason == '\0')
    reason = _("no reason given");

  for (const char *p = reason; *p != '\0' && n < MAX_REASON_CHARS; p = g_utf8_next_char (p), n++)
    {
      gunichar c = g_utf8_get_char (p);

      if (c < 0x20 || (c >= 0x7f && c <= 0x9f) ||
          (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069))
        g_string_append_c (out, ' ');
      else
        g_string_append_unichar (out, c);
    }

  return g_string_free (out, FALSE);
}

/* Sent to the peer: these reasons are not translated, the peer's user may
 * read another language. */
static JsonObject *
make_frame (const char *type,
            const char *code,
            const char *reason)
{
  JsonObject *object = json_object_new ();

  json_object_set_string_member (object, "type", type);
  if (code != NULL)
    json_object_set_string_member (object, "code", code);
  if (reason != NULL)
    {
      g_autofree char *clean = clean_reason (reason);

      json_object_set_string_member (object, "reason", clean);
    }

  return object;
}

static const char *
member_string (JsonObject *object,
               const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;

  return json_node_get_string (node);
}

static gboolean
member_uint64 (JsonObject *object,
               const char *name,
               guint64    *out)
{
  JsonNode *node = json_object_get_member (object, name);
  gint64 value;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;

  value = json_node_get_int (node);
  if (value < 0)
    return FALSE;

  *out = (guint64) value;
  return TRUE;
}

/* Turns a message from the peer that ends the transfer (reject, cancel,
 * error) or that is out of place into an error. */
static void
set_peer_error (JsonObject  *frame,
                GError     **error)
{
  const char *type = json_object_get_string_member (frame, "type");
  g_autofree char *reason = clean_reason (member_string (frame, "reason"));
  const char *code = member_string (frame, "code");

  if (g_str_equal (type, "reject"))
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_REJECTED,
                 _("The peer declined the transfer: %s"), reason);
  else if (g_str_equal (type, "cancel"))
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_CANCELLED_BY_PEER,
                 _("The peer cancelled the transfer: %s"), reason);
  else if (g_str_equal (type, "error") && g_strcmp0 (code, "hash-mismatch") == 0)
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_HASH_MISMATCH,
                 _("The peer received a corrupted file: %s"), reason);
  else if (g_str_equal (type, "error") && g_strcmp0 (code, "no-space") == 0)
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_NO_SPACE,
                 _("The peer ran out of space: %s"), reason);
  else if (g_str_equal (type, "error") && g_strcmp0 (code, "protocol") == 0)
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                 _("The peer reported a protocol error: %s"), reason);
  else if (g_str_equal (type, "error"))
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_FAILED,
                 _("The peer reported an error: %s"), reason);
  else
    {
      g_autofree char *clean_type = clean_reason (type);

      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                   _("Unexpected message “%s” from the peer"), clean_type);
    }
}

/* ------------------------------------------------------------------ */
/* Ending a session                                                     */

static void
session_arm_reaper_locked (FerrySession *self)
{
  if (self->reaper == NULL)
    self->reaper = deadline_new (self->abort, TERMINATE_TIMEOUT_US);
}

static void
session_arm_reaper (FerrySession *self)
{
  g_mutex_lock (&self->lock);
  session_arm_reaper_locked (self);
  g_mutex_unlock (&self->lock);
}

static void
session_close_stream (FerrySession *self)
{
  gboolean close_it;

  g_mutex_lock (&self->lock);
  close_it = !self->closed;
  self->closed = TRUE;
  g_mutex_unlock (&self->lock);

  if (close_it)
    g_io_stream_close (self->stream, self->abort, NULL);
}

/* Reads and drops whatever the peer still sends, until it closes. */
static void
session_drain (FerrySession *self)
{
  g_autofree guint8 *scratch = g_malloc (DRAIN_BUFFER_SIZE);

  while (g_input_stream_read (self->input, scratch, DRAIN_BUFFER_SIZE,
                              self->abort, NULL) > 0)
    ;
}

/* Sends @frame if there is one, waits for the peer to close, closes. Only
 * one thread may use the stream at this point. */
static void
session_terminate (FerrySession *self,
                   JsonObject   *frame)
{
  if (frame != NULL)
    {
      session_arm_reaper (self);
      if (session_write_control (self, frame, NULL))
        session_drain (self);
    }

  session_close_stream (self);
}

typedef struct {
  FerrySession *self;
  JsonObject   *frame;
} TerminateJob;

static gpointer
terminate_thread (gpointer data)
{
  TerminateJob *job = data;
  Deadline *reaper;

  session_terminate (job->self, job->frame);

  g_mutex_lock (&job->self->lock);
  reaper = g_steal_pointer (&job->self->reaper);
  g_mutex_unlock (&job->self->lock);
  deadline_stop (reaper);

  json_object_unref (job->frame);
  g_object_unref (job->self);
  g_free (job);

  return NULL;
}

/* ------------------------------------------------------------------ */
/* Every thread that may still send a session's last frame is counted, so
 * that a process can wait for them before it exits
 * (_ferry_session_wait_all, used by ferry_engine_close_async). */

static GMutex live_lock;
static GCond live_cond;
static guint live_threads;

typedef struct {
  GThreadFunc func;
  gpointer    data;
} Trampoline;

static void
live_threads_add (int delta)
{
  g_mutex_lock (&live_lock);
  live_threads += delta;
  if (live_threads == 0)
    g_cond_broadcast (&live_cond);
  g_mutex_unlock (&live_lock);
}

static gpointer
trampoline_thread (gpointer data)
{
  Trampoline trampoline = *(Trampoline *) data;
  gpointer result;

  g_free (data);
  result = trampoline.func (trampoline.data);
  live_threads_add (-1);
  return result;
}

static GThread *
session_thread_new (const char   *name,
                    GThreadFunc   func,
                    gpointer      data,
                    GError      **error)
{
  Trampoline *trampoline = g_new (Trampoline, 1);
  GThread *thread;

  trampoline->func = func;
  trampoline->data = data;
  live_threads_add (1);
  thread = g_thread_try_new (name, trampoline_thread, trampoline, error);
  if (thread == NULL)
    {
      g_free (trampoline);
      live_threads_add (-1);
    }
  return thread;
}

gboolean
_ferry_session_wait_all (gint64 end_time)
{
  gboolean idle;

  g_mutex_lock (&live_lock);
  while (live_threads > 0)
    if (!g_cond_wait_until (&live_cond, &live_lock, end_time))
      break;
  idle = live_threads == 0;
  g_mutex_unlock (&live_lock);
  return idle;
}

/* For reject and cancel outside of an operation: never blocks the caller. */
static void
session_terminate_in_thread (FerrySession *self,
                             JsonObject   *frame)
{
  TerminateJob *job = g_new0 (TerminateJob, 1);
  GThread *thread;

  job->self = g_object_ref (self);
  job->frame = frame;
  thread = session_thread_new ("ferry-session-end", terminate_thread, job, NULL);
  if (thread != NULL)
    g_thread_unref (thread);
  else
    terminate_thread (job);
}

/* ------------------------------------------------------------------ */
/* Operations                                                           */

typedef struct {
  FerrySession *self;           /* the task holds the reference */
  GTask        *task;
  GCancellable *user_cancellable;
  gulong        user_handler;

  char         *transfer_id;
  GPtrArray    *files;
  guint64       total;
  GFile        *directory;
  gboolean      accepted;       /* receiver: the accept went out */

  /* sender: the thread waiting for the receiver's final word */
  GMutex        lock;
  GCond         cond;
  GThread      *reader;
  gint          reader_done;    /* atomic */
  gint          all_sent;       /* atomic */
  GError       *reader_error;
  gboolean      reader_from_peer;
} Op;

static void
user_cancelled_cb (GCancellable *cancellable,
                   gpointer      data)
{
  _ferry_session_cancel (FERRY_SESSION (data), NULL);
}

static Op *
op_begin (FerrySession  *self,
          GTask         *task,
          Role           role,
          GCancellable  *cancellable,
          GError       **error)
{
  Op *op;

  g_mutex_lock (&self->lock);
  if (self->done)
    {
      g_mutex_unlock (&self->lock);
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CLOSED,
                           _("The session is closed"));
      return NULL;
    }
  if (self->busy)
    {
      g_mutex_unlock (&self->lock);
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_PENDING,
                           _("The session is busy"));
      return NULL;
    }
  if (self->role != ROLE_NONE && self->role != role)
    {
      g_mutex_unlock (&self->lock);
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                           _("A session either sends or receives"));
      return NULL;
    }
  self->role = role;
  self->busy = TRUE;
  g_mutex_unlock (&self->lock);

  op = g_new0 (Op, 1);
  op->self = self;
  op->task = g_object_ref (task);
  g_mutex_init (&op->lock);
  g_cond_init (&op->cond);

  /* May call _ferry_session_cancel() right away: the op is set up. */
  if (cancellable != NULL)
    {
      op->user_cancellable = g_object_ref (cancellable);
      op->user_handler = g_cancellable_connect (cancellable, G_CALLBACK (user_cancelled_cb),
                                                self, NULL);
    }

  return op;
}

static void
op_disconnect (Op *op)
{
  if (op->user_cancellable != NULL)
    {
      g_cancellable_disconnect (op->user_cancellable, op->user_handler);
      op->user_handler = 0;
      g_clear_object (&op->user_cancellable);
    }
}

/* Frees everything but the task, which the caller returns and drops. */
static GTask *
op_free (Op *op)
{
  GTask *task = op->task;

  op_disconnect (op);
  g_free (op->transfer_id);
  g_clear_pointer (&op->files, g_ptr_array_unref);
  g_clear_object (&op->directory);
  g_clear_error (&op->reader_error);
  g_mutex_clear (&op->lock);
  g_cond_clear (&op->cond);
  g_free (op);

  return task;
}

/* The session is finished: no further operation. */
static void
op_end (Op *op)
{
  FerrySession *self = op->self;
  Deadline *reaper;

  op_disconnect (op);

  g_mutex_lock (&self->lock);
  self->busy = FALSE;
  self->done = TRUE;
  reaper = g_steal_pointer (&self->reaper);
  g_mutex_unlock (&self->lock);

  deadline_stop (reaper);
}

static gboolean
op_spawn (Op           *op,
          const char   *name,
          GThreadFunc   func,
          GError      **error)
{
  GThread *thread = session_thread_new (name, func, op, error);

  if (thread == NULL)
    return FALSE;

  g_thread_unref (thread);
  return TRUE;
}

/* Without a thread the session cannot go on at all. */
static void
op_fail_to_start (Op     *op,
                  GError *error)
{
  GTask *task;

  op_end (op);
  session_close_stream (op->self);

  task = op_free (op);
  g_task_return_error (task, error);
  g_object_unref (task);
}

/* The error and the frame to send when the user cancelled. */
static JsonObject *
cancelled_frame (FerrySession  *self,
                 GError       **error)
{
  g_autofree char *reason = NULL;

  g_mutex_lock (&self->lock);
  reason = g_strdup (self->cancel_reason);
  g_mutex_unlock (&self->lock);

  g_clear_error (error);
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                       _("The transfer was cancelled"));

  return make_frame ("cancel", NULL, reason ? reason : "cancelled");
}

static gboolean
is_valid_transfer_id (const char *id)
{
  gsize len;

  if (id == NULL)
    return FALSE;

  len = strlen (id);
  if (len < 8 || len > 64)
    return FALSE;

  for (gsize i = 0; i < len; i++)
    if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
      return FALSE;

  return TRUE;
}

static gboolean
is_valid_digest (const char *hex)
{
  if (hex == NULL || strlen (hex) != 2 * SHA3_256_DIGEST_SIZE)
    return FALSE;

  for (const char *p = hex; *p != '\0'; p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
      return FALSE;

  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Sender                                                               */

static JsonObject *
build_header (Op *op)
{
  JsonObject *header = json_object_new ();
  JsonArray *files = json_array_new ();

  json_object_set_string_member (header, "type", "header");
  json_object_set_string_member (header, "transfer", op->transfer_id);

  for (guint i = 0; i < op->files->len; i++)
    {
      FerrySessionFile *file = g_ptr_array_index (op->files, i);
      JsonObject *entry = json_object_new ();
      g_autofree char *name = g_utf8_make_valid (file->name, -1);
      g_autofree char *mime = g_utf8_make_valid (file->mime_type ? file->mime_type
                                                 : "application/octet-stream", -1);

      json_object_set_string_member (entry, "name", name);
      json_object_set_int_member (entry, "size", (gint64) file->size);
      json_object_set_string_member (entry, "mime", mime);
      json_array_add_object_element (files, entry);
    }

  json_object_set_array_member (header, "files", files);

  return header;
}

static gboolean
check_reply (Op          *op,
             JsonObject  *reply,
             GError     **error)
{
  const char *type = json_object_get_string_member (reply, "type");
  JsonNode *offsets;

  if (!g_str_equal (type, "accept"))
    {
      set_peer_error (reply, error);
      return FALSE;
    }

  /* Resuming: the receiver holds the first "offset" bytes of a file. */
  offsets = json_object_get_member (reply, "offsets");
  if (offsets != NULL && !JSON_NODE_HOLDS_NULL (offsets))
    {
      JsonArray *array;

      if (!JSON_NODE_HOLDS_ARRAY (offsets))
        goto bad;

      array = json_node_get_array (offsets);
      if (json_array_get_length (array) > op->files->len)
        goto bad;

      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          JsonNode *node = json_array_get_element (array, i);

          FerrySessionFile *file = g_ptr_array_index (op->files, i);
          gint64 value;

          if (!JSON_NODE_HOLDS_VALUE (node) ||
              json_node_get_value_type (node) != G_TYPE_INT64)
            goto bad;
          value = json_node_get_int (node);
          if (value < 0 || (guint64) value > file->size ||
              (value != 0 && !op->self->allow_resume))
            goto bad;
          file->offset = (guint64) value;
        }
    }

  return TRUE;

bad:
  g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                       _("The peer asked to resume at an invalid offset"));
  return FALSE;
}

static gpointer
reader_thread (gpointer data)
{
  Op *op = data;
  FerrySession *self = op->self;
  g_autoptr(JsonObject) frame = NULL;
  GError *error = NULL;
  gboolean from_peer = FALSE;

  frame = session_read_control (self, &error);
  if (frame != NULL)
    {
      from_peer = TRUE;
      if (g_str_equal (json_object_get_string_member (frame, "type"), "verified"))
        {
          if (!g_atomic_int_get (&op->all_sent))
            g_set_error_literal (&error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                                 _("The peer confirmed the transfer before it was complete"));
        }
      else
        set_peer_error (frame, &error);
    }
  else if (g_error_matches (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL))
    from_peer = TRUE;

  g_mutex_lock (&op->lock);
  op->reader_error = error;
  op->reader_from_peer = from_peer;
  g_atomic_int_set (&op->reader_done, TRUE);
  g_cond_signal (&op->cond);
  g_mutex_unlock (&op->lock);

  /* The sender stops at the next chunk; should its current write never
   * end (a peer that does not read any more), give up on it in time. */
  if (error != NULL && from_peer)
    session_arm_reaper (self);

  return NULL;
}

/* Waits for the reader, at most @timeout_us (-1: no limit) before
 * interrupting its read. */
static void
op_join_reader (Op     *op,
                gint64  timeout_us)
{
  if (op->reader == NULL)
    return;

  if (timeout_us >= 0)
    {
      gint64 end_time = g_get_monotonic_time () + timeout_us;
      gboolean done;

      g_mutex_lock (&op->lock);
      while (!op->reader_done)
        if (!g_cond_wait_until (&op->cond, &op->lock, end_time))
          break;
      done = op->reader_done;
      g_mutex_unlock (&op->lock);

      if (!done)
        g_cancellable_cancel (op->self->cancellable);
    }

  g_thread_join (op->reader);
  op->reader = NULL;
}

/* Sends every file. Returns FALSE with @error unset when the reader saw
 * the end of the transfer first. */
static gboolean
send_files (Op          *op,
            Pool        *pool,
            Hasher      *hasher,
            guint64     *sent,
            JsonObject **terminal,
            GError     **error)
{
  FerrySession *self = op->self;
  gint64 keepalive_us = g_get_monotonic_time ();

  for (guint i = 0; i < op->files->len; i++)
    {
      FerrySessionFile *file = g_ptr_array_index (op->files, i);
      g_autoptr(GFileInputStream) input = NULL;
      g_autoptr(JsonObject) end = NULL;
      GError *local_error = NULL;
      guint64 remaining = file->size;
      guint8 probe;
      gssize n;

      if (g_atomic_int_get (&op->reader_done))
        return FALSE;

      input = g_file_read (file->source, self->cancellable, &local_error);
      if (input == NULL)
        goto read_failed;

      while (remaining > 0)
        {
          Buffer *buffer;
          gsize want;
          gsize got = 0;
          /* The receiver already holds the first @offset bytes: they are
           * read and hashed here, not sent. */
          guint64 skip = file->offset > file->size - remaining
                         ? file->offset - (file->size - remaining) : 0;

          if (g_atomic_int_get (&op->reader_done))
            return FALSE;

          buffer = pool_take (pool);
          want = (gsize) MIN (remaining, (guint64) pool->capacity);
          if (skip > 0)
            want = (gsize) MIN ((guint64) want, skip);
          if (!g_input_stream_read_all (G_INPUT_STREAM (input), BUFFER_PAYLOAD (buffer),
                                        want, &got, self->cancellable, &local_error))
            {
              buffer_release (buffer);
              goto read_failed;
            }
          if (got < want)
            {
              buffer_release (buffer);
              goto changed;
            }

          buffer->len = got;
          hasher_push (hasher, buffer);
          if (skip > 0 && self->stall_us > 0)
            {
              /* Hashing what the receiver holds is not the peer's silence. */
              g_mutex_lock (&self->lock);
              self->last_read_us = g_get_monotonic_time ();
              g_mutex_unlock (&self->lock);
            }
          /* Nor for the receiver, waiting meanwhile: an empty data frame
           * tells it the sender is alive. */
          if (skip > 0 && g_get_monotonic_time () - keepalive_us >= G_USEC_PER_SEC / 4)
            {
              keepalive_us = g_get_monotonic_time ();
              if (!session_write_keepalive (self, error))
                {
                  buffer_release (buffer);
                  return FALSE;
                }
            }
          if (skip == 0)
            {
              if (!session_write_data (self, buffer, error))
                {
                  buffer_release (buffer);
                  return FALSE;
                }
              session_add_moved (self, got);
            }
          buffer_release (buffer);

          remaining -= got;
          *sent += got;
          session_progress (self, *sent, op->total, FALSE);
        }

      /* A file that grew is as wrong as one that shrank: what went out
       * would not be the file any more. */
      n = g_input_stream_read (G_INPUT_STREAM (input), &probe, 1, self->cancellable, &local_error);
      if (n < 0)
        goto read_failed;
      if (n > 0)
        goto changed;
      g_input_stream_close (G_INPUT_STREAM (input), NULL, NULL);

      g_free (file->sha3_256);
      file->sha3_256 = hasher_digest (hasher);
      if (file->expected_sha3 != NULL && !g_str_equal (file->expected_sha3, file->sha3_256))
        goto changed;

      end = json_object_new ();
      json_object_set_string_member (end, "type", "end");
      json_object_set_int_member (end, "index", i);
      json_object_set_string_member (end, "sha3-256", file->sha3_256);
      /* before the write: "verified" may come back right after it */
      if (i + 1 == op->files->len)
        g_atomic_int_set (&op->all_sent, TRUE);
      if (!session_write_control (self, end, error))
        return FALSE;

      continue;

    read_failed:
      if (!g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_autofree char *reason = g_strdup_printf ("The sender could not read “%s”", file->name);

          *terminal = make_frame ("cancel", NULL, reason);
          g_prefix_error (&local_error, _("Could not read “%s”: "), file->name);
        }
      g_propagate_error (error, local_error);
      return FALSE;

    changed:
      {
        g_autofree char *reason = g_strdup_printf ("“%s” changed on the sender while it was being sent",
                                                   file->name);

        *terminal = make_frame ("cancel", NULL, reason);
        g_set_error (error, FERRY_ERROR, FERRY_ERROR_FAILED,
                     _("“%s” changed while it was being sent"), file->name);
        return FALSE;
      }
    }

  return TRUE;
}

static gboolean
send_run (Op          *op,
          guint64     *sent,
          JsonObject **terminal,
          GError     **error)
{
  FerrySession *self = op->self;
  g_autoptr(JsonObject) header = NULL;
  g_autoptr(JsonObject) reply = NULL;
  GError *local_error = NULL;
  Watchdog *watchdog;
  Hasher *hasher;
  Pool *pool;
  gboolean ok;

  header = build_header (op);
  if (!session_write_control (self, header, error))
    return FALSE;

  reply = session_read_control (self, error);
  if (reply == NULL)
    return FALSE;

  if (!check_reply (op, reply, error))
    return FALSE;

  session_invoke (self, emit_accepted_cb);

  hasher = hasher_new (error);
  if (hasher == NULL)
    {
      *terminal = make_frame ("cancel", NULL, "The sender failed");
      return FALSE;
    }

  op->reader = g_thread_try_new ("ferry-send-ctl", reader_thread, op, error);
  if (op->reader == NULL)
    {
      hasher_free (hasher);
      *terminal = make_frame ("cancel", NULL, "The sender failed");
      return FALSE;
    }

  /* From now on, a peer that takes nothing for too long is gone. */
  watchdog = watchdog_new (self);
  pool = pool_new (SEND_CHUNK);
  ok = send_files (op, pool, hasher, sent, terminal, &local_error);
  hasher_free (hasher);
  pool_free (pool);

  if (ok)
    op_join_reader (op, -1);       /* waits for "verified" */
  else if (local_error == NULL)
    op_join_reader (op, 0);        /* the reader is done already */
  else if (g_error_matches (local_error, FERRY_ERROR, FERRY_ERROR_PEER_VANISHED))
    op_join_reader (op, READER_GRACE_US); /* a message of the peer may explain why */
  else
    op_join_reader (op, 0);        /* our own failure: stop now */
  watchdog_stop (watchdog);

  if (op->reader_error != NULL && op->reader_from_peer)
    {
      /* the peer ended the transfer, or broke the protocol */
      g_clear_error (&local_error);
      g_clear_pointer (terminal, json_object_unref);
      g_propagate_error (error, g_steal_pointer (&op->reader_error));
      return FALSE;
    }

  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      return FALSE;
    }

  if (op->reader_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&op->reader_error));
      return FALSE;
    }

  return ok;
}

static gpointer
send_thread (gpointer data)
{
  Op *op = data;
  FerrySession *self = op->self;
  g_autoptr(JsonObject) terminal = NULL;
  GError *error = NULL;
  guint64 sent = 0;
  GTask *task;

  if (!send_run (op, &sent, &terminal, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_clear_pointer (&terminal, json_object_unref);
          terminal = cancelled_frame (self, &error);
        }
      else if (terminal == NULL && g_error_matches (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL))
        terminal = make_frame ("cancel", "protocol", error->message);
      session_terminate (self, terminal);
    }
  else
    session_close_stream (self);

  session_progress (self, sent, op->total, TRUE);
  op_end (op);

  task = op_free (op);
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
  g_object_unref (task);

  return NULL;
}

void
_ferry_session_send_async (FerrySession        *self,
                           const char          *transfer_id,
                           GPtrArray           *files,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  GError *error = NULL;
  guint64 total = 0;
  Op *op;

  g_return_if_fail (FERRY_IS_SESSION (self));
  g_return_if_fail (transfer_id != NULL);
  g_return_if_fail (files != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, _ferry_session_send_async);

  if (!is_valid_transfer_id (transfer_id))
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                               _("Invalid transfer id"));
      return;
    }

  if (files->len == 0 || files->len > MAX_FILES)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                               _("A transfer holds 1 to %u files"), MAX_FILES);
      return;
    }

  for (guint i = 0; i < files->len; i++)
    {
      FerrySessionFile *file = g_ptr_array_index (files, i);

      if (file == NULL || file->name == NULL || !G_IS_FILE (file->source) ||
          file->size > MAX_FILE_SIZE)
        {
          g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                                   _("File %u of the transfer is invalid"), i);
          return;
        }
      total += file->size;
    }

  op = op_begin (self, task, ROLE_SENDER, cancellable, &error);
  if (op == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  op->transfer_id = g_strdup (transfer_id);
  op->files = g_ptr_array_ref (files);
  op->total = total;

  if (!op_spawn (op, "ferry-send", send_thread, &error))
    op_fail_to_start (op, error);
}

gboolean
_ferry_session_send_finish (FerrySession  *self,
                            GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (FERRY_IS_SESSION (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == _ferry_session_send_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ------------------------------------------------------------------ */
/* Receiver, step 1: the header                                         */

static GPtrArray *
parse_header (JsonObject  *header,
              char       **transfer_id,
              GError     **error)
{
  g_autoptr(GPtrArray) files = NULL;
  g_autoptr(GHashTable) names = NULL;
  g_autoptr(GHashTable) counters = NULL;
  const char *id = member_string (header, "transfer");
  JsonNode *node = json_object_get_member (header, "files");
  JsonArray *array;
  guint64 total = 0;
  guint n;

  if (!is_valid_transfer_id (id))
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                           _("The offer has no valid transfer id"));
      return NULL;
    }

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                           _("The offer has no list of files"));
      return NULL;
    }

  array = json_node_get_array (node);
  n = json_array_get_length (array);
  if (n == 0 || n > MAX_FILES)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                   _("The offer lists %u files; 1 to %u are allowed"), n, MAX_FILES);
      return NULL;
    }

  files = g_ptr_array_new_full (n, (GDestroyNotify) _ferry_session_file_free);
  names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  counters = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; i < n; i++)
    {
      JsonNode *element = json_array_get_element (array, i);
      g_autofree char *safe = NULL;
      g_autofree char *unique = NULL;
      JsonObject *entry;
      JsonNode *mime_node;
      const char *name;
      const char *mime = NULL;
      guint64 size;
      guint next;

      if (!JSON_NODE_HOLDS_OBJECT (element))
        {
          g_set_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                       _("File %u of the offer is not an object"), i);
          return NULL;
        }
      entry = json_node_get_object (element);

      name = member_string (entry, "name");
      if (name == NULL)
        {
          g_set_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                       _("File %u of the offer has no name"), i);
          return NULL;
        }

      if (!member_uint64 (entry, "size", &size) || size > MAX_FILE_SIZE)
        {
          g_set_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                       _("File %u of the offer has no valid size"), i);
          return NULL;
        }

      if (!g_uint64_checked_add (&total, total, size))
        {
          g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                               _("The offer is too large"));
          return NULL;
        }

      mime_node = json_object_get_member (entry, "mime");
      if (mime_node != NULL && !JSON_NODE_HOLDS_NULL (mime_node))
        {
          mime = member_string (entry, "mime");
          if (mime == NULL)
            {
              g_set_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                           _("File %u of the offer has an invalid type"), i);
              return NULL;
            }
          /* only printable ASCII, as in "text/plain; charset=utf-8" */
          if (*mime == '\0' || strlen (mime) > MAX_MIME_BYTES)
            mime = NULL;
          for (const char *p = mime; p != NULL && *p != '\0'; p++)
            if (*p < 0x20 || *p > 0x7e)
              {
                mime = NULL;
                break;
              }
        }

      /* Two files of one transfer never compete for a name; the counter
       * per name keeps a thousand "a" linear, not quadratic. */
      safe = _ferry_sanitize_filename (name);
      next = GPOINTER_TO_UINT (g_hash_table_lookup (counters, safe));
      for (;;)
        {
          unique = _ferry_filename_variant (safe, next++);
          if (!g_hash_table_contains (names, unique))
            break;
          g_clear_pointer (&unique, g_free);
        }
      g_hash_table_insert (counters, g_strdup (safe), GUINT_TO_POINTER (next));
      g_hash_table_add (names, g_strdup (unique));

      g_ptr_array_add (files, _ferry_session_file_new (unique, size,
                                                       mime ? mime : "application/octet-stream"));
    }

  *transfer_id = g_strdup (id);

  return g_steal_pointer (&files);
}

static gpointer
read_header_thread (gpointer data)
{
  Op *op = data;
  FerrySession *self = op->self;
  g_autoptr(JsonObject) frame = NULL;
  g_autoptr(JsonObject) terminal = NULL;
  g_autofree char *transfer_id = NULL;
  GPtrArray *files = NULL;
  GError *error = NULL;
  GTask *task;

  frame = session_read_control (self, &error);
  if (frame != NULL)
    {
      if (g_str_equal (json_object_get_string_member (frame, "type"), "header"))
        files = parse_header (frame, &transfer_id, &error);
      else
        set_peer_error (frame, &error);
    }

  op_disconnect (op);

  if (files != NULL)
    {
      gboolean cancelled;

      g_mutex_lock (&self->lock);
      cancelled = self->cancel_requested;
      if (!cancelled)
        {
          self->files = g_ptr_array_ref (files);
          self->transfer_id = g_steal_pointer (&transfer_id);
          self->header_read = TRUE;
          self->busy = FALSE;
        }
      g_mutex_unlock (&self->lock);

      if (!cancelled)
        {
          task = op_free (op);
          g_task_return_pointer (task, files, (GDestroyNotify) g_ptr_array_unref);
          g_object_unref (task);
          return NULL;
        }

      g_ptr_array_unref (files);
      g_set_error_literal (&error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "");
    }

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    terminal = cancelled_frame (self, &error);
  else if (g_error_matches (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL))
    terminal = make_frame ("reject", "protocol", error->message);

  session_terminate (self, terminal);
  op_end (op);

  task = op_free (op);
  g_task_return_error (task, error);
  g_object_unref (task);

  return NULL;
}

void
_ferry_session_read_header_async (FerrySession        *self,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  GError *error = NULL;
  gboolean already = FALSE;
  Op *op;

  g_return_if_fail (FERRY_IS_SESSION (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, _ferry_session_read_header_async);

  g_mutex_lock (&self->lock);
  already = self->header_read;
  g_mutex_unlock (&self->lock);
  if (already)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_EXISTS,
                               _("The offer was already read"));
      return;
    }

  op = op_begin (self, task, ROLE_RECEIVER, cancellable, &error);
  if (op == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  if (!op_spawn (op, "ferry-header", read_header_thread, &error))
    op_fail_to_start (op, error);
}

GPtrArray *
_ferry_session_read_header_finish (FerrySession  *self,
                                   GAsyncResult  *result,
                                   char         **transfer_id,
                                   GError       **error)
{
  GPtrArray *files;

  g_return_val_if_fail (FERRY_IS_SESSION (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == _ferry_session_read_header_async, NULL);

  files = g_task_propagate_pointer (G_TASK (result), error);
  if (transfer_id != NULL)
    {
      g_mutex_lock (&self->lock);
      *transfer_id = files != NULL ? g_strdup (self->transfer_id) : NULL;
      g_mutex_unlock (&self->lock);
    }

  return files;
}

/* ------------------------------------------------------------------ */
/* Receiver, step 2: the data                                           */

static void
set_errno_error (GError     **error,
                 int          saved_errno,
                 const char  *format,
                 const char  *name)
{
  if (saved_errno == ENOSPC || saved_errno == EDQUOT)
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_NO_SPACE,
                 _("The download folder is full: %s"), g_strerror (saved_errno));
  else
    {
      g_autofree char *what = g_strdup_printf (format, name);

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "%s: %s", what, g_strerror (saved_errno));
    }
}

static gboolean
check_free_space (int       dirfd,
                  guint64   needed,
                  GError  **error)
{
  struct statvfs st;
  guint64 available;

  /* Unknown: the writes will tell. */
  if (fstatvfs (dirfd, &st) != 0)
    return TRUE;

  available = (guint64) st.f_bavail * (guint64) st.f_frsize;
  if (available < SPACE_MARGIN || needed > available - SPACE_MARGIN)
    {
      g_autofree char *needed_str = g_format_size (needed);
      g_autofree char *available_str = g_format_size (available);

      g_set_error (error, FERRY_ERROR, FERRY_ERROR_NO_SPACE,
                   _("Not enough free space in the download folder: %s needed, %s available"),
                   needed_str, available_str);
      return FALSE;
    }

  return TRUE;
}

static gboolean
write_fully (int            fd,
             const guint8  *data,
             gsize          length,
             const char    *name,
             GError       **error)
{
  while (length > 0)
    {
      gssize n = write (fd, data, MIN (length, (gsize) G_MAXSSIZE));

      if (n < 0)
        {
          int saved_errno = errno;

          if (saved_errno == EINTR)
            continue;
          set_errno_error (error, saved_errno, _("Could not write “%s”"), name);
          return FALSE;
        }

      data += n;
      length -= n;
    }

  return TRUE;
}

/* Creates "<name>.part", "<name> (1).part", ... inside @dirfd only. */
static int
open_part (int          dirfd,
           const char  *name,
           char       **part_name,
           GError     **error)
{
  for (guint n = 0; n < MAX_NAME_VARIANTS; n++)
    {
      g_autofree char *variant = _ferry_filename_variant (name, n);
      g_autofree char *candidate = g_strconcat (variant, ".part", NULL);
      int fd;

      /* sanitised names never hold one; refuse rather than trust it */
      if (strchr (candidate, '/') != NULL)
        break;

      fd = openat (dirfd, candidate,
                   O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
      if (fd >= 0)
        {
          *part_name = g_steal_pointer (&candidate);
          return fd;
        }

      if (errno != EEXIST)
        {
          set_errno_error (error, errno, _("Could not create “%s”"), candidate);
          return -1;
        }
    }

  g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
               _("Could not find a free name for “%s”"), name);
  return -1;
}

/* Gives the verified part its final name, never replacing a file. */
static char *
publish_part (int          dirfd,
              const char  *part_name,
              const char  *name,
              GError     **error)
{
  for (guint n = 0; n < MAX_NAME_VARIANTS; n++)
    {
      g_autofree char *candidate = _ferry_filename_variant (name, n);
      int saved_errno;

      if (linkat (dirfd, part_name, dirfd, candidate, 0) == 0)
        {
          if (unlinkat (dirfd, part_name, 0) != 0)
            g_debug ("Could not remove “%s”: %s", part_name, g_strerror (errno));
          return g_steal_pointer (&candidate);
        }

      saved_errno = errno;
      if (saved_errno == EEXIST)
        continue;

      /* file systems without hard links (FAT, some FUSE) */
      if (saved_errno == EPERM || saved_errno == EOPNOTSUPP || saved_errno == ENOSYS ||
          saved_errno == EMLINK)
        {
          if (renameat2 (dirfd, part_name, dirfd, candidate, RENAME_NOREPLACE) == 0)
            return g_steal_pointer (&candidate);

          saved_errno = errno;
          if (saved_errno == EEXIST)
            continue;
        }

      set_errno_error (error, saved_errno, _("Could not save “%s”"), candidate);
      return NULL;
    }

  g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
               _("Could not find a free name for “%s”"), name);
  return NULL;
}

static gboolean
dispatch_buffer (Hasher      *hasher,
                 int          fd,
                 Buffer      *buffer,
                 const char  *name,
                 GError     **error)
{
  gboolean ok;

  hasher_push (hasher, buffer);
  ok = write_fully (fd, BUFFER_PAYLOAD (buffer), buffer->len, name, error);
  buffer_release (buffer);

  return ok;
}

/* Opens the .part a resumed file continues; returns -1 (and forgets the
 * name) when it cannot be used, and the file is then received whole. */
static int
open_resume_part (int               dirfd,
                  FerrySessionFile *file)
{
  struct stat st;
  int fd;

  if (file->part_name == NULL)
    return -1;
  if (strchr (file->part_name, '/') != NULL || !g_str_has_suffix (file->part_name, ".part") ||
      file->part_name[0] == '.')
    goto fresh;

  fd = openat (dirfd, file->part_name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    goto fresh;
  /* A second link could be a file outside the folder; a longer file is
   * not the beginning of this one (and not ours to truncate). */
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode) || st.st_nlink != 1 ||
      (guint64) st.st_size > file->size)
    {
      close (fd);
      goto fresh;
    }
  file->offset = (guint64) st.st_size;
  return fd;

fresh:
  g_debug ("Cannot resume from “%s”: receiving it whole", file->part_name);
  g_clear_pointer (&file->part_name, g_free);
  file->offset = 0;
  return -1;
}

/* Hashes the first @length bytes of a resumed .part. */
static gboolean
hash_prefix (FerrySession *self,
             int          fd,
             guint64      length,
             Pool        *pool,
             Hasher      *hasher,
             const char  *name,
             GError     **error)
{
  guint64 done = 0;

  while (done < length)
    {
      Buffer *buffer = pool_take (pool);
      gsize want = (gsize) MIN ((guint64) pool->capacity, length - done);
      gsize got = 0;

      while (got < want)
        {
          ssize_t n = pread (fd, BUFFER_PAYLOAD (buffer) + got, want - got, (off_t) (done + got));

          if (n < 0 && errno == EINTR)
            continue;
          if (n <= 0)
            {
              buffer_release (buffer);
              if (n == 0)
                g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                             _("“%s.part” became shorter while resuming"), name);
              else
                set_errno_error (error, errno, _("Could not read “%s”"), name);
              return FALSE;
            }
          got += (gsize) n;
        }
      buffer->len = got;
      hasher_push (hasher, buffer);
      buffer_release (buffer);
      done += got;
      if (self->stall_us > 0)
        {
          /* Hashing what is on disk is not the peer's silence. */
          g_mutex_lock (&self->lock);
          self->last_read_us = g_get_monotonic_time ();
          g_mutex_unlock (&self->lock);
        }
    }

  if (lseek (fd, (off_t) length, SEEK_SET) < 0)
    {
      set_errno_error (error, errno, _("Could not write “%s”"), name);
      return FALSE;
    }
  return TRUE;
}

static gboolean
receive_file (Op       *op,
              int       dirfd,
              Pool     *pool,
              Hasher   *hasher,
              guint     index,
              int       resume_fd,
              gboolean  prehashed,
              guint64  *received,
              GError  **error)
{
  FerrySession *self = op->self;
  FerrySessionFile *file = g_ptr_array_index (op->files, index);
  g_autofree char *part_name = NULL;
  g_autofree char *digest = NULL;
  g_autofree char *final_name = NULL;
  g_autoptr(JsonObject) end = NULL;
  const char *expected;
  Buffer *current = NULL;
  guint64 remaining = file->size;
  guint64 index_value;
  gboolean keep_part = FALSE;
  int fd;

  if (resume_fd >= 0)
    {
      fd = resume_fd;
      part_name = g_strdup (file->part_name);
    }
  else
    {
      fd = open_part (dirfd, file->name, &part_name, error);
      if (fd < 0)
        return FALSE;
      file->offset = 0;
    }
  session_set_part (self, index, op->files->len, part_name);

  if (file->offset > 0)
    {
      if (!prehashed && !hash_prefix (self, fd, file->offset, pool, hasher, file->name, error))
        goto fail;
      if (prehashed && lseek (fd, (off_t) file->offset, SEEK_SET) < 0)
        {
          set_errno_error (error, errno, _("Could not write “%s”"), file->name);
          goto fail;
        }
      remaining -= file->offset;
      *received += file->offset;
    }

  while (end == NULL)
    {
      FerryFrameType type;
      guint32 length;

      if (!session_read_frame_header (self, &type, &length, error))
        goto fail;

      if (type == FERRY_FRAME_CONTROL)
        {
          JsonObject *frame = session_read_control_payload (self, length, error);

          if (frame == NULL)
            goto fail;
          if (g_str_equal (json_object_get_string_member (frame, "type"), "end"))
            end = frame;
          else
            {
              set_peer_error (frame, error);
              json_object_unref (frame);
              goto fail;
            }
          continue;
        }

      if (length > remaining)
        {
          g_set_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                       _("The peer sent more data than announced for “%s”"), file->name);
          goto fail;
        }
      remaining -= length;

      while (length > 0)
        {
          gsize n;

          if (current == NULL)
            current = pool_take (pool);

          n = MIN ((gsize) length, pool->capacity - current->len);
          if (!session_read_exact (self, BUFFER_PAYLOAD (current) + current->len, n, error))
            goto fail;

          current->len += n;
          length -= n;
          *received += n;
          session_add_moved (self, n);

          if (current->len == pool->capacity || (length == 0 && remaining == 0))
            {
              Buffer *buffer = g_steal_pointer (&current);

              if (!dispatch_buffer (hasher, fd, buffer, file->name, error))
                goto fail;
            }
        }

      session_progress (self, *received, op->total, FALSE);
    }

  expected = member_string (end, "sha3-256");
  if (!member_uint64 (end, "index", &index_value) || index_value != index ||
      !is_valid_digest (expected))
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                   _("The peer ended “%s” with an invalid message"), file->name);
      goto fail;
    }

  if (remaining != 0)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                   _("The peer sent less data than announced for “%s”"), file->name);
      goto fail;
    }

  digest = hasher_digest (hasher);

  /* No fdatasync: it halves the throughput; a final close is enough. */
  if (close (fd) != 0)
    {
      fd = -1;
      set_errno_error (error, errno, _("Could not write “%s”"), file->name);
      goto fail;
    }
  fd = -1;

  if (!g_str_equal (digest, expected))
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_HASH_MISMATCH,
                   _("“%s” arrived corrupted: its SHA3-256 does not match"), file->name);
      goto fail;
    }

  final_name = publish_part (dirfd, part_name, file->name, error);
  if (final_name == NULL)
    goto fail;
  g_clear_pointer (&part_name, g_free);

  g_clear_object (&file->destination);
  file->destination = g_file_get_child (op->directory, final_name);
  g_free (file->sha3_256);
  file->sha3_256 = g_steal_pointer (&digest);
  g_clear_pointer (&file->part_name, g_free);
  session_set_part (self, index, op->files->len, NULL);

  return TRUE;

fail:
  /* An interrupted transfer keeps what arrived, for a resume; anything
   * else (a cancel, a corrupted file, a protocol error) removes it. */
  keep_part = self->keep_parts && error != NULL && *error != NULL && (*error)->domain == FERRY_ERROR &&
              ((*error)->code == FERRY_ERROR_PEER_VANISHED || (*error)->code == FERRY_ERROR_TIMEOUT);
  if (current != NULL)
    {
      if (keep_part && current->len > 0)
        {
          /* Already hashed nothing: just write what was read. */
          if (!write_fully (fd, BUFFER_PAYLOAD (current), current->len, file->name, NULL))
            keep_part = FALSE;
        }
      buffer_release (current);
    }
  if (fd >= 0)
    close (fd);
  g_free (file->part_name);
  file->part_name = NULL;
  if (keep_part && part_name != NULL)
    file->part_name = g_strdup (part_name);
  else if (part_name != NULL && unlinkat (dirfd, part_name, 0) != 0)
    g_debug ("Could not remove “%s”: %s", part_name, g_strerror (errno));
  if (!keep_part)
    session_set_part (self, index, op->files->len, NULL);

  return FALSE;
}

static gboolean
receive_run (Op       *op,
             guint64  *received,
             GError  **error)
{
  FerrySession *self = op->self;
  g_autofree char *path = NULL;
  g_autoptr(JsonObject) accept = NULL;
  g_autoptr(JsonObject) verified = NULL;
  JsonArray *offsets;
  Hasher *hasher = NULL;
  Pool *pool = NULL;
  g_autofree int *resume_fds = NULL;
  Watchdog *watchdog = NULL;
  gboolean prehashed_first = FALSE;
  gboolean ok = FALSE;
  int dirfd;

  path = g_file_get_path (op->directory);
  if (path == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                           _("The download folder must be a local folder"));
      return FALSE;
    }

  /* Everything happens relative to this descriptor: whatever the names
   * and whatever happens to the path meanwhile, files land in here. */
  dirfd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    {
      set_errno_error (error, errno, _("Could not open the download folder “%s”"), path);
      return FALSE;
    }

  if (faccessat (dirfd, ".", W_OK | X_OK, AT_EACCESS) != 0)
    {
      set_errno_error (error, errno, _("Cannot write to the download folder “%s”"), path);
      goto out;
    }

  if (!check_free_space (dirfd, op->total, error))
    goto out;

  hasher = hasher_new (error);
  if (hasher == NULL)
    goto out;
  pool = pool_new (RECEIVE_CHUNK);

  resume_fds = g_new (int, op->files->len);
  for (guint i = 0; i < op->files->len; i++)
    resume_fds[i] = open_resume_part (dirfd, g_ptr_array_index (op->files, i));

  /* The first file's prefix is hashed before the accept: meanwhile the
   * sender waits for the answer, not on a stream nobody reads. (The hash
   * runs file by file, so later files hash theirs in turn.) */
  if (op->files->len > 0 && resume_fds[0] >= 0 &&
      ((FerrySessionFile *) g_ptr_array_index (op->files, 0))->offset > 0)
    {
      FerrySessionFile *first = g_ptr_array_index (op->files, 0);

      if (!hash_prefix (self, resume_fds[0], first->offset, pool, hasher, first->name, error))
        goto out;
      prehashed_first = TRUE;
    }

  accept = json_object_new ();
  json_object_set_string_member (accept, "type", "accept");
  offsets = json_array_sized_new (op->files->len);
  for (guint i = 0; i < op->files->len; i++)
    json_array_add_int_element (offsets, resume_fds[i] >= 0
                                ? (gint64) ((FerrySessionFile *) g_ptr_array_index (op->files, i))->offset
                                : 0);
  json_object_set_array_member (accept, "offsets", offsets);
  if (!session_write_control (self, accept, error))
    goto out;
  op->accepted = TRUE;
  watchdog = watchdog_new (self);

  for (guint i = 0; i < op->files->len; i++)
    {
      int fd = resume_fds[i];

      resume_fds[i] = -1;
      if (!receive_file (op, dirfd, pool, hasher, i, fd, i == 0 && prehashed_first, received, error))
        goto out;
    }

  /* Every file is verified and in place: the transfer succeeded even if
   * this last message does not reach the sender. */
  verified = json_object_new ();
  json_object_set_string_member (verified, "type", "verified");
  if (!session_write_control (self, verified, NULL))
    g_debug ("Could not confirm transfer %s", op->transfer_id);

  ok = TRUE;

out:
  watchdog_stop (watchdog);
  for (guint i = 0; resume_fds != NULL && i < op->files->len; i++)
    if (resume_fds[i] >= 0)
      close (resume_fds[i]);
  hasher_free (hasher);
  pool_free (pool);
  close (dirfd);

  return ok;
}

/* What to tell the sender when receiving failed with @error. */
static JsonObject *
receive_terminal_frame (Op      *op,
                        GError  *error)
{
  if (!op->accepted)
    {
      if (error->domain == FERRY_ERROR && error->code == FERRY_ERROR_NO_SPACE)
        return make_frame ("reject", "no-space", "Not enough free space on the receiving device");
      if (error->domain == G_IO_ERROR)
        return make_frame ("reject", "io", "The receiving device cannot store the files");
      return NULL;
    }

  if (error->domain == FERRY_ERROR)
    {
      switch (error->code)
        {
        case FERRY_ERROR_PROTOCOL:
          return make_frame ("error", "protocol", error->message);
        case FERRY_ERROR_HASH_MISMATCH:
          return make_frame ("error", "hash-mismatch", error->message);
        case FERRY_ERROR_NO_SPACE:
          return make_frame ("error", "no-space", "The receiving device ran out of space");
        case FERRY_ERROR_CANCELLED_BY_PEER:
        case FERRY_ERROR_PEER_VANISHED:
        case FERRY_ERROR_REJECTED:
          return NULL;
        case FERRY_ERROR_TIMEOUT:
          return make_frame ("cancel", NULL, "The receiver stopped waiting for data");
        default:
          break;
        }
    }

  return make_frame ("error", "io", "The receiving device could not store a file");
}

static gpointer
receive_thread (gpointer data)
{
  Op *op = data;
  FerrySession *self = op->self;
  g_autoptr(JsonObject) terminal = NULL;
  GError *error = NULL;
  guint64 received = 0;
  GTask *task;

  if (!receive_run (op, &received, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        terminal = cancelled_frame (self, &error);
      else
        terminal = receive_terminal_frame (op, error);
      session_terminate (self, terminal);
    }
  else
    session_close_stream (self);

  session_progress (self, received, op->total, TRUE);
  op_end (op);

  task = op_free (op);
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
  g_object_unref (task);

  return NULL;
}

void
_ferry_session_receive_async (FerrySession        *self,
                              GFile               *directory,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  GError *error = NULL;
  gboolean header_read;
  Op *op;

  g_return_if_fail (FERRY_IS_SESSION (self));
  g_return_if_fail (G_IS_FILE (directory));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, _ferry_session_receive_async);

  g_mutex_lock (&self->lock);
  header_read = self->header_read;
  g_mutex_unlock (&self->lock);
  if (!header_read)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED,
                               _("The offer must be read first"));
      return;
    }

  op = op_begin (self, task, ROLE_RECEIVER, cancellable, &error);
  if (op == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  op->directory = g_object_ref (directory);
  op->files = g_ptr_array_ref (self->files);
  op->transfer_id = g_strdup (self->transfer_id);
  for (guint i = 0; i < op->files->len; i++)
    op->total += ((FerrySessionFile *) g_ptr_array_index (op->files, i))->size;

  if (!op_spawn (op, "ferry-receive", receive_thread, &error))
    op_fail_to_start (op, error);
}

gboolean
_ferry_session_receive_finish (FerrySession  *self,
                               GAsyncResult  *result,
                               GError       **error)
{
  g_return_val_if_fail (FERRY_IS_SESSION (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == _ferry_session_receive_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ------------------------------------------------------------------ */
/* Reject and cancel                                                    */

void
_ferry_session_reject (FerrySession *self,
                       const char   *reason)
{
  gboolean busy;
  gboolean spawn = FALSE;

  g_return_if_fail (FERRY_IS_SESSION (self));

  g_mutex_lock (&self->lock);
  busy = self->busy;
  if (!busy && !self->done)
    {
      self->done = TRUE;
      spawn = TRUE;
    }
  g_mutex_unlock (&self->lock);

  if (busy)
    _ferry_session_cancel (self, reason);
  else if (spawn)
    session_terminate_in_thread (self, make_frame ("reject", NULL, reason ? reason : "declined"));
}

void
_ferry_session_cancel (FerrySession *self,
                       const char   *reason)
{
  gboolean running = FALSE;
  gboolean spawn = FALSE;

  g_return_if_fail (FERRY_IS_SESSION (self));

  g_mutex_lock (&self->lock);
  if (self->cancel_requested || (self->done && !self->busy))
    {
      g_mutex_unlock (&self->lock);
      return;
    }

  self->cancel_requested = TRUE;
  self->cancel_reason = g_strdup (reason ? reason : "cancelled");
  if (self->busy)
    {
      /* The operation's thread sends the frame; bound how long it may take. */
      running = TRUE;
      session_arm_reaper_locked (self);
    }
  else
    {
      self->done = TRUE;
      spawn = TRUE;
    }
  g_mutex_unlock (&self->lock);

  if (running)
    g_cancellable_cancel (self->cancellable);
  else if (spawn)
    session_terminate_in_thread (self, make_frame ("cancel", NULL, reason ? reason : "cancelled"));
}
