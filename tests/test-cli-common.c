/* test-cli-common.c: what the tests of the `ferry` tool share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Spawning the tool and reading its output (see test-cli-common.h), the
 * fixture with its temporary folder and local-broadcast port, and the
 * homes, folders and files the tests make in it.
 */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "test-cli-common.h"

/* Processes {{{1 */

static void
proc_free (Proc *p)
{
  g_cancellable_cancel (p->cancellable);
  g_clear_object (&p->cancellable);
  g_clear_object (&p->process);
  g_clear_object (&p->out);
  g_clear_object (&p->err);
  g_clear_pointer (&p->lines, g_ptr_array_unref);
  g_clear_pointer (&p->events, g_ptr_array_unref);
  g_free (p->label);
  g_free (p);
}

char *
proc_stderr (Proc *p)
{
  GMemoryOutputStream *mem = G_MEMORY_OUTPUT_STREAM (p->err);

  return g_strndup (g_memory_output_stream_get_data (mem),
                    g_memory_output_stream_get_data_size (mem));
}

char *
proc_stdout (Proc *p)
{
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < p->lines->len; i++)
    g_string_append_printf (text, "%s\n", (char *) g_ptr_array_index (p->lines, i));
  return g_string_free (text, FALSE);
}

void
proc_dump (Proc *p)
{
  g_autofree char *err = proc_stderr (p);

  g_test_message ("--- %s: stdout ---", p->label);
  for (guint i = 0; i < p->lines->len; i++)
    g_test_message ("%s", (char *) g_ptr_array_index (p->lines, i));
  g_test_message ("--- %s: stderr ---\n%s", p->label, err);
}

static void
on_line (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Proc *p = user_data;
  g_autoptr(GError) error = NULL;
  char *line;

  line = g_data_input_stream_read_line_finish (G_DATA_INPUT_STREAM (source), result, NULL, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (line == NULL)
    {
      p->out_eof = TRUE;
      return;
    }

  g_ptr_array_add (p->lines, line);
  if (line[0] == '{')
    {
      g_autoptr(JsonParser) parser = json_parser_new ();

      if (json_parser_load_from_data (parser, line, -1, NULL) &&
          JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
        g_ptr_array_add (p->events, json_object_ref (json_node_get_object (json_parser_get_root (parser))));
    }

  g_data_input_stream_read_line_async (p->out, G_PRIORITY_DEFAULT, p->cancellable, on_line, p);
}

static void
on_err_spliced (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  Proc *p = user_data;

  g_output_stream_splice_finish (G_OUTPUT_STREAM (source), result, NULL);
  p->err_done = TRUE;
}

static void
on_exited (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Proc *p = user_data;

  if (!g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL))
    return;
  p->exited = TRUE;
  p->exited_us = g_get_monotonic_time ();
}

/* A launcher for the tool: stdout and stderr piped, no $FERRY_HOME, and
 * the child dying with the test. */
static GSubprocessLauncher *
launcher_new (void)
{
  GSubprocessLauncher *launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                                             G_SUBPROCESS_FLAGS_STDERR_PIPE);

  g_subprocess_launcher_unsetenv (launcher, "FERRY_HOME");
  /* The plugins of the build tree only, never installed ones. */
  g_subprocess_launcher_setenv (launcher, "FERRY_PLUGIN_SYSTEM_PATH", "", TRUE);
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);
  g_subprocess_launcher_set_child_setup (launcher, ferry_test_die_with_parent, GINT_TO_POINTER (getpid ()), NULL);
  return launcher;
}

/* `ferry ARGS…` through @launcher, its output read as it comes. */
static Proc *
proc_launch (Fixture             *fx,
             const char          *label,
             GSubprocessLauncher *launcher,
             const char * const  *args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *cmdline = NULL;
  Proc *p = g_new0 (Proc, 1);

  g_ptr_array_add (argv, (gpointer) fx->tool);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  cmdline = g_strjoinv (" ", (char **) argv->pdata);
  g_test_message ("%s: %s", label, cmdline);

  p->label = g_strdup (label);
  p->lines = g_ptr_array_new_with_free_func (g_free);
  p->events = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  p->cancellable = g_cancellable_new ();
  p->spawned_us = g_get_monotonic_time ();
  p->process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);

  /* The child may have exited and been reaped already (a usage error exits
   * at once): nothing below needs it alive, and its pid is never used. */

  p->out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (p->process));
  g_data_input_stream_read_line_async (p->out, G_PRIORITY_DEFAULT, p->cancellable, on_line, p);
  p->err = g_memory_output_stream_new_resizable ();
  g_output_stream_splice_async (p->err, g_subprocess_get_stderr_pipe (p->process),
                                G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE, G_PRIORITY_DEFAULT,
                                p->cancellable, on_err_spliced, p);
  g_subprocess_wait_async (p->process, p->cancellable, on_exited, p);

  g_ptr_array_add (fx->procs, p);
  return p;
}

Proc *
proc_spawnv (Fixture            *fx,
             const char         *label,
             const char * const *env,
             const char * const *args)
{
  g_autoptr(GSubprocessLauncher) launcher = launcher_new ();

  g_subprocess_launcher_set_stdin_file_path (launcher, "/dev/null");
  for (guint i = 0; env != NULL && env[i] != NULL; i++)
    {
      const char *eq = strchr (env[i], '=');

      if (eq != NULL)
        {
          g_autofree char *name = g_strndup (env[i], eq - env[i]);
          g_subprocess_launcher_setenv (launcher, name, eq + 1, TRUE);
        }
      else
        g_subprocess_launcher_unsetenv (launcher, env[i]);
    }
  return proc_launch (fx, label, launcher, args);
}

Proc *
proc_spawn_tty (Fixture            *fx,
                const char         *label,
                int                 tty_fd,
                const char * const *args)
{
  g_autoptr(GSubprocessLauncher) launcher = launcher_new ();

  g_subprocess_launcher_take_stdin_fd (launcher, tty_fd);
  return proc_launch (fx, label, launcher, args);
}

/* Waiting {{{1 */

static gboolean
on_wait_timeout (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

gboolean
wait_for (Predicate predicate,
          gpointer  data,
          guint     timeout_ms)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add (timeout_ms, on_wait_timeout, &timed_out);

  while (!predicate (data) && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (id);
  return predicate (data);
}

static gboolean
proc_has_exited (gpointer data)
{
  Proc *p = data;

  /* Wait for the pipes too, so that every line was read. */
  return p->exited && p->out_eof && p->err_done;
}

/* Returns the exit status, or 128 + the signal that killed it. */
int
proc_wait_exit (Proc  *p,
                guint  timeout_ms)
{
  if (!wait_for (proc_has_exited, p, timeout_ms))
    {
      proc_dump (p);
      g_error ("%s did not exit within %u ms", p->label, timeout_ms);
    }
  if (g_subprocess_get_if_signaled (p->process))
    return 128 + g_subprocess_get_term_sig (p->process);
  return g_subprocess_get_exit_status (p->process);
}

void
proc_assert_exit (Proc *p,
                  int   expected)
{
  int status = proc_wait_exit (p, WAIT_EXIT_MS);

  if (status != expected)
    {
      proc_dump (p);
      g_error ("%s exited with %d, expected %d", p->label, status, expected);
    }
}

const char *
obj_str (JsonObject *object,
         const char *member)
{
  JsonNode *node = object ? json_object_get_member (object, member) : NULL;

  if (node == NULL || JSON_NODE_TYPE (node) != JSON_NODE_VALUE ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

gint64
obj_int (JsonObject *object,
         const char *member)
{
  JsonNode *node = object ? json_object_get_member (object, member) : NULL;

  g_assert_nonnull (node);
  g_assert_cmpint (JSON_NODE_TYPE (node), ==, JSON_NODE_VALUE);
  return json_node_get_int (node);
}

JsonObject *
proc_find_event (Proc       *p,
                 const char *event)
{
  for (guint i = 0; i < p->events->len; i++)
    {
      JsonObject *object = g_ptr_array_index (p->events, i);

      if (g_strcmp0 (obj_str (object, "event"), event) == 0)
        return object;
    }
  return NULL;
}

typedef struct {
  Proc       *proc;
  const char *event;
} EventWait;

static gboolean
event_arrived (gpointer data)
{
  EventWait *w = data;

  return proc_find_event (w->proc, w->event) != NULL || w->proc->out_eof;
}

JsonObject *
proc_wait_event (Proc       *p,
                 const char *event,
                 guint       timeout_ms)
{
  EventWait w = { p, event };
  JsonObject *object;

  wait_for (event_arrived, &w, timeout_ms);
  object = proc_find_event (p, event);
  if (object == NULL)
    {
      proc_dump (p);
      g_error ("%s: no “%s” event within %u ms", p->label, event, timeout_ms);
    }
  return object;
}

void
assert_error_code (Proc       *p,
                   const char *code,
                   Proc       *other)
{
  JsonObject *error = proc_wait_event (p, "error", 0);

  if (g_strcmp0 (obj_str (error, "code"), code) != 0)
    {
      proc_dump (p);
      if (other != NULL)
        proc_dump (other);
      g_error ("%s: error “%s” (%s), expected “%s”", p->label, obj_str (error, "code"),
               obj_str (error, "message"), code);
    }
  g_assert_nonnull (obj_str (error, "message"));
}

/* Fixture {{{1 */

void
fixture_setup (Fixture       *fx,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  fx->tool = g_getenv ("FERRY_TOOL");
  fx->procs = g_ptr_array_new_with_free_func ((GDestroyNotify) proc_free);
  if (fx->tool == NULL || !g_file_test (fx->tool, G_FILE_TEST_IS_EXECUTABLE))
    {
      if (g_getenv ("FERRY_TEST_NO_SKIP") != NULL)
        g_error ("FERRY_TOOL does not name the ferry tool");
      return;
    }

  fx->tmp = g_dir_make_tmp ("ferry-cli-XXXXXX", &error);
  g_assert_no_error (error);
  fx->port = ferry_test_free_udp_port ();
}

gboolean
fixture_skip (Fixture *fx)
{
  if (fx->tmp != NULL)
    return FALSE;
  g_test_skip ("FERRY_TOOL is not set: run through meson test");
  return TRUE;
}

static gboolean
all_exited (gpointer data)
{
  GPtrArray *procs = data;

  for (guint i = 0; i < procs->len; i++)
    if (!((Proc *) g_ptr_array_index (procs, i))->exited)
      return FALSE;
  return TRUE;
}

void
fixture_teardown (Fixture       *fx,
                  gconstpointer  data)
{
  for (guint i = 0; i < fx->procs->len; i++)
    {
      Proc *p = g_ptr_array_index (fx->procs, i);

      if (!p->exited)
        g_subprocess_force_exit (p->process);
    }
  wait_for (all_exited, fx->procs, 5000);
  g_ptr_array_unref (fx->procs);

  if (fx->tmp != NULL)
    ferry_test_remove_tree (fx->tmp);
  g_free (fx->tmp);
}

/* A home with its own ferry.conf: local-broadcast on the test's port. */
char *
make_home (Fixture    *fx,
           const char *name,
           const char *extra)
{
  g_autofree char *home = g_build_filename (fx->tmp, name, NULL);
  g_autofree char *conf = g_build_filename (home, "ferry.conf", NULL);
  g_autofree char *text = g_strdup_printf ("[local-broadcast]\nport=%u\n%s",
                                           fx->port, extra ? extra : "");
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (home, 0700), ==, 0);
  g_file_set_contents (conf, text, -1, &error);
  g_assert_no_error (error);
  return g_steal_pointer (&home);
}

char *
make_dir (Fixture    *fx,
          const char *name)
{
  char *dir = g_build_filename (fx->tmp, name, NULL);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  return dir;
}

char *
write_file (const char *dir,
            const char *name,
            const void *contents,
            gsize       size)
{
  char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, contents, size, &error);
  g_assert_no_error (error);
  return path;
}

GPtrArray *
list_dir (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  return names;
}

gboolean
is_hex (const char *text,
        gsize       length)
{
  if (text == NULL || strlen (text) != length)
    return FALSE;
  for (gsize i = 0; i < length; i++)
    if (!g_ascii_isxdigit (text[i]) || g_ascii_isupper (text[i]))
      return FALSE;
  return TRUE;
}

/* `ferry --home HOME --json id`, as an object */
JsonObject *
run_id (Fixture            *fx,
        const char         *label,
        const char * const *env,
        const char * const *args)
{
  Proc *p = proc_spawnv (fx, label, env, args);
  JsonObject *object;

  proc_assert_exit (p, 0);
  g_assert_cmpuint (p->lines->len, ==, 1);
  g_assert_cmpuint (p->events->len, ==, 1);
  object = g_ptr_array_index (p->events, 0);
  g_assert_true (is_hex (obj_str (object, "account"), 64));
  g_assert_true (is_hex (obj_str (object, "device"), 64));
  g_assert_nonnull (obj_str (object, "name"));
  g_assert_cmpstr (obj_str (object, "name"), !=, "");
  return json_object_ref (object);
}

Proc *
start_receiver (Fixture    *fx,
                const char *home,
                const char *dir,
                const char *accept,
                const char *accept_id,
                gboolean    once)
{
  Proc *p;

  if (accept_id != NULL)
    p = proc_spawn (fx, "receiver", "--home", home, "--interface", "lo", "--json",
                    "receive", "--dir", dir, accept, accept_id, once ? "--once" : NULL);
  else
    p = proc_spawn (fx, "receiver", "--home", home, "--interface", "lo", "--json",
                    "receive", "--dir", dir, accept, once ? "--once" : NULL);
  proc_wait_event (p, "ready", WAIT_READY_MS);
  return p;
}

/* Tests {{{1 */

/* vim: set foldmethod=marker: */
