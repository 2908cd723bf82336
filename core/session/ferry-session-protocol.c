/* ferry-session-protocol.c: the session's control messages
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
#include "ferry-utils-private.h"

#define MAX_REASON_CHARS 200
#define MAX_MIME_BYTES   255
#define DEFAULT_MIME     "application/octet-stream"

/* The core's one rule for transfer ids (ferry-utils-private.h). */
gboolean
_ferry_protocol_is_valid_transfer_id (const char *id)
{
  return _ferry_transfer_id_is_valid (id);
}

gboolean
_ferry_protocol_is_valid_digest (const char *hex)
{
  return _ferry_str_is_lower_hex_len (hex, FERRY_PROTOCOL_DIGEST_HEX_SIZE);
}

char *
_ferry_protocol_clean_reason (const char *reason)
{
  GString *out = g_string_new (NULL);
  g_autofree char *valid = NULL;
  guint n = 0;

  if (reason == NULL || *reason == '\0')
    reason = _("no reason given");
  /* json-glib takes octal escapes ("\360") in strings: what it returns
   * need not be UTF-8, and stepping over it by characters could run past
   * its end */
  valid = g_utf8_make_valid (reason, -1);

  for (const char *p = valid; *p != '\0' && n < MAX_REASON_CHARS; p = g_utf8_next_char (p), n++)
    {
      gunichar c = g_utf8_get_char (p);

      if (c < 0x20 || (c >= 0x7f && c <= 0x9f) ||
          (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069))
        g_string_append_c (out, ' ');
      else
        g_string_append_unichar (out, c);
    }

  return g_string_free (out, FALSE);
}

JsonObject *
_ferry_protocol_build_frame (const char *type,
                             const char *code,
                             const char *reason)
{
  JsonObject *object = json_object_new ();

  json_object_set_string_member (object, "type", type);
  if (code != NULL)
    json_object_set_string_member (object, "code", code);
  if (reason != NULL)
    {
      g_autofree char *clean = _ferry_protocol_clean_reason (reason);

      json_object_set_string_member (object, "reason", clean);
    }

  return object;
}

static const char *
member_string (JsonObject *object,
               const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;

  return json_node_get_string (node);
}

static gboolean
member_uint64 (JsonObject *object,
               const char *name,
               guint64    *out)
{
  JsonNode *node = json_object_get_member (object, name);
  gint64 value;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;

  value = json_node_get_int (node);
  if (value < 0)
    return FALSE;

  *out = (guint64) value;
  return TRUE;
}

void
_ferry_protocol_set_peer_error (JsonObject  *frame,
                                GError     **error)
{
  const char *type = json_object_get_string_member (frame, "type");
  g_autofree char *reason = _ferry_protocol_clean_reason (member_string (frame, "reason"));
  const char *code = member_string (frame, "code");

  if (g_str_equal (type, "reject"))
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_REJECTED,
                 _("The peer declined the transfer: %s"), reason);
  else if (g_str_equal (type, "cancel"))
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_CANCELLED_BY_PEER,
                 _("The peer cancelled the transfer: %s"), reason);
  else if (g_str_equal (type, "error") && g_strcmp0 (code, "hash-mismatch") == 0)
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_HASH_MISMATCH,
                 _("The peer received a corrupted file: %s"), reason);
  else if (g_str_equal (type, "error") && g_strcmp0 (code, "no-space") == 0)
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_NO_SPACE,
                 _("The peer ran out of space: %s"), reason);
  else if (g_str_equal (type, "error") && g_strcmp0 (code, "protocol") == 0)
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                 _("The peer reported a protocol error: %s"), reason);
  else if (g_str_equal (type, "error"))
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_FAILED,
                 _("The peer reported an error: %s"), reason);
  else
    {
      g_autofree char *clean_type = _ferry_protocol_clean_reason (type);

      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                   _("Unexpected message “%s” from the peer"), clean_type);
    }
}

/* Parses a control frame that must be of @type; any other type becomes
 * the peer's error. */
static JsonObject *
parse_expected (const guint8  *payload,
                gsize          length,
                const char    *type,
                GError       **error)
{
  JsonObject *frame = _ferry_frame_parse_control (payload, length, error);

  if (frame == NULL)
    return NULL;

  if (!g_str_equal (json_object_get_string_member (frame, "type"), type))
    {
      _ferry_protocol_set_peer_error (frame, error);
      json_object_unref (frame);
      return NULL;
    }

  return frame;
}

/* ------------------------------------------------------------------ */
/* Header                                                               */

/* The offered type when it is printable ASCII of a sane length, as in
 * "text/plain; charset=utf-8"; else NULL (and the default is used). */
static gboolean
parse_mime (JsonObject  *entry,
            guint        index,
            const char **mime,
            GError     **error)
{
  JsonNode *node = json_object_get_member (entry, "mime");
  const char *value;

  *mime = NULL;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;

  value = member_string (entry, "mime");
  if (value == NULL)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                   _("File %u of the offer has an invalid type"), index);
      return FALSE;
    }

  if (*value == '\0' || strlen (value) > MAX_MIME_BYTES)
    return TRUE;
  for (const char *p = value; *p != '\0'; p++)
    if (*p < 0x20 || *p > 0x7e)
      return TRUE;

  *mime = value;
  return TRUE;
}

/* Where a file of a folder goes: its directory (checked), its name (one
 * component), its executable bit and time. */
static gboolean
parse_file_place (JsonObject        *entry,
                  FerrySessionFile  *file,
                  guint              index,
                  GError           **error)
{
  JsonNode *node = json_object_get_member (entry, "dir");
  guint64 mtime = 0;

  if (member_uint64 (entry, "mtime", &mtime) && mtime < G_MAXINT64 / G_USEC_PER_SEC)
    file->mtime = (gint64) mtime;
  node = json_object_get_member (entry, "x");
  file->executable = node != NULL && JSON_NODE_HOLDS_VALUE (node) &&
                     json_node_get_value_type (node) == G_TYPE_BOOLEAN &&
                     json_node_get_boolean (node);

  node = json_object_get_member (entry, "dir");
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (member_string (entry, "dir") == NULL)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                   _("File %u of the offer has an invalid folder"), index);
      return FALSE;
    }
  file->dir = _ferry_sanitize_relative_path (member_string (entry, "dir"), 1, error);
  if (file->dir == NULL)
    return FALSE;
  /* in a folder, a name is one component, not a path to cut */
  if (strchr (file->name, '/') != NULL || strchr (file->name, '\\') != NULL ||
      g_str_equal (file->name, ".") || g_str_equal (file->name, "..") ||
      file->name[0] == '\0')
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                   _("The offer holds an invalid path: “%s/%s”"), file->dir, file->name);
      return FALSE;
    }
  if (strlen (file->dir) + 1 + strlen (file->name) > FERRY_PROTOCOL_MAX_PATH)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                   _("The offer holds a path longer than %u bytes"), FERRY_PROTOCOL_MAX_PATH);
      return FALSE;
    }
  {
    g_autofree char *safe = _ferry_sanitize_filename (file->name);

    g_free (file->name);
    file->name = g_steal_pointer (&safe);
  }
  return TRUE;
}

/* Checks entry @index of the offer's list of files; adds its size to
 * @total. */
static FerrySessionFile *
parse_file_entry (JsonNode  *element,
                  guint      index,
                  guint64   *total,
                  GError   **error)
{
  FerrySessionFile *file;
  JsonObject *entry;
  const char *name;
  const char *mime;
  guint64 size;

  if (!JSON_NODE_HOLDS_OBJECT (element))
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                   _("File %u of the offer is not an object"), index);
      return NULL;
    }
  entry = json_node_get_object (element);

  name = member_string (entry, "name");
  if (name == NULL)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                   _("File %u of the offer has no name"), index);
      return NULL;
    }

  if (!member_uint64 (entry, "size", &size) || size > FERRY_PROTOCOL_MAX_FILE_SIZE)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                   _("File %u of the offer has no valid size"), index);
      return NULL;
    }

  if (!g_uint64_checked_add (total, *total, size))
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                           _("The offer is too large"));
      return NULL;
    }

  if (!parse_mime (entry, index, &mime, error))
    return NULL;

  /* the name as offered: sanitised when made unique */
  file = _ferry_session_file_new (name, size, mime ? mime : DEFAULT_MIME);
  if (!parse_file_place (entry, file, index, error))
    g_clear_pointer (&file, _ferry_session_file_free);
  return file;
}

/* Adds the directories of one header frame. */
static gboolean
parse_dir_list (JsonObject           *frame,
                FerryProtocolHeader  *header,
                GError              **error)
{
  JsonNode *node = json_object_get_member (frame, "dirs");
  JsonArray *array;

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_ARRAY (node))
    goto invalid;

  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *element = json_array_get_element (array, i);
      FerrySessionDir *dir;
      const char *path;
      guint64 mtime = 0;

      if (!JSON_NODE_HOLDS_OBJECT (element) ||
          (path = member_string (json_node_get_object (element), "path")) == NULL)
        goto invalid;
      if (header->files->len + header->dirs->len >= FERRY_PROTOCOL_MAX_FILES)
        {
          g_set_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                       _("The offer lists more than %u files and folders"), FERRY_PROTOCOL_MAX_FILES);
          return FALSE;
        }
      dir = g_new0 (FerrySessionDir, 1);
      g_ptr_array_add (header->dirs, dir);
      dir->path = _ferry_sanitize_relative_path (path, 0, error);
      if (dir->path == NULL)
        return FALSE;
      if (member_uint64 (json_node_get_object (element), "mtime", &mtime) &&
          mtime < G_MAXINT64 / G_USEC_PER_SEC)
        dir->mtime = (gint64) mtime;
    }
  return TRUE;

invalid:
  g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                       _("The offer has an invalid list of folders"));
  return FALSE;
}

/* Adds a piece of the offered text. */
static gboolean
parse_text (JsonObject           *frame,
            FerryProtocolHeader  *header,
            GError              **error)
{
  JsonNode *node = json_object_get_member (frame, "text");
  const char *text;

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  text = member_string (frame, "text");
  if (text == NULL || !g_utf8_validate (text, -1, NULL) ||
      (header->text != NULL ? header->text->len : 0) + strlen (text) > FERRY_PROTOCOL_MAX_TEXT)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                   _("The offered text is invalid or longer than %u bytes"), FERRY_PROTOCOL_MAX_TEXT);
      return FALSE;
    }
  if (header->text == NULL)
    header->text = g_string_new (NULL);
  g_string_append (header->text, text);
  return TRUE;
}

/* Adds the files, directories and text of one header frame. */
static gboolean
parse_header_frame (JsonObject           *frame,
                    FerryProtocolHeader  *header,
                    GError              **error)
{
  JsonNode *node = json_object_get_member (frame, "files");
  JsonNode *more = json_object_get_member (frame, "more");
  JsonArray *array;
  guint n;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                           _("The offer has no list of files"));
      return FALSE;
    }

  array = json_node_get_array (node);
  n = json_array_get_length (array);
  if (n > FERRY_PROTOCOL_MAX_FILES - MIN (header->files->len + header->dirs->len,
                                           FERRY_PROTOCOL_MAX_FILES))
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                   _("The offer lists more than %u files and folders"), FERRY_PROTOCOL_MAX_FILES);
      return FALSE;
    }

  for (guint i = 0; i < n; i++)
    {
      guint index = header->files->len;
      FerrySessionFile *file = parse_file_entry (json_array_get_element (array, i), index,
                                                 &header->total, error);

      if (file == NULL)
        return FALSE;
      g_ptr_array_add (header->files, file);
    }

  header->more = more != NULL && JSON_NODE_HOLDS_VALUE (more) &&
                 json_node_get_value_type (more) == G_TYPE_BOOLEAN &&
                 json_node_get_boolean (more);
  return parse_dir_list (frame, header, error) && parse_text (frame, header, error);
}

FerryProtocolHeader *
_ferry_protocol_parse_header (const guint8  *payload,
                              gsize          length,
                              GError       **error)
{
  g_autoptr(JsonObject) frame = parse_expected (payload, length, "header", error);
  g_autoptr(FerryProtocolHeader) header = NULL;
  const char *id;

  if (frame == NULL)
    return NULL;

  id = member_string (frame, "transfer");
  if (!_ferry_protocol_is_valid_transfer_id (id))
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                           _("The offer has no valid transfer id"));
      return NULL;
    }

  header = g_new0 (FerryProtocolHeader, 1);
  header->bytes = length;
  header->transfer_id = g_strdup (id);
  header->files = g_ptr_array_new_with_free_func ((GDestroyNotify) _ferry_session_file_free);
  header->dirs = g_ptr_array_new_with_free_func ((GDestroyNotify) _ferry_session_dir_free);
  if (!parse_header_frame (frame, header, error))
    return NULL;

  return g_steal_pointer (&header);
}

gboolean
_ferry_protocol_parse_header_more (FerryProtocolHeader  *header,
                                   const guint8         *payload,
                                   gsize                 length,
                                   GError              **error)
{
  g_autoptr(JsonObject) frame = NULL;
  guint n_files = header->files->len;
  guint n_dirs = header->dirs->len;
  gsize text_length = header->text != NULL ? header->text->len : 0;

  /* refused before this frame is parsed: the header as a whole, not
   * only each of its frames, is bounded */
  if (length > FERRY_PROTOCOL_MAX_HEADER_BYTES - MIN (header->bytes, FERRY_PROTOCOL_MAX_HEADER_BYTES))
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                   _("The offer’s list of files is larger than %u MiB"),
                   (guint) (FERRY_PROTOCOL_MAX_HEADER_BYTES / (1024 * 1024)));
      return FALSE;
    }
  header->bytes += length;
  frame = parse_expected (payload, length, "header-more", error);
  if (frame == NULL || !parse_header_frame (frame, header, error))
    return FALSE;
  /* each frame after the first brings something: a peer cannot keep the
   * receiver reading a header that never ends */
  if (header->files->len == n_files && header->dirs->len == n_dirs &&
      (header->text != NULL ? header->text->len : 0) == text_length)
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                           _("A part of the offer adds nothing to it"));
      return FALSE;
    }
  return TRUE;
}

void
_ferry_protocol_header_free (FerryProtocolHeader *header)
{
  if (header == NULL)
    return;

  g_free (header->transfer_id);
  g_clear_pointer (&header->files, g_ptr_array_unref);
  g_clear_pointer (&header->dirs, g_ptr_array_unref);
  if (header->text != NULL)
    g_string_free (header->text, TRUE);
  g_free (header);
}

/* ------------------------------------------------------------------ */
/* Accept: the "GO", with the offsets the receiver already holds        */

JsonObject *
_ferry_protocol_build_accept (const guint64 *offsets,
                              guint          n_offsets)
{
  JsonObject *accept = json_object_new ();
  JsonArray *array = json_array_sized_new (n_offsets);

  json_object_set_string_member (accept, "type", "accept");
  for (guint i = 0; i < n_offsets; i++)
    json_array_add_int_element (array, (gint64) offsets[i]);
  json_object_set_array_member (accept, "offsets", array);

  return accept;
}

static gboolean
parse_offsets (JsonArray *array,
               GPtrArray *files,
               gboolean   allow_resume,
               guint64   *offsets)
{
  if (json_array_get_length (array) > files->len)
    return FALSE;

  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *node = json_array_get_element (array, i);
      FerrySessionFile *file = g_ptr_array_index (files, i);
      gint64 value;

      if (!JSON_NODE_HOLDS_VALUE (node) ||
          json_node_get_value_type (node) != G_TYPE_INT64)
        return FALSE;
      value = json_node_get_int (node);
      if (value < 0 || (guint64) value > file->size || (value != 0 && !allow_resume))
        return FALSE;
      offsets[i] = (guint64) value;
    }

  return TRUE;
}

guint64 *
_ferry_protocol_parse_accept (const guint8  *payload,
                              gsize          length,
                              GPtrArray     *files,
                              gboolean       allow_resume,
                              GError       **error)
{
  g_autoptr(JsonObject) reply = parse_expected (payload, length, "accept", error);
  g_autofree guint64 *offsets = NULL;
  JsonNode *node;

  if (reply == NULL)
    return NULL;

  offsets = g_new0 (guint64, MAX (files->len, 1));
  /* Resuming: the receiver holds the first "offset" bytes of a file. */
  node = json_object_get_member (reply, "offsets");
  if (node != NULL && !JSON_NODE_HOLDS_NULL (node) &&
      (!JSON_NODE_HOLDS_ARRAY (node) ||
       !parse_offsets (json_node_get_array (node), files, allow_resume, offsets)))
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                           _("The peer asked to resume at an invalid offset"));
      return NULL;
    }

  return g_steal_pointer (&offsets);
}

/* ------------------------------------------------------------------ */
/* End of a file, and the receiver's verdict                            */

JsonObject *
_ferry_protocol_build_end (guint       index,
                           const char *sha3_256)
{
  JsonObject *end = json_object_new ();

  json_object_set_string_member (end, "type", "end");
  json_object_set_int_member (end, "index", index);
  json_object_set_string_member (end, "sha3-256", sha3_256);

  return end;
}

char *
_ferry_protocol_parse_end (const guint8  *payload,
                           gsize          length,
                           guint          index,
                           const char    *name,
                           GError       **error)
{
  g_autoptr(JsonObject) end = parse_expected (payload, length, "end", error);
  const char *digest;
  guint64 index_value;

  if (end == NULL)
    return NULL;

  digest = member_string (end, "sha3-256");
  if (!member_uint64 (end, "index", &index_value) || index_value != index ||
      !_ferry_protocol_is_valid_digest (digest))
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                   _("The peer ended “%s” with an invalid message"), name);
      return NULL;
    }

  return g_strdup (digest);
}

JsonObject *
_ferry_protocol_build_verified (void)
{
  JsonObject *verified = json_object_new ();

  json_object_set_string_member (verified, "type", "verified");
  return verified;
}

gboolean
_ferry_protocol_parse_verdict (const guint8  *payload,
                               gsize          length,
                               GError       **error)
{
  g_autoptr(JsonObject) verified = parse_expected (payload, length, "verified", error);

  return verified != NULL;
}
