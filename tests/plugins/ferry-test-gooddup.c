/* ferry-test-gooddup.c: a plugin with the name of the good one, in a file
 * of its own (libferry-gooddup.so)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <ferry/ferry.h>

static gboolean
register_features (FerryPlugin  *plugin,
                   GError      **error)
{
  return TRUE;
}

FERRY_PLUGIN_DEFINE (gooddup, "good",
                     "A test plugin that takes the name of another one",
                     "1.0", "LGPL-2.1-or-later",
                     register_features)
