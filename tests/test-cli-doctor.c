/* test-cli-doctor.c: `ferry doctor` against servers on loopback
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The tool as a real process (see test-cli-common.h) checking a local
 * coturn (STUN, a TURN allocation, wrong credentials refused) and OpenDHT
 * proxies of a private dhtnode network, one of them down.
 */
#include "config.h"

#include <signal.h>
#include <unistd.h>

#include <glib.h>
#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "test-cli-common.h"

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
      ferry_test_skip_or_fail ("turnserver (coturn) is not installed");
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
  guint16 port1 = ferry_test_free_udp_port ();
  guint16 proxy1 = free_tcp_port (), proxy2 = free_tcp_port (), proxy3 = free_tcp_port ();
  JsonObject *report = NULL, *dead;
  Proc *doctor = NULL;

  if (fixture_skip (fx))
    return;
  if (dhtnode == NULL)
    {
      ferry_test_skip_or_fail ("dhtnode (OpenDHT) is not installed");
      return;
    }

  node1 = dhtnode_start (network, port1, proxy1, 0);
  node2 = dhtnode_start (network, ferry_test_free_udp_port (), proxy2, port1);
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

  CLI_TEST_ADD ("/cli/doctor", test_doctor);
  CLI_TEST_ADD ("/cli/doctor-dht", test_doctor_dht);

  return g_test_run ();
}

/* vim: set foldmethod=marker: */
