/* test-cli.c: the `ferry` tool, as real processes
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
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
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "test-utils.h"

#define WAIT_READY_MS    15000
#define WAIT_EXIT_MS     20000
#define WAIT_TRANSFER_MS 90000

/* SHA3-256 test vectors (FIPS 202 examples). */
#define SHA3_EMPTY "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a"
#define SHA3_ABC   "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532"

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

static char *
proc_stderr (Proc *p)
{
  GMemoryOutputStream *mem = G_MEMORY_OUTPUT_STREAM (p->err);

  return g_strndup (g_memory_output_stream_get_data (mem),
                    g_memory_output_stream_get_data_size (mem));
}

static char *
proc_stdout (Proc *p)
{
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < p->lines->len; i++)
    g_string_append_printf (text, "%s\n", (char *) g_ptr_array_index (p->lines, i));
  return g_string_free (text, FALSE);
}

static void
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

/* @env: "NAME=value" to set, "NAME" to unset */
static Proc *
proc_spawnv (Fixture            *fx,
             const char         *label,
             const char * const *env,
             const char * const *args)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
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

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                        G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_set_stdin_file_path (launcher, "/dev/null");
  g_subprocess_launcher_unsetenv (launcher, "FERRY_HOME");
  /* The plugins of the build tree only, never installed ones. */
  g_subprocess_launcher_setenv (launcher, "FERRY_PLUGIN_SYSTEM_PATH", "", TRUE);
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);
  g_subprocess_launcher_set_child_setup (launcher, ferry_test_die_with_parent, GINT_TO_POINTER (getpid ()), NULL);
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

#define proc_spawn(fx, label, ...) \
  proc_spawnv ((fx), (label), NULL, (const char * const []) { __VA_ARGS__, NULL })

/* Waiting {{{1 */

typedef gboolean (*Predicate) (gpointer data);

static gboolean
on_wait_timeout (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

static gboolean
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
static int
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

static void
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

static const char *
obj_str (JsonObject *object,
         const char *member)
{
  JsonNode *node = object ? json_object_get_member (object, member) : NULL;

  if (node == NULL || JSON_NODE_TYPE (node) != JSON_NODE_VALUE ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static gint64
obj_int (JsonObject *object,
         const char *member)
{
  JsonNode *node = object ? json_object_get_member (object, member) : NULL;

  g_assert_nonnull (node);
  g_assert_cmpint (JSON_NODE_TYPE (node), ==, JSON_NODE_VALUE);
  return json_node_get_int (node);
}

static JsonObject *
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

static JsonObject *
proc_find_last_event (Proc       *p,
                      const char *event)
{
  for (guint i = p->events->len; i > 0; i--)
    {
      JsonObject *object = g_ptr_array_index (p->events, i - 1);

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

static JsonObject *
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

static gboolean
progress_with_data (gpointer data)
{
  Proc *p = data;

  for (guint i = 0; i < p->events->len; i++)
    {
      JsonObject *object = g_ptr_array_index (p->events, i);

      if (g_strcmp0 (obj_str (object, "event"), "progress") == 0 &&
          obj_int (object, "bytes") > 0)
        return TRUE;
    }
  return p->out_eof;
}

/* Asserts that @p reported an error event with @code; dumps the output of
 * @p and @other otherwise. */
static void
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

static guint16
free_udp_port (void)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &error);
  g_assert_no_error (error);
  g_socket_bind (socket, any, FALSE, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

static void
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
  fx->port = free_udp_port ();
}

static gboolean
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

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = NULL;
  const char *name;

  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      dir = g_dir_open (path, 0, NULL);
      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          remove_tree (child);
        }
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

static void
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
    remove_tree (fx->tmp);
  g_free (fx->tmp);
}

/* A home with its own ferry.conf: local-broadcast on the test's port. */
static char *
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

static char *
make_dir (Fixture    *fx,
          const char *name)
{
  char *dir = g_build_filename (fx->tmp, name, NULL);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  return dir;
}

static char *
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

static GBytes *
read_bytes (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *contents = NULL;
  gsize size = 0;

  g_file_get_contents (path, &contents, &size, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (contents, size);
}

static GPtrArray *
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

static gboolean
names_contain (GPtrArray  *names,
               const char *name)
{
  for (guint i = 0; i < names->len; i++)
    if (g_str_equal (g_ptr_array_index (names, i), name))
      return TRUE;
  return FALSE;
}

static gboolean
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
static JsonObject *
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

static Proc *
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

static void
test_id (Fixture       *fx,
         gconstpointer  data)
{
  g_autofree char *home_a = NULL;
  g_autofree char *home_b = NULL;
  g_autofree char *xdg = NULL;
  g_autofree char *ferry_env = NULL;
  g_autofree char *xdg_env = NULL;
  g_autofree char *xdg_home = NULL;
  g_autoptr(JsonObject) a1 = NULL;
  g_autoptr(JsonObject) a2 = NULL;
  g_autoptr(JsonObject) a3 = NULL;
  g_autoptr(JsonObject) b = NULL;
  g_autoptr(JsonObject) x = NULL;
  g_autoptr(GPtrArray) files = NULL;
  Proc *human;
  g_autofree char *text = NULL;
  struct stat st;

  if (fixture_skip (fx))
    return;

  home_a = make_home (fx, "a", NULL);
  home_b = make_home (fx, "b", "[core]\nname=bee\n");

  a1 = run_id (fx, "id a", NULL, (const char * const []) { "--home", home_a, "--json", "id", NULL });
  a2 = run_id (fx, "id a again", NULL, (const char * const []) { "--json", "--home", home_a, "id", NULL });
  b = run_id (fx, "id b", NULL, (const char * const []) { "--home", home_b, "--json", "id", NULL });

  /* Stable across runs, distinct between homes. */
  g_assert_cmpstr (obj_str (a1, "account"), ==, obj_str (a2, "account"));
  g_assert_cmpstr (obj_str (a1, "device"), ==, obj_str (a2, "device"));
  g_assert_cmpstr (obj_str (a1, "account"), !=, obj_str (b, "account"));
  g_assert_cmpstr (obj_str (a1, "device"), !=, obj_str (b, "device"));
  g_assert_cmpstr (obj_str (a1, "account"), !=, obj_str (a1, "device"));
  g_assert_cmpstr (obj_str (b, "name"), ==, "bee");

  /* The global options also work after the command. */
  a3 = run_id (fx, "id a, option last", NULL, (const char * const []) { "id", "--home", home_a, "--json", NULL });
  g_assert_cmpstr (obj_str (a1, "account"), ==, obj_str (a3, "account"));

  /* $FERRY_HOME, then $XDG_DATA_HOME/ferry. */
  ferry_env = g_strconcat ("FERRY_HOME=", home_b, NULL);
  x = run_id (fx, "id FERRY_HOME", (const char * const []) { ferry_env, NULL },
              (const char * const []) { "--json", "id", NULL });
  g_assert_cmpstr (obj_str (x, "device"), ==, obj_str (b, "device"));
  g_clear_pointer (&x, json_object_unref);

  xdg = g_build_filename (fx->tmp, "xdg", NULL);
  xdg_env = g_strconcat ("XDG_DATA_HOME=", xdg, NULL);
  x = run_id (fx, "id XDG_DATA_HOME", (const char * const []) { xdg_env, "FERRY_HOME", NULL },
              (const char * const []) { "--json", "id", NULL });
  xdg_home = g_build_filename (xdg, "ferry", NULL);
  g_assert_true (g_file_test (xdg_home, G_FILE_TEST_IS_DIR));
  files = list_dir (xdg_home);
  g_assert_cmpuint (files->len, >, 0);
  g_assert_cmpstr (obj_str (x, "account"), !=, obj_str (a1, "account"));
  g_assert_cmpstr (obj_str (x, "account"), !=, obj_str (b, "account"));

  /* Private keys are not readable by others. */
  for (guint i = 0; i < files->len; i++)
    {
      g_autofree char *path = g_build_filename (xdg_home, g_ptr_array_index (files, i), NULL);

      g_assert_cmpint (g_stat (path, &st), ==, 0);
      if (S_ISREG (st.st_mode) && strstr (g_ptr_array_index (files, i), "key") != NULL)
        g_assert_cmpint (st.st_mode & 077, ==, 0);
    }

  /* Human output names the same ids. */
  human = proc_spawn (fx, "id human", "--home", home_a, "id");
  proc_assert_exit (human, 0);
  text = proc_stdout (human);
  g_assert_nonnull (strstr (text, obj_str (a1, "account")));
  g_assert_nonnull (strstr (text, obj_str (a1, "device")));
}

static JsonObject *
find_plugin (Proc       *p,
             const char *name)
{
  for (guint i = 0; i < p->events->len; i++)
    {
      JsonObject *object = g_ptr_array_index (p->events, i);

      if (g_strcmp0 (obj_str (object, "name"), name) == 0)
        return object;
    }
  return NULL;
}

static void
assert_plugin_ok (Proc       *p,
                  const char *name,
                  const char *kind)
{
  JsonObject *plugin = find_plugin (p, name);
  JsonArray *features;
  gboolean found = FALSE;

  if (plugin == NULL)
    {
      proc_dump (p);
      g_error ("plugin %s not listed", name);
    }
  g_assert_nonnull (obj_str (plugin, "version"));
  g_assert_nonnull (obj_str (plugin, "description"));
  g_assert_true (g_str_has_suffix (obj_str (plugin, "filename"), ".so"));
  g_assert_true (json_object_has_member (plugin, "error"));
  g_assert_true (json_object_get_null_member (plugin, "error"));

  features = json_object_get_array_member (plugin, "features");
  g_assert_nonnull (features);
  for (guint i = 0; i < json_array_get_length (features); i++)
    {
      JsonObject *feature = json_array_get_object_element (features, i);

      g_assert_nonnull (obj_str (feature, "name"));
      g_assert_true (json_object_has_member (feature, "rank"));
      if (g_strcmp0 (obj_str (feature, "name"), name) == 0 &&
          g_strcmp0 (obj_str (feature, "kind"), kind) == 0)
        found = TRUE;
    }
  g_assert_true (found);
}

static void
test_plugins (Fixture       *fx,
              gconstpointer  data)
{
  g_autofree char *home = NULL;
  g_autofree char *junk_dir = NULL;
  g_autofree char *junk = NULL;
  g_autofree char *path_env = NULL;
  Proc *p;
  Proc *with_junk;
  JsonObject *bad;
  const char *plugin_path = g_getenv ("FERRY_PLUGIN_PATH");

  if (fixture_skip (fx))
    return;

  home = make_home (fx, "home", NULL);
  p = proc_spawn (fx, "plugins", "--home", home, "--json", "plugins");
  proc_assert_exit (p, 0);
  assert_plugin_ok (p, "lan", "transport");
  assert_plugin_ok (p, "local-broadcast", "signaling");

  /* A file that is not a plugin is listed with its error; the rest load. */
  junk_dir = make_dir (fx, "junk");
  junk = write_file (junk_dir, "libferry-junk.so", "not an ELF file\n", 16);
  path_env = g_strdup_printf ("FERRY_PLUGIN_PATH=%s%s%s", junk_dir,
                              plugin_path ? G_SEARCHPATH_SEPARATOR_S : "",
                              plugin_path ? plugin_path : "");
  with_junk = proc_spawnv (fx, "plugins with junk", (const char * const []) { path_env, NULL },
                           (const char * const []) { "--home", home, "--json", "plugins", NULL });
  proc_assert_exit (with_junk, 0);
  assert_plugin_ok (with_junk, "lan", "transport");
  assert_plugin_ok (with_junk, "local-broadcast", "signaling");

  bad = NULL;
  for (guint i = 0; i < with_junk->events->len; i++)
    {
      JsonObject *object = g_ptr_array_index (with_junk->events, i);

      if (g_strcmp0 (obj_str (object, "filename"), junk) == 0)
        bad = object;
    }
  if (bad == NULL)
    {
      proc_dump (with_junk);
      g_error ("the junk plugin file is not listed");
    }
  g_assert_nonnull (obj_str (bad, "error"));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (bad, "features")), ==, 0);
}

static void
test_usage (Fixture       *fx,
            gconstpointer  data)
{
  g_autofree char *home = NULL;
  g_autofree char *file = NULL;
  g_autofree char *missing = NULL;
  g_autofree char *unreadable = NULL;
  const char *id = "0123456789abcdef";

  if (fixture_skip (fx))
    return;

  home = g_build_filename (fx->tmp, "home", NULL);
  file = write_file (fx->tmp, "file.txt", "x", 1);
  missing = g_build_filename (fx->tmp, "missing.txt", NULL);
  unreadable = write_file (fx->tmp, "secret.txt", "x", 1);
  g_assert_cmpint (g_chmod (unreadable, 0), ==, 0);

  {
    const char * const cases[][12] = {
      { NULL },
      { "frobnicate", NULL },
      { "--frobnicate", "id", NULL },
      { "id", "extra", NULL },
      { "id", "--frobnicate", NULL },
      { "--signaling", "", "id", NULL },
      { "plugins", "extra", NULL },
      { "peers", "--timeout", "soon", NULL },
      { "peers", "--timeout", "0", NULL },
      { "peers", "--timeout", "-3", NULL },
      { "send", file, NULL },
      { "send", "--to", id, NULL },
      { "send", "--to", "", file, NULL },
      { "send", "--to", id, "--timeout", "abc", file, NULL },
      { "send", "--to", id, "--timeout", "0", file, NULL },
      { "send", "--to", id, "--timeout", "nan", file, NULL },
      { "send", "--to", id, missing, NULL },
      /* a folder is sent, a special file is not */
      { "send", "--to", id, "/dev/null", NULL },
      { "send", "--to", id, file, "/dev/null", NULL },
      { "send", "--to", NULL },
      { "receive", "--yes", "--accept-from", id, NULL },
      { "receive", "--accept-from", "abc", NULL },
      { "receive", "--accept-from", "not-hex-at-all", NULL },
      { "receive", "--dir", NULL },
      { "receive", "extra", NULL },
      { "receive", "--yes", "--frobnicate", NULL },
      { "--transport", "nosuch", "receive", "--yes", NULL },
      { "--signaling", "lan", "peers", NULL },
      { "send", "--transport", "local-broadcast", "--to", id, file, NULL },
    };

    for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
      {
        g_autoptr(GPtrArray) args = g_ptr_array_new ();
        g_autofree char *label = NULL;
        g_autofree char *err = NULL;
        Proc *p;

        g_ptr_array_add (args, "--home");
        g_ptr_array_add (args, home);
        g_ptr_array_add (args, "--interface");
        g_ptr_array_add (args, "lo");
        for (guint j = 0; cases[i][j] != NULL; j++)
          g_ptr_array_add (args, (gpointer) cases[i][j]);
        g_ptr_array_add (args, NULL);

        label = g_strdup_printf ("usage case %u", i);
        p = proc_spawnv (fx, label, NULL, (const char * const *) args->pdata);
        proc_assert_exit (p, 2);
        err = proc_stderr (p);
        g_assert_true (g_str_has_prefix (err, "ferry: "));
        g_assert_cmpuint (p->lines->len, ==, 0);
      }
  }

  /* --limit-rate is parsed strictly, and a bad one is named. */
  {
    const char * const rates[] = {
      "", "fast", "-1M", "5 M", "5MB", "1e6", "1023", "0.5K", "1.", "1..5M",
      "99999999999999999999", "16777216T",
    };

    for (guint i = 0; i < G_N_ELEMENTS (rates); i++)
      {
        g_autofree char *label = g_strdup_printf ("limit-rate “%s”", rates[i]);
        g_autofree char *quoted = g_strdup_printf ("“%s”", rates[i]);
        g_autofree char *err = NULL;
        Proc *p = proc_spawn (fx, label, "--home", home, "--interface", "lo",
                              "send", "--to", id, "--limit-rate", rates[i], file);

        proc_assert_exit (p, 2);
        err = proc_stderr (p);
        g_assert_true (g_str_has_prefix (err, "ferry: "));
        g_assert_nonnull (strstr (err, "--limit-rate"));
        g_assert_nonnull (strstr (err, quoted));
        g_assert_cmpuint (p->lines->len, ==, 0);
      }
  }

  /* root reads anything: the unreadable file is only a usage error for others. */
  if (geteuid () != 0)
    {
      Proc *p = proc_spawn (fx, "unreadable", "--home", home, "send", "--to", id, unreadable);
      proc_assert_exit (p, 2);
    }

  /* A usage error does no work: the home was never created. */
  g_assert_false (g_file_test (home, G_FILE_TEST_EXISTS));

  /* --help is not an error. */
  {
    Proc *p = proc_spawn (fx, "help", "--help");
    proc_assert_exit (p, 0);
    g_assert_cmpuint (p->lines->len, >, 5);
  }
}

typedef struct {
  const char *name;
  const char *final_name;
  gsize       size;
  const char *sha3;
} SendFile;

static void
test_transfer (Fixture       *fx,
               gconstpointer  data)
{
  g_autofree char *recv_home = NULL;
  g_autofree char *send_home = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *src = NULL;
  g_autofree char *prefix = NULL;
  g_autofree char *old = NULL;
  g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) names = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (g_test_rand_int ());
  Proc *receiver, *sender;
  JsonObject *ready, *send_done, *recv_done, *offer, *progress;
  JsonArray *send_files, *recv_files, *addresses;
  gboolean loopback_only = TRUE, has_tcp = FALSE;
  const SendFile files[] = {
    { "abc.txt", "abc.txt", 3, SHA3_ABC },
    { "empty", "empty", 0, SHA3_EMPTY },
    { "big.bin", "big.bin", 20 * 1024 * 1024, NULL },
    { "exists.txt", "exists (1).txt", 12, NULL },
    { "résumé final.txt", "résumé final.txt", 5000, NULL },
  };
  GPtrArray *argv;

  if (fixture_skip (fx))
    return;

  recv_home = make_home (fx, "recv", NULL);
  send_home = make_home (fx, "send", NULL);
  dir = make_dir (fx, "downloads");
  src = make_dir (fx, "src");
  old = write_file (dir, "exists.txt", "old content\n", 12);

  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree guint32 *contents = g_new (guint32, files[i].size / 4 + 1);

      if (i == 0)
        memcpy (contents, "abc", 3);
      else
        for (gsize j = 0; j < files[i].size / 4 + 1; j++)
          contents[j] = g_rand_int (rand);
      g_ptr_array_add (paths, write_file (src, files[i].name, contents, files[i].size));
    }

  receiver = start_receiver (fx, recv_home, dir, "--yes", NULL, TRUE);
  ready = proc_find_event (receiver, "ready");
  g_assert_true (is_hex (obj_str (ready, "account"), 64));
  g_assert_true (is_hex (obj_str (ready, "device"), 64));
  g_assert_true (obj_int (ready, "elapsed_ms") >= 0);

  /* --interface lo: lan listens on loopback only. */
  addresses = json_object_get_array_member (json_object_get_object_member (ready, "transports"), "lan");
  g_assert_nonnull (addresses);
  for (guint i = 0; i < json_array_get_length (addresses); i++)
    {
      const char *address = json_array_get_string_element (addresses, i);

      if (g_str_has_prefix (address, "tcp:127.0.0.1:"))
        has_tcp = TRUE;
      if (strstr (address, "127.") == NULL && strstr (address, "::1") == NULL)
        loopback_only = FALSE;
    }
  g_assert_true (has_tcp);
  g_assert_true (loopback_only);

  prefix = g_strndup (obj_str (ready, "account"), 12);
  argv = g_ptr_array_new ();
  for (const char * const *a = (const char * const []) { "--home", send_home, "--interface", "lo",
                                                         "--json", "send", "--to", prefix, NULL };
       *a != NULL; a++)
    g_ptr_array_add (argv, (gpointer) *a);
  for (guint i = 0; i < paths->len; i++)
    g_ptr_array_add (argv, g_ptr_array_index (paths, i));
  g_ptr_array_add (argv, NULL);
  sender = proc_spawnv (fx, "sender", NULL, (const char * const *) argv->pdata);
  g_ptr_array_unref (argv);

  if (proc_wait_exit (sender, WAIT_TRANSFER_MS) != 0)
    {
      proc_dump (sender);
      proc_dump (receiver);
      g_error ("the sender failed");
    }
  proc_assert_exit (receiver, 0);

  /* Offers on both sides. */
  offer = proc_wait_event (sender, "offer", 0);
  g_assert_cmpstr (obj_str (offer, "direction"), ==, "outgoing");
  g_assert_cmpint (obj_int (offer, "total"), ==, 3 + 20 * 1024 * 1024 + 12 + 5000);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (offer, "files")), ==, G_N_ELEMENTS (files));
  offer = proc_wait_event (receiver, "offer", 0);
  g_assert_cmpstr (obj_str (offer, "direction"), ==, "incoming");
  g_assert_cmpint (obj_int (offer, "total"), ==, 3 + 20 * 1024 * 1024 + 12 + 5000);
  g_assert_cmpstr (obj_str (json_object_get_object_member (offer, "peer"), "account"), ==,
                   obj_str (proc_find_event (sender, "ready"), "account"));

  /* Progress ends at the total on both sides. */
  progress = proc_find_last_event (sender, "progress");
  g_assert_nonnull (progress);
  g_assert_cmpint (obj_int (progress, "bytes"), ==, obj_int (progress, "total"));
  progress = proc_find_last_event (receiver, "progress");
  g_assert_nonnull (progress);
  g_assert_cmpint (obj_int (progress, "bytes"), ==, obj_int (progress, "total"));

  send_done = proc_wait_event (sender, "done", 0);
  recv_done = proc_wait_event (receiver, "done", 0);
  g_assert_nonnull (strstr (obj_str (send_done, "chain"), "lan"));
  g_assert_nonnull (strstr (obj_str (send_done, "chain"), "tls1.3"));
  g_assert_nonnull (strstr (obj_str (recv_done, "chain"), "tls1.3"));
  g_assert_null (proc_find_event (sender, "error"));
  g_assert_null (proc_find_event (receiver, "error"));
  g_assert_nonnull (proc_find_event (sender, "exit"));
  g_assert_cmpint (obj_int (proc_find_event (receiver, "exit"), "peak_rss_kib"), >, 0);

  send_files = json_object_get_array_member (send_done, "files");
  recv_files = json_object_get_array_member (recv_done, "files");
  g_assert_cmpuint (json_array_get_length (send_files), ==, G_N_ELEMENTS (files));
  g_assert_cmpuint (json_array_get_length (recv_files), ==, G_N_ELEMENTS (files));

  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      JsonObject *s = json_array_get_object_element (send_files, i);
      JsonObject *r = json_array_get_object_element (recv_files, i);
      g_autofree char *expected = g_build_filename (dir, files[i].final_name, NULL);
      g_autoptr(GBytes) sent = read_bytes (g_ptr_array_index (paths, i));
      g_autoptr(GBytes) received = NULL;

      g_test_message ("file %u: %s → %s", i, obj_str (s, "path"), obj_str (r, "path"));
      g_assert_cmpstr (obj_str (s, "path"), ==, g_ptr_array_index (paths, i));
      g_assert_cmpstr (obj_str (r, "path"), ==, expected);
      g_assert_cmpint (obj_int (s, "size"), ==, files[i].size);
      g_assert_cmpint (obj_int (r, "size"), ==, files[i].size);
      g_assert_true (is_hex (obj_str (s, "sha3-256"), 64));
      g_assert_cmpstr (obj_str (s, "sha3-256"), ==, obj_str (r, "sha3-256"));
      if (files[i].sha3 != NULL)
        g_assert_cmpstr (obj_str (r, "sha3-256"), ==, files[i].sha3);

      received = read_bytes (expected);
      g_assert_true (g_bytes_equal (sent, received));
    }

  /* The file that was there is untouched; nothing else is left behind. */
  {
    g_autoptr(GBytes) kept = read_bytes (old);
    g_assert_cmpmem (g_bytes_get_data (kept, NULL), g_bytes_get_size (kept), "old content\n", 12);
  }
  names = list_dir (dir);
  g_assert_cmpuint (names->len, ==, G_N_ELEMENTS (files) + 1);
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    g_assert_true (names_contain (names, files[i].final_name));
}

static void
test_reject (Fixture       *fx,
             gconstpointer  data)
{
  g_autofree char *recv_home = NULL;
  g_autofree char *send_home = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *file = NULL;
  g_autofree char *other = NULL;
  g_autofree char *prefix = NULL;
  g_autoptr(JsonObject) sender_id = NULL;
  g_autoptr(GPtrArray) names = NULL;
  Proc *receiver, *sender;

  if (fixture_skip (fx))
    return;

  recv_home = make_home (fx, "recv", NULL);
  send_home = make_home (fx, "send", NULL);
  dir = make_dir (fx, "downloads");
  file = write_file (fx->tmp, "note.txt", "hello\n", 6);

  /* Someone else: the sender's id with its first digit changed. */
  sender_id = run_id (fx, "sender id", NULL, (const char * const []) { "--home", send_home, "--json", "id", NULL });
  other = g_strndup (obj_str (sender_id, "account"), 12);
  other[0] = other[0] == '0' ? '1' : '0';
  g_assert_false (g_str_has_prefix (obj_str (sender_id, "device"), other));

  receiver = start_receiver (fx, recv_home, dir, "--accept-from", other, TRUE);
  prefix = g_strndup (obj_str (proc_find_event (receiver, "ready"), "account"), 12);
  sender = proc_spawn (fx, "sender", "--home", send_home, "--interface", "lo", "--json",
                       "send", "--to", prefix, file);

  proc_assert_exit (sender, 1);
  proc_assert_exit (receiver, 1);
  assert_error_code (sender, "rejected", receiver);
  g_assert_null (proc_find_event (sender, "done"));
  g_assert_null (proc_find_event (receiver, "done"));
  g_assert_nonnull (proc_find_event (receiver, "offer"));

  names = list_dir (dir);
  g_assert_cmpuint (names->len, ==, 0);
}

static void
test_not_found (Fixture       *fx,
                gconstpointer  data)
{
  g_autofree char *home = NULL;
  g_autofree char *slow_home = NULL;
  g_autofree char *file = NULL;
  Proc *sender, *slower;
  gint64 took_ms;

  if (fixture_skip (fx))
    return;

  home = make_home (fx, "send", NULL);
  slow_home = make_home (fx, "send-slower", NULL);
  file = write_file (fx->tmp, "note.txt", "hello\n", 6);
  /* Started together, the one with the shorter --timeout gives up first:
   * an order of events, which holds however slow the machine (a bound on
   * the duration would not). The default timeout (10 s) would lose. */
  sender = proc_spawn (fx, "sender", "--home", home, "--interface", "lo", "--json",
                       "send", "--to", "deadbeefdeadbeef", "--timeout", "1", file);
  slower = proc_spawn (fx, "slower sender", "--home", slow_home, "--interface", "lo", "--json",
                       "send", "--to", "deadbeefdeadbeef", "--timeout", "4", file);
  proc_assert_exit (sender, 1);
  g_assert_false (slower->exited);
  proc_assert_exit (slower, 1);
  took_ms = (sender->exited_us - sender->spawned_us) / 1000;
  g_test_message ("not found after %" G_GINT64_FORMAT " ms", took_ms);
  /* It cannot have given up before its timeout. */
  g_assert_cmpint (took_ms, >=, 1000);

  assert_error_code (sender, "peer-not-found", NULL);
  g_assert_null (proc_find_event (sender, "offer"));
  assert_error_code (slower, "peer-not-found", NULL);
}

static void
test_by_name (Fixture       *fx,
              gconstpointer  data)
{
  g_autofree char *name = g_strdup_printf ("ferry-test-%08x", g_test_rand_int ());
  g_autofree char *conf = g_strdup_printf ("[core]\nname=%s\n", name);
  g_autofree char *recv_home = NULL;
  g_autofree char *send_home = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *file = NULL;
  g_autofree char *received = NULL;
  g_autoptr(GBytes) contents = NULL;
  Proc *receiver, *sender;

  if (fixture_skip (fx))
    return;

  recv_home = make_home (fx, "recv", conf);
  send_home = make_home (fx, "send", NULL);
  dir = make_dir (fx, "downloads");
  file = write_file (fx->tmp, "by-name.txt", "found by name\n", 14);

  receiver = start_receiver (fx, recv_home, dir, "--yes", NULL, TRUE);
  g_assert_cmpstr (obj_str (proc_find_event (receiver, "ready"), "name"), ==, name);

  sender = proc_spawn (fx, "sender", "--home", send_home, "--interface", "lo", "--json",
                       "send", "--to", name, file);
  proc_assert_exit (sender, 0);
  proc_assert_exit (receiver, 0);
  g_assert_cmpstr (obj_str (json_object_get_object_member (proc_wait_event (sender, "offer", 0), "peer"), "name"),
                   ==, name);

  received = g_build_filename (dir, "by-name.txt", NULL);
  contents = read_bytes (received);
  g_assert_cmpmem (g_bytes_get_data (contents, NULL), g_bytes_get_size (contents), "found by name\n", 14);
}

static void
test_peers (Fixture       *fx,
            gconstpointer  data)
{
  g_autofree char *recv_home = NULL;
  g_autofree char *look_home = NULL;
  g_autofree char *dir = NULL;
  Proc *receiver, *peers;
  JsonObject *ready, *exit_event;
  gboolean found = FALSE;

  if (fixture_skip (fx))
    return;

  recv_home = make_home (fx, "recv", "[core]\nname=visible\n");
  look_home = make_home (fx, "look", NULL);
  dir = make_dir (fx, "downloads");

  receiver = start_receiver (fx, recv_home, dir, "--yes", NULL, FALSE);
  ready = proc_find_event (receiver, "ready");

  peers = proc_spawn (fx, "peers", "--home", look_home, "--interface", "lo", "--json",
                      "peers", "--timeout", "1.5");
  proc_assert_exit (peers, 0);
  for (guint i = 0; i < peers->events->len; i++)
    {
      JsonObject *device = g_ptr_array_index (peers->events, i);

      if (g_strcmp0 (obj_str (device, "device"), obj_str (ready, "device")) == 0)
        {
          g_assert_cmpstr (obj_str (device, "account"), ==, obj_str (ready, "account"));
          g_assert_cmpstr (obj_str (device, "name"), ==, "visible");
          g_assert_cmpstr (obj_str (device, "signaling"), ==, "local-broadcast");
          found = TRUE;
        }
    }
  if (!found)
    {
      proc_dump (peers);
      g_error ("the receiver was not seen");
    }

  /* Without --once, receive runs until a signal. */
  g_assert_false (receiver->exited);
  g_subprocess_send_signal (receiver->process, SIGTERM);
  proc_assert_exit (receiver, 128 + SIGTERM);
  exit_event = proc_wait_event (receiver, "exit", 0);
  g_assert_cmpint (obj_int (exit_event, "peak_rss_kib"), >, 0);
}

static void
test_interrupt (Fixture       *fx,
                gconstpointer  data)
{
  g_autofree char *recv_home = NULL;
  g_autofree char *send_home = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *file = NULL;
  g_autofree char *prefix = NULL;
  g_autoptr(GPtrArray) names = NULL;
  Proc *receiver, *sender;
  int fd;

  if (fixture_skip (fx))
    return;

  recv_home = make_home (fx, "recv", NULL);
  send_home = make_home (fx, "send", NULL);
  dir = make_dir (fx, "downloads");

  /* Large (sparse, so cheap to make) enough to be interrupted mid-way. */
  file = g_build_filename (fx->tmp, "large.bin", NULL);
  fd = g_open (file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (ftruncate (fd, (off_t) 512 << 20), ==, 0);
  close (fd);

  receiver = start_receiver (fx, recv_home, dir, "--yes", NULL, TRUE);
  prefix = g_strndup (obj_str (proc_find_event (receiver, "ready"), "account"), 12);
  sender = proc_spawn (fx, "sender", "--home", send_home, "--interface", "lo", "--json",
                       "send", "--to", prefix, file);

  if (!wait_for (progress_with_data, sender, WAIT_TRANSFER_MS) || sender->out_eof)
    {
      proc_dump (sender);
      proc_dump (receiver);
      g_error ("no data flowed");
    }
  /* The receiver stops at once (the kernel's doing, whatever the load), so
   * the transfer cannot end before the sender has handled its SIGINT,
   * however long that takes; only then does the receiver go on, and it
   * sees the cancel. */
  g_subprocess_send_signal (receiver->process, SIGSTOP);
  g_subprocess_send_signal (sender->process, SIGINT);
  proc_wait_event (sender, "error", WAIT_EXIT_MS);
  g_subprocess_send_signal (receiver->process, SIGCONT);

  proc_assert_exit (sender, 1);
  proc_assert_exit (receiver, 1);
  assert_error_code (sender, "cancelled", receiver);
  assert_error_code (receiver, "cancelled-by-peer", sender);
  g_assert_null (proc_find_event (receiver, "done"));

  /* No final file and no partial file. */
  names = list_dir (dir);
  for (guint i = 0; i < names->len; i++)
    g_test_message ("left: %s", (char *) g_ptr_array_index (names, i));
  g_assert_cmpuint (names->len, ==, 0);
}

/* Hostile names {{{1 */

/* Like proc_spawnv, with a terminal as standard input: @tty_fd, the
 * slave side of a pseudo-terminal (taken). */
static Proc *
proc_spawn_tty (Fixture            *fx,
                const char         *label,
                int                 tty_fd,
                const char * const *args)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  Proc *p = g_new0 (Proc, 1);

  g_ptr_array_add (argv, (gpointer) fx->tool);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                        G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_take_stdin_fd (launcher, tty_fd);
  g_subprocess_launcher_unsetenv (launcher, "FERRY_HOME");
  g_subprocess_launcher_setenv (launcher, "FERRY_PLUGIN_SYSTEM_PATH", "", TRUE);
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);
  g_subprocess_launcher_set_child_setup (launcher, ferry_test_die_with_parent, GINT_TO_POINTER (getpid ()), NULL);

  p->label = g_strdup (label);
  p->lines = g_ptr_array_new_with_free_func (g_free);
  p->events = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  p->cancellable = g_cancellable_new ();
  p->spawned_us = g_get_monotonic_time ();
  p->process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);

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

/* ferry doctor {{{1 */

/* coturn on 127.0.0.1 (user test:test, realm ferry.test), killed with the
 * test if it fails; NULL (after a skip) when it is not installed. */
static GSubprocess *
coturn_start (Fixture *fx,
              guint16 *port)
{
  g_autofree char *turnserver = g_find_program_in_path ("turnserver");
  g_autofree char *dir = NULL;

  if (turnserver == NULL)
    {
      if (g_getenv ("FERRY_TEST_NO_SKIP") != NULL)
        g_error ("turnserver (coturn) is not installed");
      g_test_skip ("turnserver (coturn) is not installed");
      return NULL;
    }
  dir = make_dir (fx, "coturn");
  return ferry_test_coturn_spawn (turnserver, dir, port);
}

static JsonObject *
array_object (JsonObject *object,
              const char *member,
              guint       index)
{
  JsonArray *array = json_object_get_array_member (object, member);

  g_assert_nonnull (array);
  g_assert_cmpuint (json_array_get_length (array), >, index);
  return json_array_get_object_element (array, index);
}

/* `ferry doctor --json` against a local coturn: the loopback interface
 * with its multicast round trip, the address coturn sees (no NAT on
 * loopback), a TURN allocation granted, and the exact refusal of wrong
 * credentials. */
static void
test_doctor (Fixture       *fx,
             gconstpointer  data)
{
  g_autoptr(GSubprocess) coturn = NULL;
  g_autofree char *home = NULL;
  g_autofree char *good = NULL;
  g_autofree char *wrong = NULL;
  JsonObject *report, *stun, *turn, *refused, *iface;
  guint16 port = 0;
  Proc *doctor;

  if (fixture_skip (fx))
    return;
  coturn = coturn_start (fx, &port);
  if (coturn == NULL)
    return;

  home = make_home (fx, "doctor", NULL);
  good = g_strdup_printf ("turn:test:test@127.0.0.1:%u", port);
  wrong = g_strdup_printf ("turn:test:wrong@127.0.0.1:%u", port);
  doctor = proc_spawn (fx, "doctor", "--home", home, "--interface", "lo", "--turn", good,
                       "--turn", wrong, "--json", "doctor", "--timeout", "2");
  proc_assert_exit (doctor, 0);
  g_subprocess_send_signal (coturn, SIGTERM);
  g_subprocess_wait (coturn, NULL, NULL);

  if (doctor->events->len != 1)
    {
      proc_dump (doctor);
      g_error ("doctor: expected one JSON object");
    }
  report = g_ptr_array_index (doctor->events, 0);

  iface = array_object (report, "interfaces", 0);
  g_assert_cmpstr (obj_str (iface, "name"), ==, "lo");
  g_assert_true (json_object_get_boolean_member (iface, "multicast"));

  stun = array_object (report, "stun", 0);
  g_assert_true (json_object_get_boolean_member (stun, "answered"));
  g_assert_true (g_str_has_prefix (obj_str (stun, "mapped"), "127.0.0.1:"));
  g_assert_cmpstr (obj_str (json_object_get_object_member (report, "nat"), "mapping"), ==, "none");

  turn = array_object (report, "turn", 0);
  g_assert_true (json_object_get_boolean_member (turn, "allocation"));
  g_assert_true (g_str_has_prefix (obj_str (turn, "relayed"), "127.0.0.1:"));
  refused = array_object (report, "turn", 1);
  g_assert_true (json_object_get_boolean_member (refused, "answered"));
  g_assert_false (json_object_get_boolean_member (refused, "allocation"));
  g_assert_cmpint (obj_int (refused, "code"), ==, 401);
  g_assert_nonnull (obj_str (refused, "reason"));

  g_assert_cmpstr (obj_str (report, "udp"), ==, "works");
  g_assert_cmpstr (obj_str (report, "verdict_code"), ==, "public");
  g_assert_nonnull (obj_str (report, "verdict"));
}

static guint16
free_tcp_port (void)
{
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                            G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  g_assert_true (g_socket_bind (socket, any, FALSE, NULL));
  bound = g_socket_get_local_address (socket, NULL);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

/* A dhtnode of a private network on loopback (-n), with an OpenDHT proxy
 * on @proxy_port; the second one bootstraps from the first. */
static GSubprocess *
dhtnode_start (guint32  network,
               guint16  port,
               guint16  proxy_port,
               guint16  bootstrap)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE |
                                                                       G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                                                       G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_autofree char *net = g_strdup_printf ("%u", network);
  g_autofree char *dht_port = g_strdup_printf ("%u", port);
  g_autofree char *proxy = g_strdup_printf ("%u", proxy_port);
  g_autofree char *peer = g_strdup_printf ("127.0.0.1:%u", bootstrap);
  g_autoptr(GError) error = NULL;
  GSubprocess *process;

  g_subprocess_launcher_set_child_setup (launcher, ferry_test_die_with_parent, GINT_TO_POINTER (getpid ()), NULL);
  /* -s: in the foreground, so the pid is the node's. */
  if (bootstrap != 0)
    process = g_subprocess_launcher_spawn (launcher, &error, "dhtnode", "-s", "-n", net, "-p", dht_port,
                                           "-b", peer, "--proxyserver", proxy, "--proxy-addr", "127.0.0.1",
                                           NULL);
  else
    process = g_subprocess_launcher_spawn (launcher, &error, "dhtnode", "-s", "-n", net, "-p", dht_port,
                                           "--proxyserver", proxy, "--proxy-addr", "127.0.0.1", NULL);
  g_assert_no_error (error);
  return process;
}

static gboolean
proxy_works (JsonObject *report,
             guint       index)
{
  JsonObject *proxy = array_object (report, "dht", index);

  return json_object_get_boolean_member (proxy, "put") && json_object_get_boolean_member (proxy, "get");
}

/* `ferry doctor --json` with two OpenDHT proxies of a private network on
 * loopback and a third that is down: a test value put and read back
 * through each live one, and the dead one unreachable. */
static void
test_doctor_dht (Fixture       *fx,
                 gconstpointer  data)
{
  g_autofree char *dhtnode = g_find_program_in_path ("dhtnode");
  g_autoptr(GSubprocess) node1 = NULL;
  g_autoptr(GSubprocess) node2 = NULL;
  g_autofree char *home = NULL, *url1 = NULL, *url2 = NULL, *url3 = NULL;
  guint32 network = g_random_int_range (1, G_MAXINT32);
  guint16 port1 = free_udp_port ();
  guint16 proxy1 = free_tcp_port (), proxy2 = free_tcp_port (), proxy3 = free_tcp_port ();
  JsonObject *report = NULL, *dead;
  Proc *doctor = NULL;

  if (fixture_skip (fx))
    return;
  if (dhtnode == NULL)
    {
      if (g_getenv ("FERRY_TEST_NO_SKIP") != NULL)
        g_error ("dhtnode (OpenDHT) is not installed");
      g_test_skip ("dhtnode (OpenDHT) is not installed");
      return;
    }

  node1 = dhtnode_start (network, port1, proxy1, 0);
  node2 = dhtnode_start (network, free_udp_port (), proxy2, port1);
  home = make_home (fx, "doctor", NULL);
  url1 = g_strdup_printf ("http://127.0.0.1:%u", proxy1);
  url2 = g_strdup_printf ("http://127.0.0.1:%u", proxy2);
  url3 = g_strdup_printf ("http://127.0.0.1:%u", proxy3);

  /* The nodes take about a second to find each other, and a proxy without
   * peers refuses a put: ask again until both proxies work (the doctor's
   * own requests are the readiness check). */
  for (guint attempt = 0; attempt < 60; attempt++)
    {
      /* No system proxy settings in the isolated test directories. */
      doctor = proc_spawnv (fx, "doctor", (const char * const []) { "GIO_USE_PROXY_RESOLVER=dummy", NULL },
                            (const char * const []) { "--home", home, "--interface", "lo", "--dht-proxy", url1,
                                                      "--dht-proxy", url2, "--dht-proxy", url3, "--json",
                                                      "doctor", "--timeout", "2", NULL });
      proc_assert_exit (doctor, 0);
      g_assert_cmpuint (doctor->events->len, ==, 1);
      report = g_ptr_array_index (doctor->events, 0);
      if (proxy_works (report, 0) && proxy_works (report, 1))
        break;
    }
  g_subprocess_force_exit (node1);
  g_subprocess_force_exit (node2);
  g_subprocess_wait (node1, NULL, NULL);
  g_subprocess_wait (node2, NULL, NULL);

  for (guint i = 0; i < 2; i++)
    {
      JsonObject *proxy = array_object (report, "dht", i);

      if (!proxy_works (report, i))
        {
          proc_dump (doctor);
          g_error ("proxy %u: no put and get", i);
        }
      g_assert_cmpstr (obj_str (proxy, "proxy"), ==, i == 0 ? url1 : url2);
      g_assert_true (json_object_get_boolean_member (proxy, "reachable"));
      g_assert_cmpint (obj_int (proxy, "rtt_ms"), >=, 0);
      g_assert_null (obj_str (proxy, "error"));
    }
  dead = array_object (report, "dht", 2);
  g_assert_false (json_object_get_boolean_member (dead, "reachable"));
  g_assert_false (json_object_get_boolean_member (dead, "put"));
  g_assert_nonnull (obj_str (dead, "error"));
  g_assert_cmpstr (obj_str (report, "udp"), ==, "unknown");
  g_assert_cmpstr (obj_str (report, "verdict_code"), ==, "unknown");
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  signal (SIGPIPE, SIG_IGN);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/cli/id", test_id);
  ADD ("/cli/plugins", test_plugins);
  ADD ("/cli/usage", test_usage);
  ADD ("/cli/transfer", test_transfer);
  ADD ("/cli/reject", test_reject);
  ADD ("/cli/not-found", test_not_found);
  ADD ("/cli/by-name", test_by_name);
  ADD ("/cli/peers", test_peers);
  ADD ("/cli/interrupt", test_interrupt);
  ADD ("/cli/hostile-name", test_hostile_name);
  ADD ("/cli/doctor", test_doctor);
  ADD ("/cli/doctor-dht", test_doctor_dht);
#undef ADD

  return g_test_run ();
}

/* vim: set foldmethod=marker: */
