/* ferry-local-broadcast.c: signaling by UDP multicast on the local network
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Devices announce themselves to a multicast group on each selected
 * interface and answer queries; messages go by unicast datagrams. This
 * file is the FerrySignaling object; ferry-local-broadcast-sockets.c opens
 * the sockets, ferry-local-broadcast-datagrams.c speaks the protocol.
 */
#include "config.h"

#include <string.h>
#include <netinet/in.h>

#include <glib/gi18n-lib.h>

#include "ferry-local-broadcast-private.h"

/**
 * FerryLocalBroadcast:
 *
 * The `local-broadcast` signaling: devices on the same network find each
 * other by UDP multicast and exchange messages by unicast datagrams.
 */
G_DEFINE_FINAL_TYPE (FerryLocalBroadcast, ferry_local_broadcast, FERRY_TYPE_SIGNALING)

static gboolean
read_config (FerryLocalBroadcast  *self,
             GError              **error)
{
  FerryPluginContext *context = ferry_signaling_get_plugin_context (FERRY_SIGNALING (self));
  g_autofree char *group = NULL;
  gint64 port = LB_DEFAULT_PORT;
  gint64 interval = LB_DEFAULT_INTERVAL_S;

  if (!ferry_plugin_context_get_int64_setting (context, "port", &port, NULL) ||
      port < 1 || port > G_MAXUINT16)
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_CONFIG,
                           _("Invalid [local-broadcast] port: expected a number from 1 to 65535"));
      return FALSE;
    }

  if (!ferry_plugin_context_get_int64_setting (context, "announce-interval", &interval, NULL) ||
      interval < 1 || interval > 86400)
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_CONFIG,
                           _("Invalid [local-broadcast] announce-interval: expected seconds from 1 to 86400"));
      return FALSE;
    }

  group = ferry_plugin_context_dup_setting (context, "group");
  if (group == NULL)
    group = g_strdup (LB_DEFAULT_GROUP);

  g_strstrip (group);
  g_clear_object (&self->group);
  self->group = g_inet_address_new_from_string (group);
  if (self->group == NULL ||
      g_inet_address_get_family (self->group) != G_SOCKET_FAMILY_IPV4 ||
      !g_inet_address_get_is_multicast (self->group))
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG,
                   _("Invalid [local-broadcast] group “%s”: expected an IPv4 multicast address"),
                   group);
      return FALSE;
    }

  self->port = (guint16) port;
  self->interval = (guint) interval;
  return TRUE;
}

/* The interfaces to broadcast on (FerryNetworkInterface); without an
 * engine (tests of the plugin alone), the loopback ones. */
static GPtrArray *
dup_interfaces (FerryLocalBroadcast *self)
{
  FerryPluginContext *context = ferry_signaling_get_plugin_context (FERRY_SIGNALING (self));
  GPtrArray *interfaces = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GListModel) listed = ferry_plugin_context_list_interfaces (context);
  guint n = g_list_model_get_n_items (listed);

  for (guint i = 0; i < n; i++)
    g_ptr_array_add (interfaces, g_list_model_get_item (listed, i));
  return interfaces;
}

/* Sending messages ------------------------------------------------------ */

typedef struct {
  FerryLocalBroadcast *self;
  GList                link;   /* in self->sends while waiting */
  GSocket             *socket;
  GSocketAddress      *destination;
  GBytes              *message;
  GSource             *source;
} LbSend;

/* Stops waiting for the socket; the caller holds a reference on the task. */
static void
lb_send_stop_waiting (LbSend *send)
{
  GSource *source = g_steal_pointer (&send->source);

  if (source != NULL)
    {
      g_queue_unlink (&send->self->sends, &send->link);
      g_source_destroy (source);
      g_source_unref (source);
    }
}

static void
lb_send_free (LbSend *send)
{
  /* The source holds a reference on the task: it is gone by now. */
  g_assert (send->source == NULL);

  g_clear_object (&send->socket);
  g_clear_object (&send->destination);
  g_clear_pointer (&send->message, g_bytes_unref);
  g_free (send);
}

/* Returns FALSE when the socket would block. */
static gboolean
lb_send_try (LbSend  *send,
             GError **error)
{
  g_autoptr(GError) local_error = NULL;
  gsize size;
  const guint8 *data = g_bytes_get_data (send->message, &size);

  if (_ferry_lb_send_datagram (send->socket, send->destination, LB_KIND_MESSAGE, data, size, &local_error))
    return TRUE;

  if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    return FALSE;

  g_propagate_error (error, g_steal_pointer (&local_error));
  return TRUE;
}

static gboolean
send_writable_cb (GSocket      *socket,
                  GIOCondition  condition,
                  gpointer      user_data)
{
  GTask *task = user_data;
  LbSend *send = g_task_get_task_data (task);
  GError *error = NULL;

  if (!g_task_return_error_if_cancelled (task))
    {
      if (!lb_send_try (send, &error))
        return G_SOURCE_CONTINUE;

      if (error != NULL)
        g_task_return_error (task, error);
      else
        g_task_return_boolean (task, TRUE);
    }

  /* Not waiting any more; the context drops the source and its reference
   * on the task when this returns. */
  g_queue_unlink (&send->self->sends, &send->link);
  g_clear_pointer (&send->source, g_source_unref);

  return G_SOURCE_REMOVE;
}

static gboolean
announce_cb (gpointer user_data)
{
  FerryLocalBroadcast *self = user_data;

  _ferry_lb_announce_all (self);
  return G_SOURCE_CONTINUE;
}

/* FerrySignaling -------------------------------------------------------- */

static void ferry_local_broadcast_stop (FerrySignaling *signaling);

static gboolean
ferry_local_broadcast_start (FerrySignaling  *signaling,
                             GError         **error)
{
  FerryLocalBroadcast *self = FERRY_LOCAL_BROADCAST (signaling);
  g_autoptr(GPtrArray) interfaces = NULL;
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (!self->started, FALSE);

  if (!read_config (self, error))
    return FALSE;

  g_clear_pointer (&self->context, g_main_context_unref);
  self->context = g_main_context_ref (ferry_plugin_context_get_main_context (
                                        ferry_signaling_get_plugin_context (signaling)));
  self->started = TRUE;

  interfaces = dup_interfaces (self);
  if (!_ferry_lb_open_sockets (self, interfaces, &local_error))
    {
      g_set_error (error, local_error->domain, local_error->code,
                   _("Could not start local broadcast on port %u: %s"),
                   self->port, local_error->message);
      ferry_local_broadcast_stop (signaling);
      return FALSE;
    }

  self->announce_timer = g_timeout_source_new_seconds (self->interval);
  g_source_set_static_name (self->announce_timer, "[ferry-local-broadcast] announce");
  g_source_set_callback (self->announce_timer, announce_cb, self, NULL);
  g_source_attach (self->announce_timer, self->context);

  _ferry_lb_announce_all (self);
  _ferry_lb_query_all (self, NULL);

  return TRUE;
}

static void
ferry_local_broadcast_stop (FerrySignaling *signaling)
{
  FerryLocalBroadcast *self = FERRY_LOCAL_BROADCAST (signaling);

  self->started = FALSE;

  if (self->announce_timer != NULL)
    {
      g_source_destroy (self->announce_timer);
      g_clear_pointer (&self->announce_timer, g_source_unref);
    }

  _ferry_lb_close_group (self);

  while (self->sends.head != NULL)
    {
      g_autoptr(GTask) task = g_object_ref (self->sends.head->data);

      lb_send_stop_waiting (g_task_get_task_data (task));
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                               _("Local broadcast was stopped"));
    }

  g_array_set_size (self->memberships, 0);
  g_ptr_array_set_size (self->unicasts, 0);
  g_hash_table_remove_all (self->reply_times);
}

static void
ferry_local_broadcast_query (FerrySignaling *signaling,
                             const char     *account_id)
{
  FerryLocalBroadcast *self = FERRY_LOCAL_BROADCAST (signaling);

  if (!self->started)
    return;

  if (account_id != NULL)
    {
      gsize length = strlen (account_id);
      gboolean valid = length > 0 && length <= LB_MAX_ACCOUNT_ID;

      for (gsize i = 0; valid && i < length; i++)
        valid = g_ascii_isxdigit (account_id[i]);

      if (!valid)
        {
          g_debug ("Querying every device: “%s” is not an account id", account_id);
          account_id = NULL;
        }
    }

  _ferry_lb_query_all (self, account_id);
}

static void
ferry_local_broadcast_send_async (FerrySignaling      *signaling,
                                  const char          *route,
                                  GBytes              *message,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  FerryLocalBroadcast *self = FERRY_LOCAL_BROADCAST (signaling);
  g_autoptr(GTask) task = NULL;
  g_autoptr(GSocketAddress) destination = NULL;
  LbUnicast *unicast;
  LbSend *send;
  GError *error = NULL;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, ferry_local_broadcast_send_async);

  if (!self->started)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED,
                               _("Local broadcast is not started"));
      return;
    }

  destination = _ferry_lb_parse_route (route);
  if (destination == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                               _("Invalid local broadcast route “%s”"), route);
      return;
    }

  if (g_bytes_get_size (message) > LB_MAX_PAYLOAD)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
                               _("The message is too large for local broadcast (%lu bytes, at most %d)"),
                               (unsigned long) g_bytes_get_size (message), LB_MAX_PAYLOAD);
      return;
    }

  unicast = _ferry_lb_choose_unicast (self, destination);
  g_assert (unicast != NULL);

  send = g_new0 (LbSend, 1);
  send->self = self;
  send->link.data = task;
  send->socket = g_object_ref (unicast->socket);
  send->destination = g_steal_pointer (&destination);
  send->message = g_bytes_ref (message);
  g_task_set_task_data (task, send, (GDestroyNotify) lb_send_free);

  if (lb_send_try (send, &error))
    {
      if (error != NULL)
        g_task_return_error (task, error);
      else
        g_task_return_boolean (task, TRUE);
      return;
    }

  send->source = g_socket_create_source (send->socket, G_IO_OUT, cancellable);
  g_source_set_static_name (send->source, "[ferry-local-broadcast] send");
  g_source_set_callback (send->source, G_SOURCE_FUNC (send_writable_cb),
                         g_object_ref (task), g_object_unref);
  g_source_attach (send->source, self->context);
  g_queue_push_tail_link (&self->sends, &send->link);
}

static gboolean
ferry_local_broadcast_send_finish (FerrySignaling  *signaling,
                                   GAsyncResult    *result,
                                   GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, signaling), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
ferry_local_broadcast_dispose (GObject *object)
{
  ferry_local_broadcast_stop (FERRY_SIGNALING (object));

  G_OBJECT_CLASS (ferry_local_broadcast_parent_class)->dispose (object);
}

static void
ferry_local_broadcast_finalize (GObject *object)
{
  FerryLocalBroadcast *self = FERRY_LOCAL_BROADCAST (object);

  g_clear_object (&self->group);
  g_array_unref (self->memberships);
  g_ptr_array_unref (self->unicasts);
  g_hash_table_unref (self->reply_times);
  g_free (self->buffer);
  g_clear_pointer (&self->context, g_main_context_unref);

  G_OBJECT_CLASS (ferry_local_broadcast_parent_class)->finalize (object);
}

static void
ferry_local_broadcast_class_init (FerryLocalBroadcastClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  FerrySignalingClass *signaling_class = FERRY_SIGNALING_CLASS (klass);

  object_class->dispose = ferry_local_broadcast_dispose;
  object_class->finalize = ferry_local_broadcast_finalize;

  signaling_class->start = ferry_local_broadcast_start;
  signaling_class->stop = ferry_local_broadcast_stop;
  signaling_class->query = ferry_local_broadcast_query;
  signaling_class->send_async = ferry_local_broadcast_send_async;
  signaling_class->send_finish = ferry_local_broadcast_send_finish;
}

static void
ferry_local_broadcast_init (FerryLocalBroadcast *self)
{
  self->memberships = g_array_new (FALSE, TRUE, sizeof (struct ip_mreq));
  self->unicasts = g_ptr_array_new_with_free_func ((GDestroyNotify) _ferry_lb_unicast_free);
  self->reply_times = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->buffer = g_malloc (LB_BUFFER_SIZE);
  g_queue_init (&self->sends);
}

static gboolean
local_broadcast_register_features (FerryPlugin  *plugin,
                                   GError      **error)
{
  ferry_plugin_add_feature (plugin, "local-broadcast", FERRY_TYPE_LOCAL_BROADCAST,
                            FERRY_RANK_PRIMARY);
  return TRUE;
}

FERRY_PLUGIN_DEFINE (local_broadcast, "local-broadcast",
                     "Finds devices on the local network by UDP multicast",
                     PACKAGE_VERSION, "LGPL-2.1-or-later",
                     local_broadcast_register_features)

