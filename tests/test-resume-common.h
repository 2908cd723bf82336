/* test-resume-common.h: what the resume tests share
 *
 * Each test runs `ferry` processes (the binary named by $FERRY_TOOL) with
 * homes of their own under a fresh folder, local-broadcast on a UDP port
 * picked for the test and --interface lo only. Events are read from the
 * --json output line by line while the main context runs.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "test-utils.h"

G_BEGIN_DECLS

#define BIG_SIZE        (192 * 1024 * 1024)
/* The sender's read size: a resume may move at most one chunk more than
 * what is missing. */
#define SEND_CHUNK      (256 * 1024)
#define WAIT_MS         60000
/* The senders of the transfers cut half way are paced, so that the cut
 * lands before the end even when the test is late to see the threshold:
 * after a third of BIG_SIZE, 128 MiB take 4 s more at this rate. */
#define CUT_RATE        "32M"

typedef struct {
  char             *label;
  GSubprocess      *process;
  GDataInputStream *out;
  GPtrArray        *events;   /* JsonObject */
  gboolean          out_eof;
  gboolean          exited;
  int               status;
  GCancellable     *cancellable;
} Proc;

typedef struct {
  const char *tool;
  char       *dir;
  guint16     port;
  GPtrArray  *procs;
} Fixture;

/* Runs $FERRY_TOOL with the NULL-terminated arguments; the fixture owns
 * the process (killed at tear-down if still running). */
Proc       *proc_spawn         (Fixture    *fx,
                                const char *label,
                                ...) G_GNUC_NULL_TERMINATED;
/* The @nth event named @event (with no "event" member when @event is
 * NULL) read so far, or NULL. */
JsonObject *proc_find          (Proc       *p,
                                const char *event,
                                guint       nth);
/* Waits for @p to exit and its output to end; its exit status (128 +
 * the signal when killed). */
int         proc_wait_exit     (Proc       *p);
/* Waits for the first @event of @p; fails when its output ends first. */
JsonObject *proc_wait_event    (Proc       *p,
                                const char *event);

void        fixture_set_up     (Fixture       *fx,
                                gconstpointer  data);
void        fixture_tear_down  (Fixture       *fx,
                                gconstpointer  data);

/* A home named @name in the test's folder, its ferry.conf with the
 * test's port and @core_extra lines in [core]. */
char       *make_home_with     (Fixture    *fx,
                                const char *name,
                                const char *core_extra);
char       *make_home          (Fixture    *fx,
                                const char *name);
/* The account id `ferry id` gives for @home. */
char       *account_of         (Fixture    *fx,
                                const char *home);
/* The records of `ferry history --json`, newest first. */
GPtrArray  *history_of         (Fixture    *fx,
                                const char *home);
/* Entry @index of a record's "files". */
JsonObject *file_entry         (JsonObject *record,
                                guint       index);

typedef struct {
  Proc    *p;
  guint64  bytes;
} ProgressWait;

/* A FerryTestCondition: a "progress" event of at least @bytes came, or
 * the output ended. */
gboolean    progress_reached   (gpointer    data);

typedef struct {
  char *recv_home;
  char *send_home;
  char *download;
  char *source;
  char *part;
  char *id;
  guint64 part_bytes;
} Interrupted;

void        interrupted_clear  (Interrupted *it);
/* Sends a big file and kills the sender with SIGKILL once the receiver
 * holds at least a third of it. */
void        interrupt_transfer (Fixture     *fx,
                                Interrupted *it);
/* The sender comes back: any running engine answers requests. */
Proc       *start_sender_again (Fixture     *fx,
                                Interrupted *it);
/* `ferry fetch` of the interrupted transfer, run to its end: exit
 * status 0. */
Proc       *fetch_again        (Fixture     *fx,
                                Interrupted *it);

G_END_DECLS
