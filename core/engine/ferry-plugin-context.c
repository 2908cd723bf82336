/* ferry-plugin-context.c: what a plugin instance may ask of the engine
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ferry-engine-private.h"
#include "ferry-plugin-context.h"

/**
 * FerryPluginContext:
 *
 * What a signaling or transport instance may ask of the engine that made
 * it: its settings, the announcement to publish, the chosen interfaces and
 * their addresses (ferry_plugin_context_list_interfaces()), and the main
 * context to attach its sources to.
 * Plugins get theirs with ferry_signaling_get_plugin_context() or
 * ferry_transport_get_plugin_context(); it replaces the plugin calls on
 * #FerryEngine (ferry_engine_get_announcement(),
 * ferry_engine_get_local_addresses() and reading ferry_engine_get_config()),
 * which are deprecated: a plugin needs no #FerryEngine call at all.
 *
 * The context holds no reference on the engine: once the engine is gone
 * it answers with empty values. An instance made without an engine (a
 * plugin's own tests) gets a context that offers the loopback interface
 * only, no settings and an empty announcement.
 */
struct _FerryPluginContext
{
  GObject        parent_instance;

  FerryEngine   *engine;    /* weak */
  FerryIdentity *identity;  /* the engine's, which never replaces it */
  char          *name;
  char          *home;
  GMainContext  *context;
  gboolean       standalone;
};

G_DEFINE_FINAL_TYPE (FerryPluginContext, ferry_plugin_context, G_TYPE_OBJECT)

static void
ferry_plugin_context_finalize (GObject *object)
{
  FerryPluginContext *self = FERRY_PLUGIN_CONTEXT (object);

  g_clear_weak_pointer (&self->engine);
  g_clear_object (&self->identity);
  g_free (self->name);
  g_free (self->home);
  g_clear_pointer (&self->context, g_main_context_unref);

  G_OBJECT_CLASS (ferry_plugin_context_parent_class)->finalize (object);
}

static void
ferry_plugin_context_class_init (FerryPluginContextClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = ferry_plugin_context_finalize;
}

static void
ferry_plugin_context_init (FerryPluginContext *self)
{
}

static FerryPluginContext *
context_for (GObject     *instance,
             FerryEngine *engine,
             const char  *name)
{
  static GQuark quark;
  FerryPluginContext *self;

  if (G_UNLIKELY (quark == 0))
    quark = g_quark_from_static_string ("ferry-plugin-context");

  self = g_object_get_qdata (instance, quark);
  if (self != NULL)
    return self;

  self = g_object_new (FERRY_TYPE_PLUGIN_CONTEXT, NULL);
  g_set_weak_pointer (&self->engine, engine);
  self->name = g_strdup (name);
  self->standalone = engine == NULL;
  if (engine != NULL)
    {
      self->identity = g_object_ref (engine->identity);
      self->home = g_strdup (engine->home);
    }
  self->context = engine != NULL ? g_main_context_ref (engine->context)
                                 : g_main_context_ref_thread_default ();
  g_object_set_qdata_full (instance, quark, self, g_object_unref);
  return self;
}

/**
 * ferry_signaling_get_plugin_context:
 * @signaling: a #FerrySignaling made by an engine
 *
 * Gets what the signaling instance may ask of its engine.
 *
 * Returns: (transfer none): the plugin context of @signaling
 */
FerryPluginContext *
ferry_signaling_get_plugin_context (FerrySignaling *signaling)
{
  g_return_val_if_fail (FERRY_IS_SIGNALING (signaling), NULL);
  return context_for (G_OBJECT (signaling), ferry_signaling_get_engine (signaling),
                      ferry_signaling_get_name (signaling));
}

/**
 * ferry_transport_get_plugin_context:
 * @transport: a #FerryTransport made by an engine
 *
 * Gets what the transport instance may ask of its engine.
 *
 * Returns: (transfer none): the plugin context of @transport
 */
FerryPluginContext *
ferry_transport_get_plugin_context (FerryTransport *transport)
{
  g_return_val_if_fail (FERRY_IS_TRANSPORT (transport), NULL);
  return context_for (G_OBJECT (transport), ferry_transport_get_engine (transport),
                      ferry_transport_get_name (transport));
}

/**
 * ferry_plugin_context_get_name:
 * @self: a #FerryPluginContext
 *
 * Gets the feature name of the instance, which is also the group of its
 * settings in `ferry.conf`.
 *
 * Returns: (nullable): the feature name
 */
const char *
ferry_plugin_context_get_name (FerryPluginContext *self)
{
  g_return_val_if_fail (FERRY_IS_PLUGIN_CONTEXT (self), NULL);
  return self->name;
}

/**
 * ferry_plugin_context_get_main_context:
 * @self: a #FerryPluginContext
 *
 * Gets the main context of the engine: attach every source of the
 * instance to it.
 *
 * Returns: (transfer none): the engine's main context
 */
GMainContext *
ferry_plugin_context_get_main_context (FerryPluginContext *self)
{
  g_return_val_if_fail (FERRY_IS_PLUGIN_CONTEXT (self), NULL);
  return self->context;
}

/**
 * ferry_plugin_context_get_announcement:
 * @self: a #FerryPluginContext
 *
 * Gets the signed announcement of this device, for a signaling to
 * publish. It is renewed every minute: ask again each time it is sent.
 *
 * Returns: (transfer full): the announcement, empty once the engine is gone
 */
GBytes *
ferry_plugin_context_get_announcement (FerryPluginContext *self)
{
  g_return_val_if_fail (FERRY_IS_PLUGIN_CONTEXT (self), NULL);

  if (self->engine == NULL)
    return g_bytes_new (NULL, 0);
  return _ferry_engine_dup_announcement (self->engine);
}

/**
 * ferry_plugin_context_get_local_addresses:
 * @self: a #FerryPluginContext
 *
 * Gets the IPv4 addresses of the chosen interfaces, in the order of the
 * system's interface list.
 *
 * Returns: (transfer full) (element-type GInetAddress): the addresses;
 *   `127.0.0.1` alone for an instance made without an engine
 */
GPtrArray *
ferry_plugin_context_get_local_addresses (FerryPluginContext *self)
{
  GPtrArray *addresses;

  g_return_val_if_fail (FERRY_IS_PLUGIN_CONTEXT (self), NULL);

  if (self->engine != NULL)
    return _ferry_engine_list_local_addresses (self->engine);
  addresses = g_ptr_array_new_with_free_func (g_object_unref);
  if (self->standalone)
    g_ptr_array_add (addresses, g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4));
  return addresses;
}

/**
 * ferry_plugin_context_dup_interfaces:
 * @self: a #FerryPluginContext
 *
 * Gets the network interfaces to announce on, listen on and offer
 * addresses of.
 *
 * Returns: (transfer full) (array zero-terminated=1): the interface names;
 *   empty means every non-loopback interface that is up
 */
char **
ferry_plugin_context_dup_interfaces (FerryPluginContext *self)
{
  g_return_val_if_fail (FERRY_IS_PLUGIN_CONTEXT (self), NULL);

  if (self->engine == NULL)
    return g_new0 (char *, 1);
  return g_strdupv (self->engine->interfaces);
}

/**
 * ferry_plugin_context_list_interfaces:
 * @self: a #FerryPluginContext
 *
 * Lists the network interfaces to announce on, listen on and offer
 * addresses of, with their index and addresses: those chosen with
 * ferry_engine_set_interfaces() that are up, or every interface that is up
 * but loopback.
 *
 * Returns: (transfer full): the interfaces, a list of
 *   #FerryNetworkInterface in the order of the system's list; empty once
 *   the engine is gone; the loopback interfaces for an instance made
 *   without an engine
 */
GListModel *
ferry_plugin_context_list_interfaces (FerryPluginContext *self)
{
  g_autoptr(GListModel) all = NULL;
  GListStore *loopback;
  guint n;

  g_return_val_if_fail (FERRY_IS_PLUGIN_CONTEXT (self), NULL);

  if (self->engine != NULL)
    return ferry_network_interface_list ((const char * const *) self->engine->interfaces);

  loopback = g_list_store_new (FERRY_TYPE_NETWORK_INTERFACE);
  if (!self->standalone)
    return G_LIST_MODEL (loopback);
  all = ferry_network_interface_list_all ();
  n = g_list_model_get_n_items (all);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(FerryNetworkInterface) iface = g_list_model_get_item (all, i);

      if (ferry_network_interface_get_is_loopback (iface))
        g_list_store_append (loopback, iface);
    }
  return G_LIST_MODEL (loopback);
}

/**
 * ferry_plugin_context_dup_setting:
 * @self: a #FerryPluginContext
 * @key: a key of the instance's own group
 *
 * Gets one of the instance's settings: the group named after its feature
 * in `ferry.conf`, or what the application set with
 * ferry_engine_set_plugin_setting() or a typed engine property.
 *
 * Returns: (transfer full) (nullable): the value, with the escapes of
 *   `ferry.conf` undone, or %NULL when unset
 */
char *
ferry_plugin_context_dup_setting (FerryPluginContext *self,
                                  const char         *key)
{
  g_return_val_if_fail (FERRY_IS_PLUGIN_CONTEXT (self), NULL);
  g_return_val_if_fail (key != NULL, NULL);

  if (self->engine == NULL || self->name == NULL)
    return NULL;
  return g_key_file_get_string (self->engine->config, self->name, key, NULL);
}

/**
 * ferry_plugin_context_dup_core_setting:
 * @self: a #FerryPluginContext
 * @key: a key of the `[core]` group, e.g. `connect-timeout`
 *
 * Gets one of the engine's own settings.
 *
 * Returns: (transfer full) (nullable): the value, or %NULL when unset
 */
char *
ferry_plugin_context_dup_core_setting (FerryPluginContext *self,
                                       const char         *key)
{
  g_return_val_if_fail (FERRY_IS_PLUGIN_CONTEXT (self), NULL);
  g_return_val_if_fail (key != NULL, NULL);

  if (self->engine == NULL)
    return NULL;
  return g_key_file_get_string (self->engine->config, "core", key, NULL);
}

typedef enum {
  SETTING_INT64,
  SETTING_DOUBLE,
  SETTING_BOOLEAN,
} SettingType;

/* Reads @key of @group as GKeyFile reads it into @value, which keeps its
 * default when the key is unset. */
static gboolean
read_setting (FerryPluginContext  *self,
              const char          *group,
              const char          *key,
              SettingType          type,
              gpointer             value,
              GError             **error)
{
  GKeyFile *config = self->engine != NULL ? self->engine->config : NULL;
  GError *local_error = NULL;
  gint64 number = 0;
  double real = 0;
  gboolean boolean = FALSE;

  if (config == NULL || group == NULL || !g_key_file_has_key (config, group, key, NULL))
    return TRUE;
  switch (type)
    {
    case SETTING_INT64:
      number = g_key_file_get_int64 (config, group, key, &local_error);
      break;
    case SETTING_DOUBLE:
      real = g_key_file_get_double (config, group, key, &local_error);
      break;
    case SETTING_BOOLEAN:
      boolean = g_key_file_get_boolean (config, group, key, &local_error);
      break;
    }
  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      return FALSE;
    }
  if (type == SETTING_INT64)
    *(gint64 *) value = number;
  else if (type == SETTING_DOUBLE)
    *(double *) value = real;
  else
    *(gboolean *) value = boolean;
  return TRUE;
}

/**
 * ferry_plugin_context_get_int64_setting:
 * @self: a #FerryPluginContext
 * @key: a key of the instance's own group
 * @value: (inout): the default, replaced by the setting when it is set
 * @error: return location for a #GError
 *
 * Reads one of the instance's settings as a decimal integer, as
 * g_key_file_get_int64() reads `ferry.conf`. When @key is unset, @value
 * keeps the default it holds.
 *
 * Returns: %TRUE when @key is unset or a number; %FALSE with
 *   %G_KEY_FILE_ERROR_INVALID_VALUE when it is set to something else
 */
gboolean
ferry_plugin_context_get_int64_setting (FerryPluginContext  *self,
                                        const char          *key,
                                        gint64              *value,
                                        GError             **error)
{
  g_return_val_if_fail (FERRY_IS_PLUGIN_CONTEXT (self), FALSE);
  g_return_val_if_fail (key != NULL && value != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  return read_setting (self, self->name, key, SETTING_INT64, value, error);
}

/**
 * ferry_plugin_context_get_core_int64_setting:
 * @self: a #FerryPluginContext
 * @key: a key of the `[core]` group, e.g. `connect-timeout`
 * @value: (inout): the default, replaced by the setting when it is set
 * @error: return location for a #GError
 *
 * Reads one of the engine's own settings as
 * ferry_plugin_context_get_int64_setting() reads the instance's.
 *
 * Returns: %TRUE when @key is unset or a number; %FALSE with
 *   %G_KEY_FILE_ERROR_INVALID_VALUE when it is set to something else
 */
gboolean
ferry_plugin_context_get_core_int64_setting (FerryPluginContext  *self,
                                             const char          *key,
                                             gint64              *value,
                                             GError             **error)
{
  g_return_val_if_fail (FERRY_IS_PLUGIN_CONTEXT (self), FALSE);
  g_return_val_if_fail (key != NULL && value != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  return read_setting (self, "core", key, SETTING_INT64, value, error);
}

/**
 * ferry_plugin_context_get_double_setting:
 * @self: a #FerryPluginContext
 * @key: a key of the instance's own group
 * @value: (inout): the default, replaced by the setting when it is set
 * @error: return location for a #GError
 *
 * Reads one of the instance's settings as a number, as
 * g_key_file_get_double() reads `ferry.conf`. When @key is unset, @value
 * keeps the default it holds.
 *
 * Returns: %TRUE when @key is unset or a number; %FALSE with
 *   %G_KEY_FILE_ERROR_INVALID_VALUE when it is set to something else
 */
gboolean
ferry_plugin_context_get_double_setting (FerryPluginContext  *self,
                                         const char          *key,
                                         double              *value,
                                         GError             **error)
{
  g_return_val_if_fail (FERRY_IS_PLUGIN_CONTEXT (self), FALSE);
  g_return_val_if_fail (key != NULL && value != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  return read_setting (self, self->name, key, SETTING_DOUBLE, value, error);
}

/**
 * ferry_plugin_context_get_boolean_setting:
 * @self: a #FerryPluginContext
 * @key: a key of the instance's own group
 * @value: (inout): the default, replaced by the setting when it is set
 * @error: return location for a #GError
 *
 * Reads one of the instance's settings as `true` or `false`, as
 * g_key_file_get_boolean() reads `ferry.conf`. When @key is unset, @value
 * keeps the default it holds.
 *
 * Returns: %TRUE when @key is unset, `true` or `false`; %FALSE with
 *   %G_KEY_FILE_ERROR_INVALID_VALUE when it is set to something else
 */
gboolean
ferry_plugin_context_get_boolean_setting (FerryPluginContext  *self,
                                          const char          *key,
                                          gboolean            *value,
                                          GError             **error)
{
  g_return_val_if_fail (FERRY_IS_PLUGIN_CONTEXT (self), FALSE);
  g_return_val_if_fail (key != NULL && value != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  return read_setting (self, self->name, key, SETTING_BOOLEAN, value, error);
}

/**
 * ferry_plugin_context_dup_setting_list:
 * @self: a #FerryPluginContext
 * @key: a key of the instance's own group
 *
 * Gets one of the instance's settings as a list, separated by `;` as
 * g_key_file_get_string_list() reads it (e.g. `servers` of `[turn]`, which
 * ferry_engine_set_turn_servers() sets).
 *
 * Returns: (transfer full) (array zero-terminated=1) (nullable): the
 *   values, or %NULL when unset or not a list
 */
char **
ferry_plugin_context_dup_setting_list (FerryPluginContext *self,
                                       const char         *key)
{
  g_return_val_if_fail (FERRY_IS_PLUGIN_CONTEXT (self), NULL);
  g_return_val_if_fail (key != NULL, NULL);

  if (self->engine == NULL || self->name == NULL)
    return NULL;
  return g_key_file_get_string_list (self->engine->config, self->name, key, NULL, NULL);
}

/**
 * ferry_plugin_context_get_account_id:
 * @self: a #FerryPluginContext
 *
 * Gets the account id of this device, e.g. to answer a query for it.
 *
 * Returns: (nullable): the account id (64 lower-case hex digits), or %NULL
 *   for an instance made without an engine
 */
const char *
ferry_plugin_context_get_account_id (FerryPluginContext *self)
{
  g_return_val_if_fail (FERRY_IS_PLUGIN_CONTEXT (self), NULL);
  return self->identity != NULL ? ferry_identity_get_account_id (self->identity) : NULL;
}

/**
 * ferry_plugin_context_get_device_id:
 * @self: a #FerryPluginContext
 *
 * Gets the device id of this device, e.g. to derive where messages to it
 * are left.
 *
 * Returns: (nullable): the device id (64 lower-case hex digits), or %NULL
 *   for an instance made without an engine
 */
const char *
ferry_plugin_context_get_device_id (FerryPluginContext *self)
{
  g_return_val_if_fail (FERRY_IS_PLUGIN_CONTEXT (self), NULL);
  return self->identity != NULL ? ferry_identity_get_device_id (self->identity) : NULL;
}

/**
 * ferry_plugin_context_get_home:
 * @self: a #FerryPluginContext
 *
 * Gets the engine's home folder, where a plugin may keep small files of
 * its own, named after it (e.g. `dht-accounts`).
 *
 * Returns: (nullable) (type filename): the home folder, or %NULL for an
 *   instance made without an engine
 */
const char *
ferry_plugin_context_get_home (FerryPluginContext *self)
{
  g_return_val_if_fail (FERRY_IS_PLUGIN_CONTEXT (self), NULL);
  return self->home;
}

/**
 * ferry_plugin_context_list_peers:
 * @self: a #FerryPluginContext
 *
 * Lists the accounts the engine has seen through any signaling, e.g. to
 * look them up again.
 *
 * Returns: (transfer full): the peers, a list of #FerryPeer; empty once
 *   the engine is gone
 */
GListModel *
ferry_plugin_context_list_peers (FerryPluginContext *self)
{
  g_return_val_if_fail (FERRY_IS_PLUGIN_CONTEXT (self), NULL);

  if (self->engine == NULL)
    return G_LIST_MODEL (g_list_store_new (FERRY_TYPE_PEER));
  return g_object_ref (G_LIST_MODEL (self->engine->peers));
}
