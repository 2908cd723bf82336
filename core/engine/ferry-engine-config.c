/* ferry-engine-config.c: ferry.conf, the home directory and the chosen features
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>
#include <errno.h>
#include <glib/gstdio.h>

#include "ferry-engine-private.h"


char **
_ferry_config_get_list (GKeyFile   *config,
                 const char *group,
                 const char *key,
                 const char *fallback)
{
  g_autofree char *value = g_key_file_get_string (config, group, key, NULL);
  g_auto(GStrv) parts = NULL;
  GPtrArray *list = g_ptr_array_new ();

  parts = g_strsplit_set (value ? value : fallback, ",;", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      char *item = g_strstrip (parts[i]);

      if (*item != '\0')
        g_ptr_array_add (list, g_strdup (item));
    }
  g_ptr_array_add (list, NULL);
  return (char **) g_ptr_array_free (list, FALSE);
}

static guint
config_get_uint (GKeyFile   *config,
                 const char *group,
                 const char *key,
                 guint       fallback,
                 guint       min,
                 guint       max)
{
  g_autoptr(GError) error = NULL;
  gint64 value = g_key_file_get_int64 (config, group, key, &error);

  if (error != NULL)
    {
      if (!g_error_matches (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND) &&
          !g_error_matches (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_GROUP_NOT_FOUND))
        g_warning ("ferry.conf: [%s] %s: %s", group, key, error->message);
      return fallback;
    }
  return (guint) CLAMP (value, (gint64) min, (gint64) max);
}

/* A rate as `ferry send --limit-rate` takes it ("50M"); 0 when unset. */
static guint64
config_get_rate (GKeyFile   *config,
                 const char *group,
                 const char *key)
{
  g_autofree char *text = g_key_file_get_string (config, group, key, NULL);
  guint64 rate = 0;

  if (text == NULL)
    return 0;
  g_strstrip (text);
  if (!_ferry_rate_limit_parse (text, &rate))
    {
      g_warning ("ferry.conf: [%s] %s: not a rate of at least 1K bytes per second, "
                 "such as 800K or 50M: “%s”", group, key, text);
      return 0;
    }
  return rate;
}

gboolean
_ferry_engine_initable_init (GInitable     *initable,
                             GCancellable  *cancellable,
                             GError       **error)
{
  FerryEngine *self = FERRY_ENGINE (initable);
  g_autofree char *config_path = NULL;
  g_autofree char *name = NULL;
  g_autoptr(GError) local_error = NULL;

  if (self->home == NULL)
    {
      const char *env = g_getenv ("FERRY_HOME");

      if (env != NULL && *env != '\0')
        self->home = g_strdup (env);
      else
        self->home = g_build_filename (g_get_user_data_dir (), "ferry", NULL);
    }

  if (g_mkdir_with_parents (self->home, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _("Cannot create the home directory %s: %s"),
                   self->home, g_strerror (saved_errno));
      return FALSE;
    }

  config_path = g_build_filename (self->home, "ferry.conf", NULL);
  if (!g_key_file_load_from_file (self->config, config_path, G_KEY_FILE_KEEP_COMMENTS, &local_error) &&
      !g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG,
                   _("Cannot read %s: %s"), config_path, local_error->message);
      return FALSE;
    }

  self->signaling_names = _ferry_config_get_list (self->config, "core", "signalings", "local-broadcast");
  self->transport_names = _ferry_config_get_list (self->config, "core", "transports", "lan");
  self->interfaces = _ferry_config_get_list (self->config, "core", "interfaces", "");
  self->offer_timeout_s = config_get_uint (self->config, "core", "offer-timeout",
                                           FERRY_DEFAULT_OFFER_TIMEOUT_S, 1, G_MAXINT / 1000);
  self->connect_timeout_s = config_get_uint (self->config, "core", "connect-timeout",
                                             FERRY_DEFAULT_CONNECT_TIMEOUT_S, 1, 3600);
  self->stagger_ms = config_get_uint (self->config, "core", "stagger",
                                      FERRY_DEFAULT_STAGGER_MS, 0, 60000);
  self->stall_timeout_s = config_get_uint (self->config, "core", "stall-timeout",
                                           FERRY_DEFAULT_STALL_TIMEOUT_S, 0, 24 * 3600);
  self->max_pending_offers = config_get_uint (self->config, "core", "max-pending-offers",
                                              FERRY_DEFAULT_MAX_PENDING_OFFERS, 1, 100000);
  self->max_pending_offers_per_account = config_get_uint (self->config, "core", "max-pending-offers-per-account",
                                                          FERRY_DEFAULT_MAX_PENDING_OFFERS_PER_ACCOUNT, 1, 100000);
  self->max_transfers = config_get_uint (self->config, "core", "max-transfers",
                                         FERRY_DEFAULT_MAX_TRANSFERS, 1, 100000);
  self->max_transfers_per_peer = config_get_uint (self->config, "core", "max-transfers-per-peer",
                                                  FERRY_DEFAULT_MAX_TRANSFERS_PER_PEER, 1, 100000);
  self->max_peers = config_get_uint (self->config, "core", "max-peers",
                                     FERRY_DEFAULT_MAX_PEERS, 1, 1000000);
  self->history_max_records = config_get_uint (self->config, "core", "history-max-records",
                                               FERRY_DEFAULT_HISTORY_MAX_RECORDS, 0, G_MAXINT);
  self->history_max_age_days = config_get_uint (self->config, "core", "history-max-age",
                                                FERRY_DEFAULT_HISTORY_MAX_AGE_DAYS, 0, 100000);
  self->part_max_age_days = config_get_uint (self->config, "core", "part-max-age",
                                             FERRY_DEFAULT_PART_MAX_AGE_DAYS, 0, 100000);
  self->peer_expiry_s = config_get_uint (self->config, "core", "peer-expiry",
                                         FERRY_DEFAULT_PEER_EXPIRY_S, 0, G_MAXINT / 1000);
  self->send_rate_limit = config_get_rate (self->config, "core", "send-rate-limit");

  self->identity = ferry_identity_new (self->home, cancellable, error);
  if (self->identity == NULL)
    return FALSE;

  name = g_key_file_get_string (self->config, "core", "name", NULL);
  if (name != NULL && *g_strstrip (name) != '\0')
    ferry_identity_set_name (self->identity, name);

  self->registry = g_object_ref (ferry_registry_get_default ());
  return TRUE;
}

/**
 * ferry_engine_get_config:
 * @self: a #FerryEngine
 *
 * The settings read from `ferry.conf` in the home directory, with those
 * set on the engine since.
 *
 * Returns: (transfer none): the configuration
 *
 * Deprecated: 0.1: Applications set and read the engine's typed
 *   properties (e.g. [property@Ferry.Engine:dht-proxies],
 *   [property@Ferry.Engine:turn-servers]) or call
 *   ferry_engine_set_plugin_setting() and ferry_engine_dup_plugin_setting();
 *   plugins read their settings with ferry_plugin_context_dup_setting().
 */
GKeyFile *
ferry_engine_get_config (FerryEngine *self)
{
  g_return_val_if_fail (FERRY_IS_ENGINE (self), NULL);
  return self->config;
}

static void
replace_strv (char               ***target,
              const char * const   *names)
{
  g_strfreev (*target);
  *target = g_strdupv ((char **) names);
  if (*target == NULL)
    *target = g_new0 (char *, 1);
}

/**
 * ferry_engine_set_signalings:
 * @self: a #FerryEngine
 * @names: (array zero-terminated=1): signaling feature names, e.g.
 *   `local-broadcast`
 *
 * Chooses the signalings to start, overriding `ferry.conf`. Call it before
 * ferry_engine_start().
 *
 * Set property: [property@Ferry.Engine:signaling-names]
 */
void
ferry_engine_set_signalings (FerryEngine        *self,
                             const char * const *names)
{
  g_return_if_fail (FERRY_IS_ENGINE (self));
  g_return_if_fail (!self->started && !self->starting);
  replace_strv (&self->signaling_names, names);
  _ferry_engine_notify_setting (self, FERRY_ENGINE_PROP_SIGNALING_NAMES);
}

/**
 * ferry_engine_set_transports:
 * @self: a #FerryEngine
 * @names: (array zero-terminated=1): transport feature names, e.g. `lan`
 *
 * Chooses the transports to start, overriding `ferry.conf`. Call it before
 * ferry_engine_start().
 *
 * Set property: [property@Ferry.Engine:transport-names]
 */
void
ferry_engine_set_transports (FerryEngine        *self,
                             const char * const *names)
{
  g_return_if_fail (FERRY_IS_ENGINE (self));
  g_return_if_fail (!self->started && !self->starting);
  replace_strv (&self->transport_names, names);
  _ferry_engine_notify_setting (self, FERRY_ENGINE_PROP_TRANSPORT_NAMES);
}

/**
 * ferry_engine_set_interfaces:
 * @self: a #FerryEngine
 * @names: (array zero-terminated=1): network interface names, e.g. `lo`;
 *   empty for every non-loopback interface that is up
 *
 * Chooses the interfaces plugins announce on, listen on and offer
 * addresses of, overriding `ferry.conf`. Call it before ferry_engine_start().
 */
void
ferry_engine_set_interfaces (FerryEngine        *self,
                             const char * const *names)
{
  g_return_if_fail (FERRY_IS_ENGINE (self));
  g_return_if_fail (!self->started && !self->starting);
  replace_strv (&self->interfaces, names);
  _ferry_engine_notify_setting (self, FERRY_ENGINE_PROP_INTERFACES);
}

/**
 * ferry_engine_get_interfaces:
 * @self: a #FerryEngine
 *
 * Gets the network interfaces set with ferry_engine_set_interfaces() or in
 * `ferry.conf`; ferry_network_interface_list() lists them with their
 * addresses. Plugins call ferry_plugin_context_list_interfaces() instead.
 *
 * Returns: (transfer none) (array zero-terminated=1): the chosen interface
 *   names; empty means every non-loopback interface that is up
 */
const char * const *
ferry_engine_get_interfaces (FerryEngine *self)
{
  g_return_val_if_fail (FERRY_IS_ENGINE (self), NULL);
  return (const char * const *) self->interfaces;
}
