/* test-registry-common.h: what the registry tests share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <ferry/ferry.h>

G_BEGIN_DECLS

/* How many plugins of @registry are loaded (failed ones are listed too). */
guint count_loaded (FerryRegistry *registry);

G_END_DECLS
