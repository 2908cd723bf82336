/* ferry-transport.h: base class of transport plugins
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(FERRY_INSIDE) && !defined(FERRY_COMPILATION)
# error "Only <ferry/ferry.h> can be included directly."
#endif

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include "ferry-version-macros.h"

G_BEGIN_DECLS

typedef struct _FerryEngine FerryEngine;

#define FERRY_TYPE_TRANSPORT (ferry_transport_get_type ())

FERRY_AVAILABLE_IN_ALL
G_DECLARE_DERIVABLE_TYPE (FerryTransport, ferry_transport, FERRY, TRANSPORT, GObject)

/**
 * FerryTransportClass:
 * @parent_class: the parent class
 * @start: start listening, if the transport listens; called once on the
 *   engine's main context
 * @stop: stop listening and drop every pending attempt
 * @describe_async: prepare the local end of the connection attempt
 *   @attempt_id and return, as a JSON object, what the peer needs to reach
 *   it (addresses, ports, tokens, credentials). The offerer is asked first;
 *   the answerer is asked after it received the offerer's description.
 * @describe_finish: finishes @describe_async
 * @connect_async: connect the attempt @attempt_id to the peer whose
 *   description is @remote; resolves to a #GIOStream whose streams support
 *   blocking reads and writes from another thread
 * @connect_finish: finishes @connect_async; @description is set to a short
 *   text for the chain, e.g. `lan (tcp 192.0.2.1:4711)`
 * @release: forget everything kept for @attempt_id
 * @dup_listen_addresses: what the transport listens on, for display, e.g.
 *   `tcp:127.0.0.1:40123`; %NULL or empty when it does not listen
 * @check: whether the configuration lets the instance work at all (e.g. a
 *   server is configured); on %FALSE the engine leaves it inactive and shows
 *   the error's message as the reason. Called before @start.
 *
 * A transport makes a byte stream between two devices. The same attempt id
 * is used on both sides; @offerer tells which side a call is made on.
 *
 * Identity is never the transport's job: the core runs its TLS 1.3 channel,
 * with both device certificates pinned to the expected account and device,
 * inside whatever stream a transport returns. A transport that encrypts on
 * its own (the `ice` and `turn` plugins carry their UDP pairs and relays
 * over QUIC, whose TLS is mandatory) does so with a throwaway key that only
 * protects its own framing; it does not authenticate the peer, and the
 * core does not trust it to. This costs a second encryption (AES-GCM runs
 * at over 2 GB/s per core here, far above any network path) and one more
 * round trip to connect (the inner TLS handshake over the outer QUIC one),
 * and keeps one audited place where peers are authenticated; the
 * alternative, handing the core a channel some plugin authenticated, would
 * need a new SDK contract and trust in every plugin's certificate checks.
 */
struct _FerryTransportClass
{
  GObjectClass parent_class;

  gboolean    (*start)           (FerryTransport       *self,
                                  GError              **error);
  void        (*stop)            (FerryTransport       *self);
  void        (*describe_async)  (FerryTransport       *self,
                                  const char           *attempt_id,
                                  gboolean              offerer,
                                  GCancellable         *cancellable,
                                  GAsyncReadyCallback   callback,
                                  gpointer              user_data);
  JsonObject *(*describe_finish) (FerryTransport       *self,
                                  GAsyncResult         *result,
                                  GError              **error);
  void        (*connect_async)   (FerryTransport       *self,
                                  const char           *attempt_id,
                                  gboolean              offerer,
                                  JsonObject           *remote,
                                  GCancellable         *cancellable,
                                  GAsyncReadyCallback   callback,
                                  gpointer              user_data);
  GIOStream  *(*connect_finish)  (FerryTransport       *self,
                                  GAsyncResult         *result,
                                  char                **description,
                                  GError              **error);
  void        (*release)         (FerryTransport       *self,
                                  const char           *attempt_id);
  char      **(*dup_listen_addresses) (FerryTransport  *self);

  gboolean    (*check)           (FerryTransport       *self,
                                  GError              **error);

  /*< private >*/
  gpointer _ferry_reserved[11];
};

FERRY_AVAILABLE_IN_ALL
FerryEngine *ferry_transport_get_engine      (FerryTransport       *self);
FERRY_AVAILABLE_IN_ALL
const char  *ferry_transport_get_name        (FerryTransport       *self);
FERRY_AVAILABLE_IN_ALL
guint        ferry_transport_get_rank        (FerryTransport       *self);
FERRY_AVAILABLE_IN_ALL
gboolean     ferry_transport_check           (FerryTransport       *self,
                                              GError              **error);
FERRY_AVAILABLE_IN_ALL
gboolean     ferry_transport_start           (FerryTransport       *self,
                                              GError              **error);
FERRY_AVAILABLE_IN_ALL
void         ferry_transport_stop            (FerryTransport       *self);
FERRY_AVAILABLE_IN_ALL
void         ferry_transport_describe_async  (FerryTransport       *self,
                                              const char           *attempt_id,
                                              gboolean              offerer,
                                              GCancellable         *cancellable,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data);
FERRY_AVAILABLE_IN_ALL
JsonObject  *ferry_transport_describe_finish (FerryTransport       *self,
                                              GAsyncResult         *result,
                                              GError              **error);
FERRY_AVAILABLE_IN_ALL
void         ferry_transport_connect_async   (FerryTransport       *self,
                                              const char           *attempt_id,
                                              gboolean              offerer,
                                              JsonObject           *remote,
                                              GCancellable         *cancellable,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data);
FERRY_AVAILABLE_IN_ALL
GIOStream   *ferry_transport_connect_finish  (FerryTransport       *self,
                                              GAsyncResult         *result,
                                              char                **description,
                                              GError              **error);
FERRY_AVAILABLE_IN_ALL
char       **ferry_transport_dup_listen_addresses (FerryTransport *self);
FERRY_AVAILABLE_IN_ALL
void         ferry_transport_release         (FerryTransport       *self,
                                              const char           *attempt_id);
FERRY_AVAILABLE_IN_ALL
void         ferry_transport_path_changed    (FerryTransport       *self,
                                              const char           *attempt_id,
                                              const char           *description,
                                              guint64               carried);

G_END_DECLS
