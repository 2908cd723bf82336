/* ferry-offer.c: what an offer tells the receiver before it decides
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "ferry-error.h"
#include "ferry-offer-private.h"
#include "ferry-session-protocol-private.h"
#include "ferry-utils-private.h"

void
_ferry_offer_files_free (FerryOfferFiles *offer)
{
  if (offer == NULL)
    return;
  g_clear_pointer (&offer->files, g_ptr_array_unref);
  g_free (offer->digest);
  g_free (offer);
}

/* SHA-256 over each file's sanitised name, size and mime type. */
static char *
files_digest (GPtrArray *files)
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);

  for (guint i = 0; i < files->len; i++)
    {
      FerrySessionFile *file = g_ptr_array_index (files, i);
      char size[32];

      g_snprintf (size, sizeof size, "%" G_GUINT64_FORMAT, file->size);
      g_checksum_update (checksum, (const guchar *) file->name, strlen (file->name) + 1);
      g_checksum_update (checksum, (const guchar *) size, strlen (size) + 1);
      g_checksum_update (checksum, (const guchar *) (file->mime_type ? file->mime_type : ""),
                         strlen (file->mime_type ? file->mime_type : "") + 1);
    }
  return g_strdup (g_checksum_get_string (checksum));
}

/* Parses @header as the receiver's session will. */
static FerryProtocolHeader *
parse_as_session (JsonObject  *header,
                  GError     **error)
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), header);
  g_autofree char *text = json_to_string (node, FALSE);

  return _ferry_protocol_parse_header ((const guint8 *) text, strlen (text), error);
}

gboolean
_ferry_offer_describe_files (JsonObject  *body,
                             const char  *transfer_id,
                             GPtrArray   *files,
                             GError     **error)
{
  g_autoptr(JsonObject) header = _ferry_protocol_build_header (transfer_id, files);
  JsonArray *all = json_object_get_array_member (header, "files");
  FerryProtocolHeader *parsed;
  g_autofree char *digest = NULL;
  JsonArray *listed = json_array_new ();
  guint64 total = 0;
  gsize bytes = 0;

  parsed = parse_as_session (header, error);
  if (parsed == NULL)
    {
      json_array_unref (listed);
      return FALSE;
    }
  digest = files_digest (parsed->files);
  _ferry_protocol_header_free (parsed);

  for (guint i = 0; i < json_array_get_length (all); i++)
    {
      JsonObject *entry = json_array_get_object_element (all, i);
      gsize size = strlen (json_object_get_string_member (entry, "name")) +
                   strlen (json_object_get_string_member (entry, "mime")) + 48;

      total += (guint64) json_object_get_int_member (entry, "size");
      if (i < FERRY_OFFER_MAX_LISTED && bytes + size <= FERRY_OFFER_MAX_LISTED_BYTES &&
          json_array_get_length (listed) == i)
        {
          json_array_add_object_element (listed, json_object_ref (entry));
          bytes += size;
        }
    }
  json_object_set_array_member (body, "files", listed);
  json_object_set_int_member (body, "count", (gint64) json_array_get_length (all));
  json_object_set_int_member (body, "total", (gint64) total);
  json_object_set_string_member (body, "digest", digest);
  return TRUE;
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
  FerryProtocolHeader *parsed;
  FerryOfferFiles *offer;
  guint64 listed_total = 0;
  gint64 count, total;

  if (files_node == NULL || !JSON_NODE_HOLDS_ARRAY (files_node) ||
      count_node == NULL || json_node_get_value_type (count_node) != G_TYPE_INT64 ||
      total_node == NULL || json_node_get_value_type (total_node) != G_TYPE_INT64 ||
      !_ferry_str_is_lower_hex_len (digest, 64))
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                           _("The offer does not describe its files"));
      return NULL;
    }
  count = json_node_get_int (count_node);
  total = json_node_get_int (total_node);
  if (json_array_get_length (json_node_get_array (files_node)) > FERRY_OFFER_MAX_LISTED ||
      count < (gint64) json_array_get_length (json_node_get_array (files_node)) ||
      count > FERRY_PROTOCOL_MAX_FILES || total < 0)
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                           _("The offer does not describe its files"));
      return NULL;
    }

  header = json_object_new ();
  json_object_set_string_member (header, "type", "header");
  json_object_set_string_member (header, "transfer", transfer_id);
  json_object_set_member (header, "files", json_node_copy (files_node));
  parsed = parse_as_session (header, error);
  if (parsed == NULL)
    return NULL;

  for (guint i = 0; i < parsed->files->len; i++)
    listed_total += ((FerrySessionFile *) g_ptr_array_index (parsed->files, i))->size;
  if (listed_total > (guint64) total ||
      ((gint64) parsed->files->len == count && listed_total != (guint64) total))
    {
      _ferry_protocol_header_free (parsed);
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                           _("The sizes the offer lists do not add up to its total"));
      return NULL;
    }

  offer = g_new0 (FerryOfferFiles, 1);
  offer->files = g_steal_pointer (&parsed->files);
  offer->count = (guint) count;
  offer->total = (guint64) total;
  offer->digest = g_strdup (digest);
  _ferry_protocol_header_free (parsed);
  return offer;
}

gboolean
_ferry_offer_matches (FerryOfferFiles *offer,
                      GPtrArray       *files)
{
  g_autofree char *digest = NULL;

  if (files == NULL || files->len != offer->count)
    return FALSE;
  digest = files_digest (files);
  return g_str_equal (digest, offer->digest);
}
