/* ferry-rate-limit-private.h: a token bucket that paces what a sender writes
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The smallest limit, in bytes per second; a smaller one counts as this. */
#define FERRY_RATE_LIMIT_MIN 1024

/* One limit, shared by every session that sends one transfer (the devices
 * of a fan-out split it). The bucket holds at most a tenth of a second's
 * worth (its burst, at least FERRY_RATE_LIMIT_MIN bytes) and starts full.
 * Thread-safe. */
typedef struct _FerryRateLimit FerryRateLimit;

FerryRateLimit *_ferry_rate_limit_new       (guint64          bytes_per_second);
FerryRateLimit *_ferry_rate_limit_ref       (FerryRateLimit  *limit);
void            _ferry_rate_limit_unref     (FerryRateLimit  *limit);
guint64         _ferry_rate_limit_get_rate  (FerryRateLimit  *limit);
/* The most bytes the bucket holds: write in pieces of at most this. */
gsize           _ferry_rate_limit_get_burst (FerryRateLimit  *limit);
/* Takes @n bytes from the bucket, going into debt when it holds fewer,
 * and returns the time of the monotonic clock at which they may go out
 * (now or earlier: at once). The caller waits until then. */
gint64          _ferry_rate_limit_reserve   (FerryRateLimit  *limit,
                                             gsize            n);
/* How many reservations had to wait so far. */
guint64         _ferry_rate_limit_get_waits (FerryRateLimit  *limit);

/* Parses a rate such as "50M", "800K", "1.5G" or "65536": bytes per
 * second, K = 1024. "0" is no limit. Anything else (a sign, a space, an
 * unknown suffix, a non-zero rate below 1K, an overflow) is refused. */
gboolean        _ferry_rate_limit_parse     (const char      *text,
                                             guint64         *bytes_per_second);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerryRateLimit, _ferry_rate_limit_unref)

G_END_DECLS
