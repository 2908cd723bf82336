/* ferry-dht-listen.c: the dht signaling's listen on its inbox
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Listens go through a SoupSession of their own (no timeout), so that open
 * listens never starve puts and gets. A listen that ends for any reason is
 * opened again with exponential backoff and jitter, on the next proxy when
 * the connection could not be made; a watchdog catches a proxy that never
 * answers, and the listen is renewed now and then in case its connection
 * died silently. Values replayed by a new listen are recognised by their
 * data and skipped (ferry-dht-values.c).
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "ferry-dht-private.h"

void
_ferry_dht_listen_teardown (FerryDhtSignaling *self)
{
  self->listen_generation++;
  if (self->listen_cancellable != NULL)
    g_cancellable_cancel (self->listen_cancellable);
  g_clear_object (&self->listen_cancellable);
  g_clear_object (&self->listen_message);
  g_clear_object (&self->listen_stream);
  _ferry_dht_clear_source (&self->listen_refresh_source);
  _ferry_dht_clear_source (&self->listen_watchdog_source);
  g_byte_array_set_size (self->line, 0);
  self->discarding = FALSE;
}

static gboolean
listen_retry_cb (gpointer user_data)
{
  FerryDhtSignaling *self = user_data;

  g_clear_pointer (&self->listen_retry_source, g_source_unref);
  _ferry_dht_listen_connect (self);
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

  _ferry_dht_listen_teardown (self);
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

  delay = _ferry_dht_backoff_ms (self->listen_failures, self->max_backoff);
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

  _ferry_dht_clear_source (&self->listen_retry_source);
  self->listen_retry_source = _ferry_dht_timeout_attach (self, g_timeout_source_new (delay),
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
          _ferry_dht_drop_value (self, "the inbox", "value too large");
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
          _ferry_dht_handle_value (self, (const char *) line->data, line->len, DHT_KIND_MESSAGE, NULL, "the inbox");
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
  _ferry_dht_listen_teardown (self);
  self->listen_established = 0;
  _ferry_dht_listen_connect (self);
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

  _ferry_dht_clear_source (&self->listen_watchdog_source);
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
    _ferry_dht_announce_now (self);
  self->listen_ever_up = TRUE;

  if (self->listen_refresh > 0)
    self->listen_refresh_source = _ferry_dht_timeout_attach (self, g_timeout_source_new_seconds (self->listen_refresh),
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

void
_ferry_dht_listen_connect (FerryDhtSignaling *self)
{
  const char *proxy = g_ptr_array_index (self->proxies, self->listen_proxy);
  g_autofree char *url = g_strconcat (proxy, "/key/", self->inbox_key, "/listen", NULL);
  g_autoptr(SoupMessage) message = NULL;

  if (self->stopped)
    return;

  _ferry_dht_listen_teardown (self);
  message = soup_message_new (SOUP_METHOD_GET, url);
  if (message == NULL)
    {
      listen_failed (self, _("invalid URL"));
      return;
    }
  self->listen_cancellable = g_cancellable_new ();
  self->listen_message = g_object_ref (message);
  self->listen_watchdog_source = _ferry_dht_timeout_attach (self, g_timeout_source_new_seconds (self->request_timeout),
                                                            "[ferry-dht] listen watchdog", listen_watchdog_cb);
  soup_session_send_async (self->listen_session, message, G_PRIORITY_DEFAULT,
                           self->listen_cancellable, listen_sent_cb, g_object_ref (self));
}
