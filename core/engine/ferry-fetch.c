/* ferry-fetch.c: asking a sender for a past transfer again, and answering such requests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "ferry-engine-private.h"

/* ------------------------------------------------------ re-request, fetch */

/*
 * A receiver asks for a past transfer again with a "request" message
 * (body {"transfer": id, "device": requesting device}) to the sender's
 * devices: the signaling counterpart of an
 * application/data-transfer-request+json. A sender that recorded the
 * transfer, sent it to the requester's account, and still has every file
 * unchanged (size and modification time; the SHA3-256 is checked as the
 * file is sent again) offers it again to the requesting device under the
 * same id, and lets it resume; otherwise it answers "request-refused"
 * (body {"transfer", "reason"}).
 */

/* A request for a transfer re-sent this recently is a late duplicate. */
#define FERRY_REQUEST_QUIET_US  (3 * G_USEC_PER_SEC / 2)

typedef struct {
  char       *id;
  char       *account;      /* the sender's account */
  char       *origin;       /* the device that sent it */
  GFile      *directory;
  JsonObject *record;
  GHashTable *asked;        /* device id → NULL */
  guint       refused;
  GSource    *timeout_source;
  FerryRetry *requests;     /* asks again until an offer comes */
  gulong      cancel_id;
} FetchData;

static void
fetch_data_free (FetchData *data)
{
  g_free (data->id);
  g_free (data->account);
  g_free (data->origin);
  g_clear_object (&data->directory);
  g_clear_pointer (&data->record, json_object_unref);
  g_clear_pointer (&data->asked, g_hash_table_unref);
  _ferry_clear_source (&data->timeout_source);
  g_clear_pointer (&data->requests, _ferry_retry_free);
  g_free (data);
}

static GTask *
engine_find_fetch (FerryEngine *self,
                   const char  *id)
{
  for (guint i = 0; i < self->fetches->len; i++)
    {
      GTask *task = g_ptr_array_index (self->fetches, i);
      FetchData *data = g_task_get_task_data (task);

      if (g_str_equal (data->id, id))
        return task;
    }
  return NULL;
}

/* Ends a fetch: returns @transfer, or @error. */
void
_ferry_engine_fetch_complete (FerryEngine   *self,
                              GTask         *task,
                              FerryTransfer *transfer,
                              GError        *error)
{
  FetchData *data = g_task_get_task_data (task);

  g_object_ref (task);
  _ferry_clear_source (&data->timeout_source);
  g_clear_pointer (&data->requests, _ferry_retry_free);
  if (data->cancel_id != 0)
    g_cancellable_disconnect (g_task_get_cancellable (task), data->cancel_id);
  data->cancel_id = 0;
  g_ptr_array_remove (self->fetches, task);
  if (transfer != NULL)
    g_task_return_pointer (task, g_object_ref (transfer), g_object_unref);
  else
    g_task_return_error (task, error);
  g_object_unref (task);
}

static void
fetch_send_requests (FerryEngine *self,
                     GTask       *task)
{
  FetchData *data = g_task_get_task_data (task);
  FerryPeer *peer = g_hash_table_lookup (self->peers_by_account, data->account);
  GListModel *devices = peer ? ferry_peer_get_devices (peer) : NULL;
  guint sent = 0;

  for (guint i = 0; devices != NULL && i < g_list_model_get_n_items (devices); i++)
    {
      g_autoptr(FerryDevice) device = g_list_model_get_item (devices, i);
      g_autoptr(JsonObject) body = json_object_new ();
      g_autoptr(GBytes) message = NULL;

      if (_ferry_device_get_signaling (device) == NULL)
        continue;
      json_object_set_string_member (body, "transfer", data->id);
      json_object_set_string_member (body, "device", ferry_identity_get_device_id (self->identity));
      message = _ferry_engine_build_message (self, "request", ferry_device_get_device_id (device), body);
      if (message == NULL)
        continue;
      _ferry_engine_send_message (self, _ferry_device_get_signaling (device), _ferry_device_get_route (device), message);
      g_hash_table_add (data->asked, g_strdup (ferry_device_get_device_id (device)));
      sent++;
    }
  if (sent == 0)
    _ferry_engine_query (self, data->account);
}

/* A device of a sender some fetch waits for showed up: ask it now. */
void
_ferry_engine_fetch_device_seen (FerryEngine *self,
                                 FerryDevice *device)
{
  for (guint i = 0; i < self->fetches->len; i++)
    {
      GTask *task = g_ptr_array_index (self->fetches, i);
      FetchData *data = g_task_get_task_data (task);

      if (g_str_equal (data->account, ferry_device_get_account_id (device)) &&
          !g_hash_table_contains (data->asked, ferry_device_get_device_id (device)))
        fetch_send_requests (self, task);
    }
}

static void
fetch_resend (gpointer user_data)
{
  GTask *task = user_data;

  fetch_send_requests (g_task_get_source_object (task), task);
}

static gboolean
fetch_timeout_cb (gpointer user_data)
{
  GTask *task = user_data;
  FetchData *data = g_task_get_task_data (task);

  g_clear_pointer (&data->timeout_source, g_source_unref);
  _ferry_engine_fetch_complete (g_task_get_source_object (task), task, NULL,
                                g_error_new (FERRY_ERROR, FERRY_ERROR_TIMEOUT,
                                             _("No device of the sender offered transfer %s again"),
                                             data->id));
  return G_SOURCE_REMOVE;
}

/* On the engine's context (see _ferry_engine_task_on_cancel()). */
static gboolean
fetch_cancelled_cb (gpointer user_data)
{
  GTask *task = user_data;
  FerryEngine *self = g_task_get_source_object (task);

  if (g_ptr_array_find (self->fetches, task, NULL))
    _ferry_engine_fetch_complete (self, task, NULL,
                                  g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                       _("The fetch was cancelled")));
  return G_SOURCE_REMOVE;
}

/* Points each file of @session_files at the .part the fetch's @record
 * kept for it, or the file it verified already (same name and size, and
 * the digest it had then, to tell whether it changed since), to resume
 * from. */
void
_ferry_engine_fetch_resume_parts (JsonObject *record,
                                  GPtrArray  *session_files)
{
  JsonNode *files_node = json_object_get_member (record, "files");
  JsonArray *recorded = NULL;

  if (files_node != NULL && JSON_NODE_HOLDS_ARRAY (files_node))
    recorded = json_node_get_array (files_node);
  for (guint i = 0; session_files != NULL && recorded != NULL && i < session_files->len &&
                    i < json_array_get_length (recorded); i++)
    {
      FerrySessionFile *sf = g_ptr_array_index (session_files, i);
      JsonNode *node = json_array_get_element (recorded, i);
      JsonObject *entry;
      const char *part;
      const char *done;
      const char *digest;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;
      entry = json_node_get_object (node);
      part = json_object_get_string_member_with_default (entry, "part", NULL);
      done = json_object_get_string_member_with_default (entry, "done", NULL);
      digest = json_object_get_string_member_with_default (entry, "sha3-256", NULL);
      if ((part != NULL || done != NULL) &&
          g_strcmp0 (json_object_get_string_member_with_default (entry, "name", NULL), sf->name) == 0 &&
          json_object_get_int_member_with_default (entry, "size", -1) == (gint64) sf->size)
        {
          g_free (sf->part_name);
          sf->part_name = g_strdup (part);
          g_free (sf->done_name);
          sf->done_name = g_strdup (done);
          g_free (sf->expected_sha3);
          sf->expected_sha3 = done != NULL && _ferry_str_is_lower_hex_len (digest, 64) ? g_strdup (digest) : NULL;
        }
    }
}

/* The offer a fetch asked for arrived: accept it into the recorded
 * folder; once connected, resume from the recorded .part files. */
gboolean
_ferry_engine_fetch_arrived (FerryEngine   *self,
                             FerryIncoming *op)
{
  GTask *task = engine_find_fetch (self, op->id);
  FetchData *data = task ? g_task_get_task_data (task) : NULL;

  if (data == NULL || !g_str_equal (ferry_device_get_account_id (op->device), data->account))
    return FALSE;

  op->resume = json_object_ref (data->record);
  ferry_transfer_accept (op->transfer, data->directory);
  _ferry_engine_fetch_complete (self, task, op->transfer, NULL);
  return TRUE;
}

void
_ferry_engine_request_refused (FerryEngine   *self,
                               FerryEnvelope *envelope)
{
  const char *id = json_object_get_string_member_with_default (envelope->body, "transfer", NULL);
  const char *reason = json_object_get_string_member_with_default (envelope->body, "reason", "");
  GTask *task = id ? engine_find_fetch (self, id) : NULL;
  FetchData *data = task ? g_task_get_task_data (task) : NULL;

  if (data == NULL || !g_str_equal (envelope->from_account, data->account) ||
      !g_hash_table_contains (data->asked, envelope->from_device))
    return;
  data->refused++;
  g_debug ("device %.12s refused to send %s again: %s", envelope->from_device, id, reason);
  /* The device that sent it knows best; otherwise wait for every one. */
  if (g_strcmp0 (envelope->from_device, data->origin) == 0 ||
      data->refused >= g_hash_table_size (data->asked))
    _ferry_engine_fetch_complete (self, task, NULL,
                                  g_error_new (FERRY_ERROR, FERRY_ERROR_REJECTED,
                                        _("The sender refused to send the transfer again: %s"), reason));
}

static void
engine_refuse_request (FerryEngine *self,
                       FerryDevice *device,
                       const char  *id,
                       const char  *reason)
{
  g_autoptr(JsonObject) body = json_object_new ();
  g_autoptr(GBytes) message = NULL;

  g_debug ("refusing to send %s again to %.12s: %s", id, ferry_device_get_device_id (device), reason);
  json_object_set_string_member (body, "transfer", id);
  json_object_set_string_member (body, "reason", reason);
  message = _ferry_engine_build_message (self, "request-refused", ferry_device_get_device_id (device), body);
  if (message != NULL)
    _ferry_engine_send_message (self, _ferry_device_get_signaling (device), _ferry_device_get_route (device), message);
}

static gboolean
record_went_to (JsonObject *record,
                const char *account)
{
  JsonNode *devices = json_object_get_member (record, "devices");

  if (devices == NULL || !JSON_NODE_HOLDS_ARRAY (devices))
    return FALSE;
  for (guint i = 0; i < json_array_get_length (json_node_get_array (devices)); i++)
    {
      JsonNode *node = json_array_get_element (json_node_get_array (devices), i);

      if (JSON_NODE_HOLDS_OBJECT (node) &&
          g_strcmp0 (json_object_get_string_member_with_default (json_node_get_object (node), "account", NULL),
                     account) == 0)
        return TRUE;
    }
  return FALSE;
}

/* Checks one recorded file of a transfer asked for again: still there,
 * and unchanged (size and modification time). Returns NULL with *@reason
 * set when it cannot be sent again. */
static GFile *
request_check_file (JsonNode    *node,
                    const char **reason)
{
  JsonObject *entry = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  const char *path = entry ? json_object_get_string_member_with_default (entry, "path", NULL) : NULL;
  g_autoptr(GFile) file = NULL;
  g_autoptr(GFileInfo) info = NULL;
  gint64 mtime;

  if (path == NULL)
    {
      *reason = "a file of the transfer is unknown";
      return NULL;
    }
  file = g_file_new_for_path (path);
  info = g_file_query_info (file,
                            G_FILE_ATTRIBUTE_STANDARD_TYPE ","
                            G_FILE_ATTRIBUTE_STANDARD_SIZE ","
                            G_FILE_ATTRIBUTE_TIME_MODIFIED ","
                            G_FILE_ATTRIBUTE_TIME_MODIFIED_USEC,
                            G_FILE_QUERY_INFO_NONE, NULL, NULL);
  if (info == NULL || g_file_info_get_file_type (info) != G_FILE_TYPE_REGULAR)
    {
      *reason = "a file of the transfer is gone";
      return NULL;
    }
  mtime = (gint64) g_file_info_get_attribute_uint64 (info, G_FILE_ATTRIBUTE_TIME_MODIFIED) * G_USEC_PER_SEC +
          g_file_info_get_attribute_uint32 (info, G_FILE_ATTRIBUTE_TIME_MODIFIED_USEC);
  if (g_file_info_get_size (info) != json_object_get_int_member_with_default (entry, "size", -1) ||
      mtime != json_object_get_int_member_with_default (entry, "mtime", -1))
    {
      *reason = "a file of the transfer changed since";
      return NULL;
    }
  return g_steal_pointer (&file);
}

/* The files of @record (GFile) and the re-send description (what it
 * re-sends, under which id, with which hashes), or NULL with *@reason set
 * when the transfer cannot be sent again to @account. */
static JsonObject *
request_prepare (JsonObject  *record,
                 const char  *id,
                 const char  *account,
                 GPtrArray   *files,
                 const char **reason)
{
  g_autoptr(JsonObject) resend = NULL;
  JsonNode *files_node = json_object_get_member (record, "files");
  JsonArray *list;
  JsonArray *expected;
  const char *last_root = NULL;

  if (!record_went_to (record, account))
    {
      *reason = "the transfer was not sent to this account";
      return NULL;
    }
  if (files_node == NULL || !JSON_NODE_HOLDS_ARRAY (files_node) ||
      json_array_get_length (json_node_get_array (files_node)) == 0)
    {
      *reason = "the record holds no file";
      return NULL;
    }
  list = json_node_get_array (files_node);
  expected = json_array_new ();
  resend = json_object_new ();
  json_object_set_string_member (resend, "of", json_object_get_string_member (record, "id"));
  json_object_set_string_member (resend, "transfer", id);
  json_object_set_array_member (resend, "expected", expected);
  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      JsonNode *node = json_array_get_element (list, i);
      GFile *file = request_check_file (node, reason);
      const char *root;

      if (file == NULL)
        return NULL;
      json_array_add_string_element (expected,
                                     json_object_get_string_member_with_default (json_node_get_object (node),
                                                                                 "sha3-256", ""));
      /* a file of a folder: the folder is sent again, walked as before */
      root = json_object_get_string_member_with_default (json_node_get_object (node), "root", NULL);
      if (root != NULL)
        {
          g_object_unref (file);
          if (g_strcmp0 (root, last_root) == 0)
            continue;
          file = g_file_new_for_path (root);
        }
      last_root = root;
      g_ptr_array_add (files, file);
    }
  return g_steal_pointer (&resend);
}

/* A request for @id that is a late duplicate: the transfer was re-sent
 * a moment ago. */
static gboolean
request_is_late_duplicate (FerryEngine *self,
                           const char  *id)
{
  gint64 *when = g_hash_table_lookup (self->resent, id);

  return when != NULL && g_get_monotonic_time () - *when < FERRY_REQUEST_QUIET_US;
}

typedef struct {
  char        *home;
  char        *id;
  char        *account;
  FerryDevice *device;
  /* results */
  JsonObject  *resend;
  GPtrArray   *files;      /* GFile */
  const char  *reason;     /* static */
} RequestData;

static void
request_data_free (RequestData *data)
{
  g_free (data->home);
  g_free (data->id);
  g_free (data->account);
  g_clear_object (&data->device);
  g_clear_pointer (&data->resend, json_object_unref);
  g_clear_pointer (&data->files, g_ptr_array_unref);
  g_free (data);
}

/* Off the engine's context: the record (found through the history's
 * index, not by reading every record) and each of its files. */
static void
request_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  RequestData *data = task_data;
  g_autoptr(JsonObject) record = _ferry_history_find_sent (data->home, data->id);

  if (record == NULL)
    data->reason = "unknown transfer";
  else
    data->resend = request_prepare (record, data->id, data->account, data->files, &data->reason);
  g_task_return_boolean (task, TRUE);
}

static void
request_checked_cb (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  FerryEngine *self = FERRY_ENGINE (source);
  RequestData *data = g_task_get_task_data (G_TASK (result));
  g_autoptr(GPtrArray) devices = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(FerryTransfer) transfer = NULL;
  g_autoptr(GError) error = NULL;
  gint64 *when;

  if (!self->started || g_hash_table_contains (self->outgoing, data->id) ||
      request_is_late_duplicate (self, data->id))
    return;
  if (data->resend == NULL)
    {
      engine_refuse_request (self, data->device, data->id, data->reason);
      return;
    }

  g_ptr_array_add (devices, g_object_ref (data->device));
  transfer = _ferry_engine_send_devices (self, devices, NULL, (GFile **) data->files->pdata, data->files->len,
                                         data->resend, &error);
  if (transfer == NULL)
    {
      engine_refuse_request (self, data->device, data->id, error->message);
      return;
    }
  /* Only recent re-sends matter: forget the others. */
  {
    GHashTableIter iter;
    gpointer value;

    g_hash_table_iter_init (&iter, self->resent);
    while (g_hash_table_iter_next (&iter, NULL, &value))
      if (g_get_monotonic_time () - *(gint64 *) value >= FERRY_REQUEST_QUIET_US)
        g_hash_table_iter_remove (&iter);
  }
  when = g_new (gint64, 1);
  *when = g_get_monotonic_time ();
  g_hash_table_replace (self->resent, g_strdup (data->id), when);
  g_debug ("sending %s again to %.12s", data->id, ferry_device_get_device_id (data->device));
}

void
_ferry_engine_request_received (FerryEngine    *self,
                                FerryEnvelope  *envelope,
                                FerrySignaling *signaling,
                                const char     *route)
{
  const char *id = json_object_get_string_member_with_default (envelope->body, "transfer", NULL);
  g_autoptr(GTask) task = NULL;
  RequestData *data;
  FerryDevice *device;

  if (!_ferry_transfer_id_is_valid (id))
    {
      self->dropped_messages++;
      g_debug ("malformed request dropped");
      return;
    }
  device = _ferry_engine_remember_device (self, envelope, signaling, route);
  if (device == NULL)
    return;
  if (g_hash_table_contains (self->outgoing, id))
    return; /* being sent right now */
  if (request_is_late_duplicate (self, id))
    return;

  data = g_new0 (RequestData, 1);
  data->home = g_strdup (self->home);
  data->id = g_strdup (id);
  data->account = g_strdup (envelope->from_account);
  data->device = g_object_ref (device);
  data->files = g_ptr_array_new_with_free_func (g_object_unref);
  /* The answer comes back on the engine's context. */
  g_main_context_push_thread_default (self->context);
  task = g_task_new (self, NULL, request_checked_cb, NULL);
  g_main_context_pop_thread_default (self->context);
  g_task_set_source_tag (task, _ferry_engine_request_received);
  g_task_set_task_data (task, data, (GDestroyNotify) request_data_free);
  g_task_run_in_thread (task, request_thread);
}

/**
 * ferry_engine_fetch_async:
 * @self: a started #FerryEngine
 * @transfer_id: the id of a transfer this device received, or began to
 *   receive, as recorded in [method@Ferry.Engine.get_history]
 * @timeout_ms: how long to wait for the sender to offer it again
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the result
 * @user_data: data for @callback
 *
 * Asks the sender's devices for a past transfer again. A sender that
 * still has every file unchanged offers it again; this device accepts it
 * into the folder it was saved to, resuming every file from the `.part`
 * an interrupted attempt kept (its bytes are hashed too: the whole file's
 * SHA3-256 is verified, and on a mismatch the `.part` is discarded and the
 * transfer fails with %FERRY_ERROR_HASH_MISMATCH; fetch again to receive
 * it whole). A file it verified earlier is not received again, unless it
 * changed since: then it is received whole under a new name ("name (1)"),
 * and the changed one stays as it is.
 */
void
ferry_engine_fetch_async (FerryEngine         *self,
                          const char          *transfer_id,
                          guint                timeout_ms,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(JsonObject) record = NULL;
  g_autoptr(GError) error = NULL;
  JsonNode *device_node;
  const char *directory;
  FetchData *data;

  g_return_if_fail (FERRY_IS_ENGINE (self));
  g_return_if_fail (transfer_id != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, ferry_engine_fetch_async);

  if (!self->started)
    {
      g_task_return_new_error (task, FERRY_ERROR, FERRY_ERROR_FAILED, _("The engine is not started"));
      return;
    }
  record = _ferry_history_load (self->home, transfer_id, &error);
  if (record == NULL)
    {
      if (error != NULL)
        g_task_return_error (task, g_steal_pointer (&error));
      else
        g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                                 _("No transfer %s in the history"), transfer_id);
      return;
    }
  device_node = json_object_get_member (record, "device");
  directory = json_object_get_string_member_with_default (record, "directory", NULL);
  if (!g_str_equal (json_object_get_string_member_with_default (record, "direction", ""), "incoming") ||
      device_node == NULL || !JSON_NODE_HOLDS_OBJECT (device_node) ||
      json_object_get_string_member_with_default (json_node_get_object (device_node), "account", NULL) == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                               _("Transfer %s was not received by this device"), transfer_id);
      return;
    }
  if (directory == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                               _("Transfer %s was never accepted: nowhere to save it"), transfer_id);
      return;
    }
  if (engine_find_fetch (self, transfer_id) != NULL || g_hash_table_contains (self->incoming, transfer_id))
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_BUSY,
                               _("Transfer %s is already being fetched"), transfer_id);
      return;
    }

  data = g_new0 (FetchData, 1);
  data->id = g_strdup (json_object_get_string_member (record, "id"));
  data->account = g_strdup (json_object_get_string_member (json_node_get_object (device_node), "account"));
  data->origin = g_strdup (json_object_get_string_member_with_default (json_node_get_object (device_node),
                                                                       "device", NULL));
  data->directory = g_file_new_for_path (directory);
  data->record = g_steal_pointer (&record);
  data->asked = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_task_set_task_data (task, data, (GDestroyNotify) fetch_data_free);

  g_ptr_array_add (self->fetches, g_object_ref (task));
  fetch_send_requests (self, task);
  data->requests = _ferry_retry_new (self, FERRY_RETRY_REQUEST, fetch_resend, task, NULL);
  data->timeout_source = _ferry_engine_timeout_add (self, timeout_ms, fetch_timeout_cb, task);
  data->cancel_id = _ferry_engine_task_on_cancel (self, task, fetch_cancelled_cb);
}

FerryTransfer *
ferry_engine_fetch_finish (FerryEngine   *self,
                           GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (FERRY_IS_ENGINE (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
