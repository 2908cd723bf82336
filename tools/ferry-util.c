/* ferry-util.c: small helpers of the ferry tool: errors, ids, formats
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

#include <glib/gi18n.h>

#include "ferry-tool.h"

gint64
tool_elapsed_ms (FerryTool *tool)
{
  return (g_get_monotonic_time () - tool->start_us) / 1000;
}

void
tool_print_error (const char *format,
                  ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  g_printerr ("ferry: %s\n", message);
}

int
tool_usage_error (const char *format,
                  ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  g_printerr ("ferry: %s\n", message);
  g_printerr (_("Try “ferry --help” for more information.\n"));
  return EXIT_USAGE;
}

char *
tool_file_to_utf8 (GFile *file)
{
  g_autofree char *path = file ? g_file_get_path (file) : NULL;
  char *utf8;

  if (path == NULL)
    return file ? g_file_get_uri (file) : NULL;
  utf8 = g_filename_to_utf8 (path, -1, NULL, NULL, NULL);
  return utf8 ? utf8 : g_filename_display_name (path);
}

const char *
tool_error_code (const GError *error)
{
  if (error == NULL)
    return "failed";

  if (error->domain == FERRY_ERROR)
    {
      GEnumClass *klass = g_type_class_ref (FERRY_TYPE_ERROR);
      GEnumValue *value = g_enum_get_value (klass, error->code);
      const char *nick = value ? value->value_nick : "failed";

      /* Static enum type: the nick stays valid after the unref. */
      g_type_class_unref (klass);
      return nick;
    }

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return "cancelled";

  return "failed";
}

const char *
tool_state_nick (FerryTransferState state)
{
  GEnumClass *klass = g_type_class_ref (FERRY_TYPE_TRANSFER_STATE);
  GEnumValue *value = g_enum_get_value (klass, state);
  const char *nick = value ? value->value_nick : "unknown";

  /* Static enum type: the nick stays valid after the unref. */
  g_type_class_unref (klass);
  return nick;
}

gboolean
tool_is_hex_id (const char *id)
{
  gsize len = strlen (id);

  if (len < MIN_ID_PREFIX)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isxdigit (id[i]))
      return FALSE;
  return TRUE;
}

gboolean
tool_id_has_prefix (const char *id,
                    const char *prefix)
{
  gsize len = strlen (prefix);

  return id != NULL && strlen (id) >= len &&
         g_ascii_strncasecmp (id, prefix, len) == 0;
}

char *
tool_format_rate (double rate)
{
  g_autofree char *size = NULL;

  if (!isfinite (rate) || rate < 0)
    rate = 0;
  size = g_format_size ((guint64) rate);
  /* TRANSLATORS: a transfer rate, e.g. “120.3 MB/s” */
  return g_strdup_printf (_("%s/s"), size);
}

char *
tool_format_duration (double seconds)
{
  guint64 s;

  if (!isfinite (seconds) || seconds < 0)
    return g_strdup ("-:--");
  s = (guint64) (seconds + 0.5);
  if (s >= 3600)
    return g_strdup_printf ("%" G_GUINT64_FORMAT ":%02u:%02u", s / 3600,
                            (guint) (s / 60 % 60), (guint) (s % 60));
  return g_strdup_printf ("%u:%02u", (guint) (s / 60), (guint) (s % 60));
}

guint64
tool_peak_rss_kib (void)
{
  g_autofree char *status = NULL;
  const char *line;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return 0;
  line = strstr (status, "VmHWM:");
  if (line == NULL)
    return 0;
  return g_ascii_strtoull (line + strlen ("VmHWM:"), NULL, 10);
}
