/* test-dht-common.c: what the dht signaling tests share
 *
 * The fixture and its dhtnode network, engines on it, transfers and the
 * captured log lines (see test-dht-common.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "test-dht-common.h"

/* ------------------------------------------------------------ log capture */

/* The lines that say something was dropped, skipped or reconnected,
 * debug ones included, so that tests can wait for them. */
static const char * const log_needles[] = {
  "dropped", "skipped", "Listening", "listen through", "listening on", NULL
};

typedef struct {
  const char *needle;
  guint       at_least;
} LogWait;

static gboolean
log_has (gpointer user_data)
{
  LogWait *wait = user_data;

  return ferry_test_log_count (wait->needle) >= wait->at_least;
}

void
wait_log (const char *needle,
          guint       at_least,
          guint       timeout_ms)
{
  LogWait wait = { needle, at_least };
  g_autofree char *what = g_strdup_printf ("%u log lines with “%s”", at_least, needle);

  ferry_test_wait_until (log_has, &wait, timeout_ms, what);
}

/* ---------------------------------------------------------------- fixture */

static void
transfer_requested_cb (FerryEngine   *engine,
                       FerryTransfer *transfer,
                       Fixture       *fx)
{
  const char *name = ferry_identity_get_name (ferry_engine_get_identity (engine));
  g_autofree char *path = g_build_filename (fx->dir, "download", name, NULL);
  g_autoptr(GFile) dir = g_file_new_for_path (path);

  g_assert_cmpint (g_mkdir_with_parents (path, 0700), ==, 0);
  g_ptr_array_add (fx->requested, g_object_ref (transfer));
  ferry_transfer_accept (transfer, dir);
}

FerryEngine *
try_engine (Fixture            *fx,
            const char         *name,
            const char         *proxies,
            const char * const *signalings,
            guint16             lb_port,
            GError            **error)
{
  g_autofree char *home = g_build_filename (fx->dir, name, NULL);
  g_autofree char *conf = g_build_filename (home, "ferry.conf", NULL);
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(FerryEngine) engine = NULL;
  const char *lo[] = { "lo", NULL };
  const char *transports[] = { "lan", NULL };

  g_string_append_printf (text, "[core]\nname=%s\n", name);
  /* Quick reconnections, so that tests do not wait long. */
  g_string_append (text, "[dht]\nmax-backoff=0.5\n");
  if (fx->dht_extra != NULL)
    g_string_append (text, fx->dht_extra);
  if (proxies != NULL)
    g_string_append_printf (text, "proxies=%s\n", proxies);
  g_string_append_printf (text, "[local-broadcast]\nport=%u\n", lb_port ? lb_port : 9);

  g_assert_cmpint (g_mkdir_with_parents (home, 0700), ==, 0);
  g_assert_true (g_file_set_contents (conf, text->str, -1, NULL));
  engine = ferry_engine_new (home, NULL, error);
  g_assert_nonnull (engine);
  ferry_engine_set_interfaces (engine, lo);
  ferry_engine_set_signalings (engine, signalings);
  ferry_engine_set_transports (engine, transports);
  if (!ferry_engine_start (engine, error))
    return NULL;

  g_signal_connect (engine, "transfer-requested", G_CALLBACK (transfer_requested_cb), fx);
  g_ptr_array_add (fx->engines, g_object_ref (engine));
  return g_steal_pointer (&engine);
}

FerryEngine *
make_engine (Fixture    *fx,
             const char *name,
             const char *proxies)
{
  const char *signalings[] = { "dht", NULL };
  g_autoptr(GError) error = NULL;
  FerryEngine *engine = try_engine (fx, name, proxies, signalings, 0, &error);

  g_assert_no_error (error);
  g_assert_nonnull (engine);
  g_object_unref (engine);  /* the fixture keeps it */
  return engine;
}

static void
fixture_set_up (Fixture       *fx,
                gconstpointer  data)
{
  gboolean network = GPOINTER_TO_INT (data);
  g_autoptr(GError) error = NULL;

  fx->dir = ferry_test_make_dir ("dht");
  fx->engines = g_ptr_array_new_with_free_func (g_object_unref);
  fx->requested = g_ptr_array_new_with_free_func (g_object_unref);
  fx->session = soup_session_new_with_options ("timeout", 20, NULL);
  ferry_test_log_clear ();

  if (!network)
    return;
  if (!ferry_test_dht_available ())
    {
      ferry_test_skip_or_fail ("dhtnode is not installed (Debian package dhtnode)");
      fx->skipped = TRUE;
      return;
    }
  fx->dht = ferry_test_dht_start (fx->dir, &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture       *fx,
                   gconstpointer  data)
{
  for (guint i = 0; i < fx->engines->len; i++)
    ferry_engine_stop (g_ptr_array_index (fx->engines, i));
  g_clear_pointer (&fx->requested, g_ptr_array_unref);
  g_clear_pointer (&fx->engines, g_ptr_array_unref);
  /* Let cancelled requests finish. */
  for (guint i = 0; i < 50 && g_main_context_iteration (NULL, FALSE); i++)
    ;
  ferry_test_dht_stop (fx->dht);
  g_clear_object (&fx->session);
  g_free (fx->dir);
}

/* ---------------------------------------------------------------- helpers */

const char *
account_of (FerryEngine *engine)
{
  return ferry_identity_get_account_id (ferry_engine_get_identity (engine));
}

const char *
device_of (FerryEngine *engine)
{
  return ferry_identity_get_device_id (ferry_engine_get_identity (engine));
}

FerryPeer *
find_peer (FerryEngine *engine,
           const char  *query,
           guint        timeout_ms)
{
  g_autoptr(GError) error = NULL;
  FerryPeer *peer = ferry_test_find_peer (engine, query, timeout_ms, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (peer);
  return peer;
}

static gboolean
transfer_done (gpointer user_data)
{
  return ferry_transfer_is_done (FERRY_TRANSFER (user_data));
}

void
transfer (Fixture     *fx,
          FerryEngine *from,
          FerryEngine *to,
          const char  *signaling,
          gsize        size)
{
  static guint counter;
  g_autoptr(FerryPeer) peer = NULL;
  g_autoptr(FerryTransfer) outgoing = NULL;
  g_autoptr(GFile) file = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(FerryDevice) device = NULL;
  g_autofree char *name = g_strdup_printf ("file-%u.bin", ++counter);
  g_autofree char *source = g_build_filename (fx->dir, name, NULL);
  g_autofree char *received = NULL;
  g_autofree char *prefix = g_strconcat (signaling, " → lan", NULL);
  const char *to_name = ferry_identity_get_name (ferry_engine_get_identity (to));
  guint requested = fx->requested->len;
  FerryTransfer *incoming;

  ferry_test_write_random (source, size, counter);
  peer = find_peer (from, account_of (to), 15000);
  g_assert_cmpstr (ferry_peer_get_account_id (peer), ==, account_of (to));
  g_assert_cmpstr (ferry_peer_get_name (peer), ==, to_name);
  device = g_list_model_get_item (ferry_peer_get_devices (peer), 0);
  g_assert_cmpstr (ferry_device_get_device_id (device), ==, device_of (to));

  file = g_file_new_for_path (source);
  outgoing = ferry_engine_send (from, peer, &file, 1, &error);
  g_assert_no_error (error);
  ferry_test_wait_until (transfer_done, outgoing, 30000, "the transfer to end");
  if (ferry_transfer_get_error (outgoing) != NULL)
    g_error ("transfer failed: %s", ferry_transfer_get_error (outgoing)->message);
  g_assert_cmpint (ferry_transfer_get_state (outgoing), ==, FERRY_TRANSFER_STATE_FINISHED);
  g_assert_true (g_str_has_prefix (ferry_transfer_get_chain (outgoing), prefix));

  g_assert_cmpuint (fx->requested->len, ==, requested + 1);
  incoming = g_ptr_array_index (fx->requested, requested);
  ferry_test_wait_until (transfer_done, incoming, 10000, "the incoming transfer to end");
  g_assert_cmpint (ferry_transfer_get_state (incoming), ==, FERRY_TRANSFER_STATE_FINISHED);
  g_assert_true (g_str_has_prefix (ferry_transfer_get_chain (incoming), prefix));
  received = g_build_filename (fx->dir, "download", to_name, name, NULL);
  g_assert_true (ferry_test_files_equal (source, received));
}

void
dht_test_init (int    *argc,
               char ***argv)
{
  /* Isolated directories hide the GSettings schemas a desktop proxy
   * resolver would read: no HTTP proxy between us and loopback anyway. */
  g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", TRUE);
  ferry_test_log_capture ("Ferry", log_needles);
  g_test_init (argc, argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
}

void
dht_test_add (const char  *path,
              gboolean     network,
              void       (*func) (Fixture *, gconstpointer))
{
  g_test_add (path, Fixture, GINT_TO_POINTER (network), fixture_set_up, func, fixture_tear_down);
}
