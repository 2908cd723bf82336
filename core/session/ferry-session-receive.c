/* ferry-session-receive.c: the receiving side of a session
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "ferry-error.h"
#include "ferry-part-file-private.h"
#include "ferry-session-receiver-private.h"
#include "ferry-session-protocol-private.h"

#define RECEIVE_CHUNK (256 * 1024)

/* ------------------------------------------------------------------ */
/* Step 1: the header                                                   */

/* Takes the header as the session's offer, unless the session was
 * cancelled meanwhile. */
static gboolean
header_publish (FerrySession        *self,
                FerryProtocolHeader *header)
{
  gboolean cancelled;

  g_mutex_lock (&self->lock);
  cancelled = self->cancel_requested;
  if (!cancelled)
    {
      self->files = g_ptr_array_ref (header->files);
      self->transfer_id = g_steal_pointer (&header->transfer_id);
      if (header->dirs->len > 0)
        self->dirs = g_ptr_array_ref (header->dirs);
      if (header->text != NULL)
        self->text = g_strdup (header->text->str);
      self->header_read = TRUE;
      self->busy = FALSE;
    }
  g_mutex_unlock (&self->lock);

  return !cancelled;
}

/* The header, over as many frames as it takes, checked as a whole. */
static FerryProtocolHeader *
read_header (FerrySession  *self,
             GError       **error)
{
  g_autoptr(GBytes) payload = _ferry_session_read_control (self, error);
  g_autoptr(FerryProtocolHeader) header = NULL;

  if (payload == NULL)
    return NULL;
  header = _ferry_protocol_parse_header (g_bytes_get_data (payload, NULL),
                                         g_bytes_get_size (payload), error);
  while (header != NULL && header->more)
    {
      g_bytes_unref (payload);
      payload = _ferry_session_read_control (self, error);
      if (payload == NULL ||
          !_ferry_protocol_parse_header_more (header, g_bytes_get_data (payload, NULL),
                                              g_bytes_get_size (payload), error))
        return NULL;
    }
  if (header == NULL || !_ferry_protocol_header_check (header, error))
    return NULL;

  return g_steal_pointer (&header);
}

static gpointer
read_header_thread (gpointer data)
{
  FerrySessionOp *op = data;
  FerrySession *self = op->self;
  g_autoptr(JsonObject) terminal = NULL;
  g_autoptr(FerryProtocolHeader) header = NULL;
  GError *error = NULL;
  GTask *task;

  header = read_header (self, &error);

  _ferry_session_op_disconnect (op);

  if (header != NULL)
    {
      if (header_publish (self, header))
        {
          task = _ferry_session_op_free (op);
          g_task_return_pointer (task, g_steal_pointer (&header->files),
                                 (GDestroyNotify) g_ptr_array_unref);
          g_object_unref (task);
          return NULL;
        }

      g_set_error_literal (&error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "");
    }

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    terminal = _ferry_session_cancelled_frame (self, &error);
  else if (g_error_matches (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL))
    terminal = _ferry_protocol_build_frame ("reject", "protocol", error->message);

  _ferry_session_terminate (self, terminal);
  _ferry_session_op_end (op);

  task = _ferry_session_op_free (op);
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
  FerrySessionOp *op;

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

  op = _ferry_session_op_begin (self, task, FERRY_SESSION_ROLE_RECEIVER, cancellable, &error);
  if (op == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  _ferry_session_op_spawn (op, "ferry-header", read_header_thread);
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
/* Step 2: the data                                                     */

typedef FerryReceiver Receiver;

/* A file this small is not synced on its own: the file system is, once,
 * before the transfer is acknowledged. */
#define SYNC_EACH_MIN (4 * 1024 * 1024)

/* Opens where file @index goes: its resumed .part (hashed before the
 * accept), or a fresh one. */
static int
receive_open (Receiver   *receiver,
              guint       index,
              char      **part_name,
              GError    **error)
{
  FerrySessionOp *op = receiver->op;
  FerrySessionFile *file = g_ptr_array_index (op->files, index);
  int fd = receiver->resume_fds[index];

  receiver->resume_fds[index] = -1;
  g_clear_pointer (&receiver->whole, g_free);
  receiver->fdir = receiver->dirfd;
  if (file->dir != NULL &&
      (receiver->fdir = _ferry_folder_writer_open (receiver->folders, file->dir, error)) < 0)
    return -1;
  if (fd >= 0)
    *part_name = file->part_name ? g_path_get_basename (file->part_name) : NULL;
  else
    {
      fd = _ferry_part_file_create (receiver->fdir, file->name, part_name, error);
      if (fd < 0)
        return -1;
      file->offset = 0;
    }
  {
    g_autofree char *recorded = _ferry_receiver_record_name (receiver, file, *part_name);

    _ferry_session_set_part (op->self, index, op->files->len, recorded);
  }

  if (file->offset > 0 && !_ferry_part_file_seek (fd, file->offset, file->name, error))
    return fd;   /* with @error set */

  _ferry_disk_writer_begin (receiver->writer, fd, file->name, file->size, file->offset);
  receiver->index = index;
  receiver->position = file->offset;
  receiver->received += file->offset;
  return fd;
}

/* Reads the payload of a data frame of @length bytes into the pool's
 * buffers; a full buffer, and the last one of the file, is written and
 * hashed. */
static gboolean
receive_data (Receiver          *receiver,
              int                fd,
              FerrySessionFile  *file,
              guint32            length,
              guint64            remaining,
              GError           **error)
{
  FerrySession *self = receiver->op->self;
  gsize capacity = _ferry_pool_get_capacity (receiver->pool);

  while (length > 0)
    {
      FerryBuffer *current;
      gsize n;

      if (receiver->current == NULL)
        receiver->current = _ferry_pool_take (receiver->pool);
      current = receiver->current;

      n = MIN ((gsize) length, capacity - current->len);
      if (!_ferry_session_read_exact (self, FERRY_BUFFER_PAYLOAD (current) + current->len, n, error))
        return FALSE;

      current->len += n;
      length -= n;
      receiver->received += n;
      _ferry_session_add_moved (self, n);

      if (current->len == capacity || (length == 0 && remaining == 0))
        {
          receiver->current = NULL;
          /* many small files: a hand-off each would cost more than the hash */
          if (receiver->position == 0 && current->len == file->size)
            receiver->whole = _ferry_hash_share_digest_whole (receiver->hashes, receiver->index,
                                                              current, receiver->small);
          else
            _ferry_hash_share_push (receiver->hashes, receiver->index, receiver->position, current);
          receiver->position += current->len;
          if (!_ferry_disk_writer_push (receiver->writer, current, error))
            return FALSE;
        }
    }

  return TRUE;
}

/* Reads the frames of file @index up to its end; returns the digest the
 * sender announced. */
static char *
receive_frames (Receiver  *receiver,
                int        fd,
                guint      index,
                GError   **error)
{
  FerrySessionOp *op = receiver->op;
  FerrySessionFile *file = g_ptr_array_index (op->files, index);
  guint64 remaining = file->size - file->offset;
  char *expected = NULL;

  while (expected == NULL)
    {
      FerryFrameType type;
      guint32 length;

      if (!_ferry_session_read_frame_header (op->self, &type, &length, error))
        return NULL;

      if (type == FERRY_FRAME_CONTROL)
        {
          g_autoptr(GBytes) payload = _ferry_session_read_payload (op->self, length, error);

          if (payload == NULL)
            return NULL;
          expected = _ferry_protocol_parse_end (g_bytes_get_data (payload, NULL),
                                                g_bytes_get_size (payload), index,
                                                file->name, error);
          if (expected == NULL)
            return NULL;
          continue;
        }

      if (length > remaining)
        {
          g_set_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                       _("The peer sent more data than announced for “%s”"), file->name);
          return NULL;
        }
      remaining -= length;
      if (!receive_data (receiver, fd, file, length, remaining, error))
        return NULL;
      _ferry_session_progress (op->self, receiver->received, op->total, FALSE);
    }

  if (remaining != 0)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                   _("The peer sent less data than announced for “%s”"), file->name);
      g_free (expected);
      return NULL;
    }

  return expected;
}

/* A file an earlier attempt verified, hashed again: it stays as it is. */
static gboolean
verify_done (Receiver    *receiver,
             int          fd,
             guint        index,
             char        *digest,
             gboolean     matches,
             GError     **error)
{
  FerrySessionOp *op = receiver->op;
  FerrySessionFile *file = g_ptr_array_index (op->files, index);

  _ferry_part_file_close (fd, file->name, NULL);
  if (!matches)
    {
      g_free (digest);
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_HASH_MISMATCH,
                   _("“%s” changed since it was received: its SHA3-256 does not match"), file->name);
      return FALSE;
    }
  g_clear_object (&file->destination);
  file->destination = g_file_resolve_relative_path (op->directory, file->done_name);
  g_free (file->sha3_256);
  file->sha3_256 = digest;
  _ferry_session_set_done (op->self, index, op->files->len, file->done_name, file->sha3_256);
  return TRUE;
}

/* Checks the whole file against @expected and gives it its final name.
 * Closes @fd in any case. */
static gboolean
receive_verify (Receiver    *receiver,
                int          fd,
                guint        index,
                const char  *part_name,
                const char  *expected,
                GError     **error)
{
  FerrySessionOp *op = receiver->op;
  FerrySessionFile *file = g_ptr_array_index (op->files, index);
  g_autofree char *digest = receiver->whole ? g_steal_pointer (&receiver->whole)
                                            : _ferry_hash_share_digest (receiver->hashes, index, file->size);
  g_autofree char *final_name = NULL;
  g_autofree char *recorded = NULL;
  gboolean matches = g_str_equal (digest, expected);

  if (!_ferry_disk_writer_finish (receiver->writer, error))
    {
      _ferry_part_file_close (fd, file->name, NULL);
      return FALSE;
    }
  if (file->done_name != NULL)
    return verify_done (receiver, fd, index, g_steal_pointer (&digest), matches, error);
  if (file->executable || file->mtime > 0)
    _ferry_folder_set_attributes (fd, file->executable, file->mtime);
  /* Durable before verified: the data, then (before the sender hears
   * "verified", see receive_run()) the new name; many small files are
   * synced together there. */
  if (matches && file->size < SYNC_EACH_MIN)
    receiver->unsynced = TRUE;
  else if (matches && !_ferry_part_file_sync (fd, file->name, error))
    {
      _ferry_part_file_close (fd, file->name, NULL);
      return FALSE;
    }
  if (!_ferry_part_file_close (fd, file->name, error))
    return FALSE;

  if (!matches)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_HASH_MISMATCH,
                   _("“%s” arrived corrupted: its SHA3-256 does not match"), file->name);
      return FALSE;
    }

  final_name = _ferry_part_file_publish (receiver->fdir, part_name, file->name, error);
  if (final_name == NULL)
    return FALSE;

  recorded = _ferry_receiver_record_name (receiver, file, final_name);
  g_clear_object (&file->destination);
  file->destination = g_file_resolve_relative_path (op->directory, recorded);
  g_free (file->sha3_256);
  file->sha3_256 = g_steal_pointer (&digest);
  g_clear_pointer (&file->part_name, g_free);
  _ferry_session_set_part (op->self, index, op->files->len, NULL);
  _ferry_session_set_done (op->self, index, op->files->len, recorded, file->sha3_256);

  return TRUE;
}

/* An interrupted transfer keeps what arrived, for a resume; anything
 * else (a cancel, a corrupted file, a protocol error) removes it. */
static void
receive_failed (Receiver     *receiver,
                int           fd,
                guint         index,
                const char   *part_name,
                const GError *error)
{
  FerrySessionOp *op = receiver->op;
  FerrySessionFile *file = g_ptr_array_index (op->files, index);
  gboolean keep_part;

  keep_part = op->self->keep_parts && file->done_name == NULL && error != NULL && error->domain == FERRY_ERROR &&
              (error->code == FERRY_ERROR_PEER_VANISHED || error->code == FERRY_ERROR_TIMEOUT);
  /* what was pushed is on the disk, or the .part has a hole */
  if (!_ferry_disk_writer_finish (receiver->writer, NULL))
    keep_part = FALSE;
  if (receiver->current != NULL)
    {
      FerryBuffer *current = g_steal_pointer (&receiver->current);

      /* Already hashed nothing: just write what was read. */
      if (keep_part && current->len > 0 &&
          !_ferry_part_file_write (fd, FERRY_BUFFER_PAYLOAD (current), current->len,
                                   file->name, NULL))
        keep_part = FALSE;
      _ferry_buffer_release (current);
    }
  if (fd >= 0)
    _ferry_part_file_close (fd, file->name, NULL);
  g_clear_pointer (&file->part_name, g_free);
  if (keep_part && part_name != NULL)
    file->part_name = _ferry_receiver_record_name (receiver, file, part_name);
  else if (part_name != NULL)
    _ferry_part_file_remove (receiver->fdir, part_name);
  if (!keep_part)
    _ferry_session_set_part (op->self, index, op->files->len, NULL);
}

static gboolean
receive_file (Receiver  *receiver,
              guint      index,
              GError   **error)
{
  g_autofree char *part_name = NULL;
  g_autofree char *expected = NULL;
  GError *local_error = NULL;
  int fd;

  fd = receive_open (receiver, index, &part_name, &local_error);
  if (fd < 0)
    {
      /* no .part was created */
      g_propagate_error (error, local_error);
      return FALSE;
    }
  if (local_error == NULL)
    expected = receive_frames (receiver, fd, index, &local_error);
  if (expected != NULL)
    {
      int closing = fd;

      fd = -1;   /* closed in any case */
      if (receive_verify (receiver, closing, index, part_name, expected, &local_error))
        return TRUE;
    }

  receive_failed (receiver, fd, index, part_name, local_error);
  g_propagate_error (error, local_error);
  return FALSE;
}

/* Before the accept: the folder, its free space, the .part files to
 * continue. */
static gboolean
receive_prepare (Receiver  *receiver,
                 GError   **error)
{
  FerrySessionOp *op = receiver->op;

  if (op->directory == NULL && op->files->len == 0 && op->dirs == NULL)
    return TRUE;   /* a text */
  if (op->directory == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           _("No download folder"));
      return FALSE;
    }
  receiver->dirfd = _ferry_part_file_open_directory (op->directory, error);
  if (receiver->dirfd < 0 || !_ferry_part_file_check_space (receiver->dirfd, op->total, error))
    return FALSE;
  if (op->dirs != NULL)
    {
      g_autoptr(GHashTable) resumed = _ferry_receiver_resumed_tops (op->files);

      receiver->folders = _ferry_folder_writer_new (receiver->dirfd, op->dirs, resumed, error);
      if (receiver->folders == NULL)
        return FALSE;
    }

  receiver->hashes = _ferry_hash_share_new ();
  if (!_ferry_hash_share_start (receiver->hashes, error))
    {
      g_clear_pointer (&receiver->hashes, _ferry_hash_share_unref);
      return FALSE;
    }
  receiver->pool = _ferry_pool_new (RECEIVE_CHUNK);
  receiver->writer = _ferry_disk_writer_new ();
  receiver->small = _ferry_hasher_new ();

  return _ferry_receiver_open_resumed (receiver, error);
}

static gboolean
receive_accept (Receiver  *receiver,
                GError   **error)
{
  FerrySessionOp *op = receiver->op;
  g_autofree guint64 *offsets = g_new0 (guint64, op->files->len);
  g_autoptr(JsonObject) accept = NULL;

  for (guint i = 0; i < op->files->len; i++)
    if (receiver->resume_fds[i] >= 0)
      offsets[i] = ((FerrySessionFile *) g_ptr_array_index (op->files, i))->offset;
  accept = _ferry_protocol_build_accept (offsets, op->files->len);

  return _ferry_session_write_control (op->self, accept, error);
}

static void
receiver_clear (Receiver *receiver)
{
  for (guint i = 0; receiver->resume_fds != NULL && i < receiver->op->files->len; i++)
    if (receiver->resume_fds[i] >= 0)
      _ferry_part_file_close (receiver->resume_fds[i], "", NULL);
  g_clear_pointer (&receiver->resume_fds, g_free);
  if (receiver->hashes != NULL)
    _ferry_hash_share_stop (receiver->hashes);
  g_clear_pointer (&receiver->hashes, _ferry_hash_share_unref);
  g_clear_pointer (&receiver->folders, _ferry_folder_writer_free);
  g_clear_pointer (&receiver->pool, _ferry_pool_free);
  g_clear_pointer (&receiver->writer, _ferry_disk_writer_free);
  g_clear_pointer (&receiver->small, _ferry_hasher_free);
  g_clear_pointer (&receiver->whole, g_free);
  if (receiver->dirfd >= 0)
    _ferry_part_file_close (receiver->dirfd, "", NULL);
  receiver->dirfd = -1;
}

static gboolean
receive_run (Receiver  *receiver,
             GError   **error)
{
  FerrySessionOp *op = receiver->op;
  g_autoptr(JsonObject) verified = NULL;
  FerryWatchdog *watchdog = NULL;
  gboolean ok = FALSE;

  if (!receive_prepare (receiver, error) || !receive_accept (receiver, error))
    goto out;
  op->accepted = TRUE;
  watchdog = _ferry_session_watchdog_new (op->self);

  for (guint i = 0; i < op->files->len; i++)
    if (!receive_file (receiver, i, error))
      goto out;

  /* Every file is verified, on the disk and in place: the transfer
   * succeeded even if this last message does not reach the sender. */
  if (receiver->folders != NULL &&
      !_ferry_folder_writer_finish (receiver->folders, error))
    goto out;
  /* Nothing is acknowledged before it is on disk: one flush for all. */
  if (receiver->dirfd >= 0 &&
      !(receiver->unsynced || receiver->folders != NULL
          ? _ferry_part_file_sync_all (receiver->dirfd, error)
          : _ferry_part_file_sync_directory (receiver->dirfd, error)))
    goto out;

  verified = _ferry_protocol_build_verified ();
  if (!_ferry_session_write_control (op->self, verified, NULL))
    g_debug ("Could not confirm transfer %s", op->transfer_id);

  ok = TRUE;

out:
  _ferry_session_watchdog_stop (watchdog);
  receiver_clear (receiver);
  return ok;
}

/* What to tell the sender when receiving failed with @error. */
static JsonObject *
receive_terminal_frame (FerrySessionOp *op,
                        GError         *error)
{
  if (!op->accepted)
    {
      if (error->domain == FERRY_ERROR && error->code == FERRY_ERROR_NO_SPACE)
        return _ferry_protocol_build_frame ("reject", "no-space", "Not enough free space on the receiving device");
      if (error->domain == G_IO_ERROR)
        return _ferry_protocol_build_frame ("reject", "io", "The receiving device cannot store the files");
      return NULL;
    }

  if (error->domain == FERRY_ERROR)
    {
      switch (error->code)
        {
        case FERRY_ERROR_PROTOCOL:
          return _ferry_protocol_build_frame ("error", "protocol", error->message);
        case FERRY_ERROR_HASH_MISMATCH:
          return _ferry_protocol_build_frame ("error", "hash-mismatch", error->message);
        case FERRY_ERROR_NO_SPACE:
          return _ferry_protocol_build_frame ("error", "no-space", "The receiving device ran out of space");
        case FERRY_ERROR_CANCELLED_BY_PEER:
        case FERRY_ERROR_PEER_VANISHED:
        case FERRY_ERROR_REJECTED:
          return NULL;
        case FERRY_ERROR_TIMEOUT:
          return _ferry_protocol_build_frame ("cancel", NULL, "The receiver stopped waiting for data");
        default:
          break;
        }
    }

  return _ferry_protocol_build_frame ("error", "io", "The receiving device could not store a file");
}

static gpointer
receive_thread (gpointer data)
{
  FerrySessionOp *op = data;
  FerrySession *self = op->self;
  Receiver receiver = { .op = op, .dirfd = -1, .fdir = -1 };
  g_autoptr(JsonObject) terminal = NULL;
  GError *error = NULL;

  if (!receive_run (&receiver, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        terminal = _ferry_session_cancelled_frame (self, &error);
      else
        terminal = receive_terminal_frame (op, error);
      _ferry_session_terminate (self, terminal);
    }
  else
    _ferry_session_close_stream (self);

  _ferry_session_progress (self, receiver.received, op->total, TRUE);
  _ferry_session_op_complete (op, error);

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
  FerrySessionOp *op;

  g_return_if_fail (FERRY_IS_SESSION (self));
  g_return_if_fail (directory == NULL || G_IS_FILE (directory));
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

  op = _ferry_session_op_begin (self, task, FERRY_SESSION_ROLE_RECEIVER, cancellable, &error);
  if (op == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  /* The worker fills in copies (the .part names, the digests, the final
   * files); the session's files change on its context only, when the
   * operation completes, so that they may be read there at any time,
   * e.g. right after _ferry_session_cancel(). */
  op->directory = directory ? g_object_ref (directory) : NULL;
  g_mutex_lock (&self->lock);
  _ferry_session_op_set_files (op, self->files);
  op->dirs = self->dirs ? g_ptr_array_ref (self->dirs) : NULL;
  op->transfer_id = g_strdup (self->transfer_id);
  g_mutex_unlock (&self->lock);
  for (guint i = 0; i < op->files->len; i++)
    op->total += ((FerrySessionFile *) g_ptr_array_index (op->files, i))->size;

  _ferry_session_op_spawn (op, "ferry-receive", receive_thread);
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
