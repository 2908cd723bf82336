/* ferry-offer.c: what an offer tells the receiver before it decides
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "ferry-error.h"
#include "ferry-offer-private.h"
#include "ferry-sanitize-private.h"
#include "ferry-session-protocol-private.h"
#include "ferry-utils-private.h"

void
_ferry_offer_files_free (FerryOfferFiles *offer)
{
  if (offer == NULL)
    return;
  g_clear_pointer (&offer->files, g_ptr_array_unref);
  g_free (offer->digest);
  g_free (offer->folder);
  g_free (offer);
}

static void
digest_string (GChecksum  *checksum,
               const char *text)
{
  text = text ? text : "";
  g_checksum_update (checksum, (const guchar *) text, strlen (text) + 1);
}

/* SHA-256 over each file's sanitised directory, name, size and mime
 * type, the directories' paths and the text. */
static char *
files_digest (GPtrArray  *files,
              GPtrArray  *dirs,
              const char *text)
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);

  for (guint i = 0; i < files->len; i++)
    {
      FerrySessionFile *file = g_ptr_array_index (files, i);
      char size[32];

      g_snprintf (size, sizeof size, "%" G_GUINT64_FORMAT, file->size);
      if (file->dir != NULL)
        {
          digest_string (checksum, "dir");
          digest_string (checksum, file->dir);
        }
      digest_string (checksum, file->name);
      digest_string (checksum, size);
      digest_string (checksum, file->mime_type);
    }
  for (guint i = 0; dirs != NULL && i < dirs->len; i++)
    {
      digest_string (checksum, "folder");
      digest_string (checksum, ((FerrySessionDir *) g_ptr_array_index (dirs, i))->path);
    }
  if (text != NULL)
    {
      digest_string (checksum, "text");
      digest_string (checksum, text);
    }
  return g_strdup (g_checksum_get_string (checksum));
}

/* The one folder every file and directory lies in, or NULL. */
static char *
tree_folder (GPtrArray *files,
             GPtrArray *dirs)
{
  g_autofree char *folder = NULL;

  if (dirs == NULL || dirs->len == 0)
    return NULL;
  for (guint i = 0; i < files->len; i++)
    if (((FerrySessionFile *) g_ptr_array_index (files, i))->dir == NULL)
      return NULL;
  for (guint i = 0; i < dirs->len; i++)
    {
      const char *path = ((FerrySessionDir *) g_ptr_array_index (dirs, i))->path;
      gsize top = strcspn (path, "/");

      if (folder == NULL)
        folder = g_strndup (path, top);
      else if (strlen (folder) != top || strncmp (folder, path, top) != 0)
        return NULL;
    }
  return g_steal_pointer (&folder);
}

static FerryProtocolHeader *
parse_frame (JsonObject  *frame,
             GError     **error)
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), frame);
  g_autofree char *text = json_to_string (node, FALSE);

  return _ferry_protocol_parse_header ((const guint8 *) text, strlen (text), error);
}

/* Parses the frames of a header as the receiver's session will. */
static FerryProtocolHeader *
parse_as_session (GPtrArray  *frames,
                  GError    **error)
{
  g_autoptr(FerryProtocolHeader) header = parse_frame (g_ptr_array_index (frames, 0), error);

  for (guint i = 1; header != NULL && i < frames->len; i++)
    {
      g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), g_ptr_array_index (frames, i));
      g_autofree char *text = json_to_string (node, FALSE);

      if (!_ferry_protocol_parse_header_more (header, (const guint8 *) text, strlen (text), error))
        return NULL;
    }
  if (header == NULL || !_ferry_protocol_header_check (header, error))
    return NULL;
  return g_steal_pointer (&header);
}

gboolean
_ferry_offer_describe_files (JsonObject  *body,
                             const char  *transfer_id,
                             GPtrArray   *files,
                             GPtrArray   *dirs,
                             const char  *text,
                             GError     **error)
{
  g_autoptr(GPtrArray) frames = _ferry_protocol_build_header (transfer_id, files, dirs, text);
  g_autoptr(FerryProtocolHeader) parsed = NULL;
  g_autofree char *digest = NULL;
  g_autofree char *folder = NULL;
  JsonArray *listed = json_array_new ();
  guint64 total = 0;
  gsize bytes = 0;
  guint count = 0;

  parsed = parse_as_session (frames, error);
  if (parsed == NULL)
    {
      json_array_unref (listed);
      return FALSE;
    }
  digest = files_digest (parsed->files, parsed->dirs, parsed->text ? parsed->text->str : NULL);
  folder = tree_folder (parsed->files, parsed->dirs);

  for (guint f = 0; f < frames->len; f++)
    {
      JsonArray *all = json_object_get_array_member (g_ptr_array_index (frames, f), "files");

      for (guint i = 0; i < json_array_get_length (all); i++, count++)
        {
          JsonObject *entry = json_array_get_object_element (all, i);
          gsize size = strlen (json_object_get_string_member (entry, "name")) +
                       strlen (json_object_get_string_member (entry, "mime")) +
                       strlen (json_object_get_string_member_with_default (entry, "dir", "")) + 64;

          total += (guint64) json_object_get_int_member (entry, "size");
          if (count < FERRY_OFFER_MAX_LISTED && bytes + size <= FERRY_OFFER_MAX_LISTED_BYTES &&
              json_array_get_length (listed) == count)
            {
              json_array_add_object_element (listed, json_object_ref (entry));
              bytes += size;
            }
        }
    }
  json_object_set_array_member (body, "files", listed);
  json_object_set_int_member (body, "count", (gint64) count);
  json_object_set_int_member (body, "total", (gint64) total);
  json_object_set_string_member (body, "digest", digest);
  if (parsed->dirs->len > 0)
    json_object_set_int_member (body, "dirs", (gint64) parsed->dirs->len);
  if (folder != NULL)
    json_object_set_string_member (body, "folder", folder);
  if (parsed->text != NULL)
    json_object_set_int_member (body, "text", (gint64) parsed->text->len);
  return TRUE;
}

/* An optional integer member from 0 to @max (absent: 0). */
static gboolean
optional_count (JsonObject *body,
                const char *name,
                gint64      max,
                gint64     *value)
{
  JsonNode *node = json_object_get_member (body, name);

  *value = 0;
  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  *value = json_node_get_int (node);
  return *value >= 0 && *value <= max;
}

/* The folder's name, sanitised as the session will. */
static gboolean
parse_folder (JsonObject  *body,
              char       **folder)
{
  JsonNode *node = json_object_get_member (body, "folder");

  *folder = NULL;
  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return FALSE;
  *folder = _ferry_sanitize_relative_path (json_node_get_string (node), 0, NULL);
  return *folder != NULL && strchr (*folder, '/') == NULL;
}

FerryOfferFiles *
_ferry_offer_parse_files (JsonObject  *body,
                          const char  *transfer_id,
                          GError     **error)
{
  JsonNode *files_node = json_object_get_member (body, "files");
  JsonNode *count_node = json_object_get_member (body, "count");
  JsonNode *total_node = json_object_get_member (body, "total");
  const char *digest = json_object_get_string_member_with_default (body, "digest", NULL);
  g_autoptr(JsonObject) header = NULL;
  g_autoptr(FerryProtocolHeader) parsed = NULL;
  g_autofree char *folder = NULL;
  FerryOfferFiles *offer;
  guint64 listed_total = 0;
  gint64 count, total, dirs, text;

  if (files_node == NULL || !JSON_NODE_HOLDS_ARRAY (files_node) ||
      count_node == NULL || json_node_get_value_type (count_node) != G_TYPE_INT64 ||
      total_node == NULL || json_node_get_value_type (total_node) != G_TYPE_INT64 ||
      !_ferry_str_is_lower_hex_len (digest, 64) ||
      !optional_count (body, "dirs", FERRY_PROTOCOL_MAX_FILES, &dirs) ||
      !optional_count (body, "text", FERRY_PROTOCOL_MAX_TEXT, &text) ||
      !parse_folder (body, &folder))
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                           _("The offer does not describe its files"));
      return NULL;
    }
  count = json_node_get_int (count_node);
  total = json_node_get_int (total_node);
  if (json_array_get_length (json_node_get_array (files_node)) > FERRY_OFFER_MAX_LISTED ||
      count < (gint64) json_array_get_length (json_node_get_array (files_node)) ||
      count + dirs > FERRY_PROTOCOL_MAX_FILES || total < 0 ||
      (text > 0 && count + dirs > 0) || count + dirs + text == 0 ||
      (folder != NULL && dirs == 0))
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                           _("The offer does not describe its files"));
      return NULL;
    }

  header = json_object_new ();
  json_object_set_string_member (header, "type", "header");
  json_object_set_string_member (header, "transfer", transfer_id);
  json_object_set_member (header, "files", json_node_copy (files_node));
  parsed = parse_frame (header, error);
  if (parsed == NULL)
    return NULL;

  /* names made safe and unique as the session's check does */
  if (parsed->files->len > 0 && !_ferry_protocol_header_check (parsed, error))
    return NULL;
  for (guint i = 0; i < parsed->files->len; i++)
    listed_total += ((FerrySessionFile *) g_ptr_array_index (parsed->files, i))->size;
  if (listed_total > (guint64) total ||
      ((gint64) parsed->files->len == count && listed_total != (guint64) total))
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                           _("The sizes the offer lists do not add up to its total"));
      return NULL;
    }

  offer = g_new0 (FerryOfferFiles, 1);
  offer->files = g_steal_pointer (&parsed->files);
  offer->count = (guint) count;
  offer->total = (guint64) total;
  offer->digest = g_strdup (digest);
  offer->n_dirs = (guint) dirs;
  offer->folder = g_steal_pointer (&folder);
  offer->text = text > 0;
  return offer;
}

gboolean
_ferry_offer_matches (FerryOfferFiles *offer,
                      GPtrArray       *files,
                      GPtrArray       *dirs,
                      const char      *text)
{
  g_autofree char *digest = NULL;
  g_autofree char *folder = NULL;

  if (files == NULL || files->len != offer->count ||
      (dirs ? dirs->len : 0) != offer->n_dirs || (text != NULL) != offer->text)
    return FALSE;
  folder = tree_folder (files, dirs);
  if (g_strcmp0 (folder, offer->folder) != 0)
    return FALSE;
  digest = files_digest (files, dirs, text);
  return g_str_equal (digest, offer->digest);
}
