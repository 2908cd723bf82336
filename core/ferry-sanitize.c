/* ferry-sanitize.c: safe file names on the receiving side
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "ferry-error.h"
#include "ferry-sanitize-private.h"

#define MAX_NAME_BYTES 200
#define MAX_PATH_DEPTH 64
#define MAX_PATH_BYTES 4096
/* An extension is kept on truncation and in variants only when short and
 * without spaces: "report v1.2 final" has none. */
#define MAX_EXTENSION_BYTES 16
/* The receiver's unfinished files end so (core/session/ferry-part-file.c):
 * no received name does. */
#define PART_SUFFIX ".part"

static gboolean
is_unsafe_char (gunichar c)
{
  return c < 0x20 ||                     /* C0 controls */
         (c >= 0x7f && c <= 0x9f) ||     /* DEL and C1 controls */
         c == 0x061c ||                  /* ARABIC LETTER MARK */
         c == 0x200e || c == 0x200f ||   /* LRM, RLM */
         (c >= 0x202a && c <= 0x202e) || /* LRE, RLE, PDF, LRO, RLO */
         (c >= 0x2066 && c <= 0x2069) || /* LRI, RLI, FSI, PDI */
         c == 0x2028 || c == 0x2029 ||   /* line and paragraph separators */
         c == 0xfeff;                    /* zero-width no-break space */
}

static gboolean
is_trimmed (char c)
{
  return c == '.' || c == ' ';
}

/* Returns a pointer to the extension of @name (the final ".ext", or a
 * ".tar.ext"), or to its terminating NUL when it has none. A leading dot
 * does not start an extension. */
static const char *
find_extension (const char *name)
{
  const char *dot = strrchr (name, '.');
  gsize ext_len;

  if (dot == NULL || dot == name)
    return name + strlen (name);

  ext_len = strlen (dot);
  if (ext_len < 2 || ext_len > MAX_EXTENSION_BYTES || strchr (dot, ' ') != NULL)
    return name + strlen (name);

  if (dot - name > 4 && g_ascii_strncasecmp (dot - 4, ".tar", 4) == 0)
    return dot - 4;

  return dot;
}

/* Cuts @str to at most @max bytes on a character boundary. */
static void
truncate_utf8 (GString *str,
               gsize    max)
{
  const char *p = str->str;
  const char *end = str->str;

  if (str->len <= max)
    return;

  while (*p != '\0')
    {
      const char *next = g_utf8_next_char (p);

      if ((gsize) (next - str->str) > max)
        break;
      end = next;
      p = next;
    }

  g_string_truncate (str, end - str->str);
}

static void
strip_trailing (GString *str)
{
  while (str->len > 0 && is_trimmed (str->str[str->len - 1]))
    g_string_truncate (str, str->len - 1);
}

char *
_ferry_sanitize_filename (const char *name)
{
  g_autofree char *valid = NULL;
  GString *out;
  const char *base;
  const char *p;
  gsize skip = 0;

  if (name == NULL)
    return g_strdup ("file");

  valid = g_utf8_make_valid (name, -1);

  base = valid;
  for (p = valid; *p != '\0'; p++)
    if (*p == '/' || *p == '\\')
      base = p + 1;

  out = g_string_new (NULL);
  for (p = base; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (is_unsafe_char (c))
        g_string_append_c (out, '_');
      else
        g_string_append_len (out, p, g_utf8_next_char (p) - p);
    }

  while (skip < out->len && is_trimmed (out->str[skip]))
    skip++;
  g_string_erase (out, 0, skip);
  strip_trailing (out);

  if (out->len > MAX_NAME_BYTES)
    {
      const char *ext = find_extension (out->str);
      gsize ext_len = strlen (ext);
      g_autofree char *extension = g_strdup (ext);

      g_string_truncate (out, ext - out->str);
      truncate_utf8 (out, MAX_NAME_BYTES - ext_len);
      strip_trailing (out);
      g_string_append (out, extension);
      strip_trailing (out);
    }

  if (out->len == 0)
    g_string_assign (out, "file");

  /* "x.part" becomes "x_part": never taken for, nor in the way of, an
   * unfinished file */
  if (g_str_has_suffix (out->str, PART_SUFFIX) && out->len > strlen (PART_SUFFIX))
    out->str[out->len - strlen (PART_SUFFIX)] = '_';

  return g_string_free (out, FALSE);
}

char *
_ferry_filename_variant (const char *name,
                         guint       n)
{
  const char *ext;

  g_return_val_if_fail (name != NULL, NULL);

  if (n == 0)
    return g_strdup (name);

  ext = find_extension (name);

  return g_strdup_printf ("%.*s (%u)%s", (int) (ext - name), name, n, ext);
}

/* Display names ---------------------------------------------------------- */

static gboolean
is_name_space (gunichar c)
{
  return c == '\t' || c == '\n' || c == '\r' || c == 0x0b || c == 0x0c ||
         c == 0x85 || c == 0x2028 || c == 0x2029 || g_unichar_isspace (c);
}

/* Characters a name never keeps: what is unsafe in a file name, and every
 * other invisible format character (zero-width spaces, word joiners, soft
 * hyphens, tags...) but the zero-width joiner that emoji sequences use. */
static gboolean
is_name_dropped (gunichar c)
{
  GUnicodeType type = g_unichar_type (c);

  if (c == 0x200d)
    return FALSE;

  return is_unsafe_char (c) ||
         type == G_UNICODE_CONTROL ||
         type == G_UNICODE_FORMAT ||
         type == G_UNICODE_SURROGATE ||
         type == G_UNICODE_UNASSIGNED ||
         type == G_UNICODE_PRIVATE_USE;
}

char *
_ferry_sanitize_display_name (const char *name,
                              gssize      length)
{
  g_autofree char *valid = NULL;
  g_autoptr(GString) out = NULL;
  const char *p;
  gboolean pending_space = FALSE;
  guint chars = 0;

  if (name == NULL)
    return NULL;

  valid = g_utf8_make_valid (name, length);
  out = g_string_sized_new (MIN (strlen (valid), FERRY_DISPLAY_NAME_MAX_BYTES));

  for (p = valid; *p != '\0' && chars < FERRY_DISPLAY_NAME_MAX_CHARS; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      gsize len = g_utf8_next_char (p) - p;

      if (is_name_space (c))
        {
          pending_space = out->len > 0;
          continue;
        }
      if (is_name_dropped (c))
        continue;
      if (out->len + (pending_space ? 1 : 0) + len > FERRY_DISPLAY_NAME_MAX_BYTES ||
          chars + (pending_space ? 1 : 0) >= FERRY_DISPLAY_NAME_MAX_CHARS)
        break;
      if (pending_space)
        {
          g_string_append_c (out, ' ');
          chars++;
          pending_space = FALSE;
        }
      g_string_append_len (out, p, len);
      chars++;
    }

  if (out->len == 0)
    return NULL;

  return g_string_free (g_steal_pointer (&out), FALSE);
}

char *
_ferry_sanitize_relative_path (const char  *path,
                               guint        extra_depth,
                               GError     **error)
{
  g_auto(GStrv) parts = NULL;
  GString *out;
  guint depth;
  g_autofree char *shown = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  shown = g_utf8_make_valid (path, MIN (strlen (path), 200));
  if (strlen (path) > MAX_PATH_BYTES)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                   _("The offer holds a path longer than %u bytes"), MAX_PATH_BYTES);
      return NULL;
    }

  /* "" splits into no component at all */
  parts = g_strsplit (path[0] != '\0' ? path : "/", "/", -1);
  depth = g_strv_length (parts);
  if (depth + extra_depth > MAX_PATH_DEPTH)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                   _("The offer holds a path deeper than %u folders"), MAX_PATH_DEPTH);
      return NULL;
    }

  out = g_string_new (NULL);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      g_autofree char *safe = NULL;

      if (parts[i][0] == '\0' || g_str_equal (parts[i], ".") || g_str_equal (parts[i], "..") ||
          strchr (parts[i], '\\') != NULL)
        {
          g_set_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                       _("The offer holds an unsafe path: “%s”"), shown);
          g_string_free (out, TRUE);
          return NULL;
        }
      safe = _ferry_sanitize_filename (parts[i]);
      if (i > 0)
        g_string_append_c (out, '/');
      g_string_append (out, safe);
    }

  return g_string_free (out, FALSE);
}
