/* ferry-gtk-offer.c: an incoming offer, as a dialog
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The sender's name, its ids and the file names are what a peer sent:
 * they are shown as plain text (heading and body without markup, labels
 * through gtk_label_set_text()), never parsed as markup.
 */

#include "config.h"

#include <glib/gi18n.h>

#include "ferry-gtk.h"

#define MAX_LISTED 20

typedef struct
{
  FerryGtkApp   *app;
  FerryTransfer *transfer;
  gulong         state_handler;
} Offer;

static void
offer_free (gpointer data)
{
  Offer *offer = data;

  g_clear_signal_handler (&offer->state_handler, offer->transfer);
  g_object_unref (offer->app);
  g_object_unref (offer->transfer);
  g_free (offer);
}

static void
on_response (AdwMessageDialog *dialog,
             const char       *response,
             Offer            *offer)
{
  /* The dialog closes itself after a response. */
  g_clear_signal_handler (&offer->state_handler, offer->transfer);
  if (ferry_transfer_get_state (offer->transfer) != FERRY_TRANSFER_STATE_AWAITING_HOST)
    return;
  if (g_strcmp0 (response, "accept") == 0)
    ferry_transfer_accept (offer->transfer, ferry_gtk_app_get_download_dir (offer->app));
  else
    ferry_transfer_reject (offer->transfer, NULL);
}

/* The sender gave up, or the offer expired: nothing left to answer. */
static void
on_state (FerryTransfer *transfer,
          GParamSpec    *pspec,
          GtkWindow     *dialog)
{
  if (ferry_transfer_get_state (transfer) != FERRY_TRANSFER_STATE_AWAITING_HOST)
    gtk_window_destroy (dialog);
}

static GtkWidget *
plain (const char *text,
       gboolean    monospace)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_text (GTK_LABEL (label), text);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD_CHAR);
  gtk_label_set_selectable (GTK_LABEL (label), monospace);
  if (monospace)
    {
      gtk_widget_add_css_class (label, "monospace");
      gtk_widget_add_css_class (label, "caption");
    }
  return label;
}

static GtkWidget *
build_details (FerryTransfer *transfer)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  FerryDevice *device = ferry_transfer_get_device (transfer);
  GListModel *files = ferry_transfer_get_files (transfer);
  guint n = g_list_model_get_n_items (files);
  g_autofree char *account = g_strdup_printf (_("Account %s"), device ? ferry_device_get_account_id (device) : "?");
  g_autofree char *device_text = g_strdup_printf (_("Device %s"), device ? ferry_device_get_device_id (device) : "?");

  gtk_box_append (GTK_BOX (box), plain (account, TRUE));
  gtk_box_append (GTK_BOX (box), plain (device_text, TRUE));
  for (guint i = 0; i < n && i < MAX_LISTED; i++)
    {
      g_autoptr(FerryTransferFile) file = g_list_model_get_item (files, i);
      g_autofree char *size = g_format_size (ferry_transfer_file_get_size (file));
      /* TRANSLATORS: a file name, then its size */
      g_autofree char *line = g_strdup_printf (_("%s (%s)"), ferry_transfer_file_get_name (file), size);

      gtk_box_append (GTK_BOX (box), plain (line, FALSE));
    }
  if (n > MAX_LISTED)
    {
      g_autofree char *more = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "and %u more file",
                                                            "and %u more files", n - MAX_LISTED),
                                               n - MAX_LISTED);

      gtk_box_append (GTK_BOX (box), plain (more, FALSE));
    }
  return box;
}

/**
 * ferry_gtk_offer_present:
 * @app: the application
 * @parent: (nullable): the window the dialog belongs to
 * @transfer: an incoming transfer in the awaiting-host state
 *
 * Asks whether to accept @transfer, showing who sends what.
 */
void
ferry_gtk_offer_present (FerryGtkApp   *app,
                         GtkWindow     *parent,
                         FerryTransfer *transfer)
{
  FerryDevice *device = ferry_transfer_get_device (transfer);
  g_autofree char *size = g_format_size (ferry_transfer_get_total_size (transfer));
  g_autofree char *title = ferry_gtk_transfer_title (transfer);
  /* TRANSLATORS: the sender's name, what it sends (a file name or "3 files"), the size */
  g_autofree char *body = g_strdup_printf (_("“%s” wants to send you %s (%s)."),
                                           device ? ferry_device_get_name (device) : _("unknown"),
                                           title, size);
  GtkWidget *dialog = adw_message_dialog_new (parent, _("Incoming Files"), NULL);
  Offer *offer = g_new0 (Offer, 1);

  offer->app = g_object_ref (app);
  offer->transfer = g_object_ref (transfer);
  adw_message_dialog_set_heading_use_markup (ADW_MESSAGE_DIALOG (dialog), FALSE);
  adw_message_dialog_set_body_use_markup (ADW_MESSAGE_DIALOG (dialog), FALSE);
  adw_message_dialog_set_body (ADW_MESSAGE_DIALOG (dialog), body);
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), build_details (transfer));
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "reject", _("_Reject"),
                                    "accept", _("_Accept"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "accept",
                                              ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "accept");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "reject");

  g_object_set_data_full (G_OBJECT (dialog), "ferry-offer", offer, offer_free);
  g_signal_connect (dialog, "response", G_CALLBACK (on_response), offer);
  offer->state_handler = g_signal_connect (transfer, "notify::state", G_CALLBACK (on_state), dialog);
  gtk_window_present (GTK_WINDOW (dialog));
  ferry_gtk_app_event (app, "dialog", "id", ferry_transfer_get_id (transfer), NULL);
}
