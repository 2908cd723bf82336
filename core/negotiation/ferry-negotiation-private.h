/* ferry-negotiation-private.h: choosing and racing transports
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <json-glib/json-glib.h>

#include "ferry-identity.h"
#include "ferry-transport.h"
#include "ferry-session-private.h"

G_BEGIN_DECLS

/* Asks every transport of @transports (FerryTransport, in order) to
 * describe its end of @attempt_id, in parallel. Resolves with a JsonArray
 * of {"name": ..., "params": {...}} in the same order, leaving out the
 * transports that failed or took longer than @timeout_ms (logged). The
 * timer runs on @context (the engine's). */
void        _ferry_negotiation_describe_async  (GMainContext        *context,
                                                GPtrArray           *transports,
                                                const char          *attempt_id,
                                                gboolean             offerer,
                                                guint                timeout_ms,
                                                GCancellable        *cancellable,
                                                GAsyncReadyCallback  callback,
                                                gpointer             user_data);
JsonArray  *_ferry_negotiation_describe_finish (GAsyncResult        *result,
                                                GError             **error);

typedef struct {
  FerryTransport *transport;
  JsonObject     *remote;       /* the peer's description of its end */
  gboolean        unreachable;  /* the answerer cannot reach the addresses
                                 * the offerer described: no later attempt
                                 * waits for this one */
} FerryRaceEntry;

void        _ferry_race_entry_free             (FerryRaceEntry      *entry);

/* The answerer's choice: the entries of @offered ({"name","params"}) whose
 * transport is among @local (FerryTransport), ordered by local rank, highest
 * first, and by the offer's order among equal ranks. Malformed entries and
 * unknown names are skipped. Returns a GPtrArray of FerryRaceEntry. */
GPtrArray  *_ferry_negotiation_select          (JsonArray           *offered,
                                                GPtrArray           *local);

typedef struct {
  GMainContext  *context;           /* the engine's: timers run there */
  FerryIdentity *identity;
  gboolean       offerer;           /* TLS client, sends the header */
  const char    *attempt_id;        /* the transfer id */
  const char    *peer_account_id;
  const char    *peer_device_id;
  guint          stagger_ms;        /* between attempt starts */
  guint          attempt_timeout_ms;
  gboolean       loopback;          /* this device uses loopback: so may the peer */
} FerryRaceParams;

JsonObject *_ferry_negotiation_filter_scope    (JsonObject          *remote,
                                                gboolean             loopback);

/* The networks of the interfaces named (all but loopback when @interfaces
 * is NULL or empty, as the engine chooses them): GInetAddressMask. */
GPtrArray  *_ferry_negotiation_local_networks  (const char * const  *interfaces);

/* Whether a description that lists "addresses" for the answerer to
 * connect to (as lan's does) lists none this device could reach: none on
 * one of @networks, none on loopback when @loopback, no public address
 * it has a route to, and no private one it has a route to other than the
 * default one. A private address reached by the default route lies in
 * another home or office, behind its router. FALSE for descriptions
 * without "addresses" (ICE candidates work both ways: no verdict). */
gboolean    _ferry_negotiation_unreachable     (JsonObject          *remote,
                                                GPtrArray           *networks,
                                                gboolean             loopback);

/* The answerer: marks the entries (FerryRaceEntry) whose offerer's
 * addresses it cannot reach, and returns their names for the answer's
 * "unreachable" member, or NULL when there are none. */
JsonArray  *_ferry_negotiation_judge           (GPtrArray           *entries,
                                                GPtrArray           *networks,
                                                gboolean             loopback);

/* The offerer: marks the entries the answer's "unreachable" member names
 * (a hint: at most a few names, unknown ones ignored). */
void        _ferry_negotiation_take_hints      (GPtrArray           *entries,
                                                JsonObject          *answer);

typedef struct {
  GIOStream    *stream;       /* the secure channel (offerer) */
  FerrySession *session;      /* answerer: a session whose header was read */
  GPtrArray    *files;        /* answerer: FerrySessionFile from the header */
  char         *transfer_id;  /* answerer: from the header */
  char         *chain;        /* e.g. "lan (tcp 127.0.0.1:1) → tls1.3/aes-256-gcm" */
  char         *transport_name;
} FerryRaceResult;

void        _ferry_race_result_free            (FerryRaceResult     *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerryRaceResult, _ferry_race_result_free)

/* Tries @entries (FerryRaceEntry, taken over) in order with staggered
 * starts: attempt i starts stagger_ms after attempt i-1, or at once when
 * every earlier attempt has failed or attempt i-1 is marked unreachable.
 * Each attempt gets attempt_timeout_ms to connect and secure the channel
 * (TLS 1.3 with the expected peer). The
 * offerer keeps the first secure channel; the answerer the first one on
 * which the session header arrives. The losers are closed. When every
 * attempt failed: FERRY_ERROR_NO_TRANSPORT with what each one tried. */
void             _ferry_negotiation_race_async  (GPtrArray              *entries,
                                                 const FerryRaceParams  *params,
                                                 GCancellable           *cancellable,
                                                 GAsyncReadyCallback     callback,
                                                 gpointer                user_data);
FerryRaceResult *_ferry_negotiation_race_finish (GAsyncResult           *result,
                                                 GError                **error);

G_END_DECLS
