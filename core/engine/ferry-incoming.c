/* ferry-incoming.c: offers from other devices: answer, race, accept, receive
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>
#include <sys/stat.h>
#include <glib/gstdio.h>

#include "ferry-engine-private.h"

/* --------------------------------------------------------------- incoming */

void
_ferry_incoming_free (FerryIncoming *op)
{
  g_clear_object (&op->directory);
  g_clear_pointer (&op->parts, g_strfreev);
  _ferry_clear_source (&op->timeout_source);
  g_clear_pointer (&op->answer_retry, _ferry_retry_free);
  _ferry_engine_release_attempts (op->transports, op->id);
  g_cancellable_cancel (op->cancellable);
  g_free (op->id);
  g_clear_object (&op->device);
  g_clear_object (&op->signaling);
  g_free (op->route);
  g_clear_pointer (&op->transports, g_ptr_array_unref);
  g_clear_object (&op->cancellable);
  g_clear_pointer (&op->offered, json_array_unref);
  g_clear_pointer (&op->offer, _ferry_offer_files_free);
  g_clear_pointer (&op->resume, json_object_unref);
  g_clear_object (&op->transfer);
  if (op->session != NULL)
    g_signal_handlers_disconnect_by_data (op->session, op);
  g_clear_object (&op->session);
  g_free (op);
}

/* File @extra is verified at @done with digest @sha3_256: a resume
 * checks it has not changed since, instead of receiving it again. */
static void
incoming_note_done (JsonObject *extra,
                    const char *done,
                    const char *sha3_256)
{
  json_object_set_string_member (extra, "done", done);
  if (sha3_256 != NULL && sha3_256[0] != '\0')
    json_object_set_string_member (extra, "sha3-256", sha3_256);
}

/* Records the .part each file keeps once the transfer ends short of
 * finishing, as found on disk. The names come from the session under its
 * lock (its receive thread may still be replacing them when a transfer
 * is cancelled); a file whose receiving has not begun keeps the .part an
 * earlier attempt left. */
static void
incoming_record_parts (FerryIncoming      *op,
                       JsonObject         *base,
                       FerryTransferState  state)
{
  g_auto(GStrv) parts = _ferry_session_dup_parts (op->session);
  g_auto(GStrv) done = _ferry_session_dup_done (op->session);
  g_auto(GStrv) digests = _ferry_session_dup_done_digests (op->session);
  g_autofree char *dir = op->directory ? g_file_get_path (op->directory) : NULL;
  guint n_parts = g_strv_length (parts);
  guint n_done = MIN (g_strv_length (done), g_strv_length (digests));
  guint n = json_array_get_length (json_object_get_array_member (base, "extras"));

  for (guint i = 0; i < n; i++)
    {
      JsonObject *extra = _ferry_engine_history_extra (base, i);
      g_autofree char *part = NULL;

      if (i < n_parts && parts[i][0] != '\0')
        part = g_strdup (parts[i]);
      else
        part = g_strdup (json_object_get_string_member_with_default (extra, "part", NULL));
      json_object_remove_member (extra, "part");
      json_object_remove_member (extra, "part-bytes");
      /* verified: a resume checks it instead of receiving it again */
      if (i < n_done && done[i][0] != '\0' && state != FERRY_TRANSFER_STATE_FINISHED)
        incoming_note_done (extra, done[i], digests[i]);
      else if (state == FERRY_TRANSFER_STATE_FINISHED)
        json_object_remove_member (extra, "done");
      if (part != NULL && dir != NULL && state != FERRY_TRANSFER_STATE_FINISHED)
        {
          g_autofree char *path = g_build_filename (dir, part, NULL);
          GStatBuf st;

          if (g_lstat (path, &st) == 0 && S_ISREG (st.st_mode))
            {
              json_object_set_string_member (extra, "part", part);
              json_object_set_int_member (extra, "part-bytes", (gint64) st.st_size);
            }
        }
    }
}

static void
incoming_end (FerryIncoming      *op,
              FerryTransferState  state,
              const GError       *error)
{
  FerryEngine *self = op->engine;
  g_autoptr(FerryTransfer) transfer = op->transfer ? g_object_ref (op->transfer) : NULL;
  gboolean accepted;
  guint position;

  if (transfer != NULL && op->session != NULL)
    {
      JsonObject *base = _ferry_engine_history_base (self, transfer);

      json_object_set_int_member (json_object_get_object_member (base, "moved"), "total",
                                  (gint64) _ferry_session_get_moved (op->session));
      incoming_record_parts (op, base, state);
    }

  accepted = op->accepted;
  g_hash_table_remove (self->incoming, op->id);
  if (g_hash_table_size (self->incoming) == 0)
    _ferry_engine_schedule_trim (self);
  if (transfer != NULL)
    {
      _ferry_transfer_set_state (transfer, state, error);
      /* An offer nobody accepted leaves no record, and is not kept. */
      if (accepted)
        _ferry_engine_history_write (self, transfer);
      else if (g_list_store_find (self->transfers, transfer, &position))
        g_list_store_remove (self->transfers, position);
    }
}

static void
incoming_progress_cb (FerrySession  *session,
                      guint64        bytes,
                      guint64        total,
                      FerryIncoming *op)
{
  g_auto(GStrv) parts = _ferry_session_dup_parts (session);
  gint64 now = g_get_monotonic_time ();

  _ferry_transfer_set_bytes (op->transfer, bytes);

  /* Record each .part as soon as it exists, and the files verified:
   * should this process die, a later fetch resumes from them. Many small
   * files change them all the time: then once a second. */
  if ((op->parts == NULL || !g_strv_equal ((const char * const *) parts, (const char * const *) op->parts)) &&
      (op->parts == NULL || now - op->parts_written_us >= G_USEC_PER_SEC))
    {
      JsonObject *base = _ferry_engine_history_base (op->engine, op->transfer);
      g_auto(GStrv) done = _ferry_session_dup_done (session);
      g_auto(GStrv) digests = _ferry_session_dup_done_digests (session);

      for (guint i = 0; parts[i] != NULL; i++)
        {
          JsonObject *extra = _ferry_engine_history_extra (base, i);

          if (extra == NULL)
            continue;
          if (parts[i][0] != '\0')
            json_object_set_string_member (extra, "part", parts[i]);
          else
            json_object_remove_member (extra, "part");
          if (done[0] != NULL && digests[0] != NULL && done[i][0] != '\0')
            incoming_note_done (extra, done[i], digests[i]);
        }
      g_strfreev (op->parts);
      op->parts = g_steal_pointer (&parts);
      op->parts_written_us = now;
      _ferry_engine_history_write (op->engine, op->transfer);
    }
}

static void
incoming_received_cb (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr(FerryOpRef) ref = user_data;
  FerryEngine *self = ref->engine;
  FerryIncoming *op = g_hash_table_lookup (self->incoming, ref->id);
  g_autoptr(GError) error = NULL;
  gboolean ok;

  ok = _ferry_session_receive_finish (FERRY_SESSION (source), result, &error);
  if (op == NULL)
    {
      return;
    }

  if (ok)
    {
      GPtrArray *session_files = _ferry_session_get_files (op->session);
      GListModel *files = ferry_transfer_get_files (op->transfer);

      for (guint i = 0; i < session_files->len && i < g_list_model_get_n_items (files); i++)
        {
          g_autoptr(FerryTransferFile) file = g_list_model_get_item (files, i);
          FerrySessionFile *sf = g_ptr_array_index (session_files, i);

          _ferry_transfer_file_set_sha3_256 (file, sf->sha3_256);
          _ferry_transfer_file_set_file (file, sf->destination);
        }
      _ferry_transfer_set_bytes (op->transfer, ferry_transfer_get_total_size (op->transfer));
      incoming_end (op, FERRY_TRANSFER_STATE_FINISHED, NULL);
    }
  else
    incoming_end (op, _ferry_engine_state_for_error (error), error);
}

/* Counts the offers waiting for a decision, and the accepted transfers,
 * of @account (NULL: of everyone). */
static void
incoming_count (FerryEngine *self,
                const char  *account,
                guint       *pending,
                guint       *running)
{
  GHashTableIter iter;
  gpointer value;

  *pending = *running = 0;
  g_hash_table_iter_init (&iter, self->incoming);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      FerryIncoming *other = value;

      if (account != NULL && !g_str_equal (ferry_device_get_account_id (other->device), account))
        continue;
      if (other->accepted)
        (*running)++;
      else
        (*pending)++;
    }
}

/* A file of the model, with its path in a folder. */
static void
incoming_add_file (FerryTransfer    *transfer,
                   FerrySessionFile *sf)
{
  g_autoptr(FerryTransferFile) file = _ferry_transfer_file_new (sf->name, sf->size, sf->mime_type, NULL);

  if (sf->dir != NULL)
    {
      g_autofree char *path = g_strconcat (sf->dir, "/", sf->name, NULL);

      _ferry_transfer_file_set_path (file, path);
    }
  _ferry_transfer_add_file (transfer, file);
}

/* The session's header must list the files (folders, text) the user
 * accepted. */
static gboolean
incoming_check_header (FerryIncoming *op)
{
  GPtrArray *files = _ferry_session_get_files (op->session);
  guint listed = g_list_model_get_n_items (ferry_transfer_get_files (op->transfer));

  if (!_ferry_offer_matches (op->offer, files, _ferry_session_get_directories (op->session),
                             _ferry_session_get_text (op->session)))
    return FALSE;
  for (guint i = listed; i < files->len; i++)
    incoming_add_file (op->transfer, g_ptr_array_index (files, i));
  _ferry_transfer_set_text (op->transfer, _ferry_session_get_text (op->session));
  return TRUE;
}

static void
incoming_race_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(FerryOpRef) ref = user_data;
  FerryEngine *self = ref->engine;
  FerryIncoming *op = g_hash_table_lookup (self->incoming, ref->id);
  g_autoptr(GError) error = NULL;
  g_autoptr(FerryRaceResult) race = NULL;
  g_autofree char *chain = NULL;

  race = _ferry_negotiation_race_finish (result, &error);
  if (op == NULL)
    {
      return;
    }
  g_clear_pointer (&op->answer_retry, _ferry_retry_free);
  _ferry_engine_release_attempts (op->transports, op->id);
  if (race == NULL)
    {
      g_debug ("incoming transfer %s: %s", op->id, error->message);
      /* a peer that connected and sent what was refused is not unjoinable */
      incoming_end (op, g_error_matches (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL)
                        ? FERRY_TRANSFER_STATE_ERROR : FERRY_TRANSFER_STATE_UNJOINABLE_PEER,
                    error);
      return;
    }

  op->session = g_steal_pointer (&race->session);
  _ferry_session_set_group (op->session, self->sessions);
  chain = _ferry_engine_chain_text (op->signaling, race->chain);
  _ferry_transfer_set_chain (op->transfer, chain);
  if (!incoming_check_header (op))
    {
      error = g_error_new (FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                           _("The sender sent other files than it offered"));
      _ferry_session_reject (op->session, "the files differ from the offer");
      incoming_end (op, FERRY_TRANSFER_STATE_ERROR, error);
      return;
    }
  if (op->resume != NULL)
    _ferry_engine_fetch_resume_parts (op->resume, _ferry_session_get_files (op->session));

  /* Consent was given before the connection: the session accepts. */
  _ferry_session_set_keep_parts (op->session, TRUE);
  _ferry_session_set_stall_timeout (op->session, self->stall_timeout_s);
  _ferry_engine_history_write (self, op->transfer);
  g_signal_connect (op->session, "progress", G_CALLBACK (incoming_progress_cb), op);
  _ferry_session_receive_async (op->session, op->directory, op->cancellable,
                                incoming_received_cb, _ferry_op_ref_new (self, op->id));
}

static void
incoming_described_cb (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  g_autoptr(FerryOpRef) ref = user_data;
  FerryEngine *self = ref->engine;
  FerryIncoming *op = g_hash_table_lookup (self->incoming, ref->id);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonArray) described = NULL;
  g_autoptr(JsonObject) body = NULL;
  g_autoptr(GBytes) answer = NULL;
  GPtrArray *entries;
  FerryRaceParams params = { 0, };

  described = _ferry_negotiation_describe_finish (result, &error);
  if (op == NULL)
    {
      return;
    }
  if (described == NULL)
    {
      incoming_end (op, FERRY_TRANSFER_STATE_ERROR, error);
      return;
    }

  /* Connect only through transports both sides described. */
  {
    g_autoptr(GPtrArray) usable = g_ptr_array_new_with_free_func (g_object_unref);

    for (guint i = 0; i < json_array_get_length (described); i++)
      {
        const char *name = json_object_get_string_member (json_array_get_object_element (described, i), "name");

        for (guint j = 0; j < op->transports->len; j++)
          if (g_str_equal (ferry_transport_get_name (g_ptr_array_index (op->transports, j)), name))
            g_ptr_array_add (usable, g_object_ref (g_ptr_array_index (op->transports, j)));
      }
    entries = _ferry_negotiation_select (op->offered, usable);
  }

  body = json_object_new ();
  json_object_set_string_member (body, "transfer", op->id);
  json_object_set_array_member (body, "transports", json_array_ref (described));
  /* What this side cannot reach: neither side holds the others back for it. */
  {
    g_autoptr(GPtrArray) networks = _ferry_negotiation_local_networks ((const char * const *) self->interfaces);
    JsonArray *unreachable = _ferry_negotiation_judge (entries, networks, _ferry_engine_uses_loopback (self));

    if (unreachable != NULL)
      json_object_set_array_member (body, "unreachable", unreachable);
  }
  answer = _ferry_engine_build_message (self, "answer", ferry_device_get_device_id (op->device), body);
  if (answer != NULL)
    op->answer_retry = _ferry_engine_send_repeatedly (self, op->signaling, op->route, answer,
                                                      FERRY_RETRY_ANSWER);

  params.context = self->context;
  params.identity = self->identity;
  params.offerer = FALSE;
  params.attempt_id = op->id;
  params.peer_account_id = ferry_device_get_account_id (op->device);
  params.peer_device_id = ferry_device_get_device_id (op->device);
  params.stagger_ms = self->stagger_ms;
  params.attempt_timeout_ms = self->connect_timeout_s * 1000;
  params.loopback = _ferry_engine_uses_loopback (self);
  _ferry_negotiation_race_async (entries, &params, op->cancellable,
                                 incoming_race_cb, _ferry_op_ref_new (self, op->id));
}

/* After consent only: describes this end, answers, connects. */
static void
incoming_connect (FerryIncoming *op)
{
  FerryEngine *self = op->engine;
  g_autoptr(GPtrArray) selected = NULL;
  g_autoptr(GPtrArray) usable = NULL;

  g_clear_pointer (&op->answer_retry, _ferry_retry_free);   /* the "pending" */
  op->transports = _ferry_engine_list_transports (self);
  /* Describe only the transports we share, best first. */
  selected = _ferry_negotiation_select (op->offered, op->transports);
  usable = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < selected->len; i++)
    g_ptr_array_add (usable, g_object_ref (((FerryRaceEntry *) g_ptr_array_index (selected, i))->transport));

  _ferry_negotiation_describe_async (self->context, usable, op->id, FALSE, self->connect_timeout_s * 1000,
                                     op->cancellable, incoming_described_cb, _ferry_op_ref_new (self, op->id));
}

static void
incoming_op_accept (FerryTransfer *transfer,
                    GFile         *directory,
                    gpointer       user_data)
{
  FerryIncoming *op = user_data;
  FerryEngine *self = op->engine;
  g_autofree char *path = directory ? g_file_get_path (directory) : NULL;
  guint pending, running, peer_running;

  _ferry_clear_source (&op->timeout_source);
  incoming_count (self, NULL, &pending, &running);
  incoming_count (self, ferry_device_get_account_id (op->device), &pending, &peer_running);
  if (running >= self->max_transfers || peer_running >= self->max_transfers_per_peer)
    {
      g_autoptr(GError) error = g_error_new (FERRY_ERROR, FERRY_ERROR_FAILED,
                                             _("Too many transfers at once (%u running, %u from this peer)"),
                                             running, peer_running);

      _ferry_engine_send_reject (self, op->signaling, op->route, ferry_device_get_device_id (op->device),
                                 op->id, "busy");
      incoming_end (op, FERRY_TRANSFER_STATE_CANCELLED, error);
      return;
    }

  op->accepted = TRUE;
  g_set_object (&op->directory, directory);
  if (path != NULL)
    json_object_set_string_member (_ferry_engine_history_base (self, transfer), "directory", path);
  _ferry_transfer_set_state (transfer, FERRY_TRANSFER_STATE_ONGOING, NULL);
  _ferry_engine_history_write (self, transfer);
  incoming_connect (op);
}

/* Tells the sender no, in the way that fits how far the transfer got. */
static void
incoming_say_no (FerryIncoming *op,
                 const char    *reason)
{
  if (op->session != NULL && ferry_transfer_get_state (op->transfer) == FERRY_TRANSFER_STATE_AWAITING_HOST)
    _ferry_session_reject (op->session, reason);
  else if (op->session != NULL)
    _ferry_session_cancel (op->session, reason);
  else if (!op->accepted)
    _ferry_engine_send_reject (op->engine, op->signaling, op->route,
                               ferry_device_get_device_id (op->device), op->id, reason);
  else
    _ferry_engine_send_cancel (op->engine, op->signaling, op->route,
                               ferry_device_get_device_id (op->device), op->id, reason);
}

static void
incoming_op_reject (FerryTransfer *transfer,
                    const char    *reason,
                    gpointer       user_data)
{
  FerryIncoming *op = user_data;
  g_autoptr(GError) error = NULL;

  error = g_error_new (FERRY_ERROR, FERRY_ERROR_REJECTED, _("Rejected: %s"),
                       reason ? reason : _("no reason given"));
  incoming_say_no (op, reason ? reason : "rejected");
  incoming_end (op, FERRY_TRANSFER_STATE_CANCELLED, error);
}

static void
incoming_op_cancel (FerryTransfer *transfer,
                    const char    *reason,
                    gpointer       user_data)
{
  FerryIncoming *op = user_data;
  g_autoptr(GError) error = NULL;

  error = g_error_new (G_IO_ERROR, G_IO_ERROR_CANCELLED, _("Cancelled: %s"),
                       reason ? reason : _("no reason given"));
  incoming_say_no (op, reason ? reason : "cancelled");
  incoming_end (op, FERRY_TRANSFER_STATE_CANCELLED, error);
}

static const FerryTransferOps incoming_ops = {
  incoming_op_accept,
  incoming_op_reject,
  incoming_op_cancel,
};

static gboolean
incoming_timeout_cb (gpointer user_data)
{
  FerryIncoming *op = user_data;
  g_autoptr(GError) error = NULL;

  g_clear_pointer (&op->timeout_source, g_source_unref);
  error = g_error_new (FERRY_ERROR, FERRY_ERROR_TIMEOUT,
                       _("Nobody accepted the transfer within %u s"), op->engine->offer_timeout_s);
  incoming_say_no (op, "offer expired");
  incoming_end (op, FERRY_TRANSFER_STATE_TIMEOUT_EXPIRED, error);
  return G_SOURCE_REMOVE;
}

/* Whether one more offer from @account may wait for a decision. */
static gboolean
incoming_offer_allowed (FerryEngine *self,
                        const char  *account)
{
  guint pending, running;

  incoming_count (self, NULL, &pending, &running);
  if (pending >= self->max_pending_offers)
    return FALSE;
  incoming_count (self, account, &pending, &running);
  return pending < self->max_pending_offers_per_account;
}

/* An offer is decided on before any network work: it becomes an incoming
 * transfer awaiting the host, built from the offer alone. Nothing is
 * described, answered, connected or recorded until it is accepted. */
void
_ferry_engine_incoming_offer (FerryEngine    *self,
                              FerryEnvelope  *envelope,
                              FerrySignaling *signaling,
                              const char     *route)
{
  const char *id = json_object_get_string_member_with_default (envelope->body, "transfer", NULL);
  JsonNode *transports_node = json_object_get_member (envelope->body, "transports");
  g_autoptr(FerryOfferFiles) offer = NULL;
  g_autoptr(GError) error = NULL;
  FerryDevice *device;
  FerryIncoming *op;

  if (!_ferry_transfer_id_is_valid (id) || transports_node == NULL || !JSON_NODE_HOLDS_ARRAY (transports_node) ||
      (offer = _ferry_offer_parse_files (envelope->body, id, &error)) == NULL)
    {
      self->dropped_messages++;
      g_debug ("malformed offer dropped%s%s", error ? ": " : "", error ? error->message : "");
      return;
    }
  if (g_hash_table_contains (self->incoming, id) || g_hash_table_contains (self->outgoing, id))
    return;
  if (!incoming_offer_allowed (self, envelope->from_account))
    {
      self->dropped_messages++;
      g_debug ("offer %s from %.12s dropped: too many offers waiting", id, envelope->from_account);
      return;
    }

  device = _ferry_engine_remember_device (self, envelope, signaling, route);
  if (device == NULL)
    return;

  op = g_new0 (FerryIncoming, 1);
  op->engine = self;
  op->id = g_strdup (id);
  op->device = g_object_ref (device);
  op->signaling = g_object_ref (signaling);
  op->route = g_strdup (route);
  op->cancellable = g_cancellable_new ();
  op->offered = json_array_ref (json_node_get_array (transports_node));
  op->offer = g_steal_pointer (&offer);
  g_hash_table_insert (self->incoming, op->id, op);

  op->transfer = _ferry_transfer_new (op->id, FERRY_TRANSFER_DIRECTION_INCOMING, op->device);
  for (guint i = 0; i < op->offer->files->len; i++)
    incoming_add_file (op->transfer, g_ptr_array_index (op->offer->files, i));
  _ferry_transfer_set_offered (op->transfer, op->offer->count, op->offer->total,
                               op->offer->folder, op->offer->text);
  _ferry_transfer_set_ops (op->transfer, &incoming_ops, op);
  _ferry_transfer_set_state (op->transfer, FERRY_TRANSFER_STATE_AWAITING_HOST, NULL);
  op->timeout_source = _ferry_engine_timeout_add_seconds (self, self->offer_timeout_s,
                                                          incoming_timeout_cb, op);
  g_list_store_append (self->transfers, op->transfer);

  /* Tells the sender the offer is shown, until it is decided. */
  {
    g_autoptr(JsonObject) body = json_object_new ();
    g_autoptr(GBytes) pending = NULL;

    json_object_set_string_member (body, "transfer", op->id);
    pending = _ferry_engine_build_message (self, "pending", ferry_device_get_device_id (op->device), body);
    if (pending != NULL)
      op->answer_retry = _ferry_engine_send_repeatedly (self, op->signaling, op->route, pending,
                                                        FERRY_RETRY_ANSWER);
  }

  /* What this device asked for itself is accepted, and resumed. */
  if (_ferry_engine_fetch_arrived (self, op))
    return;

  {
    g_autoptr(FerryTransfer) transfer = g_object_ref (op->transfer);

    _ferry_engine_emit_transfer_requested (self, transfer);
  }
}

void
_ferry_engine_incoming_cancel (FerryEngine   *self,
                               FerryEnvelope *envelope)
{
  const char *id = json_object_get_string_member_with_default (envelope->body, "transfer", NULL);
  const char *reason = json_object_get_string_member_with_default (envelope->body, "reason", "");
  FerryIncoming *op = id ? g_hash_table_lookup (self->incoming, id) : NULL;
  g_autoptr(GError) error = NULL;

  if (op == NULL || !g_str_equal (envelope->from_device, ferry_device_get_device_id (op->device)))
    return;
  if (op->session != NULL && ferry_transfer_get_state (op->transfer) == FERRY_TRANSFER_STATE_ONGOING)
    return; /* the session itself reports it */

  error = g_error_new (FERRY_ERROR, FERRY_ERROR_CANCELLED_BY_PEER, _("Cancelled by peer: %s"), reason);
  if (op->session != NULL)
    _ferry_session_cancel (op->session, "cancelled by peer");
  incoming_end (op, FERRY_TRANSFER_STATE_CANCELLED, error);
}
