/* ferry-utils-private.h: small helpers shared by the core
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <string.h>

#include <glib.h>

G_BEGIN_DECLS

/* g_set_str() arrived in GLib 2.76; Debian 12 has 2.74. */
static inline gboolean
_ferry_set_str (char       **str_pointer,
                const char  *new_str)
{
  char *copy;

  if (*str_pointer == new_str || g_strcmp0 (*str_pointer, new_str) == 0)
    return FALSE;
  copy = g_strdup (new_str);
  g_free (*str_pointer);
  *str_pointer = copy;
  return TRUE;
}

/* TRUE when @s holds only lower-case hexadecimal digits. */
static inline gboolean
_ferry_str_is_lower_hex (const char *s)
{
  for (; *s != '\0'; s++)
    if (!g_ascii_isdigit (*s) && !(*s >= 'a' && *s <= 'f'))
      return FALSE;
  return TRUE;
}

/* TRUE when @s is exactly @len lower-case hexadecimal digits. */
static inline gboolean
_ferry_str_is_lower_hex_len (const char *s,
                             gsize       len)
{
  return s != NULL && strlen (s) == len && _ferry_str_is_lower_hex (s);
}

/* Account and device ids: lower-case hex SHA-256, 64 digits. */
#define FERRY_ID_HEX_LENGTH 64

static inline gboolean
_ferry_device_id_is_valid (const char *id)
{
  return _ferry_str_is_lower_hex_len (id, FERRY_ID_HEX_LENGTH);
}

/* Lower-case hex of @len bytes of @data (nettle's base16). */
char     *_ferry_hex_encode           (const guint8 *data,
                                       gsize         len);

/* Decodes @hex, which must be exactly 2 × @raw_len lower-case hex digits,
 * into @raw. */
gboolean  _ferry_hex_decode           (const char   *hex,
                                       guint8       *raw,
                                       gsize         raw_len);

/* Decodes strict base64: the standard alphabet only, no white space,
 * padded with '=' to a multiple of four characters, not empty. Returns a
 * new buffer and sets @len, or NULL. */
guint8   *_ferry_base64_decode_strict (const char  *text,
                                       gsize       *len);

/* The one rule for a transfer id, in messages, session headers and the
 * history: 8 to 64 lower-case hexadecimal digits (this device makes 32). */
static inline gboolean
_ferry_transfer_id_is_valid (const char *id)
{
  gsize len = id != NULL ? strlen (id) : 0;

  return len >= 8 && len <= 64 && _ferry_str_is_lower_hex (id);
}

/* Every source the library creates is attached to the context of the
 * engine it works for, never to the global default one. The caller owns
 * the returned reference; drop it with _ferry_clear_source(). */
static inline GSource *
_ferry_timeout_source_attach (GMainContext   *context,
                              guint           interval_ms,
                              GSourceFunc     func,
                              gpointer        data,
                              GDestroyNotify  notify)
{
  GSource *source = g_timeout_source_new (interval_ms);

  g_source_set_callback (source, func, data, notify);
  g_source_attach (source, context);
  return source;
}

static inline GSource *
_ferry_timeout_source_attach_seconds (GMainContext   *context,
                                      guint           interval_s,
                                      GSourceFunc     func,
                                      gpointer        data,
                                      GDestroyNotify  notify)
{
  GSource *source = g_timeout_source_new_seconds (interval_s);

  g_source_set_callback (source, func, data, notify);
  g_source_attach (source, context);
  return source;
}

static inline GSource *
_ferry_idle_source_attach (GMainContext   *context,
                           GSourceFunc     func,
                           gpointer        data,
                           GDestroyNotify  notify)
{
  GSource *source = g_idle_source_new ();

  g_source_set_callback (source, func, data, notify);
  g_source_attach (source, context);
  return source;
}

/* Destroys *@source (it will not fire again) and drops the reference;
 * safe from the source's own callback. */
static inline void
_ferry_clear_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_source_unref (*source);
      *source = NULL;
    }
}

G_END_DECLS
