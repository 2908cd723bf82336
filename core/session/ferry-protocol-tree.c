/* ferry-protocol-tree.c: headers of folders and texts, over several frames
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "ferry-error.h"
#include "ferry-frame-private.h"
#include "ferry-sanitize-private.h"
#include "ferry-session-protocol-private.h"

/* What one header frame may hold, leaving room for its own members. */
#define FRAME_BUDGET (FERRY_FRAME_MAX_CONTROL - 4096)
#define ENTRY_OVERHEAD 96
#define TEXT_PIECE   (8 * 1024)
#define DEFAULT_MIME "application/octet-stream"

/* An upper bound of @text's length as a JSON string. */
static gsize
json_cost (const char *text)
{
  gsize cost = 2;

  for (const char *p = text ? text : ""; *p != '\0'; p++)
    cost += ((guchar) *p < 0x20 || *p == '"' || *p == '\\') ? 6 : 1;

  return cost;
}

typedef struct {
  GPtrArray  *frames;
  JsonObject *frame;
  JsonArray  *files;
  JsonArray  *dirs;
  gsize       used;
} Builder;

/* The frame the next item of @cost goes to. */
static void
builder_reserve (Builder *b,
                 gsize    cost)
{
  if (b->frame != NULL && b->used + cost <= FRAME_BUDGET)
    {
      b->used += cost;
      return;
    }

  b->frame = json_object_new ();
  json_object_set_string_member (b->frame, "type", b->frames->len == 0 ? "header" : "header-more");
  b->files = json_array_new ();
  b->dirs = json_array_new ();
  json_object_set_array_member (b->frame, "files", b->files);
  json_object_set_array_member (b->frame, "dirs", b->dirs);
  g_ptr_array_add (b->frames, b->frame);
  b->used = cost;
}

static void
builder_add_file (Builder          *b,
                  FerrySessionFile *file)
{
  JsonObject *entry = json_object_new ();
  g_autofree char *name = g_utf8_make_valid (file->name, -1);
  g_autofree char *mime = g_utf8_make_valid (file->mime_type ? file->mime_type : DEFAULT_MIME, -1);

  builder_reserve (b, ENTRY_OVERHEAD + json_cost (name) + json_cost (mime) + json_cost (file->dir));
  json_object_set_string_member (entry, "name", name);
  json_object_set_int_member (entry, "size", (gint64) file->size);
  json_object_set_string_member (entry, "mime", mime);
  if (file->dir != NULL)
    {
      g_autofree char *dir = g_utf8_make_valid (file->dir, -1);

      json_object_set_string_member (entry, "dir", dir);
    }
  if (file->executable)
    json_object_set_boolean_member (entry, "x", TRUE);
  if (file->mtime > 0)
    json_object_set_int_member (entry, "mtime", file->mtime);
  json_array_add_object_element (b->files, entry);
}

static void
builder_add_dir (Builder         *b,
                 FerrySessionDir *dir)
{
  JsonObject *entry = json_object_new ();
  g_autofree char *path = g_utf8_make_valid (dir->path, -1);

  builder_reserve (b, ENTRY_OVERHEAD + json_cost (path));
  json_object_set_string_member (entry, "path", path);
  if (dir->mtime > 0)
    json_object_set_int_member (entry, "mtime", dir->mtime);
  json_array_add_object_element (b->dirs, entry);
}

/* Adds @text in pieces, one a frame; an empty text is one empty piece,
 * so the header still says it offers a text. */
static void
builder_add_text (Builder    *b,
                  const char *text)
{
  const char *p = text;

  do
    {
      const char *end = p;
      g_autofree char *piece = NULL;

      while (*end != '\0' && end - p < TEXT_PIECE)
        end = g_utf8_next_char (end);
      piece = g_strndup (p, end - p);
      builder_reserve (b, FRAME_BUDGET);  /* one piece per frame */
      json_object_set_string_member (b->frame, "text", piece);
      p = end;
    }
  while (*p != '\0');
}

GPtrArray *
_ferry_protocol_build_header (const char *transfer_id,
                              GPtrArray  *files,
                              GPtrArray  *dirs,
                              const char *text)
{
  Builder b = { g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref), };

  builder_reserve (&b, 0);
  json_object_set_string_member (b.frame, "transfer", transfer_id);
  for (guint i = 0; files != NULL && i < files->len; i++)
    builder_add_file (&b, g_ptr_array_index (files, i));
  for (guint i = 0; dirs != NULL && i < dirs->len; i++)
    builder_add_dir (&b, g_ptr_array_index (dirs, i));
  if (text != NULL)
    {
      g_autofree char *valid = g_utf8_make_valid (text, -1);

      builder_add_text (&b, valid);
    }

  for (guint i = 0; i + 1 < b.frames->len; i++)
    json_object_set_boolean_member (g_ptr_array_index (b.frames, i), "more", TRUE);

  return b.frames;
}

/* ------------------------------------------------------------------ */
/* The tree as a whole                                                  */

/* Adds @path and every directory above it to @set; FALSE when @set would
 * hold more than @max (a deep path implies many directories: counted as
 * they come, not after). */
static gboolean
add_with_ancestors (GHashTable *set,
                    const char *path,
                    guint       max)
{
  g_autofree char *copy = g_strdup (path);
  char *slash;

  for (;;)
    {
      if (g_hash_table_contains (set, copy))
        return TRUE;  /* its ancestors are in already */
      if (g_hash_table_size (set) >= max)
        return FALSE;
      g_hash_table_add (set, g_strdup (copy));
      slash = strrchr (copy, '/');
      if (slash == NULL)
        return TRUE;
      *slash = '\0';
    }
}

static char *
top_component (const char *path)
{
  const char *slash = strchr (path, '/');

  return slash ? g_strndup (path, slash - path) : g_strdup (path);
}

/* Top-level files never compete for a name with each other nor with a
 * folder: "a", "a (1)"... The counter per name keeps it linear. */
static void
make_name_unique (FerrySessionFile *file,
                  GHashTable       *names,
                  GHashTable       *counters)
{
  g_autofree char *safe = _ferry_sanitize_filename (file->name);
  guint next = GPOINTER_TO_UINT (g_hash_table_lookup (counters, safe));
  char *unique;

  for (;;)
    {
      unique = _ferry_filename_variant (safe, next++);
      if (!g_hash_table_contains (names, unique))
        break;
      g_free (unique);
    }
  g_hash_table_insert (counters, g_strdup (safe), GUINT_TO_POINTER (next));
  g_hash_table_add (names, g_strdup (unique));

  g_free (file->name);
  file->name = unique;
}

static gint
compare_dirs (gconstpointer a,
              gconstpointer b)
{
  const FerrySessionDir *da = *(FerrySessionDir **) a;
  const FerrySessionDir *db = *(FerrySessionDir **) b;

  return strcmp (da->path, db->path);
}

static gboolean
refuse_path (GError     **error,
             const char  *format,
             const char  *path)
{
  g_autofree char *shown = g_utf8_make_valid (path, MIN (strlen (path), 200));

  g_set_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL, format, shown);
  return FALSE;
}

/* Every directory, listed or implied by a file, once; parents first. */
static gboolean
collect_dirs (FerryProtocolHeader  *header,
              GHashTable           *all,
              GError              **error)
{
  g_autoptr(GHashTable) listed = g_hash_table_new (g_str_hash, g_str_equal);
  gboolean within = TRUE;
  guint max;

  for (guint i = 0; i < header->dirs->len; i++)
    {
      FerrySessionDir *dir = g_ptr_array_index (header->dirs, i);

      if (!g_hash_table_add (listed, dir->path))
        return refuse_path (error, _("The offer lists the folder “%s” twice"), dir->path);
    }
  max = FERRY_PROTOCOL_MAX_FILES - MIN (header->files->len, FERRY_PROTOCOL_MAX_FILES);
  for (guint i = 0; i < header->dirs->len && within; i++)
    within = add_with_ancestors (all, ((FerrySessionDir *) g_ptr_array_index (header->dirs, i))->path, max);
  for (guint i = 0; i < header->files->len && within; i++)
    {
      FerrySessionFile *file = g_ptr_array_index (header->files, i);

      if (file->dir != NULL)
        within = add_with_ancestors (all, file->dir, max);
    }
  if (!within)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                   _("The offer lists more than %u files and folders"), FERRY_PROTOCOL_MAX_FILES);
      return FALSE;
    }

  /* the implied ones join the list, which then holds each once */
  {
    GHashTableIter iter;
    gpointer key;

    g_hash_table_iter_init (&iter, all);
    while (g_hash_table_iter_next (&iter, &key, NULL))
      if (!g_hash_table_contains (listed, key))
        {
          FerrySessionDir *dir = g_new0 (FerrySessionDir, 1);

          dir->path = g_strdup (key);
          g_ptr_array_add (header->dirs, dir);
        }
  }
  if (header->files->len + header->dirs->len > FERRY_PROTOCOL_MAX_FILES)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                   _("The offer lists more than %u files and folders"), FERRY_PROTOCOL_MAX_FILES);
      return FALSE;
    }
  g_ptr_array_sort (header->dirs, compare_dirs);
  return TRUE;
}

gboolean
_ferry_protocol_header_check (FerryProtocolHeader  *header,
                              GError              **error)
{
  g_autoptr(GHashTable) dirs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) paths = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) counters = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  if (header->text != NULL ? header->files->len > 0 || header->dirs->len > 0
                           : header->files->len == 0 && header->dirs->len == 0)
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                           _("The offer holds neither files nor a text"));
      return FALSE;
    }
  if (!collect_dirs (header, dirs, error))
    return FALSE;

  for (guint i = 0; i < header->files->len; i++)
    {
      FerrySessionFile *file = g_ptr_array_index (header->files, i);
      char *path;

      if (file->dir == NULL)
        continue;
      path = g_strconcat (file->dir, "/", file->name, NULL);
      if (g_hash_table_contains (dirs, path))
        {
          refuse_path (error, _("The offer holds a file and a folder both named “%s”"), path);
          g_free (path);
          return FALSE;
        }
      if (!g_hash_table_add (paths, path))
        return refuse_path (error, _("The offer lists “%s” twice"), path);
    }

  /* top-level files: unique names, never one of a folder */
  for (guint i = 0; i < header->dirs->len; i++)
    g_hash_table_add (names, top_component (((FerrySessionDir *) g_ptr_array_index (header->dirs, i))->path));
  for (guint i = 0; i < header->files->len; i++)
    {
      FerrySessionFile *file = g_ptr_array_index (header->files, i);

      if (file->dir == NULL)
        make_name_unique (file, names, counters);
    }

  return TRUE;
}
