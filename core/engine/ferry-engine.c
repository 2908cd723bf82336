/* ferry-engine.c: the root object: properties, transfers list, engine-wide helpers
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>
#ifdef HAVE_MALLOC_TRIM
#include <malloc.h>
#endif

#include "ferry-engine-private.h"
#include "ferry-i18n-private.h"

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

static gboolean
trim_cb (gpointer user_data)
{
  FerryEngine *self = user_data;

  _ferry_clear_source (&self->trim_source);
#ifdef HAVE_MALLOC_TRIM
  malloc_trim (0);
#endif
  return G_SOURCE_REMOVE;
}

/* The last incoming transfer or offer ended: a few seconds later, once
 * nothing new came, the heap that a load (a flood of offers, many
 * transfers at once) left free goes back to the system, so that the
 * process shrinks again when the load is over. Cleared on stop. */
void
_ferry_engine_schedule_trim (FerryEngine *self)
{
  _ferry_clear_source (&self->trim_source);
  if (!self->started)
    return;
  self->trim_source = _ferry_engine_timeout_add_seconds (self, 2, trim_cb, self);
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

  _ferry_i18n_init ();

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
