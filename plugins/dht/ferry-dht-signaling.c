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
 *
 * This file is the FerrySignaling object and the lookups of accounts; see
 * ferry-dht-private.h for the others.
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "ferry-dht-private.h"

/**
 * FerryDhtSignaling:
 *
 * The `dht` signaling: devices publish signed announcements under a key
 * derived from their account id and receive sealed messages on an inbox key
 * derived from their device id, on the OpenDHT network, through OpenDHT
 * proxies listed in the `[dht]` group of `ferry.conf` (`proxies`).
 */
G_DEFINE_FINAL_TYPE (FerryDhtSignaling, ferry_dht_signaling, FERRY_TYPE_SIGNALING)

/* ------------------------------------------------------------------ helpers */

static char *
derive_key (const char *prefix,
            const char *id)
{
  g_autofree char *text = g_strconcat (prefix, id, NULL);

  return g_compute_checksum_for_string (G_CHECKSUM_SHA1, text, -1);
}

/* Attaches @source to the engine's context, calling @callback with @self;
 * returns it (the caller keeps the reference). */
GSource *
_ferry_dht_timeout_attach (FerryDhtSignaling *self,
                           GSource           *source,
                           const char        *name,
                           GSourceFunc        callback)
{
  g_source_set_static_name (source, name);
  g_source_set_callback (source, callback, self, NULL);
  g_source_attach (source, self->context);
  return source;
}

void
_ferry_dht_clear_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

/* The delay before attempt number @failures + 1: exponential, capped, with
 * jitter (between half and all of it). */
guint
_ferry_dht_backoff_ms (guint  failures,
                       double max_seconds)
{
  double base = DHT_BACKOFF_BASE_MS * (double) (1u << MIN (failures, 16u));
  double cap = MAX (max_seconds * 1000.0, DHT_BACKOFF_BASE_MS);

  base = MIN (base, cap);
  return (guint) (base / 2 + g_random_double () * base / 2);
}

static gboolean
ferry_dht_signaling_check (FerrySignaling  *signaling,
                           GError         **error)
{
  FerryPluginContext *context = ferry_signaling_get_plugin_context (signaling);
  g_autoptr(GPtrArray) proxies = NULL;

  /* Without an engine there is no device to announce. */
  if (ferry_plugin_context_get_device_id (context) == NULL)
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_CONFIG, _("no engine"));
      return FALSE;
    }

  proxies = _ferry_dht_read_proxies (context, error);
  if (proxies == NULL)
    return FALSE;

  return _ferry_dht_probe_proxies (proxies, error);
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

  body = _ferry_dht_request_finish (self, result, &error);
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
        _ferry_dht_handle_values (self, body, DHT_KIND_ANNOUNCEMENT, data->account_id, where);
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
  _ferry_dht_request_async (self, SOUP_METHOD_GET, path, NULL, self->cancellable, query_done_cb, data);
}

/* The accounts looked up before, so that a new process can look them up
 * again at once (e.g. for `ferry peers`): ACCOUNTS_FILE in the home. */
#define ACCOUNTS_FILE "dht-accounts"

static char *
accounts_path (FerryDhtSignaling *self)
{
  const char *home = ferry_plugin_context_get_home (ferry_signaling_get_plugin_context (FERRY_SIGNALING (self)));

  if (home == NULL)
    return NULL;
  return g_build_filename (home, ACCOUNTS_FILE, NULL);
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
    g_autoptr(GListModel) peers = ferry_plugin_context_list_peers (ferry_signaling_get_plugin_context (signaling));
    guint n = g_list_model_get_n_items (peers);
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

  if (_ferry_dht_put_finish (FERRY_DHT_SIGNALING (source), result, &error))
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
  _ferry_dht_put_async (self, key, DHT_KIND_MESSAGE, message, DHT_TYPE_MESSAGE,
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

/* This account's other devices, the accounts of [dht] accounts, and those
 * looked up before. */
static void
query_known_accounts (FerryDhtSignaling  *self,
                      FerryPluginContext *context)
{
  g_autoptr(GPtrArray) accounts = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *configured = ferry_plugin_context_dup_setting (context, "accounts");
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

static gboolean
ferry_dht_signaling_start (FerrySignaling  *signaling,
                           GError         **error)
{
  FerryDhtSignaling *self = FERRY_DHT_SIGNALING (signaling);
  FerryPluginContext *context = ferry_signaling_get_plugin_context (signaling);
  g_autofree char *user_agent = g_strdup_printf ("ferry/%s", PACKAGE_VERSION);

  if (self->started)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_BUSY, _("Already started"));
      return FALSE;
    }
  if (ferry_plugin_context_get_device_id (context) == NULL)
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_CONFIG, _("no engine"));
      return FALSE;
    }

  self->proxies = _ferry_dht_read_proxies (context, error);
  if (self->proxies == NULL)
    return FALSE;

  self->announce_interval = (guint) _ferry_dht_config_get_double (context, "announce-interval",
                                                                  DHT_DEFAULT_ANNOUNCE_INTERVAL, 5, 240);
  self->request_timeout = (guint) _ferry_dht_config_get_double (context, "request-timeout",
                                                                DHT_DEFAULT_REQUEST_TIMEOUT, 1, 300);
  self->listen_refresh = (guint) _ferry_dht_config_get_double (context, "listen-refresh",
                                                               DHT_DEFAULT_LISTEN_REFRESH, 0, 86400);
  self->max_backoff = _ferry_dht_config_get_double (context, "max-backoff", DHT_DEFAULT_MAX_BACKOFF, 0.2, 3600);

  self->device_id = g_strdup (ferry_plugin_context_get_device_id (context));
  self->account_id = g_strdup (ferry_plugin_context_get_account_id (context));
  self->inbox_key = derive_key ("ferry:inbox:", self->device_id);
  self->account_key = derive_key ("ferry:account:", self->account_id);

  g_clear_pointer (&self->context, g_main_context_unref);
  self->context = g_main_context_ref (ferry_plugin_context_get_main_context (context));
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

  _ferry_dht_listen_connect (self);
  _ferry_dht_announce_now (self);
  query_known_accounts (self, context);

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
  _ferry_dht_listen_teardown (self);
  _ferry_dht_clear_source (&self->listen_retry_source);
  _ferry_dht_clear_source (&self->announce_source);
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