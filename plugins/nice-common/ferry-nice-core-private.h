/* ferry-nice-core-private.h: what the files of a connection attempt share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * ferry-nice-core.c        the transport's entry points (describe, connect)
 * ferry-nice-gather.c      an attempt's agents and their candidates
 * ferry-nice-attempt.c     choosing a leg, giving way to direct attempts
 * ferry-nice-candidates.c  candidates as text, the peer's description
 * ferry-nice-probe.c       why a server gave no candidate
 */
#pragma once

#include "ferry-nice-channel-private.h"

G_BEGIN_DECLS

#define MAX_REMOTE_CANDIDATES  64
#define MAX_CANDIDATE_LENGTH   512
#define PROBE_TIMEOUT_MS       1000
#define HOLD_POLL_MS           50
#define DIRECT_KEY             "ferry-nice-direct-attempts"
#define FERRY_NICE_UDP_PROTOCOL "quic-1"
/* libnice's type preference of relayed candidates allocated over UDP (over
 * TCP: 20), RFC 5245 priorities */
#define RELAYED_UDP_TYPE_PREFERENCE 30

/* What the direct (ice) attempts of an engine are doing, for the relayed
 * (turn) ones, which give way to them for a while: a table on the engine
 * (attempt id → DirectState), shared by the copies of this library in the
 * two plugins. */
typedef enum {
  DIRECT_NONE,
  DIRECT_PENDING,
  DIRECT_CONNECTED,
  DIRECT_FAILED,
  DIRECT_UNLIKELY,    /* pending, but the candidates say it cannot connect */
} DirectState;


/* What the STUN server (or, for [ice] relay, the TURN servers) did
 * lately: an attempt waits for their candidates only while they may
 * answer. */
typedef enum {
  STUN_UNKNOWN,     /* not probed yet */
  STUN_ANSWERS,
  STUN_SILENT,      /* the probe or the last gathering got no answer */
} StunState;

struct _FerryNiceCore
{
  FerryTransport  *transport;     /* owner */
  GMainContext    *context;
  FerryNiceConfig *config;
  GHashTable      *attempts;      /* id → NiceAttempt */
  gboolean         started;
  char            *stun_ip;       /* the STUN server's address, resolved */
  GCancellable    *resolving;
  StunState        stun_state;
  GCancellable    *stun_probing;
  StunState        turn_state;    /* the TURN servers, any of them */
  GCancellable    *turn_probing;
};

typedef struct _NiceAttempt NiceAttempt;

enum { LEG_UDP, LEG_TCP, N_LEGS };

typedef struct
{
  NiceAttempt      *attempt;
  gboolean          tcp;
  FerryNiceChannel *channel;
  NiceAgent        *agent;         /* the channel's */
  guint             stream_id;
  gulong            gathering_id;
  gulong            candidate_id;
  gboolean          gathered;
  gboolean          stun;          /* asks the STUN server */
  gboolean          turn;          /* asks the TURN servers */
  gboolean          paired;        /* has the peer's candidates */
  gboolean          writable;
  gboolean          readable;
  gboolean          failed;
} NiceLeg;

struct _NiceAttempt
{
  FerryNiceCore    *core;
  char             *id;
  gboolean          offerer;
  NiceLeg          *legs[N_LEGS];  /* NULL when disabled */

  GSource          *gather_timeout;
  gboolean          gathered;
  GPtrArray        *describe_tasks;
  JsonObject       *description;
  char             *local_summary;
  char             *note;          /* what the servers did not give */
  gboolean          no_candidates; /* turn: no relay address */
  gboolean          local_natted;  /* our STUN server saw another address */
  gboolean          remote_natted; /* so did the peer's */
  gboolean          direct_unlikely; /* see ferry-nice-reach.c */
  gboolean          probing;

  GTask            *connect_task;
  GSource          *connect_timeout;
  GSource          *cancel_source;
  GSource          *prefer_timeout;
  gboolean          prefer_expired;
  GSource          *hold_source;   /* turn: waits for the direct attempt */
  gint64            connect_start;
  char             *remote_summary;
};

static inline void
nice_clear_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

static inline const char *
transport_name (NiceAttempt *attempt)
{
  return attempt->core->config->name;
}

/* ferry-nice-candidates.c */
const char  *_ferry_nice_candidate_type_name       (NiceCandidateType    type);
gboolean     _ferry_nice_candidate_is_tcp          (const NiceCandidate *candidate);
/* "host, srflx (udp, tcp)" */
char        *_ferry_nice_summarize_candidates      (GSList              *candidates);
void         _ferry_nice_free_candidates           (GSList              *candidates);
char        *_ferry_nice_selected_pair_description (NiceAttempt         *attempt,
                                                    NiceLeg             *leg);
/* "ice (udp, srflx↔srflx)", "turn (tcp relay via HOST:PORT, relay↔relay)" */
char        *_ferry_nice_pair_description          (const char          *name,
                                                    const NiceCandidate *local,
                                                    const NiceCandidate *remote);
const char  *_ferry_nice_get_string_member         (JsonObject          *object,
                                                    const char          *name);
gboolean     _ferry_nice_parse_remote              (NiceAttempt         *attempt,
                                                    JsonObject          *remote,
                                                    const char         **ufrag,
                                                    const char         **pwd,
                                                    GSList             **candidates,
                                                    GError             **error);

/* ferry-nice-probe.c */
/* Diagnoses in the background why the TURN servers gave no relay address;
 * a pending connect fails once the diagnosis is in. */
void         _ferry_nice_attempt_probe_relays      (NiceAttempt         *attempt);
/* Asks the STUN server once, in the background: a silent one is not
 * waited for (see _ferry_nice_core_stun_learned). */
void         _ferry_nice_core_probe_stun           (FerryNiceCore       *core);
/* The same for the TURN servers of [ice] relay (see
 * _ferry_nice_core_turn_learned); once at a time. */
void         _ferry_nice_core_probe_turn           (FerryNiceCore       *core);
GError      *_ferry_nice_relay_failure             (NiceAttempt         *attempt);

/* ferry-nice-reach.c */
gboolean     _ferry_nice_address_is_private        (GInetAddress        *address);
/* The networks of this host's interfaces (GInetAddressMask). */
GPtrArray   *_ferry_nice_local_networks            (void);
/* Whether a direct pair may connect, judging by our candidates (@local),
 * the peer's (@remote) and our @networks. */
gboolean     _ferry_nice_direct_possible           (GPtrArray           *networks,
                                                    GSList              *local,
                                                    GSList              *remote);

/* ferry-nice-gather.c */
/* The STUN server answers or not: attempts that wait only for it go on. */
void         _ferry_nice_core_stun_learned         (FerryNiceCore       *core,
                                                    StunState            state,
                                                    const char          *how);
/* [ice] relay's TURN servers answer or not: the same for them. */
void         _ferry_nice_core_turn_learned         (FerryNiceCore       *core,
                                                    StunState            state,
                                                    const char          *how);
/* Whether @leg gathered a local candidate of @type. */
gboolean     _ferry_nice_leg_has_candidate         (NiceLeg             *leg,
                                                    NiceCandidateType    type);
NiceAttempt *_ferry_nice_attempt_new               (FerryNiceCore       *core,
                                                    const char          *id,
                                                    gboolean             offerer,
                                                    GError             **error);

/* ferry-nice-attempt.c */
void         _ferry_nice_attempt_free              (NiceAttempt         *attempt);
void         _ferry_nice_leg_event_cb              (FerryNiceChannel    *channel,
                                                    FerryNiceEvent       event,
                                                    gpointer             user_data);
/* The turn transport relays on the offerer's side: that agent uses only
 * its relayed candidates (force-relay) and describes only those. The
 * answerer reaches them from any candidate of its own, so the data crosses
 * the TURN server once (twice only when the answerer's own relay is all
 * that gets through, as before). */
static inline gboolean
_ferry_nice_attempt_forces_relay (NiceAttempt *attempt)
{
  return attempt->core->config->relay_only && attempt->offerer;
}

void         _ferry_nice_direct_set                (NiceAttempt         *attempt,
                                                    DirectState          state);
void         _ferry_nice_attempt_evaluate          (NiceAttempt         *attempt);
/* Takes @error. */
void         _ferry_nice_attempt_connect_fail      (NiceAttempt         *attempt,
                                                    GError              *error);
GError      *_ferry_nice_attempt_failure           (NiceAttempt         *attempt,
                                                    const char          *what);

G_END_DECLS
