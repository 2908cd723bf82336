/* ferry-gtk-transfers.c: a row per transfer
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Each row follows one FerryTransfer of the engine's transfers model:
 * progress, rate, time left, the state of each receiving device, the
 * chain that carries it, and a cancel button. Rows redraw at most four
 * times a second, however often the transfer notifies.
 */

#include "config.h"

#include <glib/gi18n.h>

#include "ferry-gtk.h"

#define REFRESH_MS 250

/* States {{{1 */

/**
 * ferry_gtk_state_label:
 * @state: a transfer state
 *
 * Returns: the state, as the window shows it
 */
const char *
ferry_gtk_state_label (FerryTransferState state)
{
  switch (state)
    {
    case FERRY_TRANSFER_STATE_CREATED: return _("Starting");
    case FERRY_TRANSFER_STATE_AWAITING_PEER: return _("Waiting for the receiver");
    case FERRY_TRANSFER_STATE_AWAITING_HOST: return _("Waiting for your answer");
    case FERRY_TRANSFER_STATE_ONGOING: return _("Transferring");
    case FERRY_TRANSFER_STATE_FINISHED: return _("Done, verified");
    case FERRY_TRANSFER_STATE_CANCELLED: return _("Cancelled");
    case FERRY_TRANSFER_STATE_ERROR: return _("Failed");
    case FERRY_TRANSFER_STATE_UNJOINABLE_PEER: return _("Device unreachable");
    case FERRY_TRANSFER_STATE_TIMEOUT_EXPIRED: return _("Timed out");
    default: return _("Unknown");
    }
}

/**
 * ferry_gtk_state_nick:
 * @state: a transfer state
 *
 * Returns: the state's nick, for scripts
 */
const char *
ferry_gtk_state_nick (FerryTransferState state)
{
  GEnumClass *klass = g_type_class_ref (FERRY_TYPE_TRANSFER_STATE);
  GEnumValue *value = g_enum_get_value (klass, state);

  g_type_class_unref (klass);
  return value != NULL ? value->value_nick : "unknown";
}

gboolean
ferry_gtk_state_is_final (FerryTransferState state)
{
  return state >= FERRY_TRANSFER_STATE_FINISHED;
}

/**
 * ferry_gtk_transfer_title:
 * @transfer: a transfer
 *
 * Returns: (transfer full): its file name, or how many files it carries
 */
char *
ferry_gtk_transfer_title (FerryTransfer *transfer)
{
  GListModel *files = ferry_transfer_get_files (transfer);
  guint n = files ? g_list_model_get_n_items (files) : 0;

  if (n == 1)
    {
      g_autoptr(FerryTransferFile) file = g_list_model_get_item (files, 0);

      return g_strdup (ferry_transfer_file_get_name (file));
    }
  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u file", "%u files", n), n);
}

/* A row {{{1 */

typedef struct
{
  FerryGtkApp   *app;
  FerryTransfer *transfer;
  GtkWidget     *title;
  GtkWidget     *state;
  GtkWidget     *peer;
  GtkWidget     *progress;
  GtkWidget     *detail;
  GtkWidget     *chain;
  GtkWidget     *devices;
  GtkWidget     *cancel;
  guint          timer;
} Row;

static void
row_free (gpointer data)
{
  Row *row = data;

  g_clear_handle_id (&row->timer, g_source_remove);
  g_object_unref (row->transfer);
  g_free (row);
}

static char *
format_eta (guint64 seconds)
{
  if (seconds < 60)
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u second left", "%u seconds left",
                                         (guint) seconds), (guint) seconds);
  if (seconds < 3600)
    return g_strdup_printf (_("%u:%02u left"), (guint) (seconds / 60), (guint) (seconds % 60));
  return g_strdup_printf (_("%u:%02u:%02u left"), (guint) (seconds / 3600),
                          (guint) (seconds / 60 % 60), (guint) (seconds % 60));
}

static char *
format_detail (FerryTransfer *transfer)
{
  guint64 bytes = ferry_transfer_get_bytes (transfer);
  guint64 total = ferry_transfer_get_total_size (transfer);
  double rate = ferry_transfer_get_rate (transfer);
  g_autofree char *done = g_format_size (bytes);
  g_autofree char *all = g_format_size (total);
  g_autofree char *speed = NULL;
  g_autofree char *eta = NULL;

  if (ferry_transfer_get_state (transfer) != FERRY_TRANSFER_STATE_ONGOING || rate <= 0)
    /* TRANSLATORS: bytes so far, then the size of the transfer */
    return g_strdup_printf (_("%s of %s"), done, all);

  speed = g_format_size ((guint64) rate);
  eta = format_eta (total > bytes ? (guint64) ((total - bytes) / rate) : 0);
  /* TRANSLATORS: bytes so far, the size, the rate (e.g. "12 MB"), the time left */
  return g_strdup_printf (_("%s of %s  ·  %s/s  ·  %s"), done, all, speed, eta);
}

static char *
device_name (FerryDevice *device)
{
  if (device == NULL)
    return g_strdup (_("unknown device"));
  /* TRANSLATORS: a device name, then the start of its id */
  return g_strdup_printf (_("%s (%.8s)"), ferry_device_get_name (device),
                          ferry_device_get_device_id (device));
}

/* One line per receiving device, or the one device at the other end. */
static void
update_devices (Row *row)
{
  GListModel *subs = ferry_transfer_get_sub_transfers (row->transfer);
  guint n = subs ? g_list_model_get_n_items (subs) : 0;
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(FerryTransfer) sub = g_list_model_get_item (subs, i);
      g_autofree char *name = device_name (ferry_transfer_get_device (sub));
      const GError *error = ferry_transfer_get_error (sub);

      if (text->len > 0)
        g_string_append_c (text, '\n');
      /* TRANSLATORS: a device, then its state */
      g_string_append_printf (text, _("%s: %s"), name, ferry_gtk_state_label (ferry_transfer_get_state (sub)));
      if (error != NULL)
        g_string_append_printf (text, " (%s)", error->message);
    }
  gtk_label_set_text (GTK_LABEL (row->devices), text->str);
  gtk_widget_set_visible (row->devices, text->len > 0);
  g_string_free (text, TRUE);
}

static void
update_row (Row *row)
{
  FerryTransfer *transfer = row->transfer;
  FerryTransferState state = ferry_transfer_get_state (transfer);
  guint64 total = ferry_transfer_get_total_size (transfer);
  const GError *error = ferry_transfer_get_error (transfer);
  const char *chain = ferry_transfer_get_chain (transfer);
  g_autofree char *detail = format_detail (transfer);
  g_autofree char *peer = device_name (ferry_transfer_get_device (transfer));
  g_autofree char *chain_text = chain ? g_strdup_printf (_("via %s"), chain) : NULL;
  g_autofree char *state_text = error ? g_strdup_printf ("%s: %s", ferry_gtk_state_label (state), error->message)
                                      : g_strdup (ferry_gtk_state_label (state));

  gtk_label_set_text (GTK_LABEL (row->state), state_text);
  gtk_label_set_text (GTK_LABEL (row->peer), peer);
  gtk_label_set_text (GTK_LABEL (row->detail), detail);
  gtk_label_set_text (GTK_LABEL (row->chain), chain_text ? chain_text : "");
  gtk_widget_set_visible (row->chain, chain != NULL);
  gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (row->progress),
                                 total > 0 ? (double) ferry_transfer_get_bytes (transfer) / total
                                           : state == FERRY_TRANSFER_STATE_FINISHED);
  gtk_widget_set_sensitive (row->cancel, !ferry_transfer_is_done (transfer));
  gtk_widget_set_visible (row->cancel, !ferry_transfer_is_done (transfer));
  update_devices (row);
}

static gboolean
on_timer (gpointer data)
{
  Row *row = data;

  update_row (row);
  if (ferry_transfer_is_done (row->transfer))
    {
      row->timer = 0;
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static void
on_state (FerryTransfer *transfer,
          GParamSpec    *pspec,
          GtkWidget     *widget)
{
  Row *row = g_object_get_data (G_OBJECT (widget), "ferry-transfer-row");

  update_row (row);
  if (!ferry_transfer_is_done (transfer) && row->timer == 0)
    row->timer = g_timeout_add (REFRESH_MS, on_timer, row);
}

static void
on_cancel (GtkButton *button,
           Row       *row)
{
  if (!ferry_transfer_is_done (row->transfer))
    ferry_transfer_cancel (row->transfer, NULL);
}

static GtkWidget *
label (const char *css_class)
{
  GtkWidget *widget = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (widget), 0);
  gtk_label_set_ellipsize (GTK_LABEL (widget), PANGO_ELLIPSIZE_END);
  if (css_class != NULL)
    gtk_widget_add_css_class (widget, css_class);
  return widget;
}

static GtkWidget *
build_row (Row *row)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 4);
  GtkWidget *top = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  gboolean incoming = ferry_transfer_get_direction (row->transfer) == FERRY_TRANSFER_DIRECTION_INCOMING;
  g_autofree char *title = ferry_gtk_transfer_title (row->transfer);

  gtk_box_append (GTK_BOX (top), gtk_image_new_from_icon_name (incoming ? "folder-download-symbolic" : "document-send-symbolic"));
  row->title = label ("heading");
  gtk_label_set_text (GTK_LABEL (row->title), title);
  gtk_widget_set_hexpand (row->title, TRUE);
  gtk_box_append (GTK_BOX (top), row->title);
  row->state = label (NULL);
  gtk_box_append (GTK_BOX (top), row->state);
  row->cancel = gtk_button_new_from_icon_name ("process-stop-symbolic");
  gtk_widget_set_tooltip_text (row->cancel, _("Cancel"));
  gtk_widget_add_css_class (row->cancel, "flat");
  g_signal_connect (row->cancel, "clicked", G_CALLBACK (on_cancel), row);
  gtk_box_append (GTK_BOX (top), row->cancel);
  gtk_box_append (GTK_BOX (box), top);

  row->peer = label ("dim-label");
  row->progress = gtk_progress_bar_new ();
  row->detail = label ("caption");
  row->chain = label ("caption");
  gtk_widget_add_css_class (row->chain, "monospace");
  row->devices = label ("caption");
  gtk_label_set_ellipsize (GTK_LABEL (row->devices), PANGO_ELLIPSIZE_NONE);
  gtk_label_set_wrap (GTK_LABEL (row->devices), TRUE);
  gtk_box_append (GTK_BOX (box), row->peer);
  gtk_box_append (GTK_BOX (box), row->progress);
  gtk_box_append (GTK_BOX (box), row->detail);
  gtk_box_append (GTK_BOX (box), row->chain);
  gtk_box_append (GTK_BOX (box), row->devices);
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);
  gtk_widget_set_margin_top (box, 10);
  gtk_widget_set_margin_bottom (box, 10);
  return box;
}

static GtkWidget *
create_transfer_row (gpointer item,
                     gpointer user_data)
{
  Row *row = g_new0 (Row, 1);
  GtkWidget *widget;

  row->app = user_data;
  row->transfer = g_object_ref (FERRY_TRANSFER (item));
  widget = build_row (row);
  g_object_set_data_full (G_OBJECT (widget), "ferry-transfer-row", row, row_free);
  /* The row lives as long as the widget: the handlers go with it. */
  g_signal_connect_object (row->transfer, "notify::state", G_CALLBACK (on_state), widget, 0);
  g_signal_connect_object (row->transfer, "notify::chain", G_CALLBACK (on_state), widget, 0);
  on_state (row->transfer, NULL, widget);
  return widget;
}

/* The page {{{1 */

/**
 * ferry_gtk_transfers_page_refresh:
 * @page: the transfers page
 *
 * Brings every row up to date now, rather than at its next tick: before a
 * screenshot, so that the picture shows the transfers as they are.
 */
void
ferry_gtk_transfers_page_refresh (GtkWidget *page)
{
  GtkWidget *list = g_object_get_data (G_OBJECT (page), "ferry-transfers-list");

  for (GtkWidget *child = gtk_widget_get_first_child (list); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *box = GTK_IS_LIST_BOX_ROW (child) ? gtk_list_box_row_get_child (GTK_LIST_BOX_ROW (child)) : NULL;
      Row *row = box ? g_object_get_data (G_OBJECT (box), "ferry-transfer-row") : NULL;

      if (row != NULL)
        update_row (row);
    }
}

static void
on_transfers_changed (GListModel *transfers,
                      guint       position,
                      guint       removed,
                      guint       added,
                      GtkStack   *stack)
{
  gtk_stack_set_visible_child_name (stack, g_list_model_get_n_items (transfers) > 0 ? "list" : "empty");
}

/**
 * ferry_gtk_transfers_page_new:
 * @app: the application
 *
 * Returns: (transfer floating): the page with a row per transfer
 */
GtkWidget *
ferry_gtk_transfers_page_new (FerryGtkApp *app)
{
  GListModel *transfers = ferry_engine_get_transfers (ferry_gtk_app_get_engine (app));
  GtkWidget *list = gtk_list_box_new ();
  GtkWidget *scrolled = gtk_scrolled_window_new ();
  GtkWidget *stack = gtk_stack_new ();
  GtkWidget *empty = adw_status_page_new ();

  gtk_list_box_set_selection_mode (GTK_LIST_BOX (list), GTK_SELECTION_NONE);
  gtk_list_box_bind_model (GTK_LIST_BOX (list), transfers, create_transfer_row, app, NULL);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scrolled), list);

  adw_status_page_set_icon_name (ADW_STATUS_PAGE (empty), "folder-download-symbolic");
  adw_status_page_set_title (ADW_STATUS_PAGE (empty), _("No Transfers"));
  adw_status_page_set_description (ADW_STATUS_PAGE (empty),
                                   _("Files you send or receive show up here while they move."));
  gtk_stack_add_named (GTK_STACK (stack), empty, "empty");
  gtk_stack_add_named (GTK_STACK (stack), scrolled, "list");
  g_signal_connect_object (transfers, "items-changed", G_CALLBACK (on_transfers_changed), stack, 0);
  on_transfers_changed (transfers, 0, 0, 0, GTK_STACK (stack));
  g_object_set_data (G_OBJECT (stack), "ferry-transfers-list", list);
  return stack;
}
