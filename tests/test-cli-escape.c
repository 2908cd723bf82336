/* test-cli-escape.c: peer text on the terminal of the `ferry` tool
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A device whose name holds terminal escapes, run as real processes on
 * loopback (see test-cli-common.h): what the other side prints about it
 * (the peers listing, a rejection, the accept prompt on a terminal) is
 * escaped and cut to a bounded width.
 */
#include "config.h"

#include <pty.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "test-cli-common.h"

/* Hostile names {{{1 */

/* No byte of @text may drive a terminal: no ESC, no BEL, no other C0
 * control but the line feed, no DEL, no C1 control. */
static void
assert_terminal_safe (const char *label,
                      const char *text)
{
  g_autofree char *valid = g_utf8_make_valid (text, -1);

  for (const char *p = valid; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if ((c < 0x20 && c != '\n') || c == 0x7f || (c >= 0x80 && c <= 0x9f))
        {
          g_test_message ("%s:\n%s", label, text);
          g_error ("%s: control character U+%04X at offset %d", label, c, (int) (p - valid));
        }
    }
}

typedef struct {
  Proc       *proc;
  const char *needle;
} StderrWait;

static gboolean
stderr_has (gpointer data)
{
  StderrWait *w = data;
  g_autofree char *err = proc_stderr (w->proc);

  return (err != NULL && strstr (err, w->needle) != NULL) || w->proc->exited;
}

/* The line of @text that holds @needle; fails when there is none. */
static char *
line_with (const char *text,
           const char *needle)
{
  const char *at = strstr (text, needle);
  const char *start, *end;

  if (at == NULL)
    g_error ("no “%s” in:\n%s", needle, text);
  for (start = at; start > text && start[-1] != '\n'; start--)
    ;
  end = strchr (at, '\n');
  return g_strndup (start, end ? (gsize) (end - start) : strlen (start));
}

#define HOSTILE_NAME "evil\033]0;x\007\033[2J\033[31m-"

/* A device whose name (from its ferry.conf) holds terminal escapes: the
 * other side's peers listing, rejection line and accept prompt show it
 * escaped, without a raw ESC or BEL, and cut to a bounded width. */
static void
test_hostile_name (Fixture       *fx,
                   gconstpointer  data)
{
  g_autofree char *long_tail = g_strnfill (300, 'A');
  g_autofree char *conf = g_strdup_printf ("[core]\nname=" HOSTILE_NAME "%s\n", long_tail);
  g_autofree char *evil_home = NULL, *recv_home = NULL, *look_home = NULL;
  g_autofree char *dir = NULL, *evil_dir = NULL, *file = NULL, *other = NULL, *prefix = NULL;
  g_autofree char *listing = NULL, *err = NULL, *line = NULL;
  g_autoptr(JsonObject) evil_id = NULL;
  Proc *evil, *peers, *receiver, *sender;
  int master, slave;

  if (fixture_skip (fx))
    return;

  evil_home = make_home (fx, "evil", conf);
  recv_home = make_home (fx, "recv", NULL);
  look_home = make_home (fx, "look", NULL);
  dir = make_dir (fx, "downloads");
  evil_dir = make_dir (fx, "evil-downloads");
  file = write_file (fx->tmp, "note.txt", "hello\n", 6);
  evil_id = run_id (fx, "evil id", NULL, (const char * const []) { "--home", evil_home, "--json", "id", NULL });

  /* peers: the hostile device as a receiver, listed in text. */
  evil = start_receiver (fx, evil_home, evil_dir, "--yes", NULL, FALSE);
  peers = proc_spawn (fx, "peers", "--home", look_home, "--interface", "lo", "peers", "--timeout", "1.5");
  proc_assert_exit (peers, 0);
  listing = proc_stdout (peers);
  g_assert_nonnull (strstr (listing, obj_str (evil_id, "device")));
  assert_terminal_safe ("peers", listing);
  line = line_with (listing, "evil");
  g_assert_cmpint (g_utf8_strlen (line, -1), <=, 64);
  g_clear_pointer (&line, g_free);
  g_subprocess_send_signal (evil->process, SIGTERM);
  proc_assert_exit (evil, 128 + SIGTERM);

  /* A receiver that accepts from someone else: “Rejected files from …”. */
  other = g_strndup (obj_str (evil_id, "account"), 12);
  other[0] = other[0] == '0' ? '1' : '0';
  receiver = start_receiver (fx, recv_home, dir, "--accept-from", other, TRUE);
  prefix = g_strndup (obj_str (proc_find_event (receiver, "ready"), "account"), 12);
  sender = proc_spawn (fx, "sender", "--home", evil_home, "--interface", "lo", "--json",
                       "send", "--to", prefix, file);
  proc_assert_exit (sender, 1);
  proc_assert_exit (receiver, 1);
  err = proc_stderr (receiver);
  assert_terminal_safe ("receiver stderr", err);
  line = line_with (err, "Rejected files from");
  g_assert_cmpint (g_utf8_strlen (line, -1), <=, 160);
  g_clear_pointer (&line, g_free);
  g_clear_pointer (&err, g_free);

  /* A receiver that asks on its terminal: the prompt. */
  g_assert_cmpint (openpty (&master, &slave, NULL, NULL, NULL), ==, 0);
  receiver = proc_spawn_tty (fx, "asking receiver", slave,
                             (const char * const []) { "--home", recv_home, "--interface", "lo", "--json",
                                                       "receive", "--dir", dir, "--once", NULL });
  proc_wait_event (receiver, "ready", WAIT_READY_MS);
  sender = proc_spawn (fx, "sender", "--home", evil_home, "--interface", "lo", "--json",
                       "send", "--to", prefix, file);
  {
    StderrWait w = { receiver, "[y/N]" };

    if (!wait_for (stderr_has, &w, WAIT_TRANSFER_MS) || receiver->exited)
      {
        proc_dump (receiver);
        proc_dump (sender);
        g_error ("no prompt");
      }
  }
  g_assert_cmpint (write (master, "n\n", 2), ==, 2);
  proc_assert_exit (sender, 1);
  proc_assert_exit (receiver, 1);
  close (master);
  assert_error_code (sender, "rejected", receiver);
  err = proc_stderr (receiver);
  assert_terminal_safe ("prompt", err);
  line = line_with (err, "[y/N]");
  g_assert_nonnull (strstr (line, "Accept 1 file"));
  g_assert_cmpint (g_utf8_strlen (line, -1), <=, 160);
  g_assert_cmpuint (list_dir (dir)->len, ==, 0);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  signal (SIGPIPE, SIG_IGN);

  CLI_TEST_ADD ("/cli/hostile-name", test_hostile_name);

  return g_test_run ();
}

/* vim: set foldmethod=marker: */
