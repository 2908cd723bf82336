/* test-utils.c: helpers shared by the test suites
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib/gstdio.h>
#include <gio/gunixinputstream.h>
#include <gio/gunixoutputstream.h>

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

static gboolean
flag_is_set (gpointer user_data)
{
  return *(const gboolean *) user_data;
}

void
ferry_test_wait_flag (const gboolean *flag,
                      guint           timeout_ms)
{
  ferry_test_wait_until (flag_is_set, (gpointer) flag, timeout_ms, "an event");
}

void
ferry_test_socket_pair (GIOStream **a,
                        GIOStream **b)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketListener) listener = g_socket_listener_new ();
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) effective = NULL;
  g_autoptr(GSocketClient) client = g_socket_client_new ();

  g_socket_client_set_enable_proxy (client, FALSE);
  g_socket_listener_add_address (listener, address, G_SOCKET_TYPE_STREAM,
                                 G_SOCKET_PROTOCOL_TCP, NULL, &effective, &error);
  g_assert_no_error (error);

  /* the kernel completes the handshake before accept() */
  *a = G_IO_STREAM (g_socket_client_connect (client, G_SOCKET_CONNECTABLE (effective), NULL, &error));
  g_assert_no_error (error);
  *b = G_IO_STREAM (g_socket_listener_accept (listener, NULL, NULL, &error));
  g_assert_no_error (error);
  g_socket_listener_close (listener);
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

void
ferry_test_die_with_parent (gpointer parent_pid)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  /* The test died before prctl() took effect. */
  if (getppid () != (pid_t) GPOINTER_TO_INT (parent_pid))
    _exit (127);
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

/* Whether a STUN server answers a Binding request on 127.0.0.1:@port
 * within 1 s (the receive waits for it: no sleep). */
static gboolean
stun_answers (guint16 port)
{
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                            G_SOCKET_PROTOCOL_UDP, NULL);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, port);
  guint8 request[20] = { 0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42,
                         'f', 'e', 'r', 'r', 'y', '-', 't', 'e', 's', 't', '-', '1' };
  guint8 answer[512];
  gssize n;

  g_socket_set_timeout (socket, 1);
  if (g_socket_send_to (socket, address, (const char *) request, sizeof request, NULL, NULL) < 0)
    return FALSE;
  n = g_socket_receive (socket, (char *) answer, sizeof answer, NULL, NULL);
  return n >= 20 && answer[0] == 0x01 && answer[1] == 0x01 && memcmp (answer + 8, request + 8, 12) == 0;
}

GSubprocess *
ferry_test_coturn_spawn (const char *turnserver,
                         const char *dir,
                         guint16    *port)
{
  for (guint attempt = 0; attempt < 5; attempt++)
    {
      g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                                                           G_SUBPROCESS_FLAGS_STDERR_SILENCE);
      guint min_port = 20000 + g_random_int_range (0, 400) * 100;
      g_autofree char *listening = NULL, *min = NULL, *max = NULL;
      g_autofree char *userdb = NULL, *pidfile = NULL, *logfile = NULL;
      g_autoptr(GError) error = NULL;
      GSubprocess *process;

      *port = ferry_test_free_udp_port ();
      listening = g_strdup_printf ("--listening-port=%u", *port);
      min = g_strdup_printf ("--min-port=%u", min_port);
      max = g_strdup_printf ("--max-port=%u", min_port + 99);
      userdb = g_strdup_printf ("--userdb=%s/turndb", dir);
      pidfile = g_strdup_printf ("--pidfile=%s/turn.pid", dir);
      logfile = g_strdup_printf ("--log-file=%s/turn.log", dir);
      g_subprocess_launcher_set_child_setup (launcher, ferry_test_die_with_parent,
                                             GINT_TO_POINTER (getpid ()), NULL);
      process = g_subprocess_launcher_spawn (launcher, &error, turnserver, "-n", "--no-cli", "--no-tls",
                                             "--no-dtls", "--listening-ip=127.0.0.1", listening,
                                             "--relay-ip=127.0.0.1", min, max, "--lt-cred-mech",
                                             "--user=test:test", "--realm=ferry.test", "--fingerprint",
                                             "--allow-loopback-peers", "--no-stdout-log", userdb, pidfile,
                                             logfile, "--simple-log", NULL);
      g_assert_no_error (error);

      /* Ready when it answers a STUN Binding request (< 1.5 s). */
      for (guint i = 0; i < 10; i++)
        if (stun_answers (*port))
          return process;
      g_subprocess_force_exit (process);
      g_subprocess_wait (process, NULL, NULL);
      g_object_unref (process);
    }
  g_error ("coturn did not start");
  return NULL;
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

static void
find_peer_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  GTask *out = user_data;
  GError *error = NULL;
  FerryPeer *peer = ferry_engine_find_peer_finish (FERRY_ENGINE (source), result, &error);

  if (peer != NULL)
    g_task_return_pointer (out, peer, g_object_unref);
  else
    g_task_return_error (out, error);
  g_object_unref (out);
}

static gboolean
task_done (gpointer user_data)
{
  return g_task_get_completed (G_TASK (user_data));
}

FerryPeer *
ferry_test_find_peer (FerryEngine   *engine,
                      const char    *query,
                      guint          timeout_ms,
                      GCancellable  *cancellable,
                      GError       **error)
{
  g_autoptr(GTask) out = g_task_new (NULL, NULL, NULL, NULL);

  ferry_engine_find_peer_async (engine, query, timeout_ms, cancellable, find_peer_cb, g_object_ref (out));
  ferry_test_wait_until (task_done, out, timeout_ms + 5000, "find_peer to answer");
  return g_task_propagate_pointer (out, error);
}

guint
ferry_test_count_entries (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  guint n = 0;

  g_assert_nonnull (d);
  while (g_dir_read_name (d) != NULL)
    n++;
  return n;
}

void
ferry_test_remove_tree (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;

      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);

          ferry_test_remove_tree (child);
        }
      g_rmdir (path);
    }
  else
    g_unlink (path);
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

/* A held file: the types behind ferry_test_held_new() {{{1
 *
 * Only what the engine asks of a file to send is implemented. */

#define TEST_TYPE_HELD_INPUT (test_held_input_get_type ())
G_DECLARE_FINAL_TYPE (TestHeldInput, test_held_input, TEST, HELD_INPUT, GFileInputStream)

struct _TestHeldInput
{
  GFileInputStream  parent_instance;
  GInputStream     *base;
};

G_DEFINE_FINAL_TYPE (TestHeldInput, test_held_input, G_TYPE_FILE_INPUT_STREAM)

static gssize
test_held_input_read (GInputStream  *stream,
                      void          *buffer,
                      gsize          count,
                      GCancellable  *cancellable,
                      GError       **error)
{
  /* Blocks until the test writes, the sender cancels or the pipe closes. */
  return g_input_stream_read (TEST_HELD_INPUT (stream)->base, buffer, count, cancellable, error);
}

static gboolean
test_held_input_close (GInputStream  *stream,
                       GCancellable  *cancellable,
                       GError       **error)
{
  return g_input_stream_close (TEST_HELD_INPUT (stream)->base, cancellable, error);
}

static void
test_held_input_finalize (GObject *object)
{
  g_clear_object (&TEST_HELD_INPUT (object)->base);
  G_OBJECT_CLASS (test_held_input_parent_class)->finalize (object);
}

static void
test_held_input_class_init (TestHeldInputClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = test_held_input_finalize;
  G_INPUT_STREAM_CLASS (klass)->read_fn = test_held_input_read;
  G_INPUT_STREAM_CLASS (klass)->close_fn = test_held_input_close;
}

static void
test_held_input_init (TestHeldInput *self)
{
}

#define TEST_TYPE_HELD_FILE (test_held_file_get_type ())
G_DECLARE_FINAL_TYPE (TestHeldFile, test_held_file, TEST, HELD_FILE, GObject)

struct _TestHeldFile
{
  GObject        parent_instance;
  char          *name;
  guint64        size;
  GInputStream  *pipe_in;   /* read once, by the sender */
};

static void test_held_file_iface_init (GFileIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TestHeldFile, test_held_file, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_FILE, test_held_file_iface_init))

static GFile *
test_held_file_dup (GFile *file)
{
  return g_object_ref (file);
}

static guint
test_held_file_hash (GFile *file)
{
  return g_direct_hash (file);
}

static gboolean
test_held_file_equal (GFile *a,
                      GFile *b)
{
  return a == b;
}

static gboolean
test_held_file_is_native (GFile *file)
{
  return FALSE;
}

static gboolean
test_held_file_has_uri_scheme (GFile      *file,
                               const char *scheme)
{
  return g_str_equal (scheme, "held");
}

static char *
test_held_file_get_uri_scheme (GFile *file)
{
  return g_strdup ("held");
}

static char *
test_held_file_get_basename (GFile *file)
{
  return g_strdup (TEST_HELD_FILE (file)->name);
}

static char *
test_held_file_get_path (GFile *file)
{
  return NULL;
}

static char *
test_held_file_get_uri (GFile *file)
{
  return g_strconcat ("held:///", TEST_HELD_FILE (file)->name, NULL);
}

static GFileInfo *
test_held_file_query_info (GFile                *file,
                           const char           *attributes,
                           GFileQueryInfoFlags   flags,
                           GCancellable         *cancellable,
                           GError              **error)
{
  TestHeldFile *self = TEST_HELD_FILE (file);
  GFileInfo *info = g_file_info_new ();

  g_file_info_set_file_type (info, G_FILE_TYPE_REGULAR);
  g_file_info_set_name (info, self->name);
  g_file_info_set_display_name (info, self->name);
  g_file_info_set_size (info, (goffset) self->size);
  g_file_info_set_content_type (info, "application/octet-stream");
  return info;
}

static GFileInputStream *
test_held_file_read (GFile         *file,
                     GCancellable  *cancellable,
                     GError       **error)
{
  TestHeldFile *self = TEST_HELD_FILE (file);
  TestHeldInput *input;

  if (self->pipe_in == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_BUSY, "a held file is read once");
      return NULL;
    }
  input = g_object_new (TEST_TYPE_HELD_INPUT, NULL);
  input->base = g_steal_pointer (&self->pipe_in);
  return G_FILE_INPUT_STREAM (input);
}

static void
test_held_file_iface_init (GFileIface *iface)
{
  iface->dup = test_held_file_dup;
  iface->hash = test_held_file_hash;
  iface->equal = test_held_file_equal;
  iface->is_native = test_held_file_is_native;
  iface->has_uri_scheme = test_held_file_has_uri_scheme;
  iface->get_uri_scheme = test_held_file_get_uri_scheme;
  iface->get_basename = test_held_file_get_basename;
  iface->get_path = test_held_file_get_path;
  iface->get_uri = test_held_file_get_uri;
  iface->get_parse_name = test_held_file_get_uri;
  iface->query_info = test_held_file_query_info;
  iface->read_fn = test_held_file_read;
}

static void
test_held_file_finalize (GObject *object)
{
  TestHeldFile *self = TEST_HELD_FILE (object);

  g_clear_object (&self->pipe_in);
  g_free (self->name);
  G_OBJECT_CLASS (test_held_file_parent_class)->finalize (object);
}

static void
test_held_file_class_init (TestHeldFileClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = test_held_file_finalize;
}

static void
test_held_file_init (TestHeldFile *self)
{
}


struct _FerryTestHeld
{
  TestHeldFile  *file;
  GOutputStream *pipe_out;      /* the test's end, non-blocking */
  GCancellable  *cancellable;
  guint8        *chunk;
  gsize          chunk_size;
  gboolean       pending;       /* a write is under way */
  gboolean       endless;       /* give more as long as the sender reads */
};

FerryTestHeld *
ferry_test_held_new (const char *name,
                     guint64     size)
{
  FerryTestHeld *held = g_new0 (FerryTestHeld, 1);
  g_autoptr(GError) error = NULL;
  int fds[2];

  /* A pipe whose reader went away is an error to the writer, not a signal
   * that kills the test. */
  signal (SIGPIPE, SIG_IGN);
  g_assert_true (g_unix_open_pipe (fds, FD_CLOEXEC, &error));
  g_assert_no_error (error);
  /* The test writes asynchronously, never blocking its main context. */
  g_assert_true (g_unix_set_fd_nonblocking (fds[1], TRUE, &error));
  g_assert_no_error (error);
  held->file = g_object_new (TEST_TYPE_HELD_FILE, NULL);
  held->file->name = g_strdup (name);
  held->file->size = size;
  held->file->pipe_in = g_unix_input_stream_new (fds[0], TRUE);
  held->pipe_out = g_unix_output_stream_new (fds[1], TRUE);
  held->cancellable = g_cancellable_new ();
  return held;
}

GFile *
ferry_test_held_get_file (FerryTestHeld *held)
{
  return G_FILE (held->file);
}

static void held_write (FerryTestHeld *held);

static void
held_written_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  FerryTestHeld *held = user_data;

  held->pending = FALSE;
  /* Cancelled, or the sender closed the file: giving ends. */
  if (g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, NULL) &&
      held->endless)
    held_write (held);
}

static void
held_write (FerryTestHeld *held)
{
  held->pending = TRUE;
  g_output_stream_write_all_async (held->pipe_out, held->chunk, held->chunk_size, G_PRIORITY_DEFAULT,
                                   held->cancellable, held_written_cb, held);
}

void
ferry_test_held_give (FerryTestHeld *held,
                      gsize          n)
{
  g_assert_false (held->pending);
  g_free (held->chunk);
  held->chunk = g_malloc (n);
  held->chunk_size = n;
  for (gsize i = 0; i < n; i++)
    held->chunk[i] = (guint8) g_test_rand_int ();
  held_write (held);
}

gboolean
ferry_test_held_taken (gpointer held)
{
  return !((FerryTestHeld *) held)->pending;
}

void
ferry_test_held_give_all (FerryTestHeld *held)
{
  held->endless = TRUE;
  if (!held->pending)
    ferry_test_held_give (held, 256 * 1024);
}

void
ferry_test_held_free (FerryTestHeld *held)
{
  held->endless = FALSE;
  g_cancellable_cancel (held->cancellable);
  ferry_test_wait_until (ferry_test_held_taken, held, 10000, "the held file's last write to end");
  /* A sender still reading sees the end of the file. */
  g_output_stream_close (held->pipe_out, NULL, NULL);
  g_object_unref (held->pipe_out);
  g_object_unref (held->cancellable);
  g_object_unref (held->file);
  g_free (held->chunk);
  g_free (held);
}

/* ------------------------------------------------------------ log capture */

static GMutex log_lock;
static GPtrArray *log_lines;
static char *log_domain_prefix;
static char **log_needles;

static GLogWriterOutput
capture_writer (GLogLevelFlags   level,
                const GLogField *fields,
                gsize            n_fields,
                gpointer         user_data)
{
  const char *domain = NULL;
  const char *message = NULL;
  gboolean wanted = FALSE;

  for (gsize i = 0; i < n_fields; i++)
    {
      if (g_str_equal (fields[i].key, "GLIB_DOMAIN") && fields[i].length < 0)
        domain = fields[i].value;
      else if (g_str_equal (fields[i].key, "MESSAGE") && fields[i].length < 0)
        message = fields[i].value;
    }

  if (domain != NULL && g_str_has_prefix (domain, log_domain_prefix) && message != NULL)
    for (guint i = 0; !wanted && log_needles[i] != NULL; i++)
      wanted = strstr (message, log_needles[i]) != NULL;
  if (wanted)
    {
      g_mutex_lock (&log_lock);
      if (log_lines == NULL)
        log_lines = g_ptr_array_new_with_free_func (g_free);
      g_ptr_array_add (log_lines, g_strdup_printf ("%s: %s", domain, message));
      g_mutex_unlock (&log_lock);
    }

  return g_log_writer_default (level, fields, n_fields, user_data);
}

void
ferry_test_log_capture (const char         *domain_prefix,
                        const char * const *needles)
{
  g_assert_null (log_domain_prefix);
  log_domain_prefix = g_strdup (domain_prefix);
  log_needles = g_strdupv ((char **) needles);
  g_log_set_writer_func (capture_writer, NULL, NULL);
}

guint
ferry_test_log_count (const char *needle)
{
  guint count = 0;

  g_mutex_lock (&log_lock);
  for (guint i = 0; log_lines != NULL && i < log_lines->len; i++)
    if (strstr (g_ptr_array_index (log_lines, i), needle) != NULL)
      count++;
  g_mutex_unlock (&log_lock);
  return count;
}

void
ferry_test_log_clear (void)
{
  g_mutex_lock (&log_lock);
  if (log_lines != NULL)
    g_ptr_array_set_size (log_lines, 0);
  g_mutex_unlock (&log_lock);
}
