/* ferry-gtk-window.c: the main window, its pages and its screenshots
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <glib/gi18n.h>

#include "ferry-gtk.h"

struct _FerryGtkWindow
{
  AdwApplicationWindow  parent_instance;

  FerryGtkApp          *app;
  AdwToastOverlay      *toasts;
  AdwViewStack         *stack;
  GtkWidget            *history;
  GtkWidget            *transfers;
};

G_DEFINE_FINAL_TYPE (FerryGtkWindow, ferry_gtk_window, ADW_TYPE_APPLICATION_WINDOW)

/* Screenshots {{{1 */

typedef struct
{
  FerryGtkWindow *window;
  char           *path;
  gulong          handler;
} Screenshot;

static gboolean
any_transfer_ongoing (FerryGtkWindow *self)
{
  GListModel *transfers = ferry_engine_get_transfers (ferry_gtk_app_get_engine (self->app));

  for (guint i = 0; i < g_list_model_get_n_items (transfers); i++)
    {
      g_autoptr(FerryTransfer) transfer = g_list_model_get_item (transfers, i);

      if (ferry_transfer_get_state (transfer) == FERRY_TRANSFER_STATE_ONGOING)
        return TRUE;
    }
  return FALSE;
}

/* Dialogs over the window, centred as a window manager would place them:
 * the picture shows what the user sees, with or without one. */
static void
snapshot_dialogs (FerryGtkWindow *self,
                  GtkSnapshot    *snapshot,
                  int             width,
                  int             height)
{
  g_autoptr(GList) windows = gtk_window_list_toplevels ();

  for (GList *l = windows; l != NULL; l = l->next)
    {
      GtkWidget *dialog = l->data;
      g_autoptr(GdkPaintable) paintable = NULL;
      int w = gtk_widget_get_width (dialog), h = gtk_widget_get_height (dialog);

      if (dialog == GTK_WIDGET (self) || !gtk_widget_get_mapped (dialog) ||
          gtk_window_get_transient_for (GTK_WINDOW (dialog)) != GTK_WINDOW (self))
        continue;
      paintable = gtk_widget_paintable_new (dialog);
      gtk_snapshot_save (snapshot);
      gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (MAX (0, (width - w) / 2),
                                                              MAX (0, (height - h) / 2)));
      gdk_paintable_snapshot (paintable, snapshot, w, h);
      gtk_snapshot_restore (snapshot);
    }
}

/* The window as GTK draws it: its render nodes, rendered by the window's
 * own renderer into a texture. This needs no screen grabber and works the
 * same under Xvfb, X11 and Wayland. */
static gboolean
save_now (FerryGtkWindow  *self,
          const char      *path,
          GError         **error)
{
  int width = gtk_widget_get_width (GTK_WIDGET (self));
  int height = gtk_widget_get_height (GTK_WIDGET (self));
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (GTK_WIDGET (self));
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  GskRenderer *renderer = gtk_native_get_renderer (GTK_NATIVE (self));

  gdk_paintable_snapshot (paintable, snapshot, width, height);
  snapshot_dialogs (self, snapshot, width, height);
  node = gtk_snapshot_free_to_node (snapshot);
  if (node == NULL || renderer == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED,
                           _("The window has nothing to show yet"));
      return FALSE;
    }
  texture = gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, width, height));
  if (!gdk_texture_save_to_png (texture, path))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("Cannot write %s"), path);
      return FALSE;
    }
  return TRUE;
}

static void
on_after_paint (GdkFrameClock *clock,
                Screenshot    *shot)
{
  FerryGtkWindow *self = shot->window;
  g_autoptr(GError) error = NULL;
  gboolean ongoing = any_transfer_ongoing (self);

  g_signal_handler_disconnect (clock, shot->handler);
  if (save_now (self, shot->path, &error))
    ferry_gtk_app_event (self->app, "screenshot",
                         "path", shot->path,
                         "ongoing", ongoing ? "true" : "false",
                         NULL);
  else
    ferry_gtk_app_event (self->app, "error", "message", error->message, NULL);
  g_object_unref (shot->window);
  g_free (shot->path);
  g_free (shot);
}

/**
 * ferry_gtk_window_save_screenshot:
 * @self: the window
 * @path: where to write the PNG
 * @error: return location for a #GError
 *
 * Saves the window as a PNG once its next frame is painted, so that the
 * picture shows the state the window is in now.
 *
 * Returns: %FALSE when the window is not on screen
 */
gboolean
ferry_gtk_window_save_screenshot (FerryGtkWindow  *self,
                                  const char      *path,
                                  GError         **error)
{
  GdkFrameClock *clock = gtk_widget_get_frame_clock (GTK_WIDGET (self));
  Screenshot *shot;

  if (clock == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED,
                           _("The window is not on screen"));
      return FALSE;
    }
  ferry_gtk_transfers_page_refresh (self->transfers);
  shot = g_new0 (Screenshot, 1);
  shot->window = g_object_ref (self);
  shot->path = g_strdup (path);
  shot->handler = g_signal_connect (clock, "after-paint", G_CALLBACK (on_after_paint), shot);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  return TRUE;
}

/* Pages {{{1 */

/**
 * ferry_gtk_window_show_page:
 * @self: the window
 * @name: `devices`, `send`, `transfers` or `history`
 */
void
ferry_gtk_window_show_page (FerryGtkWindow *self,
                            const char     *name)
{
  if (adw_view_stack_get_child_by_name (self->stack, name) != NULL)
    adw_view_stack_set_visible_child_name (self->stack, name);
}

void
ferry_gtk_window_toast (FerryGtkWindow *self,
                        const char     *message)
{
  /* The message may quote what a peer sent, and a toast title is markup
   * in libadwaita 1.2: escape it, so that it shows as plain text. */
  g_autofree char *escaped = g_markup_escape_text (message, -1);

  adw_toast_overlay_add_toast (self->toasts, adw_toast_new (escaped));
}

void
ferry_gtk_window_refresh_history (FerryGtkWindow *self)
{
  ferry_gtk_history_page_refresh (self->history);
}

static GtkWidget *
build_header (FerryGtkWindow *self,
              GtkWidget     **bar)
{
  FerryIdentity *identity = ferry_engine_get_identity (ferry_gtk_app_get_engine (self->app));
  GtkWidget *header = adw_header_bar_new ();
  GtkWidget *title = adw_view_switcher_title_new ();
  GtkWidget *menu = gtk_menu_button_new ();
  g_autoptr(GMenu) model = g_menu_new ();

  adw_view_switcher_title_set_stack (ADW_VIEW_SWITCHER_TITLE (title), self->stack);
  adw_view_switcher_title_set_title (ADW_VIEW_SWITCHER_TITLE (title), _("Ferry"));
  adw_view_switcher_title_set_subtitle (ADW_VIEW_SWITCHER_TITLE (title),
                                        ferry_identity_get_name (identity));
  adw_header_bar_set_title_widget (ADW_HEADER_BAR (header), title);

  g_menu_append (model, _("Accept Every Transfer"), "app.accept-all");
  g_menu_append (model, _("Quit"), "app.quit");
  gtk_menu_button_set_icon_name (GTK_MENU_BUTTON (menu), "open-menu-symbolic");
  gtk_menu_button_set_menu_model (GTK_MENU_BUTTON (menu), G_MENU_MODEL (model));
  adw_header_bar_pack_end (ADW_HEADER_BAR (header), menu);

  *bar = adw_view_switcher_bar_new ();
  adw_view_switcher_bar_set_stack (ADW_VIEW_SWITCHER_BAR (*bar), self->stack);
  g_object_bind_property (title, "title-visible", *bar, "reveal", G_BINDING_SYNC_CREATE);
  return header;
}

static void
on_visible_page (AdwViewStack   *stack,
                 GParamSpec     *pspec,
                 FerryGtkWindow *self)
{
  if (g_strcmp0 (adw_view_stack_get_visible_child_name (stack), "history") == 0)
    ferry_gtk_history_page_refresh (self->history);
}

static void
add_page (FerryGtkWindow *self,
          GtkWidget      *page,
          const char     *name,
          const char     *title,
          const char     *icon)
{
  AdwViewStackPage *stack_page = adw_view_stack_add_titled (self->stack, page, name, title);

  adw_view_stack_page_set_icon_name (stack_page, icon);
}

static void
ferry_gtk_window_build (FerryGtkWindow *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *header, *bar;

  self->stack = ADW_VIEW_STACK (adw_view_stack_new ());
  gtk_widget_set_vexpand (GTK_WIDGET (self->stack), TRUE);
  self->history = ferry_gtk_history_page_new (self->app);
  add_page (self, ferry_gtk_peers_page_new (self->app), "devices", _("Devices"),
            "network-workgroup-symbolic");
  add_page (self, ferry_gtk_send_page_new (self->app), "send", _("Send"),
            "document-send-symbolic");
  self->transfers = ferry_gtk_transfers_page_new (self->app);
  add_page (self, self->transfers, "transfers", _("Transfers"),
            "folder-download-symbolic");
  add_page (self, self->history, "history", _("History"), "document-open-recent-symbolic");

  g_signal_connect_object (self->stack, "notify::visible-child", G_CALLBACK (on_visible_page), self, 0);
  header = build_header (self, &bar);
  gtk_box_append (GTK_BOX (box), header);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->stack));
  gtk_box_append (GTK_BOX (box), bar);

  self->toasts = ADW_TOAST_OVERLAY (adw_toast_overlay_new ());
  adw_toast_overlay_set_child (self->toasts, box);
  adw_application_window_set_content (ADW_APPLICATION_WINDOW (self), GTK_WIDGET (self->toasts));
}

/* GObject {{{1 */

static void
ferry_gtk_window_class_init (FerryGtkWindowClass *klass)
{
}

static void
ferry_gtk_window_init (FerryGtkWindow *self)
{
}

/**
 * ferry_gtk_window_new:
 * @app: the application, with its engine started
 *
 * Returns: (transfer floating): the main window
 */
FerryGtkWindow *
ferry_gtk_window_new (FerryGtkApp *app)
{
  FerryGtkWindow *self = g_object_new (FERRY_GTK_TYPE_WINDOW,
                                       "application", app,
                                       "title", _("Ferry"),
                                       "default-width", 720,
                                       "default-height", 560,
                                       NULL);

  self->app = app;
  ferry_gtk_window_build (self);
  return self;
}
