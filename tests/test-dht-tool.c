/* test-dht-tool.c: the `ferry` tool with the dht signaling
 *
 * Two `ferry` processes on different proxies of a private OpenDHT network
 * (two `dhtnode` processes on loopback, test-dht-common.c): the plugin
 * inactive without a proxy and active with one, a transfer, peers looked
 * up before.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <json-glib/json-glib.h>

#include "test-dht-common.h"

typedef struct {
  GSubprocess *process;
  GString     *out;
  gboolean     done;
} Tool;

static void
tool_communicated_cb (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  Tool *tool = user_data;
  g_autoptr(GBytes) out = NULL;
  g_autoptr(GError) error = NULL;

  g_subprocess_communicate_finish (G_SUBPROCESS (source), result, &out, NULL, &error);
  g_assert_no_error (error);
  if (out != NULL)
    g_string_append_len (tool->out, g_bytes_get_data (out, NULL), g_bytes_get_size (out));
  tool->done = TRUE;
}

/* Runs `ferry ARGS…` with its stdout captured; the main context keeps
 * running meanwhile. */
static Tool *
tool_spawn (const char * const *args)
{
  const char *path = g_getenv ("FERRY_TOOL");
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GError) error = NULL;
  Tool *tool = g_new0 (Tool, 1);

  g_assert_nonnull (path);
  g_ptr_array_add (argv, (gpointer) path);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_set_stdin_file_path (launcher, "/dev/null");
  g_subprocess_launcher_setenv (launcher, "FERRY_PLUGIN_SYSTEM_PATH", "", TRUE);
  g_subprocess_launcher_setenv (launcher, "GIO_USE_PROXY_RESOLVER", "dummy", TRUE);
  tool->process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  tool->out = g_string_new (NULL);
  g_subprocess_communicate_async (tool->process, NULL, NULL, tool_communicated_cb, tool);
  return tool;
}

static gboolean
tool_done (gpointer user_data)
{
  Tool *tool = user_data;

  return tool->done && g_subprocess_get_identifier (tool->process) == NULL;
}

/* Waits for the tool, checks its exit status and returns the JSON objects
 * it printed. */
static GPtrArray *
tool_finish (Tool *tool,
             int   status)
{
  GPtrArray *objects = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  g_auto(GStrv) lines = NULL;

  ferry_test_wait_until (tool_done, tool, 30000, "ferry to exit");
  g_subprocess_wait (tool->process, NULL, NULL);
  if (g_subprocess_get_exit_status (tool->process) != status)
    g_error ("ferry exited with %d instead of %d; its output:\n%s",
             g_subprocess_get_exit_status (tool->process), status, tool->out->str);

  lines = g_strsplit (tool->out->str, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();

      if (lines[i][0] == '\0')
        continue;
      g_assert_true (json_parser_load_from_data (parser, lines[i], -1, NULL));
      g_ptr_array_add (objects, json_object_ref (json_node_get_object (json_parser_get_root (parser))));
    }
  g_object_unref (tool->process);
  g_string_free (tool->out, TRUE);
  g_free (tool);
  return objects;
}

static JsonObject *
find_object (GPtrArray  *objects,
             const char *member,
             const char *value)
{
  for (guint i = 0; i < objects->len; i++)
    if (g_strcmp0 (json_object_get_string_member_with_default (g_ptr_array_index (objects, i), member, NULL),
                   value) == 0)
      return g_ptr_array_index (objects, i);
  return NULL;
}

static JsonObject *
dht_feature (GPtrArray *plugins)
{
  JsonObject *plugin = find_object (plugins, "name", "dht");

  g_assert_nonnull (plugin);
  return json_array_get_object_element (json_object_get_array_member (plugin, "features"), 0);
}

/* Two `ferry` processes on different proxies: plugins, a transfer, peers. */
static void
test_tool (Fixture       *fx,
           gconstpointer  data)
{
  g_autofree char *home_a = g_build_filename (fx->dir, "tool-a", NULL);
  g_autofree char *home_b = g_build_filename (fx->dir, "tool-b", NULL);
  g_autofree char *inbox = g_build_filename (fx->dir, "tool-inbox", NULL);
  g_autofree char *file = g_build_filename (fx->dir, "sent.bin", NULL);
  g_autofree char *received = g_build_filename (inbox, "sent.bin", NULL);
  g_autoptr(GPtrArray) plugins = NULL;
  g_autoptr(GPtrArray) id_b = NULL;
  g_autoptr(GPtrArray) sent = NULL;
  g_autoptr(GPtrArray) got = NULL;
  g_autoptr(GPtrArray) peers = NULL;
  const char *p0, *p1;
  const char *account_b, *device_b;
  JsonObject *feature;
  Tool *receiver;

  if (fx->skipped)
    return;
  p0 = ferry_test_dht_proxy (fx->dht, 0);
  p1 = ferry_test_dht_proxy (fx->dht, 1);

  /* Inactive without a proxy, and says why; active with one. */
  plugins = tool_finish (tool_spawn ((const char * const []) { "--home", home_a, "--json", "plugins", NULL }), 0);
  feature = dht_feature (plugins);
  g_assert_false (json_object_get_boolean_member (feature, "active"));
  g_assert_nonnull (strstr (json_object_get_string_member (feature, "inactive_reason"), "no OpenDHT proxy configured"));
  g_clear_pointer (&plugins, g_ptr_array_unref);
  plugins = tool_finish (tool_spawn ((const char * const []) { "--home", home_a, "--dht-proxy", p0, "--json", "plugins", NULL }), 0);
  feature = dht_feature (plugins);
  g_assert_true (json_object_get_boolean_member (feature, "active"));
  g_assert_true (json_object_get_null_member (feature, "inactive_reason"));

  /* --dht-proxy alone enables dht (beside local-broadcast, on a port of
   * its own so that only dht can carry this). */
  id_b = tool_finish (tool_spawn ((const char * const []) { "--home", home_b, "--json", "id", NULL }), 0);
  account_b = json_object_get_string_member (g_ptr_array_index (id_b, 0), "account");
  device_b = json_object_get_string_member (g_ptr_array_index (id_b, 0), "device");
  ferry_test_write_random (file, 100 * 1024, 7);
  {
    g_autofree char *conf = g_build_filename (home_b, "ferry.conf", NULL);
    g_autofree char *text = g_strdup_printf ("[local-broadcast]\nport=%u\n", ferry_test_free_udp_port ());

    g_assert_true (g_file_set_contents (conf, text, -1, NULL));
  }
  receiver = tool_spawn ((const char * const []) {
    "--home", home_b, "--interface", "lo", "--dht-proxy", p1, "--json",
    "receive", "--yes", "--once", "--dir", inbox, NULL });
  sent = tool_finish (tool_spawn ((const char * const []) {
    "--home", home_a, "--interface", "lo", "--signaling", "dht", "--dht-proxy", p0, "--json",
    "send", "--to", account_b, "--timeout", "15", file, NULL }), 0);
  got = tool_finish (receiver, 0);
  g_assert_true (ferry_test_files_equal (file, received));
  g_assert_true (g_str_has_prefix (json_object_get_string_member (find_object (sent, "event", "done"), "chain"),
                                   "dht → lan"));
  g_assert_true (g_str_has_prefix (json_object_get_string_member (find_object (got, "event", "done"), "chain"),
                                   "dht → lan"));

  /* A remembers whom it looked up: `ferry peers` finds B's device. */
  peers = tool_finish (tool_spawn ((const char * const []) {
    "--home", home_a, "--interface", "lo", "--dht-proxy", p0, "--json", "peers", "--timeout", "2", NULL }), 0);
  {
    JsonObject *device = find_object (peers, "device", device_b);

    g_assert_nonnull (device);
    g_assert_cmpstr (json_object_get_string_member (device, "signaling"), ==, "dht");
  }
}


int
main (int    argc,
      char **argv)
{
  dht_test_init (&argc, &argv);

  dht_test_add ("/dht/tool", TRUE, test_tool);

  return g_test_run ();
}
