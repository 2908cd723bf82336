/* ferry-engine-history.c: the history record of each transfer
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "ferry-engine-private.h"

/* ---------------------------------------------------------------- history */

/* What the history needs beyond the transfer object itself: see
 * ferry-history-private.h for the record. */
typedef struct {
  FerryTransfer *transfer;
  JsonObject    *base;     /* created, directory, resend-of, extras[], moved{} */
} HistoryEntry;

void
_ferry_engine_history_entry_free (gpointer data)
{
  HistoryEntry *entry = data;

  g_object_unref (entry->transfer);
  json_object_unref (entry->base);
  g_free (entry);
}

/* The "folders" of @record (ferry-history-private.h), or none. */
static JsonArray *
history_folders_copy (JsonObject *record)
{
  JsonNode *node = json_object_get_member (record, "folders");
  JsonArray *copy = json_array_new ();

  for (guint i = 0; node != NULL && JSON_NODE_HOLDS_ARRAY (node) &&
                    i < json_array_get_length (json_node_get_array (node)); i++)
    {
      JsonNode *element = json_array_get_element (json_node_get_array (node), i);

      if (JSON_NODE_HOLDS_VALUE (element) && json_node_get_value_type (element) == G_TYPE_STRING)
        json_array_add_string_element (copy, json_node_get_string (element));
    }
  return copy;
}

/* Notes in @base the top-level folders the receiver created, as the
 * names of its .part and verified files in them show ("album (1)/sub/
 * a.bin.part"): what the history's upkeep may remove once they are
 * left empty. */
static void
history_note_folders (JsonObject *base)
{
  JsonArray *extras = json_object_get_array_member (base, "extras");
  JsonArray *folders = json_object_get_array_member (base, "folders");
  const char *members[] = { "part", "done" };

  for (guint i = 0; i < json_array_get_length (extras); i++)
    for (guint m = 0; m < G_N_ELEMENTS (members); m++)
      {
        const char *name = json_object_get_string_member_with_default (json_array_get_object_element (extras, i),
                                                                       members[m], NULL);
        const char *slash = name ? strchr (name, '/') : NULL;
        g_autofree char *top = slash ? g_strndup (name, slash - name) : NULL;
        gboolean known = FALSE;

        for (guint j = 0; top != NULL && !known && j < json_array_get_length (folders); j++)
          known = g_str_equal (json_array_get_string_element (folders, j), top);
        if (top != NULL && !known)
          json_array_add_string_element (folders, top);
      }
}

JsonObject *
_ferry_engine_history_base (FerryEngine   *self,
                            FerryTransfer *transfer)
{
  const char *id = ferry_transfer_get_id (transfer);
  HistoryEntry *entry = g_hash_table_lookup (self->history, id);

  if (entry == NULL)
    {
      g_autoptr(JsonObject) previous = _ferry_history_load (self->home, id, NULL);
      guint n = g_list_model_get_n_items (ferry_transfer_get_files (transfer));
      JsonArray *extras = json_array_new ();

      entry = g_new0 (HistoryEntry, 1);
      entry->transfer = g_object_ref (transfer);
      entry->base = json_object_new ();
      json_object_set_int_member (entry->base, "created",
                                  previous ? json_object_get_int_member_with_default (previous, "created", 0)
                                           : g_get_real_time () / 1000);
      for (guint i = 0; i < n; i++)
        json_array_add_object_element (extras, json_object_new ());
      json_object_set_array_member (entry->base, "extras", extras);
      /* An earlier attempt of the same transfer (a fetch): keep what it
       * left behind until this attempt knows better. */
      if (previous != NULL &&
          json_object_get_string_member_with_default (previous, "directory", NULL) != NULL)
        json_object_set_string_member (entry->base, "directory",
                                       json_object_get_string_member (previous, "directory"));
      if (previous != NULL && json_object_get_member (previous, "files") != NULL &&
          JSON_NODE_HOLDS_ARRAY (json_object_get_member (previous, "files")))
        {
          JsonArray *old = json_object_get_array_member (previous, "files");

          for (guint i = 0; i < n && i < json_array_get_length (old); i++)
            {
              JsonNode *node = json_array_get_element (old, i);
              JsonObject *extra = json_array_get_object_element (extras, i);
              const char *part;

              if (!JSON_NODE_HOLDS_OBJECT (node))
                continue;
              part = json_object_get_string_member_with_default (json_node_get_object (node), "part", NULL);
              if (part != NULL)
                {
                  json_object_set_string_member (extra, "part", part);
                  json_object_set_int_member (extra, "part-bytes",
                                              json_object_get_int_member_with_default (json_node_get_object (node),
                                                                                       "part-bytes", 0));
                }
            }
        }
      json_object_set_object_member (entry->base, "moved", json_object_new ());
      json_object_set_array_member (entry->base, "folders",
                                    previous ? history_folders_copy (previous) : json_array_new ());
      g_hash_table_insert (self->history, g_strdup (id), entry);
    }
  return entry->base;
}

JsonObject *
_ferry_engine_history_extra (JsonObject *base,
                             guint       index)
{
  JsonArray *extras = json_object_get_array_member (base, "extras");

  return index < json_array_get_length (extras) ? json_array_get_object_element (extras, index) : NULL;
}

static const char *
enum_nick (GType type,
           gint  value)
{
  GEnumClass *klass = g_type_class_ref (type);
  GEnumValue *enum_value = g_enum_get_value (klass, value);
  const char *nick = enum_value ? enum_value->value_nick : "unknown";

  /* Static enum types: the nick stays valid after the unref. */
  g_type_class_unref (klass);
  return nick;
}

static JsonObject *
history_error (const GError *error)
{
  JsonObject *object = json_object_new ();
  const char *code = "failed";

  if (error->domain == FERRY_ERROR)
    code = enum_nick (FERRY_TYPE_ERROR, error->code);
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    code = "cancelled";
  json_object_set_string_member (object, "code", code);
  json_object_set_string_member (object, "message", error->message);
  return object;
}

static JsonObject *
history_device (FerryDevice *device)
{
  JsonObject *object = json_object_new ();

  json_object_set_string_member (object, "device", ferry_device_get_device_id (device));
  json_object_set_string_member (object, "account", ferry_device_get_account_id (device));
  json_object_set_string_member (object, "name", ferry_device_get_name (device));
  return object;
}

static JsonObject *
history_peer (FerryEngine *self,
              FerryDevice *device)
{
  JsonObject *peer = json_object_new ();

  if (device != NULL)
    {
      FerryPeer *known = g_hash_table_lookup (self->peers_by_account, ferry_device_get_account_id (device));

      json_object_set_string_member (peer, "account", ferry_device_get_account_id (device));
      json_object_set_string_member (peer, "name", known && ferry_peer_get_name (known)
                                                   ? ferry_peer_get_name (known)
                                                   : ferry_device_get_name (device));
    }
  return peer;
}

/* The error of a transfer that ended without finishing, or NULL. */
static JsonObject *
history_failure (FerryTransfer *transfer)
{
  if (ferry_transfer_get_error (transfer) != NULL && ferry_transfer_is_done (transfer) &&
      ferry_transfer_get_state (transfer) != FERRY_TRANSFER_STATE_FINISHED)
    return history_error (ferry_transfer_get_error (transfer));
  return NULL;
}

/* One entry per file: what the transfer object knows, then the extras
 * (source path and mtime, .part) the engine keeps for it. */
static JsonArray *
history_files (FerryTransfer *transfer,
               JsonObject    *base)
{
  GListModel *files = ferry_transfer_get_files (transfer);
  JsonArray *list = json_array_new ();

  for (guint i = 0; i < g_list_model_get_n_items (files); i++)
    {
      g_autoptr(FerryTransferFile) file = g_list_model_get_item (files, i);
      JsonObject *entry = json_object_new ();
      JsonObject *extra = _ferry_engine_history_extra (base, i);

      json_object_set_string_member (entry, "name", ferry_transfer_file_get_name (file));
      json_object_set_int_member (entry, "size", (gint64) ferry_transfer_file_get_size (file));
      json_object_set_string_member (entry, "mime", ferry_transfer_file_get_mime_type (file));
      if (ferry_transfer_file_get_sha3_256 (file) != NULL)
        json_object_set_string_member (entry, "sha3-256", ferry_transfer_file_get_sha3_256 (file));
      if (ferry_transfer_file_get_file (file) != NULL)
        {
          g_autofree char *path = g_file_get_path (ferry_transfer_file_get_file (file));

          if (path != NULL)
            json_object_set_string_member (entry, "path", path);
        }
      if (extra != NULL)
        {
          g_autoptr(GList) members = json_object_get_members (extra);

          for (GList *l = members; l != NULL; l = l->next)
            if (!json_object_has_member (entry, l->data))
              json_object_set_member (entry, l->data, json_node_copy (json_object_get_member (extra, l->data)));
        }
      json_array_add_object_element (list, entry);
    }
  return list;
}

/* One entry per sub-transfer of an outgoing aggregate; adds the bytes
 * each one moved to *@moved_total. */
static JsonArray *
history_devices (FerryTransfer *transfer,
                 JsonObject    *moved,
                 guint64       *moved_total)
{
  GListModel *subs = ferry_transfer_get_sub_transfers (transfer);
  JsonArray *list = json_array_new ();

  for (guint i = 0; i < g_list_model_get_n_items (subs); i++)
    {
      g_autoptr(FerryTransfer) sub = g_list_model_get_item (subs, i);
      JsonObject *entry = history_device (ferry_transfer_get_device (sub));
      gint64 sub_moved = json_object_get_int_member_with_default (moved, ferry_transfer_get_id (sub), 0);
      JsonObject *failure = history_failure (sub);

      json_object_set_string_member (entry, "transfer", ferry_transfer_get_id (sub));
      json_object_set_string_member (entry, "state",
                                     enum_nick (FERRY_TYPE_TRANSFER_STATE, ferry_transfer_get_state (sub)));
      json_object_set_int_member (entry, "bytes", (gint64) ferry_transfer_get_bytes (sub));
      json_object_set_int_member (entry, "moved", sub_moved);
      if (failure != NULL)
        json_object_set_object_member (entry, "error", failure);
      *moved_total += sub_moved;
      json_array_add_object_element (list, entry);
    }
  return list;
}

/* Forgets the history entry of @transfer once nothing will change any
 * more. */
static void
history_forget_if_done (FerryEngine   *self,
                        FerryTransfer *transfer)
{
  GListModel *subs = ferry_transfer_get_sub_transfers (transfer);

  if (!ferry_transfer_is_done (transfer))
    return;
  for (guint i = 0; i < g_list_model_get_n_items (subs); i++)
    {
      g_autoptr(FerryTransfer) sub = g_list_model_get_item (subs, i);

      if (!ferry_transfer_is_done (sub))
        return;
    }
  g_hash_table_remove (self->history, ferry_transfer_get_id (transfer));
}

/* Writes the record of @transfer (an outgoing aggregate or an incoming
 * transfer) as it is now. */
void
_ferry_engine_history_write (FerryEngine   *self,
                             FerryTransfer *transfer)
{
  JsonObject *base = _ferry_engine_history_base (self, transfer);
  g_autoptr(JsonObject) record = json_object_new ();
  g_autoptr(GError) error = NULL;
  FerryDevice *device = ferry_transfer_get_device (transfer);
  gboolean incoming = ferry_transfer_get_direction (transfer) == FERRY_TRANSFER_DIRECTION_INCOMING;
  JsonObject *moved = json_object_get_object_member (base, "moved");
  JsonObject *failure = history_failure (transfer);
  guint64 moved_total = 0;

  json_object_set_string_member (record, "id", ferry_transfer_get_id (transfer));
  json_object_set_string_member (record, "direction", incoming ? "incoming" : "outgoing");
  json_object_set_int_member (record, "created", json_object_get_int_member (base, "created"));
  json_object_set_string_member (record, "state",
                                 enum_nick (FERRY_TYPE_TRANSFER_STATE, ferry_transfer_get_state (transfer)));
  if (failure != NULL)
    json_object_set_object_member (record, "error", failure);
  json_object_set_object_member (record, "peer", history_peer (self, device));
  if (ferry_transfer_get_chain (transfer) != NULL)
    json_object_set_string_member (record, "chain", ferry_transfer_get_chain (transfer));
  json_object_set_int_member (record, "bytes", (gint64) ferry_transfer_get_bytes (transfer));
  json_object_set_int_member (record, "total", (gint64) ferry_transfer_get_total_size (transfer));
  if (json_object_has_member (base, "directory"))
    json_object_set_string_member (record, "directory", json_object_get_string_member (base, "directory"));
  if (json_object_has_member (base, "resend-of"))
    json_object_set_string_member (record, "resend-of", json_object_get_string_member (base, "resend-of"));
  json_object_set_array_member (record, "files", history_files (transfer, base));

  if (incoming)
    {
      history_note_folders (base);
      if (json_array_get_length (json_object_get_array_member (base, "folders")) > 0)
        json_object_set_array_member (record, "folders", history_folders_copy (base));
      if (device != NULL)
        json_object_set_object_member (record, "device", history_device (device));
      moved_total = json_object_get_int_member_with_default (moved, "total", 0);
    }
  else
    json_object_set_array_member (record, "devices", history_devices (transfer, moved, &moved_total));
  json_object_set_int_member (record, "moved", (gint64) moved_total);

  if (!_ferry_history_save (self->home, record, &error))
    g_warning ("Could not record transfer %s: %s", ferry_transfer_get_id (transfer), error->message);
  history_forget_if_done (self, transfer);
}

/**
 * ferry_engine_get_history:
 * @self: a #FerryEngine
 *
 * The record of past and current transfers kept under the home directory,
 * newest first: one #JsonObject per transfer with its id, direction,
 * state (and error), peer, devices, files (name, size, SHA3-256, where
 * it was read from or saved to, and the `.part` an interrupted transfer
 * kept), the bytes it moved over the network and when it was created.
 *
 * Returns: (transfer full): a #JsonArray of #JsonObject
 */
JsonArray *
ferry_engine_get_history (FerryEngine *self)
{
  g_return_val_if_fail (FERRY_IS_ENGINE (self), NULL);
  return _ferry_history_list (self->home);
}
