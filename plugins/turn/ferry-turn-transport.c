/* ferry-turn-transport.c: a TURN relay when nothing direct works
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The `turn` transport: a relay-only (force-relay) reliable libnice agent
 * per connection attempt, against the TURN servers of [turn] servers or
 * `ferry --turn turn:USER:PASS@HOST:PORT[?transport=udp|tcp]`. Without a
 * server it stays inactive. The work is done in ../nice-common.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "ferry-nice-common.h"

const char ferry_nice_type_prefix[] = "Turn";

#define FERRY_TYPE_TURN_TRANSPORT (ferry_turn_transport_get_type ())
G_DECLARE_FINAL_TYPE (FerryTurnTransport, ferry_turn_transport, FERRY, TURN_TRANSPORT, FerryTransport)

/**
 * FerryTurnTransport:
 *
 * The `turn` transport: a path relayed by a TURN server, the last resort
 * when no direct path works.
 */
struct _FerryTurnTransport
{
  FerryTransport  parent_instance;
  FerryNiceCore  *core;
};

G_DEFINE_FINAL_TYPE (FerryTurnTransport, ferry_turn_transport, FERRY_TYPE_TRANSPORT)

static FerryNiceConfig *
load_config (FerryTransport  *transport,
             GError         **error)
{
  FerryEngine *engine = ferry_transport_get_engine (transport);

  return _ferry_nice_config_load (engine ? ferry_engine_get_config (engine) : NULL,
                                  "turn", TRUE, error);
}

static gboolean
ferry_turn_transport_check (FerryTransport  *transport,
                           GError         **error)
{
  g_autoptr(FerryNiceConfig) config = load_config (transport, error);

  return config != NULL;
}

static gboolean
ferry_turn_transport_start (FerryTransport  *transport,
                           GError         **error)
{
  FerryNiceConfig *config = load_config (transport, error);

  if (config == NULL)
    return FALSE;
  _ferry_nice_core_start (FERRY_TURN_TRANSPORT (transport)->core, config);
  return TRUE;
}

static void
ferry_turn_transport_stop (FerryTransport *transport)
{
  _ferry_nice_core_stop (FERRY_TURN_TRANSPORT (transport)->core);
}

static void
ferry_turn_transport_describe_async (FerryTransport      *transport,
                                    const char          *attempt_id,
                                    gboolean             offerer,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  _ferry_nice_core_describe_async (FERRY_TURN_TRANSPORT (transport)->core, attempt_id, offerer,
                                   cancellable, callback, user_data);
}

static JsonObject *
ferry_turn_transport_describe_finish (FerryTransport  *transport,
                                     GAsyncResult    *result,
                                     GError         **error)
{
  return _ferry_nice_core_describe_finish (FERRY_TURN_TRANSPORT (transport)->core, result, error);
}

static void
ferry_turn_transport_connect_async (FerryTransport      *transport,
                                   const char          *attempt_id,
                                   gboolean             offerer,
                                   JsonObject          *remote,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  _ferry_nice_core_connect_async (FERRY_TURN_TRANSPORT (transport)->core, attempt_id, offerer,
                                  remote, cancellable, callback, user_data);
}

static GIOStream *
ferry_turn_transport_connect_finish (FerryTransport  *transport,
                                    GAsyncResult    *result,
                                    char           **description,
                                    GError         **error)
{
  return _ferry_nice_core_connect_finish (FERRY_TURN_TRANSPORT (transport)->core, result,
                                          description, error);
}

static void
ferry_turn_transport_release (FerryTransport *transport,
                             const char     *attempt_id)
{
  _ferry_nice_core_release (FERRY_TURN_TRANSPORT (transport)->core, attempt_id);
}

static void
ferry_turn_transport_dispose (GObject *object)
{
  _ferry_nice_core_stop (FERRY_TURN_TRANSPORT (object)->core);

  G_OBJECT_CLASS (ferry_turn_transport_parent_class)->dispose (object);
}

static void
ferry_turn_transport_finalize (GObject *object)
{
  _ferry_nice_core_free (FERRY_TURN_TRANSPORT (object)->core);

  G_OBJECT_CLASS (ferry_turn_transport_parent_class)->finalize (object);
}

static void
ferry_turn_transport_class_init (FerryTurnTransportClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  FerryTransportClass *transport_class = FERRY_TRANSPORT_CLASS (klass);

  object_class->dispose = ferry_turn_transport_dispose;
  object_class->finalize = ferry_turn_transport_finalize;

  transport_class->check = ferry_turn_transport_check;
  transport_class->start = ferry_turn_transport_start;
  transport_class->stop = ferry_turn_transport_stop;
  transport_class->describe_async = ferry_turn_transport_describe_async;
  transport_class->describe_finish = ferry_turn_transport_describe_finish;
  transport_class->connect_async = ferry_turn_transport_connect_async;
  transport_class->connect_finish = ferry_turn_transport_connect_finish;
  transport_class->release = ferry_turn_transport_release;
}

static void
ferry_turn_transport_init (FerryTurnTransport *self)
{
  self->core = _ferry_nice_core_new (FERRY_TRANSPORT (self));
}

static gboolean
turn_register_features (FerryPlugin  *plugin,
                       GError      **error)
{
  ferry_plugin_add_feature (plugin, "turn", FERRY_TYPE_TURN_TRANSPORT, FERRY_RANK_MARGINAL);
  return TRUE;
}

FERRY_PLUGIN_DEFINE (turn, "turn",
                     "Relayed connections through a TURN server (libnice)",
                     PACKAGE_VERSION, "LGPL-2.1-or-later",
                     turn_register_features)
