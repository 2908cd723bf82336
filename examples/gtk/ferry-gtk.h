/* ferry-gtk.h: the types of the Ferry GTK example, shared by its files
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The example uses only Ferry's public API, <ferry/ferry.h>.
 */

#pragma once

#include <adwaita.h>
#include <ferry/ferry.h>

G_BEGIN_DECLS

/* The command line, as the `ferry` tool takes it. */
typedef struct
{
  char  *home;          /* --home */
  char  *dir;           /* --dir */
  char **interfaces;    /* --interface, repeatable */
  char  *signalings;    /* --signaling, comma-separated */
  char  *transports;    /* --transport, comma-separated */
  char **dht_proxies;   /* --dht-proxy, repeatable: enables dht */
  char **turn_servers;  /* --turn, repeatable: enables turn */
  char  *stun_server;   /* --stun: enables ice */
  gboolean accept_all;  /* --accept-all */
  gboolean json;        /* --json: events on stdout for scripts */
} FerryGtkOptions;

void ferry_gtk_options_clear (FerryGtkOptions *options);

/* ferry-gtk-app.c */
#define FERRY_GTK_TYPE_APP (ferry_gtk_app_get_type ())
G_DECLARE_FINAL_TYPE (FerryGtkApp, ferry_gtk_app, FERRY_GTK, APP, AdwApplication)

FerryGtkApp *ferry_gtk_app_new              (const char      *application_id,
                                             FerryGtkOptions *options);
FerryEngine *ferry_gtk_app_get_engine       (FerryGtkApp     *self);
GFile       *ferry_gtk_app_get_download_dir (FerryGtkApp     *self);
gboolean     ferry_gtk_app_failed           (FerryGtkApp     *self);
void         ferry_gtk_app_send             (FerryGtkApp     *self,
                                             const char      *device_id,
                                             GFile          **files,
                                             guint            n_files);
void         ferry_gtk_app_event            (FerryGtkApp     *self,
                                             const char      *event,
                                             const char      *first_key,
                                             ...) G_GNUC_NULL_TERMINATED;

/* ferry-gtk-window.c */
#define FERRY_GTK_TYPE_WINDOW (ferry_gtk_window_get_type ())
G_DECLARE_FINAL_TYPE (FerryGtkWindow, ferry_gtk_window, FERRY_GTK, WINDOW, AdwApplicationWindow)

FerryGtkWindow *ferry_gtk_window_new             (FerryGtkApp     *app);
void            ferry_gtk_window_show_page       (FerryGtkWindow  *self,
                                                  const char      *name);
void            ferry_gtk_window_toast           (FerryGtkWindow  *self,
                                                  const char      *message);
void            ferry_gtk_window_refresh_history (FerryGtkWindow  *self);
gboolean        ferry_gtk_window_save_screenshot (FerryGtkWindow  *self,
                                                  const char      *path,
                                                  GError         **error);

/* ferry-gtk-peers.c: the devices nearby, and the device picker model */
GtkWidget  *ferry_gtk_peers_page_new     (FerryGtkApp *app);
GListModel *ferry_gtk_devices_model_new  (FerryEngine *engine);

/* ferry-gtk-send.c */
GtkWidget *ferry_gtk_send_page_new       (FerryGtkApp          *app);
void       ferry_gtk_expand_files_async  (GFile               **files,
                                          guint                 n_files,
                                          GCancellable         *cancellable,
                                          GAsyncReadyCallback   callback,
                                          gpointer              user_data);
GPtrArray *ferry_gtk_expand_files_finish (GAsyncResult         *result,
                                          GError              **error);

/* ferry-gtk-transfers.c */
GtkWidget  *ferry_gtk_transfers_page_new (FerryGtkApp        *app);
void        ferry_gtk_transfers_page_refresh (GtkWidget      *page);
const char *ferry_gtk_state_label        (FerryTransferState  state);
const char *ferry_gtk_state_nick         (FerryTransferState  state);
gboolean    ferry_gtk_state_is_final     (FerryTransferState  state);
char       *ferry_gtk_transfer_title     (FerryTransfer      *transfer);

/* ferry-gtk-history.c */
GtkWidget *ferry_gtk_history_page_new     (FerryGtkApp *app);
void       ferry_gtk_history_page_refresh (GtkWidget   *page);

/* ferry-gtk-offer.c */
void ferry_gtk_offer_present (FerryGtkApp   *app,
                              GtkWindow     *parent,
                              FerryTransfer *transfer);

G_END_DECLS
