/* ferry-nice-transport.c: the FerryTransport glue shared by ice and turn
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Both plugins' transport classes only differ in their configuration group
 * and whether they relay. Their class_init and init call the functions
 * here, which install vfuncs that delegate to a FerryNiceCore kept on the
 * instance.
 */
#include "config.h"

#include "ferry-nice-common.h"

typedef struct {
  const char   *group;
  gboolean      relay_only;
  GObjectClass *parent_class;
} NiceClassData;

static GQuark
class_data_quark (void)
{
  return g_quark_from_static_string ("ferry-nice-class-data");
}

static GQuark
core_quark (void)
{
  return g_quark_from_static_string ("ferry-nice-core");
}

static const NiceClassData *
class_data (gpointer instance)
{
  return g_type_get_qdata (G_OBJECT_TYPE (instance), class_data_quark ());
}

static FerryNiceCore *
core (FerryTransport *transport)
{
  return g_object_get_qdata (G_OBJECT (transport), core_quark ());
}

static FerryNiceConfig *
load_config (FerryTransport  *transport,
             GError         **error)
{
  const NiceClassData *data = class_data (transport);
  FerryEngine *engine = ferry_transport_get_engine (transport);
  g_autoptr(FerryNiceConfig) config = NULL;
  g_auto(GStrv) urls = NULL;
  g_autoptr(GError) local_error = NULL;

  /* Without an engine, the context has no settings: all defaults. */
  config = _ferry_nice_config_load (ferry_transport_get_plugin_context (transport),
                                    data->group, data->relay_only, error);
  if (config == NULL || !config->relay || engine == NULL)
    return g_steal_pointer (&config);
  /* [ice] relay: the engine's TURN servers (those of the turn transport)
   * give the UDP agent relayed candidates too. */
  urls = ferry_engine_dup_turn_servers (engine);
  if (!_ferry_nice_config_add_turn_servers (config, (const char * const *) urls, &local_error))
    {
      /* the turn transport says what is wrong with them; ice goes on
       * with its direct candidates */
      g_debug ("ice: no relayed candidates: %s", local_error->message);
      config->relay = FALSE;
      g_ptr_array_set_size (config->turn_servers, 0);
    }
  return g_steal_pointer (&config);
}

static gboolean
nice_transport_check (FerryTransport  *transport,
                      GError         **error)
{
  g_autoptr(FerryNiceConfig) config = load_config (transport, error);

  return config != NULL;
}

static gboolean
nice_transport_start (FerryTransport  *transport,
                      GError         **error)
{
  FerryNiceConfig *config = load_config (transport, error);

  if (config == NULL)
    return FALSE;
  _ferry_nice_core_start (core (transport), config);
  return TRUE;
}

static void
nice_transport_stop (FerryTransport *transport)
{
  _ferry_nice_core_stop (core (transport));
}

static void
nice_transport_describe_async (FerryTransport      *transport,
                               const char          *attempt_id,
                               gboolean             offerer,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  _ferry_nice_core_describe_async (core (transport), attempt_id, offerer,
                                   cancellable, callback, user_data);
}

static JsonObject *
nice_transport_describe_finish (FerryTransport  *transport,
                                GAsyncResult    *result,
                                GError         **error)
{
  return _ferry_nice_core_describe_finish (core (transport), result, error);
}

static void
nice_transport_connect_async (FerryTransport      *transport,
                              const char          *attempt_id,
                              gboolean             offerer,
                              JsonObject          *remote,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  _ferry_nice_core_connect_async (core (transport), attempt_id, offerer,
                                  remote, cancellable, callback, user_data);
}

static GIOStream *
nice_transport_connect_finish (FerryTransport  *transport,
                               GAsyncResult    *result,
                               char           **description,
                               GError         **error)
{
  return _ferry_nice_core_connect_finish (core (transport), result, description, error);
}

static void
nice_transport_release (FerryTransport *transport,
                        const char     *attempt_id)
{
  _ferry_nice_core_release (core (transport), attempt_id);
}

static void
nice_transport_dispose (GObject *object)
{
  _ferry_nice_core_stop (core (FERRY_TRANSPORT (object)));

  class_data (object)->parent_class->dispose (object);
}

static void
nice_transport_finalize (GObject *object)
{
  const NiceClassData *data = class_data (object);

  /* Frees the core (see _ferry_nice_transport_init). */
  g_object_set_qdata (object, core_quark (), NULL);
  data->parent_class->finalize (object);
}

void
_ferry_nice_transport_class_init (FerryTransportClass *klass,
                                  const char          *group,
                                  gboolean             relay_only)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  NiceClassData *data = g_new0 (NiceClassData, 1);

  /* Lives as long as the type, i.e. the process (modules stay resident). */
  data->group = group;
  data->relay_only = relay_only;
  data->parent_class = g_type_class_peek_parent (klass);
  g_type_set_qdata (G_TYPE_FROM_CLASS (klass), class_data_quark (), data);

  object_class->dispose = nice_transport_dispose;
  object_class->finalize = nice_transport_finalize;

  klass->check = nice_transport_check;
  klass->start = nice_transport_start;
  klass->stop = nice_transport_stop;
  klass->describe_async = nice_transport_describe_async;
  klass->describe_finish = nice_transport_describe_finish;
  klass->connect_async = nice_transport_connect_async;
  klass->connect_finish = nice_transport_connect_finish;
  klass->release = nice_transport_release;
}

void
_ferry_nice_transport_init (FerryTransport *transport)
{
  g_object_set_qdata_full (G_OBJECT (transport), core_quark (),
                           _ferry_nice_core_new (transport),
                           (GDestroyNotify) _ferry_nice_core_free);
}
