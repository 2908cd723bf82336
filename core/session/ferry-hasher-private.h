/* ferry-hasher-private.h: SHA3-256, the digest of the session protocol
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The one place that knows which library computes SHA3-256 (OpenSSL's
 * libcrypto): swap the implementation here and nothing else changes. Not
 * thread-safe: one hasher is used by one thread at a time. */
typedef struct _FerryHasher FerryHasher;

FerryHasher *_ferry_hasher_new    (void);
void         _ferry_hasher_update (FerryHasher  *hasher,
                                   const guint8 *data,
                                   gsize         length);
/* Returns the digest of everything given since the last one (or since
 * _ferry_hasher_new()) as 64 lower-case hex digits, and starts over. */
char        *_ferry_hasher_finish (FerryHasher  *hasher);
void         _ferry_hasher_free   (FerryHasher  *hasher);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerryHasher, _ferry_hasher_free)

G_END_DECLS
