/* test-session-common.h: what the session tests share
 *
 * A scratch folder per test whose teardown checks that every thread and
 * descriptor of the sessions is gone (Fixture), two real sessions talking
 * to each other over loopback TCP (Run), and a hostile peer: a thread
 * writing hand-made frames (Peer).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "ferry-session-private.h"
#include "test-utils.h"

#define TIMEOUT_SECONDS 90
#define MIB (1024 * 1024)

/* g_test_init() with isolated directories, then the threads GIO keeps
 * started, so that the fixtures count only the threads of the sessions. */
void        session_test_init   (int          *argc,
                                 char       ***argv);

/* Fails the test unless called on the main thread, owning the default
 * main context. */
void        assert_main_thread  (void);

/* A session whose threads count in the group that the teardown waits for. */
FerrySession *test_session_new  (GIOStream    *stream);

void        write_sparse_file   (const char   *path,
                                 goffset       size);
char       *sha3_hex            (const guint8 *data,
                                 gsize         length);
char       *sha3_file           (const char   *path);

/* ------------------------------------------------------------------ */
/* Fixture: a scratch folder with "src" (sender) and "down" (receiver)  */

typedef struct {
  char  *base;
  char  *src;
  char  *down;
  GFile *down_file;
  guint  fds_before;
  guint  threads_before;
} Fixture;

void        fixture_setup       (Fixture       *fx,
                                 gconstpointer  data);
void        fixture_teardown    (Fixture       *fx,
                                 gconstpointer  data);
/* g_test_add() of @func on a Fixture. */
void        session_test_add    (const char    *path,
                                 void         (*func) (Fixture *, gconstpointer),
                                 gconstpointer  data);

/* The file @name of "src", to offer. */
FerrySessionFile *source_file   (Fixture       *fx,
                                 const char    *name);
/* An empty list of FerrySessionFile. */
GPtrArray  *file_list           (void);

/* ------------------------------------------------------------------ */
/* Two real sessions talking to each other                              */

typedef struct {
  Fixture      *fx;
  FerrySession *sender;
  FerrySession *receiver;
  GPtrArray    *send_files;
  GPtrArray    *recv_files;
  char         *transfer_id;
  GCancellable *send_cancellable;

  gboolean      send_done;
  gboolean      header_done;
  gboolean      recv_done;
  GError       *send_error;
  GError       *header_error;
  GError       *recv_error;

  gboolean      accepted;
  guint         send_progress_count;
  guint         recv_progress_count;
  guint64       send_progress_last;
  guint64       recv_progress_last;
  guint64       total;

  /* what to do */
  const char   *reject_reason;
  gboolean      cancel_sender_midway;
  gboolean      cancel_sender_cancellable_midway;
  gboolean      cancel_receiver_midway;
  guint64       cancel_after;    /* bytes received before cancelling */
  gboolean      cancelled;
  const char   *resume_part;     /* the receiver resumes the last file from it */
  guint         stall_timeout;   /* seconds, on both sides */
  gboolean      sender_no_stall; /* but none on the sender's */
  FerryHashShare *hash_share;    /* the sender's, if set */
  FerryRateLimit *rate_limit;    /* the sender's, if set */
  gboolean      cancel_sender_on_accept;
  gboolean      cancel_receiver_on_accept;
} Run;

/* The receiver's "progress" handler (checks, and cancels as @run says). */
void        recv_progress_cb    (FerrySession *session,
                                 guint64       bytes,
                                 guint64       total,
                                 Run          *run);
/* Completions: each sets its flag in the Run given as @data. */
void        send_cb             (GObject      *source,
                                 GAsyncResult *result,
                                 gpointer      data);
void        receive_cb          (GObject      *source,
                                 GAsyncResult *result,
                                 gpointer      data);
/* Only reads the header (no accept, no reject). */
void        hostile_header_cb   (GObject      *source,
                                 GAsyncResult *result,
                                 gpointer      data);

/* Starts sending @files from one session to another, which accepts them
 * (or does what @run says); run_wait() waits for both to end. */
void        run_start           (Fixture      *fx,
                                 Run          *run,
                                 GPtrArray    *files);
void        run_wait            (Run          *run);
void        run_transfer        (Fixture      *fx,
                                 Run          *run,
                                 GPtrArray    *files);
void        run_clear           (Run          *run);

/* ------------------------------------------------------------------ */
/* A hostile peer: a thread writing hand-made frames                    */

typedef struct _Peer Peer;
typedef void (*PeerScript) (Peer *peer);

struct _Peer {
  GIOStream    *stream;
  GInputStream *in;
  GOutputStream *out;
  PeerScript    script;
  gconstpointer data;
  GThread      *thread;
  GString      *seen;       /* types of the messages received, "accept,error" */
  char         *last_code;  /* "code" of the last message */
  char         *last_reason;
  GMutex        lock;
  GCond         cond;
  gboolean      released;   /* a stalling peer may go on */
};

#define HEADER_ONE(name, size) \
  "{\"type\":\"header\",\"transfer\":\"cafebabe00\",\"files\":[{\"name\":\"" name "\",\"size\":" #size ",\"mime\":\"text/plain\"}]}"

extern const guint8 ten_bytes[10];

/* A stalling peer waits here until peer_join(). */
void        peer_wait_release   (Peer         *peer);
void        peer_write_raw      (Peer         *peer,
                                 const void   *data,
                                 gsize         length);
void        peer_write_frame    (Peer         *peer,
                                 guint8        type,
                                 const void   *payload,
                                 gsize         length);
void        peer_write_control  (Peer         *peer,
                                 const char   *json);
void        peer_write_data     (Peer         *peer,
                                 const void   *data,
                                 gsize         length);
/* Reads one frame; returns the type of a control message, "data" for
 * data, NULL at the end of the stream. */
char       *peer_read           (Peer         *peer);
/* Adds @type to what the peer saw. */
void        peer_note           (Peer         *peer,
                                 const char   *type);
/* Reads one frame, which must be of type @expected. */
void        peer_expect         (Peer         *peer,
                                 const char   *expected);
/* Runs @script on its own thread, then reads up to the final word and
 * hangs up. */
Peer       *peer_start          (GIOStream    *stream,
                                 PeerScript    script,
                                 gconstpointer data);
/* Releases and joins the peer; returns what it saw. */
char       *peer_join           (Peer         *peer);
