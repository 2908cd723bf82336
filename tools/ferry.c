/* ferry.c: the ferry command-line tool
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   ferry [--home DIR] [--signaling LIST] [--transport LIST]
 *         [--interface NAME]... [--dht-proxy URL]... [--json] COMMAND
 *     id | plugins | peers [--timeout SECS]
 *     receive [--dir DIR] [--yes | --accept-from ID ...] [--once]
 *     send --to ID [--timeout SECS] FILE...
 *
 * Exit status: 0 success, 1 a failed, rejected or cancelled transfer or any
 * other runtime error, 2 a usage error. Results go to stdout, errors to
 * stderr; with --json, send and receive write one JSON object per line.
 */
#include "config.h"

#include <locale.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <glib/gi18n.h>
#include <glib-unix.h>
#include <gio/gio.h>
#include <gio/gunixinputstream.h>
#include <json-glib/json-glib.h>

#include <ferry/ferry.h>

enum {
  EXIT_OK = 0,
  EXIT_FAILED = 1,
  EXIT_USAGE = 2,
};

#define PROGRESS_INTERVAL_US (100 * G_TIME_SPAN_MILLISECOND)
#define MIN_ID_PREFIX 8

typedef enum {
  COMMAND_NONE,
  COMMAND_ID,
  COMMAND_PLUGINS,
  COMMAND_PEERS,
  COMMAND_RECEIVE,
  COMMAND_SEND,
  COMMAND_HISTORY,
  COMMAND_FETCH,
  COMMAND_ACCOUNT_EXPORT,
  COMMAND_ACCOUNT_IMPORT,
  COMMAND_DEVICE_REVOKE,
} Command;

typedef struct {
  FerryTransfer *transfer;
  GPtrArray     *sources;           /* sender: the GFile of each file */
  gulong         bytes_handler;
  gulong         state_handler;
  gint64         offered_us;
  gint64         started_us;        /* first seen ongoing */
  gint64         last_progress_us;
  guint64        last_progress_bytes;
  gboolean       progress_emitted;
  gint64         last_draw_us;
  guint          bar_width;         /* characters of the last bar drawn */
  gboolean       declined;          /* receiver: rejected here, already said */
} Transfer;

typedef struct {
  gint64         start_us;
  gint64         start_real_us;
  Command        command;

  /* global options */
  char          *home;
  GPtrArray     *signalings;
  GPtrArray     *transports;
  GPtrArray     *interfaces;
  GPtrArray     *dht_proxies;
  GPtrArray     *turn_servers;
  char          *stun_server;
  gboolean       json;
  gboolean       progress_bar;

  /* command options */
  double         timeout;
  char          *dir;
  gboolean       yes;
  char         **accept_from;
  gboolean       once;
  char          *to;
  char         **file_args;

  FerryEngine   *engine;
  GMainLoop     *loop;
  int            exit_code;
  gboolean       quitting;
  gboolean       forced;            /* a second signal: do not linger */
  guint          signal_ids[2];
  guint          grace_id;

  /* account, device */
  char         **rest_args;
  char          *passphrase_file;

  /* fetch */
  char         **fetch_args;
  char          *fetch_id;
  guint          fetch_attempts;

  /* send */
  gboolean       verbose;
  GPtrArray     *subs;              /* SubWatch: one per receiving device */
  Transfer      *sending;           /* the aggregate */
  char          *sending_id;
  gboolean       send_reported;     /* the aggregate ended; waiting for the rest */
  guint          linger_id;         /* then: how long devices not started yet get */
  int            send_code;
  GPtrArray     *files;             /* GFile */
  GCancellable  *find_cancellable;
  gboolean       finding;

  /* receive */
  GFile         *download_dir;
  GPtrArray     *transfers;         /* Transfer, not yet ended */
  FerryTransfer *once_transfer;
  GQueue         prompts;           /* Transfer waiting for an answer */
  Transfer      *prompting;
  gboolean       prompt_pending;
  gboolean       stdin_closed;
  GDataInputStream *stdin_stream;
  GCancellable  *prompt_cancellable;
} App;

static App app;

/* Helpers {{{1 */

static gint64
elapsed_ms (void)
{
  return (g_get_monotonic_time () - app.start_us) / 1000;
}

static void
print_error (const char *format,
             ...) G_GNUC_PRINTF (1, 2);

static void
print_error (const char *format,
             ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  g_printerr ("ferry: %s\n", message);
}

static int
usage_error (const char *format,
             ...) G_GNUC_PRINTF (1, 2);

static int
usage_error (const char *format,
             ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  g_printerr ("ferry: %s\n", message);
  g_printerr (_("Try “ferry --help” for more information.\n"));
  return EXIT_USAGE;
}

static char *
file_to_utf8 (GFile *file)
{
  g_autofree char *path = file ? g_file_get_path (file) : NULL;
  char *utf8;

  if (path == NULL)
    return file ? g_file_get_uri (file) : NULL;
  utf8 = g_filename_to_utf8 (path, -1, NULL, NULL, NULL);
  return utf8 ? utf8 : g_filename_display_name (path);
}

static const char *
error_code (const GError *error)
{
  if (error == NULL)
    return "failed";

  if (error->domain == FERRY_ERROR)
    {
      GEnumClass *klass = g_type_class_ref (FERRY_TYPE_ERROR);
      GEnumValue *value = g_enum_get_value (klass, error->code);
      const char *nick = value ? value->value_nick : "failed";

      /* Static enum type: the nick stays valid after the unref. */
      g_type_class_unref (klass);
      return nick;
    }

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return "cancelled";

  return "failed";
}

static gboolean
is_hex_id (const char *id)
{
  gsize len = strlen (id);

  if (len < MIN_ID_PREFIX)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isxdigit (id[i]))
      return FALSE;
  return TRUE;
}

static gboolean
id_has_prefix (const char *id,
               const char *prefix)
{
  gsize len = strlen (prefix);

  return id != NULL && strlen (id) >= len &&
         g_ascii_strncasecmp (id, prefix, len) == 0;
}

static char *
format_rate (double rate)
{
  g_autofree char *size = NULL;

  if (!isfinite (rate) || rate < 0)
    rate = 0;
  size = g_format_size ((guint64) rate);
  /* TRANSLATORS: a transfer rate, e.g. “120.3 MB/s” */
  return g_strdup_printf (_("%s/s"), size);
}

static char *
format_duration (double seconds)
{
  guint64 s;

  if (!isfinite (seconds) || seconds < 0)
    return g_strdup ("-:--");
  s = (guint64) (seconds + 0.5);
  if (s >= 3600)
    return g_strdup_printf ("%" G_GUINT64_FORMAT ":%02u:%02u", s / 3600,
                            (guint) (s / 60 % 60), (guint) (s % 60));
  return g_strdup_printf ("%u:%02u", (guint) (s / 60), (guint) (s % 60));
}

static guint64
peak_rss_kib (void)
{
  g_autofree char *status = NULL;
  const char *line;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return 0;
  line = strstr (status, "VmHWM:");
  if (line == NULL)
    return 0;
  return g_ascii_strtoull (line + strlen ("VmHWM:"), NULL, 10);
}

static void
engine_closed_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  gboolean *closed = user_data;

  ferry_engine_close_finish (FERRY_ENGINE (source), result, NULL);
  *closed = TRUE;
}

/* Lets the last words of the transfers (a cancel, a rejection) reach the
 * peers before the process exits. */
static void
close_engine (void)
{
  gboolean closed = FALSE;

  ferry_engine_close_async (app.engine, NULL, engine_closed_cb, &closed);
  while (!closed && !app.forced)
    g_main_context_iteration (NULL, TRUE);
}

/* JSON output {{{1 */

static JsonBuilder *
json_begin (const char *event)
{
  JsonBuilder *builder = json_builder_new ();

  json_builder_begin_object (builder);
  if (event != NULL)
    {
      json_builder_set_member_name (builder, "event");
      json_builder_add_string_value (builder, event);
      json_builder_set_member_name (builder, "elapsed_ms");
      json_builder_add_int_value (builder, elapsed_ms ());
    }
  return builder;
}

static void
json_end (JsonBuilder *builder)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;

  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, NULL);
  fputs (text, stdout);
  fputc ('\n', stdout);
  fflush (stdout);
  g_object_unref (builder);
}

static void
json_add_string (JsonBuilder *builder,
                 const char  *member,
                 const char  *value)
{
  json_builder_set_member_name (builder, member);
  if (value != NULL && g_utf8_validate (value, -1, NULL))
    json_builder_add_string_value (builder, value);
  else if (value != NULL)
    {
      g_autofree char *valid = g_utf8_make_valid (value, -1);
      json_builder_add_string_value (builder, valid);
    }
  else
    json_builder_add_null_value (builder);
}

static void
json_add_int (JsonBuilder *builder,
              const char  *member,
              gint64       value)
{
  json_builder_set_member_name (builder, member);
  json_builder_add_int_value (builder, value);
}

static void
emit_error_event (FerryTransfer *transfer,
                  const GError  *error)
{
  JsonBuilder *builder = json_begin ("error");

  if (transfer != NULL)
    json_add_string (builder, "transfer", ferry_transfer_get_id (transfer));
  json_add_string (builder, "code", error_code (error));
  json_add_string (builder, "message", error ? error->message : _("Failed"));
  json_end (builder);
}

static void
report_error (FerryTransfer *transfer,
              const GError  *error,
              const char    *context)
{
  if (app.json)
    emit_error_event (transfer, error);
  if (context != NULL)
    print_error ("%s: %s", context, error ? error->message : _("Failed"));
  else
    print_error ("%s", error ? error->message : _("Failed"));
}

/* Quitting {{{1 */

static void
app_quit (int code)
{
  app.exit_code = code;
  if (app.loop != NULL)
    g_main_loop_quit (app.loop);
}

static gboolean
on_grace_timeout (gpointer user_data)
{
  app.grace_id = 0;
  app_quit (app.exit_code);
  return G_SOURCE_REMOVE;
}

static gboolean
on_signal (gpointer user_data)
{
  int signum = GPOINTER_TO_INT (user_data);

  if (app.quitting)
    {
      /* A second signal: leave now. */
      app.forced = TRUE;
      app_quit (app.exit_code);
      return G_SOURCE_CONTINUE;
    }

  app.quitting = TRUE;
  app.exit_code = app.command == COMMAND_SEND ? EXIT_FAILED : 128 + signum;

  if (app.command == COMMAND_PEERS)
    {
      app_quit (app.exit_code);
      return G_SOURCE_CONTINUE;
    }

  if (app.find_cancellable != NULL)
    g_cancellable_cancel (app.find_cancellable);

  if (app.transfers != NULL && app.transfers->len > 0)
    {
      /* Copy: cancelling may end a transfer synchronously. */
      g_autoptr(GPtrArray) active = g_ptr_array_new_with_free_func (g_object_unref);

      for (guint i = 0; i < app.transfers->len; i++)
        {
          Transfer *tr = g_ptr_array_index (app.transfers, i);
          g_ptr_array_add (active, g_object_ref (tr->transfer));
        }
      for (guint i = 0; i < active->len; i++)
        ferry_transfer_cancel (g_ptr_array_index (active, i),
                               _("interrupted by the user"));
    }

  if (!app.finding && (app.transfers == NULL || app.transfers->len == 0))
    app_quit (app.exit_code);
  else if (app.grace_id == 0)
    app.grace_id = g_timeout_add_seconds (5, on_grace_timeout, NULL);

  return G_SOURCE_CONTINUE;
}

static void
install_signal_handlers (void)
{
  app.signal_ids[0] = g_unix_signal_add (SIGINT, on_signal, GINT_TO_POINTER (SIGINT));
  app.signal_ids[1] = g_unix_signal_add (SIGTERM, on_signal, GINT_TO_POINTER (SIGTERM));
}

/* The engine {{{1 */

/* Names given with --signaling or --transport must be installed features;
 * checked before anything is created, as a usage error. */
static int
check_plugin_names (GPtrArray  *names,
                    GType       base_type,
                    const char *option)
{
  FerryRegistry *registry;

  if (names == NULL)
    return EXIT_OK;

  registry = ferry_registry_get_default ();
  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);

      if (ferry_registry_lookup_feature (registry, base_type, name) == NULL)
        return usage_error (_("Unknown %s “%s” (see “ferry plugins”)"), option, name);
    }
  return EXIT_OK;
}

static int
open_engine (void)
{
  g_autoptr(GError) error = NULL;

  app.engine = ferry_engine_new (app.home, NULL, &error);
  if (app.engine == NULL)
    {
      if (app.json)
        emit_error_event (NULL, error);
      print_error (_("Cannot open the home directory: %s"), error->message);
      return EXIT_FAILED;
    }

  if (app.signalings != NULL)
    ferry_engine_set_signalings (app.engine, (const char * const *) app.signalings->pdata);
  if (app.transports != NULL)
    ferry_engine_set_transports (app.engine, (const char * const *) app.transports->pdata);
  if (app.interfaces != NULL)
    ferry_engine_set_interfaces (app.engine, (const char * const *) app.interfaces->pdata);
  /* --dht-proxy replaces [dht] proxies of ferry.conf, and without
   * --signaling adds dht to the signalings of ferry.conf. */
  if (app.dht_proxies != NULL)
    {
      GKeyFile *config = ferry_engine_get_config (app.engine);

      g_key_file_set_string_list (config, "dht", "proxies",
                                  (const char * const *) app.dht_proxies->pdata,
                                  app.dht_proxies->len);
      if (app.signalings == NULL)
        {
          g_autofree char *value = g_key_file_get_string (config, "core", "signalings", NULL);
          g_auto(GStrv) parts = g_strsplit_set (value ? value : "local-broadcast", ",;", -1);
          g_autoptr(GPtrArray) names = g_ptr_array_new_null_terminated (4, g_free, TRUE);

          for (guint i = 0; parts[i] != NULL; i++)
            if (*g_strstrip (parts[i]) != '\0')
              g_ptr_array_add (names, g_strdup (parts[i]));
          if (!g_ptr_array_find_with_equal_func (names, "dht", g_str_equal, NULL))
            g_ptr_array_add (names, g_strdup ("dht"));
          ferry_engine_set_signalings (app.engine, (const char * const *) names->pdata);
        }
    }
  /* --turn replaces [turn] servers and --stun [ice] stun-server of
   * ferry.conf; without --transport they add turn and ice to its
   * transports. */
  if (app.turn_servers != NULL || app.stun_server != NULL)
    {
      GKeyFile *config = ferry_engine_get_config (app.engine);

      if (app.turn_servers != NULL)
        g_key_file_set_string_list (config, "turn", "servers",
                                    (const char * const *) app.turn_servers->pdata,
                                    app.turn_servers->len);
      if (app.stun_server != NULL)
        g_key_file_set_string (config, "ice", "stun-server", app.stun_server);
      if (app.transports == NULL)
        {
          g_autofree char *value = g_key_file_get_string (config, "core", "transports", NULL);
          g_auto(GStrv) parts = g_strsplit_set (value ? value : "lan", ",;", -1);
          g_autoptr(GPtrArray) names = g_ptr_array_new_null_terminated (4, g_free, TRUE);

          for (guint i = 0; parts[i] != NULL; i++)
            if (*g_strstrip (parts[i]) != '\0')
              g_ptr_array_add (names, g_strdup (parts[i]));
          if (app.stun_server != NULL && !g_ptr_array_find_with_equal_func (names, "ice", g_str_equal, NULL))
            g_ptr_array_add (names, g_strdup ("ice"));
          if (app.turn_servers != NULL && !g_ptr_array_find_with_equal_func (names, "turn", g_str_equal, NULL))
            g_ptr_array_add (names, g_strdup ("turn"));
          ferry_engine_set_transports (app.engine, (const char * const *) names->pdata);
        }
    }

  return EXIT_OK;
}

static int
start_engine (void)
{
  g_autoptr(GError) error = NULL;

  if (!ferry_engine_start (app.engine, &error))
    {
      if (app.json)
        emit_error_event (NULL, error);
      print_error (_("Cannot start: %s"), error->message);
      return EXIT_FAILED;
    }
  return EXIT_OK;
}

static void
emit_ready (void)
{
  FerryIdentity *identity = ferry_engine_get_identity (app.engine);
  GListModel *transports = ferry_engine_get_transports (app.engine);
  guint n = transports ? g_list_model_get_n_items (transports) : 0;

  if (app.json)
    {
      JsonBuilder *builder = json_begin ("ready");

      json_add_string (builder, "account", ferry_identity_get_account_id (identity));
      json_add_string (builder, "device", ferry_identity_get_device_id (identity));
      json_add_string (builder, "name", ferry_identity_get_name (identity));
      json_add_int (builder, "started_at_ms", app.start_real_us / 1000);
      json_add_int (builder, "pid", getpid ());
      if (app.download_dir != NULL)
        {
          g_autofree char *dir = file_to_utf8 (app.download_dir);
          json_add_string (builder, "dir", dir);
        }
      json_builder_set_member_name (builder, "transports");
      json_builder_begin_object (builder);
      for (guint i = 0; i < n; i++)
        {
          g_autoptr(FerryTransport) transport = g_list_model_get_item (transports, i);
          g_auto(GStrv) addresses = ferry_transport_dup_listen_addresses (transport);

          json_builder_set_member_name (builder, ferry_transport_get_name (transport));
          json_builder_begin_array (builder);
          for (guint j = 0; addresses != NULL && addresses[j] != NULL; j++)
            json_builder_add_string_value (builder, addresses[j]);
          json_builder_end_array (builder);
        }
      json_builder_end_object (builder);
      json_end (builder);
      return;
    }

  if (app.command != COMMAND_RECEIVE)
    return;

  g_print (_("Ready to receive as “%s”\n"), ferry_identity_get_name (identity));
  g_print (_("  account  %s\n"), ferry_identity_get_account_id (identity));
  g_print (_("  device   %s\n"), ferry_identity_get_device_id (identity));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(FerryTransport) transport = g_list_model_get_item (transports, i);
      g_auto(GStrv) addresses = ferry_transport_dup_listen_addresses (transport);
      g_autofree char *joined = NULL;

      if (addresses == NULL || addresses[0] == NULL)
        continue;
      joined = g_strjoinv (", ", addresses);
      g_print (_("  %s listens on %s\n"), ferry_transport_get_name (transport), joined);
    }
  {
    g_autofree char *dir = file_to_utf8 (app.download_dir);
    g_print (_("  files go to %s\n"), dir);
  }
  fflush (stdout);
}

/* Transfers: progress, offer, done {{{1 */

static const char *
transfer_title (Transfer  *tr,
                char     **to_free)
{
  GListModel *files = ferry_transfer_get_files (tr->transfer);
  guint n = g_list_model_get_n_items (files);

  if (n == 1)
    {
      g_autoptr(FerryTransferFile) file = g_list_model_get_item (files, 0);
      *to_free = g_strdup (ferry_transfer_file_get_name (file));
    }
  else
    *to_free = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u file", "%u files", n), n);
  return *to_free;
}

/* The engine's smoothed rate, or the average so far until it has one. */
static double
transfer_rate (Transfer *tr)
{
  double rate = ferry_transfer_get_rate (tr->transfer);
  gint64 now = g_get_monotonic_time ();

  if (rate <= 0 && tr->started_us != 0 && now > tr->started_us)
    rate = ferry_transfer_get_bytes (tr->transfer) * (double) G_USEC_PER_SEC / (now - tr->started_us);
  return rate;
}

static void
draw_bar (Transfer *tr,
          gboolean  final)
{
  guint64 bytes = ferry_transfer_get_bytes (tr->transfer);
  guint64 total = ferry_transfer_get_total_size (tr->transfer);
  double rate = transfer_rate (tr);
  g_autofree char *title_owned = NULL;
  g_autofree char *title = NULL;
  g_autofree char *rate_text = format_rate (rate);
  g_autofree char *eta = NULL;
  g_autofree char *line = NULL;
  char bar[21];
  guint percent = total > 0 ? (guint) (bytes * 100 / total) : 100;
  guint filled = percent / 5;
  glong len;

  transfer_title (tr, &title_owned);
  len = g_utf8_strlen (title_owned, -1);
  if (len > 24)
    {
      g_autofree char *cut = g_utf8_substring (title_owned, 0, 23);
      title = g_strconcat (cut, "…", NULL);
      len = 24;
    }
  else
    title = g_strdup (title_owned);

  for (guint i = 0; i < 20; i++)
    bar[i] = i < filled ? '#' : ' ';
  bar[20] = '\0';

  if (final)
    eta = g_strdup ("0:00");
  else if (rate > 0 && total >= bytes)
    eta = format_duration ((double) (total - bytes) / rate);
  else
    eta = g_strdup ("-:--");

  /* TRANSLATORS: the progress line: name, percentage, bar, rate, time left */
  line = g_strdup_printf (_("%s%*s %3u%%  [%s]  %s  ETA %s"),
                          title, (int) (24 - len), "", percent, bar, rate_text, eta);
  len = g_utf8_strlen (line, -1);
  g_printerr ("\r%s%*s", line, (int) (tr->bar_width > len ? tr->bar_width - len : 0), "");
  tr->bar_width = len;
  if (final)
    g_printerr ("\n");
  fflush (stderr);
}

static void
emit_progress (Transfer *tr)
{
  JsonBuilder *builder = json_begin ("progress");
  guint64 bytes = ferry_transfer_get_bytes (tr->transfer);

  json_add_string (builder, "transfer", ferry_transfer_get_id (tr->transfer));
  json_add_int (builder, "bytes", bytes);
  json_add_int (builder, "total", ferry_transfer_get_total_size (tr->transfer));
  json_builder_set_member_name (builder, "rate");
  json_builder_add_double_value (builder, transfer_rate (tr));
  json_end (builder);

  tr->progress_emitted = TRUE;
  tr->last_progress_bytes = bytes;
  tr->last_progress_us = g_get_monotonic_time ();
}

static void
on_transfer_bytes (FerryTransfer *transfer,
                   GParamSpec    *pspec,
                   Transfer      *tr)
{
  gint64 now = g_get_monotonic_time ();
  guint64 bytes = ferry_transfer_get_bytes (transfer);

  if (tr->started_us == 0 && bytes > 0)
    tr->started_us = now;

  if (app.json)
    {
      /* The first event, the first with data, then at most 10 a second. */
      if (!tr->progress_emitted ||
          (tr->last_progress_bytes == 0 && bytes > 0) ||
          now - tr->last_progress_us >= PROGRESS_INTERVAL_US)
        emit_progress (tr);
    }
  else if (app.progress_bar && now - tr->last_draw_us >= PROGRESS_INTERVAL_US)
    {
      tr->last_draw_us = now;
      draw_bar (tr, FALSE);
    }
}

static void
on_transfer_state (FerryTransfer *transfer,
                   GParamSpec    *pspec,
                   Transfer      *tr)
{
  if (tr->started_us == 0 &&
      ferry_transfer_get_state (transfer) == FERRY_TRANSFER_STATE_ONGOING)
    tr->started_us = g_get_monotonic_time ();
}

static Transfer *
transfer_new (FerryTransfer *transfer,
              GPtrArray     *sources)
{
  Transfer *tr = g_new0 (Transfer, 1);

  tr->transfer = g_object_ref (transfer);
  tr->sources = sources ? g_ptr_array_ref (sources) : NULL;
  tr->offered_us = g_get_monotonic_time ();
  tr->bytes_handler = g_signal_connect (transfer, "notify::bytes",
                                        G_CALLBACK (on_transfer_bytes), tr);
  tr->state_handler = g_signal_connect (transfer, "notify::state",
                                        G_CALLBACK (on_transfer_state), tr);
  if (ferry_transfer_get_state (transfer) == FERRY_TRANSFER_STATE_ONGOING)
    tr->started_us = tr->offered_us;
  g_ptr_array_add (app.transfers, tr);
  return tr;
}

static void
transfer_free (Transfer *tr)
{
  if (tr == NULL)
    return;
  g_clear_signal_handler (&tr->bytes_handler, tr->transfer);
  g_clear_signal_handler (&tr->state_handler, tr->transfer);
  g_clear_object (&tr->transfer);
  g_clear_pointer (&tr->sources, g_ptr_array_unref);
  g_free (tr);
}

static void
json_add_peer (JsonBuilder   *builder,
               FerryTransfer *transfer,
               FerryPeer     *peer)
{
  FerryDevice *device = ferry_transfer_get_device (transfer);

  json_builder_set_member_name (builder, "peer");
  json_builder_begin_object (builder);
  if (device != NULL)
    {
      json_add_string (builder, "account", ferry_device_get_account_id (device));
      json_add_string (builder, "device", ferry_device_get_device_id (device));
      json_add_string (builder, "name", peer ? ferry_peer_get_name (peer)
                                             : ferry_device_get_name (device));
    }
  else
    {
      json_add_string (builder, "account", peer ? ferry_peer_get_account_id (peer) : NULL);
      json_add_string (builder, "device", NULL);
      json_add_string (builder, "name", peer ? ferry_peer_get_name (peer) : NULL);
    }
  json_builder_end_object (builder);
}

static void
emit_offer (Transfer  *tr,
            FerryPeer *peer)
{
  FerryTransfer *transfer = tr->transfer;
  GListModel *files = ferry_transfer_get_files (transfer);
  guint n = g_list_model_get_n_items (files);
  JsonBuilder *builder = json_begin ("offer");
  gboolean incoming = ferry_transfer_get_direction (transfer) == FERRY_TRANSFER_DIRECTION_INCOMING;

  json_add_string (builder, "transfer", ferry_transfer_get_id (transfer));
  json_add_string (builder, "direction", incoming ? "incoming" : "outgoing");
  json_add_peer (builder, transfer, peer);
  json_builder_set_member_name (builder, "files");
  json_builder_begin_array (builder);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(FerryTransferFile) file = g_list_model_get_item (files, i);

      json_builder_begin_object (builder);
      json_add_string (builder, "name", ferry_transfer_file_get_name (file));
      json_add_int (builder, "size", ferry_transfer_file_get_size (file));
      json_add_string (builder, "mime", ferry_transfer_file_get_mime_type (file));
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  json_add_int (builder, "total", ferry_transfer_get_total_size (transfer));
  json_end (builder);
}

static char *
file_path_for (Transfer          *tr,
               FerryTransferFile *file,
               guint              index)
{
  GFile *location = NULL;

  if (tr->sources != NULL && index < tr->sources->len)
    location = g_ptr_array_index (tr->sources, index);
  else
    location = ferry_transfer_file_get_file (file);
  return location ? file_to_utf8 (location) : NULL;
}

static void
report_done (Transfer *tr)
{
  FerryTransfer *transfer = tr->transfer;
  GListModel *files = ferry_transfer_get_files (transfer);
  guint n = g_list_model_get_n_items (files);
  guint64 total = ferry_transfer_get_total_size (transfer);
  gint64 now = g_get_monotonic_time ();
  double seconds = (now - (tr->started_us ? tr->started_us : tr->offered_us)) / (double) G_USEC_PER_SEC;
  gboolean incoming = ferry_transfer_get_direction (transfer) == FERRY_TRANSFER_DIRECTION_INCOMING;
  const char *chain = ferry_transfer_get_chain (transfer);

  if (app.json)
    {
      JsonBuilder *builder;

      if (!tr->progress_emitted || tr->last_progress_bytes != ferry_transfer_get_bytes (transfer))
        emit_progress (tr);

      builder = json_begin ("done");
      json_add_string (builder, "transfer", ferry_transfer_get_id (transfer));
      json_add_string (builder, "direction", incoming ? "incoming" : "outgoing");
      json_builder_set_member_name (builder, "files");
      json_builder_begin_array (builder);
      for (guint i = 0; i < n; i++)
        {
          g_autoptr(FerryTransferFile) file = g_list_model_get_item (files, i);
          g_autofree char *path = file_path_for (tr, file, i);

          json_builder_begin_object (builder);
          json_add_string (builder, "name", ferry_transfer_file_get_name (file));
          json_add_string (builder, "path", path);
          json_add_int (builder, "size", ferry_transfer_file_get_size (file));
          json_add_string (builder, "sha3-256", ferry_transfer_file_get_sha3_256 (file));
          json_builder_end_object (builder);
        }
      json_builder_end_array (builder);
      json_add_int (builder, "total", total);
      json_add_int (builder, "duration_ms", (gint64) (seconds * 1000));
      json_add_string (builder, "chain", chain);
      json_end (builder);
      return;
    }

  if (app.progress_bar)
    draw_bar (tr, TRUE);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(FerryTransferFile) file = g_list_model_get_item (files, i);
      g_autofree char *path = file_path_for (tr, file, i);
      g_autofree char *size = g_format_size (ferry_transfer_file_get_size (file));

      g_print ("  %s  %s  sha3-256 %s\n", path ? path : ferry_transfer_file_get_name (file),
               size, ferry_transfer_file_get_sha3_256 (file));
    }

  {
    g_autofree char *size = g_format_size (total);
    g_autofree char *rate = format_rate (seconds > 0 ? total / seconds : 0);
    g_autofree char *count = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u file", "%u files", n), n);

    if (incoming)
      /* TRANSLATORS: “Received 3 files, 20.0 MB in 0.4 s (50.0 MB/s), verified sha3-256” */
      g_print (_("Received %s, %s in %.1f s (%s), verified sha3-256\n"), count, size, seconds, rate);
    else
      g_print (_("Sent %s, %s in %.1f s (%s), verified sha3-256\n"), count, size, seconds, rate);
    if (chain != NULL)
      g_print (_("Chain: %s\n"), chain);
  }
  fflush (stdout);
}

static void
report_failure (Transfer     *tr,
                const GError *error)
{
  if (app.progress_bar && !app.json && tr->bar_width > 0)
    g_printerr ("\n");
  if (tr->declined && g_error_matches (error, FERRY_ERROR, FERRY_ERROR_REJECTED))
    {
      /* Declined here: the reason was already given. */
      if (app.json)
        emit_error_event (tr->transfer, error);
      return;
    }
  report_error (tr->transfer, error, _("Transfer failed"));
}

/* receive {{{1 */

static void prompt_next (void);

static void
accept_transfer (Transfer *tr)
{
  ferry_transfer_accept (tr->transfer, app.download_dir);
}

static void
reject_transfer (Transfer   *tr,
                 const char *reason)
{
  tr->declined = TRUE;
  ferry_transfer_reject (tr->transfer, reason);
}

static char *
describe_sender (FerryTransfer *transfer)
{
  FerryDevice *device = ferry_transfer_get_device (transfer);
  const char *account = device ? ferry_device_get_account_id (device) : NULL;

  return g_strdup_printf ("%s (%.12s…)", device ? ferry_device_get_name (device) : "?",
                          account ? account : "?");
}

static void
on_prompt_line (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  Transfer *tr = app.prompting;

  line = g_data_input_stream_read_line_finish (G_DATA_INPUT_STREAM (source), result, NULL, &error);
  app.prompt_pending = FALSE;
  app.prompting = NULL;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      prompt_next ();
      return;
    }

  if (line == NULL)
    {
      /* End of input: nobody can answer any more. */
      app.stdin_closed = TRUE;
      if (tr != NULL)
        {
          g_printerr ("\n");
          print_error (_("No answer (end of input): rejected"));
          reject_transfer (tr, _("Nobody answered on the receiving device"));
        }
      prompt_next ();
      return;
    }

  if (tr != NULL)
    {
      char *answer = g_strstrip (line);

      if (g_ascii_strcasecmp (answer, "y") == 0 ||
          g_ascii_strcasecmp (answer, "yes") == 0 ||
          /* TRANSLATORS: the short and long “yes” answers to the [y/N] question */
          g_utf8_collate (answer, C_("answer", "y")) == 0 ||
          g_utf8_collate (answer, C_("answer", "yes")) == 0)
        accept_transfer (tr);
      else
        reject_transfer (tr, _("The receiver declined the files"));
    }

  prompt_next ();
}

static void
prompt_next (void)
{
  Transfer *tr;
  guint n;
  g_autofree char *size = NULL;
  g_autofree char *who = NULL;

  if (app.prompt_pending)
    return;

  tr = g_queue_pop_head (&app.prompts);
  if (tr == NULL)
    return;

  if (app.stdin_closed)
    {
      reject_transfer (tr, _("Nobody answered on the receiving device"));
      prompt_next ();
      return;
    }

  if (app.stdin_stream == NULL)
    {
      g_autoptr(GInputStream) base = g_unix_input_stream_new (STDIN_FILENO, FALSE);
      app.stdin_stream = g_data_input_stream_new (base);
    }

  n = g_list_model_get_n_items (ferry_transfer_get_files (tr->transfer));
  size = g_format_size (ferry_transfer_get_total_size (tr->transfer));
  who = describe_sender (tr->transfer);
  g_printerr (g_dngettext (GETTEXT_PACKAGE,
                           "Accept %u file, %s, from %s? [y/N] ",
                           "Accept %u files, %s, from %s? [y/N] ", n),
              n, size, who);
  fflush (stderr);

  g_clear_object (&app.prompt_cancellable);
  app.prompt_cancellable = g_cancellable_new ();
  app.prompting = tr;
  app.prompt_pending = TRUE;
  g_data_input_stream_read_line_async (app.stdin_stream, G_PRIORITY_DEFAULT,
                                       app.prompt_cancellable, on_prompt_line, NULL);
}

static void
receive_transfer_ended (Transfer *tr,
                        gboolean  finished)
{
  gboolean was_once = tr->transfer == app.once_transfer;

  if (app.prompting == tr)
    {
      app.prompting = NULL;
      g_printerr ("\n");
      if (!app.quitting)
        g_printerr (_("The offer was withdrawn.\n"));
      g_cancellable_cancel (app.prompt_cancellable);
    }
  g_queue_remove (&app.prompts, tr);
  g_ptr_array_remove (app.transfers, tr);

  if (app.quitting)
    {
      if (app.transfers->len == 0)
        app_quit (app.exit_code);
    }
  else if (was_once)
    app_quit (finished ? EXIT_OK : EXIT_FAILED);
}

static gboolean all_subs_done (void);
static gboolean on_linger_timeout (gpointer user_data);

/* After a send to an account is done, how long the devices that did not
 * start receiving yet still have to accept. */
#define SEND_LINGER_S 10

static void
on_transfer_waited (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  Transfer *tr = user_data;
  g_autoptr(GError) error = NULL;
  gboolean finished;

  finished = ferry_transfer_wait_finish (FERRY_TRANSFER (source), result, &error);
  if (finished)
    report_done (tr);
  else
    {
      if (error == NULL)
        g_set_error_literal (&error, FERRY_ERROR, FERRY_ERROR_FAILED, _("The transfer did not finish"));
      report_failure (tr, error);
    }

  if (app.command == COMMAND_RECEIVE)
    receive_transfer_ended (tr, finished);
  else
    {
      int code = finished && !app.quitting ? EXIT_OK : EXIT_FAILED;

      if (app.sending == tr)
        app.sending = NULL;
      g_ptr_array_remove (app.transfers, tr);
      /* The other devices of the account may still be receiving: those
       * that are get to finish; those that did not start yet get a while
       * to do so. */
      app.send_code = code;
      app.send_reported = TRUE;
      if (all_subs_done () || app.quitting)
        app_quit (code);
      else
        app.linger_id = g_timeout_add_seconds (SEND_LINGER_S, on_linger_timeout, NULL);
    }
}

static void
on_transfer_requested (FerryEngine   *engine,
                       FerryTransfer *transfer,
                       gpointer       user_data)
{
  Transfer *tr = transfer_new (transfer, NULL);
  FerryDevice *device = ferry_transfer_get_device (transfer);
  g_autofree char *who = describe_sender (transfer);

  if (app.json)
    emit_offer (tr, NULL);

  ferry_transfer_wait_async (transfer, NULL, on_transfer_waited, tr);

  if (app.quitting)
    {
      reject_transfer (tr, _("The receiver is shutting down"));
      return;
    }

  if (app.once)
    {
      if (app.once_transfer != NULL)
        {
          print_error (_("Rejected files from %s: busy with another transfer (--once)"), who);
          reject_transfer (tr, _("The receiver is busy"));
          return;
        }
      app.once_transfer = transfer;
    }

  if (app.yes)
    accept_transfer (tr);
  else if (app.accept_from != NULL)
    {
      gboolean allowed = FALSE;

      for (guint i = 0; device != NULL && app.accept_from[i] != NULL; i++)
        if (id_has_prefix (ferry_device_get_account_id (device), app.accept_from[i]) ||
            id_has_prefix (ferry_device_get_device_id (device), app.accept_from[i]))
          allowed = TRUE;

      if (allowed)
        accept_transfer (tr);
      else
        {
          print_error (_("Rejected files from %s: not in --accept-from"), who);
          reject_transfer (tr, _("The receiver does not accept files from this device"));
        }
    }
  else if (isatty (STDIN_FILENO) && !app.stdin_closed)
    {
      g_queue_push_tail (&app.prompts, tr);
      prompt_next ();
    }
  else
    {
      print_error (_("Rejected files from %s: nobody can answer on a terminal; "
                     "use --yes or --accept-from ID to accept files"), who);
      reject_transfer (tr, _("The receiver is not accepting files"));
    }
}

static char *
expand_home (const char *path)
{
  if (path[0] == '~' && (path[1] == '/' || path[1] == '\0'))
    return g_build_filename (g_get_home_dir (), path + 1, NULL);
  return g_strdup (path);
}

static gboolean
resolve_download_dir (GError **error)
{
  g_autofree char *dir = NULL;
  g_autofree char *absolute = NULL;

  if (app.dir != NULL)
    dir = g_strdup (app.dir);

  if (dir == NULL)
    {
      GKeyFile *config = ferry_engine_get_config (app.engine);
      g_autofree char *value = NULL;

      if (config != NULL)
        value = g_key_file_get_string (config, "core", "download-dir", NULL);
      if (value != NULL && value[0] != '\0')
        dir = expand_home (value);
    }

  if (dir == NULL)
    {
      const char *special = g_get_user_special_dir (G_USER_DIRECTORY_DOWNLOAD);

      if (special != NULL && g_strcmp0 (special, g_get_home_dir ()) != 0)
        dir = g_strdup (special);
      else
        dir = g_build_filename (g_get_home_dir (), "Downloads", NULL);
    }

  absolute = g_canonicalize_filename (dir, NULL);

  if (g_mkdir_with_parents (absolute, 0755) != 0)
    {
      int saved_errno = errno;
      g_autofree char *display = g_filename_display_name (absolute);

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _("Cannot create the download folder %s: %s"), display,
                   g_strerror (saved_errno));
      return FALSE;
    }
  if (!g_file_test (absolute, G_FILE_TEST_IS_DIR) || access (absolute, W_OK | X_OK) != 0)
    {
      g_autofree char *display = g_filename_display_name (absolute);

      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_DIRECTORY,
                   _("The download folder %s is not a writable directory"), display);
      return FALSE;
    }

  app.download_dir = g_file_new_for_path (absolute);
  return TRUE;
}

static int
run_receive (void)
{
  g_autoptr(GError) error = NULL;
  int code;

  if ((code = open_engine ()) != EXIT_OK)
    return code;

  if (!resolve_download_dir (&error))
    {
      report_error (NULL, error, NULL);
      return EXIT_FAILED;
    }

  g_signal_connect (app.engine, "transfer-requested", G_CALLBACK (on_transfer_requested), NULL);
  install_signal_handlers ();

  if ((code = start_engine ()) != EXIT_OK)
    return code;

  emit_ready ();

  app.exit_code = EXIT_OK;
  if (!app.quitting)
    g_main_loop_run (app.loop);
  return app.exit_code;
}

/* send {{{1 */

/* Fan-out: one line or JSON event per receiving device. */
typedef struct {
  FerryTransfer      *sub;
  FerryTransferState  last_state;
  gint64              last_progress_us;
} SubWatch;

static void
sub_watch_free (gpointer data)
{
  SubWatch *watch = data;

  g_signal_handlers_disconnect_by_data (watch->sub, watch);
  g_object_unref (watch->sub);
  g_free (watch);
}

static const char *
state_nick (FerryTransferState state)
{
  GEnumClass *klass = g_type_class_ref (FERRY_TYPE_TRANSFER_STATE);
  GEnumValue *value = g_enum_get_value (klass, state);
  const char *nick = value ? value->value_nick : "unknown";

  /* Static enum type: the nick stays valid after the unref. */
  g_type_class_unref (klass);
  return nick;
}

static void
emit_device_event (SubWatch   *watch,
                   const char *event)
{
  FerryTransfer *sub = watch->sub;
  FerryDevice *device = ferry_transfer_get_device (sub);
  const GError *error = ferry_transfer_get_error (sub);
  FerryTransferState state = ferry_transfer_get_state (sub);
  JsonBuilder *builder = json_begin (event);

  json_add_string (builder, "transfer", app.sending_id);
  json_add_string (builder, "device", ferry_device_get_device_id (device));
  json_add_string (builder, "name", ferry_device_get_name (device));
  json_add_string (builder, "sub_transfer", ferry_transfer_get_id (sub));
  json_add_string (builder, "state", state_nick (state));
  json_add_int (builder, "bytes", ferry_transfer_get_bytes (sub));
  json_add_int (builder, "total", ferry_transfer_get_total_size (sub));
  if (ferry_transfer_get_chain (sub) != NULL)
    json_add_string (builder, "chain", ferry_transfer_get_chain (sub));
  if (ferry_transfer_is_done (sub) && state != FERRY_TRANSFER_STATE_FINISHED)
    {
      json_add_string (builder, "code", error_code (error));
      json_add_string (builder, "message", error ? error->message : _("Failed"));
    }
  json_end (builder);
}

static void
print_device_line (SubWatch *watch)
{
  FerryTransfer *sub = watch->sub;
  FerryDevice *device = ferry_transfer_get_device (sub);
  const GError *error = ferry_transfer_get_error (sub);
  FerryTransferState state = ferry_transfer_get_state (sub);
  g_autofree char *size = g_format_size (ferry_transfer_get_bytes (sub));
  g_autofree char *text = NULL;

  if (state == FERRY_TRANSFER_STATE_FINISHED)
    text = g_strdup_printf (_("finished, %s verified"), size);
  else if (ferry_transfer_is_done (sub))
    text = g_strdup_printf ("%s (%s): %s", state_nick (state), size,
                            error ? error->message : _("Failed"));
  else
    text = g_strdup (state_nick (state));

  if (app.progress_bar && app.sending != NULL && app.sending->bar_width > 0)
    {
      g_printerr ("\r%*s\r", (int) app.sending->bar_width, "");
      app.sending->bar_width = 0;
    }
  /* TRANSLATORS: one receiving device: name, short device id, what happened */
  g_printerr (_("  device %s (%.12s): %s\n"), ferry_device_get_name (device),
              ferry_device_get_device_id (device), text);
}

static gboolean
all_subs_done (void)
{
  for (guint i = 0; app.subs != NULL && i < app.subs->len; i++)
    if (!ferry_transfer_is_done (((SubWatch *) g_ptr_array_index (app.subs, i))->sub))
      return FALSE;
  return TRUE;
}

static gboolean
on_linger_timeout (gpointer user_data)
{
  g_autoptr(GPtrArray) waiting = g_ptr_array_new_with_free_func (g_object_unref);

  app.linger_id = 0;
  for (guint i = 0; app.subs != NULL && i < app.subs->len; i++)
    {
      FerryTransfer *sub = ((SubWatch *) g_ptr_array_index (app.subs, i))->sub;

      if (!ferry_transfer_is_done (sub) && ferry_transfer_get_state (sub) != FERRY_TRANSFER_STATE_ONGOING)
        g_ptr_array_add (waiting, g_object_ref (sub));
    }
  for (guint i = 0; i < waiting->len; i++)
    ferry_transfer_cancel (g_ptr_array_index (waiting, i), _("the sender is leaving"));
  if (all_subs_done ())
    app_quit (app.send_code);
  return G_SOURCE_REMOVE;
}

static void
on_sub_state (FerryTransfer *sub,
              GParamSpec    *pspec,
              SubWatch      *watch)
{
  FerryTransferState state = ferry_transfer_get_state (sub);

  if (state == watch->last_state)
    return;
  watch->last_state = state;
  if (app.json)
    emit_device_event (watch, "device");
  else if (app.verbose)
    print_device_line (watch);

  if (app.send_reported && all_subs_done ())
    app_quit (app.send_code);
}

static void
on_sub_bytes (FerryTransfer *sub,
              GParamSpec    *pspec,
              SubWatch      *watch)
{
  gint64 now = g_get_monotonic_time ();

  if (!app.json || !app.verbose)
    return;
  if (now - watch->last_progress_us < PROGRESS_INTERVAL_US &&
      ferry_transfer_get_bytes (sub) != ferry_transfer_get_total_size (sub))
    return;
  watch->last_progress_us = now;
  emit_device_event (watch, "progress");
}

static void
watch_subs (FerryTransfer *transfer)
{
  GListModel *subs = ferry_transfer_get_sub_transfers (transfer);

  for (guint i = app.subs->len; i < g_list_model_get_n_items (subs); i++)
    {
      SubWatch *watch = g_new0 (SubWatch, 1);

      watch->sub = g_list_model_get_item (subs, i);
      watch->last_state = ferry_transfer_get_state (watch->sub);
      g_ptr_array_add (app.subs, watch);
      g_signal_connect (watch->sub, "notify::state", G_CALLBACK (on_sub_state), watch);
      g_signal_connect (watch->sub, "notify::bytes", G_CALLBACK (on_sub_bytes), watch);
      if (watch->last_state == FERRY_TRANSFER_STATE_CREATED)
        continue;
      if (app.json)
        emit_device_event (watch, "device");
      else if (app.verbose)
        print_device_line (watch);
    }
}

static void
on_subs_changed (GListModel *subs,
                 guint       position,
                 guint       removed,
                 guint       added,
                 gpointer    user_data)
{
  watch_subs (FERRY_TRANSFER (user_data));
}

/* A --to that names one device (a prefix of its id, not of the account's):
 * that device only. */
static FerryDevice *
device_target (FerryPeer *peer)
{
  GListModel *devices = ferry_peer_get_devices (peer);
  FerryDevice *found = NULL;

  if (!is_hex_id (app.to) || id_has_prefix (ferry_peer_get_account_id (peer), app.to))
    return NULL;
  for (guint i = 0; i < g_list_model_get_n_items (devices); i++)
    {
      g_autoptr(FerryDevice) device = g_list_model_get_item (devices, i);

      if (id_has_prefix (ferry_device_get_device_id (device), app.to))
        {
          g_clear_object (&found);
          found = g_steal_pointer (&device);
        }
    }
  return found;
}

static void
on_peer_found (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FerryPeer) peer = NULL;
  g_autoptr(FerryTransfer) transfer = NULL;
  Transfer *tr;

  app.finding = FALSE;
  peer = ferry_engine_find_peer_finish (FERRY_ENGINE (source), result, &error);
  if (peer == NULL)
    {
      report_error (NULL, error, NULL);
      app_quit (EXIT_FAILED);
      return;
    }
  if (app.quitting)
    {
      app_quit (app.exit_code);
      return;
    }

  {
    g_autoptr(FerryDevice) device = device_target (peer);

    if (device != NULL)
      transfer = ferry_engine_send_to_device (app.engine, device, (GFile **) app.files->pdata,
                                              app.files->len, &error);
    else
      transfer = ferry_engine_send (app.engine, peer, (GFile **) app.files->pdata,
                                    app.files->len, &error);
  }
  if (transfer == NULL)
    {
      report_error (NULL, error, _("Cannot send"));
      app_quit (EXIT_FAILED);
      return;
    }

  tr = transfer_new (transfer, app.files);
  app.sending = tr;
  app.sending_id = g_strdup (ferry_transfer_get_id (transfer));
  if (app.json)
    emit_offer (tr, peer);
  else if (app.progress_bar)
    {
      g_autofree char *size = g_format_size (ferry_transfer_get_total_size (transfer));
      g_printerr (_("Sending %s to %s…\n"), size, ferry_peer_get_name (peer));
    }
  app.subs = g_ptr_array_new_with_free_func (sub_watch_free);
  watch_subs (transfer);
  g_signal_connect_object (ferry_transfer_get_sub_transfers (transfer), "items-changed",
                           G_CALLBACK (on_subs_changed), transfer, 0);
  ferry_transfer_wait_async (transfer, NULL, on_transfer_waited, tr);
}

static int
check_files (void)
{
  app.files = g_ptr_array_new_null_terminated (0, g_object_unref, TRUE);

  for (guint i = 0; app.file_args != NULL && app.file_args[i] != NULL; i++)
    {
      g_autoptr(GFile) file = g_file_new_for_commandline_arg (app.file_args[i]);
      g_autoptr(GFileInfo) info = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *display = g_filename_display_name (app.file_args[i]);

      info = g_file_query_info (file,
                                G_FILE_ATTRIBUTE_STANDARD_TYPE ","
                                G_FILE_ATTRIBUTE_ACCESS_CAN_READ,
                                G_FILE_QUERY_INFO_NONE, NULL, &error);
      if (info == NULL)
        {
          print_error (_("Cannot send %s: %s"), display, error->message);
          return EXIT_USAGE;
        }
      if (g_file_info_get_file_type (info) != G_FILE_TYPE_REGULAR)
        {
          print_error (_("Cannot send %s: not a regular file"), display);
          return EXIT_USAGE;
        }
      if (g_file_info_has_attribute (info, G_FILE_ATTRIBUTE_ACCESS_CAN_READ) &&
          !g_file_info_get_attribute_boolean (info, G_FILE_ATTRIBUTE_ACCESS_CAN_READ))
        {
          print_error (_("Cannot send %s: permission denied"), display);
          return EXIT_USAGE;
        }
      g_ptr_array_add (app.files, g_steal_pointer (&file));
    }

  return EXIT_OK;
}

static int
run_send (void)
{
  int code;

  if ((code = open_engine ()) != EXIT_OK)
    return code;

  install_signal_handlers ();

  if ((code = start_engine ()) != EXIT_OK)
    return code;

  emit_ready ();

  app.find_cancellable = g_cancellable_new ();
  app.finding = TRUE;
  ferry_engine_find_peer_async (app.engine, app.to, (guint) (app.timeout * 1000),
                                app.find_cancellable, on_peer_found, NULL);

  app.exit_code = EXIT_FAILED;
  g_main_loop_run (app.loop);
  return app.exit_code;
}

/* history {{{1 */

static void
print_record (JsonObject *record)
{
  JsonNode *files_node = json_object_get_member (record, "files");
  JsonArray *files = files_node && JSON_NODE_HOLDS_ARRAY (files_node) ? json_node_get_array (files_node) : NULL;
  JsonNode *peer_node = json_object_get_member (record, "peer");
  JsonObject *peer = peer_node && JSON_NODE_HOLDS_OBJECT (peer_node) ? json_node_get_object (peer_node) : NULL;
  JsonNode *devices_node = json_object_get_member (record, "devices");
  JsonNode *error_node = json_object_get_member (record, "error");
  gboolean incoming = g_strcmp0 (json_object_get_string_member_with_default (record, "direction", ""),
                                 "incoming") == 0;
  g_autoptr(GDateTime) when = g_date_time_new_from_unix_local (json_object_get_int_member_with_default (record, "created", 0) / 1000);
  g_autofree char *date = when ? g_date_time_format (when, "%Y-%m-%d %H:%M:%S") : g_strdup ("?");
  g_autofree char *total = g_format_size (json_object_get_int_member_with_default (record, "total", 0));
  g_autofree char *moved = g_format_size (json_object_get_int_member_with_default (record, "moved", 0));
  const char *account = peer ? json_object_get_string_member_with_default (peer, "account", "") : "";

  g_print ("%s  %s  %s %s  %s (%.12s)  %s, %s moved\n", date,
           json_object_get_string_member_with_default (record, "id", "?"),
           incoming ? _("from") : _("to"),
           json_object_get_string_member_with_default (record, "state", "?"),
           peer ? json_object_get_string_member_with_default (peer, "name", "?") : "?",
           account ? account : "", total, moved);
  if (error_node != NULL && JSON_NODE_HOLDS_OBJECT (error_node))
    g_print ("    %s\n", json_object_get_string_member_with_default (json_node_get_object (error_node),
                                                                      "message", ""));
  for (guint i = 0; files != NULL && i < json_array_get_length (files); i++)
    {
      JsonNode *node = json_array_get_element (files, i);
      JsonObject *file;
      g_autofree char *size = NULL;
      const char *part;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;
      file = json_node_get_object (node);
      size = g_format_size (json_object_get_int_member_with_default (file, "size", 0));
      part = json_object_get_string_member_with_default (file, "part", NULL);
      g_print ("    %s  %s  sha3-256 %s", json_object_get_string_member_with_default (file, "path",
                 json_object_get_string_member_with_default (file, "name", "?")),
               size, json_object_get_string_member_with_default (file, "sha3-256", "-"));
      if (part != NULL)
        {
          g_autofree char *have = g_format_size (json_object_get_int_member_with_default (file, "part-bytes", 0));

          g_print (_("  (kept %s: %s)"), part, have);
        }
      g_print ("\n");
    }
  if (devices_node != NULL && JSON_NODE_HOLDS_ARRAY (devices_node))
    {
      JsonArray *devices = json_node_get_array (devices_node);

      for (guint i = 0; i < json_array_get_length (devices); i++)
        {
          JsonNode *node = json_array_get_element (devices, i);
          JsonObject *device;

          if (!JSON_NODE_HOLDS_OBJECT (node))
            continue;
          device = json_node_get_object (node);
          g_print (_("    device %s (%.12s): %s, transfer %s\n"),
                   json_object_get_string_member_with_default (device, "name", "?"),
                   json_object_get_string_member_with_default (device, "device", ""),
                   json_object_get_string_member_with_default (device, "state", "?"),
                   json_object_get_string_member_with_default (device, "transfer", "?"));
        }
    }
}

static int
run_history (void)
{
  g_autoptr(JsonArray) records = NULL;
  int code;

  if ((code = open_engine ()) != EXIT_OK)
    return code;

  records = ferry_engine_get_history (app.engine);
  for (guint i = 0; i < json_array_get_length (records); i++)
    {
      JsonObject *record = json_array_get_object_element (records, i);

      if (app.json)
        {
          g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), record);
          g_autofree char *text = json_to_string (node, FALSE);

          g_print ("%s\n", text);
        }
      else
        print_record (record);
    }
  if (!app.json && json_array_get_length (records) == 0)
    g_print (_("No transfer yet.\n"));
  return EXIT_OK;
}

/* fetch {{{1 */

static void start_fetch (void);

static void
on_fetch_waited (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Transfer *tr = user_data;
  g_autoptr(GError) error = NULL;
  gboolean finished;

  finished = ferry_transfer_wait_finish (FERRY_TRANSFER (source), result, &error);
  if (finished)
    report_done (tr);
  else
    {
      if (error == NULL)
        g_set_error_literal (&error, FERRY_ERROR, FERRY_ERROR_FAILED, _("The transfer did not finish"));
      report_failure (tr, error);
    }
  g_ptr_array_remove (app.transfers, tr);

  /* A resumed .part that does not match was discarded: once more, whole. */
  if (!finished && !app.quitting && app.fetch_attempts < 2 &&
      g_error_matches (error, FERRY_ERROR, FERRY_ERROR_HASH_MISMATCH))
    {
      if (!app.json)
        g_printerr (_("Fetching it again from the start…\n"));
      start_fetch ();
      return;
    }
  app_quit (finished && !app.quitting ? EXIT_OK : EXIT_FAILED);
}

static void
on_fetched (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FerryTransfer) transfer = NULL;
  Transfer *tr;

  app.finding = FALSE;
  transfer = ferry_engine_fetch_finish (FERRY_ENGINE (source), result, &error);
  if (transfer == NULL)
    {
      report_error (NULL, error, _("Cannot fetch"));
      app_quit (EXIT_FAILED);
      return;
    }
  tr = transfer_new (transfer, NULL);
  if (app.json)
    emit_offer (tr, NULL);
  else if (app.progress_bar)
    {
      g_autofree char *size = g_format_size (ferry_transfer_get_total_size (transfer));
      g_printerr (_("Fetching %s again…\n"), size);
    }
  if (app.quitting)
    ferry_transfer_cancel (transfer, _("interrupted by the user"));
  ferry_transfer_wait_async (transfer, NULL, on_fetch_waited, tr);
}

static void
start_fetch (void)
{
  app.fetch_attempts++;
  app.finding = TRUE;
  ferry_engine_fetch_async (app.engine, app.fetch_id, (guint) (app.timeout * 1000),
                            app.find_cancellable, on_fetched, NULL);
}

static int
run_fetch (void)
{
  int code;

  if ((code = open_engine ()) != EXIT_OK)
    return code;
  install_signal_handlers ();
  if ((code = start_engine ()) != EXIT_OK)
    return code;
  emit_ready ();

  app.find_cancellable = g_cancellable_new ();
  start_fetch ();
  app.exit_code = EXIT_FAILED;
  g_main_loop_run (app.loop);
  return app.exit_code;
}

/* peers {{{1 */

static gboolean
on_peers_timeout (gpointer user_data)
{
  app_quit (EXIT_OK);
  return G_SOURCE_REMOVE;
}

static int
run_peers (void)
{
  GListModel *peers;
  guint n_peers, n_devices = 0;
  int code;

  if ((code = open_engine ()) != EXIT_OK)
    return code;
  install_signal_handlers ();
  if ((code = start_engine ()) != EXIT_OK)
    return code;

  g_timeout_add ((guint) (app.timeout * 1000), on_peers_timeout, NULL);
  app.exit_code = EXIT_OK;
  g_main_loop_run (app.loop);

  peers = ferry_engine_get_peers (app.engine);
  n_peers = g_list_model_get_n_items (peers);
  for (guint i = 0; i < n_peers; i++)
    {
      g_autoptr(FerryPeer) peer = g_list_model_get_item (peers, i);
      GListModel *devices = ferry_peer_get_devices (peer);
      guint n = g_list_model_get_n_items (devices);

      if (!app.json)
        g_print ("%s\n  %s  %s\n", ferry_peer_get_name (peer), _("account"),
                 ferry_peer_get_account_id (peer));

      for (guint j = 0; j < n; j++)
        {
          g_autoptr(FerryDevice) device = g_list_model_get_item (devices, j);

          n_devices++;
          if (app.json)
            {
              JsonBuilder *builder = json_begin (NULL);

              json_add_string (builder, "account", ferry_device_get_account_id (device));
              json_add_string (builder, "device", ferry_device_get_device_id (device));
              json_add_string (builder, "name", ferry_device_get_name (device));
              json_add_string (builder, "signaling", ferry_device_get_signaling (device));
              json_add_int (builder, "seen_ms_ago",
                            (g_get_monotonic_time () - ferry_device_get_last_seen (device)) / 1000);
              json_end (builder);
            }
          else
            g_print (_("  device   %s  “%s” via %s\n"), ferry_device_get_device_id (device),
                     ferry_device_get_name (device), ferry_device_get_signaling (device));
        }
    }

  if (!app.json && n_devices == 0)
    g_printerr (_("No device found.\n"));

  return app.exit_code;
}

/* plugins {{{1 */

static const char *
feature_kind (FerryFeature *feature)
{
  GType type = ferry_feature_get_gtype (feature);

  if (g_type_is_a (type, FERRY_TYPE_TRANSPORT))
    return "transport";
  if (g_type_is_a (type, FERRY_TYPE_SIGNALING))
    return "signaling";
  return "other";
}

static int
run_plugins (void)
{
  GListModel *plugins;
  guint n;
  int code;

  if ((code = open_engine ()) != EXIT_OK)
    return code;

  plugins = G_LIST_MODEL (ferry_engine_get_registry (app.engine));
  n = g_list_model_get_n_items (plugins);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(FerryPlugin) plugin = g_list_model_get_item (plugins, i);
      GListModel *features = ferry_plugin_get_features (plugin);
      guint n_features = features ? g_list_model_get_n_items (features) : 0;
      const GError *error = ferry_plugin_get_error (plugin);

      if (app.json)
        {
          JsonBuilder *builder = json_begin (NULL);

          json_add_string (builder, "name", ferry_plugin_get_name (plugin));
          json_add_string (builder, "version", ferry_plugin_get_version (plugin));
          json_add_string (builder, "description", ferry_plugin_get_description (plugin));
          json_add_string (builder, "license", ferry_plugin_get_license (plugin));
          json_add_string (builder, "filename", ferry_plugin_get_filename (plugin));
          json_builder_set_member_name (builder, "features");
          json_builder_begin_array (builder);
          for (guint j = 0; j < n_features; j++)
            {
              g_autoptr(FerryFeature) feature = g_list_model_get_item (features, j);

              g_autoptr(GError) check_error = NULL;
              gboolean active = ferry_engine_check_feature (app.engine, feature, &check_error);

              json_builder_begin_object (builder);
              json_add_string (builder, "name", ferry_feature_get_name (feature));
              json_add_string (builder, "kind", feature_kind (feature));
              json_add_int (builder, "rank", ferry_feature_get_rank (feature));
              json_builder_set_member_name (builder, "active");
              json_builder_add_boolean_value (builder, active);
              json_add_string (builder, "inactive_reason", active ? NULL : check_error->message);
              json_builder_end_object (builder);
            }
          json_builder_end_array (builder);
          json_add_string (builder, "error", error ? error->message : NULL);
          json_end (builder);
          continue;
        }

      {
        const char *name = ferry_plugin_get_name (plugin);
        const char *filename = ferry_plugin_get_filename (plugin);
        g_autofree char *basename = filename ? g_path_get_basename (filename) : NULL;
        const char *version = ferry_plugin_get_version (plugin);
        const char *description = ferry_plugin_get_description (plugin);

        g_print ("%s%s%s%s%s\n", name ? name : (basename ? basename : "?"),
                 version ? " " : "", version ? version : "",
                 description ? ": " : "", description ? description : "");
        if (filename != NULL)
          g_print (_("  file       %s\n"), filename);
        for (guint j = 0; j < n_features; j++)
          {
            g_autoptr(FerryFeature) feature = g_list_model_get_item (features, j);
            g_autoptr(GError) check_error = NULL;

            /* TRANSLATORS: a plugin feature: kind, name, rank */
            g_print (_("  %-10s %s, rank %u\n"), feature_kind (feature),
                     ferry_feature_get_name (feature), ferry_feature_get_rank (feature));
            /* Whether its configuration lets it work (e.g. a server is set). */
            if (!ferry_engine_check_feature (app.engine, feature, &check_error))
              g_print (_("  %-10s inactive: %s\n"), "", check_error->message);
          }
        if (error != NULL)
          g_print (_("  not loaded: %s\n"), error->message);
      }
    }

  if (!app.json && n == 0)
    g_printerr (_("No plugin found.\n"));

  fflush (stdout);
  return EXIT_OK;
}

/* id {{{1 */

static int
run_id (void)
{
  FerryIdentity *identity;
  g_autoptr(GPtrArray) devices = NULL;
  int code;

  if (app.engine == NULL && (code = open_engine ()) != EXIT_OK)
    return code;

  identity = ferry_engine_get_identity (app.engine);
  devices = ferry_account_list_devices (ferry_engine_get_home (app.engine));
  if (app.json)
    {
      JsonBuilder *builder = json_begin (NULL);

      json_add_string (builder, "account", ferry_identity_get_account_id (identity));
      json_add_string (builder, "device", ferry_identity_get_device_id (identity));
      json_add_string (builder, "name", ferry_identity_get_name (identity));
      json_builder_set_member_name (builder, "devices");
      json_builder_begin_array (builder);
      for (guint i = 0; i < devices->len; i++)
        {
          JsonObject *entry = g_ptr_array_index (devices, i);
          g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), entry);

          if (json_object_get_boolean_member (entry, "this"))
            json_object_set_string_member (entry, "name", ferry_identity_get_name (identity));
          json_builder_add_value (builder, g_steal_pointer (&node));
        }
      json_builder_end_array (builder);
      json_end (builder);
    }
  else
    {
      g_print (_("account  %s\n"), ferry_identity_get_account_id (identity));
      g_print (_("device   %s\n"), ferry_identity_get_device_id (identity));
      g_print (_("name     %s\n"), ferry_identity_get_name (identity));
      g_print (_("devices of this account:\n"));
      for (guint i = 0; i < devices->len; i++)
        {
          JsonObject *entry = g_ptr_array_index (devices, i);
          gboolean this = json_object_get_boolean_member (entry, "this");
          gint64 seen = json_object_get_int_member (entry, "last-seen");
          g_autoptr(GDateTime) when = seen > 0 ? g_date_time_new_from_unix_local (seen / 1000) : NULL;
          g_autofree char *date = when ? g_date_time_format (when, "%Y-%m-%d %H:%M") : g_strdup ("-");

          g_print ("  %s  %-16s  %s%s%s\n", json_object_get_string_member (entry, "device"),
                   this ? ferry_identity_get_name (identity) : json_object_get_string_member (entry, "name"),
                   this ? _("this device") : date,
                   json_object_get_boolean_member (entry, "revoked") ? "  " : "",
                   json_object_get_boolean_member (entry, "revoked") ? _("REVOKED") : "");
        }
    }
  fflush (stdout);
  return EXIT_OK;
}

/* account, device {{{1 */

/* The home directory, resolved as the engine does, without creating an
 * identity in it. */
static char *
resolve_home (void)
{
  const char *env = g_getenv ("FERRY_HOME");

  if (app.home != NULL)
    return g_strdup (app.home);
  if (env != NULL && env[0] != '\0')
    return g_strdup (env);
  return g_build_filename (g_get_user_data_dir (), "ferry", NULL);
}

/* From --passphrase-file (its first line), or asked on the terminal. */
static char *
read_passphrase (gboolean   twice,
                 GError   **error)
{
  g_autofree char *first = NULL;

  if (app.passphrase_file != NULL)
    {
      g_autofree char *contents = NULL;
      char *end;

      if (!g_file_get_contents (app.passphrase_file, &contents, NULL, error))
        return NULL;
      end = strchr (contents, '\n');
      if (end != NULL)
        *end = '\0';
      return g_steal_pointer (&contents);
    }

  for (guint round = 0; round < (twice ? 2u : 1u); round++)
    {
      FILE *tty = fopen ("/dev/tty", "r+");
      struct termios saved, quiet;
      char line[1024];
      gboolean got;

      if (tty == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                       _("No terminal to ask for the passphrase: use --passphrase-file"));
          return NULL;
        }
      fputs (round == 0 ? _("Passphrase: ") : _("Again: "), tty);
      fflush (tty);
      tcgetattr (fileno (tty), &saved);
      quiet = saved;
      quiet.c_lflag &= ~(tcflag_t) ECHO;
      tcsetattr (fileno (tty), TCSAFLUSH, &quiet);
      got = fgets (line, sizeof line, tty) != NULL;
      tcsetattr (fileno (tty), TCSAFLUSH, &saved);
      fputs ("\n", tty);
      fclose (tty);
      if (!got)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, _("No passphrase given"));
          return NULL;
        }
      line[strcspn (line, "\n")] = '\0';
      if (round == 0)
        first = g_strdup (line);
      else if (!g_str_equal (first, line))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, _("The passphrases differ"));
          return NULL;
        }
      memset (line, 0, sizeof line);
    }
  return g_steal_pointer (&first);
}

static int
run_account (void)
{
  g_autofree char *home = resolve_home ();
  g_autofree char *passphrase = NULL;
  g_autoptr(GError) error = NULL;
  const char *file = app.rest_args[0];
  gboolean ok;

  passphrase = read_passphrase (app.command == COMMAND_ACCOUNT_EXPORT, &error);
  if (passphrase == NULL)
    {
      report_error (NULL, error, NULL);
      return EXIT_FAILED;
    }
  if (app.command == COMMAND_ACCOUNT_EXPORT)
    ok = ferry_account_export (home, file, passphrase, &error);
  else
    ok = ferry_account_import (home, file, passphrase, &error);
  memset (passphrase, 0, strlen (passphrase));
  if (!ok)
    {
      report_error (NULL, error, app.command == COMMAND_ACCOUNT_EXPORT ? _("Cannot export") : _("Cannot import"));
      return EXIT_FAILED;
    }
  if (app.command == COMMAND_ACCOUNT_IMPORT)
    return run_id ();
  if (!app.json)
    g_print (_("Account written to %s: import it on another device with “ferry account import”\n"), file);
  return EXIT_OK;
}

static gboolean
on_revoke_timeout (gpointer user_data)
{
  app_quit (EXIT_OK);
  return G_SOURCE_REMOVE;
}

static int
run_device_revoke (void)
{
  g_autofree char *home = resolve_home ();
  g_autofree char *full = NULL;
  g_autoptr(GPtrArray) devices = ferry_account_list_devices (home);
  g_autoptr(GError) error = NULL;
  const char *query = app.rest_args[0];
  guint matches = 0;
  int code;

  /* A full id, or a unique prefix of a device this home knows. */
  if (strlen (query) == 64)
    full = g_ascii_strdown (query, -1);
  else
    for (guint i = 0; i < devices->len; i++)
      {
        const char *id = json_object_get_string_member (g_ptr_array_index (devices, i), "device");

        if (id_has_prefix (id, query))
          {
            matches++;
            g_free (full);
            full = g_strdup (id);
          }
      }
  if (full == NULL || matches > 1)
    {
      print_error (matches > 1 ? _("“%s” matches several devices: give more of the id")
                               : _("No known device of this account matches “%s”: give the full id"), query);
      return EXIT_FAILED;
    }
  if (!ferry_account_revoke_device (home, full, &error))
    {
      report_error (NULL, error, _("Cannot revoke"));
      return EXIT_FAILED;
    }

  /* Hand the revocation to the devices met in the next seconds. */
  if ((code = open_engine ()) != EXIT_OK)
    return code;
  install_signal_handlers ();
  if ((code = start_engine ()) != EXIT_OK)
    return code;
  if (app.json)
    {
      JsonBuilder *builder = json_begin ("revoked");

      json_add_string (builder, "device", full);
      json_end (builder);
    }
  else
    g_print (_("Device %s is revoked; telling the devices around for %.0f s…\n"), full, app.timeout);
  g_timeout_add ((guint) (app.timeout * 1000), on_revoke_timeout, NULL);
  app.exit_code = EXIT_OK;
  g_main_loop_run (app.loop);
  return EXIT_OK;
}

/* Options {{{1 */

static gboolean
add_list (GPtrArray  **list,
          const char  *option_name,
          const char  *value,
          GError     **error)
{
  g_auto(GStrv) parts = g_strsplit (value, ",", -1);
  guint added = 0;

  if (*list == NULL)
    *list = g_ptr_array_new_null_terminated (4, g_free, TRUE);

  for (guint i = 0; parts[i] != NULL; i++)
    {
      char *part = g_strstrip (parts[i]);

      if (*part == '\0')
        continue;
      g_ptr_array_add (*list, g_strdup (part));
      added++;
    }

  if (added == 0)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("Empty value for %s"), option_name);
      return FALSE;
    }
  return TRUE;
}

static gboolean
option_timeout (const char  *option_name,
                const char  *value,
                gpointer     data,
                GError     **error)
{
  char *end = NULL;
  double seconds = g_ascii_strtod (value, &end);

  if (end == value || *end != '\0' || !isfinite (seconds) || seconds <= 0 || seconds > 86400)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("Invalid %s “%s”: give a number of seconds greater than 0"),
                   option_name, value);
      return FALSE;
    }
  app.timeout = seconds;
  return TRUE;
}

static gboolean
option_home (const char  *option_name,
             const char  *value,
             gpointer     data,
             GError     **error)
{
  if (value[0] == '\0')
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("Empty value for %s"), option_name);
      return FALSE;
    }
  g_free (app.home);
  app.home = g_strdup (value);
  return TRUE;
}

static gboolean
option_signaling (const char  *option_name,
                  const char  *value,
                  gpointer     data,
                  GError     **error)
{
  return add_list (&app.signalings, option_name, value, error);
}

static gboolean
option_transport (const char  *option_name,
                  const char  *value,
                  gpointer     data,
                  GError     **error)
{
  return add_list (&app.transports, option_name, value, error);
}

static gboolean
option_interface (const char  *option_name,
                  const char  *value,
                  gpointer     data,
                  GError     **error)
{
  return add_list (&app.interfaces, option_name, value, error);
}

static gboolean
option_dht_proxy (const char  *option_name,
                  const char  *value,
                  gpointer     data,
                  GError     **error)
{
  return add_list (&app.dht_proxies, option_name, value, error);
}

/* The TURN plugin checks the URL in full; here only its shape, without
 * echoing a password back. */
static gboolean
option_turn (const char  *option_name,
             const char  *value,
             gpointer     data,
             GError     **error)
{
  if (!g_str_has_prefix (value, "turn:") || strchr (value, '@') == NULL)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("Invalid %s “%s”: expected turn:USER:PASS@HOST:PORT[?transport=udp|tcp]"),
                   option_name, strchr (value, '@') ? strrchr (value, '@') + 1 : value);
      return FALSE;
    }
  if (app.turn_servers == NULL)
    app.turn_servers = g_ptr_array_new_null_terminated (2, g_free, TRUE);
  g_ptr_array_add (app.turn_servers, g_strdup (value));
  return TRUE;
}

static gboolean
option_stun (const char  *option_name,
             const char  *value,
             gpointer     data,
             GError     **error)
{
  if (value[0] == '\0' || strchr (value, ':') == NULL)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("Invalid %s “%s”: expected HOST:PORT"), option_name, value);
      return FALSE;
    }
  g_free (app.stun_server);
  app.stun_server = g_strdup (value);
  return TRUE;
}

static const GOptionEntry global_entries[] = {
  { "home", 0, G_OPTION_FLAG_FILENAME, G_OPTION_ARG_CALLBACK, option_home,
    N_("Home directory (default: $FERRY_HOME, then $XDG_DATA_HOME/ferry)"), N_("DIR") },
  { "signaling", 0, 0, G_OPTION_ARG_CALLBACK, option_signaling,
    N_("Signaling plugins to use, comma-separated"), N_("LIST") },
  { "transport", 0, 0, G_OPTION_ARG_CALLBACK, option_transport,
    N_("Transport plugins to use, comma-separated"), N_("LIST") },
  { "interface", 0, 0, G_OPTION_ARG_CALLBACK, option_interface,
    N_("Network interface to use (repeatable)"), N_("NAME") },
  { "dht-proxy", 0, 0, G_OPTION_ARG_CALLBACK, option_dht_proxy,
    N_("OpenDHT proxy for the dht signaling, e.g. http://127.0.0.1:8000 (repeatable); enables dht"), N_("URL") },
  { "turn", 0, 0, G_OPTION_ARG_CALLBACK, option_turn,
    N_("TURN server turn:USER:PASS@HOST:PORT[?transport=udp|tcp] (repeatable); enables turn"),
    N_("URL") },
  { "stun", 0, 0, G_OPTION_ARG_CALLBACK, option_stun,
    N_("STUN server for the ice transport; enables ice"), N_("HOST:PORT") },
  { "json", 0, 0, G_OPTION_ARG_NONE, &app.json,
    N_("Write JSON, one object per line"), NULL },
  G_OPTION_ENTRY_NULL
};

static const GOptionEntry peers_entries[] = {
  { "timeout", 't', 0, G_OPTION_ARG_CALLBACK, option_timeout,
    N_("Seconds to listen for devices (default: 2)"), N_("SECS") },
  G_OPTION_ENTRY_NULL
};

static const GOptionEntry receive_entries[] = {
  { "dir", 'd', 0, G_OPTION_ARG_FILENAME, &app.dir,
    N_("Folder to save files in (default: the download folder)"), N_("DIR") },
  { "yes", 'y', 0, G_OPTION_ARG_NONE, &app.yes,
    N_("Accept every transfer without asking"), NULL },
  { "accept-from", 'a', 0, G_OPTION_ARG_STRING_ARRAY, &app.accept_from,
    N_("Accept transfers from this account or device id, or a prefix of at least 8 hex digits (repeatable); reject others"), N_("ID") },
  { "once", 0, 0, G_OPTION_ARG_NONE, &app.once,
    N_("Exit after the first transfer"), NULL },
  G_OPTION_ENTRY_NULL
};

static const GOptionEntry send_entries[] = {
  { "to", 0, 0, G_OPTION_ARG_STRING, &app.to,
    N_("The receiver: an account or device id, a unique prefix of at least 8 hex digits, or a display name"), N_("ID") },
  { "timeout", 't', 0, G_OPTION_ARG_CALLBACK, option_timeout,
    N_("Seconds to look for the receiver (default: 10)"), N_("SECS") },
  { "verbose", 'v', 0, G_OPTION_ARG_NONE, &app.verbose,
    N_("Show each receiving device (with --json: its progress too)"), NULL },
  { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &app.file_args, NULL, NULL },
  G_OPTION_ENTRY_NULL
};

static const GOptionEntry account_entries[] = {
  { "passphrase-file", 0, 0, G_OPTION_ARG_FILENAME, &app.passphrase_file,
    N_("Read the passphrase from the first line of FILE instead of the terminal"), N_("FILE") },
  { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &app.rest_args, NULL, NULL },
  G_OPTION_ENTRY_NULL
};

static const GOptionEntry revoke_entries[] = {
  { "timeout", 't', 0, G_OPTION_ARG_CALLBACK, option_timeout,
    N_("Seconds to tell the devices around (default: 3)"), N_("SECS") },
  { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &app.rest_args, NULL, NULL },
  G_OPTION_ENTRY_NULL
};

static const GOptionEntry history_entries[] = {
  G_OPTION_ENTRY_NULL
};

static const GOptionEntry fetch_entries[] = {
  { "timeout", 't', 0, G_OPTION_ARG_CALLBACK, option_timeout,
    N_("Seconds to wait for the sender to offer it again (default: 30)"), N_("SECS") },
  { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &app.fetch_args, NULL, NULL },
  G_OPTION_ENTRY_NULL
};

static const char *
commands_description (void)
{
  return _("Commands:\n"
           "  id                       Show this device’s account id, device id and name\n"
           "  plugins                  List plugins, their features, ranks and load errors\n"
           "  peers [--timeout SECS]   List the devices seen through signaling\n"
           "  receive [--dir DIR] [--yes | --accept-from ID …] [--once]\n"
           "                           Wait for files\n"
           "  send --to ID [-v] FILE…  Send files to every device of an account, or to one device\n"
           "  history                  List past transfers\n"
           "  account export FILE      Write the account key, encrypted under a passphrase\n"
           "  account import FILE      Make this home a new device of an exported account\n"
           "  device revoke ID         Revoke a device of this account\n"
           "  fetch TRANSFER-ID        Ask the sender for a received transfer again, resuming it\n"
           "\n"
           "Run “ferry COMMAND --help” for a command’s options.\n"
           "Exit status: 0 success, 1 failure, 2 usage error.");
}

static int
parse_command (Command      command,
               const char  *name,
               const char  *parameters,
               const char  *summary,
               const GOptionEntry *entries,
               GStrv       *args)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  GOptionGroup *global;
  g_autofree char *prgname = g_strconcat ("ferry ", name, NULL);
  gboolean parsed;

  context = g_option_context_new (parameters);
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_summary (context, summary);
  if (entries != NULL)
    g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);

  /* The global options are accepted after the command too. */
  global = g_option_group_new ("global", _("Global options:"), _("Show global options"), NULL, NULL);
  g_option_group_set_translation_domain (global, GETTEXT_PACKAGE);
  g_option_group_add_entries (global, global_entries);
  g_option_context_add_group (context, global);

  /* So that the usage line reads “ferry send [OPTION…] --to ID FILE…”. */
  g_set_prgname (prgname);
  parsed = g_option_context_parse_strv (context, args, &error);
  g_set_prgname ("ferry");
  if (!parsed)
    return usage_error ("%s", error->message);

  if ((*args)[0] != NULL && (*args)[1] != NULL)
    {
      g_autofree char *display = g_filename_display_name ((*args)[1]);
      return usage_error (_("Unexpected argument “%s”"), display);
    }

  app.command = command;
  return EXIT_OK;
}

/* main {{{1 */

int
main (int    argc,
      char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) args = NULL;
  g_auto(GStrv) command_args = NULL;
  const char *command;
  int code = EXIT_OK;

  app.start_us = g_get_monotonic_time ();
  app.start_real_us = g_get_real_time ();
  app.timeout = NAN;

  setlocale (LC_ALL, "");
  /* FERRY_LOCALEDIR, when set, points at other catalogues (a build tree's, in tests) */
  bindtextdomain (GETTEXT_PACKAGE, g_getenv ("FERRY_LOCALEDIR") ? g_getenv ("FERRY_LOCALEDIR") : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  g_set_prgname ("ferry");

  setvbuf (stdout, NULL, _IOLBF, 0);

  context = g_option_context_new (_("COMMAND [OPTION…]"));
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_strict_posix (context, TRUE);
  g_option_context_set_summary (context, _("Send files to another device, peer to peer."));
  g_option_context_set_description (context, commands_description ());
  g_option_context_add_main_entries (context, global_entries, GETTEXT_PACKAGE);

  args = g_strdupv (argv);
  if (!g_option_context_parse_strv (context, &args, &error))
    {
      code = usage_error ("%s", error->message);
      goto out;
    }

  if (args[0] == NULL || args[1] == NULL)
    {
      code = usage_error (_("No command given"));
      goto out;
    }
  command = args[1];
  command_args = g_strdupv (args + 1);

  if (g_str_equal (command, "id"))
    code = parse_command (COMMAND_ID, "id", NULL,
                          _("Show this device’s account id, device id and name."),
                          NULL, &command_args);
  else if (g_str_equal (command, "plugins"))
    code = parse_command (COMMAND_PLUGINS, "plugins", NULL,
                          _("List plugins, their features, ranks, versions and load errors."),
                          NULL, &command_args);
  else if (g_str_equal (command, "peers"))
    code = parse_command (COMMAND_PEERS, "peers", NULL,
                          _("List the devices seen through signaling."),
                          peers_entries, &command_args);
  else if (g_str_equal (command, "receive"))
    code = parse_command (COMMAND_RECEIVE, "receive", NULL,
                          _("Wait for files from other devices."),
                          receive_entries, &command_args);
  else if (g_str_equal (command, "account") || g_str_equal (command, "device"))
    {
      const char *sub = args[2];
      gboolean account = g_str_equal (command, "account");

      g_strfreev (command_args);
      command_args = sub ? g_strdupv (args + 2) : NULL;
      if (account && g_strcmp0 (sub, "export") == 0)
        code = parse_command (COMMAND_ACCOUNT_EXPORT, "account export", _("FILE"),
                              _("Write the account key, encrypted under a passphrase."),
                              account_entries, &command_args);
      else if (account && g_strcmp0 (sub, "import") == 0)
        code = parse_command (COMMAND_ACCOUNT_IMPORT, "account import", _("FILE"),
                              _("Make this home a new device of an exported account."),
                              account_entries, &command_args);
      else if (!account && g_strcmp0 (sub, "revoke") == 0)
        code = parse_command (COMMAND_DEVICE_REVOKE, "device revoke", _("ID"),
                              _("Revoke a device of this account: the others and the peers refuse it."),
                              revoke_entries, &command_args);
      else
        code = usage_error (account ? _("Use “ferry account export FILE” or “ferry account import FILE”")
                                    : _("Use “ferry device revoke ID”"));
    }
  else if (g_str_equal (command, "history"))
    code = parse_command (COMMAND_HISTORY, "history", NULL,
                          _("List past transfers, newest first."),
                          history_entries, &command_args);
  else if (g_str_equal (command, "fetch"))
    code = parse_command (COMMAND_FETCH, "fetch", _("TRANSFER-ID"),
                          _("Ask the sender for a received transfer again; an interrupted one resumes."),
                          fetch_entries, &command_args);
  else if (g_str_equal (command, "send"))
    code = parse_command (COMMAND_SEND, "send", _("--to ID FILE…"),
                          _("Send files to a device."),
                          send_entries, &command_args);
  else
    {
      g_autofree char *display = g_filename_display_name (command);
      code = usage_error (_("Unknown command “%s”"), display);
    }
  if (code != EXIT_OK)
    goto out;

  /* Checks that need no engine: a usage error exits 2 before any work. */
  switch (app.command)
    {
    case COMMAND_PEERS:
      if (isnan (app.timeout))
        app.timeout = 2;
      break;

    case COMMAND_SEND:
      if (app.to == NULL || app.to[0] == '\0')
        code = usage_error (_("Missing --to ID: whom to send to"));
      else if (app.file_args == NULL || app.file_args[0] == NULL)
        code = usage_error (_("No FILE to send"));
      else
        code = check_files ();
      if (isnan (app.timeout))
        app.timeout = 10;
      break;

    case COMMAND_RECEIVE:
      if (app.yes && app.accept_from != NULL)
        code = usage_error (_("--yes and --accept-from cannot be used together"));
      for (guint i = 0; code == EXIT_OK && app.accept_from != NULL && app.accept_from[i] != NULL; i++)
        if (!is_hex_id (app.accept_from[i]))
          code = usage_error (_("Invalid --accept-from “%s”: give an account or device id, "
                                "or a prefix of at least %d hex digits"),
                              app.accept_from[i], MIN_ID_PREFIX);
      if (code == EXIT_OK && app.dir != NULL && app.dir[0] == '\0')
        code = usage_error (_("Empty value for --dir"));
      break;

    case COMMAND_ACCOUNT_EXPORT:
    case COMMAND_ACCOUNT_IMPORT:
    case COMMAND_DEVICE_REVOKE:
      if (app.rest_args == NULL || app.rest_args[0] == NULL)
        code = usage_error (app.command == COMMAND_DEVICE_REVOKE ? _("No device ID given") : _("No FILE given"));
      else if (app.rest_args[1] != NULL)
        code = usage_error (_("Unexpected argument “%s”"), app.rest_args[1]);
      else if (app.command == COMMAND_DEVICE_REVOKE && !is_hex_id (app.rest_args[0]))
        code = usage_error (_("Invalid device id “%s”"), app.rest_args[0]);
      if (isnan (app.timeout))
        app.timeout = 3;
      break;

    case COMMAND_FETCH:
      if (app.fetch_args == NULL || app.fetch_args[0] == NULL)
        code = usage_error (_("No TRANSFER-ID to fetch"));
      else if (app.fetch_args[1] != NULL)
        code = usage_error (_("Unexpected argument “%s”"), app.fetch_args[1]);
      else if (!is_hex_id (app.fetch_args[0]))
        code = usage_error (_("Invalid transfer id “%s”"), app.fetch_args[0]);
      else
        app.fetch_id = g_ascii_strdown (app.fetch_args[0], -1);
      if (isnan (app.timeout))
        app.timeout = 30;
      break;

    case COMMAND_NONE:
    case COMMAND_ID:
    case COMMAND_PLUGINS:
    case COMMAND_HISTORY:
    default:
      break;
    }
  if (code == EXIT_OK && (app.command == COMMAND_PEERS || app.command == COMMAND_RECEIVE ||
                          app.command == COMMAND_SEND || app.command == COMMAND_FETCH ||
                          app.command == COMMAND_DEVICE_REVOKE))
    {
      code = check_plugin_names (app.signalings, FERRY_TYPE_SIGNALING, "--signaling");
      if (code == EXIT_OK)
        code = check_plugin_names (app.transports, FERRY_TYPE_TRANSPORT, "--transport");
    }
  if (code != EXIT_OK)
    goto out;

  app.progress_bar = !app.json && isatty (STDERR_FILENO);
  app.loop = g_main_loop_new (NULL, FALSE);
  app.transfers = g_ptr_array_new_with_free_func ((GDestroyNotify) transfer_free);

  switch (app.command)
    {
    case COMMAND_ID:
      code = run_id ();
      break;
    case COMMAND_PLUGINS:
      code = run_plugins ();
      break;
    case COMMAND_PEERS:
      code = run_peers ();
      break;
    case COMMAND_RECEIVE:
      code = run_receive ();
      break;
    case COMMAND_SEND:
      code = run_send ();
      break;
    case COMMAND_HISTORY:
      code = run_history ();
      break;
    case COMMAND_FETCH:
      code = run_fetch ();
      break;
    case COMMAND_ACCOUNT_EXPORT:
    case COMMAND_ACCOUNT_IMPORT:
      code = run_account ();
      break;
    case COMMAND_DEVICE_REVOKE:
      code = run_device_revoke ();
      break;
    case COMMAND_NONE:
    default:
      g_assert_not_reached ();
    }

out:
  if (app.engine != NULL && (app.command == COMMAND_SEND ||
                             app.command == COMMAND_FETCH ||
                             app.command == COMMAND_DEVICE_REVOKE ||
                             app.command == COMMAND_RECEIVE ||
                             app.command == COMMAND_PEERS))
    {
      close_engine ();
    }

  if (app.json && (app.command == COMMAND_SEND || app.command == COMMAND_RECEIVE ||
                   app.command == COMMAND_FETCH))
    {
      JsonBuilder *builder = json_begin ("exit");

      json_add_int (builder, "code", code);
      json_add_int (builder, "peak_rss_kib", peak_rss_kib ());
      json_end (builder);
    }

  for (guint i = 0; i < G_N_ELEMENTS (app.signal_ids); i++)
    g_clear_handle_id (&app.signal_ids[i], g_source_remove);
  g_clear_handle_id (&app.grace_id, g_source_remove);
  g_clear_handle_id (&app.linger_id, g_source_remove);
  g_clear_pointer (&app.transfers, g_ptr_array_unref);
  g_clear_pointer (&app.subs, g_ptr_array_unref);
  g_clear_pointer (&app.sending_id, g_free);
  g_clear_pointer (&app.fetch_args, g_strfreev);
  g_clear_pointer (&app.rest_args, g_strfreev);
  g_clear_pointer (&app.passphrase_file, g_free);
  g_clear_pointer (&app.fetch_id, g_free);
  g_queue_clear (&app.prompts);
  g_clear_object (&app.stdin_stream);
  g_clear_object (&app.prompt_cancellable);
  g_clear_object (&app.find_cancellable);
  g_clear_object (&app.download_dir);
  g_clear_pointer (&app.files, g_ptr_array_unref);
  g_clear_object (&app.engine);
  g_clear_pointer (&app.loop, g_main_loop_unref);
  g_clear_pointer (&app.signalings, g_ptr_array_unref);
  g_clear_pointer (&app.transports, g_ptr_array_unref);
  g_clear_pointer (&app.interfaces, g_ptr_array_unref);
  g_clear_pointer (&app.dht_proxies, g_ptr_array_unref);
  g_clear_pointer (&app.turn_servers, g_ptr_array_unref);
  g_clear_pointer (&app.stun_server, g_free);
  g_clear_pointer (&app.home, g_free);
  g_clear_pointer (&app.dir, g_free);
  g_clear_pointer (&app.to, g_free);
  g_clear_pointer (&app.accept_from, g_strfreev);
  g_clear_pointer (&app.file_args, g_strfreev);

  return code;
}

/* vim: set foldmethod=marker: */
