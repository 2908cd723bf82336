/* ferry-send.c: sending files to a peer or device, with the fan-out to late devices
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "ferry-engine-private.h"

static const char *
guess_mime_type (GFileInfo *info)
{
  const char *content_type = g_file_info_get_content_type (info);

  return content_type ? content_type : "application/octet-stream";
}

/* A device counts as online when it was seen this recently. */
#define FERRY_DEVICE_ONLINE_US (10 * 60 * G_USEC_PER_SEC)

static gint
compare_last_seen (gconstpointer a,
                   gconstpointer b)
{
  gint64 ta = ferry_device_get_last_seen (*(FerryDevice **) a);
  gint64 tb = ferry_device_get_last_seen (*(FerryDevice **) b);

  return ta < tb ? 1 : ta > tb ? -1 : 0;
}

/* A send to a peer stays open for a moment to devices of the peer's
 * account that answer the look-up a little after the first one. */
#define FERRY_FANOUT_JOIN_US (3 * G_USEC_PER_SEC)

typedef struct {
  FerryTransfer *parent;
  char          *account_id;
  GPtrArray     *session_files;
  FerryHashShare *hashes;
  gint64         deadline;
} FanOut;

void
_ferry_fanout_free (gpointer data)
{
  FanOut *fanout = data;

  g_object_unref (fanout->parent);
  g_free (fanout->account_id);
  g_ptr_array_unref (fanout->session_files);
  _ferry_hash_share_unref (fanout->hashes);
  g_free (fanout);
}

void
_ferry_engine_fanout_join (FerryEngine *self,
                           FerryDevice *device)
{
  gint64 now = g_get_monotonic_time ();

  for (guint i = self->fanouts->len; i-- > 0;)
    {
      FanOut *fanout = g_ptr_array_index (self->fanouts, i);

      if (now > fanout->deadline || ferry_transfer_is_done (fanout->parent))
        g_ptr_array_remove_index (self->fanouts, i);
    }

  for (guint i = 0; i < self->fanouts->len; i++)
    {
      FanOut *fanout = g_ptr_array_index (self->fanouts, i);

      if (g_str_equal (fanout->account_id, ferry_device_get_account_id (device)) &&
          _ferry_device_get_signaling (device) != NULL)
        {
          g_debug ("device %.12s joins transfer %s", ferry_device_get_device_id (device),
                   ferry_transfer_get_id (fanout->parent));
          _ferry_engine_send_one (self, fanout->parent, device, fanout->session_files,
                                  fanout->hashes, NULL, FALSE);
          _ferry_engine_history_write (self, fanout->parent);
        }
    }
}

/* Checks that @file can be sent and describes it for the session. */
static FerrySessionFile *
send_file_new (GFile   *file,
               GError **error)
{
  g_autoptr(GFileInfo) info = NULL;
  g_autofree char *name = g_file_get_basename (file);
  g_autofree char *mime = NULL;
  g_autoptr(GError) local_error = NULL;
  FerrySessionFile *sf;

  info = g_file_query_info (file,
                            G_FILE_ATTRIBUTE_STANDARD_TYPE ","
                            G_FILE_ATTRIBUTE_STANDARD_SIZE ","
                            G_FILE_ATTRIBUTE_STANDARD_CONTENT_TYPE ","
                            G_FILE_ATTRIBUTE_ACCESS_CAN_READ,
                            G_FILE_QUERY_INFO_NONE, NULL, &local_error);
  if (info == NULL)
    {
      g_set_error (error, local_error->domain, local_error->code,
                   _("Cannot send %s: %s"), name, local_error->message);
      return NULL;
    }
  if (g_file_info_get_file_type (info) != G_FILE_TYPE_REGULAR)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE,
                   _("Cannot send %s: not a regular file"), name);
      return NULL;
    }
  if (g_file_info_has_attribute (info, G_FILE_ATTRIBUTE_ACCESS_CAN_READ) &&
      !g_file_info_get_attribute_boolean (info, G_FILE_ATTRIBUTE_ACCESS_CAN_READ))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   _("Cannot send %s: permission denied"), name);
      return NULL;
    }

  mime = g_content_type_get_mime_type (guess_mime_type (info));
  sf = _ferry_session_file_new (name, g_file_info_get_size (info),
                                mime ? mime : "application/octet-stream");
  sf->source = g_object_ref (file);
  return sf;
}

/* The history of a new outgoing @transfer: each source's path and
 * modification time, so that a later request can tell whether the file
 * is still the one that was sent; for a re-send, what it re-sends and the
 * hashes the files must still have. */
static void
send_record_sources (FerryEngine   *self,
                     FerryTransfer *transfer,
                     GFile        **files,
                     guint          n_files,
                     JsonObject    *resend,
                     GPtrArray     *session_files)
{
  JsonObject *base = _ferry_engine_history_base (self, transfer);

  for (guint i = 0; i < n_files; i++)
    {
      g_autoptr(GFileInfo) info = g_file_query_info (files[i],
                                                     G_FILE_ATTRIBUTE_TIME_MODIFIED ","
                                                     G_FILE_ATTRIBUTE_TIME_MODIFIED_USEC,
                                                     G_FILE_QUERY_INFO_NONE, NULL, NULL);
      g_autofree char *path = g_file_get_path (files[i]);
      JsonObject *extra = _ferry_engine_history_extra (base, i);

      if (path != NULL)
        json_object_set_string_member (extra, "path", path);
      if (info != NULL)
        json_object_set_int_member (extra, "mtime",
                                    (gint64) g_file_info_get_attribute_uint64 (info, G_FILE_ATTRIBUTE_TIME_MODIFIED) * G_USEC_PER_SEC +
                                    g_file_info_get_attribute_uint32 (info, G_FILE_ATTRIBUTE_TIME_MODIFIED_USEC));
    }
  if (resend != NULL)
    {
      JsonArray *expected = json_object_get_array_member (resend, "expected");

      json_object_set_string_member (base, "resend-of", json_object_get_string_member (resend, "of"));
      for (guint i = 0; i < session_files->len && i < json_array_get_length (expected); i++)
        {
          FerrySessionFile *sf = g_ptr_array_index (session_files, i);
          const char *hex = json_array_get_string_element (expected, i);

          if (hex != NULL && hex[0] != '\0')
            sf->expected_sha3 = g_strdup (hex);
        }
    }
}

/* Keeps a send to @account_id open to devices seen in the next seconds. */
static void
send_open_fanout (FerryEngine   *self,
                  FerryTransfer *transfer,
                  const char    *account_id,
                  GPtrArray     *session_files,
                  FerryHashShare *hashes)
{
  FanOut *fanout = g_new0 (FanOut, 1);

  fanout->parent = g_object_ref (transfer);
  fanout->account_id = g_strdup (account_id);
  fanout->session_files = g_ptr_array_ref (session_files);
  fanout->hashes = _ferry_hash_share_ref (hashes);
  fanout->deadline = g_get_monotonic_time () + FERRY_FANOUT_JOIN_US;
  g_ptr_array_add (self->fanouts, fanout);
}

static gboolean
send_check_args (FerryEngine  *self,
                 GPtrArray    *devices,
                 guint         n_files,
                 GError      **error)
{
  if (!self->started)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_FAILED, _("The engine is not started"));
      return FALSE;
    }
  if (n_files == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, _("No file to send"));
      return FALSE;
    }
  if (devices->len == 0)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PEER_NOT_FOUND,
                   _("No device of this peer can be reached"));
      return FALSE;
    }
  return TRUE;
}

/* Offers @files to each of @devices (FerryDevice, at least one); when
 * @account_id is set, devices of that account seen soon after join. */
FerryTransfer *
_ferry_engine_send_devices (FerryEngine  *self,
                            GPtrArray    *devices,
                            const char   *account_id,
                            GFile       **files,
                            guint         n_files,
                            JsonObject   *resend,
                            GError      **error)
{
  g_autoptr(FerryTransfer) transfer = NULL;
  g_autoptr(GPtrArray) session_files = NULL;
  g_autoptr(FerryHashShare) hashes = NULL;
  g_autofree char *id = NULL;

  if (!send_check_args (self, devices, n_files, error))
    return NULL;

  session_files = g_ptr_array_new_with_free_func ((GDestroyNotify) _ferry_session_file_free);
  for (guint i = 0; i < n_files; i++)
    {
      FerrySessionFile *sf = send_file_new (files[i], error);

      if (sf == NULL)
        return NULL;
      g_ptr_array_add (session_files, sf);
    }

  id = _ferry_engine_random_hex (16);
  transfer = _ferry_transfer_new (id, FERRY_TRANSFER_DIRECTION_OUTGOING,
                                  g_ptr_array_index (devices, 0));
  for (guint i = 0; i < session_files->len; i++)
    {
      FerrySessionFile *sf = g_ptr_array_index (session_files, i);
      g_autoptr(FerryTransferFile) file = _ferry_transfer_file_new (sf->name, sf->size,
                                                                    sf->mime_type, files[i]);

      _ferry_transfer_add_file (transfer, file);
    }
  g_list_store_append (self->transfers, transfer);
  send_record_sources (self, transfer, files, n_files, resend, session_files);

  /* every device gets the same bytes: hash them once */
  hashes = _ferry_hash_share_new ();
  for (guint i = 0; i < devices->len; i++)
    _ferry_engine_send_one (self, transfer, g_ptr_array_index (devices, i), session_files, hashes,
                            resend ? json_object_get_string_member (resend, "transfer") : NULL,
                            resend != NULL);
  _ferry_engine_history_write (self, transfer);

  if (account_id != NULL)
    send_open_fanout (self, transfer, account_id, session_files, hashes);
  return g_steal_pointer (&transfer);
}

/**
 * ferry_engine_send:
 * @self: a started #FerryEngine
 * @peer: the peer to send to
 * @files: (array length=n_files): the files, regular and readable
 * @n_files: how many files
 * @error: return location for a #GError
 *
 * Starts sending @files to every online device of @peer's account (every
 * device seen through signaling in the last ten minutes, and those that
 * show up within the next three seconds): one sub-transfer per device, see ferry_transfer_get_sub_transfers(). The
 * returned transfer shows the optimistic aggregate of them and is added
 * to [property@Ferry.Engine:transfers]; follow its
 * [property@Ferry.Transfer:state], or wait with ferry_transfer_wait_async().
 *
 * Returns: (transfer full) (nullable): the transfer, or %NULL when a file
 *   cannot be read or the peer has no reachable device
 */
FerryTransfer *
ferry_engine_send (FerryEngine  *self,
                   FerryPeer    *peer,
                   GFile       **files,
                   guint         n_files,
                   GError      **error)
{
  g_autoptr(GPtrArray) devices = g_ptr_array_new_with_free_func (g_object_unref);
  FerryDevice *latest;
  GListModel *list;

  g_return_val_if_fail (FERRY_IS_ENGINE (self), NULL);
  g_return_val_if_fail (FERRY_IS_PEER (peer), NULL);
  g_return_val_if_fail (files != NULL || n_files == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  latest = _ferry_peer_get_latest_device (peer);
  list = ferry_peer_get_devices (peer);
  for (guint i = 0; i < g_list_model_get_n_items (list); i++)
    {
      g_autoptr(FerryDevice) device = g_list_model_get_item (list, i);

      if (_ferry_device_get_signaling (device) == NULL ||
          _ferry_engine_is_revoked (self, ferry_device_get_account_id (device), ferry_device_get_device_id (device)))
        continue;
      if (device != latest &&
          g_get_monotonic_time () - ferry_device_get_last_seen (device) > FERRY_DEVICE_ONLINE_US)
        continue;
      g_ptr_array_add (devices, g_steal_pointer (&device));
    }
  g_ptr_array_sort (devices, compare_last_seen);

  return _ferry_engine_send_devices (self, devices, ferry_peer_get_account_id (peer),
                                     files, n_files, NULL, error);
}

/**
 * ferry_engine_send_to_device:
 * @self: a started #FerryEngine
 * @device: the device to send to
 * @files: (array length=n_files): the files, regular and readable
 * @n_files: how many files
 * @error: return location for a #GError
 *
 * Like ferry_engine_send(), to one device only: the transfer has one
 * sub-transfer.
 *
 * Returns: (transfer full) (nullable): the transfer, or %NULL when a file
 *   cannot be read or the device cannot be reached
 */
FerryTransfer *
ferry_engine_send_to_device (FerryEngine  *self,
                             FerryDevice  *device,
                             GFile       **files,
                             guint         n_files,
                             GError      **error)
{
  g_autoptr(GPtrArray) devices = g_ptr_array_new_with_free_func (g_object_unref);

  g_return_val_if_fail (FERRY_IS_ENGINE (self), NULL);
  g_return_val_if_fail (FERRY_IS_DEVICE (device), NULL);
  g_return_val_if_fail (files != NULL || n_files == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (_ferry_device_get_signaling (device) != NULL &&
      !_ferry_engine_is_revoked (self, ferry_device_get_account_id (device), ferry_device_get_device_id (device)))
    g_ptr_array_add (devices, g_object_ref (device));
  return _ferry_engine_send_devices (self, devices, NULL, files, n_files, NULL, error);
}
