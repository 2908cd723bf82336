/* test-registry-common.c: what the registry tests share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "test-registry-common.h"

guint
count_loaded (FerryRegistry *registry)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (registry));
  guint loaded = 0;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(FerryPlugin) plugin = g_list_model_get_item (G_LIST_MODEL (registry), i);

      if (ferry_plugin_is_loaded (plugin))
        loaded++;
    }

  return loaded;
}
