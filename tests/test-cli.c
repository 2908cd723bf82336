/* test-cli.c: the local commands of the `ferry` tool, as real processes
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * `ferry id` (the ids of a home, where the home is found, private keys
 * kept private), `ferry plugins` (a broken plugin file listed with its
 * error), and usage errors (exit status 2 before any work). The processes
 * are spawned as test-cli-common.h says; transfers, escaping of peer text
 * and `ferry doctor` have test-cli-transfer.c, test-cli-escape.c and
 * test-cli-doctor.c.
 */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "test-cli-common.h"

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

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  signal (SIGPIPE, SIG_IGN);

  CLI_TEST_ADD ("/cli/id", test_id);
  CLI_TEST_ADD ("/cli/plugins", test_plugins);
  CLI_TEST_ADD ("/cli/usage", test_usage);

  return g_test_run ();
}

/* vim: set foldmethod=marker: */
