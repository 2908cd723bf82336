/* ferry-nice-common.h: libnice code shared by the ice and turn transports
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * This static library is linked into two plugin modules, each loaded with
 * its own copy of it. The GTypes it defines get a per-module name: every
 * module that links it defines ferry_nice_type_prefix (e.g. "Ice"), so that
 * the two copies never register the same type name twice.
 */
#pragma once

#include <ferry/ferry.h>
#include <nice/agent.h>

G_BEGIN_DECLS

/* Defined by the plugin that links this library, e.g. "Ice" or "Turn". */
extern const char ferry_nice_type_prefix[];

/* ----------------------------------------------------------- servers */

/* A STUN or TURN server from the configuration. */
typedef struct {
  char          *host;       /* an IP address or a host name */
  guint16        port;
  char          *username;   /* TURN only */
  char          *password;   /* TURN only */
  NiceRelayType  type;       /* TURN only: NICE_RELAY_TYPE_TURN_UDP or _TCP */
  char          *display;    /* "HOST:PORT (udp)", for messages */
} FerryNiceServer;

void             _ferry_nice_server_free        (FerryNiceServer  *server);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerryNiceServer, _ferry_nice_server_free)

/* Parses "turn:USER:PASS@HOST:PORT[?transport=udp|tcp]". */
FerryNiceServer *_ferry_nice_parse_turn_url     (const char       *url,
                                                 GError          **error);
/* Parses "HOST:PORT" (PORT defaults to 3478 when missing). */
FerryNiceServer *_ferry_nice_parse_stun_server  (const char       *text,
                                                 GError          **error);

/* ------------------------------------------------------------ config */

typedef struct {
  const char *name;           /* "ice" or "turn", for messages */
  gboolean    udp;
  gboolean    tcp;
  gboolean    relay_only;     /* force-relay: the turn transport */
  FerryNiceServer *stun;      /* nullable */
  GPtrArray  *turn_servers;   /* FerryNiceServer; empty for ice */
  guint       gather_timeout_ms;
  guint       connect_timeout_ms;
  guint       relay_grace_ms;  /* turn: how long a relay gives way to ice */
  guint       tcp_preference_ms; /* ice: how long a working UDP pair waits
                                    for the TCP pair */
  gboolean    relay;          /* ice: the UDP agent gathers relayed
                                 candidates too, and moves to a direct
                                 pair when one succeeds later */
} FerryNiceConfig;

#define FERRY_NICE_DEFAULT_GATHER_TIMEOUT_MS 3000
#define FERRY_NICE_DEFAULT_CONNECT_TIMEOUT_S 10
#define FERRY_NICE_DEFAULT_RELAY_GRACE_MS    1500
#define FERRY_NICE_DEFAULT_TCP_PREFERENCE_MS 250

void             _ferry_nice_config_free        (FerryNiceConfig  *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerryNiceConfig, _ferry_nice_config_free)

gboolean         _ferry_nice_config_add_turn_servers (FerryNiceConfig     *config,
                                                      const char * const  *urls,
                                                      GError             **error);
/* Reads the [@name] group of the engine's configuration (see
 * ferry-nice-config.c for the keys). */
FerryNiceConfig *_ferry_nice_config_load        (FerryPluginContext  *context,
                                                 const char          *name,
                                                 gboolean             relay_only,
                                                 GError             **error);

/* ------------------------------------------------------------ stream */

typedef struct _FerryNiceChannel FerryNiceChannel;

/* The GIOStream handed to the core: blocking reads and writes from any
 * thread, while the agent only ever runs on its main context. */
GType            _ferry_nice_stream_get_type    (void);
#define FERRY_TYPE_NICE_STREAM (_ferry_nice_stream_get_type ())

/* ---------------------------------------------------------- transport */

/* A plugin's transport class calls these from its class_init and init:
 * every FerryTransport vfunc then delegates to a FerryNiceCore configured
 * from the [@group] section of ferry.conf. @group must be a static string. */
void             _ferry_nice_transport_class_init (FerryTransportClass *klass,
                                                   const char          *group,
                                                   gboolean             relay_only);
void             _ferry_nice_transport_init       (FerryTransport      *transport);

/* Everything a plugin's FerryTransport delegates to. Runs on the engine's
 * main context. */
typedef struct _FerryNiceCore FerryNiceCore;

FerryNiceCore   *_ferry_nice_core_new           (FerryTransport   *transport);
void             _ferry_nice_core_free          (FerryNiceCore    *core);
/* Takes @config over. */
void             _ferry_nice_core_start         (FerryNiceCore    *core,
                                                 FerryNiceConfig  *config);
void             _ferry_nice_core_stop          (FerryNiceCore    *core);
void             _ferry_nice_core_describe_async (FerryNiceCore      *core,
                                                  const char         *attempt_id,
                                                  gboolean            offerer,
                                                  GCancellable       *cancellable,
                                                  GAsyncReadyCallback callback,
                                                  gpointer            user_data);
JsonObject      *_ferry_nice_core_describe_finish (FerryNiceCore    *core,
                                                   GAsyncResult     *result,
                                                   GError          **error);
void             _ferry_nice_core_connect_async (FerryNiceCore      *core,
                                                 const char         *attempt_id,
                                                 gboolean            offerer,
                                                 JsonObject         *remote,
                                                 GCancellable       *cancellable,
                                                 GAsyncReadyCallback callback,
                                                 gpointer            user_data);
GIOStream       *_ferry_nice_core_connect_finish (FerryNiceCore     *core,
                                                  GAsyncResult      *result,
                                                  char             **description,
                                                  GError           **error);
void             _ferry_nice_core_release       (FerryNiceCore    *core,
                                                 const char       *attempt_id);

G_END_DECLS
