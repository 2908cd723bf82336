/* ferry-frame.c: framing of the session protocol
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "ferry-error.h"
#include "ferry-frame-private.h"

/* Our own messages nest three levels deep; anything much deeper is hostile
 * (and a recursive parser must not be fed unbounded nesting). */
#define MAX_JSON_DEPTH 32

void
_ferry_frame_write_header (guint8         out[FERRY_FRAME_HEADER_SIZE],
                           FerryFrameType type,
                           guint32        length)
{
  out[0] = (guint8) type;
  out[1] = (guint8) (length >> 24);
  out[2] = (guint8) (length >> 16);
  out[3] = (guint8) (length >> 8);
  out[4] = (guint8) length;
}

gboolean
_ferry_frame_parse_header (const guint8     in[FERRY_FRAME_HEADER_SIZE],
                           FerryFrameType  *type,
                           guint32         *length,
                           GError         **error)
{
  guint32 len;

  len = ((guint32) in[1] << 24) | ((guint32) in[2] << 16) |
        ((guint32) in[3] << 8) | (guint32) in[4];

  switch (in[0])
    {
    case FERRY_FRAME_CONTROL:
      if (len > FERRY_FRAME_MAX_CONTROL)
        {
          g_set_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                       _("Control frame of %u bytes exceeds the limit of %u bytes"),
                       len, (guint) FERRY_FRAME_MAX_CONTROL);
          return FALSE;
        }
      break;

    case FERRY_FRAME_DATA:
      if (len > FERRY_FRAME_MAX_DATA)
        {
          g_set_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                       _("Data frame of %u bytes exceeds the limit of %u bytes"),
                       len, (guint) FERRY_FRAME_MAX_DATA);
          return FALSE;
        }
      break;

    default:
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                   _("Unknown frame type %u"), (guint) in[0]);
      return FALSE;
    }

  if (type != NULL)
    *type = (FerryFrameType) in[0];
  if (length != NULL)
    *length = len;

  return TRUE;
}

gboolean
_ferry_frame_write_control (GOutputStream  *out,
                            JsonObject     *object,
                            GCancellable   *cancellable,
                            GError        **error)
{
  g_autoptr(JsonGenerator) generator = NULL;
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;
  g_autofree guint8 *frame = NULL;
  gsize length = 0;

  g_return_val_if_fail (G_IS_OUTPUT_STREAM (out), FALSE);
  g_return_val_if_fail (object != NULL, FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);

  root = json_node_init_object (json_node_alloc (), object);
  generator = json_generator_new ();
  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, &length);

  if (length > FERRY_FRAME_MAX_CONTROL)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                   _("Control message of %lu bytes exceeds the limit of %u bytes"),
                   (unsigned long) length, (guint) FERRY_FRAME_MAX_CONTROL);
      return FALSE;
    }

  /* One buffer, one write: a frame never goes out in pieces that another
   * writer could interleave with. */
  frame = g_malloc (FERRY_FRAME_HEADER_SIZE + length);
  _ferry_frame_write_header (frame, FERRY_FRAME_CONTROL, (guint32) length);
  memcpy (frame + FERRY_FRAME_HEADER_SIZE, text, length);

  if (!g_output_stream_write_all (out, frame, FERRY_FRAME_HEADER_SIZE + length,
                                  NULL, cancellable, error))
    return FALSE;

  return g_output_stream_flush (out, cancellable, error);
}

/* Counts the nesting of objects and arrays outside strings. */
static gboolean
json_depth_ok (const char *text,
               gsize       length,
               guint       max_depth)
{
  gboolean in_string = FALSE;
  gboolean escaped = FALSE;
  guint depth = 0;

  for (gsize i = 0; i < length; i++)
    {
      char c = text[i];

      if (in_string)
        {
          if (escaped)
            escaped = FALSE;
          else if (c == '\\')
            escaped = TRUE;
          else if (c == '"')
            in_string = FALSE;
          continue;
        }

      switch (c)
        {
        case '"':
          in_string = TRUE;
          break;
        case '{':
        case '[':
          if (++depth > max_depth)
            return FALSE;
          break;
        case '}':
        case ']':
          if (depth > 0)
            depth--;
          break;
        default:
          break;
        }
    }

  return TRUE;
}

/* @text without what a terminal would act on (controls, bidi overrides),
 * at most 200 characters. */
static char *
printable (const char *text)
{
  g_autofree char *valid = g_utf8_make_valid (text, -1);
  GString *out = g_string_new (NULL);
  guint n = 0;

  for (const char *p = valid; *p != '\0' && n < 200; p = g_utf8_next_char (p), n++)
    {
      gunichar c = g_utf8_get_char (p);

      if (c < 0x20 || (c >= 0x7f && c <= 0x9f) ||
          (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069))
        g_string_append_c (out, '?');
      else
        g_string_append_unichar (out, c);
    }
  return g_string_free (out, FALSE);
}

JsonObject *
_ferry_frame_parse_control (const guint8  *payload,
                            gsize          length,
                            GError       **error)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autofree char *text = NULL;
  g_autoptr(GError) local_error = NULL;
  JsonNode *root;
  JsonNode *type;
  JsonObject *object;

  g_return_val_if_fail (payload != NULL || length == 0, NULL);

  if (length == 0)
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                           _("Empty control frame"));
      return NULL;
    }

  if (length > FERRY_FRAME_MAX_CONTROL)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                   _("Control frame of %lu bytes exceeds the limit of %u bytes"),
                   (unsigned long) length, (guint) FERRY_FRAME_MAX_CONTROL);
      return NULL;
    }

  /* Also refuses embedded NUL bytes. */
  if (!g_utf8_validate ((const char *) payload, length, NULL))
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                           _("Control frame is not valid UTF-8"));
      return NULL;
    }

  if (!json_depth_ok ((const char *) payload, length, MAX_JSON_DEPTH))
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                           _("Control frame is nested too deeply"));
      return NULL;
    }

  text = g_strndup ((const char *) payload, length);
  parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, text, (gssize) length, &local_error))
    {
      /* the parser's message quotes the peer's bytes */
      g_autofree char *shown = printable (local_error->message);

      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                   _("Control frame is not valid JSON: %s"), shown);
      return NULL;
    }

  if (json_parser_has_assignment (parser, NULL))
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                           _("Control frame is not plain JSON"));
      return NULL;
    }

  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                           _("Control frame is not a JSON object"));
      return NULL;
    }

  object = json_node_get_object (root);
  type = json_object_get_member (object, "type");
  if (type == NULL || !JSON_NODE_HOLDS_VALUE (type) ||
      json_node_get_value_type (type) != G_TYPE_STRING)
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                           _("Control frame has no “type”"));
      return NULL;
    }

  return json_object_ref (object);
}
