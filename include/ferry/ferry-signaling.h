/* ferry-signaling.h: base class of signaling plugins
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(FERRY_INSIDE) && !defined(FERRY_COMPILATION)
# error "Only <ferry/ferry.h> can be included directly."
#endif

#include <gio/gio.h>
#include "ferry-version-macros.h"

G_BEGIN_DECLS

typedef struct _FerryEngine FerryEngine;

#define FERRY_TYPE_SIGNALING (ferry_signaling_get_type ())

FERRY_AVAILABLE_IN_ALL
G_DECLARE_DERIVABLE_TYPE (FerrySignaling, ferry_signaling, FERRY, SIGNALING, GObject)

/**
 * FerrySignalingClass:
 * @parent_class: the parent class
 * @start: start announcing this device and listening for messages; called
 *   once on the engine's main context
 * @stop: stop announcing and listening; the instance is not started again
 * @query: ask the devices of @account_id (or of every account when %NULL)
 *   to announce themselves now; must not block
 * @send_async: send the opaque @message to the device reachable at @route,
 *   a string this plugin passed to ferry_signaling_emit_announcement() or
 *   ferry_signaling_emit_message()
 * @send_finish: finishes @send_async
 * @check: whether the configuration lets the instance work at all (e.g. a
 *   server is configured); on %FALSE the engine leaves it inactive and shows
 *   the error's message as the reason. Called before @start.
 *
 * Signaling plugins carry opaque, already signed blobs between devices: the
 * core builds and verifies every announcement and message, the plugin only
 * moves bytes and remembers how to reach a device (its *route*, e.g.
 * `127.0.0.1:41234` or an inbox key).
 */
struct _FerrySignalingClass
{
  GObjectClass parent_class;

  gboolean (*start)       (FerrySignaling       *self,
                           GError              **error);
  void     (*stop)        (FerrySignaling       *self);
  void     (*query)       (FerrySignaling       *self,
                           const char           *account_id);
  void     (*send_async)  (FerrySignaling       *self,
                           const char           *route,
                           GBytes               *message,
                           GCancellable         *cancellable,
                           GAsyncReadyCallback   callback,
                           gpointer              user_data);
  gboolean (*send_finish) (FerrySignaling       *self,
                           GAsyncResult         *result,
                           GError              **error);

  gboolean (*check)       (FerrySignaling       *self,
                           GError              **error);

  /*< private >*/
  gpointer _ferry_reserved[11];
};

FERRY_AVAILABLE_IN_ALL
FerryEngine *ferry_signaling_get_engine          (FerrySignaling       *self);
FERRY_AVAILABLE_IN_ALL
const char  *ferry_signaling_get_name            (FerrySignaling       *self);
FERRY_AVAILABLE_IN_ALL
gboolean     ferry_signaling_check               (FerrySignaling       *self,
                                                  GError              **error);
FERRY_AVAILABLE_IN_ALL
gboolean     ferry_signaling_start               (FerrySignaling       *self,
                                                  GError              **error);
FERRY_AVAILABLE_IN_ALL
void         ferry_signaling_stop                (FerrySignaling       *self);
FERRY_AVAILABLE_IN_ALL
void         ferry_signaling_query               (FerrySignaling       *self,
                                                  const char           *account_id);
FERRY_AVAILABLE_IN_ALL
void         ferry_signaling_send_async          (FerrySignaling       *self,
                                                  const char           *route,
                                                  GBytes               *message,
                                                  GCancellable         *cancellable,
                                                  GAsyncReadyCallback   callback,
                                                  gpointer              user_data);
FERRY_AVAILABLE_IN_ALL
gboolean     ferry_signaling_send_finish         (FerrySignaling       *self,
                                                  GAsyncResult         *result,
                                                  GError              **error);
FERRY_AVAILABLE_IN_ALL
void         ferry_signaling_emit_announcement   (FerrySignaling       *self,
                                                  GBytes               *announcement,
                                                  const char           *route);
FERRY_AVAILABLE_IN_ALL
void         ferry_signaling_emit_message        (FerrySignaling       *self,
                                                  GBytes               *message,
                                                  const char           *route);

G_END_DECLS
