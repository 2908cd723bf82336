/* test-identity-common.c: what the identity and envelope tests share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "test-identity-common.h"

char *
home_path (const char *name)
{
  return g_build_filename (g_get_user_data_dir (), name, NULL);
}

FerryIdentity *
make_identity (const char *name)
{
  g_autofree char *dir = home_path (name);
  g_autoptr(GError) error = NULL;
  FerryIdentity *identity;

  identity = ferry_identity_new (dir, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (FERRY_IS_IDENTITY (identity));

  return identity;
}

char *
read_file (const char *dir,
           const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;
  char *contents = NULL;

  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);

  return contents;
}
