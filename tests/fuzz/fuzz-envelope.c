/* fuzz-envelope.c: signaling messages as they come off the network
 * (core/signaling/ferry-envelope-parse.c, ferry-envelope-seal.c)
 *
 * The first byte picks what is fuzzed, the rest is the wire:
 *   0: _ferry_envelope_parse (a signed envelope)
 *   1: _ferry_envelope_receive (sealed, or an unsealed announcement)
 *   2: the wire sealed to this device first, then received, so that the
 *      signed envelope inside a seal is reached
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ferry-envelope-private.h"
#include "fuzz-common.h"
#include "fuzz-identity.h"

static FerryReplayCache *cache;

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  fuzz_init_logging ();
  fuzz_identity ();
  cache = _ferry_replay_cache_new ();
  return 0;
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  FerryIdentity *identity = fuzz_identity ();
  const char *own = ferry_identity_get_device_id (identity);
  g_autoptr(GBytes) wire = NULL;
  g_autoptr(GBytes) sealed = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(FerryEnvelope) envelope = NULL;

  if (size < 1)
    return 0;
  wire = g_bytes_new (data + 1, size - 1);

  switch (data[0] % 3)
    {
    case 0:
      envelope = _ferry_envelope_parse (wire, own, cache, &error);
      break;
    case 1:
      envelope = _ferry_envelope_receive (identity, wire, cache, &error);
      break;
    default:
      sealed = _ferry_envelope_seal (identity, own, _ferry_identity_get_x25519_public (identity),
                                     wire, &error);
      if (sealed == NULL)
        return 0;
      envelope = _ferry_envelope_receive (identity, sealed, cache, &error);
      break;
    }

  g_assert ((envelope == NULL) == (error != NULL));
  if (envelope != NULL)
    {
      g_assert (envelope->from_name != NULL && envelope->from_name[0] != '\0');
      g_assert (g_utf8_validate (envelope->from_name, -1, NULL));
    }
  return 0;
}
