/* ferry-gtk-history.c: past transfers
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The records come from ferry_engine_list_history_async(), newest first. They
 * quote names peers chose: shown as plain text only.
 */

#include "config.h"

#include <glib/gi18n.h>

#include "ferry-gtk.h"

#define MAX_ROWS 200

typedef struct
{
  FerryGtkApp  *app;
  GtkWidget    *list;
  GtkWidget    *stack;
  GCancellable *cancellable;
} HistoryPage;

static void
history_page_free (gpointer data)
{
  HistoryPage *page = data;

  g_cancellable_cancel (page->cancellable);
  g_clear_object (&page->cancellable);
  g_free (page);
}

static char *
record_title (FerryHistoryRecord *record)
{
  GListModel *files = ferry_history_record_get_files (record);
  guint n = g_list_model_get_n_items (files);

  if (n == 1)
    {
      g_autoptr(FerryTransferFile) file = g_list_model_get_item (files, 0);

      return g_strdup (ferry_transfer_file_get_name (file));
    }
  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u file", "%u files", n), n);
}

static char *
record_detail (FerryHistoryRecord *record)
{
  const char *name = ferry_history_record_get_peer_name (record);
  const char *account = ferry_history_record_get_peer_account_id (record);
  GDateTime *created = ferry_history_record_get_created (record);
  g_autofree char *when = created ? g_date_time_format (created, "%x %X") : g_strdup ("");
  g_autofree char *size = g_format_size (ferry_history_record_get_total_size (record));
  g_autofree char *who = g_strdup_printf ("%s (%.8s)", name ? name : _("unknown"), account ? account : "");

  return ferry_history_record_get_direction (record) == FERRY_TRANSFER_DIRECTION_INCOMING
    /* TRANSLATORS: when, the size, the sender */
    ? g_strdup_printf (_("%s  ·  %s from %s"), when, size, who)
    /* TRANSLATORS: when, the size, the receiver */
    : g_strdup_printf (_("%s  ·  %s to %s"), when, size, who);
}

static GtkWidget *
plain (const char *text,
       const char *css_class)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_text (GTK_LABEL (label), text ? text : "");
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  if (css_class != NULL)
    gtk_widget_add_css_class (label, css_class);
  return label;
}

static GtkWidget *
record_row (FerryHistoryRecord *record)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *top = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  gboolean incoming = ferry_history_record_get_direction (record) == FERRY_TRANSFER_DIRECTION_INCOMING;
  g_autofree char *title = record_title (record);
  g_autofree char *detail = record_detail (record);
  const char *chain = ferry_history_record_get_chain (record);
  GtkWidget *title_label = plain (title, "heading");

  gtk_box_append (GTK_BOX (top), gtk_image_new_from_icon_name (incoming ? "folder-download-symbolic" : "document-send-symbolic"));
  gtk_widget_set_hexpand (title_label, TRUE);
  gtk_box_append (GTK_BOX (top), title_label);
  gtk_box_append (GTK_BOX (top),
                  plain (ferry_gtk_state_label (ferry_history_record_get_state (record)), NULL));
  gtk_box_append (GTK_BOX (box), top);
  gtk_box_append (GTK_BOX (box), plain (detail, "dim-label"));
  if (chain != NULL)
    {
      g_autofree char *via = g_strdup_printf (_("via %s"), chain);
      GtkWidget *label = plain (via, "caption");

      gtk_widget_add_css_class (label, "monospace");
      gtk_box_append (GTK_BOX (box), label);
    }
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);
  gtk_widget_set_margin_top (box, 8);
  gtk_widget_set_margin_bottom (box, 8);
  return box;
}

static void
history_listed_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GtkWidget) widget = user_data;
  HistoryPage *page = g_object_get_data (G_OBJECT (widget), "ferry-history-page");
  g_autoptr(GError) error = NULL;
  g_autoptr(GListModel) records = ferry_engine_list_history_finish (FERRY_ENGINE (source), result, &error);
  guint n = records ? g_list_model_get_n_items (records) : 0;
  GtkWidget *child;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || page == NULL)
    return;
  while ((child = gtk_widget_get_first_child (page->list)) != NULL)
    gtk_list_box_remove (GTK_LIST_BOX (page->list), child);
  for (guint i = 0; i < n && i < MAX_ROWS; i++)
    {
      g_autoptr(FerryHistoryRecord) record = g_list_model_get_item (records, i);

      gtk_list_box_append (GTK_LIST_BOX (page->list), record_row (record));
    }
  gtk_stack_set_visible_child_name (GTK_STACK (page->stack), n > 0 ? "list" : "empty");
}

/**
 * ferry_gtk_history_page_refresh:
 * @page: the history page
 *
 * Reads the history again, off the main thread. The engine has no signal
 * for a new record, so the application calls this when a transfer ends.
 */
void
ferry_gtk_history_page_refresh (GtkWidget *widget)
{
  HistoryPage *page = g_object_get_data (G_OBJECT (widget), "ferry-history-page");

  /* Only the latest reading is shown. */
  g_cancellable_cancel (page->cancellable);
  g_clear_object (&page->cancellable);
  page->cancellable = g_cancellable_new ();
  ferry_engine_list_history_async (ferry_gtk_app_get_engine (page->app), page->cancellable,
                                   history_listed_cb, g_object_ref (widget));
}

static void
on_refresh (GtkButton *button,
            GtkWidget *widget)
{
  ferry_gtk_history_page_refresh (widget);
}

/**
 * ferry_gtk_history_page_new:
 * @app: the application
 *
 * Returns: (transfer floating): the page listing past transfers
 */
GtkWidget *
ferry_gtk_history_page_new (FerryGtkApp *app)
{
  HistoryPage *page = g_new0 (HistoryPage, 1);
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *scrolled = gtk_scrolled_window_new ();
  GtkWidget *empty = adw_status_page_new ();
  GtkWidget *refresh = gtk_button_new_with_mnemonic (_("_Refresh"));

  page->app = app;
  page->list = gtk_list_box_new ();
  page->stack = gtk_stack_new ();
  g_object_set_data_full (G_OBJECT (box), "ferry-history-page", page, history_page_free);

  gtk_list_box_set_selection_mode (GTK_LIST_BOX (page->list), GTK_SELECTION_NONE);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scrolled), page->list);
  adw_status_page_set_icon_name (ADW_STATUS_PAGE (empty), "document-open-recent-symbolic");
  adw_status_page_set_title (ADW_STATUS_PAGE (empty), _("No History"));
  gtk_stack_add_named (GTK_STACK (page->stack), empty, "empty");
  gtk_stack_add_named (GTK_STACK (page->stack), scrolled, "list");
  gtk_widget_set_vexpand (page->stack, TRUE);

  gtk_widget_set_halign (refresh, GTK_ALIGN_END);
  gtk_widget_set_margin_top (refresh, 6);
  gtk_widget_set_margin_end (refresh, 6);
  g_signal_connect (refresh, "clicked", G_CALLBACK (on_refresh), box);
  gtk_box_append (GTK_BOX (box), refresh);
  gtk_box_append (GTK_BOX (box), page->stack);
  ferry_gtk_history_page_refresh (box);
  return box;
}
