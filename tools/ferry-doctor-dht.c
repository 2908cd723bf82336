/* ferry-doctor-dht.c: `ferry doctor`: each OpenDHT proxy: reachable, round
 * trip, and a test value put and read back
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The value goes under a random key with a short time to live (type 5:
 * about a minute), so it costs the DHT nothing.
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "ferry-doctor.h"

#define TEST_VALUE_TYPE 5

static char *
normalize_proxy (const char *text)
{
  g_autofree char *url = strstr (text, "://") ? g_strdup (text) : g_strconcat ("http://", text, NULL);
  gsize len = strlen (url);

  while (len > 0 && url[len - 1] == '/')
    url[--len] = '\0';
  return g_steal_pointer (&url);
}

/* [dht] proxies, as the dht plugin reads them */
static GPtrArray *
proxy_urls (Doctor *doctor)
{
  g_auto(GStrv) proxies = ferry_engine_dup_dht_proxies (doctor->tool->engine);
  GPtrArray *urls = g_ptr_array_new_with_free_func (g_free);

  /* The plugin also splits on white space. */
  for (guint i = 0; proxies[i] != NULL; i++)
    {
      g_auto(GStrv) parts = g_strsplit_set (proxies[i], " \t", -1);

      for (guint j = 0; parts[j] != NULL; j++)
        if (parts[j][0] != '\0')
          g_ptr_array_add (urls, normalize_proxy (parts[j]));
    }
  return urls;
}

/* The body of a request to @url, or NULL with @error set (also for a
 * status other than 200). */
static GBytes *
request (SoupSession  *session,
         const char   *method,
         const char   *url,
         GBytes       *body,
         GError      **error)
{
  g_autoptr(SoupMessage) message = soup_message_new (method, url);
  g_autoptr(GBytes) answer = NULL;

  if (message == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, _("invalid URL “%s”"), url);
      return NULL;
    }
  if (body != NULL)
    soup_message_set_request_body_from_bytes (message, "application/json", body);
  answer = soup_session_send_and_read (session, message, NULL, error);
  if (answer == NULL)
    return NULL;
  if (soup_message_get_status (message) != SOUP_STATUS_OK)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("HTTP %u %s"),
                   soup_message_get_status (message), soup_message_get_reason_phrase (message));
      return NULL;
    }
  return g_steal_pointer (&answer);
}

/* Whether the newline-separated values of @answer hold one with @data. */
static gboolean
holds_value (GBytes     *answer,
             const char *data)
{
  g_autofree char *text = g_strndup (g_bytes_get_data (answer, NULL), g_bytes_get_size (answer));
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      JsonNode *root;

      if (!json_parser_load_from_data (parser, lines[i], -1, NULL))
        continue;
      root = json_parser_get_root (parser);
      if (root != NULL && JSON_NODE_HOLDS_OBJECT (root) &&
          g_strcmp0 (json_object_get_string_member_with_default (json_node_get_object (root), "data", NULL),
                     data) == 0)
        return TRUE;
    }
  return FALSE;
}

static GBytes *
test_value (const char *data)
{
  guint64 id;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *id_text = NULL;
  char *text;

  gnutls_rnd (GNUTLS_RND_NONCE, &id, sizeof id);
  id_text = g_strdup_printf ("%" G_GUINT64_FORMAT, id);
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "data");
  json_builder_add_string_value (builder, data);
  json_builder_set_member_name (builder, "id");
  json_builder_add_string_value (builder, id_text);
  json_builder_set_member_name (builder, "type");
  json_builder_add_int_value (builder, TEST_VALUE_TYPE);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  text = json_to_string (root, FALSE);
  return g_bytes_new_take (text, strlen (text));
}

static void
check_proxy (Doctor     *doctor,
             SoupSession *session,
             ProxyCheck *check)
{
  guint8 random[20];
  g_autofree char *key = NULL;
  g_autofree char *url = NULL;
  g_autofree char *data = NULL;
  g_autoptr(GBytes) answer = NULL;
  g_autoptr(GBytes) value = NULL;
  g_autoptr(GError) error = NULL;
  gint64 start;

  gnutls_rnd (GNUTLS_RND_NONCE, random, sizeof random);
  key = g_compute_checksum_for_data (G_CHECKSUM_SHA1, random, sizeof random);
  url = g_strdup_printf ("%s/key/%s", check->url, key);
  data = g_base64_encode ((const guchar *) "ferry doctor", strlen ("ferry doctor"));

  start = g_get_monotonic_time ();
  answer = request (session, "GET", url, NULL, &error);
  check->rtt_ms = (g_get_monotonic_time () - start) / 1000;
  check->reachable = answer != NULL ||
                     g_error_matches (error, G_IO_ERROR, G_IO_ERROR_FAILED);  /* an HTTP status */
  if (answer == NULL)
    goto failed;
  g_clear_pointer (&answer, g_bytes_unref);

  value = test_value (data);
  answer = request (session, "POST", url, value, &error);
  if (answer == NULL)
    goto failed;
  check->put = TRUE;
  g_clear_pointer (&answer, g_bytes_unref);

  answer = request (session, "GET", url, NULL, &error);
  if (answer == NULL)
    goto failed;
  check->get = holds_value (answer, data);
  if (!check->get)
    check->error = g_strdup (_("the value put did not come back"));
  return;

failed:
  check->error = g_strdup (error->message);
}

void
doctor_check_dht (Doctor *doctor)
{
  g_autoptr(GPtrArray) urls = proxy_urls (doctor);
  g_autoptr(SoupSession) session = NULL;

  if (urls->len == 0)
    return;
  session = soup_session_new_with_options ("timeout", MAX (1u, (doctor->timeout_ms + 999) / 1000), NULL);
  for (guint i = 0; i < urls->len; i++)
    {
      ProxyCheck *check = g_new0 (ProxyCheck, 1);

      check->url = g_strdup (g_ptr_array_index (urls, i));
      g_ptr_array_add (doctor->proxies, check);
      check_proxy (doctor, session, check);
    }
}
