/* ferry-hasher.c: SHA3-256, the digest of the session protocol
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <openssl/evp.h>

#include "ferry-hasher-private.h"
#include "ferry-utils-private.h"

#define DIGEST_SIZE 32

/* OpenSSL's Keccak has AVX2/AVX-512 code: about twice nettle's portable
 * C on the machines Ferry was measured on, and SHA3-256 is the slowest
 * stage of a verified transfer. Nothing else of OpenSSL is used. */
struct _FerryHasher
{
  EVP_MD_CTX *ctx;
};

static void
hasher_start (FerryHasher *hasher)
{
  if (EVP_DigestInit_ex (hasher->ctx, EVP_sha3_256 (), NULL) != 1)
    g_error ("SHA3-256 is not available from libcrypto");
}

FerryHasher *
_ferry_hasher_new (void)
{
  FerryHasher *hasher = g_new0 (FerryHasher, 1);

  hasher->ctx = EVP_MD_CTX_new ();
  if (hasher->ctx == NULL)
    g_error ("Out of memory for a SHA3-256 context");
  hasher_start (hasher);
  return hasher;
}

void
_ferry_hasher_update (FerryHasher  *hasher,
                      const guint8 *data,
                      gsize         length)
{
  if (EVP_DigestUpdate (hasher->ctx, data, length) != 1)
    g_error ("SHA3-256 failed");
}

char *
_ferry_hasher_finish (FerryHasher *hasher)
{
  guint8 digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  char *hex;

  if (EVP_DigestFinal_ex (hasher->ctx, digest, &size) != 1 || size != DIGEST_SIZE)
    g_error ("SHA3-256 failed");
  hex = _ferry_hex_encode (digest, DIGEST_SIZE);

  /* ready for what comes next */
  hasher_start (hasher);
  return hex;
}

void
_ferry_hasher_free (FerryHasher *hasher)
{
  if (hasher == NULL)
    return;

  EVP_MD_CTX_free (hasher->ctx);
  g_free (hasher);
}
