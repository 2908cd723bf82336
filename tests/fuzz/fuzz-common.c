/* fuzz-common.c: what the libFuzzer harnesses share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdlib.h>

#include <glib/gstdio.h>

#include "fuzz-common.h"

static GLogWriterOutput
quiet_writer (GLogLevelFlags   level,
              const GLogField *fields,
              gsize            n_fields,
              gpointer         user_data)
{
  if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
    {
      g_log_writer_standard_streams (level, fields, n_fields, user_data);
      /* abort (), not a breakpoint: libFuzzer keeps the input that did it. */
      abort ();
    }
  return G_LOG_WRITER_HANDLED;
}

void
fuzz_init_logging (void)
{
  g_log_set_writer_func (quiet_writer, NULL, NULL);
}

static char *tmp_dir;

static void
remove_tree (const char *path)
{
  GDir *dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_tree (child);
      else
        g_unlink (child);
    }
  if (dir != NULL)
    g_dir_close (dir);
  g_rmdir (path);
}

static void
remove_tmp_dir (void)
{
  if (tmp_dir != NULL)
    remove_tree (tmp_dir);
  g_clear_pointer (&tmp_dir, g_free);
}

const char *
fuzz_tmp_dir (void)
{
  if (tmp_dir == NULL)
    {
      tmp_dir = g_dir_make_tmp ("ferry-fuzz-XXXXXX", NULL);
      g_assert (tmp_dir != NULL);
      atexit (remove_tmp_dir);
    }
  return tmp_dir;
}
