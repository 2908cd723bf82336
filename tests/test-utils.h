/* test-utils.h: helpers shared by the test suites
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "ferry.h"

G_BEGIN_DECLS

typedef gboolean (*FerryTestCondition) (gpointer user_data);

/* Iterates the thread-default main context until @condition holds; fails
 * the test after @timeout_ms. */
void      ferry_test_wait_until       (FerryTestCondition  condition,
                                       gpointer            user_data,
                                       guint               timeout_ms,
                                       const char         *what);

/* ferry_test_wait_until() for a flag that a callback sets. */
void      ferry_test_wait_flag        (const gboolean     *flag,
                                       guint               timeout_ms);

/* Two ends of a TCP connection on loopback. */
void      ferry_test_socket_pair      (GIOStream         **a,
                                       GIOStream         **b);

/* A fresh directory inside the test's own isolated directories (see
 * G_TEST_OPTION_ISOLATE_DIRS), removed by GLib when the test ends. */
char     *ferry_test_make_dir         (const char         *name);

/* Writes @size pseudo-random bytes (seeded by @seed) to @path. */
void      ferry_test_write_random     (const char         *path,
                                       gsize               size,
                                       guint32             seed);

/* TRUE when both files exist and hold the same bytes. */
gboolean  ferry_test_files_equal      (const char         *a,
                                       const char         *b);

/* A UDP port that was free a moment ago, on 127.0.0.1. */
guint16   ferry_test_free_udp_port    (void);
/* For g_subprocess_launcher_set_child_setup() with
 * GINT_TO_POINTER (getpid ()): the child dies with the test process,
 * however the test ends (a failed assertion aborts it), so no server is
 * left behind and none is signalled by a pid reused meanwhile. */
void      ferry_test_die_with_parent  (gpointer parent_pid);
/* coturn on 127.0.0.1 (user test:test, realm ferry.test, loopback peers
 * allowed), its files in @dir, dying with the test; *@port is where it
 * listens. Fails the test when it does not start. */
GSubprocess *ferry_test_coturn_spawn  (const char *turnserver,
                                       const char *dir,
                                       guint16    *port);

/* Names in @dir, sorted, joined by '|' (for asserting directory contents). */
char     *ferry_test_list_dir         (const char         *dir);

/* ferry_engine_find_peer_async() of @query, waited for on the
 * thread-default main context (up to @timeout_ms and 5 s more); the peer,
 * or %NULL with @error set. */
FerryPeer *ferry_test_find_peer       (FerryEngine        *engine,
                                       const char         *query,
                                       guint               timeout_ms,
                                       GCancellable       *cancellable,
                                       GError            **error);

/* The number of entries in the folder @dir, which must exist. */
guint     ferry_test_count_entries    (const char         *dir);

/* Removes @path: a file, a symbolic link (not followed), or a folder and
 * everything in it. */
void      ferry_test_remove_tree      (const char         *path);

/* Skips the test with @reason, or fails it when FERRY_TEST_NO_SKIP is set
 * (as in CI, where nothing may skip). */
void      ferry_test_skip_or_fail     (const char         *reason);

/* A started engine in @home (created), with @config written to its
 * ferry.conf, announcing and listening on the loopback interface only,
 * with the signalings and transports of the comma-separated lists. */
FerryEngine *ferry_test_new_engine   (const char         *home,
                                      const char         *config,
                                      const char         *signalings,
                                      const char         *transports);

/* Keeps the log lines, debug ones included, of the domains that begin
 * with @domain_prefix and that hold one of @needles (NULL-terminated), as
 * "domain: message", so that a test can count them or wait for them;
 * every line still goes to the default writer. Call once, before
 * g_test_init(). */
void      ferry_test_log_capture      (const char         *domain_prefix,
                                       const char * const *needles);
/* How many of the lines kept hold @needle. Any thread. */
guint     ferry_test_log_count        (const char         *needle);
/* Forgets the lines kept so far. Any thread. */
void      ferry_test_log_clear        (void);

/* A held file: a regular file of @size bytes named @name (a GFile of its
 * own kind) whose bytes come from a pipe the test writes, so that the
 * sender cannot read past what the test gave it: a transfer is still
 * running when the test says so, on a fast machine as on a slow one. It
 * can be read once. */
typedef struct _FerryTestHeld FerryTestHeld;

FerryTestHeld *ferry_test_held_new      (const char    *name,
                                         guint64        size);
GFile         *ferry_test_held_get_file (FerryTestHeld *held);
/* Writes @n pseudo-random bytes in the background; ferry_test_held_taken()
 * (a FerryTestCondition) tells when the sender read them all. */
void           ferry_test_held_give     (FerryTestHeld *held,
                                         gsize          n);
gboolean       ferry_test_held_taken    (gpointer       held);
/* From now on gives bytes as long as the sender reads: the file reads
 * like a local one. */
void           ferry_test_held_give_all (FerryTestHeld *held);
/* Stops giving, then ends the file (a sender still reading sees its end). */
void           ferry_test_held_free     (FerryTestHeld *held);

G_END_DECLS
