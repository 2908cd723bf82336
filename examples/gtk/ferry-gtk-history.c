/* ferry-gtk-history.c: past transfers
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The records come from ferry_engine_get_history(), newest first. They
 * quote names peers chose: shown as plain text only.
 */

#include "config.h"

#include <glib/gi18n.h>

#include "ferry-gtk.h"

#define MAX_ROWS 200

typedef struct
{
  FerryGtkApp *app;
  GtkWidget   *list;
  GtkWidget   *stack;
} HistoryPage;

static const char *
state_label (const char *nick)
{
  GEnumClass *klass = g_type_class_ref (FERRY_TYPE_TRANSFER_STATE);
  GEnumValue *value = g_enum_get_value_by_nick (klass, nick ? nick : "");
  const char *text = value ? ferry_gtk_state_label (value->value) : nick;

  g_type_class_unref (klass);
  return text ? text : _("Unknown");
}

static char *
record_title (JsonObject *record)
{
  JsonNode *node = json_object_get_member (record, "files");
  JsonArray *files = node && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
  guint n = files ? json_array_get_length (files) : 0;

  if (n == 1 && JSON_NODE_HOLDS_OBJECT (json_array_get_element (files, 0)))
    {
      JsonObject *file = json_array_get_object_element (files, 0);

      return g_strdup (json_object_get_string_member_with_default (file, "name", "?"));
    }
  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u file", "%u files", n), n);
}

static char *
record_detail (JsonObject *record)
{
  JsonNode *peer_node = json_object_get_member (record, "peer");
  JsonObject *peer = peer_node && JSON_NODE_HOLDS_OBJECT (peer_node) ? json_node_get_object (peer_node) : NULL;
  const char *name = peer ? json_object_get_string_member_with_default (peer, "name", NULL) : NULL;
  const char *account = peer ? json_object_get_string_member_with_default (peer, "account", "") : "";
  gint64 created = json_object_get_int_member_with_default (record, "created", 0);
  g_autoptr(GDateTime) utc = g_date_time_new_from_unix_utc (created / 1000);
  g_autoptr(GDateTime) local = utc ? g_date_time_to_local (utc) : NULL;
  g_autofree char *when = local ? g_date_time_format (local, "%x %X") : g_strdup ("");
  g_autofree char *size = g_format_size (json_object_get_int_member_with_default (record, "total", 0));
  gboolean incoming = g_strcmp0 (json_object_get_string_member_with_default (record, "direction", ""),
                                 "incoming") == 0;
  g_autofree char *who = g_strdup_printf ("%s (%.8s)", name ? name : _("unknown"), account);

  return incoming
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
record_row (JsonObject *record)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *top = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  gboolean incoming = g_strcmp0 (json_object_get_string_member_with_default (record, "direction", ""),
                                 "incoming") == 0;
  g_autofree char *title = record_title (record);
  g_autofree char *detail = record_detail (record);
  const char *chain = json_object_get_string_member_with_default (record, "chain", NULL);
  GtkWidget *title_label = plain (title, "heading");

  gtk_box_append (GTK_BOX (top), gtk_image_new_from_icon_name (incoming ? "folder-download-symbolic" : "document-send-symbolic"));
  gtk_widget_set_hexpand (title_label, TRUE);
  gtk_box_append (GTK_BOX (top), title_label);
  gtk_box_append (GTK_BOX (top),
                  plain (state_label (json_object_get_string_member_with_default (record, "state", NULL)), NULL));
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

/**
 * ferry_gtk_history_page_refresh:
 * @page: the history page
 *
 * Reads the history again. The engine has no signal for a new record, so
 * the application calls this when a transfer ends.
 */
void
ferry_gtk_history_page_refresh (GtkWidget *widget)
{
  HistoryPage *page = g_object_get_data (G_OBJECT (widget), "ferry-history-page");
  g_autoptr(JsonArray) records = ferry_engine_get_history (ferry_gtk_app_get_engine (page->app));
  guint n = records ? json_array_get_length (records) : 0;
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (page->list)) != NULL)
    gtk_list_box_remove (GTK_LIST_BOX (page->list), child);
  for (guint i = 0; i < n && i < MAX_ROWS; i++)
    {
      JsonNode *node = json_array_get_element (records, i);

      if (JSON_NODE_HOLDS_OBJECT (node))
        gtk_list_box_append (GTK_LIST_BOX (page->list), record_row (json_node_get_object (node)));
    }
  gtk_stack_set_visible_child_name (GTK_STACK (page->stack), n > 0 ? "list" : "empty");
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
  g_object_set_data_full (G_OBJECT (box), "ferry-history-page", page, g_free);

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
