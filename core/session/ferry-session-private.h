/* ferry-session-private.h: the session protocol over a secure stream
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "ferry-rate-limit-private.h"

G_BEGIN_DECLS

/*
 * Control frames (see ferry-frame-private.h), in order:
 *   S→R {"type":"header","transfer":"<id>","files":[{"name","size","mime"}...]}
 *   R→S {"type":"accept","offsets":[0,...]}     the "GO"
 *    or {"type":"reject","reason":"...","code":"no-space"}
 *   S→R for each file: DATA frames adding up to its size minus its accepted
 *       offset (an empty DATA frame is a keepalive, sent at most every
 *       250 ms while the sender hashes a resumed prefix), then
 *       {"type":"end","index":N,"sha3-256":"<64 hex of the whole file>"}
 *   R→S {"type":"verified"}   after every file was verified and renamed
 *    or {"type":"error","reason":"...","code":"hash-mismatch"}
 *   "code" is optional: protocol, hash-mismatch, no-space or io.
 *   either way, at any time: {"type":"cancel","reason":"..."}
 * The session runs worker threads for blocking I/O and hashing only; its
 * results and the "progress" signal are delivered, and its timers (the
 * stall watchdog, the reaper of a last frame that cannot go out) run, on
 * the GMainContext that was the thread-default one when the session was
 * created: that context must be iterated while a session runs.
 */

typedef struct {
  char    *name;         /* as offered (sender) / sanitised (receiver) */
  guint64  size;
  char    *mime_type;
  GFile   *source;       /* sender: the file to read */
  GFile   *destination;  /* receiver: the final, verified file */
  char    *sha3_256;     /* lower-case hex, set once known */
  /* Resuming. Receiver: @part_name, when set before step 2, names an
   * existing "<name>.part" in the directory to resume from (its length is
   * sent as the accept offset, its bytes are hashed first); after a
   * failure it names the .part that was kept (see step 2). Sender: @offset
   * is the receiver's accept offset (bytes hashed from the file but not
   * sent); @expected_sha3 (optional) must match the content or the
   * transfer is cancelled as changed. */
  char    *part_name;
  guint64  offset;
  char    *expected_sha3;
  /* Receiver, set before step 2: the final file an earlier attempt
   * verified, relative to the directory ('/'-separated, as
   * _ferry_session_dup_done() gave it). It is not received again: its
   * whole length is the accept offset, it is hashed and checked against
   * the sender's digest. In a folder, @part_name is relative to the
   * directory too ("album/sub/a.bin.part"). With @expected_sha3 (the
   * digest it had when verified, _ferry_session_dup_done_digests()), a
   * verified file whose content changed since is received whole again,
   * under a new name: the changed one stays as it is. */
  char    *done_name;
  /* Folders: the directory the file lies in, relative ("album/2024"),
   * NULL at the top; checked on the receiver (every component a safe
   * name, see _ferry_protocol_header_check()). */
  char    *dir;
  gboolean executable;
  gint64   mtime;        /* seconds since the epoch, 0: unknown */
} FerrySessionFile;

/* A directory of a folder, empty or not: its relative path and time. */
typedef struct {
  char    *path;
  gint64   mtime;
} FerrySessionDir;

void              _ferry_session_dir_free  (FerrySessionDir *dir);

FerrySessionFile *_ferry_session_file_new  (const char *name,
                                            guint64     size,
                                            const char *mime_type);
void              _ferry_session_file_free (FerrySessionFile *file);

#define FERRY_TYPE_SESSION (_ferry_session_get_type ())
G_DECLARE_FINAL_TYPE (FerrySession, _ferry_session, FERRY, SESSION, GObject)

/* @stream is the secure channel; the session owns it from now on and
 * closes it when done. Signal "progress" (guint64 bytes, guint64 total):
 * bytes of file data sent or received and verified-in-flight, emitted at
 * most every 100 ms and once at the end. Signal "accepted" (sender side):
 * the receiver said GO. */
FerrySession *_ferry_session_new                (GIOStream           *stream);

/* Sender: header → accept/reject → data with SHA3-256 computed on a
 * separate thread while sending → end frames → waits for "verified".
 * @files: FerrySessionFile with name, size, mime_type and source set; the
 * sha3_256 members are filled in. Errors: FERRY_ERROR_REJECTED (with the
 * reason), FERRY_ERROR_CANCELLED_BY_PEER, FERRY_ERROR_HASH_MISMATCH (the
 * receiver reported it), FERRY_ERROR_PROTOCOL, FERRY_ERROR_PEER_VANISHED,
 * G_IO_ERROR_CANCELLED after _ferry_session_cancel() or @cancellable. */
void          _ferry_session_send_async         (FerrySession        *self,
                                                 const char          *transfer_id,
                                                 GPtrArray           *files,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
gboolean      _ferry_session_send_finish        (FerrySession        *self,
                                                 GAsyncResult        *result,
                                                 GError             **error);

/* Receiver, step 1: reads the header. Returns the files (names already
 * sanitised, sizes and mime types as offered) and the transfer id. */
void          _ferry_session_read_header_async  (FerrySession        *self,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
GPtrArray    *_ferry_session_read_header_finish (FerrySession        *self,
                                                 GAsyncResult        *result,
                                                 char               **transfer_id,
                                                 GError             **error);

/* Receiver, step 2: checks free space in @directory (FERRY_ERROR_NO_SPACE,
 * then a reject is sent), sends the accept, writes each file to a fresh
 * "<name>.part" created inside @directory only (O_EXCL, O_NOFOLLOW,
 * relative to the directory), hashes on a separate thread, checks the
 * size and the SHA3-256, and only then links it to a free final name
 * ("name", "name (1)", ...) and removes the .part. On any failure the
 * .part of this transfer is removed and no final name is created for an
 * unverified file; except, after _ferry_session_set_keep_parts(), when
 * the peer vanished or went silent (FERRY_ERROR_PEER_VANISHED,
 * FERRY_ERROR_TIMEOUT): then the .part of the file being received is kept
 * for a later resume and named in its part_name. A file whose part_name was set is resumed: its .part
 * (opened with O_NOFOLLOW, a regular file no longer than the file) is
 * hashed from its start, then the rest is appended; the whole is
 * verified, and on a mismatch the .part is removed. Fills destination and
 * sha3_256 of the files returned by step 1. */
void          _ferry_session_receive_async      (FerrySession        *self,
                                                 GFile               *directory,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
gboolean      _ferry_session_receive_finish     (FerrySession        *self,
                                                 GAsyncResult        *result,
                                                 GError             **error);
/* Receiver: the files of step 1. Read and change them on the session's
 * context only: the operations work on copies and write their results
 * (part_name, offset, destination, sha3_256) back there when they
 * complete, so reading them is safe at any time on that context, e.g.
 * right after _ferry_session_cancel(). The same holds for the @files
 * given to _ferry_session_send_async(). */
GPtrArray    *_ferry_session_get_files          (FerrySession        *self);

/* Bytes of file data that actually crossed the stream (DATA frames),
 * without the resumed prefixes. Any thread. */
guint64       _ferry_session_get_moved          (FerrySession        *self);

/* Sender: lets the receiver resume, i.e. answer with offsets other than
 * 0 (otherwise FERRY_ERROR_PROTOCOL). Call before sending. */
void          _ferry_session_set_allow_resume   (FerrySession        *self,
                                                 gboolean             allow);

/* Receiver: keep the .part of an interrupted file (see step 2). Call
 * before step 2. */
void          _ferry_session_set_keep_parts     (FerrySession        *self,
                                                 gboolean             keep);

/* Either side: after the accept, ends the transfer with
 * FERRY_ERROR_TIMEOUT when no byte arrived (receiver) or could be written
 * (sender) for @seconds (0, the default: wait forever), as when the link
 * was cut without either end closing it. Call before sending or step 2. */
void          _ferry_session_set_stall_timeout  (FerrySession        *self,
                                                 guint                seconds);

/* Sender: the directories of the folders sent (FerrySessionDir, with
 * the empty ones), and a text to show instead of files, both carried by
 * the header. Call before sending. Receiver: what the header held, after
 * step 1 (NULL: none). */
void          _ferry_session_set_directories    (FerrySession        *self,
                                                 GPtrArray           *dirs);
GPtrArray    *_ferry_session_get_directories    (FerrySession        *self);
void          _ferry_session_set_text           (FerrySession        *self,
                                                 const char          *text);
const char   *_ferry_session_get_text           (FerrySession        *self);

/* Receiver: the names of the .part files opened so far (NULL-terminated,
 * "" for a file not opened yet; relative to the directory). Any thread. */
char        **_ferry_session_dup_parts          (FerrySession        *self);
/* Receiver: the files verified and in place so far, relative to the
 * directory (NULL-terminated, "" for one not verified yet): what a
 * resume of an interrupted transfer need not receive again (see
 * done_name). Any thread. */
char        **_ferry_session_dup_done           (FerrySession        *self);
/* Receiver: the SHA3-256 of each of those files when it was verified
 * (same order, "" for one not verified yet): what a resume checks a
 * verified file against (see done_name). Any thread. */
char        **_ferry_session_dup_done_digests   (FerrySession        *self);

/* Receiver: refuses the transfer after step 1 (sends a reject, closes). */
void          _ferry_session_reject             (FerrySession        *self,
                                                 const char          *reason);

/* Either side, any time, any thread: sends a cancel frame with @reason as
 * soon as possible and ends the running operation with
 * G_IO_ERROR_CANCELLED. Never blocks the caller. */
void          _ferry_session_cancel             (FerrySession        *self,
                                                 const char          *reason);

/* What the sessions sending one transfer to several devices share, so
 * that the sender hashes each file once: give each of them the same one
 * before it sends. Thread-safe. */
typedef struct _FerryHashShare FerryHashShare;

FerryHashShare *_ferry_hash_share_new         (void);
FerryHashShare *_ferry_hash_share_ref         (FerryHashShare      *share);
void            _ferry_hash_share_unref       (FerryHashShare      *share);
void            _ferry_session_set_hash_share (FerrySession        *self,
                                               FerryHashShare      *share);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerryHashShare, _ferry_hash_share_unref)

/* Sender: paces the data frames to @limit (NULL: as fast as they go).
 * The sessions sending one transfer to several devices share one, so
 * that the transfer as a whole keeps to it. A pacing wait ends at once
 * on a cancel or on the receiver's final word. Call before sending. */
void            _ferry_session_set_rate_limit (FerrySession        *self,
                                               FerryRateLimit      *limit);

/* The sessions of one engine. Each thread of a session that may still
 * send its last frame (reject, cancel, error) counts in its group, so that
 * an engine can wait for its own sessions before the process exits, and
 * engines in one process do not wait for each other. Thread-safe. */
typedef struct _FerrySessionGroup FerrySessionGroup;

FerrySessionGroup *_ferry_session_group_new   (void);
FerrySessionGroup *_ferry_session_group_ref   (FerrySessionGroup   *group);
void               _ferry_session_group_unref (FerrySessionGroup   *group);

/* Waits until no thread of the group's sessions is left (each one ends
 * after its session's last frame went out, or was given up), until
 * @end_time of the monotonic clock, or until @cancellable is cancelled.
 * Blocking: call it from a worker thread. Returns TRUE when none is left. */
gboolean           _ferry_session_group_wait  (FerrySessionGroup   *group,
                                               gint64               end_time,
                                               GCancellable        *cancellable);

/* Puts the session in @group: its threads started from now on count
 * there. Call it before the operations that should count. */
void               _ferry_session_set_group   (FerrySession        *self,
                                               FerrySessionGroup   *group);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FerrySessionGroup, _ferry_session_group_unref)

G_END_DECLS
