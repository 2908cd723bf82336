/* ferry-gtk-app.c: the application, its engine and its actions
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Actions (all on the `app.` prefix, so that `gapplication action` and
 * org.gtk.Actions reach them):
 *   send (sas)               a device id (or account id, or a prefix of at
 *                            least 8 hex digits) and the paths to send
 *                            (a folder sends the regular files under it)
 *   accept-all               stateful boolean: accept every offer unasked
 *   accept (s) / reject (s)  an incoming offer, by transfer id
 *   cancel (s)               a transfer, by id
 *   show-page (s)            devices, send, transfers or history
 *   screenshot (s)           save the window as PNG after its next frame
 *   screenshot-on-progress (s)  the same, once a transfer is a third done
 *   quit
 */

#include "config.h"

#include <glib/gi18n.h>
#include <stdio.h>

#include "ferry-gtk.h"

#define FIND_TIMEOUT_MS 10000

struct _FerryGtkApp
{
  AdwApplication   parent_instance;

  FerryGtkOptions  options;
  FerryEngine     *engine;
  GFile           *download_dir;
  GError          *start_error;
  char            *screenshot_on_progress;
};

G_DEFINE_FINAL_TYPE (FerryGtkApp, ferry_gtk_app, ADW_TYPE_APPLICATION)

void
ferry_gtk_options_clear (FerryGtkOptions *options)
{
  g_clear_pointer (&options->home, g_free);
  g_clear_pointer (&options->dir, g_free);
  g_clear_pointer (&options->interfaces, g_strfreev);
  g_clear_pointer (&options->signalings, g_free);
  g_clear_pointer (&options->transports, g_free);
  g_clear_pointer (&options->dht_proxies, g_strfreev);
  g_clear_pointer (&options->turn_servers, g_strfreev);
  g_clear_pointer (&options->stun_server, g_free);
}

static FerryGtkWindow *
app_window (FerryGtkApp *self)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  return FERRY_GTK_IS_WINDOW (window) ? FERRY_GTK_WINDOW (window) : NULL;
}

/* Events for scripts {{{1 */

/**
 * ferry_gtk_app_event:
 * @self: the application
 * @event: the event name
 * @first_key: the first key, then its string value, … then %NULL
 *
 * With `--json`, writes one JSON object per line on stdout, so that a
 * script can follow what the window shows.
 */
void
ferry_gtk_app_event (FerryGtkApp *self,
                     const char  *event,
                     const char  *first_key,
                     ...)
{
  g_autoptr(JsonBuilder) builder = NULL;
  g_autoptr(JsonGenerator) generator = NULL;
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;
  va_list args;

  if (!self->options.json)
    return;

  builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "event");
  json_builder_add_string_value (builder, event);
  va_start (args, first_key);
  for (const char *key = first_key; key != NULL; key = va_arg (args, const char *))
    {
      const char *value = va_arg (args, const char *);

      json_builder_set_member_name (builder, key);
      json_builder_add_string_value (builder, value ? value : "");
    }
  va_end (args);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  generator = json_generator_new ();
  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, NULL);
  g_print ("%s\n", text);
  fflush (stdout);
}

/* Transfers: follow each one's state {{{1 */

static void
refresh_history (gpointer data)
{
  g_autoptr(FerryGtkWindow) window = data;

  ferry_gtk_window_refresh_history (window);
}

static void
on_transfer_state (FerryTransfer *transfer,
                   GParamSpec    *pspec,
                   FerryGtkApp   *self)
{
  FerryTransferState state = ferry_transfer_get_state (transfer);
  FerryGtkWindow *window = app_window (self);

  ferry_gtk_app_event (self, "state",
                       "id", ferry_transfer_get_id (transfer),
                       "direction", ferry_transfer_get_direction (transfer) == FERRY_TRANSFER_DIRECTION_INCOMING
                                    ? "incoming" : "outgoing",
                       "state", ferry_gtk_state_nick (state),
                       "chain", ferry_transfer_get_chain (transfer),
                       NULL);
  /* The engine writes the record in its own handler, maybe after this
   * one: read the history once this notification is over. */
  if (ferry_gtk_state_is_final (state) && window != NULL)
    g_idle_add_once (refresh_history, g_object_ref (window));
}

static void
on_transfer_bytes (FerryTransfer *transfer,
                   GParamSpec    *pspec,
                   FerryGtkApp   *self)
{
  g_autofree char *path = NULL;
  FerryGtkWindow *window = app_window (self);

  /* A third of the way: the picture shows a transfer well under way. */
  if (self->screenshot_on_progress == NULL || window == NULL ||
      ferry_transfer_get_state (transfer) != FERRY_TRANSFER_STATE_ONGOING ||
      ferry_transfer_get_bytes (transfer) < ferry_transfer_get_total_size (transfer) / 3)
    return;

  path = g_steal_pointer (&self->screenshot_on_progress);
  g_action_group_activate_action (G_ACTION_GROUP (self), "screenshot", g_variant_new_string (path));
}

static void
on_transfers_changed (GListModel  *transfers,
                      guint        position,
                      guint        removed,
                      guint        added,
                      FerryGtkApp *self)
{
  for (guint i = position; i < position + added; i++)
    {
      g_autoptr(FerryTransfer) transfer = g_list_model_get_item (transfers, i);

      g_signal_connect_object (transfer, "notify::state", G_CALLBACK (on_transfer_state), self, 0);
      g_signal_connect_object (transfer, "notify::bytes", G_CALLBACK (on_transfer_bytes), self, 0);
      on_transfer_state (transfer, NULL, self);
    }
}

static void
on_transfer_requested (FerryEngine   *engine,
                       FerryTransfer *transfer,
                       FerryGtkApp   *self)
{
  FerryDevice *device = ferry_transfer_get_device (transfer);
  GVariant *state = g_action_group_get_action_state (G_ACTION_GROUP (self), "accept-all");
  gboolean accept_all = g_variant_get_boolean (state);
  g_autofree char *title = ferry_gtk_transfer_title (transfer);

  g_variant_unref (state);
  ferry_gtk_app_event (self, "offer",
                       "id", ferry_transfer_get_id (transfer),
                       "title", title,
                       "device", device ? ferry_device_get_device_id (device) : NULL,
                       "account", device ? ferry_device_get_account_id (device) : NULL,
                       "name", device ? ferry_device_get_name (device) : NULL,
                       NULL);
  if (accept_all)
    {
      ferry_transfer_accept (transfer, self->download_dir);
      return;
    }
  ferry_gtk_offer_present (self, GTK_WINDOW (app_window (self)), transfer);
}

/* The engine, as the `ferry` tool opens it {{{1 */

/* A comma-separated list of plugin names (from the command line or
 * ferry.conf), plus @extra when it is not there yet. */
static void
set_names (FerryEngine *engine,
           const char  *list,
           const char  *extra,
           void       (*setter) (FerryEngine *, const char * const *))
{
  g_auto(GStrv) parts = g_strsplit_set (list, ",;", -1);
  g_autoptr(GPtrArray) names = g_ptr_array_new_null_terminated (4, NULL, TRUE);

  for (guint i = 0; parts[i] != NULL; i++)
    if (*g_strstrip (parts[i]) != '\0')
      g_ptr_array_add (names, parts[i]);
  if (extra != NULL && !g_ptr_array_find_with_equal_func (names, extra, g_str_equal, NULL))
    g_ptr_array_add (names, (char *) extra);
  setter (engine, (const char * const *) names->pdata);
}

/* The names @current plus @extra when it is not there yet. */
static void
add_name (FerryEngine        *engine,
          const char * const *current,
          const char         *extra,
          void              (*setter) (FerryEngine *, const char * const *))
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) names = NULL;

  g_strv_builder_addv (builder, (const char **) current);
  if (!g_strv_contains (current, extra))
    g_strv_builder_add (builder, extra);
  names = g_strv_builder_end (builder);
  setter (engine, (const char * const *) names);
}

/* --dht-proxy, --turn and --stun replace their settings of ferry.conf and,
 * without --signaling or --transport, add their plugin, as `ferry` does. */
static void
apply_servers (FerryGtkApp *self)
{
  FerryGtkOptions *o = &self->options;

  if (o->dht_proxies != NULL)
    {
      ferry_engine_set_dht_proxies (self->engine, (const char * const *) o->dht_proxies);
      if (o->signalings == NULL)
        add_name (self->engine, ferry_engine_get_signaling_names (self->engine), "dht",
                  ferry_engine_set_signalings);
    }
  if (o->turn_servers != NULL)
    ferry_engine_set_turn_servers (self->engine, (const char * const *) o->turn_servers);
  if (o->stun_server != NULL)
    ferry_engine_set_stun_server (self->engine, o->stun_server);
  if (o->transports == NULL && o->stun_server != NULL)
    add_name (self->engine, ferry_engine_get_transport_names (self->engine), "ice",
              ferry_engine_set_transports);
  if (o->transports == NULL && o->turn_servers != NULL)
    add_name (self->engine, ferry_engine_get_transport_names (self->engine), "turn",
              ferry_engine_set_transports);
}

/* --dir, else the engine's download folder; created if needed. */
static gboolean
resolve_download_dir (FerryGtkApp  *self,
                      GError      **error)
{
  g_autofree char *absolute = NULL;

  if (self->options.dir != NULL)
    {
      g_autofree char *dir = g_canonicalize_filename (self->options.dir, NULL);
      g_autoptr(GFile) file = g_file_new_for_path (dir);

      ferry_engine_set_download_dir (self->engine, file);
    }
  absolute = g_file_get_path (ferry_engine_get_download_dir (self->engine));
  if (g_mkdir_with_parents (absolute, 0755) != 0 || !g_file_test (absolute, G_FILE_TEST_IS_DIR))
    {
      g_autofree char *display = g_filename_display_name (absolute);

      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_DIRECTORY,
                   _("Cannot use the download folder %s"), display);
      return FALSE;
    }
  self->download_dir = g_object_ref (ferry_engine_get_download_dir (self->engine));
  return TRUE;
}

static gboolean
open_engine (FerryGtkApp  *self,
             GError      **error)
{
  GListModel *transfers;

  self->engine = ferry_engine_new (self->options.home, NULL, error);
  if (self->engine == NULL)
    return FALSE;
  if (self->options.signalings != NULL)
    set_names (self->engine, self->options.signalings, NULL, ferry_engine_set_signalings);
  if (self->options.transports != NULL)
    set_names (self->engine, self->options.transports, NULL, ferry_engine_set_transports);
  apply_servers (self);
  if (self->options.interfaces != NULL)
    ferry_engine_set_interfaces (self->engine, (const char * const *) self->options.interfaces);
  if (!resolve_download_dir (self, error))
    return FALSE;

  g_signal_connect_object (self->engine, "transfer-requested",
                           G_CALLBACK (on_transfer_requested), self, 0);
  transfers = ferry_engine_get_transfers (self->engine);
  g_signal_connect_object (transfers, "items-changed", G_CALLBACK (on_transfers_changed), self, 0);
  return ferry_engine_start (self->engine, error);
}

/* Sending {{{1 */

typedef struct
{
  FerryGtkApp *app;
  char        *device_id;
  GPtrArray   *files;
} SendOp;

static void
send_op_free (SendOp *op)
{
  g_object_unref (op->app);
  g_free (op->device_id);
  g_clear_pointer (&op->files, g_ptr_array_unref);
  g_free (op);
}

static void
send_failed (FerryGtkApp  *self,
             const GError *error)
{
  g_autofree char *message = g_strdup_printf (_("Cannot send: %s"), error->message);
  FerryGtkWindow *window = app_window (self);

  ferry_gtk_app_event (self, "error", "message", message, NULL);
  if (window != NULL)
    ferry_gtk_window_toast (window, message);
}

/* The device the id names, when it names one device rather than the
 * account; NULL to send to every device of the account. */
static FerryDevice *
named_device (FerryPeer  *peer,
              const char *id)
{
  GListModel *devices = ferry_peer_get_devices (peer);

  if (g_str_has_prefix (ferry_peer_get_account_id (peer), id))
    return NULL;
  for (guint i = 0; i < g_list_model_get_n_items (devices); i++)
    {
      g_autoptr(FerryDevice) device = g_list_model_get_item (devices, i);

      if (g_str_has_prefix (ferry_device_get_device_id (device), id))
        return g_steal_pointer (&device);
    }
  return NULL;
}

static void
on_peer_found (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  SendOp *op = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(FerryPeer) peer = NULL;
  g_autoptr(FerryDevice) device = NULL;
  g_autoptr(FerryTransfer) transfer = NULL;
  GFile **files = (GFile **) op->files->pdata;

  peer = ferry_engine_find_peer_finish (FERRY_ENGINE (source), result, &error);
  if (peer != NULL)
    {
      device = named_device (peer, op->device_id);
      if (device != NULL)
        transfer = ferry_engine_send_to_device (op->app->engine, device, files, op->files->len, &error);
      else
        transfer = ferry_engine_send (op->app->engine, peer, files, op->files->len, &error);
    }
  if (transfer == NULL)
    send_failed (op->app, error);
  else if (app_window (op->app) != NULL)
    ferry_gtk_window_show_page (app_window (op->app), "transfers");
  send_op_free (op);
}

static void
on_files_expanded (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  SendOp *op = user_data;
  g_autoptr(GError) error = NULL;

  op->files = ferry_gtk_expand_files_finish (result, &error);
  if (op->files == NULL)
    {
      send_failed (op->app, error);
      send_op_free (op);
      return;
    }
  ferry_engine_find_peer_async (op->app->engine, op->device_id, FIND_TIMEOUT_MS, NULL,
                                on_peer_found, op);
}

/**
 * ferry_gtk_app_send:
 * @self: the application
 * @device_id: a device id or account id, or a prefix of one
 * @files: (array length=n_files): files and folders
 * @n_files: how many
 *
 * Lists the regular files @files stand for, looks the device up (among
 * the devices seen, or on the network) and sends them to it; the transfer
 * appears in the engine's transfers, an error in a toast.
 */
void
ferry_gtk_app_send (FerryGtkApp  *self,
                    const char   *device_id,
                    GFile       **files,
                    guint         n_files)
{
  SendOp *op;

  if (self->engine == NULL || n_files == 0)
    return;
  op = g_new0 (SendOp, 1);
  op->app = g_object_ref (self);
  op->device_id = g_ascii_strdown (device_id, -1);
  ferry_gtk_expand_files_async (files, n_files, NULL, on_files_expanded, op);
}

/* Actions {{{1 */

static FerryTransfer *
find_transfer (FerryGtkApp *self,
               GVariant    *parameter)
{
  GListModel *transfers = ferry_engine_get_transfers (self->engine);
  const char *id = g_variant_get_string (parameter, NULL);

  for (guint i = 0; i < g_list_model_get_n_items (transfers); i++)
    {
      g_autoptr(FerryTransfer) transfer = g_list_model_get_item (transfers, i);

      if (g_strcmp0 (ferry_transfer_get_id (transfer), id) == 0)
        return g_steal_pointer (&transfer);
    }
  {
    g_autofree char *message = g_strdup_printf (_("No transfer %s"), id);

    ferry_gtk_app_event (self, "error", "message", message, NULL);
  }
  return NULL;
}

static void
send_activated (GSimpleAction *action,
                GVariant      *parameter,
                gpointer       user_data)
{
  FerryGtkApp *self = user_data;
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_object_unref);
  g_autofree const char **paths = NULL;
  const char *device_id;

  g_variant_get (parameter, "(&s^a&s)", &device_id, &paths);
  for (guint i = 0; paths[i] != NULL; i++)
    g_ptr_array_add (files, g_file_new_for_commandline_arg (paths[i]));
  ferry_gtk_app_send (self, device_id, (GFile **) files->pdata, files->len);
}

static void
accept_all_change_state (GSimpleAction *action,
                         GVariant      *value,
                         gpointer       user_data)
{
  ferry_gtk_app_event (user_data, "accept-all", "value",
                       g_variant_get_boolean (value) ? "true" : "false", NULL);
  g_simple_action_set_state (action, value);
}

static void
accept_all_activated (GSimpleAction *action,
                      GVariant      *parameter,
                      gpointer       user_data)
{
  GVariant *state = g_action_get_state (G_ACTION (action));

  g_action_change_state (G_ACTION (action), g_variant_new_boolean (!g_variant_get_boolean (state)));
  g_variant_unref (state);
}

static void
accept_activated (GSimpleAction *action,
                  GVariant      *parameter,
                  gpointer       user_data)
{
  FerryGtkApp *self = user_data;
  g_autoptr(FerryTransfer) transfer = find_transfer (self, parameter);

  if (transfer != NULL && ferry_transfer_get_state (transfer) == FERRY_TRANSFER_STATE_AWAITING_HOST)
    ferry_transfer_accept (transfer, self->download_dir);
}

static void
reject_activated (GSimpleAction *action,
                  GVariant      *parameter,
                  gpointer       user_data)
{
  g_autoptr(FerryTransfer) transfer = find_transfer (user_data, parameter);

  if (transfer != NULL && ferry_transfer_get_state (transfer) == FERRY_TRANSFER_STATE_AWAITING_HOST)
    ferry_transfer_reject (transfer, NULL);
}

static void
cancel_activated (GSimpleAction *action,
                  GVariant      *parameter,
                  gpointer       user_data)
{
  g_autoptr(FerryTransfer) transfer = find_transfer (user_data, parameter);

  if (transfer != NULL && !ferry_transfer_is_done (transfer))
    ferry_transfer_cancel (transfer, NULL);
}

static void
show_page_activated (GSimpleAction *action,
                     GVariant      *parameter,
                     gpointer       user_data)
{
  FerryGtkWindow *window = app_window (user_data);

  if (window != NULL)
    ferry_gtk_window_show_page (window, g_variant_get_string (parameter, NULL));
}

static void
screenshot_activated (GSimpleAction *action,
                      GVariant      *parameter,
                      gpointer       user_data)
{
  FerryGtkApp *self = user_data;
  FerryGtkWindow *window = app_window (self);
  const char *path = g_variant_get_string (parameter, NULL);
  g_autoptr(GError) error = NULL;

  if (window == NULL || !ferry_gtk_window_save_screenshot (window, path, &error))
    ferry_gtk_app_event (self, "error", "message", error ? error->message : _("There is no window"), NULL);
}

static void
screenshot_on_progress_activated (GSimpleAction *action,
                                  GVariant      *parameter,
                                  gpointer       user_data)
{
  FerryGtkApp *self = user_data;
  FerryGtkWindow *window = app_window (self);

  if (window != NULL)
    ferry_gtk_window_show_page (window, "transfers");
  g_free (self->screenshot_on_progress);
  self->screenshot_on_progress = g_variant_dup_string (parameter, NULL);
}

static void
quit_activated (GSimpleAction *action,
                GVariant      *parameter,
                gpointer       user_data)
{
  g_application_quit (G_APPLICATION (user_data));
}

static const GActionEntry app_actions[] = {
  { "send", send_activated, "(sas)", NULL, NULL, { 0 } },
  { "accept-all", accept_all_activated, NULL, "false", accept_all_change_state, { 0 } },
  { "accept", accept_activated, "s", NULL, NULL, { 0 } },
  { "reject", reject_activated, "s", NULL, NULL, { 0 } },
  { "cancel", cancel_activated, "s", NULL, NULL, { 0 } },
  { "show-page", show_page_activated, "s", NULL, NULL, { 0 } },
  { "screenshot", screenshot_activated, "s", NULL, NULL, { 0 } },
  { "screenshot-on-progress", screenshot_on_progress_activated, "s", NULL, NULL, { 0 } },
  { "quit", quit_activated, NULL, NULL, NULL, { 0 } },
};

/* GApplication {{{1 */

static void
ferry_gtk_app_startup (GApplication *application)
{
  FerryGtkApp *self = FERRY_GTK_APP (application);
  const char *quit_accels[] = { "<Control>q", NULL };

  G_APPLICATION_CLASS (ferry_gtk_app_parent_class)->startup (application);

  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions, G_N_ELEMENTS (app_actions), self);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.quit", quit_accels);
  if (self->options.accept_all)
    g_action_group_change_action_state (G_ACTION_GROUP (self), "accept-all", g_variant_new_boolean (TRUE));

  if (!open_engine (self, &self->start_error))
    return;
}

static void
ferry_gtk_app_activate (GApplication *application)
{
  FerryGtkApp *self = FERRY_GTK_APP (application);
  FerryIdentity *identity;
  FerryGtkWindow *window;
  g_autofree char *dir = NULL;

  if (self->start_error != NULL)
    {
      g_printerr (_("Cannot start: %s\n"), self->start_error->message);
      ferry_gtk_app_event (self, "error", "message", self->start_error->message, NULL);
      g_application_quit (application);
      return;
    }
  if (app_window (self) != NULL)
    {
      gtk_window_present (GTK_WINDOW (app_window (self)));
      return;
    }

  window = ferry_gtk_window_new (self);
  gtk_window_present (GTK_WINDOW (window));

  identity = ferry_engine_get_identity (self->engine);
  dir = g_file_get_path (self->download_dir);
  ferry_gtk_app_event (self, "ready",
                       "device", ferry_identity_get_device_id (identity),
                       "account", ferry_identity_get_account_id (identity),
                       "name", ferry_identity_get_name (identity),
                       "dir", dir,
                       NULL);
}

static void
ferry_gtk_app_shutdown (GApplication *application)
{
  FerryGtkApp *self = FERRY_GTK_APP (application);

  /* Cancels what is under way and closes every listener. */
  if (self->engine != NULL)
    ferry_engine_stop (self->engine);
  G_APPLICATION_CLASS (ferry_gtk_app_parent_class)->shutdown (application);
}

static void
ferry_gtk_app_finalize (GObject *object)
{
  FerryGtkApp *self = FERRY_GTK_APP (object);

  g_clear_object (&self->engine);
  g_clear_object (&self->download_dir);
  g_clear_error (&self->start_error);
  g_clear_pointer (&self->screenshot_on_progress, g_free);
  ferry_gtk_options_clear (&self->options);
  G_OBJECT_CLASS (ferry_gtk_app_parent_class)->finalize (object);
}

static void
ferry_gtk_app_class_init (FerryGtkAppClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->finalize = ferry_gtk_app_finalize;
  app_class->startup = ferry_gtk_app_startup;
  app_class->activate = ferry_gtk_app_activate;
  app_class->shutdown = ferry_gtk_app_shutdown;
}

static void
ferry_gtk_app_init (FerryGtkApp *self)
{
}

/**
 * ferry_gtk_app_new:
 * @application_id: the D-Bus name, unique per running instance
 * @options: the command line; the application takes its contents
 *
 * Returns: (transfer full): a new application
 */
FerryGtkApp *
ferry_gtk_app_new (const char      *application_id,
                   FerryGtkOptions *options)
{
  FerryGtkApp *self = g_object_new (FERRY_GTK_TYPE_APP,
                                    "application-id", application_id,
                                    "flags", G_APPLICATION_DEFAULT_FLAGS,
                                    NULL);

  self->options = *options;
  memset (options, 0, sizeof *options);
  return self;
}

FerryEngine *
ferry_gtk_app_get_engine (FerryGtkApp *self)
{
  return self->engine;
}

GFile *
ferry_gtk_app_get_download_dir (FerryGtkApp *self)
{
  return self->download_dir;
}

/**
 * ferry_gtk_app_failed:
 * @self: the application
 *
 * Returns: whether the engine could not start
 */
gboolean
ferry_gtk_app_failed (FerryGtkApp *self)
{
  return self->start_error != NULL;
}
