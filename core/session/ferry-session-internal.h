/* ferry-session-internal.h: what the files of the session share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "ferry-frame-private.h"
#include "ferry-session-pipeline-private.h"
#include "ferry-session-private.h"

G_BEGIN_DECLS

/*
 * Threads of one operation
 * ------------------------
 * Sender:   the worker reads each file in 256 KiB chunks into pooled
 *           buffers, hands every buffer to the hashing thread and writes
 *           it. A reader thread waits for the receiver's final word
 *           (verified, error, cancel) and stops the sending early when it
 *           comes too soon.
 * Receiver: the worker reads frames, writes the data with write(2) and
 *           hands the same buffers to the hashing thread.
 *
 * Cancellation
 * ------------
 * self->cancellable interrupts reads and is cancelled by
 * _ferry_session_cancel(). Writes use self->abort instead, so that a frame
 * is never cut in the middle when the user cancels: the worker finishes the
 * frame it is writing, sends a cancel frame, reads what the peer still sends
 * until it closes (so that closing does not reset the connection and lose
 * our last frame), then closes. The reaper cancels self->abort when this
 * takes more than FERRY_SESSION_TERMINATE_TIMEOUT_US, e.g. with a peer that
 * stopped reading.
 */

#define FERRY_SESSION_TERMINATE_TIMEOUT_US (5 * G_USEC_PER_SEC)

typedef enum {
  FERRY_SESSION_ROLE_NONE,
  FERRY_SESSION_ROLE_SENDER,
  FERRY_SESSION_ROLE_RECEIVER,
} FerrySessionRole;

/* a GSource on the session's context (ferry-session-timer.c) */
typedef struct _FerryWatchdog FerryWatchdog;

struct _FerrySession
{
  GObject        parent_instance;

  GMainContext  *context;
  GIOStream     *stream;
  GInputStream  *input;
  GOutputStream *output;
  GCancellable  *cancellable;   /* reads and waits; cancelled by _ferry_session_cancel() */
  GCancellable  *abort;         /* writes and the final drain; cancelled by the reaper */

  GMutex         write_lock;    /* one frame at a time on the output */
  gboolean       output_broken; /* a write failed: no more frames (under write_lock) */

  GMutex         lock;          /* everything below */
  FerrySessionRole role;
  gboolean       busy;          /* an operation runs */
  gboolean       done;          /* no further operation: closed or closing */
  gboolean       closed;
  gboolean       cancel_requested;
  char          *cancel_reason;
  GSource       *reaper;        /* gives up on the last frame (ferry-session-timer.c) */
  FerrySessionGroup *group;     /* counts the threads that may still send a frame */

  gint64         progress_time;
  guint64        progress_bytes;
  guint64        progress_total;
  gboolean       progress_pending;

  gboolean       header_read;
  char          *transfer_id;
  GPtrArray     *files;

  guint64        moved;         /* DATA payload bytes on the stream */
  gboolean       keep_parts;    /* receiver: keep the .part when interrupted */
  gboolean       allow_resume;  /* sender: accept offsets other than 0 */
  gint64         stall_us;      /* give up after this long without progress (0: never) */
  gint64         last_read_us;  /* when bytes last moved */
  gboolean       stalled;       /* the watchdog gave up */
  char         **parts;         /* receiver: .part names opened */
  char         **verified;        /* receiver: files verified, relative paths */
  char         **verified_sha3;   /* receiver: their digests then */
  FerryHashShare *hash_share;   /* sender: shared with the other devices' sessions */
  FerryRateLimit *rate_limit;   /* sender: paces the data, maybe shared too (NULL: none) */
  GPtrArray     *dirs;          /* FerrySessionDir: folders' directories */
  char          *text;          /* a text offered instead of files */
};

/* One running operation (send, read the header, receive). */
typedef struct {
  FerrySession *self;           /* the task holds the reference */
  GTask        *task;
  GCancellable *user_cancellable;
  gulong        user_handler;

  char         *transfer_id;
  GPtrArray    *files;          /* the worker's own copies (send, receive) */
  GPtrArray    *shared;         /* the caller's files: results land there */
  guint64       total;
  GFile        *directory;
  gboolean      accepted;       /* receiver: the accept went out */
  GPtrArray    *dirs;           /* FerrySessionDir, the worker's copies */
  char         *text;

  /* sender: the thread waiting for the receiver's final word */
  GMutex        lock;
  GCond         cond;
  GThread      *reader;
  gint          reader_done;    /* atomic */
  gint          all_sent;       /* atomic */
  GError       *reader_error;
  gboolean      reader_from_peer;
} FerrySessionOp;

/* ferry-session.c */
void            _ferry_session_add_moved       (FerrySession      *self,
                                                guint64            n);
void            _ferry_session_set_part        (FerrySession      *self,
                                                guint              index,
                                                guint              n_files,
                                                const char        *part_name);
/* File @index is verified and in place at @path, with digest @sha3_256. */
void            _ferry_session_set_done        (FerrySession      *self,
                                                guint              index,
                                                guint              n_files,
                                                const char        *path,
                                                const char        *sha3_256);
void            _ferry_session_emit_accepted   (FerrySession      *self);
void            _ferry_session_progress        (FerrySession      *self,
                                                guint64            bytes,
                                                guint64            total,
                                                gboolean           final);
FerrySessionOp *_ferry_session_op_begin        (FerrySession      *self,
                                                GTask             *task,
                                                FerrySessionRole   role,
                                                GCancellable      *cancellable,
                                                GError           **error);
void            _ferry_session_op_disconnect   (FerrySessionOp    *op);
GTask          *_ferry_session_op_free         (FerrySessionOp    *op);
void            _ferry_session_op_end          (FerrySessionOp    *op);
/* Works on copies of @files: only the session's context touches the
 * caller's, when the operation completes. */
void            _ferry_session_op_set_files    (FerrySessionOp    *op,
                                                GPtrArray         *files);
/* Ends the session (see _ferry_session_op_end()), then on the session's
 * context: copies the results into the caller's files, frees @op and
 * returns @error or TRUE. */
void            _ferry_session_op_complete     (FerrySessionOp    *op,
                                                GError            *error);
/* Runs @func (@op) on a new thread, or ends the operation with the error. */
void            _ferry_session_op_spawn        (FerrySessionOp    *op,
                                                const char        *name,
                                                GThreadFunc        func);
JsonObject     *_ferry_session_cancelled_frame (FerrySession      *self,
                                                GError           **error);
GThread        *_ferry_session_thread_new      (FerrySession      *self,
                                                const char        *name,
                                                GThreadFunc        func,
                                                gpointer           data,
                                                GError           **error);

/* ferry-session-io.c: blocking, on the operation's threads */
gboolean        _ferry_session_read_exact        (FerrySession    *self,
                                                  void            *buffer,
                                                  gsize            size,
                                                  GError         **error);
gboolean        _ferry_session_read_frame_header (FerrySession    *self,
                                                  FerryFrameType  *type,
                                                  guint32         *length,
                                                  GError         **error);
GBytes         *_ferry_session_read_payload      (FerrySession    *self,
                                                  guint32          length,
                                                  GError         **error);
/* Reads one frame, which must be a control frame, and returns its payload. */
GBytes         *_ferry_session_read_control      (FerrySession    *self,
                                                  GError         **error);
gboolean        _ferry_session_write_control     (FerrySession    *self,
                                                  JsonObject      *object,
                                                  GError         **error);
gboolean        _ferry_session_write_data        (FerrySession    *self,
                                                  FerryBuffer     *buffer,
                                                  GError         **error);
gboolean        _ferry_session_write_data_part   (FerrySession    *self,
                                                  FerryBuffer     *buffer,
                                                  gsize            offset,
                                                  gsize            length,
                                                  GError         **error);
gboolean        _ferry_session_write_keepalive   (FerrySession    *self,
                                                  GError         **error);
/* Work that is not the peer's silence (hashing a resumed prefix). */
void            _ferry_session_touch             (FerrySession    *self);
void            _ferry_session_close_stream      (FerrySession    *self);
void            _ferry_session_terminate         (FerrySession    *self,
                                                  JsonObject      *frame);

/* ferry-session-timer.c */
void            _ferry_session_arm_reaper_locked (FerrySession    *self);
void            _ferry_session_arm_reaper        (FerrySession    *self);
void            _ferry_session_stop_reaper       (FerrySession    *self);
FerryWatchdog  *_ferry_session_watchdog_new      (FerrySession    *self);
void            _ferry_session_watchdog_stop     (FerryWatchdog   *watchdog);

G_END_DECLS
