/* ferry-tls-channel.c: the gnutls session of a secure channel: reading
 * and writing the base stream, errors, the check of the peer's chain
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
#include "ferry-tls-internal.h"

/* TLS 1.3 only; AES-GCM first (AES-NI makes it several times faster than
 * ChaCha20-Poly1305 on the machines we target). */
#define FERRY_TLS_PRIORITY \
  "NORMAL:-VERS-ALL:+VERS-TLS1.3:" \
  "-CIPHER-ALL:+AES-256-GCM:+AES-128-GCM:+CHACHA20-POLY1305"

/* gnutls queues at most 32 buffers for one push. */
#define MAX_PUSH_VECTORS 32

/* gnutls pushes each record (at most 16 KiB of data) on its own. A
 * batched write gathers the records of a whole data frame (256 KiB and
 * its header, 17 records) and hands them to the kernel at once: one
 * system call and a few large TCP segments instead of 17 of each, which
 * on loopback is most of the sender's cost per receiving device. */
#define PUSH_BUFFER_SIZE (320 * 1024)

/* gnutls reads a record's 5-byte header, then its body: two reads each.
 * The pull serves both from one buffer filled with one read of the base
 * stream, which usually holds several records. */
#define PULL_BUFFER_SIZE (64 * 1024 + 512)

/* How many characters of an id error messages show. */
#define SHORT_ID_LENGTH 12

/* The operation running on this thread (see FerryTlsOp). */
static GPrivate current_op;

void
_ferry_tls_op_begin (FerryTlsOp   *op,
                     GCancellable *cancellable)
{
  op->previous = g_private_get (&current_op);
  op->cancellable = cancellable;
  op->error = NULL;
  op->eof = FALSE;
  op->batch = FALSE;
  g_private_set (&current_op, op);
}

void
_ferry_tls_op_end (FerryTlsOp *op)
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
  g_clear_pointer (&channel->push_buffer, g_free);
  g_cond_clear (&channel->io_cond);
  g_mutex_clear (&channel->io_lock);
}

FerryTlsChannel *
_ferry_tls_channel_ref (FerryTlsChannel *channel)
{
  return g_atomic_rc_box_acquire (channel);
}

void
_ferry_tls_channel_unref (FerryTlsChannel *channel)
{
  g_atomic_rc_box_release_full (channel, channel_clear);
}


/* Base stream I/O in progress (see FerryTlsChannel.io_active) */

static gboolean
io_enter (FerryTlsChannel *channel,
          FerryTlsOp      *op)
{
  gboolean stopped;

  g_mutex_lock (&channel->io_lock);
  stopped = channel->io_stopped;
  if (!stopped)
    channel->io_active++;
  g_mutex_unlock (&channel->io_lock);

  if (stopped)
    {
      errno = EIO;
      op_take_error (op, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CLOSED,
                                              _("The secure channel is closed")));
    }
  return !stopped;
}

static void
io_leave (FerryTlsChannel *channel)
{
  g_mutex_lock (&channel->io_lock);
  if (--channel->io_active == 0 && channel->io_stopped)
    g_cond_broadcast (&channel->io_cond);
  g_mutex_unlock (&channel->io_lock);
}

/* Before the base stream closes: no read or write of it starts any more,
 * and, on a socket (shut down so that they return), those in progress
 * are over. */
void
_ferry_tls_channel_stop_io (FerryTlsChannel *channel)
{
  g_mutex_lock (&channel->io_lock);
  channel->io_stopped = TRUE;
  g_mutex_unlock (&channel->io_lock);

  if (channel->socket == NULL || g_socket_is_closed (channel->socket))
    return;

  /* Wakes up a thread blocked reading the socket, which closing the file
   * descriptor would not do. */
  g_socket_shutdown (channel->socket, TRUE, TRUE, NULL);
  g_mutex_lock (&channel->io_lock);
  while (channel->io_active > 0)
    g_cond_wait (&channel->io_cond, &channel->io_lock);
  g_mutex_unlock (&channel->io_lock);
}

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
      if (!io_enter (channel, op))
        return -1;
      n = g_input_stream_read (channel->base_in, channel->pull_buffer, PULL_BUFFER_SIZE,
                               op != NULL ? op->cancellable : NULL, &error);
      io_leave (channel);
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

/* Writes all of @vectors to the base stream. */
static gboolean
push_vectors (FerryTlsChannel *channel,
              FerryTlsOp      *op,
              GOutputVector   *vectors,
              gsize            n_vectors)
{
  GError *error = NULL;
  gsize written = 0;
  gboolean ok;

  if (!io_enter (channel, op))
    return FALSE;
  ok = g_output_stream_writev_all (channel->base_out, vectors, n_vectors, &written,
                                   op != NULL ? op->cancellable : NULL, &error);
  io_leave (channel);
  if (ok)
    return TRUE;

  /* Part of a record may be out: the stream cannot go on either way. */
  errno = EIO;
  op_take_error (op, error);
  return FALSE;
}

gboolean
_ferry_tls_channel_flush (FerryTlsChannel *channel,
                          FerryTlsOp      *op)
{
  GOutputVector vector;

  if (channel->push_len == 0)
    return TRUE;

  vector.buffer = channel->push_buffer;
  vector.size = channel->push_len;
  channel->push_len = 0;
  return push_vectors (channel, op, &vector, 1);
}

/* Adds a record (smaller than the push buffer) to the push buffer,
 * sending what it holds first when the record does not fit. */
static gboolean
push_batched (FerryTlsChannel *channel,
              FerryTlsOp      *op,
              const giovec_t  *iov,
              int              iovcnt,
              gsize            total)
{
  if (channel->push_len + total > PUSH_BUFFER_SIZE && !_ferry_tls_channel_flush (channel, op))
    return FALSE;

  if (channel->push_buffer == NULL)
    channel->push_buffer = g_malloc (PUSH_BUFFER_SIZE);
  for (int i = 0; i < iovcnt; i++)
    {
      if (iov[i].iov_len == 0)
        continue;
      memcpy (channel->push_buffer + channel->push_len, iov[i].iov_base, iov[i].iov_len);
      channel->push_len += iov[i].iov_len;
    }

  return TRUE;
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
  gsize total = 0;
  int i;

  if (iovcnt <= 0)
    return 0;
  for (i = 0; i < iovcnt; i++)
    total += iov[i].iov_len;

  if (op != NULL && op->batch)
    {
      if (total <= PUSH_BUFFER_SIZE)
        return push_batched (channel, op, iov, iovcnt, total) ? (ssize_t) total : -1;
      /* in order, after what is batched */
      if (!_ferry_tls_channel_flush (channel, op))
        return -1;
    }

  if (iovcnt > MAX_PUSH_VECTORS)
    vectors = heap_vectors = g_new (GOutputVector, iovcnt);
  for (i = 0; i < iovcnt; i++)
    {
      vectors[i].buffer = iov[i].iov_base;
      vectors[i].size = iov[i].iov_len;
    }

  return push_vectors (channel, op, vectors, (gsize) iovcnt) ? (ssize_t) total : -1;
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
void
_ferry_tls_set_error (GError          **error,
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

    case GNUTLS_E_INVALID_SESSION:
      /* An earlier fatal error, e.g. the connection ending under the
       * reading thread while this one writes: the peer vanished, it
       * broke no protocol. */
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE,
                           _("The secure channel is broken by an earlier error"));
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
gboolean
_ferry_tls_channel_verify_peer (FerryTlsChannel  *channel,
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
  if (!_ferry_tls_channel_verify_peer (channel, &channel->verify_error))
    {
      g_debug ("Refusing TLS peer: %s", channel->verify_error->message);
      return GNUTLS_E_CERTIFICATE_ERROR;
    }

  return 0;
}

/* Sends close_notify once. */
gboolean
_ferry_tls_channel_shutdown_write (FerryTlsChannel  *channel,
                                   GCancellable     *cancellable,
                                   GError          **error)
{
  FerryTlsOp op;
  int ret;

  if (!g_atomic_int_compare_and_exchange (&channel->write_shut, 0, 1))
    return TRUE;
  if (g_atomic_int_get (&channel->write_broken) || g_atomic_int_get (&channel->closed))
    return TRUE;

  _ferry_tls_op_begin (&op, cancellable);
  do
    ret = gnutls_bye (channel->session, GNUTLS_SHUT_WR);
  while ((ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED) && op.error == NULL);

  if (ret < 0)
    {
      g_atomic_int_set (&channel->write_broken, 1);
      _ferry_tls_set_error (error, channel, &op, ret, FALSE);
      _ferry_tls_op_end (&op);
      return FALSE;
    }
  _ferry_tls_op_end (&op);

  return TRUE;
}

gboolean
_ferry_tls_channel_setup (FerryTlsChannel  *channel,
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
