/* ferry-tls.c: the secure channel (TLS 1.3 with pinned device certificates)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <glib/gi18n-lib.h>
#include <gnutls/gnutls.h>

#include "ferry-error.h"
#include "ferry-identity-private.h"
#include "ferry-tls-private.h"

/* TLS 1.3 only; AES-GCM first (AES-NI makes it several times faster than
 * ChaCha20-Poly1305 on the machines we target). */
#define FERRY_TLS_PRIORITY \
  "NORMAL:-VERS-ALL:+VERS-TLS1.3:" \
  "-CIPHER-ALL:+AES-256-GCM:+AES-128-GCM:+CHACHA20-POLY1305"

/* gnutls queues at most 32 buffers for one push. */
#define MAX_PUSH_VECTORS 32

/* gnutls reads a record's 5-byte header, then its body: two reads each.
 * The pull serves both from one buffer filled with one read of the base
 * stream, which usually holds several records. */
#define PULL_BUFFER_SIZE (64 * 1024 + 512)

/* How many characters of an id error messages show. */
#define SHORT_ID_LENGTH 12

/*
 * The channel is shared by the GIOStream and its two streams (each holds a
 * reference), so either stream may outlive the GIOStream.
 *
 * gnutls allows one thread in gnutls_record_recv() and another in
 * gnutls_record_send() at the same time; nothing here serialises them. The
 * push and pull functions find the GCancellable and the GError slot of the
 * operation running on their thread through a thread-local FerryTlsOp.
 */
typedef struct
{
  gnutls_session_t  session;
  FerryIdentity    *identity;   /* owns the credentials the session uses */
  GIOStream        *base;
  GInputStream     *base_in;
  GOutputStream    *base_out;
  GSocket          *socket;     /* when @base is a GSocketConnection */

  /* Only touched by the thread that runs the handshake. */
  char             *expected_account_id;
  char             *expected_device_id;
  char             *peer_account_id;
  char             *peer_device_id;
  GError           *verify_error;
  gboolean          verified;

  char             *description;

  gint              read_eof;      /* close_notify received */
  gint              write_shut;    /* close_notify sent */
  gint              write_broken;  /* a write failed: no more writes */
  gint              closed;        /* the base stream is closed */

  /* Only touched by the thread in gnutls_record_recv() or the handshake. */
  guint8           *pull_buffer;
  gsize             pull_start;
  gsize             pull_end;
} FerryTlsChannel;

typedef struct _FerryTlsOp FerryTlsOp;

struct _FerryTlsOp
{
  FerryTlsOp   *previous;
  GCancellable *cancellable;
  GError       *error;      /* the first error of the base streams */
  gboolean      eof;        /* the base input stream ended */
};

static GPrivate current_op;

static void
op_begin (FerryTlsOp   *op,
          GCancellable *cancellable)
{
  op->previous = g_private_get (&current_op);
  op->cancellable = cancellable;
  op->error = NULL;
  op->eof = FALSE;
  g_private_set (&current_op, op);
}

static void
op_end (FerryTlsOp *op)
{
  g_private_set (&current_op, op->previous);
  g_clear_error (&op->error);
}

static void
op_take_error (FerryTlsOp *op,
               GError     *error)
{
  if (op != NULL && op->error == NULL)
    op->error = error;
  else
    g_error_free (error);
}

static void
channel_clear (gpointer data)
{
  FerryTlsChannel *channel = data;

  if (channel->session != NULL)
    gnutls_deinit (channel->session);
  g_clear_object (&channel->identity);
  g_clear_object (&channel->base);
  g_clear_object (&channel->socket);
  g_clear_pointer (&channel->expected_account_id, g_free);
  g_clear_pointer (&channel->expected_device_id, g_free);
  g_clear_pointer (&channel->peer_account_id, g_free);
  g_clear_pointer (&channel->peer_device_id, g_free);
  g_clear_error (&channel->verify_error);
  g_clear_pointer (&channel->description, g_free);
  g_clear_pointer (&channel->pull_buffer, g_free);
}

static FerryTlsChannel *
channel_ref (FerryTlsChannel *channel)
{
  return g_atomic_rc_box_acquire (channel);
}

static void
channel_unref (FerryTlsChannel *channel)
{
  g_atomic_rc_box_release_full (channel, channel_clear);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerryTlsChannel, channel_unref)

/* Transport functions */

static ssize_t
channel_pull (gnutls_transport_ptr_t  ptr,
              void                   *buffer,
              size_t                  size)
{
  FerryTlsChannel *channel = ptr;
  FerryTlsOp *op = g_private_get (&current_op);
  GError *error = NULL;
  gssize n;

  if (channel->pull_start == channel->pull_end)
    {
      if (channel->pull_buffer == NULL)
        channel->pull_buffer = g_malloc (PULL_BUFFER_SIZE);
      n = g_input_stream_read (channel->base_in, channel->pull_buffer, PULL_BUFFER_SIZE,
                               op != NULL ? op->cancellable : NULL, &error);
      if (n < 0)
        {
          /* A cancelled read leaves the session usable: gnutls keeps what
           * it already read and returns GNUTLS_E_INTERRUPTED. */
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            errno = EINTR;
          else
            errno = EIO;
          op_take_error (op, error);
          return -1;
        }
      if (n == 0)
        {
          if (op != NULL)
            op->eof = TRUE;
          return 0;
        }
      channel->pull_start = 0;
      channel->pull_end = (gsize) n;
    }

  n = (gssize) MIN (size, channel->pull_end - channel->pull_start);
  memcpy (buffer, channel->pull_buffer + channel->pull_start, (gsize) n);
  channel->pull_start += (gsize) n;

  return n;
}

static ssize_t
channel_vec_push (gnutls_transport_ptr_t  ptr,
                  const giovec_t         *iov,
                  int                     iovcnt)
{
  FerryTlsChannel *channel = ptr;
  FerryTlsOp *op = g_private_get (&current_op);
  GOutputVector stack_vectors[MAX_PUSH_VECTORS];
  g_autofree GOutputVector *heap_vectors = NULL;
  GOutputVector *vectors = stack_vectors;
  GError *error = NULL;
  gsize total = 0;
  gsize written = 0;
  int i;

  if (iovcnt <= 0)
    return 0;
  if (iovcnt > MAX_PUSH_VECTORS)
    vectors = heap_vectors = g_new (GOutputVector, iovcnt);

  for (i = 0; i < iovcnt; i++)
    {
      vectors[i].buffer = iov[i].iov_base;
      vectors[i].size = iov[i].iov_len;
      total += iov[i].iov_len;
    }

  if (g_output_stream_writev_all (channel->base_out, vectors, iovcnt, &written,
                                  op != NULL ? op->cancellable : NULL, &error))
    return (ssize_t) total;

  /* Part of a record may be out: the stream cannot go on either way. */
  errno = EIO;
  op_take_error (op, error);

  return -1;
}

static ssize_t
channel_push (gnutls_transport_ptr_t  ptr,
              const void             *buffer,
              size_t                  size)
{
  giovec_t iov;

  iov.iov_base = (void *) buffer;
  iov.iov_len = size;

  return channel_vec_push (ptr, &iov, 1);
}

/* Used by gnutls to bound the handshake in time. */
static int
channel_pull_timeout (gnutls_transport_ptr_t ptr,
                      unsigned int           ms)
{
  FerryTlsChannel *channel = ptr;
  FerryTlsOp *op = g_private_get (&current_op);
  GError *error = NULL;

  if (ms == GNUTLS_INDEFINITE_TIMEOUT || channel->pull_start < channel->pull_end)
    return 1;

  if (channel->socket != NULL)
    {
      if (g_socket_condition_timed_wait (channel->socket, G_IO_IN | G_IO_HUP | G_IO_ERR,
                                         (gint64) ms * 1000,
                                         op != NULL ? op->cancellable : NULL,
                                         &error))
        return 1;
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
        {
          g_error_free (error);
          return 0;
        }
      errno = g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ? EINTR : EIO;
      op_take_error (op, error);
      return -1;
    }

  if (ms == 0 &&
      G_IS_POLLABLE_INPUT_STREAM (channel->base_in) &&
      g_pollable_input_stream_can_poll (G_POLLABLE_INPUT_STREAM (channel->base_in)))
    return g_pollable_input_stream_is_readable (G_POLLABLE_INPUT_STREAM (channel->base_in)) ? 1 : 0;

  /* No way to wait with a timeout: let the pull block. */
  return 1;
}

/* Errors */

static char *
short_id (const char *id)
{
  if (id == NULL)
    return g_strdup (_("(none)"));
  if (strlen (id) <= SHORT_ID_LENGTH)
    return g_strdup (id);
  return g_strdup_printf ("%.*s…", SHORT_ID_LENGTH, id);
}

/* Turns a gnutls error into a GError. An error of the base streams, seen
 * by push or pull during the same operation, wins over the gnutls code. */
static void
set_tls_error (GError          **error,
               FerryTlsChannel  *channel,
               FerryTlsOp       *op,
               int               ret,
               gboolean          handshake)
{
  if (g_atomic_int_get (&channel->closed))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CLOSED,
                           _("The secure channel is closed"));
      return;
    }

  if (op->error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&op->error));
      return;
    }

  if (op->eof || ret == GNUTLS_E_PREMATURE_TERMINATION)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                           handshake
                           ? _("The connection was closed during the TLS handshake")
                           : _("The connection was closed without a TLS close_notify"));
      return;
    }

  switch (ret)
    {
    case GNUTLS_E_PUSH_ERROR:
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE,
                           _("Could not send on the connection"));
      break;

    case GNUTLS_E_PULL_ERROR:
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                           _("Could not receive from the connection"));
      break;

    case GNUTLS_E_TIMEDOUT:
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                           _("The TLS handshake timed out"));
      break;

    case GNUTLS_E_FATAL_ALERT_RECEIVED:
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                   _("The peer aborted the TLS connection: %s"),
                   gnutls_alert_get_name (gnutls_alert_get (channel->session)));
      break;

    default:
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                   handshake ? _("TLS handshake failed: %s") : _("TLS error: %s"),
                   gnutls_strerror (ret));
      break;
    }
}

/* Peer verification: runs inside the handshake as soon as the peer's
 * certificates arrive, so a wrong peer is refused with an alert. */
static gboolean
channel_verify_peer (FerryTlsChannel  *channel,
                     GError          **error)
{
  const gnutls_datum_t *certs;
  unsigned int n_certs = 0;
  g_autofree char *account_id = NULL;
  g_autofree char *device_id = NULL;

  if (gnutls_certificate_type_get2 (channel->session, GNUTLS_CTYPE_PEERS) != GNUTLS_CRT_X509)
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_PEER_UNTRUSTED,
                           _("The peer did not present an X.509 certificate"));
      return FALSE;
    }

  certs = gnutls_certificate_get_peers (channel->session, &n_certs);
  if (certs == NULL || n_certs == 0)
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_PEER_UNTRUSTED,
                           _("The peer did not present a certificate"));
      return FALSE;
    }

  if (!_ferry_x509_chain_verify (certs, n_certs, &account_id, &device_id, error))
    return FALSE;

  if (channel->expected_device_id != NULL &&
      !g_str_equal (device_id, channel->expected_device_id))
    {
      g_autofree char *expected = short_id (channel->expected_device_id);
      g_autofree char *got = short_id (device_id);

      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PEER_UNTRUSTED,
                   _("The peer is not the expected device: expected %s, got %s"),
                   expected, got);
      return FALSE;
    }

  if (channel->expected_account_id != NULL &&
      !g_str_equal (account_id, channel->expected_account_id))
    {
      g_autofree char *expected = short_id (channel->expected_account_id);
      g_autofree char *got = short_id (account_id);

      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PEER_UNTRUSTED,
                   _("The peer's device does not belong to the expected account: "
                     "expected %s, got %s"),
                   expected, got);
      return FALSE;
    }

  g_free (channel->peer_account_id);
  channel->peer_account_id = g_steal_pointer (&account_id);
  g_free (channel->peer_device_id);
  channel->peer_device_id = g_steal_pointer (&device_id);
  channel->verified = TRUE;

  return TRUE;
}

static int
verify_peer_cb (gnutls_session_t session)
{
  FerryTlsChannel *channel = gnutls_session_get_ptr (session);

  g_clear_error (&channel->verify_error);
  if (!channel_verify_peer (channel, &channel->verify_error))
    {
      g_debug ("Refusing TLS peer: %s", channel->verify_error->message);
      return GNUTLS_E_CERTIFICATE_ERROR;
    }

  return 0;
}

/* Sends close_notify once. */
static gboolean
channel_shutdown_write (FerryTlsChannel  *channel,
                        GCancellable     *cancellable,
                        GError          **error)
{
  FerryTlsOp op;
  int ret;

  if (!g_atomic_int_compare_and_exchange (&channel->write_shut, 0, 1))
    return TRUE;
  if (g_atomic_int_get (&channel->write_broken) || g_atomic_int_get (&channel->closed))
    return TRUE;

  op_begin (&op, cancellable);
  do
    ret = gnutls_bye (channel->session, GNUTLS_SHUT_WR);
  while ((ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED) && op.error == NULL);

  if (ret < 0)
    {
      g_atomic_int_set (&channel->write_broken, 1);
      set_tls_error (error, channel, &op, ret, FALSE);
      op_end (&op);
      return FALSE;
    }
  op_end (&op);

  return TRUE;
}

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

  op_begin (&op, cancellable);
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
      op_end (&op);
      return 0;
    }
  if (ret < 0)
    {
      set_tls_error (error, channel, &op, (int) ret, FALSE);
      op_end (&op);
      return -1;
    }
  op_end (&op);

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

  g_clear_pointer (&self->channel, channel_unref);

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
  ssize_t ret;

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

  op_begin (&op, cancellable);
  /* gnutls_record_send() sends at most one record; GOutputStream allows a
   * short write. On GNUTLS_E_AGAIN it must be called again with the same
   * arguments. */
  do
    ret = gnutls_record_send (channel->session, buffer, count);
  while ((ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED) && op.error == NULL);

  if (ret < 0)
    {
      g_atomic_int_set (&channel->write_broken, 1);
      set_tls_error (error, channel, &op, (int) ret, FALSE);
      op_end (&op);
      return -1;
    }
  op_end (&op);

  return ret;
}

static gboolean
ferry_tls_output_stream_close (GOutputStream  *stream,
                               GCancellable   *cancellable,
                               GError        **error)
{
  FerryTlsChannel *channel = FERRY_TLS_OUTPUT_STREAM (stream)->channel;

  /* Closing the write side alone is a half-close: close_notify. */
  return channel_shutdown_write (channel, cancellable, error);
}

static void
ferry_tls_output_stream_finalize (GObject *object)
{
  FerryTlsOutputStream *self = FERRY_TLS_OUTPUT_STREAM (object);

  g_clear_pointer (&self->channel, channel_unref);

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

  if (!channel_shutdown_write (channel, cancellable, &bye_error))
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

  /* Wakes up a thread blocked reading the socket, which closing the file
   * descriptor would not do. */
  if (channel->socket != NULL && !g_socket_is_closed (channel->socket))
    g_socket_shutdown (channel->socket, TRUE, TRUE, NULL);

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
  g_clear_pointer (&self->channel, channel_unref);

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

static FerryTlsStream *
ferry_tls_stream_new (FerryTlsChannel *channel)
{
  FerryTlsStream *self = g_object_new (FERRY_TYPE_TLS_STREAM, NULL);

  self->channel = channel_ref (channel);
  self->input = g_object_new (FERRY_TYPE_TLS_INPUT_STREAM, NULL);
  self->input->channel = channel_ref (channel);
  self->output = g_object_new (FERRY_TYPE_TLS_OUTPUT_STREAM, NULL);
  self->output->channel = channel_ref (channel);

  return self;
}

/* Handshake */

static char *
describe_session (gnutls_session_t session)
{
  const char *protocol = gnutls_protocol_get_name (gnutls_protocol_get_version (session));
  const char *cipher = gnutls_cipher_get_name (gnutls_cipher_get (session));
  g_autofree char *text = g_strdup_printf ("%s/%s",
                                           protocol != NULL ? protocol : "tls",
                                           cipher != NULL ? cipher : "unknown");

  return g_ascii_strdown (text, -1);
}

static gboolean
channel_setup (FerryTlsChannel  *channel,
               gboolean          is_server,
               GError          **error)
{
  gnutls_session_t session;
  const char *error_pos = NULL;
  int ret;

  ret = gnutls_init (&channel->session,
                     (is_server ? GNUTLS_SERVER : GNUTLS_CLIENT) | GNUTLS_NO_TICKETS);
  if (ret < 0)
    {
      channel->session = NULL;
      goto fail;
    }
  session = channel->session;

  if ((ret = gnutls_priority_set_direct (session, FERRY_TLS_PRIORITY, &error_pos)) < 0)
    goto fail;
  if ((ret = gnutls_credentials_set (session, GNUTLS_CRD_CERTIFICATE,
                                     _ferry_identity_get_credentials (channel->identity))) < 0)
    goto fail;
  if (is_server)
    gnutls_certificate_server_set_request (session, GNUTLS_CERT_REQUIRE);

  gnutls_session_set_ptr (session, channel);
  gnutls_session_set_verify_function (session, verify_peer_cb);

  gnutls_transport_set_ptr (session, channel);
  gnutls_transport_set_pull_function (session, channel_pull);
  gnutls_transport_set_pull_timeout_function (session, channel_pull_timeout);
  gnutls_transport_set_push_function (session, channel_push);
  gnutls_transport_set_vec_push_function (session, channel_vec_push);
  gnutls_handshake_set_timeout (session, GNUTLS_DEFAULT_HANDSHAKE_TIMEOUT);

  return TRUE;

fail:
  g_set_error (error, FERRY_ERROR, FERRY_ERROR_FAILED,
               _("Could not set up a TLS session: %s"), gnutls_strerror (ret));
  return FALSE;
}

GIOStream *
_ferry_tls_handshake (GIOStream      *base,
                      FerryIdentity  *identity,
                      gboolean        is_server,
                      const char     *expected_account_id,
                      const char     *expected_device_id,
                      GCancellable   *cancellable,
                      GError        **error)
{
  g_autoptr(FerryTlsChannel) channel = NULL;
  FerryTlsOp op;
  int ret;

  g_return_val_if_fail (G_IS_IO_STREAM (base), NULL);
  g_return_val_if_fail (FERRY_IS_IDENTITY (identity), NULL);
  g_return_val_if_fail (_ferry_identity_get_credentials (identity) != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  channel = g_atomic_rc_box_new0 (FerryTlsChannel);
  channel->identity = g_object_ref (identity);
  channel->base = g_object_ref (base);
  channel->base_in = g_io_stream_get_input_stream (base);
  channel->base_out = g_io_stream_get_output_stream (base);
  if (G_IS_SOCKET_CONNECTION (base))
    channel->socket = g_object_ref (g_socket_connection_get_socket (G_SOCKET_CONNECTION (base)));
  channel->expected_account_id = g_strdup (expected_account_id);
  channel->expected_device_id = g_strdup (expected_device_id);

  if (!channel_setup (channel, is_server, error))
    return NULL;

  op_begin (&op, cancellable);
  do
    ret = gnutls_handshake (channel->session);
  while (ret < 0 && !gnutls_error_is_fatal (ret) && op.error == NULL);

  if (ret < 0)
    {
      if (channel->verify_error != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&channel->verify_error));
        }
      else
        {
          set_tls_error (error, channel, &op, ret, TRUE);
        }

      /* Tell the peer why, unless the connection itself failed. */
      if (op.error == NULL && !op.eof && ret != GNUTLS_E_PREMATURE_TERMINATION &&
          ret != GNUTLS_E_PUSH_ERROR && ret != GNUTLS_E_PULL_ERROR &&
          ret != GNUTLS_E_FATAL_ALERT_RECEIVED)
        gnutls_alert_send_appropriate (channel->session, ret);

      op_end (&op);
      return NULL;
    }

  /* The verify function runs during every certificate handshake; this is
   * a second line of defence should gnutls ever skip it. */
  if (!channel->verified && !channel_verify_peer (channel, error))
    {
      gnutls_alert_send (channel->session, GNUTLS_AL_FATAL, GNUTLS_A_BAD_CERTIFICATE);
      op_end (&op);
      return NULL;
    }
  op_end (&op);

  if (gnutls_protocol_get_version (channel->session) != GNUTLS_TLS1_3)
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                           _("The peer did not negotiate TLS 1.3"));
      return NULL;
    }

  channel->description = describe_session (channel->session);
  g_debug ("TLS %s with device %.12s: %s", is_server ? "server" : "client",
           channel->peer_device_id, channel->description);

  return G_IO_STREAM (ferry_tls_stream_new (channel));
}

char *
_ferry_tls_describe (GIOStream *tls_stream)
{
  g_return_val_if_fail (G_IS_IO_STREAM (tls_stream), NULL);

  if (!FERRY_IS_TLS_STREAM (tls_stream))
    return NULL;

  return g_strdup (FERRY_TLS_STREAM (tls_stream)->channel->description);
}
