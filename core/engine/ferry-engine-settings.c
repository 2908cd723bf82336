/* ferry-engine-settings.c: the engine's settings as typed properties
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * What ferry.conf says can be set here instead, per engine, without
 * writing the file: the plugins read their settings from the engine's
 * copy of it.
 */
#include "config.h"

#include <string.h>

#include "ferry-engine-private.h"

static GParamSpec *all_props[FERRY_ENGINE_N_PROPS - FERRY_ENGINE_CONFIG_PROP_BASE];
#define PSPEC(id) all_props[(id) - FERRY_ENGINE_CONFIG_PROP_BASE]

void
_ferry_engine_notify_setting (FerryEngine *self,
                              guint        prop_id)
{
  g_object_notify_by_pspec (G_OBJECT (self), PSPEC (prop_id));
}

/**
 * ferry_engine_get_signaling_names:
 * @self: a #FerryEngine
 *
 * Gets the names of the signalings the engine starts: those of
 * ferry_engine_set_signalings(), else of `signalings` in `ferry.conf`, else
 * `local-broadcast`.
 *
 * Returns: (transfer none) (array zero-terminated=1): the signaling names
 */
const char * const *
ferry_engine_get_signaling_names (FerryEngine *self)
{
  g_return_val_if_fail (FERRY_IS_ENGINE (self), NULL);
  return (const char * const *) self->signaling_names;
}

/**
 * ferry_engine_get_transport_names:
 * @self: a #FerryEngine
 *
 * Gets the names of the transports the engine starts: those of
 * ferry_engine_set_transports(), else of `transports` in `ferry.conf`,
 * else `lan`.
 *
 * Returns: (transfer none) (array zero-terminated=1): the transport names
 */
const char * const *
ferry_engine_get_transport_names (FerryEngine *self)
{
  g_return_val_if_fail (FERRY_IS_ENGINE (self), NULL);
  return (const char * const *) self->transport_names;
}

/* Plugin settings {{{1 */

/**
 * ferry_engine_dup_plugin_setting:
 * @self: a #FerryEngine
 * @plugin: the name of a plugin's feature, e.g. `dht`, or `core`
 * @key: a key of its group in `ferry.conf`
 *
 * Gets one setting of a plugin, as `ferry.conf` or
 * ferry_engine_set_plugin_setting() gave it.
 *
 * Returns: (transfer full) (nullable): the value, or %NULL when unset
 */
char *
ferry_engine_dup_plugin_setting (FerryEngine *self,
                                 const char  *plugin,
                                 const char  *key)
{
  g_return_val_if_fail (FERRY_IS_ENGINE (self), NULL);
  g_return_val_if_fail (plugin != NULL && key != NULL, NULL);
  return g_key_file_get_string (self->config, plugin, key, NULL);
}

/**
 * ferry_engine_set_plugin_setting:
 * @self: a #FerryEngine
 * @plugin: the name of a plugin's feature, e.g. `lan`
 * @key: a key of its group, e.g. `port`
 * @value: (nullable): the value, as it would be written in `ferry.conf`;
 *   %NULL removes the setting
 *
 * Sets one setting of a plugin for this engine only (`ferry.conf` is not
 * written). Plugins read their settings when they are checked and started:
 * call it before ferry_engine_start(). The settings the engine knows have
 * typed properties instead (e.g. [property@Ferry.Engine:dht-proxies]).
 */
void
ferry_engine_set_plugin_setting (FerryEngine *self,
                                 const char  *plugin,
                                 const char  *key,
                                 const char  *value)
{
  g_return_if_fail (FERRY_IS_ENGINE (self));
  g_return_if_fail (plugin != NULL && *plugin != '\0' && strchr (plugin, ']') == NULL);
  g_return_if_fail (key != NULL && *key != '\0' && strchr (key, '=') == NULL);
  g_return_if_fail (!self->starting);

  if (value == NULL)
    g_key_file_remove_key (self->config, plugin, key, NULL);
  else
    g_key_file_set_string (self->config, plugin, key, value);
}

static void
set_list_setting (FerryEngine        *self,
                  const char         *group,
                  const char         *key,
                  const char * const *values,
                  guint               prop_id)
{
  g_return_if_fail (FERRY_IS_ENGINE (self));
  g_return_if_fail (!self->started && !self->starting);

  if (values == NULL || values[0] == NULL)
    g_key_file_remove_key (self->config, group, key, NULL);
  else
    g_key_file_set_string_list (self->config, group, key, values, g_strv_length ((char **) values));
  g_object_notify_by_pspec (G_OBJECT (self), PSPEC (prop_id));
}

/**
 * ferry_engine_dup_dht_proxies:
 * @self: a #FerryEngine
 *
 * Gets the OpenDHT proxies the `dht` signaling uses (`proxies` in the
 * `[dht]` group of `ferry.conf`).
 *
 * Returns: (transfer full) (array zero-terminated=1): the proxy URLs
 */
char **
ferry_engine_dup_dht_proxies (FerryEngine *self)
{
  g_return_val_if_fail (FERRY_IS_ENGINE (self), NULL);
  return _ferry_config_get_list (self->config, "dht", "proxies", "");
}

/**
 * ferry_engine_set_dht_proxies:
 * @self: a #FerryEngine
 * @urls: (array zero-terminated=1) (nullable): OpenDHT proxy URLs, e.g.
 *   `http://127.0.0.1:8000`
 *
 * Sets the OpenDHT proxies of the `dht` signaling, overriding `ferry.conf`.
 * Add `dht` to [property@Ferry.Engine:signaling-names] to use them. Call it
 * before ferry_engine_start().
 */
void
ferry_engine_set_dht_proxies (FerryEngine        *self,
                              const char * const *urls)
{
  set_list_setting (self, "dht", "proxies", urls, FERRY_ENGINE_PROP_DHT_PROXIES);
}

/**
 * ferry_engine_dup_turn_servers:
 * @self: a #FerryEngine
 *
 * Gets the TURN servers of the `turn` transport (`servers` in the `[turn]`
 * group of `ferry.conf`).
 *
 * Returns: (transfer full) (array zero-terminated=1): the TURN URLs
 */
char **
ferry_engine_dup_turn_servers (FerryEngine *self)
{
  g_auto(GStrv) list = NULL;

  g_return_val_if_fail (FERRY_IS_ENGINE (self), NULL);
  list = g_key_file_get_string_list (self->config, "turn", "servers", NULL, NULL);
  return list != NULL ? g_steal_pointer (&list) : g_new0 (char *, 1);
}

/**
 * ferry_engine_set_turn_servers:
 * @self: a #FerryEngine
 * @urls: (array zero-terminated=1) (nullable): TURN URLs of the form
 *   `turn:USER:PASS@HOST:PORT[?transport=udp|tcp]`
 *
 * Sets the TURN servers of the `turn` transport, overriding `ferry.conf`.
 * Add `turn` to [property@Ferry.Engine:transport-names] to use them. Call
 * it before ferry_engine_start().
 */
void
ferry_engine_set_turn_servers (FerryEngine        *self,
                               const char * const *urls)
{
  set_list_setting (self, "turn", "servers", urls, FERRY_ENGINE_PROP_TURN_SERVERS);
}

/**
 * ferry_engine_dup_stun_server:
 * @self: a #FerryEngine
 *
 * Gets the STUN server of the `ice` transport (`stun-server` in the `[ice]`
 * group of `ferry.conf`).
 *
 * Returns: (transfer full) (nullable): `HOST:PORT`, or %NULL when unset
 */
char *
ferry_engine_dup_stun_server (FerryEngine *self)
{
  g_return_val_if_fail (FERRY_IS_ENGINE (self), NULL);
  return g_key_file_get_string (self->config, "ice", "stun-server", NULL);
}

/**
 * ferry_engine_set_stun_server:
 * @self: a #FerryEngine
 * @server: (nullable): `HOST:PORT` of a STUN server, or %NULL for none
 *
 * Sets the STUN server of the `ice` transport, overriding `ferry.conf`.
 * Add `ice` to [property@Ferry.Engine:transport-names] to use it. Call it
 * before ferry_engine_start().
 */
void
ferry_engine_set_stun_server (FerryEngine *self,
                              const char  *server)
{
  g_return_if_fail (FERRY_IS_ENGINE (self));
  g_return_if_fail (!self->started && !self->starting);

  if (server == NULL)
    g_key_file_remove_key (self->config, "ice", "stun-server", NULL);
  else
    g_key_file_set_string (self->config, "ice", "stun-server", server);
  g_object_notify_by_pspec (G_OBJECT (self), PSPEC (FERRY_ENGINE_PROP_STUN_SERVER));
}

/* Timeouts {{{1 */

/**
 * ferry_engine_get_offer_timeout:
 * @self: a #FerryEngine
 *
 * Gets how long an offer waits for a decision, in seconds.
 *
 * Returns: the offer timeout in seconds
 */
guint
ferry_engine_get_offer_timeout (FerryEngine *self)
{
  g_return_val_if_fail (FERRY_IS_ENGINE (self), 0);
  return self->offer_timeout_s;
}

/**
 * ferry_engine_set_offer_timeout:
 * @self: a #FerryEngine
 * @seconds: seconds, at least 1
 *
 * Sets how long an incoming offer waits for ferry_transfer_accept() or
 * ferry_transfer_reject() before it expires, and how long a sender waits
 * for the receiver to decide; overrides `offer-timeout` of `ferry.conf`.
 * It applies to the offers made or received from then on.
 */
void
ferry_engine_set_offer_timeout (FerryEngine *self,
                                guint        seconds)
{
  g_return_if_fail (FERRY_IS_ENGINE (self));

  seconds = CLAMP (seconds, 1, G_MAXINT / 1000);
  if (self->offer_timeout_s == seconds)
    return;
  self->offer_timeout_s = seconds;
  g_object_notify_by_pspec (G_OBJECT (self), PSPEC (FERRY_ENGINE_PROP_OFFER_TIMEOUT));
}

/**
 * ferry_engine_get_connect_timeout:
 * @self: a #FerryEngine
 *
 * Gets how long the engine tries to connect to a device, in seconds.
 *
 * Returns: the connect timeout in seconds
 */
guint
ferry_engine_get_connect_timeout (FerryEngine *self)
{
  g_return_val_if_fail (FERRY_IS_ENGINE (self), 0);
  return self->connect_timeout_s;
}

/**
 * ferry_engine_set_connect_timeout:
 * @self: a #FerryEngine
 * @seconds: seconds, from 1 to 3600
 *
 * Sets how long the transports try to connect to a device before the
 * attempt fails; overrides `connect-timeout` of `ferry.conf`. Call it
 * before ferry_engine_start().
 */
void
ferry_engine_set_connect_timeout (FerryEngine *self,
                                  guint        seconds)
{
  g_return_if_fail (FERRY_IS_ENGINE (self));
  g_return_if_fail (!self->started && !self->starting);

  seconds = CLAMP (seconds, 1, 3600);
  if (self->connect_timeout_s == seconds)
    return;
  self->connect_timeout_s = seconds;
  /* The ice and turn transports read it from the configuration. */
  g_key_file_set_uint64 (self->config, "core", "connect-timeout", seconds);
  g_object_notify_by_pspec (G_OBJECT (self), PSPEC (FERRY_ENGINE_PROP_CONNECT_TIMEOUT));
}

/**
 * ferry_engine_get_peer_expiry:
 * @self: a #FerryEngine
 *
 * Gets how long a device stays in [property@Ferry.Engine:peers] without
 * being seen, in seconds; 0 means forever.
 *
 * Returns: the expiry in seconds
 */
guint
ferry_engine_get_peer_expiry (FerryEngine *self)
{
  g_return_val_if_fail (FERRY_IS_ENGINE (self), 0);
  return self->peer_expiry_s;
}

/**
 * ferry_engine_set_peer_expiry:
 * @self: a #FerryEngine
 * @seconds: seconds, or 0 to never forget a device
 *
 * Sets how long a device that is no longer seen stays among the devices of
 * its peer; a peer with no device left leaves
 * [property@Ferry.Engine:peers]. Overrides `peer-expiry` of `ferry.conf`
 * (10 minutes by default).
 */
void
ferry_engine_set_peer_expiry (FerryEngine *self,
                              guint        seconds)
{
  g_return_if_fail (FERRY_IS_ENGINE (self));

  seconds = MIN (seconds, G_MAXINT / 1000);
  if (self->peer_expiry_s == seconds)
    return;
  self->peer_expiry_s = seconds;
  _ferry_engine_schedule_expiry (self);
  g_object_notify_by_pspec (G_OBJECT (self), PSPEC (FERRY_ENGINE_PROP_PEER_EXPIRY));
}

/* The download folder {{{1 */

static char *
expand_home (const char *path)
{
  if (path[0] == '~' && (path[1] == '/' || path[1] == '\0'))
    return g_build_filename (g_get_home_dir (), path + 1, NULL);
  return g_strdup (path);
}

static GFile *
resolve_download_dir (FerryEngine *self)
{
  g_autofree char *value = g_key_file_get_string (self->config, "core", "download-dir", NULL);
  g_autofree char *dir = NULL;
  g_autofree char *absolute = NULL;
  const char *special;

  if (value != NULL && *g_strstrip (value) != '\0')
    dir = expand_home (value);
  else if ((special = g_get_user_special_dir (G_USER_DIRECTORY_DOWNLOAD)) != NULL &&
           g_strcmp0 (special, g_get_home_dir ()) != 0)
    dir = g_strdup (special);
  else
    dir = g_build_filename (g_get_home_dir (), "Downloads", NULL);

  absolute = g_canonicalize_filename (dir, NULL);
  return g_file_new_for_path (absolute);
}

/**
 * ferry_engine_get_download_dir:
 * @self: a #FerryEngine
 *
 * Gets the folder where accepted files go: the one set with
 * ferry_engine_set_download_dir(), else `download-dir` of `ferry.conf`
 * (a leading `~` is the home folder), else the XDG download folder, else
 * `~/Downloads`. The folder may not exist yet.
 *
 * Returns: (transfer none): the download folder
 */
GFile *
ferry_engine_get_download_dir (FerryEngine *self)
{
  g_return_val_if_fail (FERRY_IS_ENGINE (self), NULL);

  if (self->download_dir == NULL)
    self->download_dir = resolve_download_dir (self);
  return self->download_dir;
}

/**
 * ferry_engine_set_download_dir:
 * @self: a #FerryEngine
 * @dir: (nullable): a folder, or %NULL for the default
 *
 * Sets the folder where accepted files go (see
 * ferry_engine_get_download_dir()). A relative path is taken from the
 * current directory.
 */
void
ferry_engine_set_download_dir (FerryEngine *self,
                               GFile       *dir)
{
  g_return_if_fail (FERRY_IS_ENGINE (self));
  g_return_if_fail (dir == NULL || G_IS_FILE (dir));

  g_clear_object (&self->download_dir);
  if (dir != NULL)
    self->download_dir = g_object_ref (dir);
  g_object_notify_by_pspec (G_OBJECT (self), PSPEC (FERRY_ENGINE_PROP_DOWNLOAD_DIR));
}

/* Sending {{{1 */

/**
 * ferry_engine_parse_rate:
 * @text: a rate such as `800K`, `50M` or `1.5G`
 * @bytes_per_second: (out): return location for the rate
 *
 * Reads a rate as `send-rate-limit` of `ferry.conf` and `ferry send
 * --limit-rate` take it: decimal digits with at most one `.`, then an
 * optional `K`, `M`, `G` or `T` (powers of 1024); `0` for no limit, else
 * at least 1024 bytes per second.
 *
 * Returns: %TRUE if @text is such a rate
 */
gboolean
ferry_engine_parse_rate (const char *text,
                         guint64    *bytes_per_second)
{
  g_return_val_if_fail (text != NULL, FALSE);
  g_return_val_if_fail (bytes_per_second != NULL, FALSE);

  return _ferry_rate_limit_parse (text, bytes_per_second);
}

/**
 * ferry_engine_get_send_rate_limit:
 * @self: a #FerryEngine
 *
 * Gets the most bytes per second each outgoing transfer sends.
 *
 * Returns: the limit in bytes per second; 0 for none
 */
guint64
ferry_engine_get_send_rate_limit (FerryEngine *self)
{
  g_return_val_if_fail (FERRY_IS_ENGINE (self), 0);
  return self->send_rate_limit;
}

/**
 * ferry_engine_set_send_rate_limit:
 * @self: a #FerryEngine
 * @bytes_per_second: the limit, at least 1024; 0 for none
 *
 * Limits how fast each outgoing transfer sends its files, as `rsync
 * --bwlimit` does; overrides `send-rate-limit` of `ferry.conf`. The
 * limit is per transfer: when a transfer goes to several devices of a
 * peer at once, they share it, so that the transfer as a whole keeps to
 * it; two transfers each have their own. It applies to the transfers
 * started from then on (also those sent again for ferry_engine_fetch_async()
 * on another device). A limit below 1024 counts as 1024.
 */
void
ferry_engine_set_send_rate_limit (FerryEngine *self,
                                  guint64      bytes_per_second)
{
  g_return_if_fail (FERRY_IS_ENGINE (self));

  if (bytes_per_second != 0)
    bytes_per_second = MAX (bytes_per_second, FERRY_RATE_LIMIT_MIN);
  if (self->send_rate_limit == bytes_per_second)
    return;
  self->send_rate_limit = bytes_per_second;
  g_object_notify_by_pspec (G_OBJECT (self), PSPEC (FERRY_ENGINE_PROP_SEND_RATE_LIMIT));
}

/* Properties {{{1 */

gboolean
_ferry_engine_config_get_property (FerryEngine *self,
                                   guint        prop_id,
                                   GValue      *value)
{
  switch (prop_id)
    {
    case FERRY_ENGINE_PROP_SIGNALING_NAMES:
      g_value_set_boxed (value, self->signaling_names);
      break;
    case FERRY_ENGINE_PROP_TRANSPORT_NAMES:
      g_value_set_boxed (value, self->transport_names);
      break;
    case FERRY_ENGINE_PROP_INTERFACES:
      g_value_set_boxed (value, self->interfaces);
      break;
    case FERRY_ENGINE_PROP_DHT_PROXIES:
      g_value_take_boxed (value, ferry_engine_dup_dht_proxies (self));
      break;
    case FERRY_ENGINE_PROP_TURN_SERVERS:
      g_value_take_boxed (value, ferry_engine_dup_turn_servers (self));
      break;
    case FERRY_ENGINE_PROP_STUN_SERVER:
      g_value_take_string (value, ferry_engine_dup_stun_server (self));
      break;
    case FERRY_ENGINE_PROP_OFFER_TIMEOUT:
      g_value_set_uint (value, self->offer_timeout_s);
      break;
    case FERRY_ENGINE_PROP_CONNECT_TIMEOUT:
      g_value_set_uint (value, self->connect_timeout_s);
      break;
    case FERRY_ENGINE_PROP_PEER_EXPIRY:
      g_value_set_uint (value, self->peer_expiry_s);
      break;
    case FERRY_ENGINE_PROP_DOWNLOAD_DIR:
      g_value_set_object (value, ferry_engine_get_download_dir (self));
      break;
    case FERRY_ENGINE_PROP_SEND_RATE_LIMIT:
      g_value_set_uint64 (value, self->send_rate_limit);
      break;
    default:
      return FALSE;
    }
  return TRUE;
}

gboolean
_ferry_engine_config_set_property (FerryEngine  *self,
                                   guint         prop_id,
                                   const GValue *value)
{
  switch (prop_id)
    {
    case FERRY_ENGINE_PROP_SIGNALING_NAMES:
      ferry_engine_set_signalings (self, g_value_get_boxed (value));
      break;
    case FERRY_ENGINE_PROP_TRANSPORT_NAMES:
      ferry_engine_set_transports (self, g_value_get_boxed (value));
      break;
    case FERRY_ENGINE_PROP_INTERFACES:
      ferry_engine_set_interfaces (self, g_value_get_boxed (value));
      break;
    case FERRY_ENGINE_PROP_DHT_PROXIES:
      ferry_engine_set_dht_proxies (self, g_value_get_boxed (value));
      break;
    case FERRY_ENGINE_PROP_TURN_SERVERS:
      ferry_engine_set_turn_servers (self, g_value_get_boxed (value));
      break;
    case FERRY_ENGINE_PROP_STUN_SERVER:
      ferry_engine_set_stun_server (self, g_value_get_string (value));
      break;
    case FERRY_ENGINE_PROP_OFFER_TIMEOUT:
      ferry_engine_set_offer_timeout (self, g_value_get_uint (value));
      break;
    case FERRY_ENGINE_PROP_CONNECT_TIMEOUT:
      ferry_engine_set_connect_timeout (self, g_value_get_uint (value));
      break;
    case FERRY_ENGINE_PROP_PEER_EXPIRY:
      ferry_engine_set_peer_expiry (self, g_value_get_uint (value));
      break;
    case FERRY_ENGINE_PROP_DOWNLOAD_DIR:
      ferry_engine_set_download_dir (self, g_value_get_object (value));
      break;
    case FERRY_ENGINE_PROP_SEND_RATE_LIMIT:
      ferry_engine_set_send_rate_limit (self, g_value_get_uint64 (value));
      break;
    default:
      return FALSE;
    }
  return TRUE;
}

#define RW (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS)

void
_ferry_engine_config_install_properties (GObjectClass *klass)
{
  /**
   * FerryEngine:signaling-names: (getter get_signaling_names) (setter set_signalings)
   *
   * The names of the signalings to start.
   */
  PSPEC (FERRY_ENGINE_PROP_SIGNALING_NAMES) = g_param_spec_boxed ("signaling-names", NULL, NULL, G_TYPE_STRV, RW);
  /**
   * FerryEngine:transport-names: (getter get_transport_names) (setter set_transports)
   *
   * The names of the transports to start.
   */
  PSPEC (FERRY_ENGINE_PROP_TRANSPORT_NAMES) = g_param_spec_boxed ("transport-names", NULL, NULL, G_TYPE_STRV, RW);
  /**
   * FerryEngine:interfaces: (getter get_interfaces) (setter set_interfaces)
   *
   * The network interfaces to use; empty for every non-loopback interface
   * that is up.
   */
  PSPEC (FERRY_ENGINE_PROP_INTERFACES) = g_param_spec_boxed ("interfaces", NULL, NULL, G_TYPE_STRV, RW);
  /**
   * FerryEngine:dht-proxies: (getter dup_dht_proxies) (setter set_dht_proxies)
   *
   * The OpenDHT proxies of the `dht` signaling.
   */
  PSPEC (FERRY_ENGINE_PROP_DHT_PROXIES) = g_param_spec_boxed ("dht-proxies", NULL, NULL, G_TYPE_STRV, RW);
  /**
   * FerryEngine:turn-servers: (getter dup_turn_servers) (setter set_turn_servers)
   *
   * The TURN servers of the `turn` transport.
   */
  PSPEC (FERRY_ENGINE_PROP_TURN_SERVERS) = g_param_spec_boxed ("turn-servers", NULL, NULL, G_TYPE_STRV, RW);
  /**
   * FerryEngine:stun-server: (getter dup_stun_server) (setter set_stun_server)
   *
   * The STUN server (`HOST:PORT`) of the `ice` transport.
   */
  PSPEC (FERRY_ENGINE_PROP_STUN_SERVER) = g_param_spec_string ("stun-server", NULL, NULL, NULL, RW);
  /**
   * FerryEngine:offer-timeout: (getter get_offer_timeout) (setter set_offer_timeout)
   *
   * How long an offer waits for a decision, in seconds.
   */
  PSPEC (FERRY_ENGINE_PROP_OFFER_TIMEOUT) =
    g_param_spec_uint ("offer-timeout", NULL, NULL, 1, G_MAXINT / 1000,
                       FERRY_DEFAULT_OFFER_TIMEOUT_S, RW);
  /**
   * FerryEngine:connect-timeout: (getter get_connect_timeout) (setter set_connect_timeout)
   *
   * How long the transports try to connect to a device, in seconds.
   */
  PSPEC (FERRY_ENGINE_PROP_CONNECT_TIMEOUT) =
    g_param_spec_uint ("connect-timeout", NULL, NULL, 1, 3600,
                       FERRY_DEFAULT_CONNECT_TIMEOUT_S, RW);
  /**
   * FerryEngine:peer-expiry: (getter get_peer_expiry) (setter set_peer_expiry)
   *
   * How long a device no longer seen is remembered, in seconds; 0 is
   * forever.
   */
  PSPEC (FERRY_ENGINE_PROP_PEER_EXPIRY) =
    g_param_spec_uint ("peer-expiry", NULL, NULL, 0, G_MAXINT / 1000,
                       FERRY_DEFAULT_PEER_EXPIRY_S, RW);
  /**
   * FerryEngine:download-dir: (getter get_download_dir) (setter set_download_dir)
   *
   * The folder where accepted files go.
   */
  PSPEC (FERRY_ENGINE_PROP_DOWNLOAD_DIR) = g_param_spec_object ("download-dir", NULL, NULL, G_TYPE_FILE, RW);
  /**
   * FerryEngine:send-rate-limit: (getter get_send_rate_limit) (setter set_send_rate_limit)
   *
   * The most bytes per second each outgoing transfer sends (shared by
   * the devices of a transfer to several), 0 for no limit. It applies to
   * the transfers started from then on.
   */
  PSPEC (FERRY_ENGINE_PROP_SEND_RATE_LIMIT) =
    g_param_spec_uint64 ("send-rate-limit", NULL, NULL, 0, G_MAXUINT64, 0, RW);

  for (guint i = FERRY_ENGINE_PROP_0 + 1; i < FERRY_ENGINE_N_PROPS; i++)
    g_object_class_install_property (klass, i, PSPEC (i));
}
