/* ferry-session-io.c: frames on the session's stream
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "ferry-error.h"
#include "ferry-session-internal.h"

#define DRAIN_BUFFER_SIZE (64 * 1024)

static gboolean
session_stalled (FerrySession *self)
{
  gboolean stalled;

  g_mutex_lock (&self->lock);
  stalled = self->stalled;
  g_mutex_unlock (&self->lock);
  return stalled;
}

void
_ferry_session_touch (FerrySession *self)
{
  if (self->stall_us <= 0)
    return;

  g_mutex_lock (&self->lock);
  self->last_read_us = g_get_monotonic_time ();
  g_mutex_unlock (&self->lock);
}

static void
set_read_error (FerrySession  *self,
                GError        *local_error,
                GError       **error)
{
  if (session_stalled (self))
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_TIMEOUT,
                   _("The peer sent nothing for %u s: the connection seems lost"),
                   (guint) (self->stall_us / G_USEC_PER_SEC));
      g_error_free (local_error);
    }
  else if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_propagate_error (error, local_error);
  else
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PEER_VANISHED,
                   _("The connection to the peer was lost: %s"),
                   local_error->message);
      g_error_free (local_error);
    }
}

/* Reads exactly @size bytes; the end of the stream is an error. */
gboolean
_ferry_session_read_exact (FerrySession  *self,
                           void          *buffer,
                           gsize          size,
                           GError       **error)
{
  gsize got = 0;

  while (got < size)
    {
      GError *local_error = NULL;
      gssize n = g_input_stream_read (self->input, (guint8 *) buffer + got, size - got,
                                      self->cancellable, &local_error);

      if (n < 0)
        {
          set_read_error (self, local_error, error);
          return FALSE;
        }
      if (n == 0)
        break;
      got += (gsize) n;
      _ferry_session_touch (self);
    }

  if (got < size)
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_PEER_VANISHED,
                           _("The peer closed the connection in the middle of the transfer"));
      return FALSE;
    }

  return TRUE;
}

gboolean
_ferry_session_read_frame_header (FerrySession    *self,
                                  FerryFrameType  *type,
                                  guint32         *length,
                                  GError         **error)
{
  guint8 header[FERRY_FRAME_HEADER_SIZE];

  return _ferry_session_read_exact (self, header, sizeof header, error) &&
         _ferry_frame_parse_header (header, type, length, error);
}

GBytes *
_ferry_session_read_payload (FerrySession  *self,
                             guint32        length,
                             GError       **error)
{
  guint8 *payload = g_malloc (MAX (length, 1));

  if (!_ferry_session_read_exact (self, payload, length, error))
    {
      g_free (payload);
      return NULL;
    }

  return g_bytes_new_take (payload, length);
}

GBytes *
_ferry_session_read_control (FerrySession  *self,
                             GError       **error)
{
  FerryFrameType type;
  guint32 length;

  if (!_ferry_session_read_frame_header (self, &type, &length, error))
    return NULL;

  if (type != FERRY_FRAME_CONTROL)
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                           _("The peer sent file data where a message was expected"));
      return NULL;
    }

  return _ferry_session_read_payload (self, length, error);
}

static void
set_write_error (FerrySession  *self,
                 GError        *local_error,
                 GError       **error)
{
  if (session_stalled (self))
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

/* Writes one frame: either @object as a control frame, or @length bytes
 * of @data that already hold a frame, or follow the @head_length bytes
 * of @head that start it. */
static gboolean
session_write (FerrySession  *self,
               JsonObject    *object,
               const guint8  *head,
               gsize          head_length,
               const guint8  *data,
               gsize          length,
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
  else if (object != NULL)
    {
      ok = _ferry_frame_write_control (self->output, object, self->abort, &local_error);
      /* A message too large to send was not written at all. */
      if (!ok && !g_error_matches (local_error, FERRY_ERROR, FERRY_ERROR_PROTOCOL))
        self->output_broken = TRUE;
    }
  else
    {
      ok = (head == NULL ||
            g_output_stream_write_all (self->output, head, head_length, NULL, self->abort,
                                       &local_error)) &&
           g_output_stream_write_all (self->output, data, length, NULL, self->abort,
                                      &local_error);
      if (!ok)
        self->output_broken = TRUE;
    }
  g_mutex_unlock (&self->write_lock);

  if (!ok)
    set_write_error (self, local_error, error);

  return ok;
}

gboolean
_ferry_session_write_control (FerrySession  *self,
                              JsonObject    *object,
                              GError       **error)
{
  return session_write (self, object, NULL, 0, NULL, 0, error);
}

/* Writes the buffer, whose frame header is written, as one data frame,
 * header and payload in one write. */
gboolean
_ferry_session_write_data (FerrySession  *self,
                           FerryBuffer   *buffer,
                           GError       **error)
{
  if (!session_write (self, NULL, NULL, 0, buffer->mem, FERRY_FRAME_HEADER_SIZE + buffer->len, error))
    return FALSE;

  _ferry_session_touch (self);
  return TRUE;
}

/* Writes @length bytes of the buffer's payload, from @offset, as a data
 * frame of their own: a paced sender cuts a chunk in pieces, and waits
 * between them without holding the write lock. */
gboolean
_ferry_session_write_data_part (FerrySession  *self,
                                FerryBuffer   *buffer,
                                gsize          offset,
                                gsize          length,
                                GError       **error)
{
  guint8 header[FERRY_FRAME_HEADER_SIZE];

  g_return_val_if_fail (length > 0 && offset + length <= buffer->len, FALSE);

  _ferry_frame_write_header (header, FERRY_FRAME_DATA, (guint32) length);
  if (!session_write (self, NULL, header, sizeof header,
                      FERRY_BUFFER_PAYLOAD (buffer) + offset, length, error))
    return FALSE;

  _ferry_session_touch (self);
  return TRUE;
}

/* An empty data frame: the sender is alive while it sends nothing. */
gboolean
_ferry_session_write_keepalive (FerrySession  *self,
                                GError       **error)
{
  guint8 header[FERRY_FRAME_HEADER_SIZE];

  _ferry_frame_write_header (header, FERRY_FRAME_DATA, 0);
  return session_write (self, NULL, NULL, 0, header, sizeof header, error);
}

void
_ferry_session_close_stream (FerrySession *self)
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
void
_ferry_session_terminate (FerrySession *self,
                          JsonObject   *frame)
{
  if (frame != NULL)
    {
      _ferry_session_arm_reaper (self);
      if (_ferry_session_write_control (self, frame, NULL))
        session_drain (self);
    }

  _ferry_session_close_stream (self);
}
