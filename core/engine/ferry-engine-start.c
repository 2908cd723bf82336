/* ferry-engine-start.c: starting an engine (its features checked on a
 * worker thread when asynchronous), stopping and closing it
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "ferry-engine-private.h"

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

/* Cancels every transfer in progress, outgoing and incoming. */
static void
cancel_transfers (FerryEngine *self)
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

/* Stops the signalings and transports, and forgets them. */
static void
stop_features (FerryEngine *self)
{
  guint n;

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
  g_return_if_fail (FERRY_IS_ENGINE (self));

  /* A start under way ends cancelled once its checks are done. */
  self->starting = FALSE;
  if (!self->started)
    return;

  _ferry_clear_source (&self->expiry_source);
  cancel_transfers (self);
  stop_features (self);

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

  /* Last: the transfers cancelled above scheduled it again (it holds no
   * reference: once the engine is gone, it would fire on freed memory). */
  _ferry_clear_source (&self->trim_source);
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
