/* ferry-session-pipeline-private.h: pooled buffers and the hashing thread
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "ferry-frame-private.h"
#include "ferry-hasher-private.h"
#include "ferry-session-private.h"

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
  /* A sender's buffer in the pool of a FerryHashShare: which bytes it
   * holds, for the other sessions (under the share's cache lock). */
  gboolean   cached;
  guint      index;
  guint64    offset;
} FerryBuffer;

#define FERRY_BUFFER_PAYLOAD(b) ((b)->mem + FERRY_FRAME_HEADER_SIZE)

FerryPool   *_ferry_pool_new          (gsize        capacity);
/* Waits for every buffer to come back (from a hash thread), then frees. */
void         _ferry_pool_free         (FerryPool   *pool);
gsize        _ferry_pool_get_capacity (FerryPool   *pool);
/* Blocks until a buffer is free; the hash thread always makes progress,
 * so this never waits for long. */
FerryBuffer *_ferry_pool_take         (FerryPool   *pool);
void         _ferry_buffer_release    (FerryBuffer *buffer);

/* The hashes of the files of one transfer, on a thread of their own so
 * that hashing (the slowest stage of a transfer) overlaps the network and
 * the disk; one hash per file. A sender's may be shared by the sessions of
 * a fan-out to several devices (see ferry-session-private.h): each byte
 * is hashed once, whichever session read it first. Every session reads
 * each file from its start, in order, and pushes every buffer it read. */
/* Between _start() and _stop(), a session may push and wait for digests;
 * the hashing thread runs while a session is in between. */
gboolean         _ferry_hash_share_start   (FerryHashShare   *share,
                                            GError          **error);
void             _ferry_hash_share_stop    (FerryHashShare   *share);
/* @buffer holds bytes [@offset, @offset + len) of file @index: what
 * nobody pushed yet is hashed (the thread releases the buffer then). */
void             _ferry_hash_share_push    (FerryHashShare   *share,
                                            guint             index,
                                            guint64           offset,
                                            FerryBuffer      *buffer);
/* Waits for the digest (lower-case hex) of file @index, whose @size
 * bytes the caller pushed. */
char            *_ferry_hash_share_digest  (FerryHashShare   *share,
                                            guint             index,
                                            guint64           size);
/* File @index, of @size bytes, is known to have @digest (a receiver's
 * file verified earlier and found unchanged): nothing is pushed for it,
 * and _digest() returns @digest. */
void             _ferry_hash_share_set_digest (FerryHashShare *share,
                                               guint           index,
                                               guint64         size,
                                               const char     *digest);
/* The digest of file @index, all of whose bytes @buffer holds: hashed
 * with @hasher by the caller, without a hand-off to the hashing thread
 * (which would cost more than the hash for a small file), unless another
 * session got to the file first. Nothing else may be pushed for it. */
char            *_ferry_hash_share_digest_whole (FerryHashShare *share,
                                                 guint           index,
                                                 FerryBuffer    *buffer,
                                                 FerryHasher    *hasher);

/* A sender's reads, shared too: the sessions of a fan-out read each
 * chunk of a file once. A buffer of @capacity from the share's pool,
 * filled by the caller and then pushed, holds its bytes for the other
 * sessions as long as it is not taken again (the pool reuses the buffer
 * released first). _lookup() returns a referenced buffer holding bytes
 * from @offset of file @index (and its frame header), or NULL. */
FerryBuffer     *_ferry_hash_share_take    (FerryHashShare   *share,
                                            gsize             capacity);
FerryBuffer     *_ferry_hash_share_lookup  (FerryHashShare   *share,
                                            guint             index,
                                            guint64           offset);

/* Where each sending session is, so that the first one to need a chunk
 * waits a little for those just behind it: they then take what it read
 * instead of reading it again. A session that stays behind is not
 * waited for long (a slow device does not slow the others down). */
typedef struct _FerryShareCursor FerryShareCursor;

FerryShareCursor *_ferry_hash_share_join   (FerryHashShare   *share);
void             _ferry_hash_share_leave   (FerryHashShare   *share,
                                            FerryShareCursor *cursor);
/* The session holds the bytes before @offset of file @index. */
void             _ferry_hash_share_advance (FerryHashShare   *share,
                                            FerryShareCursor *cursor,
                                            guint             index,
                                            guint64           offset);
/* Before reading the chunk at @offset of file @index, which nobody
 * read: returns at once while the others are at most a few chunks
 * behind; else once those not far behind caught up, or after a short
 * while. Then reads are one at a time, between _begin() and
 * _end(): look up again after _begin(). */
void             _ferry_hash_share_read_begin (FerryHashShare   *share,
                                               FerryShareCursor *cursor,
                                               guint             index,
                                               guint64           offset);
void             _ferry_hash_share_read_end   (FerryHashShare   *share);

G_END_DECLS
