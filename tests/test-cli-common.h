/* test-cli-common.h: what the tests of the `ferry` tool share
 *
 * Every test spawns `ferry` processes (the binary named by $FERRY_TOOL)
 * with their own --home under a fresh temporary folder; each home's
 * ferry.conf puts local-broadcast on a UDP port picked for this test, and
 * every process runs with --interface lo, so nothing leaves the machine and
 * parallel tests do not see each other. Events are read from the --json
 * output line by line while the main context runs; no sleeps. Every
 * process started is stopped through its GSubprocess at the end of its
 * test (never by a raw pid, which may already be reaped and reused), and
 * dies with the test process when a test fails (PR_SET_PDEATHSIG).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "test-utils.h"

G_BEGIN_DECLS

#define WAIT_READY_MS    15000
#define WAIT_EXIT_MS     20000
#define WAIT_TRANSFER_MS 90000

/* Processes {{{1 */

typedef struct {
  char          *label;
  GSubprocess   *process;
  GDataInputStream *out;
  GOutputStream *err;
  GPtrArray     *lines;      /* char *, every stdout line */
  GPtrArray     *events;     /* JsonObject *, the lines that are objects */
  gboolean       out_eof;
  gboolean       err_done;
  gboolean       exited;
  gint64         spawned_us;
  gint64         exited_us;
  GCancellable  *cancellable;
} Proc;

typedef struct {
  const char *tool;
  char       *tmp;
  guint16     port;
  GPtrArray  *procs;
} Fixture;

/* What @p wrote so far. */
char       *proc_stderr          (Proc               *p);
char       *proc_stdout          (Proc               *p);
/* Both, as test messages. */
void        proc_dump            (Proc               *p);

/* `ferry ARGS…` with /dev/null as standard input, kept by @fx.
 * @env: "NAME=value" to set, "NAME" to unset */
Proc       *proc_spawnv          (Fixture            *fx,
                                  const char         *label,
                                  const char * const *env,
                                  const char * const *args);

#define proc_spawn(fx, label, ...) \
  proc_spawnv ((fx), (label), NULL, (const char * const []) { __VA_ARGS__, NULL })

/* Like proc_spawnv, with a terminal as standard input: @tty_fd, the
 * slave side of a pseudo-terminal (taken). */
Proc       *proc_spawn_tty       (Fixture            *fx,
                                  const char         *label,
                                  int                 tty_fd,
                                  const char * const *args);

/* Waiting {{{1 */

typedef gboolean (*Predicate) (gpointer data);

/* Iterates the main context until @predicate holds or @timeout_ms pass;
 * returns whether it holds. */
gboolean    wait_for             (Predicate           predicate,
                                  gpointer            data,
                                  guint               timeout_ms);

/* Returns the exit status, or 128 + the signal that killed it. */
int         proc_wait_exit       (Proc               *p,
                                  guint               timeout_ms);
void        proc_assert_exit     (Proc               *p,
                                  int                 expected);

/* A string member, or NULL when it is missing or not a string. */
const char *obj_str              (JsonObject         *object,
                                  const char         *member);
/* An integer member, which must be there. */
gint64      obj_int              (JsonObject         *object,
                                  const char         *member);

/* The first event named @event, or NULL. */
JsonObject *proc_find_event      (Proc               *p,
                                  const char         *event);
/* The first event named @event; fails the test after @timeout_ms. */
JsonObject *proc_wait_event      (Proc               *p,
                                  const char         *event,
                                  guint               timeout_ms);

/* Asserts that @p reported an error event with @code; dumps the output of
 * @p and @other otherwise. */
void        assert_error_code    (Proc               *p,
                                  const char         *code,
                                  Proc               *other);

/* Fixture {{{1 */

void        fixture_setup        (Fixture            *fx,
                                  gconstpointer       data);
/* TRUE (after a skip) when the tool cannot be run. */
gboolean    fixture_skip         (Fixture            *fx);
void        fixture_teardown     (Fixture            *fx,
                                  gconstpointer       data);

#define CLI_TEST_ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

/* A home with its own ferry.conf: local-broadcast on the test's port. */
char       *make_home            (Fixture            *fx,
                                  const char         *name,
                                  const char         *extra);
char       *make_dir             (Fixture            *fx,
                                  const char         *name);
char       *write_file           (const char         *dir,
                                  const char         *name,
                                  const void         *contents,
                                  gsize               size);
/* The names in @path, unsorted. */
GPtrArray  *list_dir             (const char         *path);
/* Whether @text is @length lowercase hexadecimal digits. */
gboolean    is_hex               (const char         *text,
                                  gsize               length);

/* `ferry --home HOME --json id`, as an object */
JsonObject *run_id               (Fixture            *fx,
                                  const char         *label,
                                  const char * const *env,
                                  const char * const *args);
/* `ferry receive --dir DIR ACCEPT [ACCEPT_ID] [--once]`, once ready. */
Proc       *start_receiver       (Fixture            *fx,
                                  const char         *home,
                                  const char         *dir,
                                  const char         *accept,
                                  const char         *accept_id,
                                  gboolean            once);

G_END_DECLS

/* vim: set foldmethod=marker: */
