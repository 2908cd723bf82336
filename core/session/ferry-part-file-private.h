/* ferry-part-file-private.h: ".part" files in the download folder
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/*
 * Everything the receiver writes goes through a descriptor of the download
 * folder (openat, O_NOFOLLOW, linkat, RENAME_NOREPLACE): whatever the
 * names and whatever happens to the folder's path meanwhile, files land in
 * that folder and never replace a file. Blocking: worker threads only.
 */

/* Opens @directory (a local folder the process may write to). */
int       _ferry_part_file_open_directory  (GFile        *directory,
                                            GError      **error);

/* FERRY_ERROR_NO_SPACE when @needed bytes do not fit with a margin kept
 * free (see _ferry_part_file_space_margin()); TRUE when the free space
 * cannot be known. */
gboolean  _ferry_part_file_check_space     (int           dirfd,
                                            guint64       needed,
                                            GError      **error);

/* What stays free on a volume of @volume_size bytes: 1% of it, at least
 * 64 KiB, at most 16 MiB. */
guint64   _ferry_part_file_space_margin    (guint64       volume_size);

/* Creates "<name>.part", "<name> (1).part", ... (O_EXCL) and returns its
 * descriptor, with its name in @part_name. */
int       _ferry_part_file_create          (int           dirfd,
                                            const char   *name,
                                            char        **part_name,
                                            GError      **error);

/* Opens an existing .part to continue it: a regular file with one link,
 * no longer than @max_size. Returns -1 when it cannot be used; else its
 * descriptor (read-write) and its length in @length. */
int       _ferry_part_file_open_resume     (int           dirfd,
                                            const char   *part_name,
                                            guint64       max_size,
                                            guint64      *length);

/* Reads @length bytes at @offset (a short file is an error). */
gboolean  _ferry_part_file_read_at         (int           fd,
                                            guint8       *data,
                                            gsize         length,
                                            guint64       offset,
                                            const char   *name,
                                            GError      **error);

gboolean  _ferry_part_file_seek            (int           fd,
                                            guint64       offset,
                                            const char   *name,
                                            GError      **error);

gboolean  _ferry_part_file_write           (int           fd,
                                            const guint8 *data,
                                            gsize         length,
                                            const char   *name,
                                            GError      **error);

/* Lets the disk start on bytes [@start, @end) of @fd, so that the final
 * _ferry_part_file_sync() has little left to wait for. */
void      _ferry_part_file_write_behind    (int           fd,
                                            guint64       start,
                                            guint64       end);

/* Waits until bytes [@start, @end) of @fd are written and drops them
 * from the page cache: a large file then goes through a few megabytes
 * of it, which the kernel reuses, instead of taking fresh pages all the
 * way (and pushing the rest of the machine's cache out). Blocks. */
void      _ferry_part_file_drop_behind     (int           fd,
                                            guint64       start,
                                            guint64       end);

/* fdatasync(): the data of @fd is on the disk. */
gboolean  _ferry_part_file_sync            (int           fd,
                                            const char   *name,
                                            GError      **error);

/* fsync() of the folder: its new names are on the disk. */
gboolean  _ferry_part_file_sync_directory  (int           dirfd,
                                            GError      **error);

/* syncfs() of the file system @dirfd lies on: every file written there
 * so far is on the disk, in one call instead of one per file. */
gboolean  _ferry_part_file_sync_all        (int           dirfd,
                                            GError      **error);

/* Closes @fd; a failure means the data may not be on disk. */
gboolean  _ferry_part_file_close           (int           fd,
                                            const char   *name,
                                            GError      **error);

/* Gives a verified .part a free final name ("name", "name (1)", ...),
 * never replacing a file, and returns that name. */
char     *_ferry_part_file_publish         (int           dirfd,
                                            const char   *part_name,
                                            const char   *name,
                                            GError      **error);

void      _ferry_part_file_remove          (int           dirfd,
                                            const char   *part_name);

/* An error for @saved_errno: FERRY_ERROR_NO_SPACE for a full disk, else
 * a G_IO_ERROR with @format (holding one %s, for @name). */
void      _ferry_part_file_set_error       (GError      **error,
                                            int           saved_errno,
                                            const char   *format,
                                            const char   *name);

G_END_DECLS
