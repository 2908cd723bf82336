/* ferry-session-send.c: the sending side of a session
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "ferry-error.h"
#include "ferry-session-internal.h"
#include "ferry-session-protocol-private.h"

#define SEND_CHUNK         (256 * 1024)
#define READER_GRACE_US    (2 * G_USEC_PER_SEC)
#define KEEPALIVE_EVERY_US (G_USEC_PER_SEC / 4)

/* The worker's state while it sends the files. */
typedef struct {
  FerrySessionOp  *op;
  FerryHashShare  *hashes;         /* maybe shared with other sessions */
  FerryShareCursor *cursor;        /* where this session is, in @hashes */
  guint            index;          /* of the file being sent */
  FerryHasher     *small;          /* for files of one chunk, hashed here */
  char            *whole;          /* the digest of such a file */
  guint64          position;       /* of the file's input stream */
  gboolean         seekable;       /* the stream: may skip what others read */
  guint64          sent;           /* bytes read (and hashed) so far */
  gint64           keepalive_us;   /* when the last keepalive went out */
  FerryRateLimit  *limit;          /* paces the data frames (NULL: none) */
  JsonObject      *terminal;       /* the frame that ends the transfer, if any */
} Sender;

/* How sending a chunk or a file went. */
typedef enum {
  SEND_DONE,
  SEND_STOPPED,       /* the reader saw the end of the transfer first */
  SEND_READ_FAILED,   /* reading the file failed (error set) */
  SEND_WRITE_FAILED,  /* writing to the peer failed (error set) */
  SEND_CHANGED,       /* the file is not what was announced */
} SendStatus;

/* ------------------------------------------------------------------ */
/* The reader: waits for the receiver's final word                      */

static gpointer
reader_thread (gpointer data)
{
  FerrySessionOp *op = data;
  FerrySession *self = op->self;
  g_autoptr(GBytes) payload = NULL;
  GError *error = NULL;
  gboolean from_peer = FALSE;

  payload = _ferry_session_read_control (self, &error);
  if (payload != NULL)
    {
      from_peer = TRUE;
      if (_ferry_protocol_parse_verdict (g_bytes_get_data (payload, NULL),
                                         g_bytes_get_size (payload), &error) &&
          !g_atomic_int_get (&op->all_sent))
        g_set_error_literal (&error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                             _("The peer confirmed the transfer before it was complete"));
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
    _ferry_session_arm_reaper (self);

  return NULL;
}

/* Waits for the reader, at most @timeout_us (-1: no limit) before
 * interrupting its read. */
static void
join_reader (FerrySessionOp *op,
             gint64          timeout_us)
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

/* ------------------------------------------------------------------ */
/* The files                                                            */

/* A chunk the receiver already holds was hashed, not sent: that is
 * neither the peer's silence nor ours. */
static gboolean
skipped_chunk (Sender  *sender,
               GError **error)
{
  FerrySession *self = sender->op->self;

  _ferry_session_touch (self);
  /* The receiver waits meanwhile: an empty data frame tells it the
   * sender is alive. */
  if (g_get_monotonic_time () - sender->keepalive_us < KEEPALIVE_EVERY_US)
    return TRUE;

  sender->keepalive_us = g_get_monotonic_time ();
  return _ferry_session_write_keepalive (self, error);
}

/* ------------------------------------------------------------------ */
/* Pacing                                                               */

/* Waits until @deadline of the monotonic clock; sooner, on a cancel
 * (SEND_WRITE_FAILED with G_IO_ERROR_CANCELLED) or when the reader saw the
 * end of the transfer (SEND_STOPPED). The reader thread wakes it in both
 * cases: it signals the operation's condition when its read ends, and a
 * cancel ends that read (self->cancellable). Holds only the operation's
 * lock, which the wait releases. */
static SendStatus
pace_wait (Sender  *sender,
           gint64   deadline,
           GError **error)
{
  FerrySessionOp *op = sender->op;
  GCancellable *cancellable = op->self->cancellable;
  gboolean stopped = FALSE;

  g_mutex_lock (&op->lock);
  while (!(stopped = op->reader_done) && !g_cancellable_is_cancelled (cancellable) &&
         g_get_monotonic_time () < deadline)
    g_cond_wait_until (&op->cond, &op->lock, deadline);
  g_mutex_unlock (&op->lock);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return SEND_WRITE_FAILED;
  return stopped ? SEND_STOPPED : SEND_DONE;
}

/* Writes the chunk in @buffer as data frames, paced to the rate limit:
 * in pieces of at most the bucket's burst, each once the bucket allows. */
static SendStatus
write_paced (Sender       *sender,
             FerryBuffer  *buffer,
             GError      **error)
{
  FerrySession *self = sender->op->self;
  gsize piece;

  if (sender->limit == NULL)
    {
      if (!_ferry_session_write_data (self, buffer, error))
        return SEND_WRITE_FAILED;
      _ferry_session_add_moved (self, buffer->len);
      return SEND_DONE;
    }

  piece = MAX (_ferry_rate_limit_get_burst (sender->limit), 1);
  for (gsize offset = 0; offset < buffer->len; offset += piece)
    {
      gsize n = MIN (piece, buffer->len - offset);
      SendStatus status = pace_wait (sender, _ferry_rate_limit_reserve (sender->limit, n), error);
      gboolean ok;

      if (status != SEND_DONE)
        return status;
      if (n == buffer->len)
        ok = _ferry_session_write_data (self, buffer, error);
      else
        ok = _ferry_session_write_data_part (self, buffer, offset, n, error);
      if (!ok)
        return SEND_WRITE_FAILED;
      _ferry_session_add_moved (self, n);
      /* slow rates: the progress moves with the pieces */
      if (offset + n < buffer->len)
        _ferry_session_progress (self, sender->sent + offset + n, sender->op->total, FALSE);
    }

  return SEND_DONE;
}

/* ------------------------------------------------------------------ */
/* Reading                                                              */

/* Reads @want bytes from @done of the file into a buffer of the share
 * (where the other sessions of a fan-out find them), and queues them
 * for hashing. */
static SendStatus
read_chunk (Sender        *sender,
            GInputStream  *input,
            guint64        done,
            gsize          want,
            gboolean       whole,
            FerryBuffer  **out,
            GError       **error)
{
  GCancellable *cancellable = sender->op->self->cancellable;
  FerryBuffer *buffer;
  gsize got = 0;

  if (sender->position != done)
    {
      if (!g_seekable_seek (G_SEEKABLE (input), (goffset) done, G_SEEK_SET, cancellable, error))
        return SEND_READ_FAILED;
      sender->position = done;
    }

  buffer = _ferry_hash_share_take (sender->hashes, SEND_CHUNK);
  if (!g_input_stream_read_all (input, FERRY_BUFFER_PAYLOAD (buffer), want, &got,
                                cancellable, error))
    {
      _ferry_buffer_release (buffer);
      return SEND_READ_FAILED;
    }
  sender->position += got;
  if (got < want)
    {
      _ferry_buffer_release (buffer);
      return SEND_CHANGED;
    }

  buffer->len = got;
  /* written once: the sessions of a fan-out may send the buffer at once */
  _ferry_frame_write_header (buffer->mem, FERRY_FRAME_DATA, (guint32) got);
  /* many small files: a hand-off each would cost more than the hash */
  if (whole)
    sender->whole = _ferry_hash_share_digest_whole (sender->hashes, sender->index, buffer, sender->small);
  else
    _ferry_hash_share_push (sender->hashes, sender->index, done, buffer);
  *out = buffer;
  return SEND_DONE;
}

/* The chunk at @done, of at most @want bytes, if another session of the
 * fan-out read it. */
static FerryBuffer *
shared_chunk (Sender  *sender,
              guint64  done,
              gsize    want)
{
  FerryBuffer *buffer = _ferry_hash_share_lookup (sender->hashes, sender->index, done);

  if (buffer != NULL && buffer->len > want)
    g_clear_pointer (&buffer, _ferry_buffer_release);

  return buffer;
}

/* Reads (unless another session of the fan-out did), hashes and (beyond
 * the accepted offset) sends the next chunk of @file, of which
 * @remaining bytes are left; returns their number in @chunk. */
static SendStatus
send_chunk (Sender            *sender,
            FerrySessionFile  *file,
            GInputStream      *input,
            guint64            remaining,
            gsize             *chunk,
            GError           **error)
{
  FerrySession *self = sender->op->self;
  guint64 done = file->size - remaining;
  /* The receiver already holds the first @offset bytes: they are read
   * and hashed here, not sent. */
  guint64 skip = file->offset > done ? file->offset - done : 0;
  FerryBuffer *buffer = NULL;
  SendStatus status;
  gsize want;
  gsize got;

  if (g_atomic_int_get (&sender->op->reader_done))
    return SEND_STOPPED;

  want = (gsize) MIN (remaining, (guint64) SEND_CHUNK);
  if (skip > 0)
    want = (gsize) MIN ((guint64) want, skip);
  else if (done % SEND_CHUNK != 0)
    /* after a resumed offset: back to the chunks other sessions read */
    want = (gsize) MIN ((guint64) want, SEND_CHUNK - done % SEND_CHUNK);

  if (sender->seekable)
    buffer = shared_chunk (sender, done, want);
  if (buffer == NULL)
    {
      /* the others just behind take it from here */
      _ferry_hash_share_read_begin (sender->hashes, sender->cursor, sender->index, done);
      if (sender->seekable)
        buffer = shared_chunk (sender, done, want);
      if (buffer != NULL)
        status = SEND_DONE;
      else
        status = read_chunk (sender, input, done, want,
                             done == 0 && want == file->size && file->offset == 0,
                             &buffer, error);
      _ferry_hash_share_read_end (sender->hashes);
      if (status != SEND_DONE)
        return status;
    }
  got = buffer->len;
  _ferry_hash_share_advance (sender->hashes, sender->cursor, sender->index, done + got);

  if (skip > 0)
    status = skipped_chunk (sender, error) ? SEND_DONE : SEND_WRITE_FAILED;
  else
    status = write_paced (sender, buffer, error);
  _ferry_buffer_release (buffer);
  if (status != SEND_DONE)
    return status;

  sender->sent += got;
  _ferry_session_progress (self, sender->sent, sender->op->total, FALSE);
  *chunk = got;
  return SEND_DONE;
}

static SendStatus
send_content (Sender            *sender,
              FerrySessionFile  *file,
              GInputStream      *input,
              GError           **error)
{
  FerrySession *self = sender->op->self;
  guint64 remaining = file->size;
  guint8 probe;
  gssize n;

  while (remaining > 0)
    {
      gsize chunk = 0;
      SendStatus status = send_chunk (sender, file, input, remaining, &chunk, error);

      if (status != SEND_DONE)
        return status;
      remaining -= chunk;
    }

  /* A file that grew is as wrong as one that shrank: what went out would
   * not be the file any more. */
  if (sender->position != file->size &&
      !g_seekable_seek (G_SEEKABLE (input), (goffset) file->size, G_SEEK_SET,
                        self->cancellable, error))
    return SEND_READ_FAILED;
  n = g_input_stream_read (input, &probe, 1, self->cancellable, error);
  if (n < 0)
    return SEND_READ_FAILED;
  if (n > 0)
    return SEND_CHANGED;
  g_input_stream_close (input, NULL, NULL);

  return SEND_DONE;
}

static SendStatus
send_file (Sender            *sender,
           FerrySessionFile  *file,
           guint              index,
           GError           **error)
{
  FerrySessionOp *op = sender->op;
  g_autoptr(GFileInputStream) input = NULL;
  g_autoptr(JsonObject) end = NULL;
  SendStatus status;

  if (g_atomic_int_get (&op->reader_done))
    return SEND_STOPPED;

  input = g_file_read (file->source, op->self->cancellable, error);
  if (input == NULL)
    return SEND_READ_FAILED;

  sender->index = index;
  g_clear_pointer (&sender->whole, g_free);
  _ferry_hash_share_advance (sender->hashes, sender->cursor, index, 0);
  sender->position = 0;
  sender->seekable = G_IS_SEEKABLE (input) && g_seekable_can_seek (G_SEEKABLE (input));
  status = send_content (sender, file, G_INPUT_STREAM (input), error);
  if (status != SEND_DONE)
    return status;

  g_free (file->sha3_256);
  file->sha3_256 = sender->whole ? g_steal_pointer (&sender->whole)
                                 : _ferry_hash_share_digest (sender->hashes, index, file->size);
  if (file->expected_sha3 != NULL && !g_str_equal (file->expected_sha3, file->sha3_256))
    return SEND_CHANGED;

  end = _ferry_protocol_build_end (index, file->sha3_256);
  /* before the write: "verified" may come back right after it */
  if (index + 1 == op->files->len)
    g_atomic_int_set (&op->all_sent, TRUE);
  if (!_ferry_session_write_control (op->self, end, error))
    return SEND_WRITE_FAILED;

  return SEND_DONE;
}

/* Sends every file. Returns FALSE with @error unset when the reader saw
 * the end of the transfer first. */
static gboolean
send_files (Sender  *sender,
            GError **error)
{
  for (guint i = 0; i < sender->op->files->len; i++)
    {
      FerrySessionFile *file = g_ptr_array_index (sender->op->files, i);
      g_autofree char *reason = NULL;
      GError *local_error = NULL;

      switch (send_file (sender, file, i, &local_error))
        {
        case SEND_DONE:
          continue;

        case SEND_STOPPED:
          return FALSE;

        case SEND_WRITE_FAILED:
          g_propagate_error (error, local_error);
          return FALSE;

        case SEND_READ_FAILED:
          if (!g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            {
              reason = g_strdup_printf ("The sender could not read “%s”", file->name);
              sender->terminal = _ferry_protocol_build_frame ("cancel", NULL, reason);
              g_prefix_error (&local_error, _("Could not read “%s”: "), file->name);
            }
          g_propagate_error (error, local_error);
          return FALSE;

        case SEND_CHANGED:
        default:
          g_clear_error (&local_error);
          reason = g_strdup_printf ("“%s” changed on the sender while it was being sent",
                                    file->name);
          sender->terminal = _ferry_protocol_build_frame ("cancel", NULL, reason);
          g_set_error (error, FERRY_ERROR, FERRY_ERROR_FAILED,
                       _("“%s” changed while it was being sent"), file->name);
          return FALSE;
        }
    }

  return TRUE;
}

/* ------------------------------------------------------------------ */
/* The operation                                                        */

/* The header, and the receiver's answer to it. */
static gboolean
send_offer (Sender  *sender,
            GError **error)
{
  FerrySessionOp *op = sender->op;
  g_autoptr(GPtrArray) header = NULL;
  g_autoptr(GBytes) reply = NULL;
  g_autofree guint64 *offsets = NULL;
  gboolean allow_resume;

  header = _ferry_protocol_build_header (op->transfer_id, op->files, op->dirs, op->text);
  for (guint i = 0; i < header->len; i++)
    if (!_ferry_session_write_control (op->self, g_ptr_array_index (header, i), error))
      return FALSE;

  reply = _ferry_session_read_control (op->self, error);
  if (reply == NULL)
    return FALSE;

  g_mutex_lock (&op->self->lock);
  allow_resume = op->self->allow_resume;
  g_mutex_unlock (&op->self->lock);
  offsets = _ferry_protocol_parse_accept (g_bytes_get_data (reply, NULL), g_bytes_get_size (reply),
                                          op->files, allow_resume, error);
  if (offsets == NULL)
    return FALSE;

  for (guint i = 0; i < op->files->len; i++)
    ((FerrySessionFile *) g_ptr_array_index (op->files, i))->offset = offsets[i];

  return TRUE;
}

/* Which error ends the transfer: the peer's word first. */
static gboolean
send_outcome (FerrySessionOp  *op,
              Sender          *sender,
              gboolean         ok,
              GError          *local_error,
              GError         **error)
{
  if (op->reader_error != NULL && op->reader_from_peer)
    {
      /* the peer ended the transfer, or broke the protocol */
      g_clear_error (&local_error);
      g_clear_pointer (&sender->terminal, json_object_unref);
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

static gboolean
send_run (Sender  *sender,
          GError **error)
{
  FerrySessionOp *op = sender->op;
  FerrySession *self = op->self;
  GError *local_error = NULL;
  FerryWatchdog *watchdog;
  gboolean ok;

  if (!send_offer (sender, error))
    return FALSE;

  _ferry_session_emit_accepted (self);

  /* a text: the header was all there was to send */
  if (op->files->len == 0)
    g_atomic_int_set (&op->all_sent, TRUE);
  g_mutex_lock (&self->lock);
  sender->hashes = self->hash_share ? _ferry_hash_share_ref (self->hash_share)
                                    : _ferry_hash_share_new ();
  sender->limit = self->rate_limit ? _ferry_rate_limit_ref (self->rate_limit) : NULL;
  g_mutex_unlock (&self->lock);
  if (!_ferry_hash_share_start (sender->hashes, error))
    g_clear_pointer (&sender->hashes, _ferry_hash_share_unref);
  else if ((op->reader = g_thread_try_new ("ferry-send-ctl", reader_thread, op, error)) == NULL)
    _ferry_hash_share_stop (sender->hashes);
  if (op->reader == NULL)
    {
      g_clear_pointer (&sender->hashes, _ferry_hash_share_unref);
      sender->terminal = _ferry_protocol_build_frame ("cancel", NULL, "The sender failed");
      return FALSE;
    }

  /* From now on, a peer that takes nothing for too long is gone. */
  watchdog = _ferry_session_watchdog_new (self);
  sender->small = _ferry_hasher_new ();
  sender->keepalive_us = g_get_monotonic_time ();
  sender->cursor = _ferry_hash_share_join (sender->hashes);
  ok = send_files (sender, &local_error);
  _ferry_hash_share_leave (sender->hashes, g_steal_pointer (&sender->cursor));
  _ferry_hash_share_stop (sender->hashes);
  g_clear_pointer (&sender->hashes, _ferry_hash_share_unref);
  g_clear_pointer (&sender->small, _ferry_hasher_free);
  g_clear_pointer (&sender->whole, g_free);

  if (ok)
    join_reader (op, -1);       /* waits for "verified" */
  else if (local_error == NULL)
    join_reader (op, 0);        /* the reader is done already */
  else if (g_error_matches (local_error, FERRY_ERROR, FERRY_ERROR_PEER_VANISHED))
    join_reader (op, READER_GRACE_US); /* a message of the peer may explain why */
  else
    join_reader (op, 0);        /* our own failure: stop now */
  _ferry_session_watchdog_stop (watchdog);

  return send_outcome (op, sender, ok, local_error, error);
}

static gpointer
send_thread (gpointer data)
{
  FerrySessionOp *op = data;
  FerrySession *self = op->self;
  Sender sender = { .op = op };
  GError *error = NULL;

  if (!send_run (&sender, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_clear_pointer (&sender.terminal, json_object_unref);
          sender.terminal = _ferry_session_cancelled_frame (self, &error);
        }
      else if (sender.terminal == NULL && g_error_matches (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL))
        sender.terminal = _ferry_protocol_build_frame ("cancel", "protocol", error->message);
      _ferry_session_terminate (self, sender.terminal);
    }
  else
    _ferry_session_close_stream (self);
  g_clear_pointer (&sender.terminal, json_object_unref);
  g_clear_pointer (&sender.limit, _ferry_rate_limit_unref);

  _ferry_session_progress (self, sender.sent, op->total, TRUE);
  _ferry_session_op_complete (op, error);

  return NULL;
}

static gboolean
check_files (GPtrArray  *files,
             guint64    *total,
             GError    **error)
{
  if (files->len > FERRY_PROTOCOL_MAX_FILES)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("A transfer holds at most %u files"), FERRY_PROTOCOL_MAX_FILES);
      return FALSE;
    }

  for (guint i = 0; i < files->len; i++)
    {
      FerrySessionFile *file = g_ptr_array_index (files, i);

      if (file == NULL || file->name == NULL || !G_IS_FILE (file->source) ||
          file->size > FERRY_PROTOCOL_MAX_FILE_SIZE)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       _("File %u of the transfer is invalid"), i);
          return FALSE;
        }
      *total += file->size;
    }

  return TRUE;
}

/**
 * _ferry_session_set_hash_share:
 * @self: a session that has not sent yet
 * @share: the hashes of the transfer it sends, shared with the other
 *   sessions sending it
 */
void
_ferry_session_set_hash_share (FerrySession   *self,
                               FerryHashShare *share)
{
  g_return_if_fail (FERRY_IS_SESSION (self));

  g_mutex_lock (&self->lock);
  g_clear_pointer (&self->hash_share, _ferry_hash_share_unref);
  self->hash_share = share ? _ferry_hash_share_ref (share) : NULL;
  g_mutex_unlock (&self->lock);
}

/**
 * _ferry_session_set_rate_limit:
 * @self: a session that has not sent yet
 * @limit: (nullable): the limit to pace its data to, maybe shared with
 *   the other sessions sending the same transfer
 */
void
_ferry_session_set_rate_limit (FerrySession   *self,
                               FerryRateLimit *limit)
{
  g_return_if_fail (FERRY_IS_SESSION (self));

  g_mutex_lock (&self->lock);
  g_clear_pointer (&self->rate_limit, _ferry_rate_limit_unref);
  self->rate_limit = limit ? _ferry_rate_limit_ref (limit) : NULL;
  g_mutex_unlock (&self->lock);
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
  gboolean empty;
  FerrySessionOp *op;

  g_return_if_fail (FERRY_IS_SESSION (self));
  g_return_if_fail (transfer_id != NULL);
  g_return_if_fail (files != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, _ferry_session_send_async);

  if (!_ferry_protocol_is_valid_transfer_id (transfer_id))
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                               _("Invalid transfer id"));
      return;
    }

  g_mutex_lock (&self->lock);
  empty = files->len == 0 && self->dirs == NULL && self->text == NULL;
  g_mutex_unlock (&self->lock);
  if (empty)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                               _("Nothing to send"));
      return;
    }

  if (!check_files (files, &total, &error) ||
      (op = _ferry_session_op_begin (self, task, FERRY_SESSION_ROLE_SENDER,
                                     cancellable, &error)) == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  op->transfer_id = g_strdup (transfer_id);
  _ferry_session_op_set_files (op, files);
  op->total = total;
  g_mutex_lock (&self->lock);
  op->dirs = self->dirs ? g_ptr_array_ref (self->dirs) : NULL;
  op->text = g_strdup (self->text);
  g_mutex_unlock (&self->lock);

  _ferry_session_op_spawn (op, "ferry-send", send_thread);
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
