/* ferry-rate-limit.c: a token bucket that paces what a sender writes
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The bucket fills at the rate, up to its burst. A reservation takes its
 * bytes at once and may leave the bucket in debt: the caller then waits
 * until the debt is paid back, so that several sessions sharing one
 * bucket queue behind each other and, together, keep to the rate. The
 * bucket only computes deadlines; the waiting is the caller's (a session
 * waits on its own condition, so that a cancel wakes it).
 */
#include "config.h"

#include <string.h>

#include "ferry-rate-limit-private.h"

struct _FerryRateLimit
{
  gatomicrefcount  ref_count;
  GMutex           lock;
  guint64          rate;       /* bytes per second */
  double           burst;      /* bytes */
  double           tokens;     /* bytes; negative: debt */
  gint64           last_us;    /* when @tokens was last brought up to date */
  guint64          waits;
};

FerryRateLimit *
_ferry_rate_limit_new (guint64 bytes_per_second)
{
  FerryRateLimit *limit = g_new0 (FerryRateLimit, 1);

  g_atomic_ref_count_init (&limit->ref_count);
  g_mutex_init (&limit->lock);
  limit->rate = MAX (bytes_per_second, FERRY_RATE_LIMIT_MIN);
  limit->burst = MAX ((double) (limit->rate / 10), (double) FERRY_RATE_LIMIT_MIN);
  limit->tokens = limit->burst;
  limit->last_us = g_get_monotonic_time ();

  return limit;
}

FerryRateLimit *
_ferry_rate_limit_ref (FerryRateLimit *limit)
{
  g_return_val_if_fail (limit != NULL, NULL);

  g_atomic_ref_count_inc (&limit->ref_count);
  return limit;
}

void
_ferry_rate_limit_unref (FerryRateLimit *limit)
{
  g_return_if_fail (limit != NULL);

  if (!g_atomic_ref_count_dec (&limit->ref_count))
    return;

  g_mutex_clear (&limit->lock);
  g_free (limit);
}

guint64
_ferry_rate_limit_get_rate (FerryRateLimit *limit)
{
  g_return_val_if_fail (limit != NULL, 0);

  return limit->rate;
}

gsize
_ferry_rate_limit_get_burst (FerryRateLimit *limit)
{
  g_return_val_if_fail (limit != NULL, 0);

  return (gsize) MIN (limit->burst, (double) G_MAXSIZE);
}

gint64
_ferry_rate_limit_reserve (FerryRateLimit *limit,
                           gsize           n)
{
  gint64 now = g_get_monotonic_time ();
  gint64 wait_us = 0;

  g_return_val_if_fail (limit != NULL, now);

  g_mutex_lock (&limit->lock);
  if (now > limit->last_us)
    {
      limit->tokens += (double) (now - limit->last_us) * (double) limit->rate / G_USEC_PER_SEC;
      limit->tokens = MIN (limit->tokens, limit->burst);
      limit->last_us = now;
    }
  limit->tokens -= (double) n;
  if (limit->tokens < 0)
    {
      /* rounded up: never a microsecond early */
      wait_us = (gint64) (-limit->tokens * G_USEC_PER_SEC / (double) limit->rate) + 1;
      limit->waits++;
    }
  g_mutex_unlock (&limit->lock);

  return now + wait_us;
}

guint64
_ferry_rate_limit_get_waits (FerryRateLimit *limit)
{
  guint64 waits;

  g_return_val_if_fail (limit != NULL, 0);

  g_mutex_lock (&limit->lock);
  waits = limit->waits;
  g_mutex_unlock (&limit->lock);
  return waits;
}

/* Decimal digits with at most one '.', then an optional K, M, G or T. */
gboolean
_ferry_rate_limit_parse (const char *text,
                         guint64    *bytes_per_second)
{
  static const char suffixes[] = "KMGT";
  guint64 whole = 0;
  guint64 fraction = 0;
  guint64 scale = 1;
  guint64 multiplier = 1;
  guint digits = 0;
  const char *p = text;

  g_return_val_if_fail (bytes_per_second != NULL, FALSE);

  if (text == NULL)
    return FALSE;
  for (; g_ascii_isdigit (*p); p++, digits++)
    {
      if (whole > (G_MAXUINT64 - 9) / 10)
        return FALSE;
      whole = whole * 10 + (guint64) (*p - '0');
    }
  if (digits == 0)
    return FALSE;
  if (*p == '.')
    {
      if (!g_ascii_isdigit (p[1]))
        return FALSE;
      for (p++; g_ascii_isdigit (*p); p++)
        if (scale < G_GUINT64_CONSTANT (1000000000))
          {
            fraction = fraction * 10 + (guint64) (*p - '0');
            scale *= 10;
          }
    }
  if (*p != '\0')
    {
      const char *suffix = strchr (suffixes, g_ascii_toupper (*p));

      if (suffix == NULL || p[1] != '\0')
        return FALSE;
      for (gssize i = 0; i <= suffix - suffixes; i++)
        multiplier *= 1024;
    }
  else if (scale > 1)
    return FALSE;   /* a fraction of a byte */

  if (whole > G_MAXUINT64 / multiplier - 1)
    return FALSE;
  whole *= multiplier;
  /* the fraction has at most 9 digits, the multiplier is at most 2^40 */
  whole += (guint64) ((double) fraction * (double) multiplier / (double) scale);
  if (whole != 0 && whole < FERRY_RATE_LIMIT_MIN)
    return FALSE;

  *bytes_per_second = whole;
  return TRUE;
}
