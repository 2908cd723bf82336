/* ferry-history.c: the record of past transfers
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <string.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "ferry-history-private.h"
#include "ferry-utils-private.h"

#define HISTORY_DIR "history"
/* A record is small; anything bigger is not one of ours. */
#define MAX_RECORD_SIZE (4 * 1024 * 1024)

static char *
history_dir (const char *home)
{
  return g_build_filename (home, HISTORY_DIR, NULL);
}

/* The index of sent transfers: <home>/history-index/<sub id> holds the id
 * of the outgoing record that lists that sub-transfer, so that a request
 * for it reads one small file and one record, never the whole history. */
#define SENT_INDEX_DIR "history-index"
#define SENT_INDEX_COMPLETE ".complete"

static GMutex index_lock;

static char *
sent_index_path (const char *home,
                 const char *sub_id)
{
  return g_build_filename (home, SENT_INDEX_DIR, sub_id, NULL);
}

static void
index_sub_transfers (const char *home,
                     JsonObject *record)
{
  const char *id = json_object_get_string_member_with_default (record, "id", NULL);
  JsonNode *devices = json_object_get_member (record, "devices");
  g_autofree char *dir = g_build_filename (home, SENT_INDEX_DIR, NULL);

  if (!g_str_equal (json_object_get_string_member_with_default (record, "direction", ""), "outgoing") ||
      devices == NULL || !JSON_NODE_HOLDS_ARRAY (devices) || g_mkdir_with_parents (dir, 0700) != 0)
    return;
  for (guint i = 0; i < json_array_get_length (json_node_get_array (devices)); i++)
    {
      JsonNode *entry = json_array_get_element (json_node_get_array (devices), i);
      const char *sub = JSON_NODE_HOLDS_OBJECT (entry)
                        ? json_object_get_string_member_with_default (json_node_get_object (entry), "transfer", NULL)
                        : NULL;
      g_autofree char *path = NULL;

      if (!_ferry_transfer_id_is_valid (sub) || g_strcmp0 (sub, id) == 0)
        continue;
      path = sent_index_path (home, sub);
      if (!g_file_test (path, G_FILE_TEST_EXISTS))
        g_file_set_contents_full (path, id, -1, G_FILE_SET_CONTENTS_NONE, 0600, NULL);
    }
}

gboolean
_ferry_history_save (const char  *home,
                     JsonObject  *record,
                     GError     **error)
{
  const char *id = json_object_get_string_member_with_default (record, "id", NULL);
  g_autofree char *dir = history_dir (home);
  g_autofree char *name = NULL;
  g_autofree char *path = NULL;
  g_autofree char *text = NULL;
  g_autoptr(JsonNode) node = NULL;
  gsize len;

  if (!_ferry_transfer_id_is_valid (id))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("Invalid transfer id in a history record"));
      return FALSE;
    }
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _("Could not create %s: %s"), dir, g_strerror (saved_errno));
      return FALSE;
    }

  json_object_set_int_member (record, "version", FERRY_HISTORY_VERSION);
  json_object_set_int_member (record, "updated", g_get_real_time () / 1000);
  json_object_set_int_member (record, "pid", (gint64) getpid ());
  node = json_node_init_object (json_node_alloc (), record);
  text = json_to_string (node, TRUE);
  len = strlen (text);
  name = g_strconcat (id, ".json", NULL);
  path = g_build_filename (dir, name, NULL);

  if (!g_file_set_contents_full (path, text, len, G_FILE_SET_CONTENTS_CONSISTENT,
                                 0600, error))
    return FALSE;
  index_sub_transfers (home, record);
  return TRUE;
}

static JsonObject *
load_path (const char  *path,
           GError     **error)
{
  g_autofree char *text = NULL;
  gsize len = 0;
  g_autoptr(JsonParser) parser = NULL;
  JsonNode *root;
  GStatBuf st;

  /* Nothing but a regular file of a sane size is read (a FIFO would block
   * forever, a huge file fill the memory). */
  if (g_stat (path, &st) == 0 && (!S_ISREG (st.st_mode) || st.st_size > MAX_RECORD_SIZE))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _("%s is not a history record"), path);
      return NULL;
    }
  if (!g_file_get_contents (path, &text, &len, error))
    return NULL;
  if (len > MAX_RECORD_SIZE)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _("The history record %s is too large"), path);
      return NULL;
    }
  parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, text, (gssize) len, error))
    return NULL;
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root) ||
      !_ferry_transfer_id_is_valid (json_object_get_string_member_with_default (json_node_get_object (root), "id", NULL)))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _("%s is not a history record"), path);
      return NULL;
    }
  return json_object_ref (json_node_get_object (root));
}

JsonObject *
_ferry_history_load (const char  *home,
                     const char  *id,
                     GError     **error)
{
  g_autofree char *dir = history_dir (home);
  g_autofree char *name = NULL;
  g_autofree char *path = NULL;
  GError *local_error = NULL;
  JsonObject *record;

  if (!_ferry_transfer_id_is_valid (id))
    return NULL;
  name = g_strconcat (id, ".json", NULL);
  path = g_build_filename (dir, name, NULL);
  record = load_path (path, &local_error);
  if (record == NULL)
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_clear_error (&local_error);
      else
        g_propagate_error (error, local_error);
    }
  return record;
}

static gint
compare_created (gconstpointer a,
                 gconstpointer b)
{
  JsonObject *ra = *(JsonObject **) a;
  JsonObject *rb = *(JsonObject **) b;
  gint64 ta = json_object_get_int_member_with_default (ra, "created", 0);
  gint64 tb = json_object_get_int_member_with_default (rb, "created", 0);

  return ta < tb ? 1 : ta > tb ? -1 : 0;
}

JsonArray *
_ferry_history_list (const char *home)
{
  g_autofree char *dir = history_dir (home);
  g_autoptr(GDir) handle = g_dir_open (dir, 0, NULL);
  g_autoptr(GPtrArray) records = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  JsonArray *list = json_array_new ();
  const char *name;

  while (handle != NULL && (name = g_dir_read_name (handle)) != NULL)
    {
      g_autofree char *path = NULL;
      g_autoptr(GError) error = NULL;
      JsonObject *record;

      if (!g_str_has_suffix (name, ".json"))
        continue;
      path = g_build_filename (dir, name, NULL);
      record = load_path (path, &error);
      if (record == NULL)
        {
          g_debug ("skipping history record %s: %s", name, error->message);
          continue;
        }
      g_ptr_array_add (records, record);
    }

  g_ptr_array_sort (records, compare_created);
  for (guint i = 0; i < records->len; i++)
    json_array_add_object_element (list, json_object_ref (g_ptr_array_index (records, i)));
  return list;
}

static gboolean
record_lists_sub (JsonObject *record,
                  const char *sub_id)
{
  JsonNode *devices = json_object_get_member (record, "devices");

  if (!g_str_equal (json_object_get_string_member_with_default (record, "direction", ""), "outgoing"))
    return FALSE;
  if (g_strcmp0 (json_object_get_string_member_with_default (record, "id", NULL), sub_id) == 0)
    return TRUE;
  if (devices == NULL || !JSON_NODE_HOLDS_ARRAY (devices))
    return FALSE;
  for (guint j = 0; j < json_array_get_length (json_node_get_array (devices)); j++)
    {
      JsonNode *entry = json_array_get_element (json_node_get_array (devices), j);

      if (JSON_NODE_HOLDS_OBJECT (entry) &&
          g_strcmp0 (json_object_get_string_member_with_default (json_node_get_object (entry),
                                                                 "transfer", NULL), sub_id) == 0)
        return TRUE;
    }
  return FALSE;
}

/* Records written before the index existed are indexed once. */
static void
sent_index_build (const char *home)
{
  g_autofree char *complete = g_build_filename (home, SENT_INDEX_DIR, SENT_INDEX_COMPLETE, NULL);
  g_autofree char *dir = g_build_filename (home, SENT_INDEX_DIR, NULL);
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&index_lock);
  g_autoptr(JsonArray) list = NULL;

  if (g_file_test (complete, G_FILE_TEST_EXISTS))
    return;
  list = _ferry_history_list (home);
  for (guint i = 0; i < json_array_get_length (list); i++)
    index_sub_transfers (home, json_array_get_object_element (list, i));
  if (g_mkdir_with_parents (dir, 0700) == 0)
    g_file_set_contents_full (complete, "", 0, G_FILE_SET_CONTENTS_NONE, 0600, NULL);
}

JsonObject *
_ferry_history_find_sent (const char *home,
                          const char *sub_id)
{
  g_autoptr(JsonObject) record = NULL;
  g_autofree char *index = NULL;
  g_autofree char *parent = NULL;

  if (!_ferry_transfer_id_is_valid (sub_id))
    return NULL;
  record = _ferry_history_load (home, sub_id, NULL);
  if (record != NULL && record_lists_sub (record, sub_id))
    return g_steal_pointer (&record);

  sent_index_build (home);
  index = sent_index_path (home, sub_id);
  if (!g_file_get_contents (index, &parent, NULL, NULL) || !_ferry_transfer_id_is_valid (g_strstrip (parent)))
    return NULL;
  g_clear_pointer (&record, json_object_unref);
  record = _ferry_history_load (home, parent, NULL);
  if (record != NULL && record_lists_sub (record, sub_id))
    return g_steal_pointer (&record);
  return NULL;
}

/* A path of a kept .part or of a folder, as recorded: relative, each
 * component a name (never "", "." nor ".."). */
#define MAX_RECORDED_DEPTH 66

static gboolean
recorded_path_is_safe (const char *path)
{
  g_auto(GStrv) parts = NULL;

  if (path == NULL || path[0] == '\0' || path[0] == '/')
    return FALSE;
  parts = g_strsplit (path, "/", -1);
  if (g_strv_length (parts) > MAX_RECORDED_DEPTH)
    return FALSE;
  for (guint i = 0; parts[i] != NULL; i++)
    if (parts[i][0] == '\0' || g_str_equal (parts[i], ".") || g_str_equal (parts[i], ".."))
      return FALSE;
  return TRUE;
}

/* Opens the directory @path (relative to @rootfd) component by component,
 * never through a symbolic link; -1 when it cannot. */
static int
open_below (int         rootfd,
            const char *path)
{
  g_auto(GStrv) parts = g_strsplit (path, "/", -1);
  int fd = dup (rootfd);

  for (guint i = 0; fd >= 0 && parts[i] != NULL; i++)
    {
      int next = openat (fd, parts[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

      close (fd);
      fd = next;
    }
  return fd;
}

/* Removes <directory>/<part> when it is a regular .part file there, in a
 * folder too ("album/sub/a.bin.part"): reached from the download folder
 * one directory at a time, never through a link. */
static void
remove_part (int         rootfd,
             const char *part)
{
  const char *slash = part ? strrchr (part, '/') : NULL;
  const char *base = slash ? slash + 1 : part;
  g_autofree char *dir = slash ? g_strndup (part, slash - part) : NULL;
  struct stat st;
  int fd;

  if (rootfd < 0 || !recorded_path_is_safe (part) ||
      !g_str_has_suffix (base, ".part") || base[0] == '.')
    return;
  fd = dir ? open_below (rootfd, dir) : dup (rootfd);
  if (fd < 0)
    return;
  if (fstatat (fd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG (st.st_mode))
    {
      g_debug ("removing %s, kept longer than allowed", part);
      if (unlinkat (fd, base, 0) != 0)
        g_debug ("could not remove %s: %s", part, g_strerror (errno));
    }
  close (fd);
}

/* Removes @name (a directory in @parentfd) and every directory below it
 * that holds nothing else; files stay, and so do the directories on
 * their way. Never follows a link. */
static void
prune_empty (int         parentfd,
             const char *name,
             guint       depth)
{
  int fd = openat (parentfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  g_autoptr(GPtrArray) subdirs = g_ptr_array_new_with_free_func (g_free);
  DIR *listing;
  struct dirent *entry;
  int listed;

  if (fd < 0)
    return;
  if (depth < MAX_RECORDED_DEPTH && (listed = dup (fd)) >= 0)
    {
      listing = fdopendir (listed);
      if (listing == NULL)
        close (listed);
      while (listing != NULL && (entry = readdir (listing)) != NULL)
        {
          struct stat st;

          if (!g_str_equal (entry->d_name, ".") && !g_str_equal (entry->d_name, "..") &&
              fstatat (fd, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR (st.st_mode))
            g_ptr_array_add (subdirs, g_strdup (entry->d_name));
        }
      if (listing != NULL)
        closedir (listing);
    }
  for (guint i = 0; i < subdirs->len; i++)
    prune_empty (fd, g_ptr_array_index (subdirs, i), depth + 1);
  close (fd);
  /* fails, as it should, when something is left in it */
  if (unlinkat (parentfd, name, AT_REMOVEDIR) == 0)
    g_debug ("removed the empty folder %s", name);
}

/* The folders the transfer of @record created in its download folder,
 * left empty once its .part files are gone: removed. */
static void
prune_folders (int         rootfd,
               JsonObject *record)
{
  JsonNode *folders = json_object_get_member (record, "folders");

  for (guint i = 0; rootfd >= 0 && folders != NULL && JSON_NODE_HOLDS_ARRAY (folders) &&
                    i < json_array_get_length (json_node_get_array (folders)); i++)
    {
      JsonNode *node = json_array_get_element (json_node_get_array (folders), i);
      const char *top = JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING
                        ? json_node_get_string (node) : NULL;

      if (recorded_path_is_safe (top) && strchr (top, '/') == NULL)
        prune_empty (rootfd, top, 1);
    }
}

/* Whether the process that last wrote @record still runs (another Ferry
 * process may share the home directory). */
static gboolean
writer_alive (JsonObject *record)
{
  gint64 pid = json_object_get_int_member_with_default (record, "pid", 0);

  if (pid <= 0 || pid > G_MAXINT || pid == (gint64) getpid ())
    return FALSE;
  return kill ((pid_t) pid, 0) == 0 || errno == EPERM;
}

static gboolean
state_is_running (const char *state)
{
  return g_str_equal (state, "ongoing") || g_str_equal (state, "awaiting-peer") ||
         g_str_equal (state, "awaiting-host") || g_str_equal (state, "created");
}

static JsonObject *
interrupted_error (void)
{
  JsonObject *error = json_object_new ();

  json_object_set_string_member (error, "code", "interrupted");
  json_object_set_string_member (error, "message", _("Interrupted: Ferry stopped before the transfer ended"));
  return error;
}

/* A record of a transfer that was still running when its process ended
 * says so; returns TRUE when it changed. */
static gboolean
mark_interrupted (JsonObject *record)
{
  JsonNode *devices = json_object_get_member (record, "devices");
  gboolean changed = FALSE;

  if (state_is_running (json_object_get_string_member_with_default (record, "state", "")))
    {
      json_object_set_string_member (record, "state", "error");
      json_object_set_object_member (record, "error", interrupted_error ());
      changed = TRUE;
    }
  for (guint i = 0; devices != NULL && JSON_NODE_HOLDS_ARRAY (devices) &&
                    i < json_array_get_length (json_node_get_array (devices)); i++)
    {
      JsonNode *node = json_array_get_element (json_node_get_array (devices), i);
      JsonObject *entry = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;

      if (entry != NULL && state_is_running (json_object_get_string_member_with_default (entry, "state", "")))
        {
          json_object_set_string_member (entry, "state", "error");
          json_object_set_object_member (entry, "error", interrupted_error ());
          changed = TRUE;
        }
    }
  return changed;
}

/* Forgets the .part files of @record kept longer than @part_max_age_ms,
 * and the folders it created that they leave empty (a finished transfer's
 * folders are the user's); returns TRUE when it changed. */
static gboolean
expire_parts (JsonObject *record,
              gint64      now_ms,
              gint64      part_max_age_ms)
{
  JsonNode *files = json_object_get_member (record, "files");
  const char *directory = json_object_get_string_member_with_default (record, "directory", NULL);
  gint64 updated = json_object_get_int_member_with_default (record, "updated", now_ms);
  gboolean finished = g_str_equal (json_object_get_string_member_with_default (record, "state", ""), "finished");
  gboolean changed = FALSE;
  int rootfd;

  if (part_max_age_ms <= 0 || now_ms - updated < part_max_age_ms ||
      files == NULL || !JSON_NODE_HOLDS_ARRAY (files))
    return FALSE;
  rootfd = directory ? open (directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
  for (guint i = 0; i < json_array_get_length (json_node_get_array (files)); i++)
    {
      JsonNode *node = json_array_get_element (json_node_get_array (files), i);
      JsonObject *entry = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;

      if (entry == NULL || !json_object_has_member (entry, "part"))
        continue;
      remove_part (rootfd, json_object_get_string_member_with_default (entry, "part", NULL));
      json_object_remove_member (entry, "part");
      json_object_remove_member (entry, "part-bytes");
      changed = TRUE;
    }
  if (!finished && json_object_has_member (record, "folders"))
    {
      prune_folders (rootfd, record);
      json_object_remove_member (record, "folders");
      changed = TRUE;
    }
  if (rootfd >= 0)
    close (rootfd);
  return changed;
}

static void
remove_record (const char *home,
               JsonObject *record)
{
  g_autofree char *name = g_strconcat (json_object_get_string_member (record, "id"), ".json", NULL);
  g_autofree char *path = g_build_filename (home, HISTORY_DIR, name, NULL);

  g_unlink (path);
}

void
_ferry_history_maintain (const char *home,
                         gint64      now_ms,
                         guint       max_records,
                         gint64      max_age_ms,
                         gint64      part_max_age_ms)
{
  g_autoptr(JsonArray) list = _ferry_history_list (home);

  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      JsonObject *record = json_array_get_object_element (list, i);
      gint64 created = json_object_get_int_member_with_default (record, "created", now_ms);
      gboolean too_many = max_records > 0 && i >= max_records;
      gboolean too_old = max_age_ms > 0 && now_ms - created > max_age_ms;
      gboolean changed;

      if (writer_alive (record))
        continue;
      changed = mark_interrupted (record);
      changed |= expire_parts (record, now_ms, (too_many || too_old) ? 1 : part_max_age_ms);
      if (too_many || too_old)
        {
          remove_record (home, record);
          continue;
        }
      if (changed)
        {
          g_autoptr(GError) error = NULL;
          gint64 updated = json_object_get_int_member_with_default (record, "updated", now_ms);

          if (!_ferry_history_save (home, record, &error))
            g_debug ("could not update history record: %s", error->message);
          /* Saving stamps it now: keep when it last changed. */
          json_object_set_int_member (record, "updated", updated);
        }
    }
}
