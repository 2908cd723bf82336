/* ferry-hasher.c: SHA3-256, the digest of the session protocol
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <nettle/sha3.h>

#include "ferry-hasher-private.h"

struct _FerryHasher
{
  struct sha3_256_ctx ctx;
};

FerryHasher *
_ferry_hasher_new (void)
{
  FerryHasher *hasher = g_new0 (FerryHasher, 1);

  sha3_256_init (&hasher->ctx);
  return hasher;
}

void
_ferry_hasher_update (FerryHasher  *hasher,
                      const guint8 *data,
                      gsize         length)
{
  sha3_256_update (&hasher->ctx, length, data);
}

char *
_ferry_hasher_finish (FerryHasher *hasher)
{
  guint8 digest[SHA3_256_DIGEST_SIZE];
  char *hex = g_malloc (2 * SHA3_256_DIGEST_SIZE + 1);

  /* also resets the context for what comes next */
  sha3_256_digest (&hasher->ctx, sizeof digest, digest);
  for (guint i = 0; i < sizeof digest; i++)
    {
      hex[2 * i] = "0123456789abcdef"[digest[i] >> 4];
      hex[2 * i + 1] = "0123456789abcdef"[digest[i] & 0xf];
    }
  hex[2 * SHA3_256_DIGEST_SIZE] = '\0';

  return hex;
}

void
_ferry_hasher_free (FerryHasher *hasher)
{
  g_free (hasher);
}
