/* fuzz-identity.h: one identity per harness run
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "ferry-identity-private.h"

G_BEGIN_DECLS

/* Made on first use in fuzz_tmp_dir (). */
FerryIdentity *fuzz_identity (void);

G_END_DECLS
