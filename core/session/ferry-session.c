/* ferry-session.c: the session protocol over a secure stream
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The session object: its lifecycle, its signals (always on its context),
 * its operations and their threads, reject and cancel. Sending, receiving,
 * the messages, the .part files, hashing and the deadlines live in the
 * other files of this folder.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "ferry-error.h"
#include "ferry-session-internal.h"
#include "ferry-session-protocol-private.h"

#define PROGRESS_INTERVAL_US  (100 * 1000)

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
_ferry_session_dir_free (FerrySessionDir *dir)
{
  if (dir == NULL)
    return;

  g_free (dir->path);
  g_free (dir);
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
  g_free (file->done_name);
  g_free (file->expected_sha3);
  g_free (file->dir);
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
  g_clear_pointer (&self->dirs, g_ptr_array_unref);
  g_clear_pointer (&self->text, g_free);
  g_clear_pointer (&self->parts, g_strfreev);
  g_clear_pointer (&self->verified, g_strfreev);
  g_clear_pointer (&self->verified_sha3, g_strfreev);
  g_clear_pointer (&self->group, _ferry_session_group_unref);
  g_clear_pointer (&self->hash_share, _ferry_hash_share_unref);
  g_clear_pointer (&self->rate_limit, _ferry_rate_limit_unref);
  if (self->reaper != NULL)
    {
      g_source_destroy (self->reaper);
      g_source_unref (self->reaper);
    }
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

void
_ferry_session_add_moved (FerrySession *self,
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

char **
_ferry_session_dup_done (FerrySession *self)
{
  char **done;

  g_return_val_if_fail (FERRY_IS_SESSION (self), NULL);

  g_mutex_lock (&self->lock);
  done = self->verified ? g_strdupv (self->verified) : g_new0 (char *, 1);
  g_mutex_unlock (&self->lock);
  return done;
}

char **
_ferry_session_dup_done_digests (FerrySession *self)
{
  char **digests;

  g_return_val_if_fail (FERRY_IS_SESSION (self), NULL);

  g_mutex_lock (&self->lock);
  digests = self->verified_sha3 ? g_strdupv (self->verified_sha3) : g_new0 (char *, 1);
  g_mutex_unlock (&self->lock);
  return digests;
}

/* Sets entry @index of a list of @n_files names, under the lock. */
static void
names_set (char       ***names,
           guint         index,
           guint         n_files,
           const char   *name)
{
  if (*names == NULL)
    {
      *names = g_new0 (char *, n_files + 1);
      for (guint i = 0; i < n_files; i++)
        (*names)[i] = g_strdup ("");
    }
  if (index < n_files)
    {
      g_free ((*names)[index]);
      (*names)[index] = g_strdup (name ? name : "");
    }
}

void
_ferry_session_set_part (FerrySession *self,
                         guint         index,
                         guint         n_files,
                         const char   *part_name)
{
  g_mutex_lock (&self->lock);
  names_set (&self->parts, index, n_files, part_name);
  g_mutex_unlock (&self->lock);
}

void
_ferry_session_set_done (FerrySession *self,
                         guint         index,
                         guint         n_files,
                         const char   *path,
                         const char   *sha3_256)
{
  g_mutex_lock (&self->lock);
  names_set (&self->verified, index, n_files, path);
  names_set (&self->verified_sha3, index, n_files, sha3_256);
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

void
_ferry_session_emit_accepted (FerrySession *self)
{
  session_invoke (self, emit_accepted_cb);
}

void
_ferry_session_progress (FerrySession *self,
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
/* Reject and cancel outside of an operation: a thread sends the frame  */

typedef struct {
  FerrySession *self;
  JsonObject   *frame;
} TerminateJob;

static gpointer
terminate_thread (gpointer data)
{
  TerminateJob *job = data;

  _ferry_session_terminate (job->self, job->frame);
  _ferry_session_stop_reaper (job->self);

  json_object_unref (job->frame);
  g_object_unref (job->self);
  g_free (job);

  return NULL;
}

/* Never blocks the caller. */
static void
session_terminate_in_thread (FerrySession *self,
                             JsonObject   *frame)
{
  TerminateJob *job = g_new0 (TerminateJob, 1);
  GThread *thread;

  job->self = g_object_ref (self);
  job->frame = frame;
  thread = _ferry_session_thread_new (self, "ferry-session-end", terminate_thread, job, NULL);
  if (thread != NULL)
    g_thread_unref (thread);
  else
    terminate_thread (job);
}

/* ------------------------------------------------------------------ */
/* Operations                                                           */

static void
user_cancelled_cb (GCancellable *cancellable,
                   gpointer      data)
{
  _ferry_session_cancel (FERRY_SESSION (data), NULL);
}

static gboolean
op_check_state (FerrySession      *self,
                FerrySessionRole   role,
                GError           **error)
{
  if (self->done)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CLOSED,
                         _("The session is closed"));
  else if (self->busy)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_PENDING,
                         _("The session is busy"));
  else if (self->role != FERRY_SESSION_ROLE_NONE && self->role != role)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                         _("A session either sends or receives"));
  else
    return TRUE;

  return FALSE;
}

FerrySessionOp *
_ferry_session_op_begin (FerrySession      *self,
                         GTask             *task,
                         FerrySessionRole   role,
                         GCancellable      *cancellable,
                         GError           **error)
{
  FerrySessionOp *op;

  g_mutex_lock (&self->lock);
  if (!op_check_state (self, role, error))
    {
      g_mutex_unlock (&self->lock);
      return NULL;
    }
  self->role = role;
  self->busy = TRUE;
  g_mutex_unlock (&self->lock);

  op = g_new0 (FerrySessionOp, 1);
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

void
_ferry_session_op_disconnect (FerrySessionOp *op)
{
  if (op->user_cancellable != NULL)
    {
      g_cancellable_disconnect (op->user_cancellable, op->user_handler);
      op->user_handler = 0;
      g_clear_object (&op->user_cancellable);
    }
}

/* Frees everything but the task, which the caller returns and drops. */
GTask *
_ferry_session_op_free (FerrySessionOp *op)
{
  GTask *task = op->task;

  _ferry_session_op_disconnect (op);
  g_free (op->transfer_id);
  g_clear_pointer (&op->dirs, g_ptr_array_unref);
  g_free (op->text);
  g_clear_pointer (&op->files, g_ptr_array_unref);
  g_clear_pointer (&op->shared, g_ptr_array_unref);
  g_clear_object (&op->directory);
  g_clear_error (&op->reader_error);
  g_mutex_clear (&op->lock);
  g_cond_clear (&op->cond);
  g_free (op);

  return task;
}

/* The session is finished: no further operation. */
void
_ferry_session_op_end (FerrySessionOp *op)
{
  FerrySession *self = op->self;

  _ferry_session_op_disconnect (op);

  g_mutex_lock (&self->lock);
  self->busy = FALSE;
  self->done = TRUE;
  g_mutex_unlock (&self->lock);

  _ferry_session_stop_reaper (self);
}

static FerrySessionFile *
file_copy (const FerrySessionFile *file)
{
  FerrySessionFile *copy = _ferry_session_file_new (file->name, file->size, file->mime_type);

  copy->source = file->source ? g_object_ref (file->source) : NULL;
  copy->destination = file->destination ? g_object_ref (file->destination) : NULL;
  copy->sha3_256 = g_strdup (file->sha3_256);
  copy->part_name = g_strdup (file->part_name);
  copy->done_name = g_strdup (file->done_name);
  copy->offset = file->offset;
  copy->expected_sha3 = g_strdup (file->expected_sha3);
  copy->dir = g_strdup (file->dir);
  copy->executable = file->executable;
  copy->mtime = file->mtime;

  return copy;
}

/* The fields an operation fills in. */
static void
file_publish (FerrySessionFile *to,
              FerrySessionFile *from)
{
  g_set_object (&to->destination, from->destination);
  g_free (to->sha3_256);
  to->sha3_256 = g_strdup (from->sha3_256);
  g_free (to->part_name);
  to->part_name = g_strdup (from->part_name);
  to->offset = from->offset;
}

void
_ferry_session_op_set_files (FerrySessionOp *op,
                             GPtrArray      *files)
{
  op->shared = g_ptr_array_ref (files);
  op->files = g_ptr_array_new_full (files->len, (GDestroyNotify) _ferry_session_file_free);
  for (guint i = 0; i < files->len; i++)
    g_ptr_array_add (op->files, file_copy (g_ptr_array_index (files, i)));
}

typedef struct {
  FerrySessionOp *op;
  GError         *error;
} Completion;

static gboolean
complete_cb (gpointer data)
{
  Completion *completion = data;
  FerrySessionOp *op = completion->op;
  GTask *task;

  for (guint i = 0; op->shared != NULL && i < op->shared->len && i < op->files->len; i++)
    file_publish (g_ptr_array_index (op->shared, i), g_ptr_array_index (op->files, i));

  task = _ferry_session_op_free (op);
  if (completion->error != NULL)
    g_task_return_error (task, completion->error);
  else
    g_task_return_boolean (task, TRUE);
  g_object_unref (task);
  g_free (completion);

  return G_SOURCE_REMOVE;
}

void
_ferry_session_op_complete (FerrySessionOp *op,
                            GError         *error)
{
  FerrySession *self = op->self;
  Completion *completion = g_new0 (Completion, 1);
  GSource *source = g_idle_source_new ();

  _ferry_session_op_end (op);

  completion->op = op;
  completion->error = error;
  /* The task holds the session until the source ran. */
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, complete_cb, completion, NULL);
  g_source_set_static_name (source, "[ferry] session result");
  g_source_attach (source, self->context);
  g_source_unref (source);
}

void
_ferry_session_op_spawn (FerrySessionOp *op,
                         const char     *name,
                         GThreadFunc     func)
{
  GError *error = NULL;
  GThread *thread = _ferry_session_thread_new (op->self, name, func, op, &error);
  GTask *task;

  if (thread != NULL)
    {
      g_thread_unref (thread);
      return;
    }

  /* Without a thread the session cannot go on at all. */
  _ferry_session_op_end (op);
  _ferry_session_close_stream (op->self);

  task = _ferry_session_op_free (op);
  g_task_return_error (task, error);
  g_object_unref (task);
}

/* The error and the frame to send when the user cancelled. */
JsonObject *
_ferry_session_cancelled_frame (FerrySession  *self,
                                GError       **error)
{
  g_autofree char *reason = NULL;

  g_mutex_lock (&self->lock);
  reason = g_strdup (self->cancel_reason);
  g_mutex_unlock (&self->lock);

  g_clear_error (error);
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                       _("The transfer was cancelled"));

  return _ferry_protocol_build_frame ("cancel", NULL, reason ? reason : "cancelled");
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
    session_terminate_in_thread (self, _ferry_protocol_build_frame ("reject", NULL, reason ? reason : "declined"));
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
      _ferry_session_arm_reaper_locked (self);
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
    session_terminate_in_thread (self, _ferry_protocol_build_frame ("cancel", NULL, reason ? reason : "cancelled"));
}

void
_ferry_session_set_directories (FerrySession *self,
                                GPtrArray    *dirs)
{
  g_return_if_fail (FERRY_IS_SESSION (self));

  g_mutex_lock (&self->lock);
  g_clear_pointer (&self->dirs, g_ptr_array_unref);
  if (dirs != NULL && dirs->len > 0)
    self->dirs = g_ptr_array_ref (dirs);
  g_mutex_unlock (&self->lock);
}

GPtrArray *
_ferry_session_get_directories (FerrySession *self)
{
  g_return_val_if_fail (FERRY_IS_SESSION (self), NULL);

  return self->dirs;
}

void
_ferry_session_set_text (FerrySession *self,
                         const char   *text)
{
  g_return_if_fail (FERRY_IS_SESSION (self));

  g_mutex_lock (&self->lock);
  g_free (self->text);
  self->text = g_strdup (text);
  g_mutex_unlock (&self->lock);
}

const char *
_ferry_session_get_text (FerrySession *self)
{
  g_return_val_if_fail (FERRY_IS_SESSION (self), NULL);

  return self->text;
}
