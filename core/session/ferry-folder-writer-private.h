/* ferry-folder-writer-private.h: the directories of received folders
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/*
 * Creates the directories of the folders a header announced (already
 * checked: relative, safe components, parents first) inside the download
 * folder: each top-level folder under a free name ("album", "album (1)",
 * ... never an existing directory, nor through a symbolic link), every
 * other directory with mkdirat() in its parent, every one opened relative
 * to its parent's descriptor with O_NOFOLLOW | O_DIRECTORY: no path
 * string is ever resolved, so a directory an attacker swaps for a link
 * meanwhile makes the transfer fail instead of writing elsewhere.
 * Blocking: worker threads only.
 */
typedef struct _FerryFolderWriter FerryFolderWriter;

/* @dirs: FerrySessionDir, or NULL for a transfer without folders.
 * @resumed (may be NULL): offered top-level name → the folder an earlier
 * attempt of the same transfer created, reused (opened with O_NOFOLLOW |
 * O_DIRECTORY, its existing directories kept) instead of a new one. */
FerryFolderWriter *_ferry_folder_writer_new    (int                 dirfd,
                                                GPtrArray          *dirs,
                                                GHashTable         *resumed,
                                                GError            **error);
/* A descriptor of directory @dir (as offered), owned by the writer and
 * valid until the next call. */
int                _ferry_folder_writer_open   (FerryFolderWriter  *self,
                                                const char         *dir,
                                                GError            **error);
/* Where @dir landed, relative to the download folder. */
char              *_ferry_folder_writer_path   (FerryFolderWriter  *self,
                                                const char         *dir);
/* Gives the directories their times (deepest first); the caller then
 * syncs the file system once (_ferry_part_file_sync_all()). */
gboolean           _ferry_folder_writer_finish (FerryFolderWriter  *self,
                                                GError            **error);
void               _ferry_folder_writer_free   (FerryFolderWriter  *self);

/* A received file's executable bit and time, before it is closed. */
void               _ferry_folder_set_attributes (int                fd,
                                                 gboolean           executable,
                                                 gint64             mtime);

G_END_DECLS
