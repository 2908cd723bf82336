/* ferry-gtk-peers.c: the devices nearby
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Names, account ids and signaling names come from peers: they are shown
 * with gtk_label_set_text() (or bound to GtkLabel:label, which is plain
 * text unless use-markup is set), never as markup.
 */

#include "config.h"

#include <glib/gi18n.h>

#include "ferry-gtk.h"

static GtkWidget *
plain_label (const char *text,
             const char *css_class)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_text (GTK_LABEL (label), text);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  gtk_label_set_selectable (GTK_LABEL (label), FALSE);
  if (css_class != NULL)
    gtk_widget_add_css_class (label, css_class);
  return label;
}

static char *
device_summary (FerryDevice *device)
{
  const char *signaling = ferry_device_get_signaling (device);

  /* TRANSLATORS: a device id, then the signaling that found it */
  return g_strdup_printf (_("device %.16s…  ·  via %s"),
                          ferry_device_get_device_id (device),
                          signaling ? signaling : _("unknown"));
}

static void
on_device_changed (FerryDevice *device,
                   GParamSpec  *pspec,
                   GtkLabel    *label)
{
  g_autofree char *text = device_summary (device);

  gtk_label_set_text (label, text);
}

static GtkWidget *
create_device_row (gpointer item,
                   gpointer user_data)
{
  FerryDevice *device = item;
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *name = plain_label (NULL, NULL);
  g_autofree char *text = device_summary (device);
  GtkWidget *summary = plain_label (text, "dim-label");

  g_object_bind_property (device, "name", name, "label", G_BINDING_SYNC_CREATE);
  gtk_widget_add_css_class (summary, "monospace");
  gtk_widget_add_css_class (summary, "caption");
  g_signal_connect_object (device, "notify::signaling", G_CALLBACK (on_device_changed), summary, 0);
  gtk_box_append (GTK_BOX (box), name);
  gtk_box_append (GTK_BOX (box), summary);
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_top (box, 2);
  gtk_widget_set_margin_bottom (box, 2);
  return box;
}

/* One row per peer (an account), with its devices below. */
static void
setup_peer (GtkSignalListItemFactory *factory,
            GtkListItem              *item,
            gpointer                  user_data)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 4);
  GtkWidget *name = plain_label (NULL, "heading");
  GtkWidget *account = plain_label (NULL, "dim-label");
  GtkWidget *devices = gtk_list_box_new ();

  gtk_widget_add_css_class (account, "monospace");
  gtk_widget_add_css_class (account, "caption");
  gtk_list_box_set_selection_mode (GTK_LIST_BOX (devices), GTK_SELECTION_NONE);
  gtk_widget_add_css_class (devices, "background");
  gtk_box_append (GTK_BOX (box), name);
  gtk_box_append (GTK_BOX (box), account);
  gtk_box_append (GTK_BOX (box), devices);
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);
  gtk_widget_set_margin_top (box, 8);
  gtk_widget_set_margin_bottom (box, 8);
  gtk_list_item_set_child (item, box);
}

static void
bind_peer (GtkSignalListItemFactory *factory,
           GtkListItem              *item,
           gpointer                  user_data)
{
  FerryPeer *peer = gtk_list_item_get_item (item);
  GtkWidget *box = gtk_list_item_get_child (item);
  GtkWidget *name = gtk_widget_get_first_child (box);
  GtkWidget *account = gtk_widget_get_next_sibling (name);
  GtkWidget *devices = gtk_widget_get_next_sibling (account);
  g_autofree char *account_text = g_strdup_printf (_("account %s"), ferry_peer_get_account_id (peer));
  GBinding *binding;

  binding = g_object_bind_property (peer, "name", name, "label", G_BINDING_SYNC_CREATE);
  g_object_set_data (G_OBJECT (item), "name-binding", binding);
  gtk_label_set_text (GTK_LABEL (account), account_text);
  gtk_list_box_bind_model (GTK_LIST_BOX (devices), ferry_peer_get_devices (peer),
                           create_device_row, NULL, NULL);
}

static void
unbind_peer (GtkSignalListItemFactory *factory,
             GtkListItem              *item,
             gpointer                  user_data)
{
  GtkWidget *box = gtk_list_item_get_child (item);
  GtkWidget *devices = gtk_widget_get_last_child (box);
  GBinding *binding = g_object_get_data (G_OBJECT (item), "name-binding");

  if (binding != NULL)
    g_binding_unbind (binding);
  g_object_set_data (G_OBJECT (item), "name-binding", NULL);
  gtk_list_box_bind_model (GTK_LIST_BOX (devices), NULL, NULL, NULL, NULL);
}

static void
on_peers_changed (GListModel *peers,
                  guint       position,
                  guint       removed,
                  guint       added,
                  GtkStack   *stack)
{
  gtk_stack_set_visible_child_name (stack, g_list_model_get_n_items (peers) > 0 ? "list" : "empty");
}

/**
 * ferry_gtk_peers_page_new:
 * @app: the application
 *
 * The engine's peers in a list view: each account's name and id, and
 * each of its devices with the signaling that found it.
 *
 * Returns: (transfer floating): the page
 */
GtkWidget *
ferry_gtk_peers_page_new (FerryGtkApp *app)
{
  FerryEngine *engine = ferry_gtk_app_get_engine (app);
  GListModel *peers = ferry_engine_get_peers (engine);
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
  GtkSelectionModel *selection = GTK_SELECTION_MODEL (gtk_no_selection_new (g_object_ref (peers)));
  GtkWidget *list = gtk_list_view_new (selection, factory);
  GtkWidget *scrolled = gtk_scrolled_window_new ();
  GtkWidget *stack = gtk_stack_new ();
  GtkWidget *empty = adw_status_page_new ();

  g_signal_connect (factory, "setup", G_CALLBACK (setup_peer), NULL);
  g_signal_connect (factory, "bind", G_CALLBACK (bind_peer), NULL);
  g_signal_connect (factory, "unbind", G_CALLBACK (unbind_peer), NULL);
  gtk_widget_add_css_class (list, "rich-list");
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scrolled), list);

  adw_status_page_set_icon_name (ADW_STATUS_PAGE (empty), "network-workgroup-symbolic");
  adw_status_page_set_title (ADW_STATUS_PAGE (empty), _("No Devices Yet"));
  adw_status_page_set_description (ADW_STATUS_PAGE (empty),
                                   _("Devices running Ferry on this network show up here."));

  gtk_stack_add_named (GTK_STACK (stack), empty, "empty");
  gtk_stack_add_named (GTK_STACK (stack), scrolled, "list");
  g_signal_connect_object (peers, "items-changed", G_CALLBACK (on_peers_changed), stack, 0);
  on_peers_changed (peers, 0, 0, 0, GTK_STACK (stack));
  return stack;
}

static gpointer
peer_devices (gpointer item,
              gpointer user_data)
{
  g_autoptr(FerryPeer) peer = item;

  return g_object_ref (ferry_peer_get_devices (peer));
}

/**
 * ferry_gtk_devices_model_new:
 * @engine: the engine
 *
 * Every device of every peer, as one flat list, for a device picker.
 *
 * Returns: (transfer full): a #GListModel of #FerryDevice
 */
GListModel *
ferry_gtk_devices_model_new (FerryEngine *engine)
{
  GListModel *peers = g_object_ref (ferry_engine_get_peers (engine));
  GtkMapListModel *map = gtk_map_list_model_new (peers, peer_devices, NULL, NULL);

  return G_LIST_MODEL (gtk_flatten_list_model_new (G_LIST_MODEL (map)));
}
