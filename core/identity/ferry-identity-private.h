/* ferry-identity-private.h: keys, certificates and signatures
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <gnutls/abstract.h>

#include "ferry-identity.h"

G_BEGIN_DECLS

/*
 * An identity directory holds (all mode 0600, directory 0700):
 *   account.key   account private key (Ed25519, PKCS#8 PEM)
 *   account.crt   self-signed account certificate (PEM)
 *   device.key    device private key (Ed25519, PKCS#8 PEM)
 *   device.crt    device certificate signed by the account key (PEM)
 *   name          display name (optional; defaults to the host name)
 *
 * Account id / device id: lower-case hex SHA-256 of the DER
 * SubjectPublicKeyInfo of the account / device public key (64 chars).
 */

/* The credentials TLS uses: the chain [device.crt, account.crt] and
 * device.key. Owned by @self. */
gnutls_certificate_credentials_t _ferry_identity_get_credentials (FerryIdentity *self);

/* The PEM text of device.crt followed by account.crt. */
const char *_ferry_identity_get_chain_pem (FerryIdentity  *self);

/* Signs @data with the device key (Ed25519). */
GBytes     *_ferry_identity_sign          (FerryIdentity  *self,
                                           const guint8   *data,
                                           gsize           len,
                                           GError        **error);

/* Lower-case hex SHA-256 of the DER SubjectPublicKeyInfo of @key. */
char       *_ferry_pubkey_fingerprint     (gnutls_pubkey_t key);

/* Checks a chain of two certificates [device, account]: the account
 * certificate is self-signed, the device certificate is signed by the
 * account key, both are within their validity period. On success sets
 * @account_id and @device_id (fingerprints of the two public keys) when
 * not NULL. Errors: FERRY_ERROR_PEER_UNTRUSTED. */
gboolean    _ferry_x509_chain_verify      (const gnutls_datum_t *certs_der,
                                           guint                 n_certs,
                                           char                **account_id,
                                           char                **device_id,
                                           GError              **error);

/* The same on a PEM text holding the two certificates. */
gboolean    _ferry_chain_pem_verify       (const char     *chain_pem,
                                           char          **account_id,
                                           char          **device_id,
                                           GError        **error);

/* Verifies an Ed25519 signature made by the device key of the (first)
 * certificate of @chain_pem. The chain itself is not checked here. */
gboolean    _ferry_chain_pem_verify_signature (const char   *chain_pem,
                                               const guint8 *data,
                                               gsize         len,
                                               GBytes       *signature,
                                               GError      **error);

/* Encryption keys. Each device also has an X25519 key pair in
 * device-x25519.key (0600, created on first use, replaced along with the
 * device key). The public half is published in the device's signed
 * messages; the private half never leaves the identity. */
#define FERRY_X25519_KEY_SIZE 32

/* The device's X25519 public key, FERRY_X25519_KEY_SIZE bytes. */
const guint8 *_ferry_identity_get_x25519_public (FerryIdentity  *self);

/* X25519 of the device's private key and @peer_public into @shared (both
 * FERRY_X25519_KEY_SIZE bytes). Fails (FERRY_ERROR_BAD_MESSAGE) on a
 * low-order @peer_public. */
gboolean      _ferry_identity_x25519_agree      (FerryIdentity  *self,
                                                 const guint8   *peer_public,
                                                 guint8         *shared,
                                                 GError        **error);

/* The X25519 public keys of other devices, as their verified messages
 * announced them. A key carried by an older message (@timestamp_ms) does
 * not replace a newer one. Bounded; the oldest entries go first. */
void          _ferry_identity_remember_peer_key (FerryIdentity  *self,
                                                 const char     *device_id,
                                                 const guint8   *key,
                                                 gint64          timestamp_ms);
gboolean      _ferry_identity_lookup_peer_key   (FerryIdentity  *self,
                                                 const char     *device_id,
                                                 guint8         *key);

G_END_DECLS
