/* ferry-peer.c: accounts and their devices, as seen through signaling
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ferry-peer-private.h"
#include "ferry-utils-private.h"

/**
 * FerryDevice:
 *
 * One device of an account, as announced through a signaling plugin and
 * verified by the core: its certificate chains to the account.
 */
struct _FerryDevice
{
  GObject         parent_instance;

  char           *account_id;
  char           *device_id;
  char           *name;
  char           *signaling_name;
  FerrySignaling *signaling;
  char           *route;
  char           *chain_pem;
  gint64          last_seen;
  gint64          timestamp_ms;   /* of the newest message accepted, 0 before */
  gint64          last_seen_real;   /* µs since the epoch */
};

G_DEFINE_FINAL_TYPE (FerryDevice, ferry_device, G_TYPE_OBJECT)

enum {
  DEVICE_PROP_0,
  DEVICE_PROP_ACCOUNT_ID,
  DEVICE_PROP_DEVICE_ID,
  DEVICE_PROP_NAME,
  DEVICE_PROP_SIGNALING,
  DEVICE_PROP_LAST_SEEN,
  DEVICE_PROP_LAST_SEEN_TIME,
  N_DEVICE_PROPS
};

static GParamSpec *device_props[N_DEVICE_PROPS];

static void
ferry_device_finalize (GObject *object)
{
  FerryDevice *self = FERRY_DEVICE (object);

  g_free (self->account_id);
  g_free (self->device_id);
  g_free (self->name);
  g_free (self->signaling_name);
  g_clear_weak_pointer (&self->signaling);
  g_free (self->route);
  g_free (self->chain_pem);

  G_OBJECT_CLASS (ferry_device_parent_class)->finalize (object);
}

static void
ferry_device_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  FerryDevice *self = FERRY_DEVICE (object);

  switch (prop_id)
    {
    case DEVICE_PROP_ACCOUNT_ID:
      g_value_set_string (value, self->account_id);
      break;
    case DEVICE_PROP_DEVICE_ID:
      g_value_set_string (value, self->device_id);
      break;
    case DEVICE_PROP_NAME:
      g_value_set_string (value, self->name);
      break;
    case DEVICE_PROP_SIGNALING:
      g_value_set_string (value, self->signaling_name);
      break;
    case DEVICE_PROP_LAST_SEEN:
      g_value_set_int64 (value, self->last_seen);
      break;
    case DEVICE_PROP_LAST_SEEN_TIME:
      g_value_take_boxed (value, ferry_device_dup_last_seen_time (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ferry_device_class_init (FerryDeviceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = ferry_device_finalize;
  object_class->get_property = ferry_device_get_property;

  /**
   * FerryDevice:account-id:
   *
   * The hex SHA-256 fingerprint of the account key the device belongs to.
   */
  device_props[DEVICE_PROP_ACCOUNT_ID] =
    g_param_spec_string ("account-id", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * FerryDevice:device-id:
   *
   * The hex SHA-256 fingerprint of the device key.
   */
  device_props[DEVICE_PROP_DEVICE_ID] =
    g_param_spec_string ("device-id", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * FerryDevice:name:
   *
   * The display name the device announces.
   */
  device_props[DEVICE_PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * FerryDevice:signaling:
   *
   * The name of the signaling plugin the device was last seen through.
   */
  device_props[DEVICE_PROP_SIGNALING] =
    g_param_spec_string ("signaling", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * FerryDevice:last-seen:
   *
   * When the device was last heard of, in microseconds of the monotonic clock.
   */
  device_props[DEVICE_PROP_LAST_SEEN] =
    g_param_spec_int64 ("last-seen", NULL, NULL, 0, G_MAXINT64, 0,
                        G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * FerryDevice:last-seen-time: (getter dup_last_seen_time)
   *
   * When the device was last heard of, by the wall clock (local time), to
   * show to a person. Notified together with [property@Ferry.Device:last-seen].
   */
  device_props[DEVICE_PROP_LAST_SEEN_TIME] =
    g_param_spec_boxed ("last-seen-time", NULL, NULL, G_TYPE_DATE_TIME,
                        G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_DEVICE_PROPS, device_props);
}

static void
ferry_device_init (FerryDevice *self)
{
}

FerryDevice *
_ferry_device_new (const char *account_id,
                   const char *device_id)
{
  FerryDevice *self = g_object_new (FERRY_TYPE_DEVICE, NULL);

  self->account_id = g_strdup (account_id);
  self->device_id = g_strdup (device_id);
  return self;
}

gboolean
_ferry_device_update (FerryDevice    *self,
                      const char     *name,
                      FerrySignaling *signaling,
                      const char     *route,
                      const char     *chain_pem,
                      gint64          timestamp_ms)
{
  g_return_val_if_fail (FERRY_IS_DEVICE (self), FALSE);

  /* A message is replayed or overtaken unless it is strictly newer than the
   * last one accepted: it may not move the device's route back. */
  if (timestamp_ms <= self->timestamp_ms)
    {
      g_debug ("ignoring a message of device %.12s from %" G_GINT64_FORMAT
               " ms, not newer than %" G_GINT64_FORMAT " ms",
               self->device_id, timestamp_ms, self->timestamp_ms);
      return FALSE;
    }
  self->timestamp_ms = timestamp_ms;

  if (_ferry_set_str (&self->name, name))
    g_object_notify_by_pspec (G_OBJECT (self), device_props[DEVICE_PROP_NAME]);
  if (signaling != NULL)
    {
      g_set_weak_pointer (&self->signaling, signaling);
      if (_ferry_set_str (&self->signaling_name, ferry_signaling_get_name (signaling)))
        g_object_notify_by_pspec (G_OBJECT (self), device_props[DEVICE_PROP_SIGNALING]);
    }
  if (route != NULL)
    _ferry_set_str (&self->route, route);
  if (chain_pem != NULL)
    _ferry_set_str (&self->chain_pem, chain_pem);
  self->last_seen = g_get_monotonic_time ();
  self->last_seen_real = g_get_real_time ();
  g_object_notify_by_pspec (G_OBJECT (self), device_props[DEVICE_PROP_LAST_SEEN]);
  g_object_notify_by_pspec (G_OBJECT (self), device_props[DEVICE_PROP_LAST_SEEN_TIME]);

  return TRUE;
}

FerrySignaling *
_ferry_device_get_signaling (FerryDevice *self)
{
  return self->signaling;
}

const char *
_ferry_device_get_route (FerryDevice *self)
{
  return self->route;
}

const char *
_ferry_device_get_chain_pem (FerryDevice *self)
{
  return self->chain_pem;
}

/**
 * ferry_device_get_device_id:
 * @self: a #FerryDevice
 *
 * Gets the id of the device: the hex SHA-256 fingerprint of its public key.
 *
 * Returns: the device id, 64 lower-case hex digits
 */
const char *
ferry_device_get_device_id (FerryDevice *self)
{
  g_return_val_if_fail (FERRY_IS_DEVICE (self), NULL);
  return self->device_id;
}

/**
 * ferry_device_get_account_id:
 * @self: a #FerryDevice
 *
 * Gets the id of the account whose key signed the device's certificate.
 *
 * Returns: the id of the account the device belongs to
 */
const char *
ferry_device_get_account_id (FerryDevice *self)
{
  g_return_val_if_fail (FERRY_IS_DEVICE (self), NULL);
  return self->account_id;
}

/**
 * ferry_device_get_name:
 * @self: a #FerryDevice
 *
 * Gets the name the device announced for display.
 *
 * Returns: (nullable): the display name the device announced
 */
const char *
ferry_device_get_name (FerryDevice *self)
{
  g_return_val_if_fail (FERRY_IS_DEVICE (self), NULL);
  return self->name;
}

/**
 * ferry_device_get_signaling:
 * @self: a #FerryDevice
 *
 * Gets the name of the signaling through which the device was last heard of.
 *
 * Returns: (nullable): the name of the signaling the device was last seen
 *   through
 */
const char *
ferry_device_get_signaling (FerryDevice *self)
{
  g_return_val_if_fail (FERRY_IS_DEVICE (self), NULL);
  return self->signaling_name;
}

/**
 * ferry_device_get_last_seen:
 * @self: a #FerryDevice
 *
 * Gets when the device was last heard of.
 *
 * Returns: when the device was last heard of, in microseconds of
 *   g_get_monotonic_time()
 */
gint64
ferry_device_get_last_seen (FerryDevice *self)
{
  g_return_val_if_fail (FERRY_IS_DEVICE (self), 0);
  return self->last_seen;
}

/**
 * ferry_device_dup_last_seen_time:
 * @self: a #FerryDevice
 *
 * Gets when the device was last heard of, by the wall clock. Use
 * ferry_device_get_last_seen() to measure how long ago: the wall clock may
 * jump.
 *
 * Returns: (transfer full) (nullable): the local time the device was last
 *   heard of, or %NULL if it never was
 */
GDateTime *
ferry_device_dup_last_seen_time (FerryDevice *self)
{
  g_autoptr(GDateTime) seconds = NULL;

  g_return_val_if_fail (FERRY_IS_DEVICE (self), NULL);

  if (self->last_seen_real == 0)
    return NULL;
  seconds = g_date_time_new_from_unix_local (self->last_seen_real / G_USEC_PER_SEC);
  return seconds != NULL ? g_date_time_add (seconds, self->last_seen_real % G_USEC_PER_SEC) : NULL;
}

/**
 * FerryPeer:
 *
 * An account seen through signaling, with the devices that belong to it.
 */
struct _FerryPeer
{
  GObject     parent_instance;

  char       *account_id;
  char       *name;
  GListStore *devices;
};

G_DEFINE_FINAL_TYPE (FerryPeer, ferry_peer, G_TYPE_OBJECT)

enum {
  PEER_PROP_0,
  PEER_PROP_ACCOUNT_ID,
  PEER_PROP_NAME,
  PEER_PROP_DEVICES,
  N_PEER_PROPS
};

static GParamSpec *peer_props[N_PEER_PROPS];

static void
ferry_peer_finalize (GObject *object)
{
  FerryPeer *self = FERRY_PEER (object);

  g_free (self->account_id);
  g_free (self->name);
  g_clear_object (&self->devices);

  G_OBJECT_CLASS (ferry_peer_parent_class)->finalize (object);
}

static void
ferry_peer_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  FerryPeer *self = FERRY_PEER (object);

  switch (prop_id)
    {
    case PEER_PROP_ACCOUNT_ID:
      g_value_set_string (value, self->account_id);
      break;
    case PEER_PROP_NAME:
      g_value_set_string (value, self->name);
      break;
    case PEER_PROP_DEVICES:
      g_value_set_object (value, self->devices);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ferry_peer_class_init (FerryPeerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = ferry_peer_finalize;
  object_class->get_property = ferry_peer_get_property;

  /**
   * FerryPeer:account-id:
   *
   * The hex SHA-256 fingerprint of the account key.
   */
  peer_props[PEER_PROP_ACCOUNT_ID] =
    g_param_spec_string ("account-id", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * FerryPeer:name:
   *
   * The display name of the device heard of last.
   */
  peer_props[PEER_PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * FerryPeer:devices:
   *
   * The devices of the account seen so far, a #GListModel of #FerryDevice.
   */
  peer_props[PEER_PROP_DEVICES] =
    g_param_spec_object ("devices", NULL, NULL, G_TYPE_LIST_MODEL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PEER_PROPS, peer_props);
}

static void
ferry_peer_init (FerryPeer *self)
{
  self->devices = g_list_store_new (FERRY_TYPE_DEVICE);
}

FerryPeer *
_ferry_peer_new (const char *account_id)
{
  FerryPeer *self = g_object_new (FERRY_TYPE_PEER, NULL);

  self->account_id = g_strdup (account_id);
  return self;
}

void
_ferry_peer_set_name (FerryPeer  *self,
                      const char *name)
{
  if (_ferry_set_str (&self->name, name))
    g_object_notify_by_pspec (G_OBJECT (self), peer_props[PEER_PROP_NAME]);
}

void
_ferry_peer_add_device (FerryPeer   *self,
                        FerryDevice *device)
{
  g_list_store_append (self->devices, device);
}

FerryDevice *
_ferry_peer_lookup_device (FerryPeer  *self,
                           const char *device_id)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->devices));

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(FerryDevice) device = g_list_model_get_item (G_LIST_MODEL (self->devices), i);

      if (g_str_equal (device->device_id, device_id))
        return device;
    }
  return NULL;
}

/* Removes the devices last seen before @before (monotonic µs); returns how
 * many are left. */
guint
_ferry_peer_forget_devices (FerryPeer *self,
                            gint64     before)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->devices));

  for (guint i = n; i > 0; i--)
    {
      g_autoptr(FerryDevice) device = g_list_model_get_item (G_LIST_MODEL (self->devices), i - 1);

      if (device->last_seen < before)
        g_list_store_remove (self->devices, i - 1);
    }
  return g_list_model_get_n_items (G_LIST_MODEL (self->devices));
}

FerryDevice *
_ferry_peer_get_latest_device (FerryPeer *self)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->devices));
  FerryDevice *best = NULL;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(FerryDevice) device = g_list_model_get_item (G_LIST_MODEL (self->devices), i);

      if (best == NULL || device->last_seen > best->last_seen)
        best = device;
    }
  return best;
}

/**
 * ferry_peer_get_account_id:
 * @self: a #FerryPeer
 *
 * Gets the id of the account: the hex SHA-256 fingerprint of its public key.
 *
 * Returns: the account id, 64 lower-case hex digits
 */
const char *
ferry_peer_get_account_id (FerryPeer *self)
{
  g_return_val_if_fail (FERRY_IS_PEER (self), NULL);
  return self->account_id;
}

/**
 * ferry_peer_get_name:
 * @self: a #FerryPeer
 *
 * Gets the display name of the account's device heard of last.
 *
 * Returns: (nullable): the display name of the device heard of last
 */
const char *
ferry_peer_get_name (FerryPeer *self)
{
  g_return_val_if_fail (FERRY_IS_PEER (self), NULL);
  return self->name;
}

/**
 * ferry_peer_get_devices:
 * @self: a #FerryPeer
 *
 * Gets the devices of the account seen so far. Items are added as devices
 * announce themselves.
 *
 * Returns: (transfer none): a #GListModel of the account's #FerryDevice
 */
GListModel *
ferry_peer_get_devices (FerryPeer *self)
{
  g_return_val_if_fail (FERRY_IS_PEER (self), NULL);
  return G_LIST_MODEL (self->devices);
}
