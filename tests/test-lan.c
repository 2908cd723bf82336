/* test-lan.c: the lan transport's listener under a flood of idle
 * connections
 *
 * Two engines in one process on the loopback interface (local-broadcast
 * signaling on a port picked for the test, lan transport). A stranger on
 * the network opens many TCP connections to the lan listeners and never
 * sends a token; a legitimate transfer must still connect.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include "ferry.h"
#include "test-utils.h"

#define TRANSFER_TIMEOUT_MS 60000
/* The listener's bounds (plugins/lan). */
#define MAX_WAITING             64
#define MAX_WAITING_PER_ADDRESS 8

typedef struct {
  char          *dir;
  char          *download;
  guint16        signaling_port;
  FerryEngine   *a;    /* sender */
  FerryEngine   *b;    /* receiver */
  FerryTransfer *incoming;
  GArray        *fds;  /* the stranger's connections */
} Fixture;

static FerryEngine *
make_engine (Fixture    *fixture,
             const char *name)
{
  g_autofree char *home = g_build_filename (fixture->dir, name, NULL);
  g_autofree char *config = g_strdup_printf ("[core]\nname=%s\n[local-broadcast]\nport=%u\n",
                                             name, fixture->signaling_port);

  return ferry_test_new_engine (home, config, "local-broadcast", "lan");
}

static void
transfer_requested_cb (FerryEngine   *engine,
                       FerryTransfer *transfer,
                       Fixture       *fixture)
{
  g_autoptr(GFile) dir = g_file_new_for_path (fixture->download);

  g_set_object (&fixture->incoming, transfer);
  ferry_transfer_accept (transfer, dir);
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  fixture->signaling_port = ferry_test_free_udp_port ();
  fixture->dir = ferry_test_make_dir ("lan");
  fixture->download = g_build_filename (fixture->dir, "download", NULL);
  fixture->fds = g_array_new (FALSE, FALSE, sizeof (int));
  g_assert_cmpint (g_mkdir_with_parents (fixture->download, 0700), ==, 0);
  fixture->a = make_engine (fixture, "alice");
  fixture->b = make_engine (fixture, "bob");
  g_signal_connect (fixture->b, "transfer-requested", G_CALLBACK (transfer_requested_cb), fixture);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  for (guint i = 0; i < fixture->fds->len; i++)
    close (g_array_index (fixture->fds, int, i));
  g_array_unref (fixture->fds);
  g_clear_object (&fixture->incoming);
  ferry_engine_stop (fixture->a);
  ferry_engine_stop (fixture->b);
  g_clear_object (&fixture->a);
  g_clear_object (&fixture->b);
  g_free (fixture->download);
  g_free (fixture->dir);
}

/* The stranger ------------------------------------------------------------ */

/* The port of @engine's lan listener on 127.0.0.1. */
static guint16
lan_port (FerryEngine *engine)
{
  g_autoptr(FerryTransport) transport = g_list_model_get_item (ferry_engine_get_transports (engine), 0);
  g_auto(GStrv) addresses = ferry_transport_dup_listen_addresses (transport);
  guint16 port = 0;

  g_assert_cmpstr (ferry_transport_get_name (transport), ==, "lan");
  for (guint i = 0; addresses != NULL && addresses[i] != NULL; i++)
    if (g_str_has_prefix (addresses[i], "tcp:127.0.0.1:"))
      port = (guint16) g_ascii_strtoull (addresses[i] + strlen ("tcp:127.0.0.1:"), NULL, 10);
  g_assert_cmpuint (port, !=, 0);
  return port;
}

static gboolean
is_connected (gpointer user_data)
{
  struct pollfd pfd = { .fd = GPOINTER_TO_INT (user_data), .events = POLLOUT };

  return poll (&pfd, 1, 0) == 1;
}

/* An idle TCP connection from @source (an address of 127.0.0.0/8) to
 * 127.0.0.1:@port; the main context turns while it connects, so the
 * listener sees the connections as they come. */
static int
idle_connection (const char *source,
                 guint16     port)
{
  struct sockaddr_in from = { .sin_family = AF_INET };
  struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons (port) };
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  int error = 0;
  socklen_t len = sizeof error;

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (inet_pton (AF_INET, source, &from.sin_addr), ==, 1);
  g_assert_cmpint (inet_pton (AF_INET, "127.0.0.1", &to.sin_addr), ==, 1);
  g_assert_cmpint (bind (fd, (struct sockaddr *) &from, sizeof from), ==, 0);
  if (connect (fd, (struct sockaddr *) &to, sizeof to) != 0)
    g_assert_cmpint (errno, ==, EINPROGRESS);
  ferry_test_wait_until (is_connected, GINT_TO_POINTER (fd), 10000, "an idle connection");
  g_assert_cmpint (getsockopt (fd, SOL_SOCKET, SO_ERROR, &error, &len), ==, 0);
  g_assert_cmpint (error, ==, 0);
  return fd;
}

/* Whether the other end closed @fd. */
static gboolean
is_closed (int fd)
{
  char byte;
  ssize_t n = recv (fd, &byte, 1, MSG_DONTWAIT | MSG_PEEK);

  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

typedef struct {
  GArray *fds;
  guint   first;   /* of this flood in fds */
  guint   closed;  /* the oldest that must be closed */
} Flood;

/* The listener closed the oldest connections of the flood and kept the
 * newest ones. */
static gboolean
flood_settled (gpointer user_data)
{
  Flood *flood = user_data;

  for (guint i = flood->first; i < flood->fds->len; i++)
    if (is_closed (g_array_index (flood->fds, int, i)) != (i - flood->first < flood->closed))
      return FALSE;
  return TRUE;
}

/* @per_source idle connections from each of @n_sources addresses
 * (127.0.0.@first_source on), to @engine's listener. */
static void
flood (Fixture     *fixture,
       FerryEngine *engine,
       guint        first_source,
       guint        n_sources,
       guint        per_source)
{
  guint16 port = lan_port (engine);
  Flood state = { fixture->fds, fixture->fds->len, 0 };
  guint total = n_sources * per_source;
  guint kept = MIN (MIN (per_source, MAX_WAITING_PER_ADDRESS) * n_sources, MAX_WAITING);

  /* Round-robin over the sources: the oldest connections are the first. */
  for (guint i = 0; i < per_source; i++)
    for (guint s = 0; s < n_sources; s++)
      {
        g_autofree char *source = g_strdup_printf ("127.0.0.%u", first_source + s);
        int fd = idle_connection (source, port);

        g_array_append_val (fixture->fds, fd);
      }

  state.closed = total - kept;
  ferry_test_wait_until (flood_settled, &state, 20000,
                         "the oldest idle connections to be closed, the newest kept");
}

/* A transfer --------------------------------------------------------------- */

static gboolean
transfer_done (gpointer user_data)
{
  return ferry_transfer_is_done (FERRY_TRANSFER (user_data));
}

static void
transfer_ok (Fixture *fixture,
             gsize    size)
{
  g_autofree char *path = g_build_filename (fixture->dir, "data.bin", NULL);
  g_autofree char *received = g_build_filename (fixture->download, "data.bin", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(FerryPeer) peer = NULL;
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(FerryTransfer) transfer = NULL;
  const char *bob = ferry_identity_get_account_id (ferry_engine_get_identity (fixture->b));

  ferry_test_write_random (path, size, (guint32) size);
  peer = ferry_test_find_peer (fixture->a, bob, 10000, NULL, &error);
  g_assert_no_error (error);

  transfer = ferry_engine_send (fixture->a, peer, &file, 1, &error);
  g_assert_no_error (error);
  ferry_test_wait_until (transfer_done, transfer, TRANSFER_TIMEOUT_MS, "the transfer to end");
  g_assert_no_error (ferry_transfer_get_error (transfer));
  g_assert_cmpint (ferry_transfer_get_state (transfer), ==, FERRY_TRANSFER_STATE_FINISHED);
  g_assert_nonnull (fixture->incoming);
  ferry_test_wait_until (transfer_done, fixture->incoming, TRANSFER_TIMEOUT_MS, "the incoming transfer to end");
  g_assert_cmpint (ferry_transfer_get_state (fixture->incoming), ==, FERRY_TRANSFER_STATE_FINISHED);
  g_assert_true (ferry_test_files_equal (path, received));
  g_assert_true (g_str_has_prefix (ferry_transfer_get_chain (transfer), "local-broadcast → lan"));
}

/* Tests -------------------------------------------------------------------- */

/* 100 idle connections from one address to each listener: only the newest
 * few stay, and a transfer (from the same address) connects. */
static void
test_flood_one_address (Fixture       *fixture,
                        gconstpointer  data)
{
  flood (fixture, fixture->a, 1, 1, 100);
  flood (fixture, fixture->b, 1, 1, 100);
  transfer_ok (fixture, 256 * 1024);
}

/* 5 idle connections from each of 20 addresses to each listener: the
 * oldest go beyond 64 in all, and a transfer connects. */
static void
test_flood_many_addresses (Fixture       *fixture,
                           gconstpointer  data)
{
  flood (fixture, fixture->a, 2, 20, 5);
  flood (fixture, fixture->b, 2, 20, 5);
  transfer_ok (fixture, 256 * 1024);
}

/* A connection that sends no token is closed soon. */
static void
test_token_timeout (Fixture       *fixture,
                    gconstpointer  data)
{
  Flood state = { fixture->fds, 0, 1 };
  int fd = idle_connection ("127.0.0.1", lan_port (fixture->a));

  g_array_append_val (fixture->fds, fd);
  ferry_test_wait_until (flood_settled, &state, 30000, "the idle connection to be closed");
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add ("/lan/flood-one-address", Fixture, NULL, fixture_set_up, test_flood_one_address, fixture_tear_down);
  g_test_add ("/lan/flood-many-addresses", Fixture, NULL, fixture_set_up, test_flood_many_addresses, fixture_tear_down);
  g_test_add ("/lan/token-timeout", Fixture, NULL, fixture_set_up, test_token_timeout, fixture_tear_down);

  return g_test_run ();
}
