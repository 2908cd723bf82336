/* ferry-disk-writer-private.h: a received file's data onto the disk
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "ferry-session-pipeline-private.h"

G_BEGIN_DECLS

/*
 * The receiving side writes a file's buffers in order. A small file is
 * written on the caller's thread: a hand-off would cost more than the
 * write. A large one goes to a writer thread (blocking I/O): reading and
 * decrypting the next buffers does not wait for the disk, and the thread
 * can wait for the writeback of what it wrote a few megabytes earlier
 * and drop it from the page cache. The kernel then reuses a few
 * megabytes of pages instead of taking fresh ones for the whole file
 * (on the receiver, half the system time of a 1 GiB transfer), the
 * rest of the machine's cache stays, and the fdatasync() before
 * "verified" finds little left to write.
 */
typedef struct _FerryDiskWriter FerryDiskWriter;

FerryDiskWriter *_ferry_disk_writer_new    (void);
/* Waits for the writes under way. */
void             _ferry_disk_writer_free   (FerryDiskWriter  *writer);

/* The next buffers go to @fd (positioned at @offset) for file @name,
 * which will have @size bytes. The previous file must be finished. */
void             _ferry_disk_writer_begin  (FerryDiskWriter  *writer,
                                            int               fd,
                                            const char       *name,
                                            guint64           size,
                                            guint64           offset);
/* Writes @buffer after the previous ones; takes the caller's reference.
 * Fails with the error of this write or of an earlier one (then the
 * rest of the file is not written). */
gboolean         _ferry_disk_writer_push   (FerryDiskWriter  *writer,
                                            FerryBuffer      *buffer,
                                            GError          **error);
/* Waits until every buffer pushed is written; fails if one could not
 * be (again, if a push said so already). The file's fd is then the
 * caller's alone again. */
gboolean         _ferry_disk_writer_finish (FerryDiskWriter  *writer,
                                            GError          **error);

G_END_DECLS
