/* ferry-account-device.c: the devices of this device's account, as objects
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ferry-account.h"
#include "ferry-account-device.h"
#include "ferry-engine.h"

/**
 * FerryAccountDevice:
 *
 * One device of the account of an engine, as the home directory knows it:
 * the engine's own device, the devices of the account seen through
 * signaling, and the revoked ones. See ferry_engine_list_account_devices().
 */
struct _FerryAccountDevice
{
  GObject    parent_instance;

  char      *device_id;
  char      *name;
  GDateTime *last_seen;
  gboolean   is_this;
  gboolean   revoked;
};

G_DEFINE_FINAL_TYPE (FerryAccountDevice, ferry_account_device, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_DEVICE_ID,
  PROP_NAME,
  PROP_LAST_SEEN,
  PROP_IS_THIS,
  PROP_REVOKED,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

static void
ferry_account_device_finalize (GObject *object)
{
  FerryAccountDevice *self = FERRY_ACCOUNT_DEVICE (object);

  g_free (self->device_id);
  g_free (self->name);
  g_clear_pointer (&self->last_seen, g_date_time_unref);

  G_OBJECT_CLASS (ferry_account_device_parent_class)->finalize (object);
}

static void
ferry_account_device_get_property (GObject    *object,
                                   guint       prop_id,
                                   GValue     *value,
                                   GParamSpec *pspec)
{
  FerryAccountDevice *self = FERRY_ACCOUNT_DEVICE (object);

  switch (prop_id)
    {
    case PROP_DEVICE_ID:
      g_value_set_string (value, self->device_id);
      break;
    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;
    case PROP_LAST_SEEN:
      g_value_set_boxed (value, self->last_seen);
      break;
    case PROP_IS_THIS:
      g_value_set_boolean (value, self->is_this);
      break;
    case PROP_REVOKED:
      g_value_set_boolean (value, self->revoked);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ferry_account_device_class_init (FerryAccountDeviceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = ferry_account_device_finalize;
  object_class->get_property = ferry_account_device_get_property;

  /**
   * FerryAccountDevice:device-id:
   *
   * The hex SHA-256 fingerprint of the device key.
   */
  props[PROP_DEVICE_ID] =
    g_param_spec_string ("device-id", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * FerryAccountDevice:name:
   *
   * The name the device announced, or %NULL when unknown.
   */
  props[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * FerryAccountDevice:last-seen:
   *
   * When the device was last heard of (local time), or %NULL when unknown.
   */
  props[PROP_LAST_SEEN] =
    g_param_spec_boxed ("last-seen", NULL, NULL, G_TYPE_DATE_TIME, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * FerryAccountDevice:is-this: (getter get_is_this)
   *
   * Whether it is the engine's own device.
   */
  props[PROP_IS_THIS] =
    g_param_spec_boolean ("is-this", NULL, NULL, FALSE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * FerryAccountDevice:revoked:
   *
   * Whether the account revoked the device.
   */
  props[PROP_REVOKED] =
    g_param_spec_boolean ("revoked", NULL, NULL, FALSE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
ferry_account_device_init (FerryAccountDevice *self)
{
}

static FerryAccountDevice *
device_new (JsonObject *entry)
{
  FerryAccountDevice *self = g_object_new (FERRY_TYPE_ACCOUNT_DEVICE, NULL);
  const char *name = json_object_get_string_member_with_default (entry, "name", NULL);
  gint64 last_seen = json_object_get_int_member_with_default (entry, "last-seen", 0);

  self->device_id = g_strdup (json_object_get_string_member_with_default (entry, "device", NULL));
  self->name = name != NULL && *name != '\0' ? g_strdup (name) : NULL;
  if (last_seen > 0)
    {
      g_autoptr(GDateTime) seconds = g_date_time_new_from_unix_local (last_seen / 1000);

      if (seconds != NULL)
        self->last_seen = g_date_time_add (seconds, (last_seen % 1000) * 1000);
    }
  self->is_this = json_object_get_boolean_member_with_default (entry, "this", FALSE);
  self->revoked = json_object_get_boolean_member_with_default (entry, "revoked", FALSE);
  return self;
}

/**
 * ferry_engine_list_account_devices:
 * @self: a #FerryEngine
 *
 * Lists the devices of this device's account that the home directory
 * knows: this one first, then those seen through signaling and the
 * revoked ones. It reads a few small files.
 *
 * Returns: (transfer full): a #GListModel of #FerryAccountDevice
 */
GListModel *
ferry_engine_list_account_devices (FerryEngine *self)
{
  g_autoptr(GPtrArray) entries = NULL;
  GListStore *store;

  g_return_val_if_fail (FERRY_IS_ENGINE (self), NULL);

  store = g_list_store_new (FERRY_TYPE_ACCOUNT_DEVICE);
  entries = ferry_account_list_devices (ferry_engine_get_home (self));
  for (guint i = 0; i < entries->len; i++)
    {
      g_autoptr(FerryAccountDevice) device = device_new (g_ptr_array_index (entries, i));

      if (device->device_id != NULL)
        g_list_store_append (store, device);
    }
  return G_LIST_MODEL (store);
}

/**
 * ferry_account_device_get_device_id:
 * @self: a #FerryAccountDevice
 *
 * Gets the id of the device.
 *
 * Returns: the device id, 64 lower-case hex digits
 */
const char *
ferry_account_device_get_device_id (FerryAccountDevice *self)
{
  g_return_val_if_fail (FERRY_IS_ACCOUNT_DEVICE (self), NULL);
  return self->device_id;
}

/**
 * ferry_account_device_get_name:
 * @self: a #FerryAccountDevice
 *
 * Gets the name the device announced.
 *
 * Returns: (nullable): the name, or %NULL when unknown
 */
const char *
ferry_account_device_get_name (FerryAccountDevice *self)
{
  g_return_val_if_fail (FERRY_IS_ACCOUNT_DEVICE (self), NULL);
  return self->name;
}

/**
 * ferry_account_device_get_last_seen:
 * @self: a #FerryAccountDevice
 *
 * Gets when the device was last heard of.
 *
 * Returns: (transfer none) (nullable): the local time, or %NULL when unknown
 */
GDateTime *
ferry_account_device_get_last_seen (FerryAccountDevice *self)
{
  g_return_val_if_fail (FERRY_IS_ACCOUNT_DEVICE (self), NULL);
  return self->last_seen;
}

/**
 * ferry_account_device_get_is_this:
 * @self: a #FerryAccountDevice
 *
 * Tells whether it is the engine's own device.
 *
 * Returns: %TRUE for the engine's own device
 */
gboolean
ferry_account_device_get_is_this (FerryAccountDevice *self)
{
  g_return_val_if_fail (FERRY_IS_ACCOUNT_DEVICE (self), FALSE);
  return self->is_this;
}

/**
 * ferry_account_device_get_revoked:
 * @self: a #FerryAccountDevice
 *
 * Tells whether the account revoked the device.
 *
 * Returns: %TRUE when revoked
 */
gboolean
ferry_account_device_get_revoked (FerryAccountDevice *self)
{
  g_return_val_if_fail (FERRY_IS_ACCOUNT_DEVICE (self), FALSE);
  return self->revoked;
}
