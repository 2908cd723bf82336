/* ferry-tls.c: the secure channel (TLS 1.3 with pinned device certificates)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <gnutls/gnutls.h>

#include "ferry-error.h"
#include "ferry-identity-private.h"
#include "ferry-tls-internal.h"
#include "ferry-tls-private.h"

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
  g_mutex_init (&channel->io_lock);
  g_cond_init (&channel->io_cond);
  channel->identity = g_object_ref (identity);
  channel->base = g_object_ref (base);
  channel->base_in = g_io_stream_get_input_stream (base);
  channel->base_out = g_io_stream_get_output_stream (base);
  if (G_IS_SOCKET_CONNECTION (base))
    channel->socket = g_object_ref (g_socket_connection_get_socket (G_SOCKET_CONNECTION (base)));
  channel->expected_account_id = g_strdup (expected_account_id);
  channel->expected_device_id = g_strdup (expected_device_id);

  if (!_ferry_tls_channel_setup (channel, is_server, error))
    return NULL;

  _ferry_tls_op_begin (&op, cancellable);
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
          _ferry_tls_set_error (error, channel, &op, ret, TRUE);
        }

      /* Tell the peer why, unless the connection itself failed. */
      if (op.error == NULL && !op.eof && ret != GNUTLS_E_PREMATURE_TERMINATION &&
          ret != GNUTLS_E_PUSH_ERROR && ret != GNUTLS_E_PULL_ERROR &&
          ret != GNUTLS_E_FATAL_ALERT_RECEIVED)
        gnutls_alert_send_appropriate (channel->session, ret);

      _ferry_tls_op_end (&op);
      return NULL;
    }

  /* The verify function runs during every certificate handshake; this is
   * a second line of defence should gnutls ever skip it. */
  if (!channel->verified && !_ferry_tls_channel_verify_peer (channel, error))
    {
      gnutls_alert_send (channel->session, GNUTLS_AL_FATAL, GNUTLS_A_BAD_CERTIFICATE);
      _ferry_tls_op_end (&op);
      return NULL;
    }
  _ferry_tls_op_end (&op);

  if (gnutls_protocol_get_version (channel->session) != GNUTLS_TLS1_3)
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                           _("The peer did not negotiate TLS 1.3"));
      return NULL;
    }

  channel->description = describe_session (channel->session);
  g_debug ("TLS %s with device %.12s: %s", is_server ? "server" : "client",
           channel->peer_device_id, channel->description);

  return _ferry_tls_stream_new (channel);
}

char *
_ferry_tls_describe (GIOStream *tls_stream)
{
  FerryTlsChannel *channel;

  g_return_val_if_fail (G_IS_IO_STREAM (tls_stream), NULL);

  channel = _ferry_tls_stream_get_channel (tls_stream);

  return channel != NULL ? g_strdup (channel->description) : NULL;
}
