/* ferry-signaling.c: base class of signaling plugins
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "ferry-engine.h"
#include "ferry-signaling.h"

/**
 * FerrySignaling:
 *
 * The base class of signaling plugins: the way devices find each other and
 * exchange offers and answers before any transport exists.
 *
 * An engine creates one instance of each signaling feature it uses, with
 * the construct-only properties [property@Ferry.Signaling:engine] and
 * [property@Ferry.Signaling:name], and owns it. The plugin reports what it
 * receives with [method@Ferry.Signaling.emit_announcement] and
 * [method@Ferry.Signaling.emit_message], on the engine's main context; the
 * core checks every blob it is handed, so a plugin never parses them.
 */

typedef struct
{
  FerryEngine *engine;   /* weak: the engine owns the signaling */
  char        *name;
} FerrySignalingPrivate;

enum {
  PROP_0,
  PROP_ENGINE,
  PROP_NAME,
  N_PROPS
};

enum {
  ANNOUNCEMENT_RECEIVED,
  MESSAGE_RECEIVED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

G_DEFINE_ABSTRACT_TYPE_WITH_PRIVATE (FerrySignaling, ferry_signaling, G_TYPE_OBJECT)

static void
ferry_signaling_finalize (GObject *object)
{
  FerrySignaling *self = FERRY_SIGNALING (object);
  FerrySignalingPrivate *priv = ferry_signaling_get_instance_private (self);

  g_clear_weak_pointer (&priv->engine);
  g_free (priv->name);

  G_OBJECT_CLASS (ferry_signaling_parent_class)->finalize (object);
}

static void
ferry_signaling_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  FerrySignaling *self = FERRY_SIGNALING (object);
  FerrySignalingPrivate *priv = ferry_signaling_get_instance_private (self);

  switch (prop_id)
    {
    case PROP_ENGINE:
      g_value_set_object (value, priv->engine);
      break;

    case PROP_NAME:
      g_value_set_string (value, priv->name);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ferry_signaling_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  FerrySignaling *self = FERRY_SIGNALING (object);
  FerrySignalingPrivate *priv = ferry_signaling_get_instance_private (self);

  switch (prop_id)
    {
    case PROP_ENGINE:
      g_set_weak_pointer (&priv->engine, g_value_get_object (value));
      break;

    case PROP_NAME:
      g_free (priv->name);
      priv->name = g_value_dup_string (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ferry_signaling_class_init (FerrySignalingClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = ferry_signaling_finalize;
  object_class->get_property = ferry_signaling_get_property;
  object_class->set_property = ferry_signaling_set_property;

  /**
   * FerrySignaling:engine: (getter get_engine)
   *
   * The engine the signaling works for. The signaling holds no reference
   * on it: the property reads %NULL once the engine is gone.
   */
  properties[PROP_ENGINE] =
    g_param_spec_object ("engine", NULL, NULL,
                         FERRY_TYPE_ENGINE,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                         G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * FerrySignaling:name: (getter get_name)
   *
   * The name of the feature this signaling was created from, e.g.
   * `local-broadcast`.
   */
  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                         G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * FerrySignaling::announcement-received:
   * @self: the signaling
   * @announcement: the announcement, as the sending device built it
   * @route: how to reach the device that sent it, for
   *   [method@Ferry.Signaling.send_async]
   *
   * Emitted on the engine's main context when the plugin received an
   * announcement, see [method@Ferry.Signaling.emit_announcement]. Nothing
   * about it is verified yet.
   */
  signals[ANNOUNCEMENT_RECEIVED] =
    g_signal_new ("announcement-received",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0,
                  NULL, NULL,
                  NULL,
                  G_TYPE_NONE, 2,
                  G_TYPE_BYTES,
                  G_TYPE_STRING);

  /**
   * FerrySignaling::message-received:
   * @self: the signaling
   * @message: the message, as the sending device built it
   * @route: how to reach the device that sent it, for
   *   [method@Ferry.Signaling.send_async]
   *
   * Emitted on the engine's main context when the plugin received a message
   * addressed to this device, see [method@Ferry.Signaling.emit_message].
   * Nothing about it is verified yet.
   */
  signals[MESSAGE_RECEIVED] =
    g_signal_new ("message-received",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0,
                  NULL, NULL,
                  NULL,
                  G_TYPE_NONE, 2,
                  G_TYPE_BYTES,
                  G_TYPE_STRING);
}

static void
ferry_signaling_init (FerrySignaling *self)
{
}

/**
 * ferry_signaling_get_engine:
 * @self: a signaling
 *
 * Gets the engine the signaling works for.
 *
 * Returns: (transfer none) (nullable): the engine, or %NULL when there is
 *   none (any more)
 */
FerryEngine *
ferry_signaling_get_engine (FerrySignaling *self)
{
  FerrySignalingPrivate *priv;

  g_return_val_if_fail (FERRY_IS_SIGNALING (self), NULL);

  priv = ferry_signaling_get_instance_private (self);

  return priv->engine;
}

/**
 * ferry_signaling_get_name:
 * @self: a signaling
 *
 * Gets the name of the feature the signaling was created from.
 *
 * Returns: (nullable): the name
 */
const char *
ferry_signaling_get_name (FerrySignaling *self)
{
  FerrySignalingPrivate *priv;

  g_return_val_if_fail (FERRY_IS_SIGNALING (self), NULL);

  priv = ferry_signaling_get_instance_private (self);

  return priv->name;
}

/**
 * ferry_signaling_check: (virtual check)
 * @self: a signaling
 * @error: return location for a #GError
 *
 * Tells whether the configuration lets this signaling work at all, for
 * example whether a server is configured. The engine leaves a signaling
 * that fails this check inactive, and shows the error's message as the
 * reason.
 *
 * Returns: %TRUE when the signaling can be started
 */
gboolean
ferry_signaling_check (FerrySignaling  *self,
                  GError        **error)
{
  FerrySignalingClass *klass;

  g_return_val_if_fail (FERRY_IS_SIGNALING (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  klass = FERRY_SIGNALING_GET_CLASS (self);
  if (klass->check == NULL)
    return TRUE;

  return klass->check (self, error);
}

/**
 * ferry_signaling_start: (virtual start)
 * @self: a signaling
 * @error: return location for a #GError
 *
 * Starts announcing this device and listening for messages. The engine
 * calls it once, on its main context. Without a `start` implementation this
 * does nothing and succeeds.
 *
 * Returns: %TRUE on success
 */
gboolean
ferry_signaling_start (FerrySignaling  *self,
                       GError         **error)
{
  FerrySignalingClass *klass;

  g_return_val_if_fail (FERRY_IS_SIGNALING (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  klass = FERRY_SIGNALING_GET_CLASS (self);
  if (klass->start == NULL)
    return TRUE;

  return klass->start (self, error);
}

/**
 * ferry_signaling_stop: (virtual stop)
 * @self: a signaling
 *
 * Stops announcing and listening. The signaling is not started again.
 */
void
ferry_signaling_stop (FerrySignaling *self)
{
  FerrySignalingClass *klass;

  g_return_if_fail (FERRY_IS_SIGNALING (self));

  klass = FERRY_SIGNALING_GET_CLASS (self);
  if (klass->stop != NULL)
    klass->stop (self);
}

/**
 * ferry_signaling_query: (virtual query)
 * @self: a signaling
 * @account_id: (nullable): the account whose devices should announce
 *   themselves, or %NULL for every account
 *
 * Asks devices to announce themselves now; the answers arrive as
 * [signal@Ferry.Signaling::announcement-received]. Never blocks.
 */
void
ferry_signaling_query (FerrySignaling *self,
                       const char     *account_id)
{
  FerrySignalingClass *klass;

  g_return_if_fail (FERRY_IS_SIGNALING (self));

  klass = FERRY_SIGNALING_GET_CLASS (self);
  if (klass->query != NULL)
    klass->query (self, account_id);
}

/**
 * ferry_signaling_send_async: (virtual send_async)
 * @self: a signaling
 * @route: where to send, a route the plugin reported with
 *   [method@Ferry.Signaling.emit_announcement] or
 *   [method@Ferry.Signaling.emit_message]
 * @message: the message, opaque to the plugin
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the message was sent
 * @user_data: data for @callback
 *
 * Sends @message to the device reachable at @route. Signalings that cannot
 * send fail with %G_IO_ERROR_NOT_SUPPORTED.
 */
void
ferry_signaling_send_async (FerrySignaling      *self,
                            const char          *route,
                            GBytes              *message,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  FerrySignalingClass *klass;

  g_return_if_fail (FERRY_IS_SIGNALING (self));
  g_return_if_fail (route != NULL);
  g_return_if_fail (message != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  klass = FERRY_SIGNALING_GET_CLASS (self);
  if (klass->send_async == NULL)
    {
      g_task_report_new_error (self, callback, user_data,
                               ferry_signaling_send_async,
                               G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                               _("Signaling %s cannot send messages"),
                               G_OBJECT_TYPE_NAME (self));
      return;
    }

  klass->send_async (self, route, message, cancellable, callback, user_data);
}

/**
 * ferry_signaling_send_finish: (virtual send_finish)
 * @self: a signaling
 * @result: the result passed to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Ferry.Signaling.send_async].
 *
 * Returns: %TRUE when the message was sent
 */
gboolean
ferry_signaling_send_finish (FerrySignaling  *self,
                             GAsyncResult    *result,
                             GError         **error)
{
  FerrySignalingClass *klass;

  g_return_val_if_fail (FERRY_IS_SIGNALING (self), FALSE);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (g_async_result_is_tagged (result, ferry_signaling_send_async))
    return g_task_propagate_boolean (G_TASK (result), error);

  klass = FERRY_SIGNALING_GET_CLASS (self);
  if (klass->send_finish == NULL)
    {
      g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
      return g_task_propagate_boolean (G_TASK (result), error);
    }

  return klass->send_finish (self, result, error);
}

/**
 * ferry_signaling_emit_announcement:
 * @self: a signaling
 * @announcement: the announcement as received
 * @route: how to reach the device that sent it
 *
 * For plugins: reports an announcement received from the network by
 * emitting [signal@Ferry.Signaling::announcement-received]. Call it on the
 * engine's main context only.
 */
void
ferry_signaling_emit_announcement (FerrySignaling *self,
                                   GBytes         *announcement,
                                   const char     *route)
{
  g_return_if_fail (FERRY_IS_SIGNALING (self));
  g_return_if_fail (announcement != NULL);
  g_return_if_fail (route != NULL);

  g_signal_emit (self, signals[ANNOUNCEMENT_RECEIVED], 0, announcement, route);
}

/**
 * ferry_signaling_emit_message:
 * @self: a signaling
 * @message: the message as received
 * @route: how to reach the device that sent it
 *
 * For plugins: reports a message received from the network by emitting
 * [signal@Ferry.Signaling::message-received]. Call it on the engine's main
 * context only.
 */
void
ferry_signaling_emit_message (FerrySignaling *self,
                              GBytes         *message,
                              const char     *route)
{
  g_return_if_fail (FERRY_IS_SIGNALING (self));
  g_return_if_fail (message != NULL);
  g_return_if_fail (route != NULL);

  g_signal_emit (self, signals[MESSAGE_RECEIVED], 0, message, route);
}
