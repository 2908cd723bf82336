/* ferry-dht-signaling.c: signaling over the OpenDHT network
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Talks to the OpenDHT network through the REST API of one or more OpenDHT
 * proxies (`dhtnode --proxyserver PORT`), so it needs no DHT code in the
 * process. Keys are SHA-1 hex digests computed here:
 *
 *   SHA-1 ("ferry:account:" ACCOUNT-ID)  the announcements of the devices of
 *                                        an account (each device puts its
 *                                        own, again before it goes stale)
 *   SHA-1 ("ferry:inbox:" DEVICE-ID)     the inbox of a device: messages to
 *                                        it; the device listens on it
 *
 * A value is {"data": BASE64, "id": "U64", "type": T}; its data is a frame:
 *
 *   "FDH1" | kind ('A' announcement, 'M' message) |
 *   sender device id (64 lower-case hex digits) | the core's opaque blob
 *
 * The sender's device id is the route this plugin reports: a device is
 * reached through its inbox. The blobs are signed (and messages sealed to
 * the receiving device) by the core, which checks everything it is given;
 * anyone can write any key, so values are validated here only as far as
 * their shape goes, and junk is dropped and counted.
 *
 * Listens go through a SoupSession of their own (no timeout), so that open
 * listens never starve puts and gets. A listen that ends for any reason is
 * opened again with exponential backoff and jitter, on the next proxy when
 * the connection could not be made; values replayed by a new listen are
 * recognised by their data and skipped. Puts and gets fail over from proxy
 * to proxy.
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>
#include <gnutls/crypto.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <ferry/ferry.h>

#include "ferry-dht-value.h"

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

/**
 * FerryDhtSignaling:
 *
 * The `dht` signaling: devices publish signed announcements under a key
 * derived from their account id and receive sealed messages on an inbox key
 * derived from their device id, on the OpenDHT network, through OpenDHT
 * proxies listed in the `[dht]` group of `ferry.conf` (`proxies`).
 */
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

G_DEFINE_FINAL_TYPE (FerryDhtSignaling, ferry_dht_signaling, FERRY_TYPE_SIGNALING)

static void listen_connect (FerryDhtSignaling *self);
static void announce_now   (FerryDhtSignaling *self);
static void query_account  (FerryDhtSignaling *self,
                            const char        *account_id);

/* ------------------------------------------------------------------ helpers */

static char *
derive_key (const char *prefix,
            const char *id)
{
  g_autofree char *text = g_strconcat (prefix, id, NULL);

  return g_compute_checksum_for_string (G_CHECKSUM_SHA1, text, -1);
}

/* Value ids come from gnutls' generator: a guessable id would let anyone
 * overwrite or shadow this device's values on the DHT. */
static char *
random_value_id (void)
{
  guint64 id = 0;

  if (gnutls_rnd (GNUTLS_RND_NONCE, &id, sizeof id) < 0)
    return NULL;

  return g_strdup_printf ("%" G_GUINT64_FORMAT, id);
}

/* Attaches @source to the engine's context, calling @callback with @self;
 * returns it (the caller keeps the reference). */
static GSource *
timeout_attach (FerryDhtSignaling *self,
                GSource           *source,
                const char        *name,
                GSourceFunc        callback)
{
  g_source_set_static_name (source, name);
  g_source_set_callback (source, callback, self, NULL);
  g_source_attach (source, self->context);
  return source;
}

static void
clear_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

/* The delay before attempt number @failures + 1: exponential, capped, with
 * jitter (between half and all of it). */
static guint
backoff_ms (guint  failures,
            double max_seconds)
{
  double base = DHT_BACKOFF_BASE_MS * (double) (1u << MIN (failures, 16u));
  double cap = MAX (max_seconds * 1000.0, DHT_BACKOFF_BASE_MS);

  base = MIN (base, cap);
  return (guint) (base / 2 + g_random_double () * base / 2);
}

static void
drop_value (FerryDhtSignaling *self,
            const char        *where,
            const char        *reason)
{
  self->dropped++;
  g_debug ("dropped a value on %s: %s (%" G_GUINT64_FORMAT " dropped so far)",
           where, reason, self->dropped);
}

/* ----------------------------------------------------------- configuration */

static char *
normalize_proxy (const char  *text,
                 GError     **error)
{
  g_autoptr(GUri) uri = NULL;
  g_autofree char *trimmed = g_strstrip (g_strdup (text));
  g_autoptr(GError) local_error = NULL;
  const char *scheme;
  gsize len;

  /* HOST:PORT alone means http. */
  if (strstr (trimmed, "://") == NULL && trimmed[0] != '\0')
    {
      char *with_scheme = g_strconcat ("http://", trimmed, NULL);

      g_free (trimmed);
      trimmed = with_scheme;
    }

  uri = g_uri_parse (trimmed, G_URI_FLAGS_NONE, &local_error);
  if (uri == NULL)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG,
                   _("Invalid OpenDHT proxy URL “%s”: %s"), trimmed, local_error->message);
      return NULL;
    }
  scheme = g_uri_get_scheme (uri);
  if ((g_ascii_strcasecmp (scheme, "http") != 0 && g_ascii_strcasecmp (scheme, "https") != 0) ||
      g_uri_get_host (uri) == NULL || g_uri_get_host (uri)[0] == '\0' ||
      g_uri_get_query (uri) != NULL || g_uri_get_fragment (uri) != NULL ||
      g_uri_get_userinfo (uri) != NULL)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG,
                   _("Invalid OpenDHT proxy URL “%s”: give http://HOST:PORT or https://HOST:PORT"),
                   trimmed);
      return NULL;
    }

  len = strlen (trimmed);
  while (len > 0 && trimmed[len - 1] == '/')
    trimmed[--len] = '\0';
  return g_steal_pointer (&trimmed);
}

/* The proxies of [dht] proxies, or an error saying why there is none. */
static GPtrArray *
read_proxies (GKeyFile  *config,
              GError   **error)
{
  g_autofree char *value = NULL;
  g_auto(GStrv) parts = NULL;
  g_autoptr(GPtrArray) proxies = g_ptr_array_new_with_free_func (g_free);

  if (config != NULL)
    value = g_key_file_get_string (config, DHT_CONFIG_GROUP, "proxies", NULL);

  parts = g_strsplit_set (value != NULL ? value : "", ",; \t", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      char *proxy;

      if (parts[i][0] == '\0')
        continue;
      proxy = normalize_proxy (parts[i], error);
      if (proxy == NULL)
        return NULL;
      if (g_ptr_array_find_with_equal_func (proxies, proxy, g_str_equal, NULL))
        g_free (proxy);
      else
        g_ptr_array_add (proxies, proxy);
    }

  if (proxies->len == 0)
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_CONFIG,
                           _("no OpenDHT proxy configured: use --dht-proxy URL or [dht] proxies"));
      return NULL;
    }
  return g_steal_pointer (&proxies);
}

static double
config_get_double (GKeyFile   *config,
                   const char *key,
                   double      fallback,
                   double      min,
                   double      max)
{
  g_autoptr(GError) error = NULL;
  double value;

  if (config == NULL || !g_key_file_has_key (config, DHT_CONFIG_GROUP, key, NULL))
    return fallback;
  value = g_key_file_get_double (config, DHT_CONFIG_GROUP, key, &error);
  if (error != NULL)
    {
      g_message ("ferry.conf: [%s] %s: %s", DHT_CONFIG_GROUP, key, error->message);
      return fallback;
    }
  return CLAMP (value, min, max);
}

/* Whether something accepts connections at one of the proxies. */
static gboolean
probe_proxies (GPtrArray  *proxies,
               GError    **error)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GString) reasons = g_string_new (NULL);

  g_socket_client_set_timeout (client, DHT_PROBE_TIMEOUT);
  for (guint i = 0; i < proxies->len; i++)
    {
      const char *proxy = g_ptr_array_index (proxies, i);
      guint16 port = g_str_has_prefix (proxy, "https") ? 443 : 80;
      g_autoptr(GSocketConnection) connection = NULL;
      g_autoptr(GError) local_error = NULL;

      connection = g_socket_client_connect_to_uri (client, proxy, port, NULL, &local_error);
      if (connection != NULL)
        return TRUE;
      g_string_append_printf (reasons, "%s%s: %s", reasons->len ? "; " : "", proxy,
                              local_error->message);
    }

  g_set_error (error, G_IO_ERROR, G_IO_ERROR_HOST_UNREACHABLE,
               _("no OpenDHT proxy answers (%s)"), reasons->str);
  return FALSE;
}

static gboolean
ferry_dht_signaling_check (FerrySignaling  *signaling,
                           GError         **error)
{
  FerryEngine *engine = ferry_signaling_get_engine (signaling);
  g_autoptr(GPtrArray) proxies = NULL;

  if (engine == NULL)
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_CONFIG, _("no engine"));
      return FALSE;
    }

  proxies = read_proxies (ferry_engine_get_config (engine), error);
  if (proxies == NULL)
    return FALSE;

  return probe_proxies (proxies, error);
}

/* --------------------------------------------------------------- requests */

typedef struct {
  FerryDhtSignaling *self;
  char              *method;
  char              *path;
  GBytes            *body;
  SoupMessage       *message;
  GInputStream      *stream;
  GByteArray        *response;
  guint              first;
  guint              tries;
  guint              max_tries;
  char              *errors;
} Request;

static void
request_free (Request *request)
{
  g_object_unref (request->self);
  g_free (request->method);
  g_free (request->path);
  g_clear_pointer (&request->body, g_bytes_unref);
  g_clear_object (&request->message);
  g_clear_object (&request->stream);
  g_clear_pointer (&request->response, g_byte_array_unref);
  g_free (request->errors);
  g_free (request);
}

static void request_attempt (GTask *task);

static guint
request_proxy (Request *request)
{
  return (request->first + request->tries) % request->self->proxies->len;
}

/* This attempt failed: the next proxy, or the end. Takes @task. */
static void
request_failed (GTask      *task,
                const char *reason)
{
  Request *request = g_task_get_task_data (task);
  FerryDhtSignaling *self = request->self;
  const char *proxy = g_ptr_array_index (self->proxies, request_proxy (request));
  char *errors;

  g_debug ("%s %s%s: %s", request->method, proxy, request->path, reason);
  errors = g_strdup_printf ("%s%s%s: %s", request->errors ? request->errors : "",
                            request->errors ? "; " : "", proxy, reason);
  g_free (request->errors);
  request->errors = errors;
  g_clear_object (&request->stream);

  request->tries++;
  if (request->tries < request->max_tries && !self->stopped &&
      !g_cancellable_is_cancelled (g_task_get_cancellable (task)))
    {
      request_attempt (task);
      return;
    }

  if (!g_task_return_error_if_cancelled (task))
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED,
                             _("No OpenDHT proxy took the request (%s)"), request->errors);
  g_object_unref (task);
}

/* Reads the response, keeping at most DHT_MAX_RESPONSE bytes of it: a key
 * anyone can write to may hold much more. */
static void
request_read_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  GTask *task = user_data;
  Request *request = g_task_get_task_data (task);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  gsize size;

  bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, &error);
  if (bytes == NULL)
    {
      request_failed (task, error->message);
      return;
    }

  size = g_bytes_get_size (bytes);
  if (size > 0 && request->response->len + size <= DHT_MAX_RESPONSE)
    {
      g_byte_array_append (request->response, g_bytes_get_data (bytes, NULL), size);
      g_input_stream_read_bytes_async (request->stream, DHT_READ_SIZE, G_PRIORITY_DEFAULT,
                                       g_task_get_cancellable (task), request_read_cb, task);
      return;
    }

  if (size > 0)
    {
      /* Too much: keep the whole values read so far, drop the rest. */
      guint keep = request->response->len;

      while (keep > 0 && request->response->data[keep - 1] != '\n')
        keep--;
      g_debug ("%s%s: response larger than %u bytes, the rest is ignored",
               (char *) g_ptr_array_index (request->self->proxies, request_proxy (request)),
               request->path, (guint) DHT_MAX_RESPONSE);
      g_byte_array_set_size (request->response, keep);
    }

  request->self->preferred = request_proxy (request);
  g_clear_object (&request->stream);
  g_task_return_pointer (task, g_byte_array_free_to_bytes (g_steal_pointer (&request->response)),
                         (GDestroyNotify) g_bytes_unref);
  g_object_unref (task);
}

static void
request_sent_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  GTask *task = user_data;
  Request *request = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  guint status;

  request->stream = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  if (request->stream == NULL)
    {
      request_failed (task, error->message);
      return;
    }

  status = soup_message_get_status (request->message);
  if (!SOUP_STATUS_IS_SUCCESSFUL (status))
    {
      const char *phrase = soup_message_get_reason_phrase (request->message);
      g_autofree char *reason = g_strdup_printf ("HTTP %u %s", status, phrase ? phrase : "");

      request_failed (task, reason);
      return;
    }

  g_clear_pointer (&request->response, g_byte_array_unref);
  request->response = g_byte_array_new ();
  g_input_stream_read_bytes_async (request->stream, DHT_READ_SIZE, G_PRIORITY_DEFAULT,
                                   g_task_get_cancellable (task), request_read_cb, task);
}

static void
request_attempt (GTask *task)
{
  Request *request = g_task_get_task_data (task);
  FerryDhtSignaling *self = request->self;
  const char *proxy = g_ptr_array_index (self->proxies, request_proxy (request));
  g_autofree char *url = g_strconcat (proxy, request->path, NULL);

  g_clear_object (&request->message);
  request->message = soup_message_new (request->method, url);
  if (request->message == NULL)
    {
      request_failed (task, _("invalid URL"));
      return;
    }
  if (request->body != NULL)
    soup_message_set_request_body_from_bytes (request->message, "application/json", request->body);

  soup_session_send_async (self->session, request->message, G_PRIORITY_DEFAULT,
                           g_task_get_cancellable (task), request_sent_cb, task);
}

/* Sends @method @path (e.g. "/key/HASH") to the preferred proxy, then to
 * the others in turn until one succeeds. Returns the response body. */
static void
request_async (FerryDhtSignaling   *self,
               const char          *method,
               const char          *path,
               GBytes              *body,
               GCancellable        *cancellable,
               GAsyncReadyCallback  callback,
               gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  Request *request = g_new0 (Request, 1);

  g_task_set_source_tag (task, request_async);
  request->self = g_object_ref (self);
  request->method = g_strdup (method);
  request->path = g_strdup (path);
  request->body = body != NULL ? g_bytes_ref (body) : NULL;
  request->first = self->preferred;
  /* At least two tries: a kept-alive connection may have gone stale. */
  request->max_tries = MAX (self->proxies->len, 2);
  g_task_set_task_data (task, request, (GDestroyNotify) request_free);

  request_attempt (task);
}

static GBytes *
request_finish (FerryDhtSignaling  *self,
                GAsyncResult       *result,
                GError            **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Puts @payload, framed as @kind from this device, under @key. */
static void
put_async (FerryDhtSignaling   *self,
           const char          *key,
           char                 kind,
           GBytes              *payload,
           guint                type,
           GCancellable        *cancellable,
           GAsyncReadyCallback  callback,
           gpointer             user_data)
{
  g_autoptr(GByteArray) frame = g_byte_array_new ();
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autofree char *data = NULL;
  g_autofree char *id = random_value_id ();
  g_autofree char *path = g_strconcat ("/key/", key, NULL);
  char *text;
  gsize payload_size = 0;
  const guint8 *payload_data = g_bytes_get_data (payload, &payload_size);

  if (id == NULL)
    {
      g_task_report_new_error (self, callback, user_data, put_async,
                               G_IO_ERROR, G_IO_ERROR_FAILED,
                               _("No random numbers for a DHT value id"));
      return;
    }

  g_byte_array_append (frame, (const guint8 *) DHT_FRAME_MAGIC, DHT_FRAME_MAGIC_SIZE);
  g_byte_array_append (frame, (const guint8 *) &kind, 1);
  g_byte_array_append (frame, (const guint8 *) self->device_id, DHT_DEVICE_ID_SIZE);
  g_byte_array_append (frame, payload_data, payload_size);

  if ((frame->len + 2) / 3 * 4 > DHT_MAX_DATA_BASE64)
    {
      g_task_report_new_error (self, callback, user_data, put_async,
                               G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
                               _("The message is too large for the DHT (%u bytes)"),
                               frame->len);
      return;
    }
  data = g_base64_encode (frame->data, frame->len);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "data");
  json_builder_add_string_value (builder, data);
  json_builder_set_member_name (builder, "id");
  json_builder_add_string_value (builder, id);
  json_builder_set_member_name (builder, "type");
  json_builder_add_int_value (builder, type);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  text = json_to_string (root, FALSE);
  body = g_bytes_new_take (text, strlen (text));

  request_async (self, "POST", path, body, cancellable, callback, user_data);
}

static gboolean
put_finish (FerryDhtSignaling  *self,
            GAsyncResult       *result,
            GError            **error)
{
  g_autoptr(GBytes) body = NULL;

  if (g_async_result_is_tagged (result, put_async))
    return g_task_propagate_boolean (G_TASK (result), error);
  body = request_finish (self, result, error);
  return body != NULL;
}

/* ------------------------------------------------------------------ values */

static gboolean
seen_before (FerryDhtSignaling *self,
             const char        *data,
             gsize              len)
{
  g_autofree char *digest = g_compute_checksum_for_data (G_CHECKSUM_SHA1, (const guchar *) data, len);
  gint64 now = g_get_monotonic_time ();
  gint64 *when;

  if (g_hash_table_contains (self->seen, digest))
    return TRUE;

  if (g_hash_table_size (self->seen) >= DHT_MAX_SEEN)
    {
      GHashTableIter iter;
      gpointer value;

      /* Forget what is old; when that is not enough, forget everything: a
       * replay that gets through is dropped by the core anyway. */
      g_hash_table_iter_init (&iter, self->seen);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        if (now - *(gint64 *) value > DHT_SEEN_LIFETIME_US)
          g_hash_table_iter_remove (&iter);
      if (g_hash_table_size (self->seen) >= DHT_MAX_SEEN)
        g_hash_table_remove_all (self->seen);
    }

  when = g_new (gint64, 1);
  *when = now;
  g_hash_table_insert (self->seen, g_steal_pointer (&digest), when);
  return FALSE;
}

/* Handles one line of a get or a listen: one JSON value. @where names the
 * key for the debug output; @account is the account whose key holds
 * announcements. */
static void
handle_value (FerryDhtSignaling *self,
              const char        *line,
              gsize              len,
              char               expected_kind,
              const char        *account,
              const char        *where)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GBytes) payload = NULL;
  g_autofree char *route = NULL;
  const char *data = NULL;
  const char *reason = NULL;

  switch (_ferry_dht_value_parse (parser, line, len, &data, &reason))
    {
    case DHT_VALUE_IGNORE:
      return;
    case DHT_VALUE_DROP:
      drop_value (self, where, reason);
      return;
    case DHT_VALUE_OK:
      break;
    }

  /* A listen replays what is stored each time it is opened. */
  if (expected_kind == DHT_KIND_MESSAGE && seen_before (self, data, strlen (data)))
    {
      g_debug ("skipped a value seen before on %s", where);
      return;
    }

  if (_ferry_dht_value_decode (data, expected_kind, account, &route, &payload, &reason) != DHT_VALUE_OK)
    {
      drop_value (self, where, reason);
      return;
    }
  if (g_str_equal (route, self->device_id))
    return;

  if (expected_kind == DHT_KIND_MESSAGE)
    ferry_signaling_emit_message (FERRY_SIGNALING (self), payload, route);
  else
    ferry_signaling_emit_announcement (FERRY_SIGNALING (self), payload, route);
}

/* Splits @body into lines (one value each). */
static void
handle_values (FerryDhtSignaling *self,
               GBytes            *body,
               char               expected_kind,
               const char        *account,
               const char        *where)
{
  gsize size = 0;
  const char *data = g_bytes_get_data (body, &size);
  const char *end = data + size;

  if (size > DHT_MAX_RESPONSE)
    {
      drop_value (self, where, "response too large");
      return;
    }

  while (data < end && !self->stopped)
    {
      const char *newline = memchr (data, '\n', end - data);
      const char *line_end = newline != NULL ? newline : end;

      if ((gsize) (line_end - data) > DHT_MAX_LINE)
        drop_value (self, where, "value too large");
      else
        handle_value (self, data, line_end - data, expected_kind, account, where);
      data = line_end + 1;
    }
}

/* ------------------------------------------------------------------ listen */

static void
listen_teardown (FerryDhtSignaling *self)
{
  self->listen_generation++;
  if (self->listen_cancellable != NULL)
    g_cancellable_cancel (self->listen_cancellable);
  g_clear_object (&self->listen_cancellable);
  g_clear_object (&self->listen_message);
  g_clear_object (&self->listen_stream);
  clear_source (&self->listen_refresh_source);
  clear_source (&self->listen_watchdog_source);
  g_byte_array_set_size (self->line, 0);
  self->discarding = FALSE;
}

static gboolean
listen_retry_cb (gpointer user_data)
{
  FerryDhtSignaling *self = user_data;

  g_clear_pointer (&self->listen_retry_source, g_source_unref);
  listen_connect (self);
  return G_SOURCE_REMOVE;
}

/* The listen ended or could not start: tries again after a while. */
static void
listen_failed (FerryDhtSignaling *self,
               const char        *reason)
{
  const char *proxy = g_ptr_array_index (self->proxies, self->listen_proxy);
  gint64 established = self->listen_established;
  guint delay;

  listen_teardown (self);
  self->listen_established = 0;
  if (self->stopped)
    return;

  if (established == 0)
    {
      /* Could not connect: the next proxy, and a longer wait. */
      self->listen_failures++;
      self->listen_proxy = (self->listen_proxy + 1) % self->proxies->len;
    }
  else if (g_get_monotonic_time () - established < DHT_LISTEN_STABLE_US)
    self->listen_failures++;
  else
    self->listen_failures = 0;

  delay = backoff_ms (self->listen_failures, self->max_backoff);
  if (!self->listen_down)
    {
      self->listen_down = TRUE;
      if (established != 0)
        g_message (_("Listening through the OpenDHT proxy %s ended (%s); trying again"),
                   proxy, reason);
      else
        g_message (_("Cannot listen through the OpenDHT proxy %s (%s); trying again"),
                   proxy, reason);
    }
  g_debug ("listen through %s ended: %s; next attempt through %s in %u ms",
           proxy, reason, (char *) g_ptr_array_index (self->proxies, self->listen_proxy), delay);

  clear_source (&self->listen_retry_source);
  self->listen_retry_source = timeout_attach (self, g_timeout_source_new (delay),
                                              "[ferry-dht] listen retry", listen_retry_cb);
}

static void
listen_feed (FerryDhtSignaling *self,
             const guint8      *data,
             gsize              size)
{
  const guint8 *end = data + size;
  guint generation = self->listen_generation;

  while (data < end && !self->stopped && generation == self->listen_generation)
    {
      const guint8 *newline = memchr (data, '\n', end - data);
      const guint8 *chunk_end = newline != NULL ? newline : end;

      if (self->discarding)
        {
          /* The rest of a line that was too long. */
        }
      else if (self->line->len + (chunk_end - data) > DHT_MAX_LINE)
        {
          drop_value (self, "the inbox", "value too large");
          g_byte_array_set_size (self->line, 0);
          self->discarding = TRUE;
        }
      else
        g_byte_array_append (self->line, data, chunk_end - data);

      if (newline == NULL)
        break;

      if (!self->discarding)
        {
          g_autoptr(GByteArray) line = g_steal_pointer (&self->line);

          self->line = g_byte_array_new ();
          handle_value (self, (const char *) line->data, line->len, DHT_KIND_MESSAGE, NULL, "the inbox");
        }
      self->discarding = FALSE;
      data = newline + 1;
    }
}

static void
listen_read_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(FerryDhtSignaling) self = user_data;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  guint generation;

  bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, &error);
  if (self->stopped || G_INPUT_STREAM (source) != self->listen_stream)
    return;
  if (bytes == NULL)
    {
      listen_failed (self, error->message);
      return;
    }
  if (g_bytes_get_size (bytes) == 0)
    {
      /* A proxy that dies mid-listen looks like a clean end of stream. */
      listen_failed (self, _("the proxy closed the connection"));
      return;
    }

  generation = self->listen_generation;
  listen_feed (self, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  if (self->stopped || generation != self->listen_generation)
    return;

  g_input_stream_read_bytes_async (self->listen_stream, DHT_READ_SIZE, G_PRIORITY_DEFAULT,
                                   self->listen_cancellable, listen_read_cb, g_object_ref (self));
}

static gboolean
listen_refresh_cb (gpointer user_data)
{
  FerryDhtSignaling *self = user_data;

  /* A connection that silently died would never say so: renew it now and
   * then. Values replayed by the new listen are skipped. */
  g_clear_pointer (&self->listen_refresh_source, g_source_unref);
  g_debug ("renewing the listen");
  listen_teardown (self);
  self->listen_established = 0;
  listen_connect (self);
  return G_SOURCE_REMOVE;
}

static void
listen_sent_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(FerryDhtSignaling) self = user_data;
  SoupMessage *message = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  g_autoptr(GInputStream) stream = NULL;
  g_autoptr(GError) error = NULL;
  gboolean was_down;
  guint status;

  stream = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  if (self->stopped || message != self->listen_message ||
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (stream == NULL)
    {
      listen_failed (self, error->message);
      return;
    }
  status = soup_message_get_status (message);
  if (!SOUP_STATUS_IS_SUCCESSFUL (status))
    {
      g_autofree char *reason = g_strdup_printf ("HTTP %u", status);

      listen_failed (self, reason);
      return;
    }

  clear_source (&self->listen_watchdog_source);
  self->listen_stream = g_steal_pointer (&stream);
  self->listen_established = g_get_monotonic_time ();
  was_down = self->listen_down;
  if (self->listen_down)
    {
      self->listen_down = FALSE;
      g_message (_("Listening through the OpenDHT proxy %s again"),
                 (char *) g_ptr_array_index (self->proxies, self->listen_proxy));
    }
  g_debug ("listening on %s through %s", self->inbox_key,
           (char *) g_ptr_array_index (self->proxies, self->listen_proxy));

  /* After an outage the network may have lost what this device put. */
  if (self->listen_ever_up && was_down)
    announce_now (self);
  self->listen_ever_up = TRUE;

  if (self->listen_refresh > 0)
    self->listen_refresh_source = timeout_attach (self, g_timeout_source_new_seconds (self->listen_refresh),
                                                  "[ferry-dht] listen refresh", listen_refresh_cb);

  g_input_stream_read_bytes_async (self->listen_stream, DHT_READ_SIZE, G_PRIORITY_DEFAULT,
                                   self->listen_cancellable, listen_read_cb, g_object_ref (self));
}

/* The listen session has no timeout (a listen is idle most of the time),
 * so a proxy that accepts the connection but never answers is caught here. */
static gboolean
listen_watchdog_cb (gpointer user_data)
{
  FerryDhtSignaling *self = user_data;

  g_clear_pointer (&self->listen_watchdog_source, g_source_unref);
  listen_failed (self, _("no answer"));
  return G_SOURCE_REMOVE;
}

static void
listen_connect (FerryDhtSignaling *self)
{
  const char *proxy = g_ptr_array_index (self->proxies, self->listen_proxy);
  g_autofree char *url = g_strconcat (proxy, "/key/", self->inbox_key, "/listen", NULL);
  g_autoptr(SoupMessage) message = NULL;

  if (self->stopped)
    return;

  listen_teardown (self);
  message = soup_message_new (SOUP_METHOD_GET, url);
  if (message == NULL)
    {
      listen_failed (self, _("invalid URL"));
      return;
    }
  self->listen_cancellable = g_cancellable_new ();
  self->listen_message = g_object_ref (message);
  self->listen_watchdog_source = timeout_attach (self, g_timeout_source_new_seconds (self->request_timeout),
                                                "[ferry-dht] listen watchdog", listen_watchdog_cb);
  soup_session_send_async (self->listen_session, message, G_PRIORITY_DEFAULT,
                           self->listen_cancellable, listen_sent_cb, g_object_ref (self));
}

/* ---------------------------------------------------------------- announce */

static gboolean
announce_timeout_cb (gpointer user_data)
{
  FerryDhtSignaling *self = user_data;

  g_clear_pointer (&self->announce_source, g_source_unref);
  announce_now (self);
  return G_SOURCE_REMOVE;
}

static void
announce_done_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(FerryDhtSignaling) self = user_data;
  g_autoptr(GError) error = NULL;
  guint delay_ms;

  if (!put_finish (self, result, &error))
    {
      if (self->stopped)
        return;
      self->announce_failures++;
      delay_ms = MIN (backoff_ms (self->announce_failures + 2, self->max_backoff),
                      self->announce_interval * 1000);
      g_debug ("could not announce this device: %s; again in %u ms", error->message, delay_ms);
    }
  else
    {
      if (self->stopped)
        return;
      self->announce_failures = 0;
      delay_ms = self->announce_interval * 1000;
      g_debug ("announced this device under %s", self->account_key);
    }

  self->announcing = FALSE;
  clear_source (&self->announce_source);
  if (self->announce_again)
    {
      self->announce_again = FALSE;
      announce_now (self);
    }
  else
    self->announce_source = timeout_attach (self, g_timeout_source_new (delay_ms),
                                           "[ferry-dht] announce", announce_timeout_cb);
}

static void
announce_now (FerryDhtSignaling *self)
{
  FerryEngine *engine = ferry_signaling_get_engine (FERRY_SIGNALING (self));
  g_autoptr(GBytes) announcement = NULL;

  if (self->stopped || engine == NULL)
    return;
  if (self->announcing)
    {
      self->announce_again = TRUE;
      return;
    }

  announcement = ferry_engine_get_announcement (engine);
  if (g_bytes_get_size (announcement) == 0)
    return;

  clear_source (&self->announce_source);
  self->announcing = TRUE;
  put_async (self, self->account_key, DHT_KIND_ANNOUNCEMENT, announcement, DHT_TYPE_ANNOUNCEMENT,
             self->cancellable, announce_done_cb, g_object_ref (self));
}

/* ------------------------------------------------------------------ query */

typedef struct {
  FerryDhtSignaling *self;
  char              *account_id;
} QueryData;

static void
query_data_free (QueryData *data)
{
  g_object_unref (data->self);
  g_free (data->account_id);
  g_free (data);
}

static void
query_done_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  QueryData *data = user_data;
  FerryDhtSignaling *self = data->self;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;

  body = request_finish (self, result, &error);
  if (!self->stopped)
    {
      g_autofree char *where = g_strdup_printf ("account %.12s", data->account_id);
      gint64 *started = g_hash_table_lookup (self->querying, data->account_id);

      /* Done: a new query may start at once. */
      if (started != NULL)
        *started = 0;
      if (body == NULL)
        g_debug ("could not look up account %s: %s", data->account_id, error->message);
      else
        handle_values (self, body, DHT_KIND_ANNOUNCEMENT, data->account_id, where);
    }
  query_data_free (data);
}

static void
query_account (FerryDhtSignaling *self,
               const char        *account_id)
{
  g_autofree char *key = derive_key ("ferry:account:", account_id);
  g_autofree char *path = g_strconcat ("/key/", key, NULL);
  gint64 now = g_get_monotonic_time ();
  gint64 *started = g_hash_table_lookup (self->querying, account_id);
  QueryData *data;

  /* One lookup at a time per account, and not too often. */
  if (started != NULL && *started != 0 && now - *started < 10 * G_USEC_PER_SEC)
    return;
  if (started == NULL)
    {
      started = g_new0 (gint64, 1);
      g_hash_table_insert (self->querying, g_strdup (account_id), started);
    }
  *started = now;

  data = g_new0 (QueryData, 1);
  data->self = g_object_ref (self);
  data->account_id = g_strdup (account_id);
  request_async (self, SOUP_METHOD_GET, path, NULL, self->cancellable, query_done_cb, data);
}

/* The accounts looked up before, so that a new process can look them up
 * again at once (e.g. for `ferry peers`): ACCOUNTS_FILE in the home. */
#define ACCOUNTS_FILE "dht-accounts"

static char *
accounts_path (FerryDhtSignaling *self)
{
  FerryEngine *engine = ferry_signaling_get_engine (FERRY_SIGNALING (self));

  if (engine == NULL || ferry_engine_get_home (engine) == NULL)
    return NULL;
  return g_build_filename (ferry_engine_get_home (engine), ACCOUNTS_FILE, NULL);
}

static void
save_accounts (FerryDhtSignaling *self)
{
  g_autofree char *path = accounts_path (self);
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  GHashTableIter iter;
  gpointer key;

  if (path == NULL)
    return;
  g_hash_table_iter_init (&iter, self->accounts);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (!g_str_equal (key, self->account_id))
      g_string_append_printf (text, "%s\n", (char *) key);
  if (!g_file_set_contents_full (path, text->str, text->len, G_FILE_SET_CONTENTS_CONSISTENT,
                                 0600, &error))
    g_debug ("cannot save the accounts looked up: %s", error->message);
}

/* Adds the account ids of @text (separated by white space, commas or
 * semicolons) to @list; others are skipped. */
static void
parse_accounts (const char *text,
                GPtrArray  *list)
{
  g_auto(GStrv) parts = g_strsplit_set (text, ",; \t\r\n", -1);

  for (guint i = 0; parts[i] != NULL; i++)
    {
      g_autofree char *lower = g_ascii_strdown (parts[i], -1);

      if (_ferry_dht_is_lower_hex (lower, DHT_DEVICE_ID_SIZE))
        g_ptr_array_add (list, g_steal_pointer (&lower));
      else if (parts[i][0] != '\0')
        g_debug ("“%s” is not an account id", parts[i]);
    }
}

/* Returns TRUE when @account_id is new. */
static gboolean
remember_account (FerryDhtSignaling *self,
                  const char        *account_id)
{
  gint64 now = g_get_monotonic_time ();
  gboolean added = !g_hash_table_contains (self->accounts, account_id);

  if (!g_hash_table_contains (self->accounts, account_id) &&
      g_hash_table_size (self->accounts) >= DHT_MAX_ACCOUNTS)
    {
      GHashTableIter iter;
      gpointer key, value;
      gpointer oldest = NULL;
      gint64 oldest_time = G_MAXINT64;

      g_hash_table_iter_init (&iter, self->accounts);
      while (g_hash_table_iter_next (&iter, &key, &value))
        if (!g_str_equal (key, self->account_id) && *(gint64 *) value < oldest_time)
          {
            oldest_time = *(gint64 *) value;
            oldest = key;
          }
      if (oldest != NULL)
        {
          g_hash_table_remove (self->querying, oldest);
          g_hash_table_remove (self->accounts, oldest);
        }
    }
  g_hash_table_insert (self->accounts, g_strdup (account_id), g_memdup2 (&now, sizeof now));
  return added;
}

static void
ferry_dht_signaling_query (FerrySignaling *signaling,
                           const char     *account_id)
{
  FerryDhtSignaling *self = FERRY_DHT_SIGNALING (signaling);

  if (!self->started || self->stopped)
    return;

  if (account_id != NULL)
    {
      g_autofree char *lower = g_ascii_strdown (account_id, -1);

      /* The DHT can only be asked about a whole account id. */
      if (!_ferry_dht_is_lower_hex (lower, DHT_DEVICE_ID_SIZE))
        {
          g_debug ("cannot look up “%s”: not an account id", account_id);
          return;
        }
      if (remember_account (self, lower))
        save_accounts (self);
      query_account (self, lower);
      return;
    }

  /* The peers seen by any signaling may be online here too. */
  {
    FerryEngine *engine = ferry_signaling_get_engine (signaling);
    GListModel *peers = engine != NULL ? ferry_engine_get_peers (engine) : NULL;
    guint n = peers != NULL ? g_list_model_get_n_items (peers) : 0;
    gboolean added = FALSE;

    for (guint i = 0; i < n; i++)
      {
        g_autoptr(FerryPeer) peer = g_list_model_get_item (peers, i);
        const char *id = ferry_peer_get_account_id (peer);

        if (_ferry_dht_is_lower_hex (id, DHT_DEVICE_ID_SIZE) && !g_hash_table_contains (self->accounts, id))
          added |= remember_account (self, id);
      }
    if (added)
      save_accounts (self);
  }

  /* Everyone: every account looked up so far, and this one. */
  {
    g_autoptr(GPtrArray) accounts = g_ptr_array_new_with_free_func (g_free);
    gint64 now = g_get_monotonic_time ();
    GHashTableIter iter;
    gpointer key;

    g_hash_table_iter_init (&iter, self->accounts);
    while (g_hash_table_iter_next (&iter, &key, NULL))
      g_ptr_array_add (accounts, g_strdup (key));

    for (guint i = 0; i < accounts->len; i++)
      {
        const char *id = g_ptr_array_index (accounts, i);
        gint64 *started = g_hash_table_lookup (self->querying, id);

        if (started == NULL || now - *started >= DHT_MIN_QUERY_INTERVAL_US)
          query_account (self, id);
      }
  }
}

/* -------------------------------------------------------------------- send */

static void
send_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (put_finish (FERRY_DHT_SIGNALING (source), result, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
ferry_dht_signaling_send_async (FerrySignaling      *signaling,
                                const char          *route,
                                GBytes              *message,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  FerryDhtSignaling *self = FERRY_DHT_SIGNALING (signaling);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autofree char *key = NULL;

  g_task_set_source_tag (task, ferry_dht_signaling_send_async);

  if (!self->started || self->stopped)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                               _("The dht signaling is not running"));
      return;
    }
  if (!_ferry_dht_is_lower_hex (route, DHT_DEVICE_ID_SIZE))
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                               _("“%s” is not a device id"), route);
      return;
    }

  key = derive_key ("ferry:inbox:", route);
  put_async (self, key, DHT_KIND_MESSAGE, message, DHT_TYPE_MESSAGE,
             cancellable, send_done_cb, g_steal_pointer (&task));
}

static gboolean
ferry_dht_signaling_send_finish (FerrySignaling  *signaling,
                                 GAsyncResult    *result,
                                 GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, signaling), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ------------------------------------------------------------- start, stop */

static gboolean
ferry_dht_signaling_start (FerrySignaling  *signaling,
                           GError         **error)
{
  FerryDhtSignaling *self = FERRY_DHT_SIGNALING (signaling);
  FerryEngine *engine = ferry_signaling_get_engine (signaling);
  FerryIdentity *identity;
  GKeyFile *config;
  g_autofree char *user_agent = g_strdup_printf ("ferry/%s", PACKAGE_VERSION);

  if (self->started)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_BUSY, _("Already started"));
      return FALSE;
    }
  if (engine == NULL)
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_CONFIG, _("no engine"));
      return FALSE;
    }

  config = ferry_engine_get_config (engine);
  self->proxies = read_proxies (config, error);
  if (self->proxies == NULL)
    return FALSE;

  self->announce_interval = (guint) config_get_double (config, "announce-interval",
                                                       DHT_DEFAULT_ANNOUNCE_INTERVAL, 5, 240);
  self->request_timeout = (guint) config_get_double (config, "request-timeout",
                                                     DHT_DEFAULT_REQUEST_TIMEOUT, 1, 300);
  self->listen_refresh = (guint) config_get_double (config, "listen-refresh",
                                                    DHT_DEFAULT_LISTEN_REFRESH, 0, 86400);
  self->max_backoff = config_get_double (config, "max-backoff", DHT_DEFAULT_MAX_BACKOFF, 0.2, 3600);

  identity = ferry_engine_get_identity (engine);
  self->device_id = g_strdup (ferry_identity_get_device_id (identity));
  self->account_id = g_strdup (ferry_identity_get_account_id (identity));
  self->inbox_key = derive_key ("ferry:inbox:", self->device_id);
  self->account_key = derive_key ("ferry:account:", self->account_id);

  g_clear_pointer (&self->context, g_main_context_unref);
  self->context = g_main_context_ref_thread_default ();
  self->session = soup_session_new_with_options ("timeout", self->request_timeout,
                                                 "idle-timeout", 30,
                                                 "max-conns", 32,
                                                 "max-conns-per-host", 8,
                                                 "user-agent", user_agent,
                                                 NULL);
  /* Listens never time out, and never share connections with requests. */
  self->listen_session = soup_session_new_with_options ("timeout", 0,
                                                        "idle-timeout", 0,
                                                        "max-conns", 16,
                                                        "max-conns-per-host", 4,
                                                        "user-agent", user_agent,
                                                        NULL);
  self->cancellable = g_cancellable_new ();
  self->started = TRUE;

  g_debug ("inbox %s, account key %s, proxies %u", self->inbox_key, self->account_key,
           self->proxies->len);

  listen_connect (self);
  announce_now (self);
  /* This account's other devices, the accounts of [dht] accounts, and
   * those looked up before. */
  {
    g_autoptr(GPtrArray) accounts = g_ptr_array_new_with_free_func (g_free);
    g_autofree char *configured = g_key_file_get_string (config, DHT_CONFIG_GROUP, "accounts", NULL);
    g_autofree char *path = accounts_path (self);
    g_autofree char *saved = NULL;

    g_ptr_array_add (accounts, g_strdup (self->account_id));
    if (configured != NULL)
      parse_accounts (configured, accounts);
    if (path != NULL && g_file_get_contents (path, &saved, NULL, NULL))
      parse_accounts (saved, accounts);
    for (guint i = 0; i < accounts->len; i++)
      remember_account (self, g_ptr_array_index (accounts, i));
    for (guint i = 0; i < accounts->len; i++)
      query_account (self, g_ptr_array_index (accounts, i));
  }

  return TRUE;
}

static void
ferry_dht_signaling_stop (FerrySignaling *signaling)
{
  FerryDhtSignaling *self = FERRY_DHT_SIGNALING (signaling);

  if (!self->started || self->stopped)
    return;

  self->stopped = TRUE;
  g_cancellable_cancel (self->cancellable);
  listen_teardown (self);
  clear_source (&self->listen_retry_source);
  clear_source (&self->announce_source);
  soup_session_abort (self->listen_session);
  soup_session_abort (self->session);
}

static void
ferry_dht_signaling_dispose (GObject *object)
{
  ferry_dht_signaling_stop (FERRY_SIGNALING (object));

  G_OBJECT_CLASS (ferry_dht_signaling_parent_class)->dispose (object);
}

static void
ferry_dht_signaling_finalize (GObject *object)
{
  FerryDhtSignaling *self = FERRY_DHT_SIGNALING (object);

  g_clear_pointer (&self->proxies, g_ptr_array_unref);
  g_free (self->device_id);
  g_free (self->account_id);
  g_free (self->inbox_key);
  g_free (self->account_key);
  g_clear_object (&self->session);
  g_clear_object (&self->listen_session);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->listen_cancellable);
  g_clear_object (&self->listen_message);
  g_clear_object (&self->listen_stream);
  g_clear_pointer (&self->line, g_byte_array_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_hash_table_unref (self->accounts);
  g_hash_table_unref (self->querying);
  g_hash_table_unref (self->seen);

  G_OBJECT_CLASS (ferry_dht_signaling_parent_class)->finalize (object);
}

static void
ferry_dht_signaling_class_init (FerryDhtSignalingClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  FerrySignalingClass *signaling_class = FERRY_SIGNALING_CLASS (klass);

  object_class->dispose = ferry_dht_signaling_dispose;
  object_class->finalize = ferry_dht_signaling_finalize;

  signaling_class->check = ferry_dht_signaling_check;
  signaling_class->start = ferry_dht_signaling_start;
  signaling_class->stop = ferry_dht_signaling_stop;
  signaling_class->query = ferry_dht_signaling_query;
  signaling_class->send_async = ferry_dht_signaling_send_async;
  signaling_class->send_finish = ferry_dht_signaling_send_finish;
}

static void
ferry_dht_signaling_init (FerryDhtSignaling *self)
{
  self->line = g_byte_array_new ();
  self->accounts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->querying = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

static gboolean
dht_register_features (FerryPlugin  *plugin,
                       GError      **error)
{
  ferry_plugin_add_feature (plugin, "dht", FERRY_TYPE_DHT_SIGNALING, FERRY_RANK_PRIMARY);
  return TRUE;
}

FERRY_PLUGIN_DEFINE (dht, "dht",
                     "Finds devices and carries their messages over the OpenDHT network",
                     PACKAGE_VERSION, "LGPL-2.1-or-later",
                     dht_register_features)
