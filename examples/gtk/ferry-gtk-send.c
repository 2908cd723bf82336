/* ferry-gtk-send.c: the send page
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Files come from a file chooser or are dropped on the page; a folder
 * stands for the regular files under it (ferry_gtk_expand_files_async(),
 * which app.send uses too). A device is picked from every
 * device of every peer seen.
 */

#include "config.h"

#include <glib/gi18n.h>

#include "ferry-gtk.h"

#define MAX_FILES 10000

typedef struct
{
  FerryGtkApp *app;
  GListStore  *files;     /* of GFile, as picked: files and folders */
  GListModel  *devices;
  GtkWidget   *picker;
  GtkWidget   *send;
} SendPage;

static void
send_page_free (gpointer data)
{
  SendPage *page = data;

  g_object_unref (page->files);
  g_object_unref (page->devices);
  g_free (page);
}

static void
update_sensitivity (SendPage *page)
{
  gboolean ready = g_list_model_get_n_items (G_LIST_MODEL (page->files)) > 0 &&
                   gtk_drop_down_get_selected_item (GTK_DROP_DOWN (page->picker)) != NULL;

  gtk_widget_set_sensitive (page->send, ready);
}

static void
add_file (SendPage *page,
          GFile    *file)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (page->files));

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GFile) known = g_list_model_get_item (G_LIST_MODEL (page->files), i);

      if (g_file_equal (known, file))
        return;
    }
  g_list_store_append (page->files, file);
  update_sensitivity (page);
}

/* Folders to regular files, in a thread {{{1 */

static gboolean
expand (GFile        *file,
        GPtrArray    *out,
        guint         depth,
        GCancellable *cancellable,
        GError      **error)
{
  g_autoptr(GFileEnumerator) children = NULL;
  GFileType type = g_file_query_file_type (file, G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, cancellable);

  if (type == G_FILE_TYPE_REGULAR)
    {
      if (out->len >= MAX_FILES)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_TOO_MANY_OPEN_FILES,
                       _("More than %u files"), MAX_FILES);
          return FALSE;
        }
      g_ptr_array_add (out, g_object_ref (file));
      return TRUE;
    }
  if (type != G_FILE_TYPE_DIRECTORY || depth > 32)
    return TRUE;   /* symbolic links, devices, sockets: skipped */

  children = g_file_enumerate_children (file, G_FILE_ATTRIBUTE_STANDARD_NAME,
                                        G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, cancellable, error);
  if (children == NULL)
    return FALSE;
  for (;;)
    {
      GFile *child;

      if (!g_file_enumerator_iterate (children, NULL, &child, cancellable, error))
        return FALSE;
      if (child == NULL)
        return TRUE;
      if (!expand (child, out, depth + 1, cancellable, error))
        return FALSE;
    }
}

static void
expand_thread (GTask        *task,
               gpointer      source,
               gpointer      task_data,
               GCancellable *cancellable)
{
  GPtrArray *picked = task_data;
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func (g_object_unref);
  GError *error = NULL;

  for (guint i = 0; i < picked->len; i++)
    if (!expand (g_ptr_array_index (picked, i), out, 0, cancellable, &error))
      {
        g_task_return_error (task, error);
        return;
      }
  if (out->len == 0)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE,
                               _("There is no regular file to send"));
      return;
    }
  g_task_return_pointer (task, g_steal_pointer (&out), (GDestroyNotify) g_ptr_array_unref);
}

/**
 * ferry_gtk_expand_files_async:
 * @files: (array length=n_files): files and folders
 * @n_files: how many
 * @cancellable: (nullable): a #GCancellable
 * @callback: called on the thread-default context with the result
 * @user_data: data for @callback
 *
 * Lists the regular files @files stand for, a folder for the regular
 * files under it (symbolic links are not followed), in a thread.
 */
void
ferry_gtk_expand_files_async (GFile               **files,
                              guint                 n_files,
                              GCancellable         *cancellable,
                              GAsyncReadyCallback   callback,
                              gpointer              user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  GPtrArray *picked = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < n_files; i++)
    g_ptr_array_add (picked, g_object_ref (files[i]));
  g_task_set_source_tag (task, ferry_gtk_expand_files_async);
  g_task_set_task_data (task, picked, (GDestroyNotify) g_ptr_array_unref);
  g_task_run_in_thread (task, expand_thread);
}

/**
 * ferry_gtk_expand_files_finish:
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Returns: (transfer container) (element-type GFile): the regular files,
 *   at least one, or %NULL with @error set
 */
GPtrArray *
ferry_gtk_expand_files_finish (GAsyncResult  *result,
                               GError       **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
on_send_clicked (GtkButton *button,
                 SendPage  *page)
{
  FerryDevice *device = gtk_drop_down_get_selected_item (GTK_DROP_DOWN (page->picker));
  g_autoptr(GPtrArray) picked = g_ptr_array_new_with_free_func (g_object_unref);
  guint n = g_list_model_get_n_items (G_LIST_MODEL (page->files));

  if (device == NULL || n == 0)
    return;
  for (guint i = 0; i < n; i++)
    g_ptr_array_add (picked, g_list_model_get_item (G_LIST_MODEL (page->files), i));
  ferry_gtk_app_send (page->app, ferry_device_get_device_id (device),
                      (GFile **) picked->pdata, picked->len);
  g_list_store_remove_all (page->files);
  update_sensitivity (page);
}

/* Picking files {{{1 */

static void
on_chooser_response (GtkNativeDialog *dialog,
                     int              response,
                     SendPage        *page)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GListModel) files = gtk_file_chooser_get_files (GTK_FILE_CHOOSER (dialog));

      for (guint i = 0; i < g_list_model_get_n_items (files); i++)
        {
          g_autoptr(GFile) file = g_list_model_get_item (files, i);

          add_file (page, file);
        }
    }
  g_object_unref (dialog);
}

static void
open_chooser (GtkWidget            *button,
              SendPage             *page,
              GtkFileChooserAction  action)
{
  GtkNative *native = gtk_widget_get_native (button);
  GtkFileChooserNative *chooser =
    gtk_file_chooser_native_new (action == GTK_FILE_CHOOSER_ACTION_OPEN ? _("Add Files") : _("Add a Folder"),
                                 GTK_WINDOW (native), action, _("_Add"), _("_Cancel"));

  gtk_file_chooser_set_select_multiple (GTK_FILE_CHOOSER (chooser), TRUE);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_signal_connect (chooser, "response", G_CALLBACK (on_chooser_response), page);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
on_add_files (GtkButton *button,
              SendPage  *page)
{
  open_chooser (GTK_WIDGET (button), page, GTK_FILE_CHOOSER_ACTION_OPEN);
}

static void
on_add_folder (GtkButton *button,
               SendPage  *page)
{
  open_chooser (GTK_WIDGET (button), page, GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER);
}

static void
on_clear (GtkButton *button,
          SendPage  *page)
{
  g_list_store_remove_all (page->files);
  update_sensitivity (page);
}

static gboolean
on_drop (GtkDropTarget *target,
         const GValue  *value,
         double         x,
         double         y,
         SendPage      *page)
{
  GSList *files;

  if (!G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST))
    return FALSE;
  files = gdk_file_list_get_files (g_value_get_boxed (value));
  for (GSList *l = files; l != NULL; l = l->next)
    add_file (page, l->data);
  g_slist_free (files);
  return TRUE;
}

/* Widgets {{{1 */

static GtkWidget *
create_file_row (gpointer item,
                 gpointer user_data)
{
  g_autofree char *name = g_file_get_parse_name (G_FILE (item));
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_text (GTK_LABEL (label), name);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_START);
  gtk_widget_set_margin_start (label, 12);
  gtk_widget_set_margin_end (label, 12);
  gtk_widget_set_margin_top (label, 6);
  gtk_widget_set_margin_bottom (label, 6);
  return label;
}

static void
setup_device (GtkSignalListItemFactory *factory,
              GtkListItem              *item,
              gpointer                  user_data)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_list_item_set_child (item, label);
}

static void
bind_device (GtkSignalListItemFactory *factory,
             GtkListItem              *item,
             gpointer                  user_data)
{
  FerryDevice *device = gtk_list_item_get_item (item);
  /* TRANSLATORS: a device name, then the start of its id */
  g_autofree char *text = g_strdup_printf (_("%s (%.8s)"), ferry_device_get_name (device),
                                           ferry_device_get_device_id (device));

  gtk_label_set_text (GTK_LABEL (gtk_list_item_get_child (item)), text);
}

static GtkWidget *
build_picker (SendPage *page)
{
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();

  g_signal_connect (factory, "setup", G_CALLBACK (setup_device), NULL);
  g_signal_connect (factory, "bind", G_CALLBACK (bind_device), NULL);
  page->picker = gtk_drop_down_new (g_object_ref (page->devices), NULL);
  gtk_drop_down_set_factory (GTK_DROP_DOWN (page->picker), factory);
  g_object_unref (factory);
  g_signal_connect_swapped (page->picker, "notify::selected-item", G_CALLBACK (update_sensitivity), page);
  return page->picker;
}

static GtkWidget *
new_button (const char *label,
            GCallback   callback,
            SendPage   *page)
{
  GtkWidget *widget = gtk_button_new_with_mnemonic (label);

  g_signal_connect (widget, "clicked", callback, page);
  return widget;
}

/**
 * ferry_gtk_send_page_new:
 * @app: the application
 *
 * Returns: (transfer floating): the page to pick files and a device
 */
GtkWidget *
ferry_gtk_send_page_new (FerryGtkApp *app)
{
  SendPage *page = g_new0 (SendPage, 1);
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  GtkWidget *buttons = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *target_row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *hint = gtk_label_new (_("Drop files or folders here, or add them:"));
  GtkWidget *list = gtk_list_box_new ();
  GtkWidget *scrolled = gtk_scrolled_window_new ();
  GtkDropTarget *drop = gtk_drop_target_new (GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
  GtkWidget *clamp = adw_clamp_new ();

  page->app = app;
  page->files = g_list_store_new (G_TYPE_FILE);
  page->devices = ferry_gtk_devices_model_new (ferry_gtk_app_get_engine (app));
  g_object_set_data_full (G_OBJECT (box), "ferry-send-page", page, send_page_free);

  gtk_label_set_xalign (GTK_LABEL (hint), 0);
  gtk_box_append (GTK_BOX (box), hint);
  gtk_box_append (GTK_BOX (buttons), new_button (_("Add _Files…"), G_CALLBACK (on_add_files), page));
  gtk_box_append (GTK_BOX (buttons), new_button (_("Add F_older…"), G_CALLBACK (on_add_folder), page));
  gtk_box_append (GTK_BOX (buttons), new_button (_("C_lear"), G_CALLBACK (on_clear), page));
  gtk_box_append (GTK_BOX (box), buttons);

  gtk_list_box_set_selection_mode (GTK_LIST_BOX (list), GTK_SELECTION_NONE);
  gtk_widget_add_css_class (list, "boxed-list");
  gtk_list_box_bind_model (GTK_LIST_BOX (list), G_LIST_MODEL (page->files), create_file_row, NULL, NULL);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scrolled), list);
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scrolled), GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
  gtk_widget_set_vexpand (scrolled, TRUE);
  gtk_box_append (GTK_BOX (box), scrolled);

  gtk_box_append (GTK_BOX (target_row), gtk_label_new (_("To")));
  gtk_widget_set_hexpand (build_picker (page), TRUE);
  gtk_box_append (GTK_BOX (target_row), page->picker);
  page->send = new_button (_("_Send"), G_CALLBACK (on_send_clicked), page);
  gtk_widget_add_css_class (page->send, "suggested-action");
  gtk_box_append (GTK_BOX (target_row), page->send);
  gtk_box_append (GTK_BOX (box), target_row);
  update_sensitivity (page);

  g_signal_connect (drop, "drop", G_CALLBACK (on_drop), page);
  gtk_widget_add_controller (box, GTK_EVENT_CONTROLLER (drop));

  gtk_widget_set_margin_top (box, 18);
  gtk_widget_set_margin_bottom (box, 18);
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);
  adw_clamp_set_child (ADW_CLAMP (clamp), box);
  return clamp;
}
