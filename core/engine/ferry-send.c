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

/* The longest text ferry_engine_send_text() sends. */
#define FERRY_TEXT_MAX (64 * 1024)

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
  FerryRateLimit *rate_limit;   /* of the whole transfer (NULL: none) */
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
  g_clear_pointer (&fanout->rate_limit, _ferry_rate_limit_unref);
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
                                  fanout->hashes, fanout->rate_limit, NULL, FALSE);
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

/* ------------------------------------------------------------------ */
/* Folders                                                              */

#define FOLDER_MAX_DEPTH 64
#define FOLDER_ATTRIBUTES G_FILE_ATTRIBUTE_STANDARD_NAME "," G_FILE_ATTRIBUTE_STANDARD_TYPE "," \
                          G_FILE_ATTRIBUTE_STANDARD_SIZE "," G_FILE_ATTRIBUTE_UNIX_MODE "," \
                          G_FILE_ATTRIBUTE_TIME_MODIFIED "," G_FILE_ATTRIBUTE_TIME_MODIFIED_USEC

/* What is sent: the files (FerrySessionFile), the directories of
 * folders (FerrySessionDir), what was left out (relative paths). */
typedef struct {
  GPtrArray *files;
  GPtrArray *dirs;
  GPtrArray *skipped;
  GPtrArray *roots;    /* per file: the folder named to send it (a path), or NULL */
  GArray    *mtimes;   /* per file of a folder: its modification time (µs), as walked */
} SendList;

static gint
compare_infos (gconstpointer a,
               gconstpointer b)
{
  return g_strcmp0 (g_file_info_get_name (*(GFileInfo **) a),
                    g_file_info_get_name (*(GFileInfo **) b));
}

/* The entries of @dir, sorted by name; symbolic links are not followed. */
static GPtrArray *
list_children (GFile   *dir,
               GError **error)
{
  g_autoptr(GFileEnumerator) children = NULL;
  g_autoptr(GPtrArray) infos = g_ptr_array_new_with_free_func (g_object_unref);
  GFileInfo *info;

  children = g_file_enumerate_children (dir, FOLDER_ATTRIBUTES,
                                        G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL, error);
  if (children == NULL)
    return NULL;
  while ((info = g_file_enumerator_next_file (children, NULL, error)) != NULL)
    g_ptr_array_add (infos, info);
  if (error != NULL && *error != NULL)
    return NULL;

  g_ptr_array_sort (infos, compare_infos);
  return g_steal_pointer (&infos);
}

static FerrySessionFile *
folder_file_new (GFile      *parent,
                 GFileInfo  *info,
                 const char *relative)
{
  const char *name = g_file_info_get_name (info);
  g_autofree char *type = g_content_type_guess (name, NULL, 0, NULL);
  g_autofree char *mime = g_content_type_get_mime_type (type);
  FerrySessionFile *sf = _ferry_session_file_new (name, g_file_info_get_size (info),
                                                  mime ? mime : "application/octet-stream");

  sf->source = g_file_get_child (parent, name);
  sf->dir = g_strdup (relative);
  sf->executable = (g_file_info_get_attribute_uint32 (info, G_FILE_ATTRIBUTE_UNIX_MODE) & 0100) != 0;
  sf->mtime = (gint64) g_file_info_get_attribute_uint64 (info, G_FILE_ATTRIBUTE_TIME_MODIFIED);
  return sf;
}

/* Adds @dir, known as @relative, with everything under it. */
static gboolean
add_folder (SendList    *list,
            GFile       *dir,
            const char  *relative,
            gint64       mtime,
            guint        depth,
            GError     **error)
{
  g_autoptr(GPtrArray) infos = NULL;
  g_autoptr(GError) local_error = NULL;
  FerrySessionDir *entry;

  if (depth >= FOLDER_MAX_DEPTH)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("Cannot send %s: folders nest deeper than %u levels"), relative, FOLDER_MAX_DEPTH);
      return FALSE;
    }
  infos = list_children (dir, &local_error);
  if (infos == NULL)
    {
      g_set_error (error, local_error->domain, local_error->code,
                   _("Cannot send %s: %s"), relative, local_error->message);
      return FALSE;
    }

  entry = g_new0 (FerrySessionDir, 1);
  entry->path = g_strdup (relative);
  entry->mtime = mtime;
  g_ptr_array_add (list->dirs, entry);

  for (guint i = 0; i < infos->len; i++)
    {
      GFileInfo *info = g_ptr_array_index (infos, i);
      g_autofree char *path = g_strconcat (relative, "/", g_file_info_get_name (info), NULL);
      g_autoptr(GFile) child = NULL;

      switch (g_file_info_get_file_type (info))
        {
        case G_FILE_TYPE_REGULAR:
          {
            gint64 mtime = (gint64) g_file_info_get_attribute_uint64 (info, G_FILE_ATTRIBUTE_TIME_MODIFIED) *
                           G_USEC_PER_SEC + g_file_info_get_attribute_uint32 (info, G_FILE_ATTRIBUTE_TIME_MODIFIED_USEC);

            g_ptr_array_add (list->files, folder_file_new (dir, info, relative));
            g_array_append_val (list->mtimes, mtime);
          }
          break;
        case G_FILE_TYPE_DIRECTORY:
          child = g_file_get_child (dir, g_file_info_get_name (info));
          if (!add_folder (list, child, path,
                           (gint64) g_file_info_get_attribute_uint64 (info, G_FILE_ATTRIBUTE_TIME_MODIFIED),
                           depth + 1, error))
            return FALSE;
          break;
        default:
          /* symbolic links are never followed; devices, pipes, sockets */
          g_ptr_array_add (list->skipped, g_steal_pointer (&path));
          break;
        }
    }

  return TRUE;
}

/* Adds what @file names: a regular file, or a folder with its tree. */
static gboolean
send_list_add (SendList  *list,
               GFile     *file,
               GError   **error)
{
  /* what the caller named is followed, links inside folders are not */
  g_autoptr(GFileInfo) info = g_file_query_info (file, FOLDER_ATTRIBUTES,
                                                 G_FILE_QUERY_INFO_NONE, NULL, NULL);
  g_autofree char *name = g_file_get_basename (file);
  FerrySessionFile *sf;

  if (info != NULL && g_file_info_get_file_type (info) == G_FILE_TYPE_DIRECTORY)
    {
      if (!add_folder (list, file, name,
                       (gint64) g_file_info_get_attribute_uint64 (info, G_FILE_ATTRIBUTE_TIME_MODIFIED),
                       0, error))
        return FALSE;
      /* a re-send walks the folder again */
      while (list->roots->len < list->files->len)
        g_ptr_array_add (list->roots, g_file_get_path (file));
      return TRUE;
    }

  sf = send_file_new (file, error);
  if (sf == NULL)
    return FALSE;
  g_ptr_array_add (list->files, sf);
  g_ptr_array_add (list->roots, NULL);
  {
    gint64 unknown = -1;

    g_array_append_val (list->mtimes, unknown);
  }
  return TRUE;
}

static void
send_list_clear (SendList *list)
{
  g_clear_pointer (&list->files, g_ptr_array_unref);
  g_clear_pointer (&list->dirs, g_ptr_array_unref);
  g_clear_pointer (&list->skipped, g_ptr_array_unref);
  g_clear_pointer (&list->roots, g_ptr_array_unref);
  g_clear_pointer (&list->mtimes, g_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (SendList, send_list_clear)

/* The history of a new outgoing @transfer: each source's path and
 * modification time, so that a later request can tell whether the file
 * is still the one that was sent; for a re-send, what it re-sends and the
 * hashes the files must still have. */
static void
send_record_sources (FerryEngine   *self,
                     FerryTransfer *transfer,
                     JsonObject    *resend,
                     SendList      *list)
{
  JsonObject *base = _ferry_engine_history_base (self, transfer);
  GPtrArray *session_files = list->files;

  for (guint i = 0; i < session_files->len; i++)
    {
      GFile *source = ((FerrySessionFile *) g_ptr_array_index (session_files, i))->source;
      gint64 mtime = g_array_index (list->mtimes, gint64, i);
      g_autofree char *path = g_file_get_path (source);
      JsonObject *extra = _ferry_engine_history_extra (base, i);

      if (mtime < 0)
        {
          g_autoptr(GFileInfo) info = g_file_query_info (source,
                                                         G_FILE_ATTRIBUTE_TIME_MODIFIED ","
                                                         G_FILE_ATTRIBUTE_TIME_MODIFIED_USEC,
                                                         G_FILE_QUERY_INFO_NONE, NULL, NULL);

          if (info != NULL)
            mtime = (gint64) g_file_info_get_attribute_uint64 (info, G_FILE_ATTRIBUTE_TIME_MODIFIED) * G_USEC_PER_SEC +
                    g_file_info_get_attribute_uint32 (info, G_FILE_ATTRIBUTE_TIME_MODIFIED_USEC);
        }
      if (path != NULL)
        json_object_set_string_member (extra, "path", path);
      if (g_ptr_array_index (list->roots, i) != NULL)
        json_object_set_string_member (extra, "root", g_ptr_array_index (list->roots, i));
      if (mtime >= 0)
        json_object_set_int_member (extra, "mtime", mtime);
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
                  FerryHashShare *hashes,
                  FerryRateLimit *rate_limit)
{
  FanOut *fanout = g_new0 (FanOut, 1);

  fanout->parent = g_object_ref (transfer);
  fanout->account_id = g_strdup (account_id);
  fanout->session_files = g_ptr_array_ref (session_files);
  fanout->hashes = _ferry_hash_share_ref (hashes);
  fanout->rate_limit = rate_limit ? _ferry_rate_limit_ref (rate_limit) : NULL;
  fanout->deadline = g_get_monotonic_time () + FERRY_FANOUT_JOIN_US;
  g_ptr_array_add (self->fanouts, fanout);
}

static gboolean
send_check_args (FerryEngine  *self,
                 GPtrArray    *devices,
                 guint         n_files,
                 const char   *text,
                 GError      **error)
{
  if (!self->started)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_FAILED, _("The engine is not started"));
      return FALSE;
    }
  if (n_files == 0 && text == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, _("No file to send"));
      return FALSE;
    }
  if (text != NULL && (strlen (text) > FERRY_TEXT_MAX || !g_utf8_validate (text, -1, NULL)))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("A text must be valid UTF-8 of at most %u bytes"), FERRY_TEXT_MAX);
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

/* Offers @files (regular files or folders) or @text to each of @devices
 * (FerryDevice, at least one); when @account_id is set, devices of that
 * account seen soon after join. */
static FerryTransfer *
send_devices_full (FerryEngine  *self,
                   GPtrArray    *devices,
                   const char   *account_id,
                   GFile       **files,
                   guint         n_files,
                   const char   *text,
                   JsonObject   *resend,
                   GError      **error)
{
  g_autoptr(FerryTransfer) transfer = NULL;
  g_auto(SendList) list = { NULL, };
  g_autoptr(FerryHashShare) hashes = NULL;
  g_autoptr(FerryRateLimit) rate_limit = NULL;
  g_autofree char *id = NULL;

  if (!send_check_args (self, devices, n_files, text, error))
    return NULL;

  list.files = g_ptr_array_new_with_free_func ((GDestroyNotify) _ferry_session_file_free);
  list.dirs = g_ptr_array_new_with_free_func ((GDestroyNotify) _ferry_session_dir_free);
  list.skipped = g_ptr_array_new_with_free_func (g_free);
  list.roots = g_ptr_array_new_with_free_func (g_free);
  list.mtimes = g_array_new (FALSE, FALSE, sizeof (gint64));
  for (guint i = 0; i < n_files; i++)
    if (!send_list_add (&list, files[i], error))
      return NULL;
  if (list.files->len == 0 && text == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, _("No file to send"));
      return NULL;
    }

  id = _ferry_engine_random_hex (16);
  transfer = _ferry_transfer_new (id, FERRY_TRANSFER_DIRECTION_OUTGOING,
                                  g_ptr_array_index (devices, 0));
  for (guint i = 0; i < list.files->len; i++)
    {
      FerrySessionFile *sf = g_ptr_array_index (list.files, i);
      g_autoptr(FerryTransferFile) file = _ferry_transfer_file_new (sf->name, sf->size,
                                                                    sf->mime_type, sf->source);

      if (sf->dir != NULL)
        {
          g_autofree char *path = g_strconcat (sf->dir, "/", sf->name, NULL);

          _ferry_transfer_file_set_path (file, path);
        }
      _ferry_transfer_add_file (transfer, file);
    }
  for (guint i = 0; i < list.skipped->len; i++)
    _ferry_transfer_add_skipped (transfer, g_ptr_array_index (list.skipped, i));
  if (list.dirs->len > 0)
    _ferry_transfer_set_directories (transfer, list.dirs);
  _ferry_transfer_set_text (transfer, text);
  _ferry_transfer_set_offered (transfer, list.files->len, ferry_transfer_get_total_size (transfer),
                               n_files == 1 && list.dirs->len > 0
                                 ? ((FerrySessionDir *) g_ptr_array_index (list.dirs, 0))->path : NULL,
                               text != NULL);
  g_list_store_append (self->transfers, transfer);
  send_record_sources (self, transfer, resend, &list);

  /* every device gets the same bytes: hash them once */
  hashes = _ferry_hash_share_new ();
  /* one limit for the transfer: its devices share it */
  if (self->send_rate_limit > 0)
    rate_limit = _ferry_rate_limit_new (self->send_rate_limit);
  for (guint i = 0; i < devices->len; i++)
    _ferry_engine_send_one (self, transfer, g_ptr_array_index (devices, i), list.files, hashes,
                            rate_limit,
                            resend ? json_object_get_string_member (resend, "transfer") : NULL,
                            resend != NULL);
  _ferry_engine_history_write (self, transfer);

  if (account_id != NULL)
    send_open_fanout (self, transfer, account_id, list.files, hashes, rate_limit);
  return g_steal_pointer (&transfer);
}

FerryTransfer *
_ferry_engine_send_devices (FerryEngine  *self,
                            GPtrArray    *devices,
                            const char   *account_id,
                            GFile       **files,
                            guint         n_files,
                            JsonObject   *resend,
                            GError      **error)
{
  return send_devices_full (self, devices, account_id, files, n_files, NULL, resend, error);
}

/* The devices of @peer a send goes to. */
static GPtrArray *
peer_devices (FerryEngine *self,
              FerryPeer   *peer)
{
  GPtrArray *devices = g_ptr_array_new_with_free_func (g_object_unref);
  FerryDevice *latest = _ferry_peer_get_latest_device (peer);
  GListModel *list = ferry_peer_get_devices (peer);

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
  return devices;
}

static GPtrArray *
device_list (FerryEngine *self,
             FerryDevice *device)
{
  GPtrArray *devices = g_ptr_array_new_with_free_func (g_object_unref);

  if (_ferry_device_get_signaling (device) != NULL &&
      !_ferry_engine_is_revoked (self, ferry_device_get_account_id (device), ferry_device_get_device_id (device)))
    g_ptr_array_add (devices, g_object_ref (device));
  return devices;
}

/**
 * ferry_engine_send:
 * @self: a started #FerryEngine
 * @peer: the peer to send to
 * @files: (array length=n_files): the files, regular and readable, or
 *   folders: a folder is sent with its tree under its name (empty
 *   directories, executable bits and times too); symbolic links and
 *   special files in it are skipped (see ferry_transfer_get_skipped())
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
  g_autoptr(GPtrArray) devices = NULL;

  g_return_val_if_fail (FERRY_IS_ENGINE (self), NULL);
  g_return_val_if_fail (FERRY_IS_PEER (peer), NULL);
  g_return_val_if_fail (files != NULL || n_files == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  devices = peer_devices (self, peer);
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
  g_autoptr(GPtrArray) devices = NULL;

  g_return_val_if_fail (FERRY_IS_ENGINE (self), NULL);
  g_return_val_if_fail (FERRY_IS_DEVICE (device), NULL);
  g_return_val_if_fail (files != NULL || n_files == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  devices = device_list (self, device);
  return _ferry_engine_send_devices (self, devices, NULL, files, n_files, NULL, error);
}

/**
 * ferry_engine_send_text:
 * @self: a started #FerryEngine
 * @peer: (nullable): the peer to send to, or %NULL with @device
 * @device: (nullable): the one device to send to, or %NULL with @peer
 * @text: the text: valid UTF-8, at most 64 KiB
 * @error: return location for a #GError
 *
 * Like ferry_engine_send() (or ferry_engine_send_to_device() when
 * @device is set), with a short text instead of files: the receiving
 * side accepts it like files, then shows it (see
 * ferry_transfer_get_text()); it is never written to a file.
 *
 * Returns: (transfer full) (nullable): the transfer, or %NULL when the
 *   text is too long or no device can be reached
 */
FerryTransfer *
ferry_engine_send_text (FerryEngine  *self,
                        FerryPeer    *peer,
                        FerryDevice  *device,
                        const char   *text,
                        GError      **error)
{
  g_autoptr(GPtrArray) devices = NULL;

  g_return_val_if_fail (FERRY_IS_ENGINE (self), NULL);
  g_return_val_if_fail ((peer != NULL) != (device != NULL), NULL);
  g_return_val_if_fail (text != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  devices = device != NULL ? device_list (self, device) : peer_devices (self, peer);
  return send_devices_full (self, devices, peer ? ferry_peer_get_account_id (peer) : NULL,
                            NULL, 0, text, NULL, error);
}
