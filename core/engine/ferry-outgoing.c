/* ferry-outgoing.c: one sub-transfer to one device: offer, race, session
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "ferry-engine-private.h"
#include "ferry-session-protocol-private.h"

/* --------------------------------------------------------------- outgoing */

void
_ferry_outgoing_free (FerryOutgoing *op)
{
  g_clear_pointer (&op->offer_retry, _ferry_retry_free);
  _ferry_clear_source (&op->answer_source);
  _ferry_clear_source (&op->accept_source);
  _ferry_engine_release_attempts (op->transports, op->id);
  g_cancellable_cancel (op->cancellable);
  g_free (op->id);
  g_clear_object (&op->parent);
  g_clear_object (&op->transfer);
  g_clear_object (&op->device);
  g_clear_object (&op->signaling);
  g_free (op->route);
  g_clear_pointer (&op->transports, g_ptr_array_unref);
  g_clear_pointer (&op->session_files, g_ptr_array_unref);
  g_clear_pointer (&op->hashes, _ferry_hash_share_unref);
  g_clear_pointer (&op->rate_limit, _ferry_rate_limit_unref);
  g_clear_object (&op->cancellable);
  g_clear_pointer (&op->offer, g_bytes_unref);
  if (op->session != NULL)
    g_signal_handlers_disconnect_by_data (op->session, op);
  g_clear_object (&op->session);
  g_free (op);
}

/* Ends an outgoing transfer: sets its final state and forgets it. */
static void
outgoing_end (FerryOutgoing      *op,
              FerryTransferState  state,
              const GError       *error)
{
  FerryEngine *self = op->engine;
  g_autoptr(FerryTransfer) transfer = g_object_ref (op->transfer);
  g_autoptr(FerryTransfer) parent = op->parent ? g_object_ref (op->parent) : NULL;

  g_clear_pointer (&op->offer_retry, _ferry_retry_free);
  _ferry_clear_source (&op->answer_source);
  _ferry_clear_source (&op->accept_source);
  if (parent != NULL && op->session != NULL)
    json_object_set_int_member (json_object_get_object_member (_ferry_engine_history_base (self, parent), "moved"),
                                op->id, (gint64) _ferry_session_get_moved (op->session));
  g_hash_table_remove (self->outgoing, op->id);
  _ferry_transfer_set_state (transfer, state, error);
  if (parent != NULL)
    _ferry_engine_history_write (self, parent);
}

static void
outgoing_fail (FerryOutgoing *op,
               const GError  *error)
{
  outgoing_end (op, _ferry_engine_state_for_error (error), error);
}

static void
outgoing_progress_cb (FerrySession  *session,
                      guint64        bytes,
                      guint64        total,
                      FerryOutgoing *op)
{
  _ferry_transfer_set_bytes (op->transfer, bytes);
}

static void
outgoing_accepted_cb (FerrySession  *session,
                      FerryOutgoing *op)
{
  _ferry_clear_source (&op->accept_source);
  _ferry_transfer_set_state (op->transfer, FERRY_TRANSFER_STATE_ONGOING, NULL);
  if (op->parent != NULL)
    _ferry_engine_history_write (op->engine, op->parent);
}

static void
outgoing_sent_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(FerryOpRef) ref = user_data;
  FerryOutgoing *op = g_hash_table_lookup (ref->engine->outgoing, ref->id);
  g_autoptr(GError) error = NULL;
  gboolean ok;

  ok = _ferry_session_send_finish (FERRY_SESSION (source), result, &error);
  if (op == NULL || op->session != FERRY_SESSION (source))
    return;

  if (ok)
    {
      GListModel *files = ferry_transfer_get_files (op->transfer);

      for (guint i = 0; i < op->session_files->len && i < g_list_model_get_n_items (files); i++)
        {
          g_autoptr(FerryTransferFile) file = g_list_model_get_item (files, i);
          FerrySessionFile *sf = g_ptr_array_index (op->session_files, i);

          _ferry_transfer_file_set_sha3_256 (file, sf->sha3_256);
        }
      _ferry_transfer_set_bytes (op->transfer, ferry_transfer_get_total_size (op->transfer));
      outgoing_end (op, FERRY_TRANSFER_STATE_FINISHED, NULL);
    }
  else
    outgoing_fail (op, error);
}

static gboolean
outgoing_accept_timeout_cb (gpointer user_data)
{
  FerryOutgoing *op = user_data;
  g_autoptr(GError) error = NULL;

  g_clear_pointer (&op->accept_source, g_source_unref);
  error = g_error_new (FERRY_ERROR, FERRY_ERROR_TIMEOUT,
                       _("The peer did not accept the transfer within %u s"),
                       op->engine->offer_timeout_s);
  if (op->session != NULL)
    _ferry_session_cancel (op->session, "offer expired");
  outgoing_fail (op, error);
  return G_SOURCE_REMOVE;
}

static void
outgoing_race_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(FerryOpRef) ref = user_data;
  FerryOutgoing *op = g_hash_table_lookup (ref->engine->outgoing, ref->id);
  g_autoptr(GError) error = NULL;
  g_autoptr(FerryRaceResult) race = NULL;
  g_autofree char *chain = NULL;

  race = _ferry_negotiation_race_finish (result, &error);
  if (op == NULL)
    return;

  _ferry_engine_release_attempts (op->transports, op->id);
  if (race == NULL)
    {
      outgoing_fail (op, error);
      return;
    }

  chain = _ferry_engine_chain_text (op->signaling, race->chain);
  _ferry_transfer_set_chain (op->transfer, chain);

  op->session = _ferry_session_new (race->stream);
  _ferry_session_set_group (op->session, ref->engine->sessions);
  _ferry_session_set_allow_resume (op->session, op->resume);
  _ferry_session_set_directories (op->session, _ferry_transfer_get_directories (op->parent));
  _ferry_session_set_text (op->session, ferry_transfer_get_text (op->parent));
  _ferry_session_set_stall_timeout (op->session, ref->engine->stall_timeout_s);
  _ferry_session_set_hash_share (op->session, op->hashes);
  _ferry_session_set_rate_limit (op->session, op->rate_limit);
  g_signal_connect (op->session, "progress", G_CALLBACK (outgoing_progress_cb), op);
  g_signal_connect (op->session, "accepted", G_CALLBACK (outgoing_accepted_cb), op);
  op->accept_source = _ferry_engine_timeout_add_seconds (ref->engine, ref->engine->offer_timeout_s,
                                                         outgoing_accept_timeout_cb, op);
  _ferry_session_send_async (op->session, op->id, op->session_files, op->cancellable,
                             outgoing_sent_cb, _ferry_op_ref_new (ref->engine, op->id));
}

void
_ferry_engine_outgoing_answer (FerryEngine   *self,
                               FerryEnvelope *envelope)
{
  const char *id = json_object_get_string_member_with_default (envelope->body, "transfer", NULL);
  FerryOutgoing *op = id ? g_hash_table_lookup (self->outgoing, id) : NULL;
  JsonNode *transports_node;
  GPtrArray *entries;
  FerryRaceParams params = { 0, };
  JsonArray *answered = NULL;

  if (op == NULL || op->answered)
    return;
  if (!g_str_equal (envelope->from_device, ferry_device_get_device_id (op->device)) ||
      !g_str_equal (envelope->from_account, ferry_device_get_account_id (op->device)) ||
      _ferry_engine_is_revoked (self, envelope->from_account, envelope->from_device))
    {
      g_debug ("answer for %s from an unexpected device, dropped", id);
      return;
    }

  op->answered = TRUE;
  g_clear_pointer (&op->offer_retry, _ferry_retry_free);
  _ferry_clear_source (&op->answer_source);

  transports_node = json_object_get_member (envelope->body, "transports");
  if (transports_node != NULL && JSON_NODE_HOLDS_ARRAY (transports_node))
    answered = json_node_get_array (transports_node);
  entries = _ferry_negotiation_select (answered, op->transports);
  _ferry_negotiation_take_hints (entries, envelope->body);

  params.context = self->context;
  params.identity = self->identity;
  params.offerer = TRUE;
  params.attempt_id = op->id;
  params.peer_account_id = ferry_device_get_account_id (op->device);
  params.peer_device_id = ferry_device_get_device_id (op->device);
  params.stagger_ms = self->stagger_ms;
  params.attempt_timeout_ms = self->connect_timeout_s * 1000;
  params.loopback = _ferry_engine_uses_loopback (self);
  _ferry_negotiation_race_async (entries, &params, op->cancellable,
                                 outgoing_race_cb, _ferry_op_ref_new (self, op->id));
}

/* A "reject" (the receiver said no, or its offer expired, before any
 * connection) or a "cancel" from the device the transfer was offered to.
 * Returns FALSE when no outgoing transfer has that id. */
gboolean
_ferry_engine_outgoing_refused (FerryEngine   *self,
                                FerryEnvelope *envelope)
{
  const char *id = json_object_get_string_member_with_default (envelope->body, "transfer", NULL);
  const char *reason = json_object_get_string_member_with_default (envelope->body, "reason", "");
  FerryOutgoing *op = id ? g_hash_table_lookup (self->outgoing, id) : NULL;
  g_autofree char *clean = NULL;
  g_autoptr(GError) error = NULL;

  if (op == NULL)
    return FALSE;
  if (!g_str_equal (envelope->from_device, ferry_device_get_device_id (op->device)) ||
      !g_str_equal (envelope->from_account, ferry_device_get_account_id (op->device)))
    return TRUE;
  if (op->session != NULL && ferry_transfer_get_state (op->transfer) == FERRY_TRANSFER_STATE_ONGOING)
    return TRUE; /* the session itself reports it */

  clean = _ferry_protocol_clean_reason (reason);
  if (g_str_equal (envelope->type, "reject"))
    error = g_error_new (FERRY_ERROR, FERRY_ERROR_REJECTED, _("Rejected: %s"), clean);
  else
    error = g_error_new (FERRY_ERROR, FERRY_ERROR_CANCELLED_BY_PEER, _("Cancelled by peer: %s"), clean);
  if (op->session != NULL)
    _ferry_session_cancel (op->session, "cancelled by peer");
  outgoing_fail (op, error);
  return TRUE;
}

static gboolean
outgoing_answer_timeout_cb (gpointer user_data)
{
  FerryOutgoing *op = user_data;
  g_autoptr(GError) error = NULL;

  g_clear_pointer (&op->answer_source, g_source_unref);
  if (op->pending)
    error = g_error_new (FERRY_ERROR, FERRY_ERROR_TIMEOUT,
                         _("The peer did not accept the transfer within %u s"),
                         op->engine->offer_timeout_s);
  else
    error = g_error_new (FERRY_ERROR, FERRY_ERROR_NO_TRANSPORT,
                         _("The peer did not answer the offer within %u s"),
                         MIN (FERRY_ANSWER_TIMEOUT_MS / 1000, op->engine->offer_timeout_s));
  outgoing_fail (op, error);
  return G_SOURCE_REMOVE;
}

/* The receiver shows the offer to its user: stop re-sending it, and wait
 * for the answer as long as the user may take. */
void
_ferry_engine_outgoing_pending (FerryEngine   *self,
                                FerryEnvelope *envelope)
{
  const char *id = json_object_get_string_member_with_default (envelope->body, "transfer", NULL);
  FerryOutgoing *op = id ? g_hash_table_lookup (self->outgoing, id) : NULL;

  if (op == NULL || op->answered || op->pending ||
      !g_str_equal (envelope->from_device, ferry_device_get_device_id (op->device)) ||
      !g_str_equal (envelope->from_account, ferry_device_get_account_id (op->device)))
    return;
  op->pending = TRUE;
  g_clear_pointer (&op->offer_retry, _ferry_retry_free);
  _ferry_clear_source (&op->answer_source);
  op->answer_source = _ferry_engine_timeout_add_seconds (self, self->offer_timeout_s,
                                                         outgoing_answer_timeout_cb, op);
}

static void
outgoing_described_cb (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  g_autoptr(FerryOpRef) ref = user_data;
  FerryEngine *self = ref->engine;
  FerryOutgoing *op = g_hash_table_lookup (self->outgoing, ref->id);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonArray) transports = NULL;
  g_autoptr(JsonObject) body = NULL;

  transports = _ferry_negotiation_describe_finish (result, &error);
  if (op == NULL)
    return;
  if (transports == NULL)
    {
      outgoing_fail (op, error);
      return;
    }

  body = json_object_new ();
  json_object_set_string_member (body, "transfer", op->id);
  json_object_set_array_member (body, "transports", json_array_ref (transports));
  /* What the receiver decides on, before it connects anywhere. */
  if (_ferry_offer_describe_files (body, op->id, op->session_files,
                                   _ferry_transfer_get_directories (op->parent),
                                   ferry_transfer_get_text (op->parent), &error))
    op->offer = _ferry_engine_build_message (self, "offer", ferry_device_get_device_id (op->device), body);
  g_clear_error (&error);
  if (op->offer == NULL)
    {
      g_autoptr(GError) build_error = g_error_new (FERRY_ERROR, FERRY_ERROR_FAILED,
                                                   _("Cannot build the offer"));
      outgoing_fail (op, build_error);
      return;
    }

  /* A sign of life first ("pending"), then the answer once the user said
   * yes (see _ferry_engine_outgoing_pending()). */
  op->answer_source = _ferry_engine_timeout_add (self, MIN (FERRY_ANSWER_TIMEOUT_MS, self->offer_timeout_s * 1000),
                                                 outgoing_answer_timeout_cb, op);
  op->offer_retry = _ferry_engine_send_repeatedly (self, op->signaling, op->route, op->offer,
                                                   FERRY_RETRY_OFFER);
}

static void
outgoing_op_cancel (FerryTransfer *transfer,
                    const char    *reason,
                    gpointer       user_data)
{
  FerryOutgoing *op = user_data;
  g_autoptr(GError) error = NULL;

  error = g_error_new (G_IO_ERROR, G_IO_ERROR_CANCELLED, _("Cancelled: %s"),
                       reason ? reason : _("no reason given"));
  if (op->session != NULL)
    _ferry_session_cancel (op->session, reason ? reason : "cancelled");
  if (ferry_transfer_get_state (transfer) != FERRY_TRANSFER_STATE_ONGOING)
    _ferry_engine_send_cancel (op->engine, op->signaling, op->route,
                               ferry_device_get_device_id (op->device), op->id, reason);
  outgoing_fail (op, error);
}

static const FerryTransferOps outgoing_ops = {
  NULL,
  NULL,
  outgoing_op_cancel,
};

static GPtrArray *
session_files_copy (GPtrArray *files)
{
  GPtrArray *copy = g_ptr_array_new_with_free_func ((GDestroyNotify) _ferry_session_file_free);

  for (guint i = 0; i < files->len; i++)
    {
      FerrySessionFile *sf = g_ptr_array_index (files, i);
      FerrySessionFile *dup = _ferry_session_file_new (sf->name, sf->size, sf->mime_type);

      dup->source = sf->source ? g_object_ref (sf->source) : NULL;
      dup->expected_sha3 = g_strdup (sf->expected_sha3);
      dup->dir = g_strdup (sf->dir);
      dup->executable = sf->executable;
      dup->mtime = sf->mtime;
      g_ptr_array_add (copy, dup);
    }
  return copy;
}

/* Starts one sub-transfer of @parent to @device. */
void
_ferry_engine_send_one (FerryEngine   *self,
                        FerryTransfer *parent,
                        FerryDevice   *device,
                        GPtrArray     *session_files,
                        FerryHashShare *hashes,
                        FerryRateLimit *rate_limit,
                        const char    *sub_id,
                        gboolean       resume)
{
  g_autoptr(FerryTransfer) transfer = NULL;
  g_autofree char *id = sub_id ? g_strdup (sub_id) : _ferry_engine_random_hex (16);
  GListModel *files = ferry_transfer_get_files (parent);
  FerryOutgoing *op;

  transfer = _ferry_transfer_new (id, FERRY_TRANSFER_DIRECTION_OUTGOING, device);
  for (guint i = 0; i < g_list_model_get_n_items (files); i++)
    {
      g_autoptr(FerryTransferFile) file = g_list_model_get_item (files, i);

      _ferry_transfer_add_file (transfer, file);
    }

  op = g_new0 (FerryOutgoing, 1);
  op->engine = self;
  op->id = g_strdup (id);
  op->parent = g_object_ref (parent);
  op->transfer = g_object_ref (transfer);
  op->device = g_object_ref (device);
  op->signaling = g_object_ref (_ferry_device_get_signaling (device));
  op->route = g_strdup (_ferry_device_get_route (device));
  op->transports = _ferry_engine_list_transports (self);
  op->session_files = session_files_copy (session_files);
  op->hashes = _ferry_hash_share_ref (hashes);
  op->rate_limit = rate_limit ? _ferry_rate_limit_ref (rate_limit) : NULL;
  op->resume = resume;
  op->cancellable = g_cancellable_new ();
  g_hash_table_insert (self->outgoing, op->id, op);

  _ferry_transfer_set_ops (transfer, &outgoing_ops, op);
  _ferry_transfer_add_sub_transfer (parent, transfer);
  _ferry_transfer_set_state (transfer, FERRY_TRANSFER_STATE_AWAITING_PEER, NULL);

  _ferry_negotiation_describe_async (self->context, op->transports, op->id, TRUE,
                                     self->connect_timeout_s * 1000, op->cancellable,
                                     outgoing_described_cb, _ferry_op_ref_new (self, op->id));
}
