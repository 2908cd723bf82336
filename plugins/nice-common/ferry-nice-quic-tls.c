/* ferry-nice-quic-tls.c: the TLS session of a QUIC connection
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * QUIC's own TLS (gnutls through ngtcp2_crypto_gnutls) only protects the
 * QUIC layer: the server's certificate is a throwaway one and is not
 * verified, since the core's TLS 1.3 channel with both device certificates
 * pinned runs inside the stream (see ferry-nice-quic.c).
 */
#include "config.h"

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include "ferry-nice-quic-private.h"

#define QUIC_ALPN            "ferry-1"
#define QUIC_PRIORITY        "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:" \
                             "+AES-256-GCM:+CHACHA20-POLY1305:%DISABLE_TLS13_COMPAT_MODE"

/* The throwaway certificate of QUIC servers (see the top of this file):
 * one per process, ECDSA P-256, self-signed. */
static gnutls_certificate_credentials_t
server_credentials (void)
{
  static gsize once = 0;
  static gnutls_certificate_credentials_t credentials;

  if (g_once_init_enter (&once))
    {
      gnutls_x509_privkey_t key = NULL;
      gnutls_x509_crt_t crt = NULL;
      guint8 serial[16];
      time_t now = time (NULL);
      int rv;

      gnutls_rnd (GNUTLS_RND_NONCE, serial, sizeof serial);
      serial[0] &= 0x7f;
      rv = gnutls_certificate_allocate_credentials (&credentials);
      rv = rv ? rv : gnutls_x509_privkey_init (&key);
      rv = rv ? rv : gnutls_x509_privkey_generate (key, GNUTLS_PK_ECDSA,
                                                   GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1), 0);
      rv = rv ? rv : gnutls_x509_crt_init (&crt);
      rv = rv ? rv : gnutls_x509_crt_set_version (crt, 3);
      rv = rv ? rv : gnutls_x509_crt_set_serial (crt, serial, sizeof serial);
      rv = rv ? rv : gnutls_x509_crt_set_activation_time (crt, now - 3600);
      rv = rv ? rv : gnutls_x509_crt_set_expiration_time (crt, now + 10 * 365 * 86400);
      rv = rv ? rv : gnutls_x509_crt_set_dn_by_oid (crt, GNUTLS_OID_X520_COMMON_NAME, 0, "ferry", 5);
      rv = rv ? rv : gnutls_x509_crt_set_key (crt, key);
      rv = rv ? rv : gnutls_x509_crt_sign2 (crt, crt, key, GNUTLS_DIG_SHA256, 0);
      rv = rv ? rv : gnutls_certificate_set_x509_key (credentials, &crt, 1, key);
      if (rv != 0)
        g_warning ("Cannot make the QUIC certificate: %s", gnutls_strerror (rv));
      if (crt != NULL)
        gnutls_x509_crt_deinit (crt);
      if (key != NULL)
        gnutls_x509_privkey_deinit (key);
      g_once_init_leave (&once, 1);
    }
  return credentials;
}

static gnutls_certificate_credentials_t
client_credentials (void)
{
  static gsize once = 0;
  static gnutls_certificate_credentials_t credentials;

  if (g_once_init_enter (&once))
    {
      gnutls_certificate_allocate_credentials (&credentials);
      g_once_init_leave (&once, 1);
    }
  return credentials;
}

gnutls_session_t
_ferry_nice_quic_tls_new (gboolean                client,
                          ngtcp2_crypto_conn_ref *conn_ref)
{
  gnutls_datum_t alpn = { (unsigned char *) QUIC_ALPN, sizeof QUIC_ALPN - 1 };
  unsigned flags = GNUTLS_NO_END_OF_EARLY_DATA |
                   (client ? GNUTLS_CLIENT : GNUTLS_SERVER | GNUTLS_NO_AUTO_SEND_TICKET);
  gnutls_session_t session = NULL;

  if (gnutls_init (&session, flags) != 0)
    return NULL;
  if (gnutls_priority_set_direct (session, QUIC_PRIORITY, NULL) != 0 ||
      (client ? ngtcp2_crypto_gnutls_configure_client_session (session)
              : ngtcp2_crypto_gnutls_configure_server_session (session)) != 0 ||
      gnutls_credentials_set (session, GNUTLS_CRD_CERTIFICATE,
                              client ? client_credentials () : server_credentials ()) != 0)
    {
      gnutls_deinit (session);
      return NULL;
    }

  gnutls_session_set_ptr (session, conn_ref);
  gnutls_alpn_set_protocols (session, &alpn, 1, GNUTLS_ALPN_MANDATORY);
  if (client)
    gnutls_server_name_set (session, GNUTLS_NAME_DNS, "ferry", 5);
  return session;
}
