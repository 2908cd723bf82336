/* test-utils.c: helpers shared by the test suites
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "test-utils.h"

typedef struct {
  gboolean expired;
} WaitData;

static gboolean
wait_timeout_cb (gpointer user_data)
{
  WaitData *data = user_data;

  data->expired = TRUE;
  return G_SOURCE_REMOVE;
}

void
ferry_test_wait_until (FerryTestCondition  condition,
                       gpointer            user_data,
                       guint               timeout_ms,
                       const char         *what)
{
  WaitData data = { FALSE };
  GMainContext *context = g_main_context_get_thread_default ();
  GSource *source = g_timeout_source_new (timeout_ms);

  g_source_set_callback (source, wait_timeout_cb, &data, NULL);
  g_source_attach (source, context);

  while (!condition (user_data) && !data.expired)
    g_main_context_iteration (context, TRUE);

  g_source_destroy (source);
  g_source_unref (source);

  if (!condition (user_data))
    g_error ("timed out after %u ms waiting for %s", timeout_ms, what);
}

char *
ferry_test_make_dir (const char *name)
{
  /* Under G_TEST_OPTION_ISOLATE_DIRS the cache directory is the test's own,
   * and GLib removes it when the test ends: nothing is left in /tmp. */
  g_autofree char *base = g_build_filename (g_get_user_cache_dir (), "ferry-test-XXXXXX", NULL);
  char *dir;

  g_assert_cmpint (g_mkdir_with_parents (g_get_user_cache_dir (), 0700), ==, 0);
  g_assert_nonnull (g_mkdtemp (base));
  dir = g_build_filename (base, name, NULL);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  return dir;
}

void
ferry_test_write_random (const char *path,
                         gsize       size,
                         guint32     seed)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  FILE *f = fopen (path, "wb");
  guint32 buf[4096];

  g_assert_nonnull (f);
  while (size > 0)
    {
      gsize n = MIN (size, sizeof buf);

      for (gsize i = 0; i < G_N_ELEMENTS (buf); i++)
        buf[i] = g_rand_int (rand);
      g_assert_cmpuint (fwrite (buf, 1, n, f), ==, n);
      size -= n;
    }
  g_assert_cmpint (fclose (f), ==, 0);
}

gboolean
ferry_test_files_equal (const char *a,
                        const char *b)
{
  g_autoptr(GMappedFile) ma = g_mapped_file_new (a, FALSE, NULL);
  g_autoptr(GMappedFile) mb = g_mapped_file_new (b, FALSE, NULL);

  if (ma == NULL || mb == NULL)
    return FALSE;
  if (g_mapped_file_get_length (ma) != g_mapped_file_get_length (mb))
    return FALSE;
  return g_mapped_file_get_length (ma) == 0 ||
         memcmp (g_mapped_file_get_contents (ma), g_mapped_file_get_contents (mb),
                 g_mapped_file_get_length (ma)) == 0;
}

guint16
ferry_test_free_udp_port (void)
{
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                            G_SOCKET_PROTOCOL_UDP, NULL);
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  g_assert_nonnull (socket);
  g_assert_true (g_socket_bind (socket, any, FALSE, NULL));
  bound = g_socket_get_local_address (socket, NULL);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

char *
ferry_test_list_dir (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  if (d == NULL)
    return g_strdup ("<missing>");
  while ((name = g_dir_read_name (d)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  return g_strjoinv ("|", (char **) names->pdata);
}

void
ferry_test_skip_or_fail (const char *reason)
{
  if (g_getenv ("FERRY_TEST_NO_SKIP") != NULL)
    g_error ("cannot run here, and skipping is not allowed: %s", reason);
  g_test_skip (reason);
}

FerryEngine *
ferry_test_new_engine (const char *home,
                       const char *config,
                       const char *signaling,
                       const char *transport)
{
  g_autofree char *conf = g_build_filename (home, "ferry.conf", NULL);
  const char *lo[] = { "lo", NULL };
  g_auto(GStrv) signalings = g_strsplit (signaling, ",", -1);
  g_auto(GStrv) transports = g_strsplit (transport, ",", -1);
  g_autoptr(GError) error = NULL;
  FerryEngine *engine;

  g_assert_cmpint (g_mkdir_with_parents (home, 0700), ==, 0);
  g_assert_true (g_file_set_contents (conf, config, -1, NULL));
  engine = ferry_engine_new (home, NULL, &error);
  g_assert_no_error (error);
  ferry_engine_set_interfaces (engine, lo);
  ferry_engine_set_signalings (engine, (const char * const *) signalings);
  ferry_engine_set_transports (engine, (const char * const *) transports);
  g_assert_true (ferry_engine_start (engine, &error));
  g_assert_no_error (error);
  return engine;
}
