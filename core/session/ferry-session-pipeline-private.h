/* ferry-session-pipeline-private.h: pooled buffers and the hashing thread
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "ferry-frame-private.h"

G_BEGIN_DECLS

/*
 * A transfer moves its bytes through a bounded pool of buffers, so that
 * memory use does not depend on file sizes. A buffer has room for a frame
 * header in front of its payload (a data frame goes out in one write) and
 * is shared by reference: it returns to the pool once it is both hashed
 * and written.
 */
typedef struct _FerryPool FerryPool;

typedef struct {
  guint8    *mem;     /* FERRY_FRAME_HEADER_SIZE bytes of room, then the payload */
  gsize      len;     /* payload bytes */
  gint       refs;    /* atomic: back to the pool at zero */
  FerryPool *pool;
} FerryBuffer;

#define FERRY_BUFFER_PAYLOAD(b) ((b)->mem + FERRY_FRAME_HEADER_SIZE)

FerryPool   *_ferry_pool_new          (gsize        capacity);
/* Call only once every buffer is back (the hash thread has been stopped). */
void         _ferry_pool_free         (FerryPool   *pool);
gsize        _ferry_pool_get_capacity (FerryPool   *pool);
/* Blocks until a buffer is free; the hash thread always makes progress,
 * so this never waits for long. */
FerryBuffer *_ferry_pool_take         (FerryPool   *pool);
void         _ferry_buffer_release    (FerryBuffer *buffer);

/* A thread that hashes the buffers it is given, in order, so that
 * hashing (the slowest stage of a transfer) overlaps the network and the
 * disk. */
typedef struct _FerryHashThread FerryHashThread;

FerryHashThread *_ferry_hash_thread_new    (GError          **error);
/* Hands a buffer over; the thread releases it once hashed. */
void             _ferry_hash_thread_push   (FerryHashThread  *thread,
                                            FerryBuffer      *buffer);
/* Waits for the digest (lower-case hex) of everything pushed since the
 * last one. */
char            *_ferry_hash_thread_digest (FerryHashThread  *thread);
/* Finishes the pending buffers (releasing them) and stops. */
void             _ferry_hash_thread_free   (FerryHashThread  *thread);

G_END_DECLS
