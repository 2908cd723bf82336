/* ferry-directory.c: the peers and devices seen, and finding a peer
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "ferry-engine-private.h"

/* ------------------------------------------------------------------- peers */

/* Whether a transfer, a fetch or this device's own account holds @account. */
static gboolean
peer_in_use (FerryEngine *self,
             const char  *account)
{
  GHashTableIter iter;
  gpointer value;

  if (g_str_equal (account, ferry_identity_get_account_id (self->identity)))
    return TRUE;
  g_hash_table_iter_init (&iter, self->incoming);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (g_str_equal (ferry_device_get_account_id (((FerryIncoming *) value)->device), account))
      return TRUE;
  g_hash_table_iter_init (&iter, self->outgoing);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (g_str_equal (ferry_device_get_account_id (((FerryOutgoing *) value)->device), account))
      return TRUE;
  return FALSE;
}

/* Peers are remembered up to max-peers: past it, the one seen least
 * recently (and not in use) is forgotten with its devices. */
static void
forget_stale_peers (FerryEngine *self)
{
  while (g_hash_table_size (self->peers_by_account) > self->max_peers)
    {
      GHashTableIter iter;
      gpointer key, value;
      const char *oldest = NULL;
      gint64 oldest_seen = G_MAXINT64;
      guint position;

      g_hash_table_iter_init (&iter, self->peer_seen);
      while (g_hash_table_iter_next (&iter, &key, &value))
        {
          gint64 seen = *(gint64 *) value;

          if (seen < oldest_seen && !peer_in_use (self, key))
            {
              oldest = key;
              oldest_seen = seen;
            }
        }
      if (oldest == NULL)
        return;
      g_debug ("forgetting peer %.12s, seen least recently", oldest);
      if (g_list_store_find (self->peers, g_hash_table_lookup (self->peers_by_account, oldest), &position))
        g_list_store_remove (self->peers, position);
      g_hash_table_remove (self->peers_by_account, oldest);
      g_hash_table_remove (self->peer_seen, oldest);
    }
}

static void
note_peer_seen (FerryEngine *self,
                const char  *account)
{
  gint64 *seen = g_hash_table_lookup (self->peer_seen, account);

  if (seen == NULL)
    {
      seen = g_new (gint64, 1);
      g_hash_table_insert (self->peer_seen, g_strdup (account), seen);
    }
  *seen = g_get_monotonic_time ();
}

FerryDevice *
_ferry_engine_remember_device (FerryEngine    *self,
                               FerryEnvelope  *envelope,
                               FerrySignaling *signaling,
                               const char     *route)
{
  FerryPeer *peer = g_hash_table_lookup (self->peers_by_account, envelope->from_account);
  FerryDevice *device;

  /* A revoked device is refused whatever it sends. */
  if (_ferry_engine_is_revoked (self, envelope->from_account, envelope->from_device))
    {
      g_debug ("ignoring revoked device %.12s", envelope->from_device);
      return NULL;
    }

  if (peer == NULL)
    {
      peer = _ferry_peer_new (envelope->from_account);
      g_hash_table_insert (self->peers_by_account, g_strdup (envelope->from_account), peer);
      _ferry_peer_set_name (peer, envelope->from_name);
      g_list_store_append (self->peers, peer);
      note_peer_seen (self, envelope->from_account);
      forget_stale_peers (self);
      peer = g_hash_table_lookup (self->peers_by_account, envelope->from_account);
      if (peer == NULL)
        return NULL;
    }
  note_peer_seen (self, envelope->from_account);

  device = _ferry_peer_lookup_device (peer, envelope->from_device);
  if (device == NULL)
    {
      device = _ferry_device_new (envelope->from_account, envelope->from_device);
      _ferry_device_update (device, envelope->from_name, signaling, route, envelope->chain_pem, envelope->timestamp_ms);
      _ferry_peer_add_device (peer, device);
      g_object_unref (device);
      _ferry_engine_fanout_join (self, device);
      _ferry_engine_fetch_device_seen (self, device);
      _ferry_engine_send_revocations (self, device);
      if (g_str_equal (envelope->from_account, ferry_identity_get_account_id (self->identity)))
        _ferry_account_note_device (self->home, envelope->from_device, envelope->from_name);
    }
  else
    _ferry_device_update (device, envelope->from_name, signaling, route, envelope->chain_pem, envelope->timestamp_ms);

  _ferry_peer_set_name (peer, envelope->from_name);
  return device;
}

/* Forgets the devices not seen for the peer expiry, and the peers left
 * with no device. */
static gboolean
expiry_cb (gpointer data)
{
  FerryEngine *self = data;
  gint64 before = g_get_monotonic_time () - (gint64) self->peer_expiry_s * G_USEC_PER_SEC;

  for (guint i = g_list_model_get_n_items (G_LIST_MODEL (self->peers)); i > 0; i--)
    {
      g_autoptr(FerryPeer) peer = g_list_model_get_item (G_LIST_MODEL (self->peers), i - 1);

      if (_ferry_peer_forget_devices (peer, before) > 0)
        continue;
      g_debug ("forgetting peer %.12s: no device seen for %u s",
               ferry_peer_get_account_id (peer), self->peer_expiry_s);
      g_list_store_remove (self->peers, i - 1);
      g_hash_table_remove (self->peers_by_account, ferry_peer_get_account_id (peer));
    }
  return G_SOURCE_CONTINUE;
}

/* (Re)arms the expiry check while the engine runs: a few times per expiry
 * period, at most every minute. */
void
_ferry_engine_schedule_expiry (FerryEngine *self)
{
  _ferry_clear_source (&self->expiry_source);
  if (!self->started || self->peer_expiry_s == 0)
    return;
  self->expiry_source = _ferry_engine_timeout_add_seconds (self, CLAMP (self->peer_expiry_s / 4, 1, 60),
                                                           expiry_cb, self);
}

/* ------------------------------------------------------------- find peers */

/* Returns the matching peer, or NULL; sets @ambiguous when several match. */
static FerryPeer *
engine_match_peer (FerryEngine *self,
                   const char  *query,
                   gboolean    *ambiguous)
{
  g_autofree char *lower = g_ascii_strdown (query, -1);
  gboolean hex = strlen (lower) >= 8 && _ferry_str_is_lower_hex (lower);
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->peers));
  FerryPeer *found = NULL;

  *ambiguous = FALSE;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(FerryPeer) peer = g_list_model_get_item (G_LIST_MODEL (self->peers), i);
      gboolean match = FALSE;

      if (hex)
        {
          GListModel *devices = ferry_peer_get_devices (peer);

          match = g_str_has_prefix (ferry_peer_get_account_id (peer), lower);
          for (guint j = 0; !match && j < g_list_model_get_n_items (devices); j++)
            {
              g_autoptr(FerryDevice) device = g_list_model_get_item (devices, j);

              match = g_str_has_prefix (ferry_device_get_device_id (device), lower);
            }
        }
      if (!match && ferry_peer_get_name (peer) != NULL)
        match = g_str_equal (ferry_peer_get_name (peer), query);

      if (match)
        {
          if (found != NULL)
            {
              *ambiguous = TRUE;
              return NULL;
            }
          found = peer;
        }
    }
  return found;
}

typedef struct {
  char       *query;
  GSource    *timeout_source;
  FerryRetry *requery;
  gulong      cancel_id;
} FindData;

static void
find_data_free (FindData *data)
{
  g_free (data->query);
  _ferry_clear_source (&data->timeout_source);
  g_clear_pointer (&data->requery, _ferry_retry_free);
  g_free (data);
}

void
_ferry_engine_find_peer_complete (FerryEngine *self,
                                  GTask       *task)
{
  FindData *data = g_task_get_task_data (task);

  _ferry_clear_source (&data->timeout_source);
  g_clear_pointer (&data->requery, _ferry_retry_free);
  if (data->cancel_id != 0)
    g_cancellable_disconnect (g_task_get_cancellable (task), data->cancel_id);
  data->cancel_id = 0;
  g_ptr_array_remove (self->finds, task);
}

static gboolean
find_peer_check (FerryEngine *self,
                 GTask       *task)
{
  FindData *data = g_task_get_task_data (task);
  gboolean ambiguous;
  FerryPeer *peer = engine_match_peer (self, data->query, &ambiguous);

  if (peer == NULL && !ambiguous)
    return FALSE;

  g_object_ref (task);
  if (ambiguous)
    g_task_return_new_error (task, FERRY_ERROR, FERRY_ERROR_PEER_AMBIGUOUS,
                             _("“%s” matches several peers: give more of the id"), data->query);
  else
    g_task_return_pointer (task, g_object_ref (peer), g_object_unref);
  _ferry_engine_find_peer_complete (self, task);
  g_object_unref (task);
  return TRUE;
}

void
_ferry_engine_find_peer_check_all (FerryEngine *self)
{
  g_autoptr(GPtrArray) finds = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < self->finds->len; i++)
    g_ptr_array_add (finds, g_object_ref (g_ptr_array_index (self->finds, i)));
  for (guint i = 0; i < finds->len; i++)
    find_peer_check (self, g_ptr_array_index (finds, i));
}

void
_ferry_engine_query (FerryEngine *self,
                     const char  *account_hint)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->signalings));

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(FerrySignaling) signaling = g_list_model_get_item (G_LIST_MODEL (self->signalings), i);

      ferry_signaling_query (signaling, account_hint);
    }
}

static gboolean
find_peer_timeout_cb (gpointer user_data)
{
  GTask *task = user_data;
  FerryEngine *self = g_task_get_source_object (task);
  FindData *data = g_task_get_task_data (task);

  g_clear_pointer (&data->timeout_source, g_source_unref);
  g_object_ref (task);
  g_task_return_new_error (task, FERRY_ERROR, FERRY_ERROR_PEER_NOT_FOUND,
                           _("No device of “%s” answered"), data->query);
  _ferry_engine_find_peer_complete (self, task);
  g_object_unref (task);
  return G_SOURCE_REMOVE;
}

static void
find_peer_requery (gpointer user_data)
{
  GTask *task = user_data;

  _ferry_engine_query (g_task_get_source_object (task), NULL);
}

/* On the engine's context (see _ferry_engine_task_on_cancel()). */
static gboolean
find_peer_cancelled_cb (gpointer user_data)
{
  GTask *task = user_data;
  FerryEngine *self = g_task_get_source_object (task);

  if (!g_ptr_array_find (self->finds, task, NULL))
    return G_SOURCE_REMOVE;
  g_object_ref (task);
  g_task_return_error_if_cancelled (task);
  _ferry_engine_find_peer_complete (self, task);
  g_object_unref (task);
  return G_SOURCE_REMOVE;
}

/**
 * ferry_engine_find_peer_async:
 * @self: a started #FerryEngine
 * @query: an account id or device id, or a unique prefix of one (at least 8
 *   hex digits), or a display name
 * @timeout_ms: how long to wait for an answer from the network
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the result
 * @user_data: data for @callback
 *
 * Finds the peer @query names among the peers already seen, or asks the
 * network and waits up to @timeout_ms for it to answer.
 */
void
ferry_engine_find_peer_async (FerryEngine         *self,
                              const char          *query,
                              guint                timeout_ms,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  FindData *data;

  g_return_if_fail (FERRY_IS_ENGINE (self));
  g_return_if_fail (query != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, ferry_engine_find_peer_async);
  data = g_new0 (FindData, 1);
  data->query = g_strdup (query);
  g_task_set_task_data (task, data, (GDestroyNotify) find_data_free);

  g_ptr_array_add (self->finds, g_object_ref (task));
  if (find_peer_check (self, task))
    return;

  {
    g_autofree char *lower = g_ascii_strdown (query, -1);

    _ferry_engine_query (self, _ferry_device_id_is_valid (lower) ? lower : NULL);
  }
  data->timeout_source = _ferry_engine_timeout_add (self, timeout_ms, find_peer_timeout_cb, task);
  data->requery = _ferry_retry_new (self, FERRY_RETRY_QUERY, find_peer_requery, task, NULL);
  data->cancel_id = _ferry_engine_task_on_cancel (self, task, find_peer_cancelled_cb);
}

FerryPeer *
ferry_engine_find_peer_finish (FerryEngine   *self,
                               GAsyncResult  *result,
                               GError       **error)
{
  g_return_val_if_fail (FERRY_IS_ENGINE (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
