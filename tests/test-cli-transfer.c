/* test-cli-transfer.c: files sent and received through the `ferry` tool
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A sender and a receiver as real processes on loopback (see
 * test-cli-common.h): a transfer of several files checked byte for byte,
 * a rejected offer, a peer that is not found, a peer found by its name,
 * the peers listing, and a transfer interrupted by a signal.
 */
#include "config.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "test-cli-common.h"

/* SHA3-256 test vectors (FIPS 202 examples). */
#define SHA3_EMPTY "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a"
#define SHA3_ABC   "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532"

/* Helpers {{{1 */

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

static gboolean
names_contain (GPtrArray  *names,
               const char *name)
{
  for (guint i = 0; i < names->len; i++)
    if (g_str_equal (g_ptr_array_index (names, i), name))
      return TRUE;
  return FALSE;
}

/* Tests {{{1 */

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

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  signal (SIGPIPE, SIG_IGN);

  CLI_TEST_ADD ("/cli/transfer", test_transfer);
  CLI_TEST_ADD ("/cli/reject", test_reject);
  CLI_TEST_ADD ("/cli/not-found", test_not_found);
  CLI_TEST_ADD ("/cli/by-name", test_by_name);
  CLI_TEST_ADD ("/cli/peers", test_peers);
  CLI_TEST_ADD ("/cli/interrupt", test_interrupt);

  return g_test_run ();
}

/* vim: set foldmethod=marker: */
