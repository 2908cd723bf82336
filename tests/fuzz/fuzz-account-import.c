/* fuzz-account-import.c: account export files (ferry_account_import)
 *
 * Each input is written to a file and imported into a fresh home with a
 * fixed passphrase. The key derivation costs what the file says, within
 * the importer's bounds: inputs asking for more than FUZZ_MAX_ITERATIONS
 * are skipped so that a run measures parsing, not PBKDF2.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "ferry.h"
#include "fuzz-common.h"

#define FUZZ_MAX_ITERATIONS 200000
#define PASSPHRASE "correct horse battery"

static char *path;
static char *home;

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  fuzz_init_logging ();
  path = g_build_filename (fuzz_tmp_dir (), "export.json", NULL);
  home = g_build_filename (fuzz_tmp_dir (), "home", NULL);
  return 0;
}

static gboolean
too_costly (const guint8 *data,
            size_t        size)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonNode *root;
  JsonNode *node;

  if (!g_utf8_validate_len ((const char *) data, size, NULL) ||
      !json_parser_load_from_data (parser, (const char *) data, size, NULL) ||
      (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return FALSE;
  node = json_object_get_member (json_node_get_object (root), "iterations");
  return node != NULL && JSON_NODE_HOLDS_VALUE (node) &&
         json_node_get_value_type (node) == G_TYPE_INT64 &&
         json_node_get_int (node) > FUZZ_MAX_ITERATIONS;
}

static void
clear_home (void)
{
  GDir *dir = g_dir_open (home, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (home, name, NULL);

      g_unlink (child);
    }
  if (dir != NULL)
    g_dir_close (dir);
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autoptr(GError) error = NULL;
  gboolean imported;

  if (too_costly (data, size) || !g_file_set_contents (path, (const char *) data, size, NULL))
    return 0;

  clear_home ();
  imported = ferry_account_import (home, path, PASSPHRASE, &error);
  g_assert (imported == (error == NULL));
  clear_home ();
  return 0;
}
