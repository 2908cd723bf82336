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
 * ferry_engine_get_local_addresses(), ferry_engine_get_interfaces() and
 * editing ferry_engine_get_config()), which keep working.
 *
 * The context holds no reference on the engine: once the engine is gone
 * it answers with empty values.
 */
struct _FerryPluginContext
{
  GObject       parent_instance;

  FerryEngine  *engine;    /* weak */
  char         *name;
  GMainContext *context;
};

G_DEFINE_FINAL_TYPE (FerryPluginContext, ferry_plugin_context, G_TYPE_OBJECT)

static void
ferry_plugin_context_finalize (GObject *object)
{
  FerryPluginContext *self = FERRY_PLUGIN_CONTEXT (object);

  g_clear_weak_pointer (&self->engine);
  g_free (self->name);
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
  return ferry_engine_get_announcement (self->engine);
}

/**
 * ferry_plugin_context_get_local_addresses:
 * @self: a #FerryPluginContext
 *
 * Gets the IPv4 addresses of the chosen interfaces.
 *
 * Returns: (transfer full) (element-type GInetAddress): the addresses
 */
GPtrArray *
ferry_plugin_context_get_local_addresses (FerryPluginContext *self)
{
  g_return_val_if_fail (FERRY_IS_PLUGIN_CONTEXT (self), NULL);

  if (self->engine == NULL)
    return g_ptr_array_new_with_free_func (g_object_unref);
  return ferry_engine_get_local_addresses (self->engine);
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
  return g_strdupv ((char **) ferry_engine_get_interfaces (self->engine));
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
 *   the engine is gone
 */
GListModel *
ferry_plugin_context_list_interfaces (FerryPluginContext *self)
{
  g_return_val_if_fail (FERRY_IS_PLUGIN_CONTEXT (self), NULL);

  if (self->engine == NULL)
    return G_LIST_MODEL (g_list_store_new (FERRY_TYPE_NETWORK_INTERFACE));
  return ferry_network_interface_list ((const char * const *) self->engine->interfaces);
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
 * Returns: (transfer full) (nullable): the value, or %NULL when unset
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
