/* ferry-dht-private.h: the dht signaling's object, shared by its files
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * ferry-dht-signaling.c  the FerrySignaling object: start, stop, lookups of
 *                        accounts, sending messages
 * ferry-dht-proxy.c      the proxies: configuration, probe, REST requests
 *                        that fail over from one to the next
 * ferry-dht-values.c     puts, announcing this device, reading values
 * ferry-dht-listen.c     the listen on this device's inbox
 * ferry-dht-value.c      the format of a value (pure functions)
 */
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <ferry/ferry.h>

#include "ferry-dht-value.h"

G_BEGIN_DECLS

#define DHT_CONFIG_GROUP              "dht"

/* Value types, whose lifetime the DHT nodes know: 0 lives 10 minutes,
 * 5 (OpenDHT's ICE candidates, as Jami uses for connection requests) 1. */
#define DHT_TYPE_ANNOUNCEMENT         0
#define DHT_TYPE_MESSAGE              5

/* Longest line accepted from a listen or a get (one value). */
#define DHT_MAX_LINE                  (80 * 1024)
#define DHT_MAX_RESPONSE              (1024 * 1024)
#define DHT_READ_SIZE                 (16 * 1024)

#define DHT_DEFAULT_ANNOUNCE_INTERVAL 120
#define DHT_DEFAULT_REQUEST_TIMEOUT   15
#define DHT_DEFAULT_LISTEN_REFRESH    600
#define DHT_DEFAULT_MAX_BACKOFF       30.0
#define DHT_PROBE_TIMEOUT             3
#define DHT_BACKOFF_BASE_MS           200
/* A listen that lasted this long resets the backoff. */
#define DHT_LISTEN_STABLE_US          (10 * G_USEC_PER_SEC)

#define DHT_MAX_ACCOUNTS              256
#define DHT_MAX_SEEN                  4096
#define DHT_SEEN_LIFETIME_US          (15 * 60 * G_USEC_PER_SEC)
#define DHT_MIN_QUERY_INTERVAL_US     (300 * G_TIME_SPAN_MILLISECOND)

#define FERRY_TYPE_DHT_SIGNALING (ferry_dht_signaling_get_type ())
G_DECLARE_FINAL_TYPE (FerryDhtSignaling, ferry_dht_signaling, FERRY, DHT_SIGNALING, FerrySignaling)

struct _FerryDhtSignaling
{
  FerrySignaling  parent_instance;

  gboolean        started;
  gboolean        stopped;

  /* configuration */
  GPtrArray      *proxies;          /* base URLs, no trailing slash */
  guint           announce_interval;
  guint           request_timeout;
  guint           listen_refresh;
  double          max_backoff;

  char           *device_id;
  char           *account_id;
  char           *inbox_key;
  char           *account_key;

  GMainContext   *context;          /* the engine's, where every source goes */
  SoupSession    *session;          /* puts and gets */
  SoupSession    *listen_session;   /* listens only */
  GCancellable   *cancellable;      /* everything, cancelled by stop */
  guint           preferred;        /* proxy tried first by requests */

  /* the listen on the inbox */
  guint           listen_proxy;
  guint           listen_generation;
  GCancellable   *listen_cancellable;
  SoupMessage    *listen_message;
  GInputStream   *listen_stream;
  gint64          listen_established;  /* monotonic, 0 when not */
  guint           listen_failures;
  gboolean        listen_down;         /* an outage was reported */
  gboolean        listen_ever_up;
  GSource        *listen_retry_source;
  GSource        *listen_refresh_source;
  GSource        *listen_watchdog_source;
  GByteArray     *line;
  gboolean        discarding;

  /* announcements */
  gboolean        announcing;
  gboolean        announce_again;
  guint           announce_failures;
  GSource        *announce_source;

  /* lookups */
  GHashTable     *accounts;         /* account id → gint64 last used */
  GHashTable     *querying;         /* account id → gint64 last query start */

  GHashTable     *seen;             /* SHA-1 of the data → gint64 first seen */
  guint64         dropped;
};

/* ferry-dht-signaling.c */

/* Attaches @source to the engine's context, calling @callback with @self;
 * returns it (the caller keeps the reference). */
GSource   *_ferry_dht_timeout_attach    (FerryDhtSignaling    *self,
                                         GSource              *source,
                                         const char           *name,
                                         GSourceFunc           callback);
void       _ferry_dht_clear_source      (GSource             **source);
/* The delay before attempt number @failures + 1: exponential, capped,
 * with jitter (between half and all of it). */
guint      _ferry_dht_backoff_ms        (guint                 failures,
                                         double                max_seconds);

/* ferry-dht-proxy.c */

/* The proxies of [dht] proxies, or an error saying why there is none. */
GPtrArray *_ferry_dht_read_proxies      (FerryPluginContext   *context,
                                         GError              **error);
double     _ferry_dht_config_get_double (FerryPluginContext   *context,
                                         const char           *key,
                                         double                fallback,
                                         double                min,
                                         double                max);
/* Whether something accepts connections at one of the proxies. */
gboolean   _ferry_dht_probe_proxies     (GPtrArray            *proxies,
                                         GError              **error);
/* Sends @method @path (e.g. "/key/HASH") to the preferred proxy, then to
 * the others in turn until one succeeds. Returns the response body. */
void       _ferry_dht_request_async     (FerryDhtSignaling    *self,
                                         const char           *method,
                                         const char           *path,
                                         GBytes               *body,
                                         GCancellable         *cancellable,
                                         GAsyncReadyCallback   callback,
                                         gpointer              user_data);
GBytes    *_ferry_dht_request_finish    (FerryDhtSignaling    *self,
                                         GAsyncResult         *result,
                                         GError              **error);

/* ferry-dht-values.c */

void       _ferry_dht_drop_value        (FerryDhtSignaling    *self,
                                         const char           *where,
                                         const char           *reason);
/* Puts @payload, framed as @kind from this device, under @key. */
void       _ferry_dht_put_async         (FerryDhtSignaling    *self,
                                         const char           *key,
                                         char                  kind,
                                         GBytes               *payload,
                                         guint                 type,
                                         GCancellable         *cancellable,
                                         GAsyncReadyCallback   callback,
                                         gpointer              user_data);
gboolean   _ferry_dht_put_finish        (FerryDhtSignaling    *self,
                                         GAsyncResult         *result,
                                         GError              **error);
/* Handles one line of a get or a listen: one JSON value. */
void       _ferry_dht_handle_value      (FerryDhtSignaling    *self,
                                         const char           *line,
                                         gsize                 len,
                                         char                  expected_kind,
                                         const char           *account,
                                         const char           *where);
/* Handles a whole response, one value a line. */
void       _ferry_dht_handle_values     (FerryDhtSignaling    *self,
                                         GBytes               *body,
                                         char                  expected_kind,
                                         const char           *account,
                                         const char           *where);
/* Puts this device's announcement now (or once the one under way ends),
 * then again every announce-interval. */
void       _ferry_dht_announce_now      (FerryDhtSignaling    *self);

/* ferry-dht-listen.c */

void       _ferry_dht_listen_connect    (FerryDhtSignaling    *self);
void       _ferry_dht_listen_teardown   (FerryDhtSignaling    *self);

G_END_DECLS
