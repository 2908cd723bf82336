/* ferry-history-record.c: one transfer of the history, as an object, and
 * listing the history without blocking
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ferry-engine.h"
#include "ferry-enum-types.h"
#include "ferry-history-private.h"
#include "ferry-history-record.h"
#include "ferry-transfer-private.h"

/**
 * FerryHistoryRecord:
 *
 * One transfer as the history under the home directory keeps it: what was
 * sent or received, with whom, how it ended and through which chain. See
 * ferry_engine_list_history_async().
 */
struct _FerryHistoryRecord
{
  GObject                 parent_instance;

  char                   *id;
  FerryTransferDirection  direction;
  FerryTransferState      state;
  char                   *error_message;
  GDateTime              *created;
  char                   *peer_account_id;
  char                   *peer_name;
  char                   *chain;
  guint64                 bytes;
  guint64                 total_size;
  GListStore             *files;
};

G_DEFINE_FINAL_TYPE (FerryHistoryRecord, ferry_history_record, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_ID,
  PROP_DIRECTION,
  PROP_STATE,
  PROP_ERROR_MESSAGE,
  PROP_CREATED,
  PROP_PEER_ACCOUNT_ID,
  PROP_PEER_NAME,
  PROP_CHAIN,
  PROP_BYTES,
  PROP_TOTAL_SIZE,
  PROP_FILES,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

static void
ferry_history_record_finalize (GObject *object)
{
  FerryHistoryRecord *self = FERRY_HISTORY_RECORD (object);

  g_free (self->id);
  g_free (self->error_message);
  g_clear_pointer (&self->created, g_date_time_unref);
  g_free (self->peer_account_id);
  g_free (self->peer_name);
  g_free (self->chain);
  g_clear_object (&self->files);

  G_OBJECT_CLASS (ferry_history_record_parent_class)->finalize (object);
}

static void
ferry_history_record_get_property (GObject    *object,
                                   guint       prop_id,
                                   GValue     *value,
                                   GParamSpec *pspec)
{
  FerryHistoryRecord *self = FERRY_HISTORY_RECORD (object);

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
    case PROP_ERROR_MESSAGE:
      g_value_set_string (value, self->error_message);
      break;
    case PROP_CREATED:
      g_value_set_boxed (value, self->created);
      break;
    case PROP_PEER_ACCOUNT_ID:
      g_value_set_string (value, self->peer_account_id);
      break;
    case PROP_PEER_NAME:
      g_value_set_string (value, self->peer_name);
      break;
    case PROP_CHAIN:
      g_value_set_string (value, self->chain);
      break;
    case PROP_BYTES:
      g_value_set_uint64 (value, self->bytes);
      break;
    case PROP_TOTAL_SIZE:
      g_value_set_uint64 (value, self->total_size);
      break;
    case PROP_FILES:
      g_value_set_object (value, self->files);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

#define R (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)

static void
ferry_history_record_class_init (FerryHistoryRecordClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = ferry_history_record_finalize;
  object_class->get_property = ferry_history_record_get_property;

  /**
   * FerryHistoryRecord:id:
   *
   * The transfer id.
   */
  props[PROP_ID] = g_param_spec_string ("id", NULL, NULL, NULL, R);
  /**
   * FerryHistoryRecord:direction:
   *
   * Whether this device sent or received.
   */
  props[PROP_DIRECTION] = g_param_spec_enum ("direction", NULL, NULL, FERRY_TYPE_TRANSFER_DIRECTION,
                                             FERRY_TRANSFER_DIRECTION_OUTGOING, R);
  /**
   * FerryHistoryRecord:state:
   *
   * The last state recorded.
   */
  props[PROP_STATE] = g_param_spec_enum ("state", NULL, NULL, FERRY_TYPE_TRANSFER_STATE,
                                         FERRY_TRANSFER_STATE_CREATED, R);
  /**
   * FerryHistoryRecord:error-message:
   *
   * Why the transfer did not finish, or %NULL. It may quote the peer.
   */
  props[PROP_ERROR_MESSAGE] = g_param_spec_string ("error-message", NULL, NULL, NULL, R);
  /**
   * FerryHistoryRecord:created:
   *
   * When the transfer began, in local time.
   */
  props[PROP_CREATED] = g_param_spec_boxed ("created", NULL, NULL, G_TYPE_DATE_TIME, R);
  /**
   * FerryHistoryRecord:peer-account-id:
   *
   * The account of the other side, or %NULL when unknown.
   */
  props[PROP_PEER_ACCOUNT_ID] = g_param_spec_string ("peer-account-id", NULL, NULL, NULL, R);
  /**
   * FerryHistoryRecord:peer-name:
   *
   * The name the other side announced, or %NULL.
   */
  props[PROP_PEER_NAME] = g_param_spec_string ("peer-name", NULL, NULL, NULL, R);
  /**
   * FerryHistoryRecord:chain:
   *
   * The display string of the chain that carried it, or %NULL.
   */
  props[PROP_CHAIN] = g_param_spec_string ("chain", NULL, NULL, NULL, R);
  /**
   * FerryHistoryRecord:bytes:
   *
   * How many bytes of file data went through.
   */
  props[PROP_BYTES] = g_param_spec_uint64 ("bytes", NULL, NULL, 0, G_MAXUINT64, 0, R);
  /**
   * FerryHistoryRecord:total-size:
   *
   * The size of all the files.
   */
  props[PROP_TOTAL_SIZE] = g_param_spec_uint64 ("total-size", NULL, NULL, 0, G_MAXUINT64, 0, R);
  /**
   * FerryHistoryRecord:files:
   *
   * The files, a #GListModel of #FerryTransferFile (with where each was
   * read from or saved to, when known).
   */
  props[PROP_FILES] = g_param_spec_object ("files", NULL, NULL, G_TYPE_LIST_MODEL, R);

  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
ferry_history_record_init (FerryHistoryRecord *self)
{
  self->files = g_list_store_new (FERRY_TYPE_TRANSFER_FILE);
}

static JsonObject *
member_object (JsonObject *object,
               const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

static char *
member_string (JsonObject *object,
               const char *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  if (node == NULL || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return g_strdup (json_node_get_string (node));
}

static guint64
member_size (JsonObject *object,
             const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || json_node_get_value_type (node) != G_TYPE_INT64)
    return 0;
  return (guint64) MAX (json_node_get_int (node), 0);
}

static int
enum_from_nick (GType       type,
                const char *nick,
                int         fallback)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (type);
  GEnumValue *value = nick != NULL ? g_enum_get_value_by_nick (klass, nick) : NULL;

  return value != NULL ? value->value : fallback;
}

static void
record_add_files (FerryHistoryRecord *self,
                  JsonObject         *record)
{
  JsonNode *node = json_object_get_member (record, "files");
  JsonArray *files;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return;
  files = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (files); i++)
    {
      JsonNode *item = json_array_get_element (files, i);
      JsonObject *entry = JSON_NODE_HOLDS_OBJECT (item) ? json_node_get_object (item) : NULL;
      g_autofree char *name = NULL, *mime = NULL, *path = NULL, *sha3 = NULL;
      g_autoptr(GFile) file = NULL;
      g_autoptr(FerryTransferFile) one = NULL;

      if (entry == NULL || (name = member_string (entry, "name")) == NULL)
        continue;
      mime = member_string (entry, "mime");
      path = member_string (entry, "path");
      sha3 = member_string (entry, "sha3-256");
      if (path != NULL)
        file = g_file_new_for_path (path);
      one = _ferry_transfer_file_new (name, member_size (entry, "size"), mime, file);
      if (sha3 != NULL)
        _ferry_transfer_file_set_sha3_256 (one, sha3);
      g_list_store_append (self->files, one);
    }
}

static FerryHistoryRecord *
record_new (JsonObject *record)
{
  FerryHistoryRecord *self = g_object_new (FERRY_TYPE_HISTORY_RECORD, NULL);
  JsonObject *peer = member_object (record, "peer");
  JsonObject *failure = member_object (record, "error");
  g_autofree char *direction = member_string (record, "direction");
  g_autofree char *state = member_string (record, "state");
  JsonNode *created = json_object_get_member (record, "created");

  self->id = member_string (record, "id");
  self->direction = g_strcmp0 (direction, "incoming") == 0 ? FERRY_TRANSFER_DIRECTION_INCOMING
                                                           : FERRY_TRANSFER_DIRECTION_OUTGOING;
  self->state = enum_from_nick (FERRY_TYPE_TRANSFER_STATE, state, FERRY_TRANSFER_STATE_ERROR);
  self->error_message = member_string (failure, "message");
  if (created != NULL && json_node_get_value_type (created) == G_TYPE_INT64)
    {
      g_autoptr(GDateTime) seconds = g_date_time_new_from_unix_local (json_node_get_int (created) / 1000);

      if (seconds != NULL)
        self->created = g_date_time_add (seconds, (json_node_get_int (created) % 1000) * 1000);
    }
  self->peer_account_id = member_string (peer, "account");
  self->peer_name = member_string (peer, "name");
  self->chain = member_string (record, "chain");
  self->bytes = member_size (record, "bytes");
  self->total_size = member_size (record, "total");
  record_add_files (self, record);
  return self;
}

static void
list_history_thread (GTask        *task,
                     gpointer      source_object,
                     gpointer      task_data,
                     GCancellable *cancellable)
{
  g_autoptr(JsonArray) records = _ferry_history_list (task_data);
  g_autoptr(GListStore) store = g_list_store_new (FERRY_TYPE_HISTORY_RECORD);

  for (guint i = 0; i < json_array_get_length (records); i++)
    {
      g_autoptr(FerryHistoryRecord) record =
        record_new (json_array_get_object_element (records, i));

      if (g_cancellable_is_cancelled (cancellable))
        break;
      g_list_store_append (store, record);
    }
  if (!g_task_return_error_if_cancelled (task))
    g_task_return_pointer (task, g_steal_pointer (&store), g_object_unref);
}

/**
 * ferry_engine_list_history_async:
 * @self: a #FerryEngine
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the history
 * @user_data: data for @callback
 *
 * Reads the history under the home directory on a worker thread, newest
 * first, as [class@Ferry.HistoryRecord] objects. @callback runs on the
 * thread-default main context of the caller.
 */
void
ferry_engine_list_history_async (FerryEngine         *self,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (FERRY_IS_ENGINE (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, ferry_engine_list_history_async);
  g_task_set_task_data (task, g_strdup (ferry_engine_get_home (self)), g_free);
  g_task_run_in_thread (task, list_history_thread);
}

/**
 * ferry_engine_list_history_finish:
 * @self: a #FerryEngine
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes an operation started with ferry_engine_list_history_async().
 *
 * Returns: (transfer full): a #GListModel of #FerryHistoryRecord, newest
 *   first, or %NULL with %G_IO_ERROR_CANCELLED
 */
GListModel *
ferry_engine_list_history_finish (FerryEngine   *self,
                                  GAsyncResult  *result,
                                  GError       **error)
{
  g_return_val_if_fail (FERRY_IS_ENGINE (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * ferry_history_record_get_id:
 * @self: a #FerryHistoryRecord
 *
 * Gets the transfer id, as ferry_engine_fetch_async() takes it.
 *
 * Returns: the transfer id
 */
const char *
ferry_history_record_get_id (FerryHistoryRecord *self)
{
  g_return_val_if_fail (FERRY_IS_HISTORY_RECORD (self), NULL);
  return self->id;
}

/**
 * ferry_history_record_get_direction:
 * @self: a #FerryHistoryRecord
 *
 * Gets whether this device sent or received.
 *
 * Returns: the direction
 */
FerryTransferDirection
ferry_history_record_get_direction (FerryHistoryRecord *self)
{
  g_return_val_if_fail (FERRY_IS_HISTORY_RECORD (self), FERRY_TRANSFER_DIRECTION_OUTGOING);
  return self->direction;
}

/**
 * ferry_history_record_get_state:
 * @self: a #FerryHistoryRecord
 *
 * Gets the last state recorded.
 *
 * Returns: the state
 */
FerryTransferState
ferry_history_record_get_state (FerryHistoryRecord *self)
{
  g_return_val_if_fail (FERRY_IS_HISTORY_RECORD (self), FERRY_TRANSFER_STATE_ERROR);
  return self->state;
}

/**
 * ferry_history_record_get_error_message:
 * @self: a #FerryHistoryRecord
 *
 * Gets why the transfer did not finish. It may quote the peer: escape it
 * before showing it in a terminal.
 *
 * Returns: (nullable): the message, or %NULL
 */
const char *
ferry_history_record_get_error_message (FerryHistoryRecord *self)
{
  g_return_val_if_fail (FERRY_IS_HISTORY_RECORD (self), NULL);
  return self->error_message;
}

/**
 * ferry_history_record_get_created:
 * @self: a #FerryHistoryRecord
 *
 * Gets when the transfer began.
 *
 * Returns: (transfer none) (nullable): the local time it began
 */
GDateTime *
ferry_history_record_get_created (FerryHistoryRecord *self)
{
  g_return_val_if_fail (FERRY_IS_HISTORY_RECORD (self), NULL);
  return self->created;
}

/**
 * ferry_history_record_get_peer_account_id:
 * @self: a #FerryHistoryRecord
 *
 * Gets the account of the other side.
 *
 * Returns: (nullable): the account id, or %NULL when unknown
 */
const char *
ferry_history_record_get_peer_account_id (FerryHistoryRecord *self)
{
  g_return_val_if_fail (FERRY_IS_HISTORY_RECORD (self), NULL);
  return self->peer_account_id;
}

/**
 * ferry_history_record_get_peer_name:
 * @self: a #FerryHistoryRecord
 *
 * Gets the name the other side announced.
 *
 * Returns: (nullable): the name, or %NULL when unknown
 */
const char *
ferry_history_record_get_peer_name (FerryHistoryRecord *self)
{
  g_return_val_if_fail (FERRY_IS_HISTORY_RECORD (self), NULL);
  return self->peer_name;
}

/**
 * ferry_history_record_get_chain:
 * @self: a #FerryHistoryRecord
 *
 * Gets the display string of the chain that carried the transfer.
 *
 * Returns: (nullable): the chain, or %NULL when it never connected
 */
const char *
ferry_history_record_get_chain (FerryHistoryRecord *self)
{
  g_return_val_if_fail (FERRY_IS_HISTORY_RECORD (self), NULL);
  return self->chain;
}

/**
 * ferry_history_record_get_bytes:
 * @self: a #FerryHistoryRecord
 *
 * Gets how many bytes of file data went through.
 *
 * Returns: the bytes
 */
guint64
ferry_history_record_get_bytes (FerryHistoryRecord *self)
{
  g_return_val_if_fail (FERRY_IS_HISTORY_RECORD (self), 0);
  return self->bytes;
}

/**
 * ferry_history_record_get_total_size:
 * @self: a #FerryHistoryRecord
 *
 * Gets the size of all the files.
 *
 * Returns: the total size in bytes
 */
guint64
ferry_history_record_get_total_size (FerryHistoryRecord *self)
{
  g_return_val_if_fail (FERRY_IS_HISTORY_RECORD (self), 0);
  return self->total_size;
}

/**
 * ferry_history_record_get_files:
 * @self: a #FerryHistoryRecord
 *
 * Gets the files of the transfer.
 *
 * Returns: (transfer none): a #GListModel of #FerryTransferFile
 */
GListModel *
ferry_history_record_get_files (FerryHistoryRecord *self)
{
  g_return_val_if_fail (FERRY_IS_HISTORY_RECORD (self), NULL);
  return G_LIST_MODEL (self->files);
}
