/* ferry-transfer.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "ferry-chain-private.h"
#include "ferry-enum-types.h"
#include "ferry-error.h"
#include "ferry-transfer-internal.h"
#include "ferry-peer-private.h"
#include "ferry-utils-private.h"

/**
 * FerryTransfer:
 *
 * One outgoing or incoming transfer of one or more files.
 *
 * Its [property@Ferry.Transfer:state] follows Jami's data transfer states;
 * [property@Ferry.Transfer:chain] tells which signaling, transport and
 * secure channel carried it. All notifications are emitted on the main
 * context of the engine that made it.
 */

G_DEFINE_FINAL_TYPE (FerryTransfer, ferry_transfer, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_ID,
  PROP_DIRECTION,
  PROP_STATE,
  PROP_DEVICE,
  PROP_FILES,
  PROP_TOTAL_SIZE,
  PROP_BYTES,
  PROP_RATE,
  PROP_CHAIN,
  PROP_ERROR,
  PROP_SUB_TRANSFERS,
  PROP_CHAIN_SEGMENTS,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

static void
ferry_transfer_finalize (GObject *object)
{
  FerryTransfer *self = FERRY_TRANSFER (object);

  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (self->sub_transfers)); i++)
    {
      g_autoptr(FerryTransfer) sub = g_list_model_get_item (G_LIST_MODEL (self->sub_transfers), i);

      g_signal_handlers_disconnect_by_data (sub, self);
    }
  g_clear_object (&self->sub_transfers);
  g_free (self->id);
  g_clear_object (&self->device);
  g_clear_object (&self->files);
  g_free (self->chain);
  g_clear_object (&self->chain_segments);
  g_free (self->text);
  g_free (self->folder);
  g_clear_pointer (&self->skipped, g_ptr_array_unref);
  g_clear_pointer (&self->directories, g_ptr_array_unref);
  g_clear_error (&self->error);
  g_ptr_array_unref (self->waiters);

  G_OBJECT_CLASS (ferry_transfer_parent_class)->finalize (object);
}

static void
ferry_transfer_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  FerryTransfer *self = FERRY_TRANSFER (object);

  switch (prop_id)
    {
    case PROP_ID:
      g_value_set_string (value, self->id);
      break;
    case PROP_DIRECTION:
      g_value_set_enum (value, self->direction);
      break;
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_DEVICE:
      g_value_set_object (value, self->device);
      break;
    case PROP_FILES:
      g_value_set_object (value, self->files);
      break;
    case PROP_TOTAL_SIZE:
      g_value_set_uint64 (value, self->total_size);
      break;
    case PROP_BYTES:
      g_value_set_uint64 (value, self->bytes);
      break;
    case PROP_RATE:
      g_value_set_double (value, self->rate);
      break;
    case PROP_CHAIN:
      g_value_set_string (value, self->chain);
      break;
    case PROP_ERROR:
      g_value_set_boxed (value, self->error);
      break;
    case PROP_SUB_TRANSFERS:
      g_value_set_object (value, self->sub_transfers);
      break;
    case PROP_CHAIN_SEGMENTS:
      g_value_set_object (value, self->chain_segments);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ferry_transfer_class_init (FerryTransferClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = ferry_transfer_finalize;
  object_class->get_property = ferry_transfer_get_property;

  /**
   * FerryTransfer:id:
   *
   * The transfer id both devices share, in hex.
   */
  props[PROP_ID] =
    g_param_spec_string ("id", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * FerryTransfer:direction:
   *
   * Whether this device sends or receives.
   */
  props[PROP_DIRECTION] =
    g_param_spec_enum ("direction", NULL, NULL,
                       FERRY_TYPE_TRANSFER_DIRECTION, FERRY_TRANSFER_DIRECTION_OUTGOING,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * FerryTransfer:state:
   *
   * Where the transfer is in its life cycle.
   */
  props[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL,
                       FERRY_TYPE_TRANSFER_STATE, FERRY_TRANSFER_STATE_CREATED,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * FerryTransfer:device:
   *
   * The device at the other end.
   */
  props[PROP_DEVICE] =
    g_param_spec_object ("device", NULL, NULL, FERRY_TYPE_DEVICE,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * FerryTransfer:files:
   *
   * The files, a #GListModel of #FerryTransferFile.
   */
  props[PROP_FILES] =
    g_param_spec_object ("files", NULL, NULL, G_TYPE_LIST_MODEL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * FerryTransfer:total-size:
   *
   * The size of all files together, in bytes.
   */
  props[PROP_TOTAL_SIZE] =
    g_param_spec_uint64 ("total-size", NULL, NULL, 0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * FerryTransfer:bytes:
   *
   * How many bytes of file data went through so far.
   */
  props[PROP_BYTES] =
    g_param_spec_uint64 ("bytes", NULL, NULL, 0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * FerryTransfer:rate:
   *
   * The current rate in bytes per second, smoothed.
   */
  props[PROP_RATE] =
    g_param_spec_double ("rate", NULL, NULL, 0, G_MAXDOUBLE, 0,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * FerryTransfer:chain:
   *
   * The chain that carries the transfer, e.g.
   * `local-broadcast → lan (tcp 192.0.2.7:40123) → tls1.3/aes-256-gcm`.
   * When the transport moved to another path during the transfer, the
   * paths follow each other with ` ⇒ `, each path given way to with the
   * bytes it carried, e.g. `dht → ice (udp relay via 192.0.2.1:3478,
   * relay↔srflx) [1048576 bytes] ⇒ ice (udp, srflx↔srflx) → tls1.3/…`.
   */
  props[PROP_CHAIN] =
    g_param_spec_string ("chain", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * FerryTransfer:error:
   *
   * Why the transfer did not finish, or %NULL.
   */
  props[PROP_ERROR] =
    g_param_spec_boxed ("error", NULL, NULL, G_TYPE_ERROR,
                        G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * FerryTransfer:sub-transfers:
   *
   * An outgoing transfer to a peer is offered to every reachable device
   * of the peer's account: one sub-transfer per device, a #GListModel of
   * #FerryTransfer, each with its own state, progress, chain and error.
   * Empty for an incoming transfer and for a sub-transfer.
   *
   * The transfer itself shows the optimistic aggregate: the bytes, rate
   * and chain of the most advanced device; finished as soon as one device
   * verified every file; and a final failure state only once every device
   * failed, rejected or cancelled (the state and error are then those of
   * the device that ended last). The other devices go on after the
   * aggregate finished.
   */
  props[PROP_SUB_TRANSFERS] =
    g_param_spec_object ("sub-transfers", NULL, NULL, G_TYPE_LIST_MODEL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * FerryTransfer:chain-segments: (getter get_chain_segments)
   *
   * The chain as a #GListModel of #FerryChainSegment: the signaling, the
   * transport and the secure channel. [property@Ferry.Transfer:chain] is
   * its display string.
   */
  props[PROP_CHAIN_SEGMENTS] =
    g_param_spec_object ("chain-segments", NULL, NULL, G_TYPE_LIST_MODEL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
ferry_transfer_init (FerryTransfer *self)
{
  self->files = g_list_store_new (FERRY_TYPE_TRANSFER_FILE);
  self->waiters = g_ptr_array_new_with_free_func (g_object_unref);
  self->sub_transfers = g_list_store_new (FERRY_TYPE_TRANSFER);
  self->chain_segments = g_list_store_new (FERRY_TYPE_CHAIN_SEGMENT);
}

FerryTransfer *
_ferry_transfer_new (const char             *id,
                     FerryTransferDirection  direction,
                     FerryDevice            *device)
{
  FerryTransfer *self = g_object_new (FERRY_TYPE_TRANSFER, NULL);

  self->id = g_strdup (id);
  self->direction = direction;
  g_set_object (&self->device, device);
  return self;
}

void
_ferry_transfer_set_ops (FerryTransfer          *self,
                         const FerryTransferOps *ops,
                         gpointer                user_data)
{
  self->ops = ops;
  self->ops_data = user_data;
}

void
_ferry_transfer_add_file (FerryTransfer     *self,
                          FerryTransferFile *file)
{
  g_list_store_append (self->files, file);
  if (self->offered)
    return;
  self->n_files++;
  self->total_size += ferry_transfer_file_get_size (file);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_TOTAL_SIZE]);
}

gboolean
_ferry_transfer_state_is_done (FerryTransferState state)
{
  return state >= FERRY_TRANSFER_STATE_FINISHED;
}

void
_ferry_transfer_set_state (FerryTransfer      *self,
                           FerryTransferState  state,
                           const GError       *error)
{
  g_autoptr(GPtrArray) waiters = NULL;

  if (self->state == state || _ferry_transfer_state_is_done (self->state))
    return;

  g_object_freeze_notify (G_OBJECT (self));
  self->state = state;
  if (error != NULL)
    {
      g_clear_error (&self->error);
      self->error = g_error_copy (error);
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_ERROR]);
    }
  if (_ferry_transfer_state_is_done (state))
    {
      self->ops = NULL;
      self->ops_data = NULL;
      if (self->rate != 0)
        {
          self->rate = 0;
          g_object_notify_by_pspec (G_OBJECT (self), props[PROP_RATE]);
        }
    }
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_STATE]);
  g_object_thaw_notify (G_OBJECT (self));

  if (!_ferry_transfer_state_is_done (state))
    return;

  waiters = g_steal_pointer (&self->waiters);
  self->waiters = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < waiters->len; i++)
    {
      GTask *task = g_ptr_array_index (waiters, i);

      if (self->state == FERRY_TRANSFER_STATE_FINISHED)
        g_task_return_boolean (task, TRUE);
      else if (self->error != NULL)
        g_task_return_error (task, g_error_copy (self->error));
      else
        g_task_return_new_error (task, FERRY_ERROR, FERRY_ERROR_FAILED,
                                 _("The transfer did not finish"));
    }
}

void
_ferry_transfer_set_bytes (FerryTransfer *self,
                           guint64        bytes)
{
  gint64 now = g_get_monotonic_time ();

  if (bytes == self->bytes)
    return;

  g_object_freeze_notify (G_OBJECT (self));
  if (self->rate_time == 0)
    {
      self->rate_time = now;
      self->rate_bytes = bytes;
    }
  else if (now - self->rate_time >= G_USEC_PER_SEC / 4)
    {
      double instant = (double) (bytes - self->rate_bytes) * G_USEC_PER_SEC / (now - self->rate_time);

      /* Exponential smoothing, so that the ETA does not jump around. */
      self->rate = self->rate == 0 ? instant : 0.7 * self->rate + 0.3 * instant;
      self->rate_time = now;
      self->rate_bytes = bytes;
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_RATE]);
    }
  self->bytes = bytes;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_BYTES]);
  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (self->chain_segments)); i++)
    {
      g_autoptr(FerryChainSegment) segment = g_list_model_get_item (G_LIST_MODEL (self->chain_segments), i);

      _ferry_chain_segment_set_bytes (segment, bytes);
    }
  g_object_thaw_notify (G_OBJECT (self));
}

/* The chain's segments are parsed from the text the negotiation gives;
 * the display string is made from them again. */
void
_ferry_transfer_set_chain (FerryTransfer *self,
                           const char    *chain)
{
  g_autoptr(GPtrArray) segments = NULL;
  g_autofree char *text = NULL;

  if (g_strcmp0 (self->chain, chain) == 0)
    return;
  segments = _ferry_chain_parse (chain, self->device ? _ferry_device_get_route (self->device) : NULL);
  for (guint i = 0; i < segments->len; i++)
    _ferry_chain_segment_set_bytes (g_ptr_array_index (segments, i), self->bytes);
  g_list_store_splice (self->chain_segments, 0,
                       g_list_model_get_n_items (G_LIST_MODEL (self->chain_segments)),
                       segments->pdata, segments->len);
  text = _ferry_chain_to_string (G_LIST_MODEL (self->chain_segments));
  if (_ferry_set_str (&self->chain, text))
    g_object_notify_by_pspec (G_OBJECT (self), props[PROP_CHAIN]);
}

/* The transport moved to another path (see _ferry_chain_add_path());
 * @carried: what the old paths carried, counted by the transport (stream
 * bytes), or 0 for the transfer's bytes now. */
void
_ferry_transfer_add_path (FerryTransfer *self,
                          const char    *transport,
                          guint64        carried)
{
  /* The stream's bytes hold some framing too: never more than the file. */
  guint64 switched = carried == 0 ? self->bytes : MIN (carried, self->total_size);
  g_autofree char *text = _ferry_chain_add_path (self->chain_segments, transport, switched, self->bytes);

  if (text != NULL && _ferry_set_str (&self->chain, text))
    g_object_notify_by_pspec (G_OBJECT (self), props[PROP_CHAIN]);
}

/* Fan-out: the parent's optimistic aggregate of its sub-transfers. */
static void
transfer_update_aggregate (FerryTransfer *self,
                           FerryTransfer *changed)
{
  GListModel *subs = G_LIST_MODEL (self->sub_transfers);
  guint n = g_list_model_get_n_items (subs);
  FerryTransfer *best = NULL;
  FerryTransfer *finished = NULL;
  FerryTransferState running = FERRY_TRANSFER_STATE_CREATED;
  gboolean all_done = TRUE;

  if (_ferry_transfer_state_is_done (self->state) || n == 0)
    return;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(FerryTransfer) sub = g_list_model_get_item (subs, i);

      if (sub->state == FERRY_TRANSFER_STATE_FINISHED && finished == NULL)
        finished = sub;
      if (!_ferry_transfer_state_is_done (sub->state))
        {
          all_done = FALSE;
          running = MAX (running, sub->state);
        }
      if (best == NULL || sub->bytes > best->bytes ||
          (sub->bytes == best->bytes && best->chain == NULL && sub->chain != NULL))
        best = sub;
    }

  if (finished != NULL)
    best = finished;

  g_object_freeze_notify (G_OBJECT (self));
  if (best->bytes > self->bytes)
    _ferry_transfer_set_bytes (self, best->bytes);
  if (best->chain != NULL)
    _ferry_transfer_set_chain (self, best->chain);
  if (finished != NULL)
    _ferry_transfer_set_state (self, FERRY_TRANSFER_STATE_FINISHED, NULL);
  else if (all_done)
    {
      FerryTransfer *last = changed != NULL && _ferry_transfer_state_is_done (changed->state) ? changed : best;

      _ferry_transfer_set_state (self, last->state, last->error);
    }
  else if (running != FERRY_TRANSFER_STATE_CREATED)
    _ferry_transfer_set_state (self, running, NULL);
  g_object_thaw_notify (G_OBJECT (self));
}

static void
sub_transfer_notify_cb (FerryTransfer *sub,
                        GParamSpec    *pspec,
                        FerryTransfer *self)
{
  transfer_update_aggregate (self, sub);
}

static void
parent_op_cancel (FerryTransfer *self,
                  const char    *reason,
                  gpointer       user_data)
{
  GListModel *subs = G_LIST_MODEL (self->sub_transfers);
  g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < g_list_model_get_n_items (subs); i++)
    g_ptr_array_add (list, g_list_model_get_item (subs, i));
  for (guint i = 0; i < list->len; i++)
    ferry_transfer_cancel (g_ptr_array_index (list, i), reason);
}

static const FerryTransferOps parent_ops = {
  NULL,
  NULL,
  parent_op_cancel,
};

/* Adds @sub (an outgoing transfer to one device, sharing @self's file
 * objects) to @self, whose state, bytes and chain follow from then on. */
void
_ferry_transfer_add_sub_transfer (FerryTransfer *self,
                                  FerryTransfer *sub)
{
  g_return_if_fail (FERRY_IS_TRANSFER (self));
  g_return_if_fail (FERRY_IS_TRANSFER (sub));

  g_list_store_append (self->sub_transfers, sub);
  if (self->ops == NULL && !_ferry_transfer_state_is_done (self->state))
    _ferry_transfer_set_ops (self, &parent_ops, NULL);
  g_signal_connect (sub, "notify::state", G_CALLBACK (sub_transfer_notify_cb), self);
  g_signal_connect (sub, "notify::bytes", G_CALLBACK (sub_transfer_notify_cb), self);
  g_signal_connect (sub, "notify::chain", G_CALLBACK (sub_transfer_notify_cb), self);
  transfer_update_aggregate (self, sub);
}

/**
 * ferry_transfer_get_id:
 * @self: a #FerryTransfer
 *
 * Gets the id of the transfer, the same on both devices.
 *
 * Returns: the transfer id
 */
const char *
ferry_transfer_get_id (FerryTransfer *self)
{
  g_return_val_if_fail (FERRY_IS_TRANSFER (self), NULL);
  return self->id;
}

/**
 * ferry_transfer_get_direction:
 * @self: a #FerryTransfer
 *
 * Gets which way the files go.
 *
 * Returns: whether this device sends or receives
 */
FerryTransferDirection
ferry_transfer_get_direction (FerryTransfer *self)
{
  g_return_val_if_fail (FERRY_IS_TRANSFER (self), 0);
  return self->direction;
}

/**
 * ferry_transfer_get_state:
 * @self: a #FerryTransfer
 *
 * Gets the state of the transfer: see [property@Ferry.Transfer:state].
 *
 * Returns: the current state
 */
FerryTransferState
ferry_transfer_get_state (FerryTransfer *self)
{
  g_return_val_if_fail (FERRY_IS_TRANSFER (self), 0);
  return self->state;
}

/**
 * ferry_transfer_get_device:
 * @self: a #FerryTransfer
 *
 * Gets the device at the other end.
 *
 * Returns: (transfer none): the device at the other end
 */
FerryDevice *
ferry_transfer_get_device (FerryTransfer *self)
{
  g_return_val_if_fail (FERRY_IS_TRANSFER (self), NULL);
  return self->device;
}

/**
 * ferry_transfer_get_files:
 * @self: a #FerryTransfer
 *
 * Gets the files of the transfer.
 *
 * Returns: (transfer none): a #GListModel of #FerryTransferFile
 */
GListModel *
ferry_transfer_get_files (FerryTransfer *self)
{
  g_return_val_if_fail (FERRY_IS_TRANSFER (self), NULL);
  return G_LIST_MODEL (self->files);
}

/**
 * ferry_transfer_get_total_size:
 * @self: a #FerryTransfer
 *
 * Gets the size of all files together.
 *
 * Returns: the size of all files together, in bytes
 */
guint64
ferry_transfer_get_total_size (FerryTransfer *self)
{
  g_return_val_if_fail (FERRY_IS_TRANSFER (self), 0);
  return self->total_size;
}

/**
 * ferry_transfer_get_bytes:
 * @self: a #FerryTransfer
 *
 * Gets how many bytes of file data went through so far.
 *
 * Returns: how many bytes of file data went through so far
 */
guint64
ferry_transfer_get_bytes (FerryTransfer *self)
{
  g_return_val_if_fail (FERRY_IS_TRANSFER (self), 0);
  return self->bytes;
}

/**
 * ferry_transfer_get_rate:
 * @self: a #FerryTransfer
 *
 * Gets the current rate of the transfer.
 *
 * Returns: the current rate in bytes per second
 */
double
ferry_transfer_get_rate (FerryTransfer *self)
{
  g_return_val_if_fail (FERRY_IS_TRANSFER (self), 0);
  return self->rate;
}

/**
 * ferry_transfer_get_chain:
 * @self: a #FerryTransfer
 *
 * Gets the chain of the transfer: the signaling, transport and secure channel
 * that carry it, e.g. `local-broadcast → lan (tcp 127.0.0.1:40123) →
 * tls1.3/aes-256-gcm`.
 *
 * Returns: (nullable): the chain that carries the transfer, once connected
 */
const char *
ferry_transfer_get_chain (FerryTransfer *self)
{
  g_return_val_if_fail (FERRY_IS_TRANSFER (self), NULL);
  return self->chain;
}

/**
 * ferry_transfer_get_chain_segments:
 * @self: a #FerryTransfer
 *
 * Gets the chain that carries the transfer as objects: the signaling, the
 * transport and the secure channel, each with its name, details, peer
 * addresses and the bytes it carried. Empty until the transfer connects.
 *
 * Returns: (transfer none): a #GListModel of #FerryChainSegment
 */
GListModel *
ferry_transfer_get_chain_segments (FerryTransfer *self)
{
  g_return_val_if_fail (FERRY_IS_TRANSFER (self), NULL);
  return G_LIST_MODEL (self->chain_segments);
}

/**
 * ferry_transfer_get_error:
 * @self: a #FerryTransfer
 *
 * Gets the error the transfer ended with.
 *
 * Returns: (nullable): why the transfer did not finish
 */
const GError *
ferry_transfer_get_error (FerryTransfer *self)
{
  g_return_val_if_fail (FERRY_IS_TRANSFER (self), NULL);
  return self->error;
}

/**
 * ferry_transfer_get_sub_transfers:
 * @self: a #FerryTransfer
 *
 * The per-device transfers of an outgoing transfer to a peer: see
 * [property@Ferry.Transfer:sub-transfers].
 *
 * Returns: (transfer none): a #GListModel of #FerryTransfer, empty unless
 *   @self is an outgoing transfer to a peer
 */
GListModel *
ferry_transfer_get_sub_transfers (FerryTransfer *self)
{
  g_return_val_if_fail (FERRY_IS_TRANSFER (self), NULL);
  return G_LIST_MODEL (self->sub_transfers);
}

/**
 * ferry_transfer_is_done:
 * @self: a #FerryTransfer
 *
 * Checks whether the transfer reached a final state: finished, cancelled,
 * failed, unjoinable or timed out.
 *
 * Returns: %TRUE once the transfer reached a final state
 */
gboolean
ferry_transfer_is_done (FerryTransfer *self)
{
  g_return_val_if_fail (FERRY_IS_TRANSFER (self), FALSE);
  return _ferry_transfer_state_is_done (self->state);
}

/**
 * ferry_transfer_accept:
 * @self: an incoming #FerryTransfer waiting for the host
 * @directory: the folder to save the files in
 *
 * Accepts an incoming transfer: the files are written to @directory under
 * sanitised names, and appear under their final names only once verified.
 */
void
ferry_transfer_accept (FerryTransfer *self,
                       GFile         *directory)
{
  g_return_if_fail (FERRY_IS_TRANSFER (self));
  g_return_if_fail (G_IS_FILE (directory));
  g_return_if_fail (self->direction == FERRY_TRANSFER_DIRECTION_INCOMING);

  if (self->state != FERRY_TRANSFER_STATE_AWAITING_HOST || self->ops == NULL)
    return;
  self->ops->accept (self, directory, self->ops_data);
}

/**
 * ferry_transfer_reject:
 * @self: an incoming #FerryTransfer waiting for the host
 * @reason: (nullable): a reason shown to the sender
 *
 * Refuses an incoming transfer.
 */
void
ferry_transfer_reject (FerryTransfer *self,
                       const char    *reason)
{
  g_return_if_fail (FERRY_IS_TRANSFER (self));
  g_return_if_fail (self->direction == FERRY_TRANSFER_DIRECTION_INCOMING);

  if (self->state != FERRY_TRANSFER_STATE_AWAITING_HOST || self->ops == NULL)
    return;
  self->ops->reject (self, reason, self->ops_data);
}

/**
 * ferry_transfer_cancel:
 * @self: a #FerryTransfer
 * @reason: (nullable): a reason shown to the peer
 *
 * Cancels the transfer; the peer sees it cancelled. Does nothing once the
 * transfer is done.
 */
void
ferry_transfer_cancel (FerryTransfer *self,
                       const char    *reason)
{
  g_return_if_fail (FERRY_IS_TRANSFER (self));

  if (_ferry_transfer_state_is_done (self->state) || self->ops == NULL)
    return;
  self->ops->cancel (self, reason, self->ops_data);
}


void
_ferry_transfer_set_offered (FerryTransfer *self,
                             guint          n_files,
                             guint64        total_size,
                             const char    *folder,
                             gboolean       is_text)
{
  self->offered = TRUE;
  self->n_files = n_files;
  self->total_size = total_size;
  g_free (self->folder);
  self->folder = g_strdup (folder);
  self->is_text = is_text;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_TOTAL_SIZE]);
}
