/* ferry-envelope-internal.h: what the parts of the envelope code share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   ferry-envelope.c        building and signing messages
 *   ferry-envelope-parse.c  checking a signed message, the replay cache
 *   ferry-envelope-seal.c   sealing and opening; what a receiver runs
 */
#pragma once

#include "ferry-envelope-private.h"
#include "ferry-error.h"

G_BEGIN_DECLS

#define ENVELOPE_VERSION 1
/* Random bytes in a message id (32 hex digits). */
#define ID_BYTES 16

/* Every reason to drop a message goes through here: one debug line each. */
void      _ferry_envelope_drop      (GError           **error,
                                     FerryError         code,
                                     const char        *format,
                                     ...) G_GNUC_PRINTF (3, 4);

/* The start of a device id, for messages. */
char     *_ferry_envelope_shorten   (const char        *id);

/* Remembers "@device/@id"; FALSE when it was already there. */
gboolean  _ferry_replay_cache_add   (FerryReplayCache  *cache,
                                     const char        *device,
                                     const char        *id,
                                     gint64             timestamp_ms,
                                     gint64             now_ms);

G_END_DECLS
