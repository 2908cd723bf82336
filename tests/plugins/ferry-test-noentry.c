/* ferry-test-noentry.c: a module without the entry point its file name
 * (libferry-noentry.so) calls for
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <ferry/ferry.h>

static gboolean
register_features (FerryPlugin  *plugin,
                   GError      **error)
{
  g_error ("a plugin without its entry point must never be initialised");
  return FALSE;
}

/* A valid plugin, but under an entry point named after another file. */
FERRY_PLUGIN_DEFINE (no_entry, "noentry",
                     "A test plugin whose entry point has the wrong name",
                     "1.0", "LGPL-2.1-or-later",
                     register_features)
