/* ferry-lan-private.h: the lan transport's object, shared by its files
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * ferry-lan-transport.c   the FerryTransport object: start, stop, describe
 * ferry-lan-listener.c    the offerer side: listening sockets, connections
 *                         waiting for their token and their bounds
 * ferry-lan-connect.c     the answerer side: a staggered race between the
 *                         offerer's addresses
 * ferry-lan-description.c what goes in an offer, and how a peer's is read
 */
#pragma once

#include <ferry/ferry.h>

#include "ferry-lan-description.h"

G_BEGIN_DECLS

#define LAN_TOKEN_TIMEOUT_S    3
#define LAN_MAX_WAITING        64
#define LAN_MAX_WAITING_PER_ADDRESS 8
#define LAN_STAGGER_MS         100
#define LAN_CONNECT_TIMEOUT_S  10

#define FERRY_TYPE_LAN_TRANSPORT (ferry_lan_transport_get_type ())
G_DECLARE_FINAL_TYPE (FerryLanTransport, ferry_lan_transport, FERRY, LAN_TRANSPORT, FerryTransport)

typedef struct _LanAttempt  LanAttempt;
typedef struct _LanConnect  LanConnect;

struct _FerryLanTransport
{
  FerryTransport    parent_instance;

  GMainContext     *context;
  GSocketService   *service;
  GPtrArray        *listen_addresses;  /* GInetSocketAddress */

  GHashTable       *attempts;          /* attempt id → LanAttempt (offerer side) */
  GHashTable       *connects;          /* attempt id → LanConnect (answerer side) */
  GQueue            incoming;          /* LanIncoming waiting for their token, oldest first */
  gboolean          started;
};

/* The offerer side of one attempt. */
struct _LanAttempt
{
  char              *attempt_id;
  guint8             token[LAN_TOKEN_SIZE];
  gboolean           used;        /* a connection presented the token */
  GSocketConnection *connection;  /* arrived before connect_async */
  GTask             *task;        /* a pending connect_async */
  GSource           *cancel_source;
};

/* ferry-lan-transport.c */

/* Makes a connection ready for blocking reads and writes from worker
 * threads, and returns a description of its peer for the chain. */
char       *_ferry_lan_prepare_connection  (GSocketConnection  *connection,
                                            GSocketAddress     *remote);
void        _ferry_lan_close_connection    (GSocketConnection  *connection);

/* ferry-lan-listener.c */

/* Listens on @locals (GInetAddress), all on one port: @port, or one
 * picked for the first address when @port is 0; then accepts. */
gboolean    _ferry_lan_listen              (FerryLanTransport  *self,
                                            GPtrArray          *locals,
                                            guint16             port,
                                            GError            **error);
/* Closes the listening sockets and cancels every connection still
 * waiting for its token. */
void        _ferry_lan_unlisten            (FerryLanTransport  *self);
/* The attempt called @attempt_id, made with a new token if needed. */
LanAttempt *_ferry_lan_attempt_ensure      (FerryLanTransport  *self,
                                            const char         *attempt_id,
                                            GError            **error);
void        _ferry_lan_attempt_free        (LanAttempt         *attempt);
/* The offerer's connect_async: returns @task once a connection presents
 * the attempt's token. Takes @task. */
void        _ferry_lan_attempt_connect     (FerryLanTransport  *self,
                                            const char         *attempt_id,
                                            GTask              *task);

/* ferry-lan-connect.c */

/* The answerer's connect_async: races the addresses of @remote and writes
 * the token on the first connection made. Takes @task. */
void        _ferry_lan_connect_start       (FerryLanTransport  *self,
                                            const char         *attempt_id,
                                            JsonObject         *remote,
                                            GTask              *task);
void        _ferry_lan_connect_cancel      (LanConnect         *op);
void        _ferry_lan_connect_cancel_all  (FerryLanTransport  *self);

G_END_DECLS
