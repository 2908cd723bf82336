/* test-resume-devices.c: the tool with two devices of one account, with
 * real `ferry` processes: export, import, a send to the account and to
 * one device, revoke
 *
 * The processes are driven by test-resume-common.c.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <signal.h>
#include <string.h>

#include <glib/gstdio.h>

#include "test-resume-common.h"

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

  g_test_add ("/resume/cli-devices", Fixture, NULL, fixture_set_up, test_cli_devices, fixture_tear_down);

  return g_test_run ();
}
