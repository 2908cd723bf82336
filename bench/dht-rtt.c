/* dht-rtt.c: offer-to-answer round trips through two loopback OpenDHT proxies
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Starts a private two-node dhtnode network on loopback and two engines,
 * A on the first proxy and B on the second (dht signaling, lan transport on
 * lo), then measures, N times each (default 50, or the first argument):
 *
 *   offer → answer   A sends a file to B: from ferry_engine_send() until A
 *                    has B's answer and starts connecting (the sealed offer
 *                    goes A → proxy 1 → DHT → proxy 2 → B, B opens it,
 *                    describes its transports and seals its answer, which
 *                    goes back the other way)
 *   send → accepted  the same, until B accepted the transfer over lan and
 *                    TLS 1.3 (what a user waits for)
 *   signaling RTT    a 3 KiB blob from A's dht plugin to B's and back, with
 *                    no engine work in between (the engines see junk and
 *                    drop it)
 *
 * and prints the median and the worst of each.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>

#include "ferry.h"
#include "dht-helpers.h"
#include "test-utils.h"

static gint64 race_started_us[2];
static guint race_count;

/* The offerer starts connecting once it has the answer: the second
 * "starting transport attempt" after a send is A's (B logs its own right
 * after sending the answer). */
static GLogWriterOutput
bench_writer (GLogLevelFlags   level,
              const GLogField *fields,
              gsize            n_fields,
              gpointer         user_data)
{
  for (gsize i = 0; i < n_fields; i++)
    if (g_str_equal (fields[i].key, "MESSAGE") && fields[i].length < 0 &&
        g_str_has_prefix (fields[i].value, "starting transport attempt 0"))
      {
        if (race_count < G_N_ELEMENTS (race_started_us))
          race_started_us[race_count] = g_get_monotonic_time ();
        race_count++;
      }

  if ((level & (G_LOG_LEVEL_DEBUG | G_LOG_LEVEL_INFO)) && g_getenv ("G_MESSAGES_DEBUG") == NULL)
    return G_LOG_WRITER_HANDLED;
  return g_log_writer_default (level, fields, n_fields, user_data);
}

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a;
  double y = *(const double *) b;

  return x < y ? -1 : x > y;
}

static void
report (const char *what,
        GArray     *ms)
{
  double median;

  g_array_sort (ms, compare_doubles);
  if (ms->len % 2 == 1)
    median = g_array_index (ms, double, ms->len / 2);
  else
    median = (g_array_index (ms, double, ms->len / 2 - 1) + g_array_index (ms, double, ms->len / 2)) / 2;
  /* Padded by characters, not bytes (the arrows). */
  printf ("%s%*s median %7.1f ms   worst %7.1f ms   best %7.1f ms   (n=%u)\n", what,
          (int) (18 - g_utf8_strlen (what, -1)), "", median,
          g_array_index (ms, double, ms->len - 1), g_array_index (ms, double, 0), ms->len);
}

static FerryEngine *
make_engine (const char *dir,
             const char *name,
             const char *proxy)
{
  g_autofree char *home = g_build_filename (dir, name, NULL);
  g_autofree char *conf = g_build_filename (home, "ferry.conf", NULL);
  g_autofree char *text = g_strdup_printf ("[core]\nname=%s\n[dht]\nproxies=%s\n", name, proxy);
  const char *lo[] = { "lo", NULL };
  const char *signalings[] = { "dht", NULL };
  const char *transports[] = { "lan", NULL };
  g_autoptr(GError) error = NULL;
  FerryEngine *engine;

  g_assert_cmpint (g_mkdir_with_parents (home, 0700), ==, 0);
  g_assert_true (g_file_set_contents (conf, text, -1, NULL));
  engine = ferry_engine_new (home, NULL, &error);
  g_assert_no_error (error);
  ferry_engine_set_interfaces (engine, lo);
  ferry_engine_set_signalings (engine, signalings);
  ferry_engine_set_transports (engine, transports);
  if (!ferry_engine_start (engine, &error))
    g_error ("cannot start %s: %s", name, error->message);
  return engine;
}

static void
find_peer_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  FerryPeer **out = user_data;
  g_autoptr(GError) error = NULL;

  *out = ferry_engine_find_peer_finish (FERRY_ENGINE (source), result, &error);
  if (*out == NULL)
    g_error ("cannot find the peer: %s", error->message);
}

static gboolean
pointer_set (gpointer user_data)
{
  return *(gpointer *) user_data != NULL;
}

static gboolean
transfer_done (gpointer user_data)
{
  return ferry_transfer_is_done (FERRY_TRANSFER (user_data));
}

static gint64 accepted_us;

static void
transfer_requested_cb (FerryEngine   *engine,
                       FerryTransfer *transfer,
                       const char    *dir)
{
  g_autoptr(GFile) download = g_file_new_for_path (dir);

  accepted_us = g_get_monotonic_time ();
  ferry_transfer_accept (transfer, download);
}

/* Signaling round trip: B's plugin echoes what A's plugin sends. */
typedef struct {
  FerrySignaling *a;
  FerrySignaling *b;
  char           *a_device;
  gint64          pong_us;
} Echo;

static void
sent_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  if (!ferry_signaling_send_finish (FERRY_SIGNALING (source), result, &error))
    g_error ("send failed: %s", error->message);
}

static void
b_message_cb (FerrySignaling *signaling,
              GBytes         *message,
              const char     *route,
              Echo           *echo)
{
  if (g_bytes_get_size (message) > 4 && memcmp (g_bytes_get_data (message, NULL), "PING", 4) == 0)
    {
      /* The same size back, and different each time (the plugin skips a
       * value it has seen). */
      gsize size = g_bytes_get_size (message);
      guint8 *data = g_memdup2 (g_bytes_get_data (message, NULL), size);
      g_autoptr(GBytes) pong = NULL;

      memcpy (data, "PONG", 4);
      pong = g_bytes_new_take (data, size);
      ferry_signaling_send_async (echo->b, route, pong, NULL, sent_cb, NULL);
    }
}

static void
a_message_cb (FerrySignaling *signaling,
              GBytes         *message,
              const char     *route,
              Echo           *echo)
{
  if (g_bytes_get_size (message) > 4 && memcmp (g_bytes_get_data (message, NULL), "PONG", 4) == 0)
    echo->pong_us = g_get_monotonic_time ();
}

static gboolean
pong_seen (gpointer user_data)
{
  return ((Echo *) user_data)->pong_us != 0;
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

int
main (int    argc,
      char **argv)
{
  guint rounds = argc > 1 ? (guint) g_ascii_strtoull (argv[1], NULL, 10) : 50;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *download = NULL;
  g_autofree char *file_path = NULL;
  g_autoptr(GArray) offer_answer = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) send_accepted = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) rtt = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GFile) file = NULL;
  FerryTestDht *dht;
  FerryEngine *a, *b;
  FerryPeer *peer = NULL;
  Echo echo = { 0, };

  if (rounds == 0)
    rounds = 50;
  g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", TRUE);
  g_log_set_writer_func (bench_writer, NULL, NULL);

  if (!ferry_test_dht_available ())
    {
      fprintf (stderr, "dht-rtt: dhtnode is not installed (Debian package dhtnode)\n");
      return 77;
    }

  dir = g_dir_make_tmp ("ferry-dht-rtt-XXXXXX", &error);
  g_assert_no_error (error);
  download = g_build_filename (dir, "download", NULL);
  g_assert_cmpint (g_mkdir_with_parents (download, 0700), ==, 0);
  file_path = g_build_filename (dir, "small.bin", NULL);
  ferry_test_write_random (file_path, 1024, 1);
  file = g_file_new_for_path (file_path);

  dht = ferry_test_dht_start (dir, &error);
  if (dht == NULL)
    g_error ("cannot start the DHT network: %s", error->message);
  printf ("dhtnode network on %s and %s, %u rounds\n",
          ferry_test_dht_proxy (dht, 0), ferry_test_dht_proxy (dht, 1), rounds);

  a = make_engine (dir, "a", ferry_test_dht_proxy (dht, 0));
  b = make_engine (dir, "b", ferry_test_dht_proxy (dht, 1));
  g_signal_connect (b, "transfer-requested", G_CALLBACK (transfer_requested_cb), download);

  ferry_engine_find_peer_async (a, ferry_identity_get_account_id (ferry_engine_get_identity (b)),
                                15000, NULL, find_peer_cb, &peer);
  ferry_test_wait_until (pointer_set, &peer, 20000, "A to find B");

  /* One transfer to warm up (connections to the proxies, caches). */
  for (guint i = 0; i <= rounds; i++)
    {
      g_autoptr(FerryTransfer) transfer = NULL;
      gint64 start;
      double ms;

      race_count = 0;
      accepted_us = 0;
      start = g_get_monotonic_time ();
      transfer = ferry_engine_send (a, peer, &file, 1, &error);
      g_assert_no_error (error);
      ferry_test_wait_until (transfer_done, transfer, 30000, "the transfer");
      if (ferry_transfer_get_state (transfer) != FERRY_TRANSFER_STATE_FINISHED)
        g_error ("transfer %u failed: %s", i, ferry_transfer_get_error (transfer)->message);
      if (race_count < 2 || accepted_us == 0)
        g_error ("transfer %u: did not see the answer arrive", i);
      if (i == 0)
        continue;
      ms = (race_started_us[1] - start) / 1000.0;
      g_array_append_val (offer_answer, ms);
      ms = (accepted_us - start) / 1000.0;
      g_array_append_val (send_accepted, ms);
    }

  {
    g_autoptr(FerrySignaling) sa = g_list_model_get_item (ferry_engine_get_signalings (a), 0);
    g_autoptr(FerrySignaling) sb = g_list_model_get_item (ferry_engine_get_signalings (b), 0);
    guint8 padding[3072];

    memset (padding, 'x', sizeof padding);
    memcpy (padding, "PING", 4);
    echo.a = sa;
    echo.b = sb;
    g_signal_connect (sb, "message-received", G_CALLBACK (b_message_cb), &echo);
    g_signal_connect (sa, "message-received", G_CALLBACK (a_message_cb), &echo);
    for (guint i = 0; i <= rounds; i++)
      {
        g_autoptr(GBytes) ping = NULL;
        gint64 start;
        double ms;

        /* Each blob differs: the plugin skips values it has seen. */
        g_snprintf ((char *) padding + 4, 16, "%08u", i);
        ping = g_bytes_new (padding, sizeof padding);
        echo.pong_us = 0;
        start = g_get_monotonic_time ();
        ferry_signaling_send_async (sa, ferry_identity_get_device_id (ferry_engine_get_identity (b)),
                                    ping, NULL, sent_cb, NULL);
        ferry_test_wait_until (pong_seen, &echo, 10000, "the echo");
        if (i == 0)
          continue;
        ms = (echo.pong_us - start) / 1000.0;
        g_array_append_val (rtt, ms);
      }
    g_signal_handlers_disconnect_by_data (sa, &echo);
    g_signal_handlers_disconnect_by_data (sb, &echo);
  }

  report ("offer → answer", offer_answer);
  report ("send → accepted", send_accepted);
  report ("signaling RTT", rtt);

  g_object_unref (peer);
  ferry_engine_stop (a);
  ferry_engine_stop (b);
  g_object_unref (a);
  g_object_unref (b);
  ferry_test_dht_stop (dht);
  remove_tree (dir);
  return 0;
}
