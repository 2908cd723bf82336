/* ferry-utils.c: hexadecimal and base64 text, the one way the core reads
 * and writes them
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <nettle/base16.h>
#include <nettle/base64.h>

#include "ferry-utils-private.h"

char *
_ferry_hex_encode (const guint8 *data,
                   gsize         len)
{
  char *hex = g_malloc (BASE16_ENCODE_LENGTH (len) + 1);

  if (len > 0)
    base16_encode_update (hex, len, data);
  hex[BASE16_ENCODE_LENGTH (len)] = '\0';

  return hex;
}

gboolean
_ferry_hex_decode (const char *hex,
                   guint8     *raw,
                   gsize       raw_len)
{
  struct base16_decode_ctx ctx;
  size_t done = raw_len;

  if (!_ferry_str_is_lower_hex_len (hex, 2 * raw_len))
    return FALSE;
  if (raw_len == 0)
    return TRUE;

  base16_decode_init (&ctx);
  return base16_decode_update (&ctx, &done, raw, 2 * raw_len, hex) &&
         base16_decode_final (&ctx) && done == raw_len;
}

/* Only the alphabet, then at most two '=' that pad the text to a
 * multiple of four characters. */
static gboolean
is_strict_base64 (const char *text,
                  gsize       len)
{
  gsize padding = 0;

  if (len == 0 || len % 4 != 0)
    return FALSE;
  if (text[len - 1] == '=')
    padding++;
  if (text[len - 2] == '=')
    padding++;
  for (gsize i = 0; i < len - padding; i++)
    if (!g_ascii_isalnum (text[i]) && text[i] != '+' && text[i] != '/')
      return FALSE;

  return TRUE;
}

guint8 *
_ferry_base64_decode_strict (const char *text,
                             gsize      *len)
{
  struct base64_decode_ctx ctx;
  gsize text_len = strlen (text);
  size_t done = BASE64_DECODE_LENGTH (text_len);
  guint8 *data;

  *len = 0;
  if (!is_strict_base64 (text, text_len))
    return NULL;

  data = g_malloc (done + 1);
  base64_decode_init (&ctx);
  if (!base64_decode_update (&ctx, &done, data, text_len, text) ||
      !base64_decode_final (&ctx))
    {
      g_free (data);
      return NULL;
    }
  *len = done;

  return data;
}
