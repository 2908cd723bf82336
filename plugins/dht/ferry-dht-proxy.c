/* ferry-dht-proxy.c: the dht signaling's OpenDHT proxies: which ones,
 * whether one answers, and requests to them that fail over
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Puts and gets go through one SoupSession with a timeout, to the proxy
 * that answered last, then to the others in turn.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gi18n-lib.h>

#include "ferry-dht-private.h"

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
GPtrArray *
_ferry_dht_read_proxies (FerryPluginContext  *context,
                         GError             **error)
{
  g_autofree char *value = ferry_plugin_context_dup_setting (context, "proxies");
  g_auto(GStrv) parts = NULL;
  g_autoptr(GPtrArray) proxies = g_ptr_array_new_with_free_func (g_free);

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

double
_ferry_dht_config_get_double (FerryPluginContext *context,
                              const char         *key,
                              double              fallback,
                              double              min,
                              double              max)
{
  g_autoptr(GError) error = NULL;
  double value = fallback;

  if (!ferry_plugin_context_get_double_setting (context, key, &value, &error))
    {
      g_message ("ferry.conf: [%s] %s: %s", DHT_CONFIG_GROUP, key, error->message);
      return fallback;
    }
  /* g_ascii_strtod() reads "nan", which no bound can hold. */
  if (isnan (value))
    {
      g_message ("ferry.conf: [%s] %s: not a number", DHT_CONFIG_GROUP, key);
      return fallback;
    }
  return CLAMP (value, min, max);
}

/* Whether something accepts connections at one of the proxies. */
gboolean
_ferry_dht_probe_proxies (GPtrArray  *proxies,
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
void
_ferry_dht_request_async (FerryDhtSignaling   *self,
                          const char          *method,
                          const char          *path,
                          GBytes              *body,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  Request *request = g_new0 (Request, 1);

  g_task_set_source_tag (task, _ferry_dht_request_async);
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

GBytes *
_ferry_dht_request_finish (FerryDhtSignaling  *self,
                           GAsyncResult       *result,
                           GError            **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
