/* fuzz-config.c: ferry.conf as an engine reads it (ferry_engine_new)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ferry.h"
#include "fuzz-common.h"

static char *home;
static char *conf;

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  g_autoptr(FerryEngine) engine = NULL;

  fuzz_init_logging ();
  home = g_build_filename (fuzz_tmp_dir (), "home", NULL);
  conf = g_build_filename (home, "ferry.conf", NULL);
  /* The identity is made once; each input then only loads it. */
  engine = ferry_engine_new (home, NULL, NULL);
  g_assert (engine != NULL);
  return 0;
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autoptr(FerryEngine) engine = NULL;
  g_autoptr(GError) error = NULL;

  if (!g_file_set_contents (conf, (const char *) data, size, NULL))
    return 0;

  engine = ferry_engine_new (home, NULL, &error);
  g_assert ((engine == NULL) == (error != NULL));
  if (engine != NULL)
    {
      const char *name = ferry_identity_get_name (ferry_engine_get_identity (engine));

      g_assert (name == NULL || g_utf8_validate (name, -1, NULL));
    }
  return 0;
}
