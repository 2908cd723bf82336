/* ferry-tls-private.h: the secure channel
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "ferry-identity.h"

G_BEGIN_DECLS

/* Runs a TLS 1.3 handshake (gnutls) over @base, blocking: call it from a
 * worker thread. TLS 1.2 and older are refused; AES-GCM is preferred.
 * Both sides present the identity's device chain (the server requires a
 * client certificate). Fails with FERRY_ERROR_PEER_UNTRUSTED unless the
 * peer's chain verifies (_ferry_x509_chain_verify) with account id
 * @expected_account_id and device id @expected_device_id.
 *
 * Returns a GIOStream whose input and output streams do blocking
 * g_input_stream_read()/g_output_stream_write() (one reading thread and one
 * writing thread may use them at once). Closing it sends close_notify and
 * closes @base. A clean close_notify from the peer reads as end of stream;
 * a connection cut without it is an error (G_IO_ERROR_BROKEN_PIPE /
 * G_IO_ERROR_CONNECTION_CLOSED). */
GIOStream *_ferry_tls_handshake (GIOStream      *base,
                                 FerryIdentity  *identity,
                                 gboolean        is_server,
                                 const char     *expected_account_id,
                                 const char     *expected_device_id,
                                 GCancellable   *cancellable,
                                 GError        **error);

/* e.g. "tls1.3/aes-256-gcm" */
char      *_ferry_tls_describe  (GIOStream      *tls_stream);

G_END_DECLS
