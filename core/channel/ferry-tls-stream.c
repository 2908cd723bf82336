/* ferry-tls-stream.c: the GIOStream of a secure channel, and its input
 * and output streams (blocking; one reader and one writer at once)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <gio/gio.h>

#include "ferry-error.h"
#include "ferry-tls-internal.h"

/* The most one write sends: its records fit in the channel's push
 * buffer. */
#define BATCH_WRITE_SIZE (288 * 1024)

/* FerryTlsInputStream */

#define FERRY_TYPE_TLS_INPUT_STREAM (_ferry_tls_input_stream_get_type ())
G_DECLARE_FINAL_TYPE (FerryTlsInputStream, _ferry_tls_input_stream,
                      FERRY, TLS_INPUT_STREAM, GInputStream)

struct _FerryTlsInputStream
{
  GInputStream     parent_instance;
  FerryTlsChannel *channel;
};

G_DEFINE_FINAL_TYPE (FerryTlsInputStream, _ferry_tls_input_stream, G_TYPE_INPUT_STREAM)

static gssize
ferry_tls_input_stream_read (GInputStream  *stream,
                             void          *buffer,
                             gsize          count,
                             GCancellable  *cancellable,
                             GError       **error)
{
  FerryTlsChannel *channel = FERRY_TLS_INPUT_STREAM (stream)->channel;
  FerryTlsOp op;
  ssize_t ret;

  if (g_atomic_int_get (&channel->read_eof))
    return 0;
  if (g_atomic_int_get (&channel->closed))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CLOSED,
                           _("The secure channel is closed"));
      return -1;
    }
  if (count == 0)
    return 0;

  _ferry_tls_op_begin (&op, cancellable);
  for (;;)
    {
      ret = gnutls_record_recv (channel->session, buffer, count);
      if (ret >= 0 || op.error != NULL)
        break;
      /* A partial record, a handshake message handled inside gnutls, or a
       * warning alert: go on reading. Anything else is an error. */
      if (ret != GNUTLS_E_AGAIN && ret != GNUTLS_E_INTERRUPTED &&
          ret != GNUTLS_E_WARNING_ALERT_RECEIVED)
        break;
    }

  if (ret == 0)
    {
      g_atomic_int_set (&channel->read_eof, 1);
      _ferry_tls_op_end (&op);
      return 0;
    }
  if (ret < 0)
    {
      _ferry_tls_set_error (error, channel, &op, (int) ret, FALSE);
      _ferry_tls_op_end (&op);
      return -1;
    }
  _ferry_tls_op_end (&op);

  return ret;
}

static gboolean
ferry_tls_input_stream_close (GInputStream  *stream,
                              GCancellable  *cancellable,
                              GError       **error)
{
  /* The read side has nothing to send; the GIOStream closes the base. */
  return TRUE;
}

static void
ferry_tls_input_stream_finalize (GObject *object)
{
  FerryTlsInputStream *self = FERRY_TLS_INPUT_STREAM (object);

  g_clear_pointer (&self->channel, _ferry_tls_channel_unref);

  G_OBJECT_CLASS (_ferry_tls_input_stream_parent_class)->finalize (object);
}

static void
_ferry_tls_input_stream_class_init (FerryTlsInputStreamClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GInputStreamClass *input_class = G_INPUT_STREAM_CLASS (klass);

  object_class->finalize = ferry_tls_input_stream_finalize;
  input_class->read_fn = ferry_tls_input_stream_read;
  input_class->close_fn = ferry_tls_input_stream_close;
}

static void
_ferry_tls_input_stream_init (FerryTlsInputStream *self)
{
}

/* FerryTlsOutputStream */

#define FERRY_TYPE_TLS_OUTPUT_STREAM (_ferry_tls_output_stream_get_type ())
G_DECLARE_FINAL_TYPE (FerryTlsOutputStream, _ferry_tls_output_stream,
                      FERRY, TLS_OUTPUT_STREAM, GOutputStream)

struct _FerryTlsOutputStream
{
  GOutputStream    parent_instance;
  FerryTlsChannel *channel;
};

G_DEFINE_FINAL_TYPE (FerryTlsOutputStream, _ferry_tls_output_stream, G_TYPE_OUTPUT_STREAM)

static gssize
ferry_tls_output_stream_write (GOutputStream  *stream,
                               const void     *buffer,
                               gsize           count,
                               GCancellable   *cancellable,
                               GError        **error)
{
  FerryTlsChannel *channel = FERRY_TLS_OUTPUT_STREAM (stream)->channel;
  FerryTlsOp op;
  ssize_t ret = 0;
  gsize done = 0;

  if (g_atomic_int_get (&channel->closed))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CLOSED,
                           _("The secure channel is closed"));
      return -1;
    }
  if (g_atomic_int_get (&channel->write_broken))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE,
                           _("The secure channel is broken by an earlier error"));
      return -1;
    }
  if (g_atomic_int_get (&channel->write_shut))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CLOSED,
                           _("The secure channel was shut down for writing"));
      return -1;
    }
  if (count == 0)
    return 0;

  _ferry_tls_op_begin (&op, cancellable);
  /* Up to BATCH_WRITE_SIZE bytes go out as records gathered in the
   * channel's push buffer, with one write of the base stream (see
   * PUSH_BUFFER_SIZE); GOutputStream allows a short write. */
  op.batch = TRUE;
  count = MIN (count, BATCH_WRITE_SIZE);
  while (done < count)
    {
      /* at most one record; on GNUTLS_E_AGAIN, again with the same
       * arguments */
      do
        ret = gnutls_record_send (channel->session, (const guint8 *) buffer + done, count - done);
      while ((ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED) && op.error == NULL);
      if (ret <= 0)
        break;
      done += (gsize) ret;
    }
  if (ret >= 0 && !_ferry_tls_channel_flush (channel, &op))
    ret = GNUTLS_E_PUSH_ERROR;

  if (ret < 0)
    {
      channel->push_len = 0;
      g_atomic_int_set (&channel->write_broken, 1);
      _ferry_tls_set_error (error, channel, &op, (int) ret, FALSE);
      _ferry_tls_op_end (&op);
      return -1;
    }
  _ferry_tls_op_end (&op);

  return (gssize) done;
}

static gboolean
ferry_tls_output_stream_close (GOutputStream  *stream,
                               GCancellable   *cancellable,
                               GError        **error)
{
  FerryTlsChannel *channel = FERRY_TLS_OUTPUT_STREAM (stream)->channel;

  /* Closing the write side alone is a half-close: close_notify. */
  return _ferry_tls_channel_shutdown_write (channel, cancellable, error);
}

static void
ferry_tls_output_stream_finalize (GObject *object)
{
  FerryTlsOutputStream *self = FERRY_TLS_OUTPUT_STREAM (object);

  g_clear_pointer (&self->channel, _ferry_tls_channel_unref);

  G_OBJECT_CLASS (_ferry_tls_output_stream_parent_class)->finalize (object);
}

static void
_ferry_tls_output_stream_class_init (FerryTlsOutputStreamClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GOutputStreamClass *output_class = G_OUTPUT_STREAM_CLASS (klass);

  object_class->finalize = ferry_tls_output_stream_finalize;
  output_class->write_fn = ferry_tls_output_stream_write;
  output_class->close_fn = ferry_tls_output_stream_close;
}

static void
_ferry_tls_output_stream_init (FerryTlsOutputStream *self)
{
}

/* FerryTlsStream */

#define FERRY_TYPE_TLS_STREAM (_ferry_tls_stream_get_type ())
G_DECLARE_FINAL_TYPE (FerryTlsStream, _ferry_tls_stream, FERRY, TLS_STREAM, GIOStream)

struct _FerryTlsStream
{
  GIOStream             parent_instance;
  FerryTlsChannel      *channel;
  FerryTlsInputStream  *input;
  FerryTlsOutputStream *output;
};

G_DEFINE_FINAL_TYPE (FerryTlsStream, _ferry_tls_stream, G_TYPE_IO_STREAM)

static GInputStream *
ferry_tls_stream_get_input_stream (GIOStream *stream)
{
  return G_INPUT_STREAM (FERRY_TLS_STREAM (stream)->input);
}

static GOutputStream *
ferry_tls_stream_get_output_stream (GIOStream *stream)
{
  return G_OUTPUT_STREAM (FERRY_TLS_STREAM (stream)->output);
}

static gboolean
ferry_tls_stream_close (GIOStream     *stream,
                        GCancellable  *cancellable,
                        GError       **error)
{
  FerryTlsChannel *channel = FERRY_TLS_STREAM (stream)->channel;
  g_autoptr(GError) bye_error = NULL;
  g_autoptr(GError) close_error = NULL;

  if (!_ferry_tls_channel_shutdown_write (channel, cancellable, &bye_error))
    {
      /* The peer being gone already is not worth an error. */
      if (g_error_matches (bye_error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE) ||
          g_error_matches (bye_error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED))
        {
          g_debug ("No close_notify sent: %s", bye_error->message);
          g_clear_error (&bye_error);
        }
    }

  g_atomic_int_set (&channel->closed, 1);

  _ferry_tls_channel_stop_io (channel);

  g_io_stream_close (channel->base, cancellable, &close_error);

  if (bye_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&bye_error));
      return FALSE;
    }
  if (close_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&close_error));
      return FALSE;
    }

  return TRUE;
}

static void
ferry_tls_stream_finalize (GObject *object)
{
  FerryTlsStream *self = FERRY_TLS_STREAM (object);

  g_clear_object (&self->input);
  g_clear_object (&self->output);
  g_clear_pointer (&self->channel, _ferry_tls_channel_unref);

  G_OBJECT_CLASS (_ferry_tls_stream_parent_class)->finalize (object);
}

static void
_ferry_tls_stream_class_init (FerryTlsStreamClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GIOStreamClass *io_class = G_IO_STREAM_CLASS (klass);

  object_class->finalize = ferry_tls_stream_finalize;
  io_class->get_input_stream = ferry_tls_stream_get_input_stream;
  io_class->get_output_stream = ferry_tls_stream_get_output_stream;
  io_class->close_fn = ferry_tls_stream_close;
}

static void
_ferry_tls_stream_init (FerryTlsStream *self)
{
}

GIOStream *
_ferry_tls_stream_new (FerryTlsChannel *channel)
{
  FerryTlsStream *self = g_object_new (FERRY_TYPE_TLS_STREAM, NULL);

  self->channel = _ferry_tls_channel_ref (channel);
  self->input = g_object_new (FERRY_TYPE_TLS_INPUT_STREAM, NULL);
  self->input->channel = _ferry_tls_channel_ref (channel);
  self->output = g_object_new (FERRY_TYPE_TLS_OUTPUT_STREAM, NULL);
  self->output->channel = _ferry_tls_channel_ref (channel);

  return G_IO_STREAM (self);
}

FerryTlsChannel *
_ferry_tls_stream_get_channel (GIOStream *stream)
{
  return FERRY_IS_TLS_STREAM (stream) ? FERRY_TLS_STREAM (stream)->channel : NULL;
}
