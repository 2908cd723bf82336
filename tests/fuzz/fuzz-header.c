/* fuzz-header.c: the header of a transfer, over several frames
 * (core/session/ferry-session-protocol.c, ferry-protocol-tree.c)
 *
 * The input is the payloads of consecutive control frames, separated by
 * NUL bytes (a control frame never holds one): the first goes to
 * _ferry_protocol_parse_header(), the next ones to
 * _ferry_protocol_parse_header_more() while the header says "more", then
 * the whole is checked with _ferry_protocol_header_check(). A header that
 * passes must describe a tree the receiver can write safely, and the
 * sender's builder must turn it back into frames that parse to the same.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "ferry-frame-private.h"
#include "ferry-session-protocol-private.h"
#include "fuzz-common.h"

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  fuzz_init_logging ();
  return 0;
}

/* What the receiver writes a name or a path component with: one safe,
 * visible component. */
static void
assert_safe_component (const char *name)
{
  gsize len = strlen (name);

  g_assert (len > 0 && len <= 255);
  g_assert (g_utf8_validate (name, -1, NULL));
  g_assert (strchr (name, '/') == NULL && strchr (name, '\\') == NULL);
  g_assert (name[0] != '.' && name[0] != ' ');
  g_assert (name[len - 1] != '.' && name[len - 1] != ' ');
  for (const char *p = name; *p != '\0'; p++)
    g_assert ((guchar) *p >= 0x20 && *p != 0x7f);
  /* ".part" marks the receiver's unfinished files */
  g_assert (!g_str_has_suffix (name, ".part"));
}

static void
assert_safe_path (const char *path)
{
  g_auto(GStrv) parts = g_strsplit (path, "/", -1);

  g_assert (strlen (path) <= FERRY_PROTOCOL_MAX_PATH);
  g_assert (g_strv_length (parts) <= FERRY_PROTOCOL_MAX_DEPTH);
  for (guint i = 0; parts[i] != NULL; i++)
    assert_safe_component (parts[i]);
}

/* The checked header: a tree without duplicates, within the limits. */
static void
assert_sane (FerryProtocolHeader *header)
{
  g_autoptr(GHashTable) dirs = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) top = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) paths = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  guint64 total = 0;

  g_assert (_ferry_protocol_is_valid_transfer_id (header->transfer_id));
  g_assert (!header->more);
  g_assert (header->files->len + header->dirs->len <= FERRY_PROTOCOL_MAX_FILES);
  if (header->text != NULL)
    {
      g_assert (header->files->len == 0 && header->dirs->len == 0);
      g_assert (header->text->len <= FERRY_PROTOCOL_MAX_TEXT);
      g_assert (g_utf8_validate (header->text->str, header->text->len, NULL));
    }
  else
    g_assert (header->files->len > 0 || header->dirs->len > 0);

  for (guint i = 0; i < header->dirs->len; i++)
    {
      FerrySessionDir *dir = g_ptr_array_index (header->dirs, i);
      const char *slash = strrchr (dir->path, '/');

      assert_safe_path (dir->path);
      g_assert (g_hash_table_add (dirs, dir->path));
      /* parents first */
      if (slash != NULL)
        {
          g_autofree char *parent = g_strndup (dir->path, slash - dir->path);

          g_assert (g_hash_table_contains (dirs, parent));
        }
      else
        g_hash_table_add (top, g_strdup (dir->path));
    }

  for (guint i = 0; i < header->files->len; i++)
    {
      FerrySessionFile *file = g_ptr_array_index (header->files, i);

      assert_safe_component (file->name);
      g_assert (file->size <= FERRY_PROTOCOL_MAX_FILE_SIZE);
      g_assert (file->mime_type != NULL && file->mime_type[0] != '\0');
      g_assert (g_uint64_checked_add (&total, total, file->size));
      if (file->dir == NULL)
        g_assert (g_hash_table_add (top, g_strdup (file->name)));
      else
        {
          char *path = g_strconcat (file->dir, "/", file->name, NULL);

          assert_safe_path (path);
          g_assert (g_hash_table_contains (dirs, file->dir));
          g_assert (!g_hash_table_contains (dirs, path));
          g_assert (g_hash_table_add (paths, path));
        }
    }
  g_assert (total == header->total);
}

/* Parses the frames of @frames; NULL when they are refused or when the
 * header is not complete at their end. */
static FerryProtocolHeader *
parse_frames (GPtrArray *frames,
              gboolean   must_pass)
{
  g_autoptr(FerryProtocolHeader) header = NULL;
  g_autoptr(GError) error = NULL;
  guint i = 0;

  if (frames->len == 0)
    return NULL;
  for (; i < frames->len; i++)
    {
      GBytes *frame = g_ptr_array_index (frames, i);
      gsize length;
      const guint8 *data = g_bytes_get_data (frame, &length);

      if (i == 0)
        header = _ferry_protocol_parse_header (data, length, &error);
      else if (!_ferry_protocol_parse_header_more (header, data, length, &error))
        g_clear_pointer (&header, _ferry_protocol_header_free);
      if (header == NULL)
        {
          g_assert (error != NULL);
          if (must_pass)
            g_error ("a built header is refused: %s", error->message);
          return NULL;
        }
      g_assert (error == NULL);
      if (!header->more)
        break;
    }
  if (header->more || i + 1 < frames->len)
    {
      if (must_pass)
        g_error ("a built header has %u frames, ends after %u", frames->len, i + 1);
      return NULL;
    }
  if (!_ferry_protocol_header_check (header, &error))
    {
      g_assert (error != NULL);
      if (must_pass)
        g_error ("a built header fails its check: %s", error->message);
      return NULL;
    }
  g_assert (error == NULL);
  return g_steal_pointer (&header);
}

/* The payloads the sender would write, as _ferry_frame_write_control()
 * serialises them. */
static GPtrArray *
serialise (GPtrArray *objects)
{
  GPtrArray *frames = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);

  for (guint i = 0; i < objects->len; i++)
    {
      g_autoptr(JsonNode) root = json_node_init_object (json_node_alloc (),
                                                        g_ptr_array_index (objects, i));
      g_autoptr(JsonGenerator) generator = json_generator_new ();
      gsize length = 0;
      char *text;

      json_generator_set_root (generator, root);
      text = json_generator_to_data (generator, &length);
      /* every frame fits the limit the receiver enforces */
      if (length > FERRY_FRAME_MAX_CONTROL)
        g_error ("frame %u of a built header holds %" G_GSIZE_FORMAT " bytes", i, length);
      g_ptr_array_add (frames, g_bytes_new_take (text, length));
    }
  return frames;
}

static void
assert_same (FerryProtocolHeader *a,
             FerryProtocolHeader *b)
{
  g_assert (g_str_equal (a->transfer_id, b->transfer_id));
  g_assert (a->files->len == b->files->len);
  g_assert (a->dirs->len == b->dirs->len);
  g_assert ((a->text == NULL) == (b->text == NULL));
  if (a->text != NULL)
    g_assert (g_str_equal (a->text->str, b->text->str));
  for (guint i = 0; i < a->files->len; i++)
    {
      FerrySessionFile *fa = g_ptr_array_index (a->files, i);
      FerrySessionFile *fb = g_ptr_array_index (b->files, i);

      g_assert (g_str_equal (fa->name, fb->name));
      g_assert (g_strcmp0 (fa->dir, fb->dir) == 0);
      g_assert (fa->size == fb->size);
      g_assert (g_str_equal (fa->mime_type, fb->mime_type));
      g_assert (fa->executable == fb->executable);
      g_assert (fa->mtime == fb->mtime);
    }
  for (guint i = 0; i < a->dirs->len; i++)
    {
      FerrySessionDir *da = g_ptr_array_index (a->dirs, i);
      FerrySessionDir *db = g_ptr_array_index (b->dirs, i);

      g_assert (g_str_equal (da->path, db->path));
      g_assert (da->mtime == db->mtime);
    }
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autoptr(GPtrArray) frames = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr(FerryProtocolHeader) header = NULL;
  g_autoptr(FerryProtocolHeader) again = NULL;
  g_autoptr(GPtrArray) objects = NULL;
  g_autoptr(GPtrArray) rebuilt = NULL;
  const guint8 *start = data;
  const guint8 *end = data + size;

  while (start <= end && size > 0)
    {
      const guint8 *nul = memchr (start, '\0', end - start);
      const guint8 *stop = nul != NULL ? nul : end;

      g_ptr_array_add (frames, g_bytes_new (start, stop - start));
      if (nul == NULL)
        break;
      start = nul + 1;
    }

  header = parse_frames (frames, FALSE);
  if (header == NULL)
    return 0;
  assert_sane (header);

  /* What the receiver accepted, the sender's builder sends the same way. */
  objects = _ferry_protocol_build_header (header->transfer_id, header->files, header->dirs,
                                          header->text ? header->text->str : NULL);
  rebuilt = serialise (objects);
  again = parse_frames (rebuilt, TRUE);
  assert_same (header, again);
  return 0;
}
