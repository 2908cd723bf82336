/* ferry-engine.c: the root object: properties, start, stop, dispatch of messages
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "ferry-engine-private.h"

/**
 * FerryEngine:
 *
 * The root object of Ferry: it owns the identity of this device, the
 * signaling and transport plugin instances, the peers seen so far and the
 * transfers.
 *
 * An engine lives on the #GMainContext that was the thread-default one when
 * it was created; its signals, notifications and callbacks run there.
 *
 * ```c
 * g_autoptr(FerryEngine) engine = ferry_engine_new (NULL, NULL, &error);
 * const char *lo[] = { "lo", NULL };
 *
 * ferry_engine_set_interfaces (engine, lo);
 * if (!ferry_engine_start (engine, &error))
 *   g_printerr ("%s\n", error->message);
 * ```
 */

static void ferry_engine_initable_iface_init (GInitableIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (FerryEngine, ferry_engine, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE, ferry_engine_initable_iface_init))

enum {
  PROP_0,
  PROP_HOME,
  PROP_IDENTITY,
  PROP_REGISTRY,
  PROP_PEERS,
  PROP_TRANSFERS,
  N_PROPS
};

enum {
  SIGNAL_TRANSFER_REQUESTED,
  N_SIGNALS
};

static GParamSpec *props[N_PROPS];
static guint signals[N_SIGNALS];

/* ----------------------------------------------------------- object basics */

typedef struct {
  GMainContext *context;
  GSourceFunc   func;
  GTask        *task;
} CancelHop;

static void
cancel_hop_free (gpointer data)
{
  CancelHop *hop = data;

  g_main_context_unref (hop->context);
  g_object_unref (hop->task);
  g_free (hop);
}

/* Runs in whatever thread cancels: touches nothing of the engine, only
 * hands the task over to the engine's context. */
static void
cancel_hop_cb (GCancellable *cancellable,
               gpointer      data)
{
  CancelHop *hop = data;
  GSource *source = _ferry_idle_source_attach (hop->context, hop->func,
                                               g_object_ref (hop->task), g_object_unref);

  g_source_unref (source);
}

/* Calls @func (@task) on the engine's context once the cancellable of
 * @task is cancelled, or soon when it already is. Returns the handler id
 * for g_cancellable_disconnect() (0 when there is nothing to disconnect). */
gulong
_ferry_engine_task_on_cancel (FerryEngine *self,
                              GTask       *task,
                              GSourceFunc  func)
{
  GCancellable *cancellable = g_task_get_cancellable (task);
  CancelHop *hop;

  if (cancellable == NULL)
    return 0;
  hop = g_new0 (CancelHop, 1);
  hop->context = g_main_context_ref (self->context);
  hop->func = func;
  hop->task = g_object_ref (task);
  return g_cancellable_connect (cancellable, G_CALLBACK (cancel_hop_cb), hop, cancel_hop_free);
}

/* The engine's timers: attached to its context, never the default one.
 * The caller owns the returned reference (see _ferry_clear_source()). */
GSource *
_ferry_engine_timeout_add (FerryEngine *self,
                           guint        interval_ms,
                           GSourceFunc  func,
                           gpointer     data)
{
  return _ferry_timeout_source_attach (self->context, interval_ms, func, data, NULL);
}

GSource *
_ferry_engine_timeout_add_seconds (FerryEngine *self,
                                   guint        interval_s,
                                   GSourceFunc  func,
                                   gpointer     data)
{
  return _ferry_timeout_source_attach_seconds (self->context, interval_s, func, data, NULL);
}

void
_ferry_engine_emit_transfer_requested (FerryEngine   *self,
                                       FerryTransfer *transfer)
{
  g_signal_emit (self, signals[SIGNAL_TRANSFER_REQUESTED], 0, transfer);
}

static void
ferry_engine_dispose (GObject *object)
{
  FerryEngine *self = FERRY_ENGINE (object);

  ferry_engine_stop (self);

  G_OBJECT_CLASS (ferry_engine_parent_class)->dispose (object);
}

static void
ferry_engine_finalize (GObject *object)
{
  FerryEngine *self = FERRY_ENGINE (object);

  g_free (self->home);
  g_clear_pointer (&self->sessions, _ferry_session_group_unref);
  g_clear_pointer (&self->config, g_key_file_unref);
  g_clear_object (&self->identity);
  g_clear_object (&self->registry);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_strfreev (self->signaling_names);
  g_strfreev (self->transport_names);
  g_strfreev (self->interfaces);
  g_clear_object (&self->signalings);
  g_clear_object (&self->transports);
  g_clear_object (&self->peers);
  g_clear_object (&self->transfers);
  g_clear_pointer (&self->peers_by_account, g_hash_table_unref);
  g_clear_pointer (&self->peer_seen, g_hash_table_unref);
  g_clear_pointer (&self->replay, _ferry_replay_cache_free);
  g_clear_pointer (&self->announcement, g_bytes_unref);
  g_clear_pointer (&self->outgoing, g_hash_table_unref);
  g_clear_pointer (&self->incoming, g_hash_table_unref);
  g_clear_pointer (&self->fanouts, g_ptr_array_unref);
  g_clear_pointer (&self->history, g_hash_table_unref);
  g_clear_pointer (&self->fetches, g_ptr_array_unref);
  g_clear_pointer (&self->resent, g_hash_table_unref);
  g_clear_pointer (&self->revoked, g_hash_table_unref);
  g_clear_pointer (&self->finds, g_ptr_array_unref);
  g_clear_pointer (&self->inactive, g_hash_table_unref);
  g_clear_object (&self->download_dir);
  g_free (self->inactive_summary);

  G_OBJECT_CLASS (ferry_engine_parent_class)->finalize (object);
}

static void
ferry_engine_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  FerryEngine *self = FERRY_ENGINE (object);

  switch (prop_id)
    {
    case PROP_HOME:
      g_value_set_string (value, self->home);
      break;
    case PROP_IDENTITY:
      g_value_set_object (value, self->identity);
      break;
    case PROP_REGISTRY:
      g_value_set_object (value, self->registry);
      break;
    case PROP_PEERS:
      g_value_set_object (value, self->peers);
      break;
    case PROP_TRANSFERS:
      g_value_set_object (value, self->transfers);
      break;
    default:
      if (!_ferry_engine_config_get_property (self, prop_id, value))
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ferry_engine_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  FerryEngine *self = FERRY_ENGINE (object);

  switch (prop_id)
    {
    case PROP_HOME:
      self->home = g_value_dup_string (value);
      break;
    default:
      if (!_ferry_engine_config_set_property (self, prop_id, value))
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ferry_engine_class_init (FerryEngineClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = ferry_engine_dispose;
  object_class->finalize = ferry_engine_finalize;
  object_class->get_property = ferry_engine_get_property;
  object_class->set_property = ferry_engine_set_property;

  /**
   * FerryEngine:home:
   *
   * The directory holding the identity and `ferry.conf`. %NULL at
   * construction means `$FERRY_HOME`, then `$XDG_DATA_HOME/ferry`.
   */
  props[PROP_HOME] =
    g_param_spec_string ("home", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * FerryEngine:identity:
   *
   * The identity of this device.
   */
  props[PROP_IDENTITY] =
    g_param_spec_object ("identity", NULL, NULL, FERRY_TYPE_IDENTITY,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * FerryEngine:registry:
   *
   * The plugin registry the engine takes its features from.
   */
  props[PROP_REGISTRY] =
    g_param_spec_object ("registry", NULL, NULL, FERRY_TYPE_REGISTRY,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * FerryEngine:peers:
   *
   * The peers seen so far, a #GListModel of #FerryPeer.
   */
  props[PROP_PEERS] =
    g_param_spec_object ("peers", NULL, NULL, G_TYPE_LIST_MODEL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * FerryEngine:transfers:
   *
   * Every transfer of this engine, a #GListModel of #FerryTransfer.
   */
  props[PROP_TRANSFERS] =
    g_param_spec_object ("transfers", NULL, NULL, G_TYPE_LIST_MODEL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, props);
  _ferry_engine_config_install_properties (object_class);

  /**
   * FerryEngine::transfer-requested:
   * @self: the engine
   * @transfer: an incoming #FerryTransfer in the awaiting-host state
   *
   * A verified device offers files. Call ferry_transfer_accept() or
   * ferry_transfer_reject(), now or later; an offer left undecided expires
   * after the offer timeout (`offer-timeout` in `ferry.conf`, 10 minutes by
   * default).
   */
  signals[SIGNAL_TRANSFER_REQUESTED] =
    g_signal_new ("transfer-requested",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, FERRY_TYPE_TRANSFER);
}

static void
ferry_engine_init (FerryEngine *self)
{
  self->context = g_main_context_ref_thread_default ();
  self->sessions = _ferry_session_group_new ();
  self->config = g_key_file_new ();
  self->signalings = g_list_store_new (FERRY_TYPE_SIGNALING);
  self->transports = g_list_store_new (FERRY_TYPE_TRANSPORT);
  self->peers = g_list_store_new (FERRY_TYPE_PEER);
  self->transfers = g_list_store_new (FERRY_TYPE_TRANSFER);
  self->peers_by_account = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  self->peer_seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->replay = _ferry_replay_cache_new ();
  self->outgoing = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) _ferry_outgoing_free);
  self->incoming = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) _ferry_incoming_free);
  self->finds = g_ptr_array_new_with_free_func (g_object_unref);
  self->fanouts = g_ptr_array_new_with_free_func (_ferry_fanout_free);
  self->history = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, _ferry_engine_history_entry_free);
  self->fetches = g_ptr_array_new_with_free_func (g_object_unref);
  self->resent = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->revoked = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->revoked_mtime = -1;
  self->inactive = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->offer_timeout_s = FERRY_DEFAULT_OFFER_TIMEOUT_S;
  self->max_pending_offers = FERRY_DEFAULT_MAX_PENDING_OFFERS;
  self->max_pending_offers_per_account = FERRY_DEFAULT_MAX_PENDING_OFFERS_PER_ACCOUNT;
  self->max_transfers = FERRY_DEFAULT_MAX_TRANSFERS;
  self->max_transfers_per_peer = FERRY_DEFAULT_MAX_TRANSFERS_PER_PEER;
  self->max_peers = FERRY_DEFAULT_MAX_PEERS;
  self->stall_timeout_s = FERRY_DEFAULT_STALL_TIMEOUT_S;
  self->connect_timeout_s = FERRY_DEFAULT_CONNECT_TIMEOUT_S;
  self->stagger_ms = FERRY_DEFAULT_STAGGER_MS;
  self->peer_expiry_s = FERRY_DEFAULT_PEER_EXPIRY_S;
}

static void
ferry_engine_initable_iface_init (GInitableIface *iface)
{
  iface->init = _ferry_engine_initable_init;
}

/**
 * ferry_engine_new:
 * @home: (nullable) (type filename): the directory for the identity and
 *   `ferry.conf`, or %NULL for `$FERRY_HOME`, then `$XDG_DATA_HOME/ferry`
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Creates an engine: loads `ferry.conf` and the identity, creating the
 * identity on first use. The engine does nothing on the network before
 * ferry_engine_start().
 *
 * Returns: (transfer full) (nullable): a new engine, or %NULL with @error set
 */
FerryEngine *
ferry_engine_new (const char    *home,
                  GCancellable  *cancellable,
                  GError       **error)
{
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return g_initable_new (FERRY_TYPE_ENGINE, cancellable, error, "home", home, NULL);
}

const char *
ferry_engine_get_home (FerryEngine *self)
{
  g_return_val_if_fail (FERRY_IS_ENGINE (self), NULL);
  return self->home;
}

FerryIdentity *
ferry_engine_get_identity (FerryEngine *self)
{
  g_return_val_if_fail (FERRY_IS_ENGINE (self), NULL);
  return self->identity;
}

FerryRegistry *
ferry_engine_get_registry (FerryEngine *self)
{
  g_return_val_if_fail (FERRY_IS_ENGINE (self), NULL);
  return self->registry;
}

GListModel *
ferry_engine_get_signalings (FerryEngine *self)
{
  g_return_val_if_fail (FERRY_IS_ENGINE (self), NULL);
  return G_LIST_MODEL (self->signalings);
}

GListModel *
ferry_engine_get_transports (FerryEngine *self)
{
  g_return_val_if_fail (FERRY_IS_ENGINE (self), NULL);
  return G_LIST_MODEL (self->transports);
}

GListModel *
ferry_engine_get_peers (FerryEngine *self)
{
  g_return_val_if_fail (FERRY_IS_ENGINE (self), NULL);
  return G_LIST_MODEL (self->peers);
}

GListModel *
ferry_engine_get_transfers (FerryEngine *self)
{
  g_return_val_if_fail (FERRY_IS_ENGINE (self), NULL);
  return G_LIST_MODEL (self->transfers);
}

/**
 * ferry_engine_clear_finished_transfers:
 * @self: a #FerryEngine
 *
 * Removes the transfers that are done (finished, failed, rejected or
 * cancelled) from [property@Ferry.Engine:transfers]; the history keeps
 * them.
 *
 * Returns: how many transfers were removed
 */
guint
ferry_engine_clear_finished_transfers (FerryEngine *self)
{
  guint removed = 0;

  g_return_val_if_fail (FERRY_IS_ENGINE (self), 0);

  for (guint i = g_list_model_get_n_items (G_LIST_MODEL (self->transfers)); i > 0; i--)
    {
      g_autoptr(FerryTransfer) transfer = g_list_model_get_item (G_LIST_MODEL (self->transfers), i - 1);

      if (ferry_transfer_is_done (transfer))
        {
          g_list_store_remove (self->transfers, i - 1);
          removed++;
        }
    }
  return removed;
}

void
_ferry_engine_announcement_received_cb (FerrySignaling *signaling,
                                        GBytes         *announcement,
                                        const char     *route,
                                        FerryEngine    *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FerryEnvelope) envelope = NULL;

  /* Announcements are repeated on purpose, so the replay cache is not used:
   * the timestamp check bounds how old a replayed one can be. */
  envelope = _ferry_envelope_receive (self->identity, announcement, NULL, &error);
  if (envelope == NULL)
    {
      self->dropped_messages++;
      g_debug ("dropped an announcement from %s via %s: %s (%u dropped so far)",
               route, ferry_signaling_get_name (signaling), error->message, self->dropped_messages);
      return;
    }
  if (!g_str_equal (envelope->type, "announce"))
    {
      self->dropped_messages++;
      g_debug ("dropped a %s message posing as an announcement", envelope->type);
      return;
    }
  if (g_str_equal (envelope->from_device, ferry_identity_get_device_id (self->identity)))
    return;

  _ferry_engine_remember_device (self, envelope, signaling, route);
  _ferry_engine_find_peer_check_all (self);
}

/* Whether this device uses the loopback interface itself (as tests and
 * demos on one machine do): only then may a peer have it connect there. */
gboolean
_ferry_engine_uses_loopback (FerryEngine *self)
{
  g_autoptr(GPtrArray) addresses = ferry_engine_get_local_addresses (self);

  for (guint i = 0; i < addresses->len; i++)
    if (g_inet_address_get_is_loopback (g_ptr_array_index (addresses, i)))
      return TRUE;
  return FALSE;
}

void
_ferry_engine_message_received_cb (FerrySignaling *signaling,
                                   GBytes         *message,
                                   const char     *route,
                                   FerryEngine    *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FerryEnvelope) envelope = NULL;

  /* Opened when sealed (only announcements may come unsealed), verified,
   * checked against replays; the sender's encryption key is learnt. */
  envelope = _ferry_envelope_receive (self->identity, message, self->replay, &error);
  if (envelope == NULL)
    {
      self->dropped_messages++;
      g_debug ("dropped a message from %s via %s: %s (%u dropped so far)",
               route, ferry_signaling_get_name (signaling), error->message, self->dropped_messages);
      return;
    }

  if (g_str_equal (envelope->type, "offer"))
    _ferry_engine_incoming_offer (self, envelope, signaling, route);
  else if (g_str_equal (envelope->type, "answer"))
    _ferry_engine_outgoing_answer (self, envelope);
  else if (g_str_equal (envelope->type, "pending"))
    _ferry_engine_outgoing_pending (self, envelope);
  else if (g_str_equal (envelope->type, "reject"))
    _ferry_engine_outgoing_refused (self, envelope);
  else if (g_str_equal (envelope->type, "cancel"))
    {
      if (!_ferry_engine_outgoing_refused (self, envelope))
        _ferry_engine_incoming_cancel (self, envelope);
    }
  else if (g_str_equal (envelope->type, "request"))
    _ferry_engine_request_received (self, envelope, signaling, route);
  else if (g_str_equal (envelope->type, "request-refused"))
    _ferry_engine_request_refused (self, envelope);
  else if (g_str_equal (envelope->type, "revocations"))
    _ferry_engine_revocations_received (self, envelope);
  else if (g_str_equal (envelope->type, "announce"))
    {
      if (!g_str_equal (envelope->from_device, ferry_identity_get_device_id (self->identity)))
        {
          _ferry_engine_remember_device (self, envelope, signaling, route);
          _ferry_engine_find_peer_check_all (self);
        }
    }
  else
    {
      self->dropped_messages++;
      g_debug ("dropped a message of unknown type %s", envelope->type);
    }
}

/**
 * ferry_engine_start:
 * @self: a #FerryEngine
 * @error: return location for a #GError
 *
 * Starts the chosen signalings and transports: the device is announced,
 * listens for offers and can send. A feature that is not registered is a
 * %FERRY_ERROR_CONFIG error, and so is a feature that fails to start. A
 * feature whose configuration does not let it work (see
 * ferry_engine_check_feature()) stays inactive, with its reason in
 * ferry_engine_get_inactive_reason(); when no signaling or no transport is
 * left, that is an error too.
 *
 * The checks may block (the dht check connects to its proxies): an
 * application with a user interface calls ferry_engine_start_async().
 *
 * Returns: %TRUE on success
 */
gboolean
ferry_engine_start (FerryEngine  *self,
                    GError      **error)
{
  g_autoptr(GPtrArray) pending = NULL;

  g_return_val_if_fail (FERRY_IS_ENGINE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  g_return_val_if_fail (!self->starting, FALSE);

  if (self->started)
    return TRUE;

  pending = _ferry_engine_prepare_features (self, error);
  if (pending == NULL)
    return FALSE;
  _ferry_engine_check_features (pending);
  return _ferry_engine_activate_features (self, pending, error);
}

static void
start_check_thread (GTask        *task,
                    gpointer      source_object,
                    gpointer      task_data,
                    GCancellable *cancellable)
{
  _ferry_engine_check_features (task_data);
  g_task_return_boolean (task, TRUE);
}

static void
start_checked_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  FerryEngine *self = FERRY_ENGINE (source);
  g_autoptr(GTask) task = user_data;
  GTask *check = G_TASK (result);
  GError *error = NULL;
  gboolean starting = self->starting;

  self->starting = FALSE;
  if (!starting || g_task_return_error_if_cancelled (task))
    {
      if (!g_task_had_error (task))
        g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED, _("The engine stopped"));
      return;
    }
  if (_ferry_engine_activate_features (self, g_task_get_task_data (check), &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

/**
 * ferry_engine_start_async:
 * @self: a #FerryEngine
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the engine runs, or could not start
 * @user_data: data for @callback
 *
 * Starts the engine like ferry_engine_start(), without blocking: the
 * checks of the features (for example, whether an OpenDHT proxy answers)
 * run on a worker thread, and the features start on the engine's context.
 * Call it on the engine's context; @callback runs there.
 *
 * Cancelling @cancellable (or calling ferry_engine_stop()) before the
 * checks end leaves the engine stopped and ends with
 * %G_IO_ERROR_CANCELLED.
 */
void
ferry_engine_start_async (FerryEngine         *self,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GTask) check = NULL;
  GPtrArray *pending;
  GError *error = NULL;

  g_return_if_fail (FERRY_IS_ENGINE (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, ferry_engine_start_async);

  if (self->starting)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PENDING, _("The engine is already starting"));
      return;
    }
  if (self->started)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  pending = _ferry_engine_prepare_features (self, &error);
  if (pending == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  self->starting = TRUE;
  check = g_task_new (self, NULL, start_checked_cb, g_steal_pointer (&task));
  g_task_set_source_tag (check, ferry_engine_start_async);
  g_task_set_task_data (check, pending, (GDestroyNotify) g_ptr_array_unref);
  g_task_run_in_thread (check, start_check_thread);
}

gboolean
ferry_engine_start_finish (FerryEngine   *self,
                           GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (FERRY_IS_ENGINE (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_async_result_is_tagged (result, ferry_engine_start_async), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * ferry_engine_stop:
 * @self: a #FerryEngine
 *
 * Cancels every transfer in progress and stops the signalings and
 * transports. The engine cannot be started again.
 */
void
ferry_engine_stop (FerryEngine *self)
{
  guint n;

  g_return_if_fail (FERRY_IS_ENGINE (self));

  /* A start under way ends cancelled once its checks are done. */
  self->starting = FALSE;
  if (!self->started)
    return;

  _ferry_clear_source (&self->expiry_source);

  {
    g_autoptr(GPtrArray) transfers = g_ptr_array_new_with_free_func (g_object_unref);
    GHashTableIter iter;
    gpointer value;

    g_hash_table_iter_init (&iter, self->outgoing);
    while (g_hash_table_iter_next (&iter, NULL, &value))
      g_ptr_array_add (transfers, g_object_ref (((FerryOutgoing *) value)->transfer));
    g_hash_table_iter_init (&iter, self->incoming);
    while (g_hash_table_iter_next (&iter, NULL, &value))
      if (((FerryIncoming *) value)->transfer != NULL)
        g_ptr_array_add (transfers, g_object_ref (((FerryIncoming *) value)->transfer));
    for (guint i = 0; i < transfers->len; i++)
      ferry_transfer_cancel (g_ptr_array_index (transfers, i), "the device is shutting down");
    g_hash_table_remove_all (self->outgoing);
    g_hash_table_remove_all (self->incoming);
    g_ptr_array_set_size (self->fanouts, 0);
  }

  n = g_list_model_get_n_items (G_LIST_MODEL (self->signalings));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(FerrySignaling) signaling = g_list_model_get_item (G_LIST_MODEL (self->signalings), i);

      g_signal_handlers_disconnect_by_data (signaling, self);
      ferry_signaling_stop (signaling);
    }
  n = g_list_model_get_n_items (G_LIST_MODEL (self->transports));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(FerryTransport) transport = g_list_model_get_item (G_LIST_MODEL (self->transports), i);

      ferry_transport_stop (transport);
    }
  g_list_store_remove_all (self->signalings);
  g_list_store_remove_all (self->transports);

  while (self->fetches->len > 0)
    _ferry_engine_fetch_complete (self, g_ptr_array_index (self->fetches, 0), NULL,
                                  g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, _("The engine stopped")));

  while (self->finds->len > 0)
    {
      GTask *task = g_object_ref (g_ptr_array_index (self->finds, 0));

      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED, _("The engine stopped"));
      _ferry_engine_find_peer_complete (self, task);
      g_object_unref (task);
    }

  self->started = FALSE;
}

static void
close_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  /* A session's last frame (reject, cancel, error) goes out within a few
   * seconds or is given up; wait a little longer than that. */
  if (!_ferry_session_group_wait (FERRY_ENGINE (source_object)->sessions,
                                  g_get_monotonic_time () + 7 * G_USEC_PER_SEC, cancellable))
    g_debug ("some transfer threads were still running when closing");
  g_task_return_boolean (task, TRUE);
}

/**
 * ferry_engine_close_async:
 * @self: a #FerryEngine
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the engine is closed
 * @user_data: data for @callback
 *
 * Stops the engine like ferry_engine_stop(), then waits until the last
 * words of its transfers (a cancel, a rejection) have gone out to their
 * peers, or were given up after a few seconds. A program that exits right
 * after its transfers end should close its engine this way first.
 *
 * Cancelling @cancellable stops the wait (the engine is stopped all the
 * same): the close then ends with %G_IO_ERROR_CANCELLED.
 */
void
ferry_engine_close_async (FerryEngine         *self,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (FERRY_IS_ENGINE (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  ferry_engine_stop (self);
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, ferry_engine_close_async);
  /* The wait touches nothing of the engine: on cancellation the task
   * returns at once and the thread's late result is dropped. */
  g_task_set_return_on_cancel (task, TRUE);
  g_task_run_in_thread (task, close_thread);
}

gboolean
ferry_engine_close_finish (FerryEngine   *self,
                           GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (FERRY_IS_ENGINE (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
