/* ferry-lan-transport.c: TCP on the local network
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The offerer listens on every local address and hands out, per attempt, its
 * addresses and a random 16-byte token. The answerer connects to those
 * addresses with staggered starts, and the first connection that succeeds
 * writes the token; the offerer matches the token to the attempt. A
 * connection that does not present a known token within 3 s is closed.
 *
 * This file is the FerryTransport object; ferry-lan-listener.c is the
 * offerer side (with the bounds on connections waiting for their token),
 * ferry-lan-connect.c the answerer side.
 */
#include "config.h"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <glib/gi18n-lib.h>

#include "ferry-lan-private.h"

/**
 * FerryLanTransport:
 *
 * The `lan` transport: a direct TCP connection on the local network,
 * authenticated at this level only by a one-time token (the secure channel
 * above it checks the peer's certificate).
 */
G_DEFINE_FINAL_TYPE (FerryLanTransport, ferry_lan_transport, FERRY_TYPE_TRANSPORT)

char *
_ferry_lan_prepare_connection (GSocketConnection *connection,
                               GSocketAddress    *remote)
{
  GSocket *socket = g_socket_connection_get_socket (connection);
  g_autoptr(GSocketAddress) peer = NULL;
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;

  g_socket_set_blocking (socket, TRUE);
  g_socket_set_timeout (socket, 0);

  /* Control frames are small and answered: do not let Nagle hold them. */
  if (!g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, &error))
    g_debug ("Could not set TCP_NODELAY: %s", error->message);

  if (remote == NULL)
    remote = peer = g_socket_connection_get_remote_address (connection, NULL);

  if (remote != NULL && G_IS_INET_SOCKET_ADDRESS (remote))
    text = _ferry_lan_format_address (G_INET_SOCKET_ADDRESS (remote));

  return g_strdup_printf ("lan (tcp %s)", text ? text : "?");
}

void
_ferry_lan_close_connection (GSocketConnection *connection)
{
  if (connection != NULL)
    g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
}

/* FerryTransport -------------------------------------------------------- */

static void ferry_lan_transport_stop (FerryTransport *transport);

static gboolean
ferry_lan_transport_start (FerryTransport  *transport,
                           GError         **error)
{
  FerryLanTransport *self = FERRY_LAN_TRANSPORT (transport);
  g_autoptr(GPtrArray) locals = NULL;
  FerryPluginContext *context = ferry_transport_get_plugin_context (transport);
  gint64 port = 0;

  g_return_val_if_fail (!self->started, FALSE);

  if (!ferry_plugin_context_get_int64_setting (context, "port", &port, NULL) ||
      port < 0 || port > G_MAXUINT16)
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_CONFIG,
                           _("Invalid [lan] port: expected a number from 0 to 65535"));
      return FALSE;
    }

  g_clear_pointer (&self->context, g_main_context_unref);
  self->context = g_main_context_ref (ferry_plugin_context_get_main_context (context));
  self->started = TRUE;

  /* Without an engine (tests of the plugin alone): loopback only. */
  locals = ferry_plugin_context_get_local_addresses (context);
  if (!_ferry_lan_listen (self, locals, (guint16) port, error))
    {
      ferry_lan_transport_stop (transport);
      return FALSE;
    }

  return TRUE;
}

static void
ferry_lan_transport_stop (FerryTransport *transport)
{
  FerryLanTransport *self = FERRY_LAN_TRANSPORT (transport);

  self->started = FALSE;

  _ferry_lan_unlisten (self);
  _ferry_lan_connect_cancel_all (self);
  g_hash_table_remove_all (self->attempts);
}

static void
ferry_lan_transport_describe_async (FerryTransport      *transport,
                                    const char          *attempt_id,
                                    gboolean             offerer,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  FerryLanTransport *self = FERRY_LAN_TRANSPORT (transport);
  g_autoptr(GTask) task = NULL;
  g_autoptr(JsonObject) description = json_object_new ();
  g_autofree char *hex = NULL;
  JsonArray *addresses;
  LanAttempt *attempt;
  GError *error = NULL;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, ferry_lan_transport_describe_async);

  if (!offerer)
    {
      /* Reserved for a reverse connection, from the answerer's side. */
      g_task_return_pointer (task, g_steal_pointer (&description),
                             (GDestroyNotify) json_object_unref);
      return;
    }

  if (!self->started)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED,
                               _("The LAN transport is not listening"));
      return;
    }

  attempt = _ferry_lan_attempt_ensure (self, attempt_id, &error);
  if (attempt == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  addresses = json_array_new ();
  for (guint i = 0; i < self->listen_addresses->len; i++)
    {
      g_autofree char *text = _ferry_lan_format_address (g_ptr_array_index (self->listen_addresses, i));

      json_array_add_string_element (addresses, text);
    }
  json_object_set_array_member (description, "addresses", addresses);

  hex = _ferry_lan_format_token (attempt->token);
  json_object_set_string_member (description, "token", hex);

  g_task_return_pointer (task, g_steal_pointer (&description),
                         (GDestroyNotify) json_object_unref);
}

static JsonObject *
ferry_lan_transport_describe_finish (FerryTransport  *transport,
                                     GAsyncResult    *result,
                                     GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, transport), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
ferry_lan_transport_connect_async (FerryTransport      *transport,
                                   const char          *attempt_id,
                                   gboolean             offerer,
                                   JsonObject          *remote,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  FerryLanTransport *self = FERRY_LAN_TRANSPORT (transport);
  GTask *task;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, ferry_lan_transport_connect_async);

  if (!self->started)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED,
                               _("The LAN transport is not started"));
      g_object_unref (task);
      return;
    }

  if (offerer)
    _ferry_lan_attempt_connect (self, attempt_id, task);
  else
    _ferry_lan_connect_start (self, attempt_id, remote, task);
}

static GIOStream *
ferry_lan_transport_connect_finish (FerryTransport  *transport,
                                    GAsyncResult    *result,
                                    char           **description,
                                    GError         **error)
{
  GIOStream *stream;

  g_return_val_if_fail (g_task_is_valid (result, transport), NULL);

  stream = g_task_propagate_pointer (G_TASK (result), error);
  if (stream != NULL && description != NULL)
    *description = g_strdup (g_task_get_task_data (G_TASK (result)));

  return stream;
}

static void
ferry_lan_transport_release (FerryTransport *transport,
                             const char     *attempt_id)
{
  FerryLanTransport *self = FERRY_LAN_TRANSPORT (transport);
  LanConnect *op;

  g_hash_table_remove (self->attempts, attempt_id);

  op = g_hash_table_lookup (self->connects, attempt_id);
  if (op != NULL)
    _ferry_lan_connect_cancel (op);
}

static char **
ferry_lan_transport_dup_listen_addresses (FerryTransport *transport)
{
  FerryLanTransport *self = FERRY_LAN_TRANSPORT (transport);
  GPtrArray *result = g_ptr_array_new ();

  for (guint i = 0; i < self->listen_addresses->len; i++)
    {
      g_autofree char *text = _ferry_lan_format_address (g_ptr_array_index (self->listen_addresses, i));

      g_ptr_array_add (result, g_strconcat ("tcp:", text, NULL));
    }

  g_ptr_array_add (result, NULL);
  return (char **) g_ptr_array_free (result, FALSE);
}

static void
ferry_lan_transport_dispose (GObject *object)
{
  FerryLanTransport *self = FERRY_LAN_TRANSPORT (object);

  ferry_lan_transport_stop (FERRY_TRANSPORT (self));

  G_OBJECT_CLASS (ferry_lan_transport_parent_class)->dispose (object);
}

static void
ferry_lan_transport_finalize (GObject *object)
{
  FerryLanTransport *self = FERRY_LAN_TRANSPORT (object);

  g_assert (self->incoming.length == 0);

  g_hash_table_unref (self->attempts);
  g_hash_table_unref (self->connects);
  g_ptr_array_unref (self->listen_addresses);
  g_clear_pointer (&self->context, g_main_context_unref);

  G_OBJECT_CLASS (ferry_lan_transport_parent_class)->finalize (object);
}

static void
ferry_lan_transport_class_init (FerryLanTransportClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  FerryTransportClass *transport_class = FERRY_TRANSPORT_CLASS (klass);

  object_class->dispose = ferry_lan_transport_dispose;
  object_class->finalize = ferry_lan_transport_finalize;

  transport_class->start = ferry_lan_transport_start;
  transport_class->stop = ferry_lan_transport_stop;
  transport_class->describe_async = ferry_lan_transport_describe_async;
  transport_class->describe_finish = ferry_lan_transport_describe_finish;
  transport_class->connect_async = ferry_lan_transport_connect_async;
  transport_class->connect_finish = ferry_lan_transport_connect_finish;
  transport_class->release = ferry_lan_transport_release;
  transport_class->dup_listen_addresses = ferry_lan_transport_dup_listen_addresses;
}

static void
ferry_lan_transport_init (FerryLanTransport *self)
{
  self->attempts = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                          (GDestroyNotify) _ferry_lan_attempt_free);
  self->connects = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, NULL);
  self->listen_addresses = g_ptr_array_new_with_free_func (g_object_unref);
  g_queue_init (&self->incoming);
}

static gboolean
lan_register_features (FerryPlugin  *plugin,
                       GError      **error)
{
  ferry_plugin_add_feature (plugin, "lan", FERRY_TYPE_LAN_TRANSPORT, FERRY_RANK_PRIMARY);
  return TRUE;
}

FERRY_PLUGIN_DEFINE (lan, "lan",
                     "TCP connections on the local network",
                     PACKAGE_VERSION, "LGPL-2.1-or-later",
                     lan_register_features)
