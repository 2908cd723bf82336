/* ferry-dht-values.c: what the dht signaling puts on the DHT, and how it
 * reads the values it gets (anyone can write any key: everything is
 * checked, junk is dropped and counted)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>
#include <gnutls/crypto.h>

#include "ferry-dht-private.h"

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

void
_ferry_dht_drop_value (FerryDhtSignaling *self,
                       const char        *where,
                       const char        *reason)
{
  self->dropped++;
  g_debug ("dropped a value on %s: %s (%" G_GUINT64_FORMAT " dropped so far)",
           where, reason, self->dropped);
}


/* Puts @payload, framed as @kind from this device, under @key. */
void
_ferry_dht_put_async (FerryDhtSignaling   *self,
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
      g_task_report_new_error (self, callback, user_data, _ferry_dht_put_async,
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
      g_task_report_new_error (self, callback, user_data, _ferry_dht_put_async,
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

  _ferry_dht_request_async (self, "POST", path, body, cancellable, callback, user_data);
}

gboolean
_ferry_dht_put_finish (FerryDhtSignaling  *self,
                       GAsyncResult       *result,
                       GError            **error)
{
  g_autoptr(GBytes) body = NULL;

  if (g_async_result_is_tagged (result, _ferry_dht_put_async))
    return g_task_propagate_boolean (G_TASK (result), error);
  body = _ferry_dht_request_finish (self, result, error);
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
void
_ferry_dht_handle_value (FerryDhtSignaling *self,
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
      _ferry_dht_drop_value (self, where, reason);
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
      _ferry_dht_drop_value (self, where, reason);
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
void
_ferry_dht_handle_values (FerryDhtSignaling *self,
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
      _ferry_dht_drop_value (self, where, "response too large");
      return;
    }

  while (data < end && !self->stopped)
    {
      const char *newline = memchr (data, '\n', end - data);
      const char *line_end = newline != NULL ? newline : end;

      if ((gsize) (line_end - data) > DHT_MAX_LINE)
        _ferry_dht_drop_value (self, where, "value too large");
      else
        _ferry_dht_handle_value (self, data, line_end - data, expected_kind, account, where);
      data = line_end + 1;
    }
}

/* ---------------------------------------------------------------- announce */

static gboolean
announce_timeout_cb (gpointer user_data)
{
  FerryDhtSignaling *self = user_data;

  g_clear_pointer (&self->announce_source, g_source_unref);
  _ferry_dht_announce_now (self);
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

  if (!_ferry_dht_put_finish (self, result, &error))
    {
      if (self->stopped)
        return;
      self->announce_failures++;
      delay_ms = MIN (_ferry_dht_backoff_ms (self->announce_failures + 2, self->max_backoff),
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
  _ferry_dht_clear_source (&self->announce_source);
  if (self->announce_again)
    {
      self->announce_again = FALSE;
      _ferry_dht_announce_now (self);
    }
  else
    self->announce_source = _ferry_dht_timeout_attach (self, g_timeout_source_new (delay_ms),
                                           "[ferry-dht] announce", announce_timeout_cb);
}

void
_ferry_dht_announce_now (FerryDhtSignaling *self)
{
  g_autoptr(GBytes) announcement = NULL;

  if (self->stopped)
    return;
  if (self->announcing)
    {
      self->announce_again = TRUE;
      return;
    }

  /* Empty once the engine is gone. */
  announcement = ferry_plugin_context_get_announcement (ferry_signaling_get_plugin_context (FERRY_SIGNALING (self)));
  if (g_bytes_get_size (announcement) == 0)
    return;

  _ferry_dht_clear_source (&self->announce_source);
  self->announcing = TRUE;
  _ferry_dht_put_async (self, self->account_key, DHT_KIND_ANNOUNCEMENT, announcement, DHT_TYPE_ANNOUNCEMENT,
                        self->cancellable, announce_done_cb, g_object_ref (self));
}
