/* ferry-nice-config.c: STUN and TURN server settings
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "ferry-nice-common.h"

#define DEFAULT_STUN_PORT 3478
#define MAX_URL_LENGTH    1024

void
_ferry_nice_server_free (FerryNiceServer *server)
{
  if (server == NULL)
    return;
  g_free (server->host);
  g_free (server->username);
  if (server->password != NULL)
    memset (server->password, 0, strlen (server->password));
  g_free (server->password);
  g_free (server->display);
  g_free (server);
}

void
_ferry_nice_config_free (FerryNiceConfig *config)
{
  if (config == NULL)
    return;
  _ferry_nice_server_free (config->stun);
  g_clear_pointer (&config->turn_servers, g_ptr_array_unref);
  g_free (config);
}

static gboolean
valid_host_name (const char *host)
{
  gsize length = strlen (host);

  if (length == 0 || length > 253 || host[0] == '-' || host[0] == '.')
    return FALSE;
  for (const char *p = host; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '.')
      return FALSE;
  return TRUE;
}

/* "HOST", "HOST:PORT", "[V6]", "[V6]:PORT", parsed by GIO. Stricter than
 * g_network_address_parse(): a bare IPv6 address (without brackets), a
 * service name or 0 as the port, and host names with other characters than
 * letters, digits, '-' and '.' are refused. */
static gboolean
parse_host_port (const char  *text,
                 char       **host,
                 guint16     *port)
{
  g_autoptr(GSocketConnectable) parsed = NULL;
  const char *end = text[0] == '[' ? strchr (text, ']') : text;
  const char *colon = end ? strchr (end, ':') : NULL;
  const char *name;

  if (end == NULL || (colon != NULL && strchr (colon + 1, ':') != NULL))
    return FALSE;   /* unbalanced brackets, or a bare IPv6 address */
  if (colon != NULL && (colon[1] == '\0' || strspn (colon + 1, "0123456789") != strlen (colon + 1)))
    return FALSE;   /* a port that is not a number */

  parsed = g_network_address_parse (text, DEFAULT_STUN_PORT, NULL);
  if (parsed == NULL || g_network_address_get_port (G_NETWORK_ADDRESS (parsed)) == 0)
    return FALSE;
  name = g_network_address_get_hostname (G_NETWORK_ADDRESS (parsed));
  if (text[0] == '[')
    {
      g_autoptr(GInetAddress) inet = g_inet_address_new_from_string (name);

      if (inet == NULL || g_inet_address_get_family (inet) != G_SOCKET_FAMILY_IPV6)
        return FALSE;
    }
  else if (!valid_host_name (name))
    return FALSE;

  *port = g_network_address_get_port (G_NETWORK_ADDRESS (parsed));
  *host = g_strdup (name);
  return TRUE;
}

static gboolean
has_control_characters (const char *text)
{
  for (const char *p = text; *p != '\0'; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f)
      return TRUE;
  return FALSE;
}

/**
 * _ferry_nice_parse_turn_url:
 * @url: `turn:USER:PASS@HOST:PORT[?transport=udp|tcp]`; USER and PASS may
 *   use %-escapes
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): the server, or %NULL with @error set
 */
FerryNiceServer *
_ferry_nice_parse_turn_url (const char  *url,
                            GError     **error)
{
  g_autoptr(FerryNiceServer) server = g_new0 (FerryNiceServer, 1);
  g_autofree char *userinfo = NULL;
  g_autofree char *hostport = NULL;
  g_autofree char *user = NULL;
  g_autofree char *password = NULL;
  const char *rest, *at, *colon, *query;

  server->type = NICE_RELAY_TYPE_TURN_UDP;

  if (url == NULL || strlen (url) > MAX_URL_LENGTH || has_control_characters (url))
    goto invalid;
  if (g_str_has_prefix (url, "turns:"))
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG,
                   _("Invalid TURN server “%s”: turns: (TLS) is not supported, use turn:"), url);
      return NULL;
    }
  if (!g_str_has_prefix (url, "turn:"))
    goto invalid;

  rest = url + strlen ("turn:");
  at = strrchr (rest, '@');
  if (at == NULL)
    goto invalid;
  userinfo = g_strndup (rest, at - rest);
  colon = strchr (userinfo, ':');
  if (colon == NULL || colon == userinfo || colon[1] == '\0')
    goto invalid;
  user = g_uri_unescape_segment (userinfo, colon, NULL);
  password = g_uri_unescape_string (colon + 1, NULL);
  if (user == NULL || password == NULL || *user == '\0' || *password == '\0' ||
      has_control_characters (user) || has_control_characters (password))
    goto invalid;

  query = strchr (at + 1, '?');
  hostport = query ? g_strndup (at + 1, query - at - 1) : g_strdup (at + 1);
  if (query != NULL)
    {
      if (g_str_equal (query, "?transport=udp"))
        server->type = NICE_RELAY_TYPE_TURN_UDP;
      else if (g_str_equal (query, "?transport=tcp"))
        server->type = NICE_RELAY_TYPE_TURN_TCP;
      else
        goto invalid;
    }

  if (!parse_host_port (hostport, &server->host, &server->port))
    goto invalid;

  server->username = g_steal_pointer (&user);
  server->password = g_steal_pointer (&password);
  server->display = g_strdup_printf (strchr (server->host, ':') ? "[%s]:%u (%s)" : "%s:%u (%s)",
                                     server->host, server->port,
                                     server->type == NICE_RELAY_TYPE_TURN_TCP ? "tcp" : "udp");
  return g_steal_pointer (&server);

invalid:
  if (password != NULL)
    memset (password, 0, strlen (password));
  /* Never echo a password back: show the part after the '@' only. */
  g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG,
               _("Invalid TURN server “%s”: expected turn:USER:PASS@HOST:PORT[?transport=udp|tcp]"),
               (url != NULL && strrchr (url, '@') != NULL && !has_control_characters (url))
               ? strrchr (url, '@') + 1 : "…");
  return NULL;
}

/**
 * _ferry_nice_parse_stun_server:
 * @text: `HOST:PORT`, `HOST` (port 3478), optionally prefixed with `stun:`
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): the server, or %NULL with @error set
 */
FerryNiceServer *
_ferry_nice_parse_stun_server (const char  *text,
                               GError     **error)
{
  g_autoptr(FerryNiceServer) server = g_new0 (FerryNiceServer, 1);
  const char *hostport = text;

  if (text != NULL && g_str_has_prefix (text, "stun:"))
    hostport = text + strlen ("stun:");

  if (text == NULL || strlen (text) > MAX_URL_LENGTH || has_control_characters (text) ||
      !parse_host_port (hostport, &server->host, &server->port))
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG,
                   _("Invalid STUN server “%s”: expected HOST:PORT"),
                   text != NULL && !has_control_characters (text) ? text : "…");
      return NULL;
    }

  server->display = g_strdup_printf (strchr (server->host, ':') ? "[%s]:%u" : "%s:%u",
                                     server->host, server->port);
  return g_steal_pointer (&server);
}

static gboolean
get_boolean (FerryPluginContext  *context,
             const char          *group,
             const char          *key,
             gboolean             fallback,
             GError             **error)
{
  gboolean value = fallback;

  if (context != NULL && !ferry_plugin_context_get_boolean_setting (context, key, &value, NULL))
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG,
                   _("Invalid [%s] %s: expected true or false"), group, key);
      return fallback;
    }
  return value;
}

/* @group is the instance's own, or "core". */
static guint
get_uint (FerryPluginContext  *context,
          const char          *group,
          const char          *key,
          guint                fallback,
          guint                min,
          guint                max,
          GError             **error)
{
  gint64 value = fallback;
  gboolean read;

  if (context == NULL)
    return fallback;
  read = g_str_equal (group, "core")
           ? ferry_plugin_context_get_core_int64_setting (context, key, &value, NULL)
           : ferry_plugin_context_get_int64_setting (context, key, &value, NULL);
  if (!read || value < min || value > max)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG,
                   _("Invalid [%s] %s: expected a number from %u to %u"), group, key, min, max);
      return fallback;
    }
  return (guint) value;
}

/**
 * _ferry_nice_config_add_turn_servers:
 * @config: a configuration
 * @urls: (nullable): TURN URLs; empty ones are skipped
 * @error: return location for a #GError
 *
 * Adds the TURN servers of @urls to @config.
 *
 * Returns: %FALSE with @error set when a URL is invalid
 */
gboolean
_ferry_nice_config_add_turn_servers (FerryNiceConfig     *config,
                                     const char * const  *urls,
                                     GError             **error)
{
  for (guint i = 0; urls != NULL && urls[i] != NULL; i++)
    {
      g_autofree char *url = g_strstrip (g_strdup (urls[i]));
      FerryNiceServer *server;

      if (*url == '\0')
        continue;
      server = _ferry_nice_parse_turn_url (url, error);
      if (server == NULL)
        return FALSE;
      g_ptr_array_add (config->turn_servers, server);
    }
  return TRUE;
}

/**
 * _ferry_nice_config_load:
 * @context: (nullable): the transport's plugin context
 * @name: the transport's name, which is also its configuration group
 * @relay_only: %TRUE for the turn transport
 * @error: return location for a #GError
 *
 * Reads the settings of @name: for `ice`, `stun-server`, `udp`, `tcp`,
 * `gather-timeout`, `tcp-preference` (how long a working UDP pair waits
 * for the TCP pair), `relay` (whether the UDP agent also gathers relayed
 * candidates from the engine's TURN servers, so that a transfer may start
 * on the relay and move to a direct pair; true by default, the caller adds
 * the servers);
 * for `turn`, `servers`, `gather-timeout` and `grace`. Both use
 * `[core] connect-timeout`.
 *
 * Returns: (transfer full) (nullable): the configuration, or %NULL with
 *   @error set
 */
FerryNiceConfig *
_ferry_nice_config_load (FerryPluginContext  *context,
                         const char          *name,
                         gboolean             relay_only,
                         GError             **error)
{
  g_autoptr(FerryNiceConfig) config = g_new0 (FerryNiceConfig, 1);
  GError *local_error = NULL;
  guint connect_timeout_s;

  config->name = name;
  config->relay_only = relay_only;
  config->turn_servers = g_ptr_array_new_with_free_func ((GDestroyNotify) _ferry_nice_server_free);

  config->gather_timeout_ms = get_uint (context, name, "gather-timeout",
                                        FERRY_NICE_DEFAULT_GATHER_TIMEOUT_MS, 100, 60000, &local_error);
  config->tcp_preference_ms = get_uint (context, name, "tcp-preference",
                                        FERRY_NICE_DEFAULT_TCP_PREFERENCE_MS, 0, 60000,
                                        local_error ? NULL : &local_error);
  connect_timeout_s = get_uint (context, "core", "connect-timeout",
                                FERRY_NICE_DEFAULT_CONNECT_TIMEOUT_S, 1, 3600, NULL);
  /* Fail just before the engine gives up on the attempt, with a message
   * that says what was tried. */
  config->connect_timeout_ms = MAX (connect_timeout_s * 1000, 1000) - 300;

  if (relay_only)
    {
      g_auto(GStrv) urls = NULL;

      config->udp = TRUE;
      config->tcp = FALSE;   /* relayed candidates are UDP */
      config->relay_grace_ms = get_uint (context, name, "grace", FERRY_NICE_DEFAULT_RELAY_GRACE_MS,
                                         0, 60000, local_error ? NULL : &local_error);
      if (context != NULL)
        urls = ferry_plugin_context_dup_setting_list (context, "servers");
      if (local_error == NULL)
        _ferry_nice_config_add_turn_servers (config, (const char * const *) urls, &local_error);
      if (local_error == NULL && config->turn_servers->len == 0)
        g_set_error (&local_error, FERRY_ERROR, FERRY_ERROR_CONFIG,
                     _("No TURN server is configured (give --turn turn:USER:PASS@HOST:PORT, "
                       "or servers= in the [turn] section of ferry.conf)"));
    }
  else
    {
      g_autofree char *stun = NULL;

      config->udp = get_boolean (context, name, "udp", TRUE, local_error ? NULL : &local_error);
      config->tcp = get_boolean (context, name, "tcp", TRUE, local_error ? NULL : &local_error);
      config->relay = get_boolean (context, name, "relay", TRUE, local_error ? NULL : &local_error);
      if (local_error == NULL && !config->udp && !config->tcp)
        g_set_error (&local_error, FERRY_ERROR, FERRY_ERROR_CONFIG,
                     _("[%s] udp and tcp are both false: no candidate to gather"), name);
      if (context != NULL)
        stun = ferry_plugin_context_dup_setting (context, "stun-server");
      if (local_error == NULL && stun != NULL && *g_strstrip (stun) != '\0')
        config->stun = _ferry_nice_parse_stun_server (stun, &local_error);
    }

  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      return NULL;
    }
  return g_steal_pointer (&config);
}
