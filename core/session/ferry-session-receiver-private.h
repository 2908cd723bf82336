/* ferry-session-receiver-private.h: the receiving worker's state
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "ferry-folder-writer-private.h"
#include "ferry-hasher-private.h"
#include "ferry-disk-writer-private.h"
#include "ferry-session-internal.h"

G_BEGIN_DECLS

/* The worker's state while it receives the files. */
typedef struct {
  FerrySessionOp  *op;
  int              dirfd;
  FerryPool       *pool;
  FerryHashShare  *hashes;       /* one hash per file, so prefixes go first */
  guint            index;        /* the file being received */
  guint64          position;     /* where its next byte goes */
  FerryBuffer     *current;      /* read but not yet written nor hashed */
  int             *resume_fds;   /* per file: its .part (or verified file) to continue, or -1 */
  guint64          received;     /* bytes of file data held so far */
  FerryDiskWriter *writer;       /* the current file's data onto the disk */
  FerryFolderWriter *folders;    /* the directories of the folders received */
  int              fdir;         /* the directory of the current file */
  gboolean         unsynced;     /* small files were published without their own sync */
  FerryHasher     *small;        /* for files of one buffer, hashed here */
  char            *whole;        /* the digest of such a file */
} FerryReceiver;

/* ferry-session-resume.c: what an earlier attempt left. */

/* The top-level folders an earlier attempt created (offered name →
 * name on disk), from the files' part_name and done_name; a file whose
 * recorded names do not fit its place in the tree forgets them and is
 * received whole. */
GHashTable *_ferry_receiver_resumed_tops (GPtrArray      *files);

/* Opens each file's .part or verified file (in its folder, O_NOFOLLOW),
 * sets its offset, and hashes those prefixes, before the accept. */
gboolean    _ferry_receiver_open_resumed (FerryReceiver  *receiver,
                                          GError        **error);

/* @base (a name in the file's directory) as recorded for a resume:
 * relative to the download folder. */
char       *_ferry_receiver_record_name  (FerryReceiver    *receiver,
                                          FerrySessionFile *file,
                                          const char       *base);

G_END_DECLS
