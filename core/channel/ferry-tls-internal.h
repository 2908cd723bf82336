/* ferry-tls-internal.h: what the parts of the secure channel share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   ferry-tls.c          the handshake
 *   ferry-tls-channel.c  the gnutls session: transport, errors, peer checks
 *   ferry-tls-stream.c   the GIOStream and its two streams
 */
#pragma once

#include <gnutls/gnutls.h>

#include "ferry-identity.h"

G_BEGIN_DECLS

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

  /* Reads and writes of the base stream in progress: closing waits for
   * them to leave before the file descriptor goes (another thread's read
   * could otherwise use the number once it is reused). */
  GMutex            io_lock;
  GCond             io_cond;
  guint             io_active;     /* under io_lock */
  gboolean          io_stopped;    /* under io_lock: no more base I/O */

  /* Only touched by the thread in gnutls_record_recv() or the handshake. */
  guint8           *pull_buffer;
  gsize             pull_start;
  gsize             pull_end;

  /* Only touched by the thread in a batched write (FerryTlsOp.batch):
   * the records of one write, sent with one write of the base stream. */
  guint8           *push_buffer;
  gsize             push_len;
} FerryTlsChannel;

typedef struct _FerryTlsOp FerryTlsOp;

struct _FerryTlsOp
{
  FerryTlsOp   *previous;
  GCancellable *cancellable;
  GError       *error;      /* the first error of the base streams */
  gboolean      eof;        /* the base input stream ended */
  gboolean      batch;      /* pushes go to the channel's push buffer */
};

/* Makes @op the operation of this thread, until _ferry_tls_op_end(). */
void             _ferry_tls_op_begin               (FerryTlsOp        *op,
                                                    GCancellable      *cancellable);
void             _ferry_tls_op_end                 (FerryTlsOp        *op);
void             _ferry_tls_channel_stop_io        (FerryTlsChannel   *channel);

FerryTlsChannel *_ferry_tls_channel_ref            (FerryTlsChannel   *channel);
void             _ferry_tls_channel_unref          (FerryTlsChannel   *channel);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerryTlsChannel, _ferry_tls_channel_unref)

/* Makes the gnutls session of @channel, with its transport functions and
 * the peer check. */
gboolean         _ferry_tls_channel_setup          (FerryTlsChannel   *channel,
                                                    gboolean           is_server,
                                                    GError           **error);
/* Checks the peer's chain against the expected ids; sets the peer ids. */
gboolean         _ferry_tls_channel_verify_peer    (FerryTlsChannel   *channel,
                                                    GError           **error);
/* Sends close_notify once. */
gboolean         _ferry_tls_channel_shutdown_write (FerryTlsChannel   *channel,
                                                    GCancellable      *cancellable,
                                                    GError           **error);
/* Sends what batched pushes left in the push buffer. */
gboolean         _ferry_tls_channel_flush          (FerryTlsChannel   *channel,
                                                    FerryTlsOp        *op);
/* Turns a gnutls error into a GError. An error of the base streams, seen
 * by push or pull during the same operation, wins over the gnutls code. */
void             _ferry_tls_set_error              (GError          **error,
                                                    FerryTlsChannel  *channel,
                                                    FerryTlsOp       *op,
                                                    int               ret,
                                                    gboolean          handshake);

/* The GIOStream over @channel, and back (NULL when @stream is not one). */
GIOStream       *_ferry_tls_stream_new             (FerryTlsChannel   *channel);
FerryTlsChannel *_ferry_tls_stream_get_channel     (GIOStream         *stream);

G_END_DECLS
