/* test-resume.c: re-requesting a transfer, and resuming it, with real
 * `ferry` processes
 *
 * Each test runs `ferry` processes (the binary named by $FERRY_TOOL) with
 * homes of their own under a fresh folder, local-broadcast on a UDP port
 * picked for the test and --interface lo only. A sender is killed with
 * SIGKILL in the middle of a transfer; the receiver keeps the .part and
 * records it; `ferry fetch` asks again and resumes. The last test drives
 * the tool with two devices of one account (export, import, a send to the
 * account and to one device, revoke). Events are read from the --json
 * output line by line while the main context runs.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>

#include <glib/gstdio.h>
#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "test-utils.h"

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

static void
proc_free (Proc *p)
{
  if (!p->exited)
    g_subprocess_force_exit (p->process);
  g_cancellable_cancel (p->cancellable);
  g_clear_object (&p->cancellable);
  g_clear_object (&p->out);
  g_clear_object (&p->process);
  g_ptr_array_unref (p->events);
  g_free (p->label);
  g_free (p);
}

static void
child_setup (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static void read_next_line (Proc *p);

static void
line_read_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Proc *p = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source),
                                                                     result, NULL, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (line == NULL)
    {
      p->out_eof = TRUE;
      return;
    }
  g_test_message ("%s: %s", p->label, line);
  {
    g_autoptr(JsonParser) parser = json_parser_new ();

    if (json_parser_load_from_data (parser, line, -1, NULL) &&
        JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
      g_ptr_array_add (p->events, json_object_ref (json_node_get_object (json_parser_get_root (parser))));
  }
  read_next_line (p);
}

static void
read_next_line (Proc *p)
{
  g_data_input_stream_read_line_async (p->out, G_PRIORITY_DEFAULT, p->cancellable, line_read_cb, p);
}

static void
waited_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Proc *p = user_data;

  if (!g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL))
    return;
  p->exited = TRUE;
  if (g_subprocess_get_if_exited (p->process))
    p->status = g_subprocess_get_exit_status (p->process);
  else
    p->status = 128 + g_subprocess_get_term_sig (p->process);
}

static Proc *
proc_spawn (Fixture    *fx,
            const char *label,
            ...)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  Proc *p = g_new0 (Proc, 1);
  const char *arg;
  va_list ap;

  g_ptr_array_add (argv, (gpointer) fx->tool);
  va_start (ap, label);
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (argv, (gpointer) arg);
  va_end (ap);
  g_ptr_array_add (argv, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_set_stdin_file_path (launcher, "/dev/null");
  g_subprocess_launcher_unsetenv (launcher, "FERRY_HOME");
  g_subprocess_launcher_setenv (launcher, "FERRY_PLUGIN_SYSTEM_PATH", "", TRUE);
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);
  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);

  p->label = g_strdup (label);
  p->events = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  p->cancellable = g_cancellable_new ();
  p->process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  p->out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (p->process));
  read_next_line (p);
  g_subprocess_wait_async (p->process, p->cancellable, waited_cb, p);
  g_ptr_array_add (fx->procs, p);
  return p;
}

static JsonObject *
proc_find (Proc       *p,
           const char *event,
           guint       nth)
{
  for (guint i = 0; i < p->events->len; i++)
    {
      JsonObject *object = g_ptr_array_index (p->events, i);

      if (g_strcmp0 (json_object_get_string_member_with_default (object, "event", NULL), event) == 0 &&
          nth-- == 0)
        return object;
    }
  return NULL;
}

static gboolean
proc_done (gpointer data)
{
  Proc *p = data;

  return p->exited && p->out_eof;
}

static int
proc_wait_exit (Proc *p)
{
  ferry_test_wait_until (proc_done, p, WAIT_MS, p->label);
  return p->status;
}

typedef struct {
  Proc       *p;
  const char *event;
} EventWait;

static gboolean
event_seen (gpointer data)
{
  EventWait *wait = data;

  return proc_find (wait->p, wait->event, 0) != NULL || wait->p->out_eof;
}

static JsonObject *
proc_wait_event (Proc       *p,
                 const char *event)
{
  EventWait wait = { p, event };
  JsonObject *object;

  ferry_test_wait_until (event_seen, &wait, WAIT_MS, event);
  object = proc_find (p, event, 0);
  if (object == NULL)
    g_error ("%s ended without a “%s” event", p->label, event);
  return object;
}

static void
fixture_set_up (Fixture       *fx,
                gconstpointer  data)
{
  fx->tool = g_getenv ("FERRY_TOOL");
  g_assert_nonnull (fx->tool);
  fx->dir = ferry_test_make_dir ("resume");
  fx->port = ferry_test_free_udp_port ();
  fx->procs = g_ptr_array_new_with_free_func ((GDestroyNotify) proc_free);
}

static void
fixture_tear_down (Fixture       *fx,
                   gconstpointer  data)
{
  g_ptr_array_unref (fx->procs);
  g_free (fx->dir);
}

static char *
make_home_with (Fixture    *fx,
                const char *name,
                const char *core_extra)
{
  char *home = g_build_filename (fx->dir, name, NULL);
  g_autofree char *conf = g_build_filename (home, "ferry.conf", NULL);
  g_autofree char *text = g_strdup_printf ("[core]\nname=%s\n%s[local-broadcast]\nport=%u\n",
                                           name, core_extra, fx->port);

  g_assert_cmpint (g_mkdir_with_parents (home, 0700), ==, 0);
  g_assert_true (g_file_set_contents (conf, text, -1, NULL));
  return home;
}

static char *
make_home (Fixture    *fx,
           const char *name)
{
  return make_home_with (fx, name, "");
}

static char *
account_of (Fixture    *fx,
            const char *home)
{
  Proc *p = proc_spawn (fx, "id", "--home", home, "--json", "id", NULL);
  JsonObject *id;

  g_assert_cmpint (proc_wait_exit (p), ==, 0);
  id = proc_find (p, NULL, 0);
  for (guint i = 0; id == NULL && i < p->events->len; i++)
    id = g_ptr_array_index (p->events, i);
  g_assert_nonnull (id);
  return g_strdup (json_object_get_string_member (id, "account"));
}

/* The records of `ferry history --json`, newest first. */
static GPtrArray *
history_of (Fixture    *fx,
            const char *home)
{
  Proc *p = proc_spawn (fx, "history", "--home", home, "--json", "history", NULL);

  g_assert_cmpint (proc_wait_exit (p), ==, 0);
  return g_ptr_array_ref (p->events);
}

static JsonObject *
file_entry (JsonObject *record,
            guint       index)
{
  return json_array_get_object_element (json_object_get_array_member (record, "files"), index);
}

typedef struct {
  Proc    *p;
  guint64  bytes;
} ProgressWait;

static gboolean
progress_reached (gpointer data)
{
  ProgressWait *wait = data;

  for (guint i = 0; i < wait->p->events->len; i++)
    {
      JsonObject *object = g_ptr_array_index (wait->p->events, i);

      if (g_strcmp0 (json_object_get_string_member_with_default (object, "event", NULL), "progress") == 0 &&
          (guint64) json_object_get_int_member (object, "bytes") >= wait->bytes)
        return TRUE;
    }
  return wait->p->out_eof;
}

typedef struct {
  char *recv_home;
  char *send_home;
  char *download;
  char *source;
  char *part;
  char *id;
  guint64 part_bytes;
} Interrupted;

static void
interrupted_clear (Interrupted *it)
{
  g_free (it->recv_home);
  g_free (it->send_home);
  g_free (it->download);
  g_free (it->source);
  g_free (it->part);
  g_free (it->id);
}

/* Sends a big file and kills the sender with SIGKILL once the receiver
 * holds at least a third of it. */
static void
interrupt_transfer (Fixture     *fx,
                    Interrupted *it)
{
  g_autofree char *account = NULL;
  g_autofree char *prefix = NULL;
  g_autoptr(GPtrArray) history = NULL;
  Proc *receiver, *sender;
  ProgressWait wait;
  JsonObject *error, *record, *file;
  GStatBuf st;

  it->recv_home = make_home (fx, "receiver");
  it->send_home = make_home (fx, "sender");
  it->download = g_build_filename (fx->dir, "download", NULL);
  g_assert_cmpint (g_mkdir_with_parents (it->download, 0700), ==, 0);
  it->source = g_build_filename (fx->dir, "big.bin", NULL);
  ferry_test_write_random (it->source, BIG_SIZE, 42);
  it->part = g_build_filename (it->download, "big.bin.part", NULL);

  account = account_of (fx, it->recv_home);
  prefix = g_strndup (account, 12);
  receiver = proc_spawn (fx, "receiver", "--home", it->recv_home, "--interface", "lo", "--json",
                         "receive", "--yes", "--once", "--dir", it->download, NULL);
  proc_wait_event (receiver, "ready");
  sender = proc_spawn (fx, "sender", "--home", it->send_home, "--interface", "lo", "--json",
                       "send", "--limit-rate", CUT_RATE, "--to", prefix, it->source, NULL);

  wait.p = receiver;
  wait.bytes = BIG_SIZE / 3;
  ferry_test_wait_until (progress_reached, &wait, WAIT_MS, "a third of the file to arrive");
  g_assert_false (receiver->out_eof);
  g_assert_true (g_subprocess_get_identifier (sender->process) != NULL);
  g_subprocess_send_signal (sender->process, SIGKILL);
  g_assert_cmpint (proc_wait_exit (sender), ==, 128 + SIGKILL);

  /* The receiver sees the sender vanish, and keeps what arrived. */
  g_assert_cmpint (proc_wait_exit (receiver), ==, 1);
  error = proc_find (receiver, "error", 0);
  g_assert_nonnull (error);
  g_assert_cmpstr (json_object_get_string_member (error, "code"), ==, "peer-vanished");
  g_assert_null (proc_find (receiver, "done", 0));
  {
    g_autofree char *listing = ferry_test_list_dir (it->download);

    g_assert_cmpstr (listing, ==, "big.bin.part");
  }
  g_assert_cmpint (g_stat (it->part, &st), ==, 0);
  it->part_bytes = (guint64) st.st_size;
  g_assert_cmpuint (it->part_bytes, >=, BIG_SIZE / 3);
  g_assert_cmpuint (it->part_bytes, <, BIG_SIZE);

  /* ... and records it. */
  history = history_of (fx, it->recv_home);
  g_assert_cmpuint (history->len, ==, 1);
  record = g_ptr_array_index (history, 0);
  g_assert_cmpstr (json_object_get_string_member (record, "direction"), ==, "incoming");
  g_assert_cmpstr (json_object_get_string_member (record, "state"), ==, "error");
  g_assert_cmpstr (json_object_get_string_member (record, "directory"), ==, it->download);
  file = file_entry (record, 0);
  g_assert_cmpstr (json_object_get_string_member (file, "part"), ==, "big.bin.part");
  g_assert_cmpint (json_object_get_int_member (file, "part-bytes"), ==, (gint64) it->part_bytes);
  g_assert_false (json_object_has_member (file, "path"));
  it->id = g_strdup (json_object_get_string_member (record, "id"));
}

/* The sender comes back: any running engine answers requests. */
static Proc *
start_sender_again (Fixture     *fx,
                    Interrupted *it)
{
  g_autofree char *elsewhere = g_build_filename (fx->dir, "sender-download", NULL);
  Proc *p;

  g_assert_cmpint (g_mkdir_with_parents (elsewhere, 0700), ==, 0);
  p = proc_spawn (fx, "sender again", "--home", it->send_home, "--interface", "lo", "--json",
                  "receive", "--yes", "--dir", elsewhere, NULL);
  proc_wait_event (p, "ready");
  return p;
}

static void
test_sender_killed (Fixture       *fx,
                    gconstpointer  data)
{
  Interrupted it = { 0, };
  g_autoptr(GPtrArray) history = NULL;
  g_autoptr(GPtrArray) sent = NULL;
  g_autofree char *final = NULL;
  JsonObject *record, *done;
  gint64 moved;
  Proc *fetch;

  interrupt_transfer (fx, &it);
  start_sender_again (fx, &it);

  fetch = proc_spawn (fx, "fetch", "--home", it.recv_home, "--interface", "lo", "--json",
                      "fetch", it.id, NULL);
  g_assert_cmpint (proc_wait_exit (fetch), ==, 0);
  done = proc_find (fetch, "done", 0);
  g_assert_nonnull (done);
  g_assert_cmpstr (json_object_get_string_member (done, "transfer"), ==, it.id);
  g_assert_null (proc_find (fetch, "error", 0));

  final = g_build_filename (it.download, "big.bin", NULL);
  g_assert_true (ferry_test_files_equal (it.source, final));
  {
    g_autofree char *listing = ferry_test_list_dir (it.download);

    g_assert_cmpstr (listing, ==, "big.bin");
  }

  /* Only the missing part crossed the network (asserted on both sides). */
  history = history_of (fx, it.recv_home);
  record = g_ptr_array_index (history, 0);
  g_assert_cmpstr (json_object_get_string_member (record, "id"), ==, it.id);
  g_assert_cmpstr (json_object_get_string_member (record, "state"), ==, "finished");
  moved = json_object_get_int_member (record, "moved");
  g_test_message ("kept %" G_GUINT64_FORMAT " bytes, moved %" G_GINT64_FORMAT " of %d on resume",
                  it.part_bytes, moved, BIG_SIZE);
  g_assert_cmpint (moved, >=, (gint64) (BIG_SIZE - it.part_bytes));
  g_assert_cmpint (moved, <=, (gint64) (BIG_SIZE - it.part_bytes + SEND_CHUNK));
  g_assert_false (json_object_has_member (file_entry (record, 0), "part"));
  g_assert_cmpstr (json_object_get_string_member (file_entry (record, 0), "path"), ==, final);

  sent = history_of (fx, it.send_home);
  g_assert_cmpuint (sent->len, ==, 2);
  record = g_ptr_array_index (sent, 0);   /* the re-send */
  g_assert_cmpstr (json_object_get_string_member (record, "direction"), ==, "outgoing");
  g_assert_cmpstr (json_object_get_string_member (record, "state"), ==, "finished");
  g_assert_cmpstr (json_object_get_string_member (record, "resend-of"), ==,
                   json_object_get_string_member (g_ptr_array_index (sent, 1), "id"));
  g_assert_cmpint (json_object_get_int_member (record, "moved"), ==, moved);
  g_assert_cmpstr (json_object_get_string_member (file_entry (record, 0), "sha3-256"), ==,
                   json_object_get_string_member (json_array_get_object_element (json_object_get_array_member (done, "files"), 0),
                                                  "sha3-256"));

  interrupted_clear (&it);
}

/* The receiver dies instead: the record it wrote while receiving names
 * the .part, and a new process resumes from it. */
static void
test_receiver_killed (Fixture       *fx,
                      gconstpointer  data)
{
  g_autofree char *recv_home = make_home (fx, "receiver");
  g_autofree char *send_home = make_home (fx, "sender");
  g_autofree char *download = g_build_filename (fx->dir, "download", NULL);
  g_autofree char *source = g_build_filename (fx->dir, "big.bin", NULL);
  g_autofree char *part = NULL;
  g_autofree char *final = NULL;
  g_autofree char *account = NULL;
  g_autofree char *prefix = NULL;
  g_autofree char *id = NULL;
  g_autoptr(GPtrArray) history = NULL;
  g_autoptr(GPtrArray) after = NULL;
  Interrupted it = { 0, };
  JsonObject *record;
  ProgressWait wait;
  Proc *receiver, *sender, *fetch;
  GStatBuf st;
  guint64 kept;
  gint64 moved;

  g_assert_cmpint (g_mkdir_with_parents (download, 0700), ==, 0);
  ferry_test_write_random (source, BIG_SIZE, 7);
  part = g_build_filename (download, "big.bin.part", NULL);
  account = account_of (fx, recv_home);
  prefix = g_strndup (account, 12);
  receiver = proc_spawn (fx, "receiver", "--home", recv_home, "--interface", "lo", "--json",
                         "receive", "--yes", "--once", "--dir", download, NULL);
  proc_wait_event (receiver, "ready");
  sender = proc_spawn (fx, "sender", "--home", send_home, "--interface", "lo", "--json",
                       "send", "--limit-rate", CUT_RATE, "--to", prefix, source, NULL);
  wait.p = receiver;
  wait.bytes = BIG_SIZE / 3;
  ferry_test_wait_until (progress_reached, &wait, WAIT_MS, "a third of the file to arrive");
  g_assert_false (receiver->out_eof);
  g_subprocess_send_signal (receiver->process, SIGKILL);
  g_assert_cmpint (proc_wait_exit (receiver), ==, 128 + SIGKILL);
  g_assert_cmpint (proc_wait_exit (sender), ==, 1);
  /* the sender sees a peer that vanished, not a TLS protocol error */
  g_assert_nonnull (proc_find (sender, "error", 0));
  g_assert_cmpstr (json_object_get_string_member (proc_find (sender, "error", 0), "code"), ==,
                   "peer-vanished");

  g_assert_cmpint (g_stat (part, &st), ==, 0);
  kept = (guint64) st.st_size;
  g_assert_cmpuint (kept, >, 0);
  g_assert_cmpuint (kept, <, BIG_SIZE);
  history = history_of (fx, recv_home);
  record = g_ptr_array_index (history, 0);
  /* Still "ongoing": the process died without a word. */
  g_assert_cmpstr (json_object_get_string_member (record, "state"), ==, "ongoing");
  g_assert_cmpstr (json_object_get_string_member (file_entry (record, 0), "part"), ==, "big.bin.part");
  id = g_strdup (json_object_get_string_member (record, "id"));

  it.send_home = g_strdup (send_home);
  start_sender_again (fx, &it);
  fetch = proc_spawn (fx, "fetch", "--home", recv_home, "--interface", "lo", "--json",
                      "fetch", id, NULL);
  g_assert_cmpint (proc_wait_exit (fetch), ==, 0);
  final = g_build_filename (download, "big.bin", NULL);
  g_assert_true (ferry_test_files_equal (source, final));
  g_assert_false (g_file_test (part, G_FILE_TEST_EXISTS));

  after = history_of (fx, recv_home);
  record = g_ptr_array_index (after, 0);
  g_assert_cmpstr (json_object_get_string_member (record, "state"), ==, "finished");
  moved = json_object_get_int_member (record, "moved");
  g_test_message ("receiver killed: kept %" G_GUINT64_FORMAT " bytes, moved %" G_GINT64_FORMAT
                  " of %d on resume", kept, moved, BIG_SIZE);
  g_assert_cmpint (moved, >=, (gint64) (BIG_SIZE - kept));
  g_assert_cmpint (moved, <=, (gint64) (BIG_SIZE - kept + SEND_CHUNK));

  interrupted_clear (&it);
}

/* The link goes silent (the sender stopped, nothing closed): the receiver
 * gives up after its stall timeout, keeps the .part, and a fetch resumes. */
static void
test_link_cut (Fixture       *fx,
               gconstpointer  data)
{
  g_autofree char *recv_home = make_home_with (fx, "receiver", "stall-timeout=2\n");
  g_autofree char *send_home = make_home (fx, "sender");
  g_autofree char *download = g_build_filename (fx->dir, "download", NULL);
  g_autofree char *source = g_build_filename (fx->dir, "big.bin", NULL);
  g_autofree char *part = NULL;
  g_autofree char *final = NULL;
  g_autofree char *account = NULL;
  g_autofree char *prefix = NULL;
  g_autofree char *id = NULL;
  g_autoptr(GPtrArray) history = NULL;
  g_autoptr(GPtrArray) after = NULL;
  Interrupted it = { 0, };
  JsonObject *record, *error;
  ProgressWait wait;
  Proc *receiver, *sender, *fetch;
  GStatBuf st;
  guint64 kept;
  gint64 moved;

  g_assert_cmpint (g_mkdir_with_parents (download, 0700), ==, 0);
  ferry_test_write_random (source, BIG_SIZE, 9);
  part = g_build_filename (download, "big.bin.part", NULL);
  account = account_of (fx, recv_home);
  prefix = g_strndup (account, 12);
  receiver = proc_spawn (fx, "receiver", "--home", recv_home, "--interface", "lo", "--json",
                         "receive", "--yes", "--once", "--dir", download, NULL);
  proc_wait_event (receiver, "ready");
  sender = proc_spawn (fx, "sender", "--home", send_home, "--interface", "lo", "--json",
                       "send", "--limit-rate", CUT_RATE, "--to", prefix, source, NULL);
  wait.p = receiver;
  wait.bytes = BIG_SIZE / 3;
  ferry_test_wait_until (progress_reached, &wait, WAIT_MS, "a third of the file to arrive");
  g_assert_false (receiver->out_eof);
  /* Frozen: its socket stays open, no data and no end comes. */
  g_subprocess_send_signal (sender->process, SIGSTOP);

  g_assert_cmpint (proc_wait_exit (receiver), ==, 1);
  error = proc_find (receiver, "error", 0);
  g_assert_nonnull (error);
  g_assert_cmpstr (json_object_get_string_member (error, "code"), ==, "timeout");
  /* Back, the sender learns why: the receiver stopped waiting. */
  g_subprocess_send_signal (sender->process, SIGCONT);
  g_assert_cmpint (proc_wait_exit (sender), ==, 1);
  error = proc_find (sender, "error", 0);
  g_assert_nonnull (error);
  g_test_message ("sender: %s", json_object_get_string_member (error, "message"));
  g_assert_cmpstr (json_object_get_string_member (error, "code"), ==, "cancelled-by-peer");
  g_assert_nonnull (strstr (json_object_get_string_member (error, "message"), "stopped waiting"));

  g_assert_cmpint (g_stat (part, &st), ==, 0);
  kept = (guint64) st.st_size;
  g_assert_cmpuint (kept, >=, BIG_SIZE / 3);
  g_assert_cmpuint (kept, <, BIG_SIZE);
  history = history_of (fx, recv_home);
  record = g_ptr_array_index (history, 0);
  g_assert_cmpstr (json_object_get_string_member (record, "state"), ==, "timeout-expired");
  g_assert_cmpint (json_object_get_int_member (file_entry (record, 0), "part-bytes"), ==, (gint64) kept);
  id = g_strdup (json_object_get_string_member (record, "id"));

  it.send_home = g_strdup (send_home);
  start_sender_again (fx, &it);
  fetch = proc_spawn (fx, "fetch", "--home", recv_home, "--interface", "lo", "--json",
                      "fetch", id, NULL);
  g_assert_cmpint (proc_wait_exit (fetch), ==, 0);
  final = g_build_filename (download, "big.bin", NULL);
  g_assert_true (ferry_test_files_equal (source, final));

  after = history_of (fx, recv_home);
  record = g_ptr_array_index (after, 0);
  moved = json_object_get_int_member (record, "moved");
  g_test_message ("link cut: kept %" G_GUINT64_FORMAT " bytes, moved %" G_GINT64_FORMAT
                  " of %d on resume", kept, moved, BIG_SIZE);
  g_assert_cmpint (moved, >=, (gint64) (BIG_SIZE - kept));
  g_assert_cmpint (moved, <=, (gint64) (BIG_SIZE - kept + SEND_CHUNK));

  interrupted_clear (&it);
}

/* The other way round: the receiver freezes; the sender gives up after its
 * stall timeout instead of waiting for ever. */
static void
test_receiver_frozen (Fixture       *fx,
                      gconstpointer  data)
{
  g_autofree char *recv_home = make_home (fx, "receiver");
  g_autofree char *send_home = make_home_with (fx, "sender", "stall-timeout=2\n");
  g_autofree char *download = g_build_filename (fx->dir, "download", NULL);
  g_autofree char *source = g_build_filename (fx->dir, "big.bin", NULL);
  g_autofree char *account = NULL;
  g_autofree char *prefix = NULL;
  JsonObject *error;
  ProgressWait wait;
  Proc *receiver, *sender;

  g_assert_cmpint (g_mkdir_with_parents (download, 0700), ==, 0);
  ferry_test_write_random (source, BIG_SIZE, 11);
  account = account_of (fx, recv_home);
  prefix = g_strndup (account, 12);
  receiver = proc_spawn (fx, "receiver", "--home", recv_home, "--interface", "lo", "--json",
                         "receive", "--yes", "--once", "--dir", download, NULL);
  proc_wait_event (receiver, "ready");
  sender = proc_spawn (fx, "sender", "--home", send_home, "--interface", "lo", "--json",
                       "send", "--limit-rate", CUT_RATE, "--to", prefix, source, NULL);
  wait.p = receiver;
  wait.bytes = BIG_SIZE / 3;
  ferry_test_wait_until (progress_reached, &wait, WAIT_MS, "a third of the file to arrive");
  g_subprocess_send_signal (receiver->process, SIGSTOP);

  g_assert_cmpint (proc_wait_exit (sender), ==, 1);
  error = proc_find (sender, "error", 0);
  g_assert_nonnull (error);
  g_assert_cmpstr (json_object_get_string_member (error, "code"), ==, "timeout");
  g_assert_null (proc_find (sender, "done", 0));

  g_subprocess_send_signal (receiver->process, SIGKILL);
  proc_wait_exit (receiver);
}

static void
test_tampered_part (Fixture       *fx,
                    gconstpointer  data)
{
  Interrupted it = { 0, };
  g_autoptr(GPtrArray) history = NULL;
  g_autofree char *final = NULL;
  JsonObject *error, *record;
  Proc *fetch;

  interrupt_transfer (fx, &it);

  /* Change one byte of what the receiver holds. */
  {
    g_autofree char *contents = NULL;
    gsize len;

    g_assert_true (g_file_get_contents (it.part, &contents, &len, NULL));
    g_assert_cmpuint (len, ==, it.part_bytes);
    contents[len / 2] ^= 0x5a;
    g_assert_true (g_file_set_contents (it.part, contents, len, NULL));
  }

  start_sender_again (fx, &it);
  fetch = proc_spawn (fx, "fetch", "--home", it.recv_home, "--interface", "lo", "--json",
                      "fetch", it.id, NULL);
  g_assert_cmpint (proc_wait_exit (fetch), ==, 0);

  /* The resumed file did not verify: never kept, fetched whole. */
  error = proc_find (fetch, "error", 0);
  g_assert_nonnull (error);
  g_assert_cmpstr (json_object_get_string_member (error, "code"), ==, "hash-mismatch");
  g_assert_nonnull (proc_find (fetch, "offer", 1));
  g_assert_nonnull (proc_find (fetch, "done", 0));
  g_assert_null (proc_find (fetch, "done", 1));
  g_assert_null (proc_find (fetch, "error", 1));

  final = g_build_filename (it.download, "big.bin", NULL);
  g_assert_true (ferry_test_files_equal (it.source, final));
  {
    g_autofree char *listing = ferry_test_list_dir (it.download);

    g_assert_cmpstr (listing, ==, "big.bin");
  }
  history = history_of (fx, it.recv_home);
  record = g_ptr_array_index (history, 0);
  g_assert_cmpstr (json_object_get_string_member (record, "state"), ==, "finished");
  g_assert_cmpint (json_object_get_int_member (record, "moved"), ==, BIG_SIZE);

  interrupted_clear (&it);
}

static void
test_stranger_refused (Fixture       *fx,
                       gconstpointer  data)
{
  Interrupted it = { 0, };
  g_autofree char *stranger = NULL;
  g_autofree char *record_name = NULL;
  g_autofree char *from = NULL;
  g_autofree char *to = NULL;
  g_autofree char *contents = NULL;
  g_autoptr(GPtrArray) before = NULL;
  g_autoptr(GPtrArray) after = NULL;
  JsonObject *error;
  Proc *fetch;
  gsize len;

  interrupt_transfer (fx, &it);
  before = history_of (fx, it.send_home);

  /* A device of another account that somehow knows the transfer id and
   * holds the receiver's record. */
  stranger = make_home (fx, "stranger");
  g_free (account_of (fx, stranger));
  record_name = g_strconcat (it.id, ".json", NULL);
  from = g_build_filename (it.recv_home, "history", record_name, NULL);
  to = g_build_filename (stranger, "history", NULL);
  g_assert_cmpint (g_mkdir_with_parents (to, 0700), ==, 0);
  g_free (to);
  to = g_build_filename (stranger, "history", record_name, NULL);
  g_assert_true (g_file_get_contents (from, &contents, &len, NULL));
  g_assert_true (g_file_set_contents (to, contents, len, NULL));

  start_sender_again (fx, &it);
  fetch = proc_spawn (fx, "stranger fetch", "--home", stranger, "--interface", "lo", "--json",
                      "fetch", "--timeout", "20", it.id, NULL);
  g_assert_cmpint (proc_wait_exit (fetch), ==, 1);
  error = proc_find (fetch, "error", 0);
  g_assert_nonnull (error);
  g_assert_cmpstr (json_object_get_string_member (error, "code"), ==, "rejected");
  g_assert_nonnull (strstr (json_object_get_string_member (error, "message"), "not sent to this account"));
  g_assert_null (proc_find (fetch, "offer", 0));

  /* Nothing was sent: the sender recorded no new transfer. */
  after = history_of (fx, it.send_home);
  g_assert_cmpuint (after->len, ==, before->len);

  interrupted_clear (&it);
}

static void
test_changed_file_refused (Fixture       *fx,
                           gconstpointer  data)
{
  Interrupted it = { 0, };
  JsonObject *error;
  Proc *fetch;
  GStatBuf st;

  interrupt_transfer (fx, &it);

  /* Same size, other content, another modification time. */
  g_assert_cmpint (g_stat (it.source, &st), ==, 0);
  ferry_test_write_random (it.source, BIG_SIZE, 43);
  {
    struct utimbuf times = { st.st_atime, st.st_mtime + 10 };

    g_assert_cmpint (g_utime (it.source, &times), ==, 0);
  }

  start_sender_again (fx, &it);
  fetch = proc_spawn (fx, "fetch", "--home", it.recv_home, "--interface", "lo", "--json",
                      "fetch", "--timeout", "20", it.id, NULL);
  g_assert_cmpint (proc_wait_exit (fetch), ==, 1);
  error = proc_find (fetch, "error", 0);
  g_assert_nonnull (error);
  g_assert_cmpstr (json_object_get_string_member (error, "code"), ==, "rejected");
  g_assert_nonnull (strstr (json_object_get_string_member (error, "message"), "changed"));
  /* The .part stays for a later try. */
  g_assert_true (g_file_test (it.part, G_FILE_TEST_IS_REGULAR));

  interrupted_clear (&it);
}

/* A file verified before the transfer was cut. Unchanged, a fetch takes
 * it as it is (its digest known from the check: not hashed twice) and
 * resumes the other. Changed on the receiver (@edit), a fetch receives it
 * whole again under a new name and leaves the changed one as it is,
 * instead of failing on its digest. */
static void
run_verified (Fixture  *fx,
              gboolean  edit)
{
  Interrupted it = { 0, };
  g_autofree char *account = NULL;
  g_autofree char *prefix = NULL;
  g_autofree char *notes = g_build_filename (fx->dir, "notes.txt", NULL);
  g_autofree char *edited = g_build_filename (fx->dir, "edited.txt", NULL);
  g_autofree char *received = NULL;
  g_autofree char *again = NULL;
  g_autofree char *final = NULL;
  g_autofree char *contents = NULL;
  g_autoptr(GPtrArray) history = NULL;
  g_autoptr(GPtrArray) after = NULL;
  JsonObject *record;
  ProgressWait wait;
  Proc *receiver, *sender, *fetch;
  gsize length;

  it.recv_home = make_home (fx, "receiver");
  it.send_home = make_home (fx, "sender");
  it.download = g_build_filename (fx->dir, "download", NULL);
  g_assert_cmpint (g_mkdir_with_parents (it.download, 0700), ==, 0);
  it.source = g_build_filename (fx->dir, "big.bin", NULL);
  ferry_test_write_random (it.source, BIG_SIZE, 42);
  ferry_test_write_random (notes, 64 * 1024, 5);
  ferry_test_write_random (edited, 64 * 1024, 6);
  account = account_of (fx, it.recv_home);
  prefix = g_strndup (account, 12);

  receiver = proc_spawn (fx, "receiver", "--home", it.recv_home, "--interface", "lo", "--json",
                         "receive", "--yes", "--once", "--dir", it.download, NULL);
  proc_wait_event (receiver, "ready");
  sender = proc_spawn (fx, "sender", "--home", it.send_home, "--interface", "lo", "--json",
                       "send", "--limit-rate", CUT_RATE, "--to", prefix, notes, it.source, NULL);
  wait.p = receiver;
  wait.bytes = 64 * 1024 + BIG_SIZE / 3;
  ferry_test_wait_until (progress_reached, &wait, WAIT_MS, "the first file and a third of the second");
  g_assert_false (receiver->out_eof);
  g_subprocess_send_signal (sender->process, SIGKILL);
  g_assert_cmpint (proc_wait_exit (sender), ==, 128 + SIGKILL);
  g_assert_cmpint (proc_wait_exit (receiver), ==, 1);

  /* the first file is verified, and recorded with its digest */
  history = history_of (fx, it.recv_home);
  record = g_ptr_array_index (history, 0);
  g_assert_cmpstr (json_object_get_string_member (file_entry (record, 0), "done"), ==, "notes.txt");
  g_assert_true (json_object_has_member (file_entry (record, 0), "sha3-256"));
  g_assert_cmpstr (json_object_get_string_member (file_entry (record, 1), "part"), ==, "big.bin.part");
  it.id = g_strdup (json_object_get_string_member (record, "id"));

  /* the user edits it: same size, other bytes */
  received = g_build_filename (it.download, "notes.txt", NULL);
  if (edit)
    {
      g_assert_true (g_file_get_contents (edited, &contents, &length, NULL));
      g_assert_true (g_file_set_contents (received, contents, length, NULL));
    }

  start_sender_again (fx, &it);
  fetch = proc_spawn (fx, "fetch", "--home", it.recv_home, "--interface", "lo", "--json",
                      "fetch", it.id, NULL);
  g_assert_cmpint (proc_wait_exit (fetch), ==, 0);
  /* in one go: no digest that failed, no second offer */
  g_assert_null (proc_find (fetch, "error", 0));
  g_assert_null (proc_find (fetch, "offer", 1));
  g_assert_nonnull (proc_find (fetch, "done", 0));

  final = g_build_filename (it.download, "big.bin", NULL);
  g_assert_true (ferry_test_files_equal (it.source, final));
  if (edit)
    {
      g_autofree char *listing = ferry_test_list_dir (it.download);

      /* the user's version stays, the sent one lands beside it */
      g_assert_true (ferry_test_files_equal (edited, received));
      again = g_build_filename (it.download, "notes (1).txt", NULL);
      g_assert_true (ferry_test_files_equal (notes, again));
      g_assert_cmpstr (listing, ==, "big.bin|notes (1).txt|notes.txt");
    }
  else
    {
      g_autofree char *listing = ferry_test_list_dir (it.download);

      g_assert_true (ferry_test_files_equal (notes, received));
      g_assert_cmpstr (listing, ==, "big.bin|notes.txt");
    }
  after = history_of (fx, it.recv_home);
  record = g_ptr_array_index (after, 0);
  g_assert_cmpstr (json_object_get_string_member (record, "state"), ==, "finished");
  /* the big file resumed: less than both whole */
  g_assert_cmpint (json_object_get_int_member (record, "moved"), <, BIG_SIZE);

  interrupted_clear (&it);
}

static void
test_unchanged_verified (Fixture       *fx,
                         gconstpointer  data)
{
  run_verified (fx, FALSE);
}

static void
test_changed_verified (Fixture       *fx,
                       gconstpointer  data)
{
  run_verified (fx, TRUE);
}

/* The tool with several devices of one account: export, import, a send to
 * the account with per-device JSON events, a send to one device, revoke. */
static gboolean
device_event_final (JsonObject *event)
{
  const char *state = json_object_get_string_member_with_default (event, "state", "");

  return g_str_equal (state, "finished") || g_str_equal (state, "cancelled") ||
         g_str_equal (state, "error") || g_str_equal (state, "unjoinable-peer") ||
         g_str_equal (state, "timeout-expired");
}

/* The last "device" event of @device. */
static JsonObject *
last_device_event (Proc       *p,
                   const char *device)
{
  JsonObject *last = NULL;

  for (guint i = 0; i < p->events->len; i++)
    {
      JsonObject *object = g_ptr_array_index (p->events, i);

      if (g_strcmp0 (json_object_get_string_member_with_default (object, "event", NULL), "device") == 0 &&
          g_strcmp0 (json_object_get_string_member_with_default (object, "device", NULL), device) == 0)
        last = object;
    }
  return last;
}

static JsonObject *
id_of (Fixture    *fx,
       const char *home)
{
  Proc *p = proc_spawn (fx, "id", "--home", home, "--json", "id", NULL);

  g_assert_cmpint (proc_wait_exit (p), ==, 0);
  g_assert_cmpuint (p->events->len, ==, 1);
  return json_object_ref (g_ptr_array_index (p->events, 0));
}

static void
test_cli_devices (Fixture       *fx,
                  gconstpointer  data)
{
  g_autofree char *one = make_home (fx, "one");
  g_autofree char *two = g_build_filename (fx->dir, "two", NULL);
  g_autofree char *sender_home = make_home (fx, "sender");
  g_autofree char *export = g_build_filename (fx->dir, "account.export", NULL);
  g_autofree char *passfile = g_build_filename (fx->dir, "passphrase", NULL);
  g_autofree char *wrongfile = g_build_filename (fx->dir, "wrong", NULL);
  g_autofree char *dl_one = g_build_filename (fx->dir, "dl-one", NULL);
  g_autofree char *dl_two = g_build_filename (fx->dir, "dl-two", NULL);
  g_autofree char *note = g_build_filename (fx->dir, "note.txt", NULL);
  g_autofree char *prefix = NULL;
  g_autofree char *device_prefix = NULL;
  g_autoptr(JsonObject) id_one = NULL;
  g_autoptr(JsonObject) id_two = NULL;
  JsonObject *event, *error;
  JsonArray *devices;
  Proc *p, *r1, *r2, *sender;

  g_assert_true (g_file_set_contents (passfile, "a long passphrase\n", -1, NULL));
  g_assert_true (g_file_set_contents (wrongfile, "not the passphrase\n", -1, NULL));
  g_assert_true (g_file_set_contents (note, "for every device\n", -1, NULL));
  g_assert_cmpint (g_mkdir_with_parents (dl_one, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (dl_two, 0700), ==, 0);

  id_one = id_of (fx, one);
  p = proc_spawn (fx, "export", "--home", one, "account", "export", "--passphrase-file", passfile, export, NULL);
  g_assert_cmpint (proc_wait_exit (p), ==, 0);
  p = proc_spawn (fx, "import (wrong)", "--home", two, "account", "import", "--passphrase-file", wrongfile, export, NULL);
  g_assert_cmpint (proc_wait_exit (p), ==, 1);
  p = proc_spawn (fx, "import", "--home", two, "account", "import", "--passphrase-file", passfile, export, NULL);
  g_assert_cmpint (proc_wait_exit (p), ==, 0);
  p = proc_spawn (fx, "import (usage)", "--home", two, "account", "import", NULL);
  g_assert_cmpint (proc_wait_exit (p), ==, 2);
  {
    g_autofree char *conf = g_build_filename (two, "ferry.conf", NULL);
    g_autofree char *text = g_strdup_printf ("[core]\nname=two\n[local-broadcast]\nport=%u\n", fx->port);

    g_assert_true (g_file_set_contents (conf, text, -1, NULL));
  }
  id_two = id_of (fx, two);
  g_assert_cmpstr (json_object_get_string_member (id_two, "account"), ==,
                   json_object_get_string_member (id_one, "account"));
  g_assert_cmpstr (json_object_get_string_member (id_two, "device"), !=,
                   json_object_get_string_member (id_one, "device"));

  /* One accepts, the other refuses. */
  r1 = proc_spawn (fx, "one", "--home", one, "--interface", "lo", "--json",
                   "receive", "--yes", "--once", "--dir", dl_one, NULL);
  r2 = proc_spawn (fx, "two", "--home", two, "--interface", "lo", "--json",
                   "receive", "--accept-from", "00000000", "--once", "--dir", dl_two, NULL);
  proc_wait_event (r1, "ready");
  proc_wait_event (r2, "ready");
  prefix = g_strndup (json_object_get_string_member (id_one, "account"), 12);
  /* Both answer the look-up together: the send waits for every device. */
  sender = proc_spawn (fx, "sender", "--home", sender_home, "--interface", "lo", "--json",
                       "send", "-v", "--to", prefix, note, NULL);
  g_assert_cmpint (proc_wait_exit (sender), ==, 0);
  g_assert_nonnull (proc_find (sender, "done", 0));
  event = last_device_event (sender, json_object_get_string_member (id_one, "device"));
  g_assert_nonnull (event);
  g_assert_cmpstr (json_object_get_string_member (event, "state"), ==, "finished");
  g_assert_cmpstr (json_object_get_string_member (event, "transfer"), ==,
                   json_object_get_string_member (proc_find (sender, "offer", 0), "transfer"));
  event = last_device_event (sender, json_object_get_string_member (id_two, "device"));
  g_assert_nonnull (event);
  g_assert_true (device_event_final (event));
  g_assert_cmpstr (json_object_get_string_member (event, "state"), ==, "cancelled");
  g_assert_cmpstr (json_object_get_string_member (event, "code"), ==, "rejected");
  g_assert_cmpint (proc_wait_exit (r1), ==, 0);
  g_assert_cmpint (proc_wait_exit (r2), ==, 1);

  /* --to a device id: that device only. */
  r1 = proc_spawn (fx, "one again", "--home", one, "--interface", "lo", "--json",
                   "receive", "--yes", "--once", "--dir", dl_one, NULL);
  r2 = proc_spawn (fx, "two again", "--home", two, "--interface", "lo", "--json",
                   "receive", "--yes", "--dir", dl_two, NULL);
  proc_wait_event (r1, "ready");
  proc_wait_event (r2, "ready");
  device_prefix = g_strndup (json_object_get_string_member (id_one, "device"), 12);
  sender = proc_spawn (fx, "sender to one", "--home", sender_home, "--interface", "lo", "--json",
                       "send", "--to", device_prefix, note, NULL);
  g_assert_cmpint (proc_wait_exit (sender), ==, 0);
  g_assert_nonnull (last_device_event (sender, json_object_get_string_member (id_one, "device")));
  g_assert_null (last_device_event (sender, json_object_get_string_member (id_two, "device")));
  g_assert_cmpint (proc_wait_exit (r1), ==, 0);
  g_assert_null (proc_find (r2, "offer", 0));

  /* Revoke two from one: the sender learns it while one tells the devices around. */
  {
    g_autofree char *two_prefix = g_strndup (json_object_get_string_member (id_two, "device"), 12);
    g_autoptr(JsonObject) id_after = NULL;
    JsonObject *entry = NULL;
    Proc *idle = proc_spawn (fx, "sender idle", "--home", sender_home, "--interface", "lo", "--json",
                             "receive", "--yes", "--dir", dl_one, NULL);

    proc_wait_event (idle, "ready");
    p = proc_spawn (fx, "revoke", "--home", one, "--interface", "lo", "--json",
                    "device", "revoke", "--timeout", "2", two_prefix, NULL);
    g_assert_cmpint (proc_wait_exit (p), ==, 0);
    g_assert_cmpstr (json_object_get_string_member (proc_find (p, "revoked", 0), "device"), ==,
                     json_object_get_string_member (id_two, "device"));
    id_after = id_of (fx, one);
    devices = json_object_get_array_member (id_after, "devices");
    for (guint i = 0; i < json_array_get_length (devices); i++)
      if (g_str_equal (json_object_get_string_member (json_array_get_object_element (devices, i), "device"),
                       json_object_get_string_member (id_two, "device")))
        entry = json_array_get_object_element (devices, i);
    g_assert_nonnull (entry);
    g_assert_true (json_object_get_boolean_member (entry, "revoked"));

    g_subprocess_send_signal (idle->process, SIGTERM);
    proc_wait_exit (idle);
    {
      g_autofree char *revocations = g_build_filename (sender_home, "revocations.json", NULL);
      g_autofree char *text = NULL;

      g_assert_true (g_file_get_contents (revocations, &text, NULL, NULL));
      g_assert_nonnull (strstr (text, json_object_get_string_member (id_two, "device")));
    }

    /* A send to the account now leaves two out. */
    sender = proc_spawn (fx, "sender after", "--home", sender_home, "--interface", "lo", "--json",
                         "send", "-v", "--to", prefix, note, NULL);
    r1 = proc_spawn (fx, "one last", "--home", one, "--interface", "lo", "--json",
                     "receive", "--yes", "--once", "--dir", dl_one, NULL);
    g_assert_cmpint (proc_wait_exit (sender), ==, 0);
    g_assert_nonnull (last_device_event (sender, json_object_get_string_member (id_one, "device")));
    g_assert_null (last_device_event (sender, json_object_get_string_member (id_two, "device")));
    g_assert_cmpint (proc_wait_exit (r1), ==, 0);
  }

  g_subprocess_send_signal (r2->process, SIGTERM);
  proc_wait_exit (r2);
  error = proc_find (r2, "offer", 0);
  g_assert_null (error);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add ("/resume/sender-killed", Fixture, NULL, fixture_set_up, test_sender_killed, fixture_tear_down);
  g_test_add ("/resume/receiver-killed", Fixture, NULL, fixture_set_up, test_receiver_killed, fixture_tear_down);
  g_test_add ("/resume/link-cut", Fixture, NULL, fixture_set_up, test_link_cut, fixture_tear_down);
  g_test_add ("/resume/receiver-frozen", Fixture, NULL, fixture_set_up, test_receiver_frozen, fixture_tear_down);
  g_test_add ("/resume/tampered-part", Fixture, NULL, fixture_set_up, test_tampered_part, fixture_tear_down);
  g_test_add ("/resume/unchanged-verified", Fixture, NULL, fixture_set_up, test_unchanged_verified,
              fixture_tear_down);
  g_test_add ("/resume/changed-verified", Fixture, NULL, fixture_set_up, test_changed_verified, fixture_tear_down);
  g_test_add ("/resume/stranger-refused", Fixture, NULL, fixture_set_up, test_stranger_refused, fixture_tear_down);
  g_test_add ("/resume/changed-file-refused", Fixture, NULL, fixture_set_up, test_changed_file_refused, fixture_tear_down);

  g_test_add ("/resume/cli-devices", Fixture, NULL, fixture_set_up, test_cli_devices, fixture_tear_down);

  return g_test_run ();
}
