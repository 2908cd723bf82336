/* ferry-transport.c: base class of transport plugins
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "ferry-engine.h"
#include "ferry-enums.h"
#include "ferry-transport.h"

/**
 * FerryTransport:
 *
 * The base class of transport plugins: a way to make a byte stream between
 * two devices, e.g. TCP on the local network or ICE.
 *
 * An engine creates one instance of each transport feature it uses, with
 * the construct-only properties [property@Ferry.Transport:engine],
 * [property@Ferry.Transport:name] and [property@Ferry.Transport:rank], and
 * owns it. For every connection attempt the negotiation asks both sides to
 * describe their end ([method@Ferry.Transport.describe_async]), exchanges
 * the descriptions over the signaling, then connects both ends
 * ([method@Ferry.Transport.connect_async]).
 */

typedef struct
{
  FerryEngine *engine;   /* weak: the engine owns the transport */
  char        *name;
  guint        rank;
} FerryTransportPrivate;

enum {
  PROP_0,
  PROP_ENGINE,
  PROP_NAME,
  PROP_RANK,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  PATH_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_ABSTRACT_TYPE_WITH_PRIVATE (FerryTransport, ferry_transport, G_TYPE_OBJECT)

static void
ferry_transport_finalize (GObject *object)
{
  FerryTransport *self = FERRY_TRANSPORT (object);
  FerryTransportPrivate *priv = ferry_transport_get_instance_private (self);

  g_clear_weak_pointer (&priv->engine);
  g_free (priv->name);

  G_OBJECT_CLASS (ferry_transport_parent_class)->finalize (object);
}

static void
ferry_transport_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  FerryTransport *self = FERRY_TRANSPORT (object);
  FerryTransportPrivate *priv = ferry_transport_get_instance_private (self);

  switch (prop_id)
    {
    case PROP_ENGINE:
      g_value_set_object (value, priv->engine);
      break;

    case PROP_NAME:
      g_value_set_string (value, priv->name);
      break;

    case PROP_RANK:
      g_value_set_uint (value, priv->rank);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ferry_transport_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  FerryTransport *self = FERRY_TRANSPORT (object);
  FerryTransportPrivate *priv = ferry_transport_get_instance_private (self);

  switch (prop_id)
    {
    case PROP_ENGINE:
      g_set_weak_pointer (&priv->engine, g_value_get_object (value));
      break;

    case PROP_NAME:
      g_free (priv->name);
      priv->name = g_value_dup_string (value);
      break;

    case PROP_RANK:
      priv->rank = g_value_get_uint (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ferry_transport_class_init (FerryTransportClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = ferry_transport_finalize;
  object_class->get_property = ferry_transport_get_property;
  object_class->set_property = ferry_transport_set_property;

  /**
   * FerryTransport:engine: (getter get_engine)
   *
   * The engine the transport works for. The transport holds no reference
   * on it: the property reads %NULL once the engine is gone.
   */
  properties[PROP_ENGINE] =
    g_param_spec_object ("engine", NULL, NULL,
                         FERRY_TYPE_ENGINE,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                         G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * FerryTransport:name: (getter get_name)
   *
   * The name of the feature this transport was created from, e.g. `lan`.
   */
  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                         G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * FerryTransport:rank: (getter get_rank)
   *
   * The rank of the feature: the negotiation tries transports of a higher
   * rank first.
   */
  properties[PROP_RANK] =
    g_param_spec_uint ("rank", NULL, NULL,
                       0, G_MAXUINT, FERRY_RANK_NONE,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                       G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * FerryTransport::path-changed:
   * @self: the transport
   * @attempt_id: the connection attempt whose stream moved
   * @description: the new path, e.g. `ice (udp, srflx↔srflx)`
   * @carried: the bytes of the stream the previous paths delivered, or
   *   0 when unknown
   *
   * The stream of @attempt_id runs over another path from now on; see
   * [method@Ferry.Transport.path_changed]. Emitted on the engine's main
   * context.
   */
  signals[PATH_CHANGED] =
    g_signal_new ("path-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_UINT64);
}

static void
ferry_transport_init (FerryTransport *self)
{
}

/**
 * ferry_transport_get_engine:
 * @self: a transport
 *
 * Gets the engine the transport works for.
 *
 * Returns: (transfer none) (nullable): the engine, or %NULL when there is
 *   none (any more)
 */
FerryEngine *
ferry_transport_get_engine (FerryTransport *self)
{
  FerryTransportPrivate *priv;

  g_return_val_if_fail (FERRY_IS_TRANSPORT (self), NULL);

  priv = ferry_transport_get_instance_private (self);

  return priv->engine;
}

/**
 * ferry_transport_get_name:
 * @self: a transport
 *
 * Gets the name of the feature the transport was created from.
 *
 * Returns: (nullable): the name
 */
const char *
ferry_transport_get_name (FerryTransport *self)
{
  FerryTransportPrivate *priv;

  g_return_val_if_fail (FERRY_IS_TRANSPORT (self), NULL);

  priv = ferry_transport_get_instance_private (self);

  return priv->name;
}

/**
 * ferry_transport_get_rank:
 * @self: a transport
 *
 * Gets the rank of the feature the transport was created from.
 *
 * Returns: the rank, see [enum@Ferry.Rank]
 */
guint
ferry_transport_get_rank (FerryTransport *self)
{
  FerryTransportPrivate *priv;

  g_return_val_if_fail (FERRY_IS_TRANSPORT (self), FERRY_RANK_NONE);

  priv = ferry_transport_get_instance_private (self);

  return priv->rank;
}

/**
 * ferry_transport_check: (virtual check)
 * @self: a transport
 * @error: return location for a #GError
 *
 * Tells whether the configuration lets this transport work at all, for
 * example whether a server is configured. The engine leaves a transport
 * that fails this check inactive, and shows the error's message as the
 * reason.
 *
 * Returns: %TRUE when the transport can be started
 */
gboolean
ferry_transport_check (FerryTransport  *self,
                  GError        **error)
{
  FerryTransportClass *klass;

  g_return_val_if_fail (FERRY_IS_TRANSPORT (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  klass = FERRY_TRANSPORT_GET_CLASS (self);
  if (klass->check == NULL)
    return TRUE;

  return klass->check (self, error);
}

/**
 * ferry_transport_start: (virtual start)
 * @self: a transport
 * @error: return location for a #GError
 *
 * Starts listening, if the transport listens. The engine calls it once, on
 * its main context. Without a `start` implementation this does nothing and
 * succeeds.
 *
 * Returns: %TRUE on success
 */
gboolean
ferry_transport_start (FerryTransport  *self,
                       GError         **error)
{
  FerryTransportClass *klass;

  g_return_val_if_fail (FERRY_IS_TRANSPORT (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  klass = FERRY_TRANSPORT_GET_CLASS (self);
  if (klass->start == NULL)
    return TRUE;

  return klass->start (self, error);
}

/**
 * ferry_transport_stop: (virtual stop)
 * @self: a transport
 *
 * Stops listening and drops every pending attempt.
 */
void
ferry_transport_stop (FerryTransport *self)
{
  FerryTransportClass *klass;

  g_return_if_fail (FERRY_IS_TRANSPORT (self));

  klass = FERRY_TRANSPORT_GET_CLASS (self);
  if (klass->stop != NULL)
    klass->stop (self);
}

/**
 * ferry_transport_describe_async: (virtual describe_async)
 * @self: a transport
 * @attempt_id: the connection attempt, the same on both sides
 * @offerer: %TRUE on the side that makes the offer
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called with the description
 * @user_data: data for @callback
 *
 * Prepares the local end of the attempt @attempt_id and describes, as a
 * JSON object, what the peer needs to reach it. The offerer is asked first;
 * the answerer once it received the offerer's description. A transport
 * that cannot do it fails with %G_IO_ERROR_NOT_SUPPORTED.
 */
void
ferry_transport_describe_async (FerryTransport      *self,
                                const char          *attempt_id,
                                gboolean             offerer,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  FerryTransportClass *klass;

  g_return_if_fail (FERRY_IS_TRANSPORT (self));
  g_return_if_fail (attempt_id != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  klass = FERRY_TRANSPORT_GET_CLASS (self);
  if (klass->describe_async == NULL)
    {
      g_task_report_new_error (self, callback, user_data,
                               ferry_transport_describe_async,
                               G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                               _("Transport %s cannot describe a connection"),
                               G_OBJECT_TYPE_NAME (self));
      return;
    }

  klass->describe_async (self, attempt_id, offerer, cancellable, callback, user_data);
}

/**
 * ferry_transport_describe_finish: (virtual describe_finish)
 * @self: a transport
 * @result: the result passed to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Ferry.Transport.describe_async].
 *
 * Returns: (transfer full) (nullable): the description, or %NULL with
 *   @error set
 */
JsonObject *
ferry_transport_describe_finish (FerryTransport  *self,
                                 GAsyncResult    *result,
                                 GError         **error)
{
  FerryTransportClass *klass;

  g_return_val_if_fail (FERRY_IS_TRANSPORT (self), NULL);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (g_async_result_is_tagged (result, ferry_transport_describe_async))
    return g_task_propagate_pointer (G_TASK (result), error);

  klass = FERRY_TRANSPORT_GET_CLASS (self);
  if (klass->describe_finish == NULL)
    {
      g_return_val_if_fail (g_task_is_valid (result, self), NULL);
      return g_task_propagate_pointer (G_TASK (result), error);
    }

  return klass->describe_finish (self, result, error);
}

/**
 * ferry_transport_connect_async: (virtual connect_async)
 * @self: a transport
 * @attempt_id: the connection attempt, the same on both sides
 * @offerer: %TRUE on the side that made the offer
 * @remote: the peer's description of its end
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called with the stream
 * @user_data: data for @callback
 *
 * Connects the attempt @attempt_id to the peer described by @remote. A
 * transport that cannot connect fails with %G_IO_ERROR_NOT_SUPPORTED.
 */
void
ferry_transport_connect_async (FerryTransport      *self,
                               const char          *attempt_id,
                               gboolean             offerer,
                               JsonObject          *remote,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  FerryTransportClass *klass;

  g_return_if_fail (FERRY_IS_TRANSPORT (self));
  g_return_if_fail (attempt_id != NULL);
  g_return_if_fail (remote != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  klass = FERRY_TRANSPORT_GET_CLASS (self);
  if (klass->connect_async == NULL)
    {
      g_task_report_new_error (self, callback, user_data,
                               ferry_transport_connect_async,
                               G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                               _("Transport %s cannot connect"),
                               G_OBJECT_TYPE_NAME (self));
      return;
    }

  klass->connect_async (self, attempt_id, offerer, remote, cancellable, callback, user_data);
}

/**
 * ferry_transport_connect_finish: (virtual connect_finish)
 * @self: a transport
 * @result: the result passed to the callback
 * @description: (out) (optional) (transfer full): a short text for the
 *   chain, e.g. `lan (tcp 192.0.2.1:4711)`
 * @error: return location for a #GError
 *
 * Finishes [method@Ferry.Transport.connect_async]. The streams of the
 * returned #GIOStream support blocking reads and writes from another
 * thread.
 *
 * Returns: (transfer full) (nullable): the stream, or %NULL with @error set
 */
GIOStream *
ferry_transport_connect_finish (FerryTransport  *self,
                                GAsyncResult    *result,
                                char           **description,
                                GError         **error)
{
  FerryTransportClass *klass;
  g_autofree char *local_description = NULL;
  GIOStream *stream;

  g_return_val_if_fail (FERRY_IS_TRANSPORT (self), NULL);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (description != NULL)
    *description = NULL;

  if (g_async_result_is_tagged (result, ferry_transport_connect_async))
    return g_task_propagate_pointer (G_TASK (result), error);

  klass = FERRY_TRANSPORT_GET_CLASS (self);
  if (klass->connect_finish == NULL)
    {
      g_return_val_if_fail (g_task_is_valid (result, self), NULL);
      return g_task_propagate_pointer (G_TASK (result), error);
    }

  stream = klass->connect_finish (self, result, &local_description, error);
  if (stream != NULL && description != NULL)
    *description = g_steal_pointer (&local_description);

  return stream;
}

/**
 * ferry_transport_release: (virtual release)
 * @self: a transport
 * @attempt_id: a connection attempt
 *
 * Forgets everything the transport keeps for @attempt_id: listeners,
 * candidates, pending connections. A stream already returned by
 * [method@Ferry.Transport.connect_finish] stays open.
 */
void
ferry_transport_release (FerryTransport *self,
                         const char     *attempt_id)
{
  FerryTransportClass *klass;

  g_return_if_fail (FERRY_IS_TRANSPORT (self));
  g_return_if_fail (attempt_id != NULL);

  klass = FERRY_TRANSPORT_GET_CLASS (self);
  if (klass->release != NULL)
    klass->release (self, attempt_id);
}

/**
 * ferry_transport_path_changed:
 * @self: a transport
 * @attempt_id: the connection attempt whose stream the engine holds
 * @description: the new path, in the form of the description
 *   [method@Ferry.Transport.connect_finish] gave, e.g.
 *   `ice (udp, srflx↔srflx)`
 * @carried: the bytes of the stream the previous paths delivered so far
 *   (those written by the sender and acknowledged, or those received),
 *   or 0 when the transport does not know: then the transfer's count of
 *   file bytes at the time of the call is taken
 *
 * Tells the engine that the stream of @attempt_id now runs over another
 * path (e.g. a relayed ICE pair gave way to a direct one), without the
 * stream being interrupted: emits [signal@Ferry.Transport::path-changed].
 * The transfer carried by the stream adds the path to its chain
 * ([method@Ferry.Transfer.get_chain_segments]): each transport segment
 * then counts the bytes it carried.
 *
 * Call it on the engine's main context, after the stream was returned.
 */
void
ferry_transport_path_changed (FerryTransport *self,
                              const char     *attempt_id,
                              const char     *description,
                              guint64         carried)
{
  g_return_if_fail (FERRY_IS_TRANSPORT (self));
  g_return_if_fail (attempt_id != NULL);
  g_return_if_fail (description != NULL);

  g_signal_emit (self, signals[PATH_CHANGED], 0, attempt_id, description, carried);
}

/**
 * ferry_transport_dup_listen_addresses: (virtual dup_listen_addresses)
 * @self: a transport
 *
 * Gets what the transport listens on, for display, e.g.
 * `tcp:127.0.0.1:40123`.
 *
 * Returns: (transfer full) (nullable) (array zero-terminated=1): the
 *   addresses, or %NULL when the transport does not listen
 */
char **
ferry_transport_dup_listen_addresses (FerryTransport *self)
{
  FerryTransportClass *klass;

  g_return_val_if_fail (FERRY_IS_TRANSPORT (self), NULL);

  klass = FERRY_TRANSPORT_GET_CLASS (self);
  if (klass->dup_listen_addresses == NULL)
    return NULL;

  return klass->dup_listen_addresses (self);
}
