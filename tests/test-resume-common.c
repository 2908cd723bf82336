/* test-resume-common.c: `ferry` processes driven by the resume tests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "test-resume-common.h"

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

Proc *
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

JsonObject *
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

int
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

JsonObject *
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

void
fixture_set_up (Fixture       *fx,
                gconstpointer  data)
{
  fx->tool = g_getenv ("FERRY_TOOL");
  g_assert_nonnull (fx->tool);
  fx->dir = ferry_test_make_dir ("resume");
  fx->port = ferry_test_free_udp_port ();
  fx->procs = g_ptr_array_new_with_free_func ((GDestroyNotify) proc_free);
}

void
fixture_tear_down (Fixture       *fx,
                   gconstpointer  data)
{
  g_ptr_array_unref (fx->procs);
  g_free (fx->dir);
}

char *
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

char *
make_home (Fixture    *fx,
           const char *name)
{
  return make_home_with (fx, name, "");
}

char *
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
GPtrArray *
history_of (Fixture    *fx,
            const char *home)
{
  Proc *p = proc_spawn (fx, "history", "--home", home, "--json", "history", NULL);

  g_assert_cmpint (proc_wait_exit (p), ==, 0);
  return g_ptr_array_ref (p->events);
}

JsonObject *
file_entry (JsonObject *record,
            guint       index)
{
  return json_array_get_object_element (json_object_get_array_member (record, "files"), index);
}

gboolean
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

void
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
void
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
Proc *
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

Proc *
fetch_again (Fixture     *fx,
             Interrupted *it)
{
  Proc *fetch = proc_spawn (fx, "fetch", "--home", it->recv_home, "--interface", "lo", "--json",
                            "fetch", it->id, NULL);

  g_assert_cmpint (proc_wait_exit (fetch), ==, 0);
  return fetch;
}
