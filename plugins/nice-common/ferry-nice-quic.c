/* ferry-nice-quic.c: QUIC (ngtcp2) over a libnice UDP component
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The reliable layer of UDP pairs and TURN relays. libnice's pseudo-TCP
 * has a fixed 60 KiB window and Reno-style recovery: about 1 MB/s at
 * 40 ms RTT. QUIC (RFC 9000) with BBR and windows of 16 MiB runs at the
 * link's speed, also with random loss.
 *
 *   I/O       ngtcp2 is sans-I/O: datagrams from the agent's receive
 *             callback go to ngtcp2_conn_read_pkt(), packets from
 *             ngtcp2_conn_writev_stream() go out with nice_agent_send(),
 *             and one timer GSource on the engine's context follows
 *             ngtcp2_conn_get_expiry() (loss recovery, pacing, keep-alive,
 *             idle timeout). libnice does the addressing: the QUIC path is
 *             a fixed placeholder.
 *   stream    one bidirectional stream, opened by the client (the offerer,
 *             which speaks first). Its bytes come from the channel's send
 *             ring, which keeps them in place until acknowledged (ngtcp2
 *             retransmits from there); received bytes go to the channel's
 *             receive ring, and the flow-control windows open as the
 *             reader drains it, so memory is bounded by the windows.
 *   identity  QUIC's own TLS uses a throwaway key made at start-up and is
 *             not verified: it only protects QUIC (packet numbers, acks,
 *             flow control). The core's TLS 1.3 channel, with both device
 *             certificates pinned, runs inside the stream as on every
 *             other transport. See ferry-transport.h.
 *   end       the stream's FIN in each direction carries the end of
 *             stream; once both are acknowledged, or when the peer closes
 *             the connection, or after FERRY_QUIC_IDLE_S without a packet
 *             (a dead path), the channel fails, as a closed pseudo-TCP
 *             connection did. Keep-alive PINGs hold an idle path open.
 */
#include "config.h"

#include <string.h>
#include <netinet/in.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include "ferry-nice-quic-private.h"

#define QUIC_IDLE_S          10
#define QUIC_KEEPALIVE_MS    2500
#define QUIC_STREAM_WINDOW   (1024 * 1024)        /* the first window ... */
#define QUIC_MAX_STREAM_WINDOW (16 * 1024 * 1024) /* ... grows to 100 MB/s × 160 ms */
#define QUIC_CONN_WINDOW     (2 * 1024 * 1024)
#define QUIC_MAX_CONN_WINDOW (24 * 1024 * 1024)
#define QUIC_MAX_PACKET      NGTCP2_MAX_PMTUD_UDP_PAYLOAD_SIZE
/* Packets between pacing updates, at most (see _ferry_nice_quic_pace_burst
 * for how many): a TURN server (or a home router) with small socket
 * buffers drops the tail of long bursts. */
#define QUIC_MAX_BURST       32
#define QUIC_EARLY_MAX       32                   /* datagrams kept before the path is ready */
#define QUIC_FLUSH_EVERY     16                   /* received packets between writes */

struct _FerryNiceQuic
{
  FerryNiceChannel       *channel;      /* owner */
  GMainContext           *context;
  gboolean                client;
  ngtcp2_cc_algo          cc;
  ngtcp2_conn            *conn;
  gnutls_session_t        session;
  ngtcp2_crypto_conn_ref  conn_ref;
  struct sockaddr_in      local_addr;
  struct sockaddr_in      remote_addr;
  ngtcp2_path             path;

  GSource                *timer;
  GSource                *flush_source;
  GPtrArray              *early;        /* GBytes, before the path is ready */
  gboolean                path_ready;
  gboolean                up;           /* stream open, channel told */
  gboolean                down;         /* stream or connection over, channel told */
  gboolean                closed;       /* the connection is over */
  int64_t                 stream_id;
  guint64                 sent;         /* stream bytes handed to ngtcp2 */
  guint64                 acked;
  gboolean                fin_sent;
  guint                   unflushed;
  guint                   drop_every;   /* tests: lose every Nth datagram */
  guint64                 datagrams;
  ngtcp2_tstamp           pace_next;    /* when the next burst may go */
  gboolean                pace_waiting; /* a burst waits for pace_next */

  /* For the debug log: datagrams and bytes sent, and why flushes ended
   * (paced, the congestion window full, flow control, nothing to send). */
  guint64                 tx_datagrams;
  guint64                 tx_bytes;
  guint                   ends[4];
  ngtcp2_tstamp           stats_next;
  gboolean                log_stats;    /* debug output is on */

  /* Packets written, sent in one call per burst. */
  guint8                 *out_block;
  guint8                 *out[QUIC_MAX_BURST];
  gsize                   out_lengths[QUIC_MAX_BURST];
  guint                   out_count;
};

static void quic_fail (FerryNiceQuic *quic, int error);

/* ------------------------------------------------------------- helpers */

static ngtcp2_tstamp
quic_now (void)
{
  return (ngtcp2_tstamp) g_get_monotonic_time () * NGTCP2_MICROSECONDS;
}

static void
quic_rand (uint8_t                *dest,
           size_t                  length,
           const ngtcp2_rand_ctx  *rand_ctx)
{
  gnutls_rnd (GNUTLS_RND_RANDOM, dest, length);
}

static int
quic_new_cid (ngtcp2_conn *conn,
              ngtcp2_cid  *cid,
              uint8_t     *token,
              size_t       cidlen,
              void        *user_data)
{
  if (gnutls_rnd (GNUTLS_RND_RANDOM, cid->data, cidlen) != 0 ||
      gnutls_rnd (GNUTLS_RND_RANDOM, token, NGTCP2_STATELESS_RESET_TOKENLEN) != 0)
    return NGTCP2_ERR_CALLBACK_FAILURE;
  cid->datalen = cidlen;
  return 0;
}

static ngtcp2_conn *
get_conn (ngtcp2_crypto_conn_ref *ref)
{
  return ((FerryNiceQuic *) ref->user_data)->conn;
}


static gboolean
quic_tls_init (FerryNiceQuic *quic)
{
  quic->conn_ref.get_conn = get_conn;
  quic->conn_ref.user_data = quic;
  quic->session = _ferry_nice_quic_tls_new (quic->client, &quic->conn_ref);
  if (quic->session == NULL)
    return FALSE;

  /* An idle path stays open (the user may take a while to accept);
   * only a dead one reaches the idle timeout. */
  ngtcp2_conn_set_keep_alive_timeout (quic->conn, QUIC_KEEPALIVE_MS * NGTCP2_MILLISECONDS);
  ngtcp2_conn_set_tls_native_handle (quic->conn, quic->session);
  return TRUE;
}
/* ----------------------------------------------------------- callbacks */

static int
on_recv_stream_data (ngtcp2_conn   *conn,
                     uint32_t       flags,
                     int64_t        stream_id,
                     uint64_t       offset,
                     const uint8_t *data,
                     size_t         length,
                     void          *user_data,
                     void          *stream_user_data)
{
  FerryNiceQuic *quic = user_data;

  /* The client opens one stream; the limits allow no other. */
  if (quic->stream_id < 0)
    quic->stream_id = stream_id;
  if (stream_id != quic->stream_id)
    return NGTCP2_ERR_CALLBACK_FAILURE;

  _ferry_nice_channel_deliver (quic->channel, data, length,
                               (flags & NGTCP2_STREAM_DATA_FLAG_FIN) != 0);
  return 0;
}

static int
on_acked_stream_data (ngtcp2_conn *conn,
                      int64_t      stream_id,
                      uint64_t     offset,
                      uint64_t     length,
                      void        *user_data,
                      void        *stream_user_data)
{
  FerryNiceQuic *quic = user_data;

  if (stream_id != quic->stream_id || length == 0)
    return 0;
  /* In order and without overlap (ngtcp2 says so). */
  quic->acked += length;
  _ferry_nice_channel_acked (quic->channel, length);
  return 0;
}

static int
on_stream_close (ngtcp2_conn *conn,
                 uint32_t     flags,
                 int64_t      stream_id,
                 uint64_t     app_error_code,
                 void        *user_data,
                 void        *stream_user_data)
{
  FerryNiceQuic *quic = user_data;

  /* Both ends sent everything and got it acknowledged (or the stream was
   * reset): the connection has done its work. */
  if (stream_id == quic->stream_id && !quic->down)
    {
      quic->down = TRUE;
      _ferry_nice_channel_quic_down (quic->channel);
    }
  return 0;
}

static void
quic_callbacks (FerryNiceQuic    *quic,
                ngtcp2_callbacks *callbacks)
{
  memset (callbacks, 0, sizeof *callbacks);
  if (quic->client)
    {
      callbacks->client_initial = ngtcp2_crypto_client_initial_cb;
      callbacks->recv_retry = ngtcp2_crypto_recv_retry_cb;
    }
  else
    callbacks->recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;
  callbacks->recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb;
  callbacks->encrypt = ngtcp2_crypto_encrypt_cb;
  callbacks->decrypt = ngtcp2_crypto_decrypt_cb;
  callbacks->hp_mask = ngtcp2_crypto_hp_mask_cb;
  callbacks->update_key = ngtcp2_crypto_update_key_cb;
  callbacks->delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
  callbacks->delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
  callbacks->get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
  callbacks->version_negotiation = ngtcp2_crypto_version_negotiation_cb;
  callbacks->rand = quic_rand;
  callbacks->get_new_connection_id = quic_new_cid;
  callbacks->recv_stream_data = on_recv_stream_data;
  callbacks->acked_stream_data_offset = on_acked_stream_data;
  callbacks->stream_close = on_stream_close;
}

static void
quic_settings (FerryNiceQuic           *quic,
               ngtcp2_settings         *settings,
               ngtcp2_transport_params *params)
{
  ngtcp2_settings_default (settings);
  settings->initial_ts = quic_now ();
  settings->cc_algo = quic->cc;
  settings->max_tx_udp_payload_size = QUIC_MAX_PACKET;
  settings->max_window = QUIC_MAX_CONN_WINDOW;
  settings->max_stream_window = QUIC_MAX_STREAM_WINDOW;
  settings->handshake_timeout = QUIC_IDLE_S * NGTCP2_SECONDS;
  settings->rand_ctx.native_handle = NULL;

  ngtcp2_transport_params_default (params);
  params->initial_max_stream_data_bidi_local = QUIC_STREAM_WINDOW;
  params->initial_max_stream_data_bidi_remote = QUIC_STREAM_WINDOW;
  params->initial_max_data = QUIC_CONN_WINDOW;
  /* The client opens the one stream. */
  params->initial_max_streams_bidi = quic->client ? 0 : 1;
  params->initial_max_streams_uni = 0;
  params->max_idle_timeout = QUIC_IDLE_S * NGTCP2_SECONDS;
  params->active_connection_id_limit = 4;
}

/* --------------------------------------------------------------- timer */


static gboolean
timer_cb (gpointer user_data)
{
  FerryNiceQuic *quic = user_data;
  int rv;

  _ferry_nice_quic_timer_set (quic->timer, UINT64_MAX);
  if (quic->conn == NULL)
    return G_SOURCE_CONTINUE;
  rv = ngtcp2_conn_handle_expiry (quic->conn, quic_now ());
  if (rv != 0)
    {
      g_debug ("quic: %s", ngtcp2_strerror (rv));
      quic_fail (quic, rv);
      return G_SOURCE_CONTINUE;
    }
  _ferry_nice_quic_flush (quic);
  return G_SOURCE_CONTINUE;
}

static void
quic_arm_timer (FerryNiceQuic *quic)
{
  ngtcp2_tstamp expiry;

  if (quic->conn == NULL || quic->closed)
    {
      _ferry_nice_quic_timer_set (quic->timer, UINT64_MAX);
      return;
    }
  expiry = ngtcp2_conn_get_expiry (quic->conn);
  /* A burst waits: ngtcp2's timers may wait with it (a fraction of a
   * millisecond), the flush then handles them. */
  if (quic->pace_waiting)
    expiry = quic->pace_next;
  _ferry_nice_quic_timer_set (quic->timer, expiry);
}

static gboolean
flush_cb (gpointer user_data)
{
  FerryNiceQuic *quic = user_data;

  g_clear_pointer (&quic->flush_source, g_source_unref);
  _ferry_nice_quic_flush (quic);
  return G_SOURCE_REMOVE;
}

static void
quic_schedule_flush (FerryNiceQuic *quic)
{
  if (quic->flush_source != NULL)
    return;
  quic->flush_source = g_idle_source_new ();
  g_source_set_priority (quic->flush_source, G_PRIORITY_DEFAULT);
  g_source_set_static_name (quic->flush_source, "[ferry-nice] quic flush");
  g_source_set_callback (quic->flush_source, flush_cb, quic, NULL);
  g_source_attach (quic->flush_source, quic->context);
}

/* ---------------------------------------------------------- connection */

/* Sends a CONNECTION_CLOSE, if there is still a connection to close. */
static void
quic_send_close (FerryNiceQuic *quic,
                 int            error)
{
  ngtcp2_connection_close_error ccerr;
  guint8 packet[QUIC_MAX_PACKET];
  ngtcp2_ssize n;

  if (quic->conn == NULL || error == NGTCP2_ERR_DRAINING || error == NGTCP2_ERR_IDLE_CLOSE ||
      error == NGTCP2_ERR_HANDSHAKE_TIMEOUT || ngtcp2_conn_is_in_closing_period (quic->conn) ||
      ngtcp2_conn_is_in_draining_period (quic->conn))
    return;

  ngtcp2_connection_close_error_default (&ccerr);
  if (error != 0)
    ngtcp2_connection_close_error_set_transport_error_liberr (&ccerr, error, NULL, 0);
  n = ngtcp2_conn_write_connection_close (quic->conn, NULL, NULL, packet, sizeof packet,
                                          &ccerr, quic_now ());
  if (n > 0)
    {
      guint8 *data = packet;
      gsize length = n;

      _ferry_nice_channel_send_datagrams (quic->channel, &data, &length, 1);
    }
}

/* The connection is over: tells the channel. */
static void
quic_fail (FerryNiceQuic *quic,
           int            error)
{
  quic_send_close (quic, error);
  quic->closed = TRUE;
  if (!quic->down)
    {
      quic->down = TRUE;
      _ferry_nice_channel_quic_down (quic->channel);
    }
  quic_arm_timer (quic);
}

static void
quic_init_path (FerryNiceQuic *quic)
{
  /* Placeholders: libnice owns the real addresses. */
  quic->local_addr.sin_family = AF_INET;
  quic->local_addr.sin_addr.s_addr = htonl (0x7f000001);
  quic->local_addr.sin_port = htons (quic->client ? 1 : 2);
  quic->remote_addr = quic->local_addr;
  quic->remote_addr.sin_port = htons (quic->client ? 2 : 1);
  quic->path.local.addr = (ngtcp2_sockaddr *) &quic->local_addr;
  quic->path.local.addrlen = sizeof quic->local_addr;
  quic->path.remote.addr = (ngtcp2_sockaddr *) &quic->remote_addr;
  quic->path.remote.addrlen = sizeof quic->remote_addr;
}

static gboolean
quic_start_client (FerryNiceQuic *quic)
{
  ngtcp2_callbacks callbacks;
  ngtcp2_settings settings;
  ngtcp2_transport_params params;
  ngtcp2_cid dcid, scid;

  dcid.datalen = 16;
  scid.datalen = 16;
  gnutls_rnd (GNUTLS_RND_RANDOM, dcid.data, dcid.datalen);
  gnutls_rnd (GNUTLS_RND_RANDOM, scid.data, scid.datalen);
  quic_callbacks (quic, &callbacks);
  quic_settings (quic, &settings, &params);

  if (ngtcp2_conn_client_new (&quic->conn, &dcid, &scid, &quic->path, NGTCP2_PROTO_VER_V1,
                              &callbacks, &settings, &params, NULL, quic) != 0)
    return FALSE;
  return quic_tls_init (quic);
}

/* The first packet from the client makes the server's connection. */
static gboolean
quic_accept (FerryNiceQuic *quic,
             const guint8  *data,
             gsize          length)
{
  ngtcp2_pkt_hd header;
  ngtcp2_callbacks callbacks;
  ngtcp2_settings settings;
  ngtcp2_transport_params params;
  ngtcp2_cid scid;

  if (ngtcp2_accept (&header, data, length) != 0)
    return FALSE;

  scid.datalen = 16;
  gnutls_rnd (GNUTLS_RND_RANDOM, scid.data, scid.datalen);
  quic_callbacks (quic, &callbacks);
  quic_settings (quic, &settings, &params);
  params.original_dcid = header.dcid;

  if (ngtcp2_conn_server_new (&quic->conn, &header.scid, &scid, &quic->path, header.version,
                              &callbacks, &settings, &params, NULL, quic) != 0)
    return FALSE;
  if (!quic_tls_init (quic))
    {
      ngtcp2_conn_del (g_steal_pointer (&quic->conn));
      return FALSE;
    }
  return TRUE;
}

FerryNiceQuic *
_ferry_nice_quic_new (FerryNiceChannel *channel,
                      GMainContext     *context,
                      gboolean          client,
                      guint             drop_every)
{
  FerryNiceQuic *quic = g_new0 (FerryNiceQuic, 1);
  const char *cc = g_getenv ("FERRY_QUIC_CC");

  quic->channel = channel;
  quic->context = g_main_context_ref (context);
  quic->client = client;
  quic->drop_every = drop_every;
  quic->stream_id = -1;
  quic->early = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  quic_init_path (quic);
  quic->out_block = g_malloc (QUIC_MAX_BURST * QUIC_MAX_PACKET);
  for (guint i = 0; i < QUIC_MAX_BURST; i++)
    quic->out[i] = quic->out_block + i * QUIC_MAX_PACKET;

  /* BBR by default: see the README for the measurements (ngtcp2 0.12's
   * BBRv2 cuts its window for good after a stall or a few random losses
   * and takes tens of seconds to grow it back). The variable is for
   * benchmarks. */
  quic->log_stats = !g_log_writer_default_would_drop (G_LOG_LEVEL_DEBUG, G_LOG_DOMAIN);
  quic->cc = NGTCP2_CC_ALGO_BBR;
  if (g_strcmp0 (cc, "bbr2") == 0)
    quic->cc = NGTCP2_CC_ALGO_BBR2;
  else if (g_strcmp0 (cc, "cubic") == 0)
    quic->cc = NGTCP2_CC_ALGO_CUBIC;
  else if (g_strcmp0 (cc, "reno") == 0)
    quic->cc = NGTCP2_CC_ALGO_RENO;

  quic->timer = _ferry_nice_quic_timer_new ();
  g_source_set_static_name (quic->timer, "[ferry-nice] quic timer");
  g_source_set_callback (quic->timer, timer_cb, quic, NULL);
  g_source_attach (quic->timer, context);
  return quic;
}

void
_ferry_nice_quic_free (FerryNiceQuic *quic)
{
  /* Says goodbye, so that the peer does not wait for its idle timeout. */
  quic_send_close (quic, 0);

  g_source_destroy (quic->timer);
  g_source_unref (quic->timer);
  if (quic->flush_source != NULL)
    {
      g_source_destroy (quic->flush_source);
      g_source_unref (quic->flush_source);
    }
  if (quic->conn != NULL)
    ngtcp2_conn_del (quic->conn);
  if (quic->session != NULL)
    gnutls_deinit (quic->session);
  g_ptr_array_unref (quic->early);
  g_free (quic->out_block);
  g_main_context_unref (quic->context);
  g_free (quic);
}

const char *
_ferry_nice_quic_describe (FerryNiceQuic *quic)
{
  switch (quic->cc)
    {
    case NGTCP2_CC_ALGO_CUBIC: return "quic/cubic";
    case NGTCP2_CC_ALGO_BBR2:  return "quic/bbr2";
    case NGTCP2_CC_ALGO_RENO:  return "quic/reno";
    case NGTCP2_CC_ALGO_BBR:
    default:                   return "quic/bbr";
    }
}

void
_ferry_nice_quic_path_ready (FerryNiceQuic *quic)
{
  g_autoptr(GPtrArray) early = NULL;

  if (quic->path_ready)
    return;
  quic->path_ready = TRUE;

  if (quic->client)
    {
      if (!quic_start_client (quic))
        {
          g_warning ("Cannot start a QUIC connection");
          quic_fail (quic, 0);
          return;
        }
      _ferry_nice_quic_flush (quic);
      return;
    }

  early = g_steal_pointer (&quic->early);
  quic->early = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  for (guint i = 0; i < early->len; i++)
    {
      gsize length;
      const guint8 *data = g_bytes_get_data (g_ptr_array_index (early, i), &length);

      _ferry_nice_quic_receive (quic, data, length);
    }
}

void
_ferry_nice_quic_receive (FerryNiceQuic *quic,
                          const guint8  *data,
                          gsize          length)
{
  int rv;

  if (quic->closed)
    return;
  if (!quic->path_ready)
    {
      /* The server cannot answer before its agent selected a pair. */
      if (!quic->client && quic->early->len < QUIC_EARLY_MAX)
        g_ptr_array_add (quic->early, g_bytes_new (data, length));
      return;
    }
  if (quic->conn == NULL && (quic->client || !quic_accept (quic, data, length)))
    return;

  rv = ngtcp2_conn_read_pkt (quic->conn, &quic->path, NULL, data, length, quic_now ());
  if (rv != 0 && rv != NGTCP2_ERR_DISCARD_PKT)
    {
      g_debug ("quic: reading a packet: %s", ngtcp2_strerror (rv));
      quic_fail (quic, rv);
      return;
    }

  if (++quic->unflushed >= QUIC_FLUSH_EVERY)
    _ferry_nice_quic_flush (quic);
  else
    quic_schedule_flush (quic);
}

void
_ferry_nice_quic_consumed (FerryNiceQuic *quic,
                           gsize          count)
{
  if (quic->conn == NULL || quic->closed || quic->stream_id < 0)
    return;
  ngtcp2_conn_extend_max_stream_offset (quic->conn, quic->stream_id, count);
  ngtcp2_conn_extend_max_offset (quic->conn, count);
  _ferry_nice_quic_flush (quic);
}

/* Once the handshake is done, the client opens the stream; either side
 * then lets the channel's writers go. */
static void
quic_check_up (FerryNiceQuic *quic)
{
  if (quic->up || !ngtcp2_conn_get_handshake_completed (quic->conn))
    return;
  if (quic->client && quic->stream_id < 0 &&
      ngtcp2_conn_open_bidi_stream (quic->conn, &quic->stream_id, NULL) != 0)
    return;
  quic->up = TRUE;
  g_debug ("quic: %s connected (%s)", quic->client ? "client" : "server",
           _ferry_nice_quic_describe (quic));
  _ferry_nice_channel_quic_up (quic->channel);
}

/* Writes one packet; returns its size, 0 when nothing can be sent now, or
 * a negative ngtcp2 error. */
static ngtcp2_ssize
quic_write_packet (FerryNiceQuic *quic,
                   guint8        *packet,
                   ngtcp2_tstamp  now,
                   gboolean      *stream_blocked)
{
  for (;;)
    {
      const guint8 *pieces[2];
      gsize lengths[2];
      ngtcp2_vec vec[2];
      gsize nvec = 0, unsent = 0;
      gboolean closing = FALSE;
      int64_t stream_id = -1;
      uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE;
      ngtcp2_ssize written = -1, n;

      if (quic->up && quic->stream_id >= 0 && !quic->fin_sent && !*stream_blocked)
        {
          nvec = _ferry_nice_channel_peek_unsent (quic->channel, quic->sent - quic->acked,
                                                  pieces, lengths, &closing);
          for (gsize i = 0; i < nvec; i++)
            {
              vec[i].base = (uint8_t *) pieces[i];
              vec[i].len = lengths[i];
              unsent += lengths[i];
            }
          if (unsent > 0 || closing)
            stream_id = quic->stream_id;
          if (closing)
            flags |= NGTCP2_WRITE_STREAM_FLAG_FIN;
        }

      n = ngtcp2_conn_writev_stream (quic->conn, &quic->path, NULL, packet, QUIC_MAX_PACKET,
                                     &written, flags, stream_id, vec, nvec, now);
      if (written > 0)
        quic->sent += written;
      if (written >= 0 && closing && (gsize) written == unsent)
        quic->fin_sent = TRUE;

      switch (n)
        {
        case NGTCP2_ERR_WRITE_MORE:
          continue;
        case NGTCP2_ERR_STREAM_DATA_BLOCKED:
        case NGTCP2_ERR_STREAM_SHUT_WR:
          *stream_blocked = TRUE;
          continue;
        default:
          return n;
        }
    }
}

/* Sends the burst written, and sets when the next one may go. */
static void
quic_send_out (FerryNiceQuic *quic,
               ngtcp2_tstamp  now)
{
  guint kept = 0;
  gsize bytes = 0;

  for (guint i = 0; i < quic->out_count; i++)
    bytes += quic->out_lengths[i];
  /* ngtcp2's own pacing state, then ours (see ferry-nice-quic-timer.c). */
  if (quic->conn != NULL)
    {
      ngtcp2_conn_update_pkt_tx_time (quic->conn, now);
      quic->pace_next = _ferry_nice_quic_pace_next (quic->conn, quic->pace_next, now, bytes);
    }

  /* Tests: lose every Nth datagram. */
  for (guint i = 0; i < quic->out_count; i++)
    if (quic->drop_every == 0 || ++quic->datagrams % quic->drop_every != 0)
      {
        guint8 *data = quic->out[i];

        quic->out[i] = quic->out[kept];
        quic->out[kept] = data;
        quic->out_lengths[kept++] = quic->out_lengths[i];
      }
  _ferry_nice_channel_send_datagrams (quic->channel, quic->out, quic->out_lengths, kept);
  quic->tx_datagrams += quic->out_count;
  quic->tx_bytes += bytes;
  quic->out_count = 0;
}

/* Once a second, what the congestion controller thinks (only with the
 * debug output on: the flushes call it). */
static void
quic_log_stats (FerryNiceQuic *quic,
                ngtcp2_tstamp  now,
                gboolean       stream_blocked)
{
  ngtcp2_conn_stat stat;

  ngtcp2_conn_get_conn_stat (quic->conn, &stat);
  if (quic->pace_waiting)
    quic->ends[0]++;
  else if (stat.bytes_in_flight + QUIC_MAX_PACKET > stat.cwnd)
    quic->ends[1]++;
  else if (stream_blocked)
    quic->ends[2]++;
  else
    quic->ends[3]++;
  if (now < quic->stats_next || quic->tx_bytes < 1024 * 1024)
    return;
  quic->stats_next = now + NGTCP2_SECONDS;
  g_debug ("quic: cwnd %" G_GUINT64_FORMAT " KiB, in flight %" G_GUINT64_FORMAT " KiB, "
           "pacing %.1f MB/s, delivery %.1f MB/s, rtt %.1f ms (min %.1f); "
           "%" G_GUINT64_FORMAT " datagrams, %.1f MB (stream %.1f MB acked %.1f); "
           "flushes ended paced %u, cwnd %u, flow control %u, idle %u",
           stat.cwnd / 1024, stat.bytes_in_flight / 1024, stat.pacing_rate * 1e3,
           stat.delivery_rate_sec / 1e6, stat.smoothed_rtt / 1e6, stat.min_rtt / 1e6,
           quic->tx_datagrams, quic->tx_bytes / 1e6, quic->sent / 1e6, quic->acked / 1e6,
           quic->ends[0], quic->ends[1], quic->ends[2], quic->ends[3]);
}

void
_ferry_nice_quic_flush (FerryNiceQuic *quic)
{
  gboolean stream_blocked = FALSE;
  ngtcp2_tstamp now = quic_now ();
  gsize burst;

  quic->unflushed = 0;
  /* After the stream closed, the connection still acknowledges (the
   * peer's FIN) until the channel goes. */
  if (quic->conn == NULL || quic->closed)
    return;

  quic_check_up (quic);
  burst = _ferry_nice_quic_pace_burst (quic->conn, QUIC_MAX_PACKET, QUIC_MAX_BURST);

  quic->pace_waiting = FALSE;
  for (;;)
    {
      ngtcp2_ssize n;

      if (quic->out_count == 0 && _ferry_nice_quic_pace_wait (quic->pace_next, now))
        {
          quic->pace_waiting = TRUE;
          break;
        }
      n = quic_write_packet (quic, quic->out[quic->out_count], now, &stream_blocked);

      if (n < 0)
        {
          g_debug ("quic: writing a packet: %s", ngtcp2_strerror ((int) n));
          quic_send_out (quic, now);
          quic_fail (quic, (int) n);
          return;
        }
      if (n > 0)
        quic->out_lengths[quic->out_count++] = n;
      if (n == 0 || quic->out_count == burst)
        {
          /* Pacing: the next burst waits its turn. */
          quic_send_out (quic, now);
          if (n == 0)
            break;
          now = quic_now ();
        }
    }
  if (quic->log_stats)
    quic_log_stats (quic, now, stream_blocked);
  quic_arm_timer (quic);
}
