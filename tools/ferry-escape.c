/* ferry-escape.c: peer-provided text made safe to show on a terminal
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Names, file names, reasons and history entries come from other devices.
 * Printed raw, a name holding “ESC ] 0;… BEL” retitles the window, “ESC
 * [2J” clears the screen, and a line feed or a bidi override fakes what
 * the accept prompt says. Everything the tool prints that a peer chose
 * goes through tool_escape() first: invalid UTF-8 becomes U+FFFD, control
 * characters (C0, DEL, C1) and the characters that reorder or break lines
 * are shown as escapes, e.g. “\x1b” or “\u202e”, and a long text is cut
 * with an ellipsis.
 */
#include "config.h"

#include <string.h>

#include "ferry-escape.h"

/* Characters that change how the rest of a line reads: the bidi embedding,
 * override and isolate controls and marks, and the line and paragraph
 * separators. */
static gboolean
is_reordering (gunichar c)
{
  return (c >= 0x202a && c <= 0x202e) ||   /* LRE RLE PDF LRO RLO */
         (c >= 0x2066 && c <= 0x2069) ||   /* LRI RLI FSI PDI */
         c == 0x200e || c == 0x200f ||     /* LRM RLM */
         c == 0x061c ||                    /* ALM */
         c == 0x2028 || c == 0x2029;       /* line, paragraph separator */
}

/* Appends the visible form of @c to @out (when not NULL); returns its
 * length in characters. */
static gsize
append_char (GString  *out,
             gunichar  c)
{
  char buf[16];
  gsize len;

  if (c < 0x20 || c == 0x7f)
    len = g_snprintf (buf, sizeof buf, "\\x%02x", c);
  else if ((c >= 0x80 && c <= 0x9f) || is_reordering (c))
    len = g_snprintf (buf, sizeof buf, "\\u%04x", c);
  else
    {
      if (out != NULL)
        g_string_append_unichar (out, c);
      return 1;
    }
  if (out != NULL)
    g_string_append_len (out, buf, len);
  return len;
}

/* Walks @valid (valid UTF-8), appending to @out (when not NULL) up to
 * @limit characters (0: all); returns how many it would take in all. */
static gsize
escape_into (GString    *out,
             const char *valid,
             gsize       limit)
{
  gsize total = 0;

  for (const char *p = valid; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      gsize len = append_char (NULL, c);

      if (out != NULL && limit > 0 && total + len > limit)
        break;
      if (out != NULL)
        append_char (out, c);
      total += len;
    }
  return total;
}

/**
 * tool_escape:
 * @text: (nullable): text a peer chose, in any encoding
 * @max_chars: the most characters to show (TOOL_NO_LIMIT: all); a longer
 *   text is cut to @max_chars - 1 and ends with “…”
 *
 * Returns: (transfer full) (nullable): @text safe to print on a terminal,
 *   or NULL when @text is NULL
 */
char *
tool_escape (const char *text,
             gsize       max_chars)
{
  g_autofree char *valid = NULL;
  GString *out;

  if (text == NULL)
    return NULL;

  /* Invalid sequences become U+FFFD; so does a NUL, which ends the text. */
  valid = g_utf8_make_valid (text, -1);
  out = g_string_sized_new (strlen (valid) + 1);
  if (max_chars > 0 && escape_into (NULL, valid, 0) > max_chars)
    {
      escape_into (out, valid, max_chars - 1);
      g_string_append (out, "…");
    }
  else
    escape_into (out, valid, 0);
  return g_string_free (out, FALSE);
}

/**
 * tool_json_escape_extra:
 * @json: JSON text as json-glib writes it
 *
 * json-glib escapes C0 controls and DEL, but writes C1 controls (which some
 * terminals take as CSI and the like), the bidi controls and U+2028/U+2029
 * as they are. They can only occur inside strings, where “\u009b” means
 * the same character: the result is the same JSON, safe to show on a
 * terminal.
 *
 * Returns: (transfer full): the JSON text with those escaped
 */
char *
tool_json_escape_extra (const char *json)
{
  g_autofree char *valid = g_utf8_make_valid (json, -1);
  GString *out = g_string_sized_new (strlen (valid) + 1);

  for (const char *p = valid; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if ((c >= 0x80 && c <= 0x9f) || is_reordering (c))
        g_string_append_printf (out, "\\u%04x", c);
      else
        g_string_append_len (out, p, g_utf8_next_char (p) - p);
    }
  return g_string_free (out, FALSE);
}
