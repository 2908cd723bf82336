/* ferry-nice-ring.h: a bounded byte ring
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  guint8 *data;
  gsize   capacity;
  gsize   start;
  gsize   length;
} FerryNiceRing;

void   _ferry_nice_ring_init       (FerryNiceRing       *ring,
                                    gsize                capacity);
void   _ferry_nice_ring_clear      (FerryNiceRing       *ring);
gsize  _ferry_nice_ring_free_space (const FerryNiceRing *ring);
/* @size must fit; @data may be NULL when @size is 0. */
void   _ferry_nice_ring_push       (FerryNiceRing       *ring,
                                    const void          *data,
                                    gsize                size);
/* Grows @ring so that @size more bytes fit. */
void   _ferry_nice_ring_reserve    (FerryNiceRing       *ring,
                                    gsize                size);
gsize  _ferry_nice_ring_pop        (FerryNiceRing       *ring,
                                    void                *out,
                                    gsize                size);
/* The contiguous bytes at the head of @ring. */
gsize  _ferry_nice_ring_peek       (const FerryNiceRing *ring,
                                    const guint8       **data);
void   _ferry_nice_ring_consume    (FerryNiceRing       *ring,
                                    gsize                size);

G_END_DECLS
