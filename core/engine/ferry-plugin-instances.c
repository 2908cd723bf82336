/* ferry-plugin-instances.c: the signaling and transport instances, and what plugins ask of the engine
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "ferry-engine-private.h"
#include "ferry-history-private.h"
#include "ferry-network-interface.h"

/* The IPv4 addresses of the chosen interfaces, in the order of the
 * system's interface list. */
GPtrArray *
_ferry_engine_list_local_addresses (FerryEngine *self)
{
  GPtrArray *addresses = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GListModel) interfaces = NULL;
  guint n;

  interfaces = ferry_network_interface_list ((const char * const *) self->interfaces);
  n = g_list_model_get_n_items (interfaces);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(FerryNetworkInterface) iface = g_list_model_get_item (interfaces, i);
      GPtrArray *own = ferry_network_interface_get_addresses (iface);

      for (guint j = 0; j < own->len; j++)
        {
          GInetAddress *address = g_ptr_array_index (own, j);

          if (g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV4)
            g_ptr_array_add (addresses, g_object_ref (address));
        }
    }
  return addresses;
}

/* The signed announcement of this device (its ids, name and certificate
 * chain), renewed every minute. */
GBytes *
_ferry_engine_dup_announcement (FerryEngine *self)
{
  gint64 now = g_get_monotonic_time ();

  if (self->announcement == NULL || now - self->announcement_time > 60 * G_USEC_PER_SEC)
    {
      g_autoptr(GError) error = NULL;
      GBytes *fresh = _ferry_envelope_build (self->identity, "announce", "*", NULL, &error);

      if (fresh == NULL)
        g_warning ("cannot build the announcement: %s", error->message);
      else
        {
          g_clear_pointer (&self->announcement, g_bytes_unref);
          self->announcement = fresh;
          self->announcement_time = now;
        }
    }
  return self->announcement ? g_bytes_ref (self->announcement) : g_bytes_new (NULL, 0);
}

/**
 * ferry_engine_get_local_addresses:
 * @self: a #FerryEngine
 *
 * The IPv4 addresses of the chosen interfaces (see
 * ferry_engine_set_interfaces()), in the order of the system's interface
 * list.
 *
 * Returns: (transfer full) (element-type GInetAddress): the addresses
 *
 * Deprecated: 0.1: This was for plugins, which call
 *   ferry_plugin_context_get_local_addresses() on their
 *   [class@Ferry.PluginContext]. Applications list the interfaces with
 *   ferry_network_interface_list() and ferry_engine_get_interfaces().
 */
GPtrArray *
ferry_engine_get_local_addresses (FerryEngine *self)
{
  g_return_val_if_fail (FERRY_IS_ENGINE (self), g_ptr_array_new_with_free_func (g_object_unref));
  return _ferry_engine_list_local_addresses (self);
}

/**
 * ferry_engine_get_announcement:
 * @self: a #FerryEngine
 *
 * The signed announcement of this device (its ids, name and certificate
 * chain), for signaling plugins to publish. It is renewed every minute, so
 * ask again each time it is sent.
 *
 * Returns: (transfer full): the announcement, an opaque blob
 *
 * Deprecated: 0.1: This was for signaling plugins, which call
 *   ferry_plugin_context_get_announcement() on their
 *   [class@Ferry.PluginContext]. An application has no use for it.
 */
GBytes *
ferry_engine_get_announcement (FerryEngine *self)
{
  g_return_val_if_fail (FERRY_IS_ENGINE (self), NULL);
  return _ferry_engine_dup_announcement (self);
}

/* ------------------------------------------------------------ start, stop */

static GObject *
engine_new_instance (FerryEngine  *self,
                     FerryFeature *feature)
{
  GType type = ferry_feature_get_gtype (feature);

  if (g_type_is_a (type, FERRY_TYPE_TRANSPORT))
    return g_object_new (type,
                         "engine", self,
                         "name", ferry_feature_get_name (feature),
                         "rank", ferry_feature_get_rank (feature),
                         NULL);
  return g_object_new (type,
                       "engine", self,
                       "name", ferry_feature_get_name (feature),
                       NULL);
}

static gboolean
instance_check (GObject  *instance,
                GError  **error)
{
  if (FERRY_IS_TRANSPORT (instance))
    return ferry_transport_check (FERRY_TRANSPORT (instance), error);
  return ferry_signaling_check (FERRY_SIGNALING (instance), error);
}

/**
 * ferry_engine_check_feature:
 * @self: a #FerryEngine
 * @feature: a transport or signaling feature
 * @error: return location for a #GError
 *
 * Tells whether @feature can work with this engine's configuration (for
 * example, whether the server it needs is configured), without starting
 * anything.
 *
 * Returns: %TRUE when it can; %FALSE with the reason in @error
 */
gboolean
ferry_engine_check_feature (FerryEngine   *self,
                            FerryFeature  *feature,
                            GError       **error)
{
  g_autoptr(GObject) instance = NULL;

  g_return_val_if_fail (FERRY_IS_ENGINE (self), FALSE);
  g_return_val_if_fail (FERRY_IS_FEATURE (feature), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  instance = engine_new_instance (self, feature);
  return instance_check (instance, error);
}

const char *
ferry_engine_get_inactive_reason (FerryEngine *self,
                                  const char  *name)
{
  g_return_val_if_fail (FERRY_IS_ENGINE (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  return g_hash_table_lookup (self->inactive, name);
}

const char *
_ferry_engine_inactive_summary (FerryEngine *self)
{
  GHashTableIter iter;
  gpointer key, value;
  GString *text = g_string_new (NULL);

  g_hash_table_iter_init (&iter, self->inactive);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_string_append_printf (text, "%s%s: %s", text->len ? "; " : "", (char *) key, (char *) value);
  g_free (self->inactive_summary);
  self->inactive_summary = g_string_free (text, FALSE);
  return *self->inactive_summary ? self->inactive_summary : _("none is enabled");
}

/* Starting: the instances are made on the engine's context, checked
 * (which may block, e.g. the dht probe of its proxies) on the caller's
 * thread or a worker thread, then started on the engine's context. */

typedef struct {
  gboolean  transport;
  char     *name;
  GObject  *instance;      /* NULL when no such feature is installed */
  GError   *check_error;   /* why it stays inactive */
} PendingFeature;

static void
pending_feature_free (gpointer data)
{
  PendingFeature *pending = data;

  g_free (pending->name);
  g_clear_object (&pending->instance);
  g_clear_error (&pending->check_error);
  g_free (pending);
}

static void
prepare_list (FerryEngine *self,
              GPtrArray   *list,
              char       **names,
              gboolean     transport)
{
  for (guint i = 0; names[i] != NULL; i++)
    {
      PendingFeature *pending = g_new0 (PendingFeature, 1);
      FerryFeature *feature =
        ferry_registry_lookup_feature (self->registry,
                                       transport ? FERRY_TYPE_TRANSPORT : FERRY_TYPE_SIGNALING,
                                       names[i]);

      pending->transport = transport;
      pending->name = g_strdup (names[i]);
      if (feature != NULL)
        pending->instance = engine_new_instance (self, feature);
      g_ptr_array_add (list, pending);
    }
}

/* The transports, then the signalings to start, or NULL with @error when
 * none is enabled. */
GPtrArray *
_ferry_engine_prepare_features (FerryEngine  *self,
                                GError      **error)
{
  GPtrArray *list;

  if (self->signaling_names[0] == NULL)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG, _("No signaling is enabled"));
      return NULL;
    }
  if (self->transport_names[0] == NULL)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG, _("No transport is enabled"));
      return NULL;
    }

  list = g_ptr_array_new_with_free_func (pending_feature_free);
  prepare_list (self, list, self->transport_names, TRUE);
  prepare_list (self, list, self->signaling_names, FALSE);
  return list;
}

/* Runs the checks; may run on a worker thread: a check reads only the
 * configuration, which does not change while the engine starts. */
void
_ferry_engine_check_features (GPtrArray *pending)
{
  for (guint i = 0; i < pending->len; i++)
    {
      PendingFeature *feature = g_ptr_array_index (pending, i);

      if (feature->instance != NULL)
        instance_check (feature->instance, &feature->check_error);
    }
}

/* Starts one checked feature and adds it to its list. A feature whose check
 * failed is left inactive (with its reason kept); a feature that is
 * unknown or fails to start is an error. */
static gboolean
activate_feature (FerryEngine     *self,
                  PendingFeature  *pending,
                  GError         **error)
{
  const char *name = pending->name;
  gboolean transport = pending->transport;
  g_autoptr(GError) local_error = NULL;

  if (pending->instance == NULL)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG,
                   transport ? _("No transport called “%s” is installed (see “ferry plugins”)")
                             : _("No signaling called “%s” is installed (see “ferry plugins”)"),
                   name);
      return FALSE;
    }
  if (pending->check_error != NULL)
    {
      g_info ("%s stays inactive: %s", name, pending->check_error->message);
      g_hash_table_replace (self->inactive, g_strdup (name), g_strdup (pending->check_error->message));
      return TRUE;
    }

  if (!transport)
    {
      g_signal_connect_object (pending->instance, "announcement-received",
                               G_CALLBACK (_ferry_engine_announcement_received_cb), self, 0);
      g_signal_connect_object (pending->instance, "message-received",
                               G_CALLBACK (_ferry_engine_message_received_cb), self, 0);
    }
  if (!(transport ? ferry_transport_start (FERRY_TRANSPORT (pending->instance), &local_error)
                  : ferry_signaling_start (FERRY_SIGNALING (pending->instance), &local_error)))
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG,
                   transport ? _("The %s transport cannot start: %s")
                             : _("The %s signaling cannot start: %s"),
                   name, local_error->message);
      if (!transport)
        g_signal_handlers_disconnect_by_data (pending->instance, self);
      return FALSE;
    }

  if (transport)
    g_signal_connect_object (pending->instance, "path-changed",
                             G_CALLBACK (_ferry_engine_transport_path_changed), self, G_CONNECT_SWAPPED);
  g_list_store_append (transport ? self->transports : self->signalings, pending->instance);
  return TRUE;
}

/* Starts the checked features in order; on failure the engine is left
 * stopped. */
gboolean
_ferry_engine_activate_features (FerryEngine  *self,
                                 GPtrArray    *pending,
                                 GError      **error)
{
  /* Before any transfer of this engine can run (once, at start-up; the
   * history is bounded, so this is quick). */
  _ferry_history_maintain (self->home, g_get_real_time () / 1000, self->history_max_records,
                           (gint64) self->history_max_age_days * 24 * 3600 * 1000,
                           (gint64) self->part_max_age_days * 24 * 3600 * 1000);

  self->started = TRUE;
  for (guint i = 0; i < pending->len; i++)
    {
      PendingFeature *feature = g_ptr_array_index (pending, i);
      PendingFeature *next = i + 1 < pending->len ? g_ptr_array_index (pending, i + 1) : NULL;
      GListStore *store = feature->transport ? self->transports : self->signalings;

      if (!activate_feature (self, feature, error))
        goto fail;
      /* The last of its kind: at least one must work. */
      if ((next == NULL || next->transport != feature->transport) &&
          g_list_model_get_n_items (G_LIST_MODEL (store)) == 0)
        {
          g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG,
                       feature->transport ? _("No transport can work: %s") : _("No signaling can work: %s"),
                       _ferry_engine_inactive_summary (self));
          goto fail;
        }
    }
  _ferry_engine_schedule_expiry (self);
  return TRUE;

fail:
  ferry_engine_stop (self);
  return FALSE;
}
