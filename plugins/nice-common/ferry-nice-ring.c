/* ferry-nice-ring.c: a bounded byte ring
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "ferry-nice-ring.h"

#define RING_SLACK (64 * 1024)   /* room left after growing */

void
_ferry_nice_ring_init (FerryNiceRing  *ring,
                       gsize  capacity)
{
  ring->data = g_malloc (capacity);
  ring->capacity = capacity;
  ring->start = 0;
  ring->length = 0;
}

void
_ferry_nice_ring_clear (FerryNiceRing *ring)
{
  g_clear_pointer (&ring->data, g_free);
  ring->capacity = ring->start = ring->length = 0;
}

gsize
_ferry_nice_ring_free_space (const FerryNiceRing *ring)
{
  return ring->capacity - ring->length;
}

void
_ferry_nice_ring_push (FerryNiceRing       *ring,
                       const void *data,
                       gsize       size)
{
  gsize end = (ring->start + ring->length) % ring->capacity;
  gsize first = MIN (size, ring->capacity - end);

  if (size == 0)
    return; /* e.g. a stream's FIN without data: @data may be NULL */
  g_assert (size <= _ferry_nice_ring_free_space (ring));

  memcpy (ring->data + end, data, first);
  memcpy (ring->data, (const guint8 *) data + first, size - first);
  ring->length += size;
}

/* Grows @ring so that @size more bytes fit (never needed in practice: the
 * receive side parks before; a safety net rather than losing data). */
void
_ferry_nice_ring_reserve (FerryNiceRing  *ring,
                          gsize  size)
{
  FerryNiceRing bigger;

  if (_ferry_nice_ring_free_space (ring) >= size)
    return;

  _ferry_nice_ring_init (&bigger, MAX (ring->capacity * 2, ring->length + size + RING_SLACK));
  while (ring->length > 0)
    {
      gsize n = MIN (ring->length, ring->capacity - ring->start);

      _ferry_nice_ring_push (&bigger, ring->data + ring->start, n);
      ring->start = (ring->start + n) % ring->capacity;
      ring->length -= n;
    }
  g_free (ring->data);
  *ring = bigger;
}

gsize
_ferry_nice_ring_pop (FerryNiceRing  *ring,
                      void  *out,
                      gsize  size)
{
  gsize n = MIN (size, ring->length);
  gsize first = MIN (n, ring->capacity - ring->start);

  memcpy (out, ring->data + ring->start, first);
  memcpy ((guint8 *) out + first, ring->data, n - first);
  ring->start = (ring->start + n) % ring->capacity;
  ring->length -= n;
  if (ring->length == 0)
    ring->start = 0;
  return n;
}

/* The contiguous bytes at the head of @ring. */
gsize
_ferry_nice_ring_peek (const FerryNiceRing    *ring,
                       const guint8 **data)
{
  *data = ring->data + ring->start;
  return MIN (ring->length, ring->capacity - ring->start);
}

void
_ferry_nice_ring_consume (FerryNiceRing  *ring,
                          gsize  size)
{
  g_assert (size <= ring->length);
  ring->start = (ring->start + size) % ring->capacity;
  ring->length -= size;
  if (ring->length == 0)
    ring->start = 0;
}
