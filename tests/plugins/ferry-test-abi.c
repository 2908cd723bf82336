/* ferry-test-abi.c: a plugin built for another plugin ABI
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <ferry/ferry.h>

static gboolean
register_features (FerryPlugin  *plugin,
                   GError      **error)
{
  g_error ("a plugin of the wrong ABI must never be initialised");
  return FALSE;
}

G_MODULE_EXPORT const FerryPluginDesc *ferry_plugin_abi_get_desc (void);

G_MODULE_EXPORT const FerryPluginDesc *
ferry_plugin_abi_get_desc (void)
{
  static const FerryPluginDesc desc = {
    99, 0,
    "abi", "1.0", "A test plugin built for ABI 99", "LGPL-2.1-or-later",
    register_features, { NULL, }
  };

  return &desc;
}
