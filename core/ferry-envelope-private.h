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
 *     "body": { ... } }
 */
typedef struct {
  char       *id;
  char       *type;
  char       *from_account;
  char       *from_device;
  char       *from_name;
  char       *to;
  gint64      timestamp_ms;
  char       *chain_pem;
  JsonObject *body;          /* never NULL (empty object if absent) */
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

G_END_DECLS
