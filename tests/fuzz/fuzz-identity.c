/* fuzz-identity.c: one identity per harness run
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "fuzz-common.h"
#include "fuzz-identity.h"

static FerryIdentity *identity;

FerryIdentity *
fuzz_identity (void)
{
  if (identity == NULL)
    {
      g_autofree char *dir = g_build_filename (fuzz_tmp_dir (), "identity", NULL);
      g_autoptr(GError) error = NULL;

      identity = ferry_identity_new (dir, NULL, &error);
      g_assert_no_error (error);
    }
  return identity;
}
