/* ferry-engine-private.h: the engine's state, shared by core/engine/
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The engine is one object whose code is split by concern:
 *
 *   ferry-engine.c            the object, its properties, engine-wide helpers
 *   ferry-engine-start.c      start (also asynchronous), stop, close
 *   ferry-dispatch.c          signaling messages handed to their handlers
 *   ferry-engine-config.c     ferry.conf, home directory, chosen features
 *   ferry-engine-settings.c   the settings as typed properties
 *   ferry-plugin-instances.c  signaling/transport instances, plugin calls
 *   ferry-plugin-context.c    FerryPluginContext: what plugins ask of it
 *   ferry-directory.c         peers and devices seen, find_peer
 *   ferry-revocations.c       revoked devices
 *   ferry-messenger.c         build, seal and send messages; re-sending
 *   ferry-transfer-ops.c      what outgoing and incoming transfers share
 *   ferry-outgoing.c          one sub-transfer to one device
 *   ferry-send.c              sending to a peer or device, fan-out
 *   ferry-incoming.c          offers from other devices
 *   ferry-fetch.c             fetch (asking again) and answering requests
 *   ferry-engine-history.c    the history record of each transfer
 *
 * Everything here runs on the engine's main context (see
 * _ferry_engine_timeout_add()).
 */
#pragma once

#include <json-glib/json-glib.h>

#include "ferry-engine.h"
#include "ferry-account-private.h"
#include "ferry-enum-types.h"
#include "ferry-envelope-private.h"
#include "ferry-error.h"
#include "ferry-history-private.h"
#include "ferry-identity-private.h"
#include "negotiation/ferry-negotiation-private.h"
#include "negotiation/ferry-offer-private.h"
#include "ferry-peer-private.h"
#include "ferry-plugin.h"
#include "ferry-session-private.h"
#include "ferry-signaling.h"
#include "ferry-transfer-private.h"
#include "ferry-transport.h"
#include "ferry-utils-private.h"

G_BEGIN_DECLS

/* Default timeouts, overridable in ferry.conf [core]. */
#define FERRY_DEFAULT_OFFER_TIMEOUT_S    600
#define FERRY_DEFAULT_CONNECT_TIMEOUT_S  10
#define FERRY_DEFAULT_STAGGER_MS         150
/* A receiving transfer with no byte for this long counts as cut off. */
#define FERRY_DEFAULT_STALL_TIMEOUT_S    60
/* Devices not seen for this long are forgotten (`peer-expiry`). */
#define FERRY_DEFAULT_PEER_EXPIRY_S      600
/* How long a sender waits for a sign of life (a "pending" or an answer)
 * before it gives up on a device; then it waits for the answer as long as
 * the offer timeout. */
#define FERRY_ANSWER_TIMEOUT_MS          15000

/* Bounds on what strangers can make this device keep (ferry.conf [core]). */
#define FERRY_DEFAULT_MAX_PENDING_OFFERS              32
#define FERRY_DEFAULT_MAX_PENDING_OFFERS_PER_ACCOUNT  4
#define FERRY_DEFAULT_MAX_TRANSFERS                   16
#define FERRY_DEFAULT_MAX_TRANSFERS_PER_PEER          4
#define FERRY_DEFAULT_MAX_PEERS                       256
#define FERRY_DEFAULT_HISTORY_MAX_RECORDS             1000
#define FERRY_DEFAULT_HISTORY_MAX_AGE_DAYS            365
#define FERRY_DEFAULT_PART_MAX_AGE_DAYS               30

typedef struct _FerryOutgoing FerryOutgoing;
typedef struct _FerryIncoming FerryIncoming;

struct _FerryEngine
{
  GObject           parent_instance;

  FerrySessionGroup *sessions;   /* this engine's sessions, waited for by close */

  char             *home;
  GKeyFile         *config;
  FerryIdentity    *identity;
  FerryRegistry    *registry;
  GMainContext     *context;

  char            **signaling_names;
  char            **transport_names;
  char            **interfaces;

  GListStore       *signalings;
  GListStore       *transports;
  GListStore       *peers;
  GListStore       *transfers;
  GHashTable       *peers_by_account;   /* account id → FerryPeer */
  GHashTable       *peer_seen;          /* account id → gint64 last seen (monotonic) */

  FerryReplayCache *replay;
  GBytes           *announcement;
  gint64            announcement_time;

  GHashTable       *outgoing;           /* transfer id → FerryOutgoing */
  GHashTable       *incoming;           /* transfer id → FerryIncoming */
  GPtrArray        *fanouts;            /* FanOut: sends open to late devices */
  GHashTable       *history;            /* transfer id → HistoryEntry */
  GPtrArray        *fetches;            /* GTask of fetch */
  GHashTable       *resent;             /* transfer id → gint64 when re-sent */
  GHashTable       *revoked;            /* device id set, from revocations.json */
  gint64            revoked_mtime;
  GPtrArray        *finds;              /* GTask of find_peer */

  guint             offer_timeout_s;
  guint             stall_timeout_s;
  guint             connect_timeout_s;
  guint             stagger_ms;
  guint             max_pending_offers;
  guint             max_pending_offers_per_account;
  guint             max_transfers;
  guint             max_transfers_per_peer;
  guint             max_peers;
  guint             history_max_records;
  guint             history_max_age_days;
  guint             part_max_age_days;
  guint64           send_rate_limit;    /* bytes/s of each outgoing transfer, 0: none */

  GFile            *download_dir;       /* set, or resolved on first use */
  guint             peer_expiry_s;      /* 0: peers are never forgotten */
  GSource          *expiry_source;
  GSource          *trim_source;        /* see _ferry_engine_schedule_trim() */
  gboolean          starting;           /* a start_async is under way */

  GHashTable       *inactive;           /* feature name → reason */
  char             *inactive_summary;

  gboolean          started;
  guint             dropped_messages;
};

/* ferry-engine.c */
gulong         _ferry_engine_task_on_cancel    (FerryEngine    *self,
                                                GTask          *task,
                                                GSourceFunc     func);
GSource       *_ferry_engine_timeout_add       (FerryEngine    *self,
                                                guint           interval_ms,
                                                GSourceFunc     func,
                                                gpointer        data);
GSource       *_ferry_engine_timeout_add_seconds (FerryEngine  *self,
                                                  guint         interval_s,
                                                  GSourceFunc   func,
                                                  gpointer      data);
void           _ferry_engine_schedule_trim     (FerryEngine    *self);
void           _ferry_engine_emit_transfer_requested (FerryEngine    *self,
                                                      FerryTransfer  *transfer);

/* ferry-dispatch.c */
/* Whether this device uses the loopback interface itself. */
gboolean       _ferry_engine_uses_loopback     (FerryEngine   *self);
void           _ferry_engine_announcement_received_cb (FerrySignaling *signaling,
                                                       GBytes         *announcement,
                                                       const char     *route,
                                                       FerryEngine    *self);
void           _ferry_engine_message_received_cb (FerrySignaling *signaling,
                                                  GBytes         *message,
                                                  const char     *route,
                                                  FerryEngine    *self);

/* ferry-engine-config.c */
gboolean       _ferry_engine_initable_init     (GInitable     *initable,
                                                GCancellable  *cancellable,
                                                GError       **error);
char         **_ferry_config_get_list          (GKeyFile      *config,
                                                const char    *group,
                                                const char    *key,
                                                const char    *fallback);

/* ferry-engine-settings.c: property ids of the settings, after the
 * engine's own */
#define FERRY_ENGINE_CONFIG_PROP_BASE 100
enum {
  FERRY_ENGINE_PROP_0 = FERRY_ENGINE_CONFIG_PROP_BASE,
  FERRY_ENGINE_PROP_SIGNALING_NAMES,
  FERRY_ENGINE_PROP_TRANSPORT_NAMES,
  FERRY_ENGINE_PROP_INTERFACES,
  FERRY_ENGINE_PROP_DHT_PROXIES,
  FERRY_ENGINE_PROP_TURN_SERVERS,
  FERRY_ENGINE_PROP_STUN_SERVER,
  FERRY_ENGINE_PROP_OFFER_TIMEOUT,
  FERRY_ENGINE_PROP_CONNECT_TIMEOUT,
  FERRY_ENGINE_PROP_PEER_EXPIRY,
  FERRY_ENGINE_PROP_DOWNLOAD_DIR,
  FERRY_ENGINE_PROP_SEND_RATE_LIMIT,
  FERRY_ENGINE_N_PROPS
};
void           _ferry_engine_notify_setting    (FerryEngine  *self,
                                                guint         prop_id);
void           _ferry_engine_config_install_properties (GObjectClass *klass);
gboolean       _ferry_engine_config_get_property (FerryEngine  *self,
                                                  guint         prop_id,
                                                  GValue       *value);
gboolean       _ferry_engine_config_set_property (FerryEngine  *self,
                                                  guint         prop_id,
                                                  const GValue *value);

/* ferry-plugin-instances.c */
GPtrArray     *_ferry_engine_prepare_features  (FerryEngine   *self,
                                                GError       **error);
void           _ferry_engine_check_features    (GPtrArray     *pending);
gboolean       _ferry_engine_activate_features (FerryEngine   *self,
                                                GPtrArray     *pending,
                                                GError       **error);
const char    *_ferry_engine_inactive_summary  (FerryEngine   *self);
GPtrArray     *_ferry_engine_list_local_addresses (FerryEngine *self);
GBytes        *_ferry_engine_dup_announcement  (FerryEngine   *self);

/* ferry-revocations.c */
gboolean       _ferry_engine_is_revoked        (FerryEngine   *self,
                                                const char    *account_id,
                                                const char    *device_id);
void           _ferry_engine_send_revocations  (FerryEngine   *self,
                                                FerryDevice   *device);
void           _ferry_engine_revocations_received (FerryEngine   *self,
                                                   FerryEnvelope *envelope);

/* ferry-directory.c */
void           _ferry_engine_schedule_expiry   (FerryEngine    *self);
FerryDevice   *_ferry_engine_remember_device   (FerryEngine    *self,
                                                FerryEnvelope  *envelope,
                                                FerrySignaling *signaling,
                                                const char     *route);
void           _ferry_engine_find_peer_check_all (FerryEngine *self);
void           _ferry_engine_find_peer_complete (FerryEngine *self,
                                                 GTask       *task);
void           _ferry_engine_query             (FerryEngine   *self,
                                                const char    *account_hint);

/* ferry-messenger.c */
char          *_ferry_engine_random_hex        (gsize          n_bytes);
GBytes        *_ferry_engine_build_message     (FerryEngine    *self,
                                                const char     *type,
                                                const char     *to,
                                                JsonObject     *body);
void           _ferry_engine_send_message      (FerryEngine    *self,
                                                FerrySignaling *signaling,
                                                const char     *route,
                                                GBytes         *message);
void           _ferry_engine_send_cancel       (FerryEngine    *self,
                                                FerrySignaling *signaling,
                                                const char     *route,
                                                const char     *to,
                                                const char     *transfer_id,
                                                const char     *reason);
void           _ferry_engine_send_reject       (FerryEngine    *self,
                                                FerrySignaling *signaling,
                                                const char     *route,
                                                const char     *to,
                                                const char     *transfer_id,
                                                const char     *reason);

typedef enum {
  FERRY_RETRY_OFFER,     /* 250, 750, 2000, 4000 ms, then stop */
  FERRY_RETRY_ANSWER,    /* 300, 1000, 2500 ms, then stop */
  FERRY_RETRY_REQUEST,   /* every second until stopped */
  FERRY_RETRY_QUERY,     /* every 500 ms until stopped */
} FerryRetryKind;

typedef struct _FerryRetry FerryRetry;
typedef void (*FerryRetryFunc) (gpointer data);

FerryRetry    *_ferry_retry_new                (FerryEngine    *engine,
                                                FerryRetryKind  kind,
                                                FerryRetryFunc  func,
                                                gpointer        data,
                                                GDestroyNotify  destroy);
void           _ferry_retry_free               (FerryRetry     *retry);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerryRetry, _ferry_retry_free)
FerryRetry    *_ferry_engine_send_repeatedly   (FerryEngine    *self,
                                                FerrySignaling *signaling,
                                                const char     *route,
                                                GBytes         *message,
                                                FerryRetryKind  kind);

/* ferry-transfer-ops.c */
GPtrArray     *_ferry_engine_list_transports   (FerryEngine   *self);
void           _ferry_engine_release_attempts  (GPtrArray     *transports,
                                                const char    *attempt_id);
FerryTransferState _ferry_engine_state_for_error (const GError *error);
char          *_ferry_engine_chain_text        (FerrySignaling *signaling,
                                                const char     *rest);
void           _ferry_engine_transport_path_changed (FerryEngine    *self,
                                                     const char     *attempt_id,
                                                     const char     *description,
                                                     guint64         carried,
                                                     FerryTransport *transport);

/* Callbacks find their operation again by transfer id: it may be gone. */
typedef struct {
  FerryEngine *engine;
  char        *id;
} FerryOpRef;

FerryOpRef    *_ferry_op_ref_new               (FerryEngine   *engine,
                                                const char    *id);
void           _ferry_op_ref_free              (FerryOpRef    *ref);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerryOpRef, _ferry_op_ref_free)

/* ferry-engine-history.c */
void           _ferry_engine_history_entry_free (gpointer      data);
JsonObject    *_ferry_engine_history_base      (FerryEngine   *self,
                                                FerryTransfer *transfer);
JsonObject    *_ferry_engine_history_extra     (JsonObject    *base,
                                                guint          index);
void           _ferry_engine_history_write     (FerryEngine   *self,
                                                FerryTransfer *transfer);

/* ferry-outgoing.c */
struct _FerryOutgoing
{
  FerryEngine    *engine;
  char           *id;
  FerryTransfer  *parent;       /* the aggregate */
  gboolean        resume;       /* a re-send: the receiver may resume */
  FerryTransfer  *transfer;
  FerryDevice    *device;
  FerrySignaling *signaling;
  char           *route;
  GPtrArray      *transports;
  GPtrArray      *session_files;
  FerryHashShare *hashes;       /* shared by the sub-transfers of @parent */
  FerryRateLimit *rate_limit;   /* shared by them too (NULL: none) */
  GCancellable   *cancellable;
  GBytes         *offer;
  FerrySession   *session;
  FerryRetry     *offer_retry;  /* until the answer comes */
  GSource        *answer_source;
  GSource        *accept_source;
  gboolean        answered;
  gboolean        pending;      /* the receiver shows the offer to its user */
};

void           _ferry_outgoing_free            (FerryOutgoing *op);
void           _ferry_engine_send_one          (FerryEngine   *self,
                                                FerryTransfer *parent,
                                                FerryDevice   *device,
                                                GPtrArray     *session_files,
                                                FerryHashShare *hashes,
                                                FerryRateLimit *rate_limit,
                                                const char    *sub_id,
                                                gboolean       resume);
void           _ferry_engine_outgoing_answer   (FerryEngine   *self,
                                                FerryEnvelope *envelope);
gboolean       _ferry_engine_outgoing_refused  (FerryEngine   *self,
                                                FerryEnvelope *envelope);
void           _ferry_engine_outgoing_pending  (FerryEngine   *self,
                                                FerryEnvelope *envelope);

/* ferry-send.c */
void           _ferry_fanout_free              (gpointer      data);
void           _ferry_engine_fanout_join       (FerryEngine   *self,
                                                FerryDevice   *device);
FerryTransfer *_ferry_engine_send_devices      (FerryEngine   *self,
                                                GPtrArray     *devices,
                                                const char    *account_id,
                                                GFile        **files,
                                                guint          n_files,
                                                JsonObject    *resend,
                                                GError       **error);

/* ferry-incoming.c */
struct _FerryIncoming
{
  FerryEngine    *engine;
  char           *id;
  FerryDevice    *device;
  FerrySignaling *signaling;
  char           *route;
  GPtrArray      *transports;
  GCancellable   *cancellable;
  JsonArray      *offered;
  FerryTransfer  *transfer;
  FerrySession   *session;
  GSource        *timeout_source;
  GFile          *directory;    /* once accepted */
  char          **parts;        /* the .part names recorded so far */
  gint64          parts_written_us; /* when they were last recorded */
  FerryRetry     *answer_retry; /* "pending" until decided, then the answer until a channel is up */
  FerryOfferFiles *offer;       /* what the offer said, held to the header */
  gboolean        accepted;     /* consent given: answer, connect, record */
  JsonObject     *resume;       /* a fetch's record: the .part files to resume */
};

void           _ferry_incoming_free            (FerryIncoming  *op);
void           _ferry_engine_incoming_offer    (FerryEngine    *self,
                                                FerryEnvelope  *envelope,
                                                FerrySignaling *signaling,
                                                const char     *route);
void           _ferry_engine_incoming_cancel   (FerryEngine    *self,
                                                FerryEnvelope  *envelope);

/* ferry-fetch.c */
void           _ferry_engine_fetch_device_seen (FerryEngine    *self,
                                                FerryDevice    *device);
gboolean       _ferry_engine_fetch_arrived     (FerryEngine    *self,
                                                FerryIncoming  *op);
void           _ferry_engine_fetch_resume_parts (JsonObject    *record,
                                                 GPtrArray     *session_files);
void           _ferry_engine_fetch_complete    (FerryEngine    *self,
                                                GTask          *task,
                                                FerryTransfer  *transfer,
                                                GError         *error);
void           _ferry_engine_request_received  (FerryEngine    *self,
                                                FerryEnvelope  *envelope,
                                                FerrySignaling *signaling,
                                                const char     *route);
void           _ferry_engine_request_refused   (FerryEngine    *self,
                                                FerryEnvelope  *envelope);

G_END_DECLS
