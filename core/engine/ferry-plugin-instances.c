/* ferry-plugin-instances.c: the signaling and transport instances, and what plugins ask of the engine
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include "ferry-engine-private.h"

/**
 * ferry_engine_get_local_addresses:
 * @self: a #FerryEngine
 *
 * The IPv4 addresses of the chosen interfaces (see
 * ferry_engine_set_interfaces()), in the order of the system's interface
 * list.
 *
 * Returns: (transfer full) (element-type GInetAddress): the addresses
 */
GPtrArray *
ferry_engine_get_local_addresses (FerryEngine *self)
{
  GPtrArray *addresses = g_ptr_array_new_with_free_func (g_object_unref);
  struct ifaddrs *list = NULL;
  gboolean all;

  g_return_val_if_fail (FERRY_IS_ENGINE (self), addresses);

  all = self->interfaces == NULL || self->interfaces[0] == NULL;
  if (getifaddrs (&list) != 0)
    {
      g_warning ("getifaddrs: %s", g_strerror (errno));
      return addresses;
    }

  for (struct ifaddrs *ifa = list; ifa != NULL; ifa = ifa->ifa_next)
    {
      const struct sockaddr_in *sin;

      if (ifa->ifa_addr == NULL || ifa->ifa_addr->sa_family != AF_INET)
        continue;
      if (!(ifa->ifa_flags & IFF_UP))
        continue;
      if (all ? (ifa->ifa_flags & IFF_LOOPBACK) != 0
              : !g_strv_contains ((const char * const *) self->interfaces, ifa->ifa_name))
        continue;

      sin = (const struct sockaddr_in *) ifa->ifa_addr;
      g_ptr_array_add (addresses,
                       g_inet_address_new_from_bytes ((const guint8 *) &sin->sin_addr,
                                                      G_SOCKET_FAMILY_IPV4));
    }
  freeifaddrs (list);
  return addresses;
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
 */
GBytes *
ferry_engine_get_announcement (FerryEngine *self)
{
  gint64 now = g_get_monotonic_time ();

  g_return_val_if_fail (FERRY_IS_ENGINE (self), NULL);

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

/* Creates, checks and starts one feature. A feature whose check fails is
 * left inactive (with its reason kept) and *@out stays NULL; a feature that
 * is unknown or fails to start is an error. */
gboolean
_ferry_engine_start_feature (FerryEngine  *self,
                             GType         base_type,
                             const char   *name,
                             GObject     **out,
                             GError      **error)
{
  FerryFeature *feature = ferry_registry_lookup_feature (self->registry, base_type, name);
  gboolean transport = base_type == FERRY_TYPE_TRANSPORT;
  g_autoptr(GObject) instance = NULL;
  g_autoptr(GError) local_error = NULL;

  if (feature == NULL)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG,
                   transport ? _("No transport called “%s” is installed (see “ferry plugins”)")
                             : _("No signaling called “%s” is installed (see “ferry plugins”)"),
                   name);
      return FALSE;
    }

  instance = engine_new_instance (self, feature);
  if (!instance_check (instance, &local_error))
    {
      g_info ("%s stays inactive: %s", name, local_error->message);
      g_hash_table_replace (self->inactive, g_strdup (name), g_strdup (local_error->message));
      return TRUE;
    }

  if (!transport)
    {
      g_signal_connect_object (instance, "announcement-received",
                               G_CALLBACK (_ferry_engine_announcement_received_cb), self, 0);
      g_signal_connect_object (instance, "message-received",
                               G_CALLBACK (_ferry_engine_message_received_cb), self, 0);
    }
  if (!(transport ? ferry_transport_start (FERRY_TRANSPORT (instance), &local_error)
                  : ferry_signaling_start (FERRY_SIGNALING (instance), &local_error)))
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG,
                   transport ? _("The %s transport cannot start: %s")
                             : _("The %s signaling cannot start: %s"),
                   name, local_error->message);
      if (!transport)
        g_signal_handlers_disconnect_by_data (instance, self);
      return FALSE;
    }

  *out = g_steal_pointer (&instance);
  return TRUE;
}
