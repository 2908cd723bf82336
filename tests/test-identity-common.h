/* test-identity-common.h: what the identity and envelope tests share
 *
 * Identities made in homes inside the test's isolated data directory.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "ferry-identity-private.h"

G_BEGIN_DECLS

/* @name inside the test's isolated user data directory. */
char          *home_path     (const char *name);
/* A new identity (keys generated) in home_path (@name). */
FerryIdentity *make_identity (const char *name);
/* The contents of @name in @dir; fails the test when it cannot be read. */
char          *read_file     (const char *dir,
                              const char *name);

G_END_DECLS
