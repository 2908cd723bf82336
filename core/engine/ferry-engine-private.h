/* ferry-engine-private.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "ferry-engine.h"

G_BEGIN_DECLS

/* Default timeouts, overridable in ferry.conf [core]. */
#define FERRY_DEFAULT_OFFER_TIMEOUT_S    600
#define FERRY_DEFAULT_CONNECT_TIMEOUT_S  10
#define FERRY_DEFAULT_STAGGER_MS         150
/* A receiving transfer with no byte for this long counts as cut off. */
#define FERRY_DEFAULT_STALL_TIMEOUT_S    60
/* How long a sender waits for the answer to its offer. */
#define FERRY_ANSWER_TIMEOUT_MS          15000

G_END_DECLS
