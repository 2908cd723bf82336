/* ferry-envelope-private.h: signed signaling messages
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <json-glib/json-glib.h>
#include "ferry-identity.h"

G_BEGIN_DECLS

/* How far a message's timestamp may be from now, in both directions. */
#define FERRY_ENVELOPE_MAX_SKEW_US (5 * 60 * G_USEC_PER_SEC)
/* Largest envelope accepted, in bytes. */
#define FERRY_ENVELOPE_MAX_SIZE (48 * 1024)

/*
 * Wire format (UTF-8 JSON object):
 *   { "m": "<message JSON as a string>", "s": "<base64 Ed25519 signature of the bytes of m>" }
 * Message JSON:
 *   { "v": 1, "id": "<32 hex random>", "ts": <unix time in ms>,
 *     "type": "<announce|offer|answer|cancel|...>",
 *     "from": { "account": "<hex>", "device": "<hex>", "name": "<text>" },
 *     "to": "<device id hex>" or "*" (only for "announce"),
 *     "chain": "<PEM: device cert then account cert>",
 *     "x25519": "<base64 X25519 public key of the sender>" (optional),
 *     "body": { ... } }
 *
 * Every message but "announce" travels sealed to the receiving device
 * (binary, see _ferry_envelope_seal):
 *   "FSL1" | recipient device id (32 bytes) | sender device id (32 bytes) |
 *   ephemeral X25519 public key (32 bytes) | salt (16 bytes) |
 *   ChaCha20-Poly1305 ciphertext of the signed envelope | tag (16 bytes)
 * Key and nonce: HKDF-SHA256 (ikm = X25519 (ephemeral, recipient), salt,
 * info = "ferry seal v1" | ephemeral public key | recipient public key);
 * the AAD is the whole header, so both device ids are bound to it.
 */
typedef struct {
  char       *id;
  char       *type;
  char       *from_account;
  char       *from_device;
  char       *from_name;     /* cleaned and bounded (_ferry_sanitize_display_name), never empty */
  char       *to;
  gint64      timestamp_ms;
  char       *chain_pem;
  JsonObject *body;          /* never NULL (empty object if absent) */
  gboolean    has_x25519;    /* the sender's X25519 public key is in x25519 */
  guint8      x25519[32];
  gboolean    sealed;        /* it arrived sealed (_ferry_envelope_receive) */
} FerryEnvelope;

void           _ferry_envelope_free  (FerryEnvelope *envelope);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerryEnvelope, _ferry_envelope_free)

/* Builds and signs a message from @identity. @body may be NULL. */
GBytes        *_ferry_envelope_build (FerryIdentity  *identity,
                                      const char     *type,
                                      const char     *to,
                                      JsonObject     *body,
                                      GError        **error);

typedef struct _FerryReplayCache FerryReplayCache;

FerryReplayCache *_ferry_replay_cache_new  (void);
void              _ferry_replay_cache_free (FerryReplayCache *cache);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerryReplayCache, _ferry_replay_cache_free)

/* Parses and checks a message: size, JSON shape, chain (see
 * _ferry_x509_chain_verify) and that "from" matches the chain's ids,
 * signature, timestamp within FERRY_ENVELOPE_MAX_SKEW_US of now, "to" equal
 * to @own_device_id (or "*" for type "announce"), and, when @cache is not
 * NULL, that the id was not seen before (ids are then remembered).
 * Every failure is FERRY_ERROR_BAD_MESSAGE (or FERRY_ERROR_PEER_UNTRUSTED
 * for a bad chain) with a message saying what was wrong. */
FerryEnvelope *_ferry_envelope_parse (GBytes            *wire,
                                      const char        *own_device_id,
                                      FerryReplayCache  *cache,
                                      GError           **error);

/* Size a seal adds to an envelope. */
#define FERRY_SEAL_OVERHEAD (4 + 32 + 32 + 32 + 16 + 16)

/* Seals the signed envelope @plain to device @to_device_id (64 hex digits)
 * whose X25519 public key is @to_key, as @identity's device. */
GBytes        *_ferry_envelope_seal         (FerryIdentity     *identity,
                                             const char        *to_device_id,
                                             const guint8      *to_key,
                                             GBytes            *plain,
                                             GError           **error);

/* Whether @wire has the shape of a sealed envelope. */
gboolean       _ferry_envelope_is_sealed    (GBytes            *wire);

/* Opens a sealed envelope addressed to @identity's device: returns the
 * signed envelope inside (not checked yet) and the sender's device id from
 * the header. FERRY_ERROR_BAD_MESSAGE when it is not sealed, addressed to
 * another device, or does not decrypt. */
GBytes        *_ferry_envelope_open         (FerryIdentity     *identity,
                                             GBytes            *wire,
                                             char             **sender_device_id,
                                             GError           **error);

/* What a sender uses: builds and signs a message (_ferry_envelope_build),
 * then seals it to @to unless @to is "*". Fails when no X25519 key of @to
 * is known (see _ferry_identity_lookup_peer_key). */
GBytes        *_ferry_envelope_build_sealed (FerryIdentity     *identity,
                                             const char        *type,
                                             const char        *to,
                                             JsonObject        *body,
                                             GError           **error);

/* What a receiver uses: opens @wire when it is sealed, then checks it as
 * _ferry_envelope_parse does, and that the device that sealed it is the
 * one that signed it. Only "announce" messages may come unsealed. On
 * success the sender's X25519 key, when present, is remembered by
 * @identity. Every failure is logged (g_debug) and returned as with
 * _ferry_envelope_parse. */
FerryEnvelope *_ferry_envelope_receive      (FerryIdentity     *identity,
                                             GBytes            *wire,
                                             FerryReplayCache  *cache,
                                             GError           **error);

G_END_DECLS
