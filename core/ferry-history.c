/* ferry-history.c: the record of past transfers
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "ferry-history-private.h"

#define HISTORY_DIR "history"
/* A record is small; anything bigger is not one of ours. */
#define MAX_RECORD_SIZE (4 * 1024 * 1024)

static gboolean
valid_id (const char *id)
{
  gsize len = id ? strlen (id) : 0;

  if (len < 8 || len > 64)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isxdigit (id[i]))
      return FALSE;
  return TRUE;
}

static char *
history_dir (const char *home)
{
  return g_build_filename (home, HISTORY_DIR, NULL);
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

  if (!valid_id (id))
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
  node = json_node_init_object (json_node_alloc (), record);
  text = json_to_string (node, TRUE);
  len = strlen (text);
  name = g_strconcat (id, ".json", NULL);
  path = g_build_filename (dir, name, NULL);

  return g_file_set_contents_full (path, text, len, G_FILE_SET_CONTENTS_CONSISTENT,
                                   0600, error);
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
      !valid_id (json_object_get_string_member_with_default (json_node_get_object (root), "id", NULL)))
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

  if (!valid_id (id))
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

JsonObject *
_ferry_history_find_sent (const char *home,
                          const char *sub_id)
{
  g_autoptr(JsonArray) list = _ferry_history_list (home);

  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      JsonObject *record = json_array_get_object_element (list, i);
      JsonNode *devices = json_object_get_member (record, "devices");

      if (!g_str_equal (json_object_get_string_member_with_default (record, "direction", ""), "outgoing"))
        continue;
      if (g_strcmp0 (json_object_get_string_member_with_default (record, "id", NULL), sub_id) == 0)
        return json_object_ref (record);
      if (devices == NULL || !JSON_NODE_HOLDS_ARRAY (devices))
        continue;
      for (guint j = 0; j < json_array_get_length (json_node_get_array (devices)); j++)
        {
          JsonNode *entry = json_array_get_element (json_node_get_array (devices), j);

          if (JSON_NODE_HOLDS_OBJECT (entry) &&
              g_strcmp0 (json_object_get_string_member_with_default (json_node_get_object (entry),
                                                                     "transfer", NULL), sub_id) == 0)
            return json_object_ref (record);
        }
    }
  return NULL;
}
