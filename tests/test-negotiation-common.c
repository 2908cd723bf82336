/* test-negotiation-common.c: what the negotiation tests share
 *
 * An in-process signaling ("bus") and test transports registered beside
 * the real plugins: "pipe" connects over a real socket pair, "broken"
 * fails after a short delay, "hang" never connects until cancelled, "far"
 * hangs too but describes an address for the answerer to dial, as lan
 * does, and "unconfigured" never passes its check. A fixture of two
 * engines in one process that talk through them, the receiver accepting.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>
#include <sys/socket.h>

#include "test-negotiation-common.h"

/* ------------------------------------------------------------- bus signaling */

#define TEST_TYPE_BUS (test_bus_get_type ())
G_DECLARE_FINAL_TYPE (TestBus, test_bus, TEST, BUS, FerrySignaling)

struct _TestBus
{
  FerrySignaling parent_instance;
  char          *route;
};

G_DEFINE_FINAL_TYPE (TestBus, test_bus, FERRY_TYPE_SIGNALING)

static GPtrArray *bus_members;  /* TestBus, not owned */
static guint bus_counter;

FerryEngine *bus_lossy_engine;
guint bus_drops;
guint bus_lossy_sent;

static TestBus *
bus_lookup (const char *route)
{
  for (guint i = 0; bus_members != NULL && i < bus_members->len; i++)
    {
      TestBus *bus = g_ptr_array_index (bus_members, i);

      if (g_str_equal (bus->route, route))
        return bus;
    }
  return NULL;
}

static void
bus_announce_to (TestBus *from,
                 TestBus *to)
{
  FerryPluginContext *context = ferry_signaling_get_plugin_context (FERRY_SIGNALING (from));
  g_autoptr(GBytes) announcement = ferry_plugin_context_get_announcement (context);

  ferry_signaling_emit_announcement (FERRY_SIGNALING (to), announcement, from->route);
}

static gboolean
test_bus_start (FerrySignaling  *signaling,
                GError         **error)
{
  TestBus *self = TEST_BUS (signaling);

  self->route = g_strdup_printf ("bus:%u", ++bus_counter);
  if (bus_members == NULL)
    bus_members = g_ptr_array_new ();
  g_ptr_array_add (bus_members, self);
  for (guint i = 0; i < bus_members->len; i++)
    if (g_ptr_array_index (bus_members, i) != self)
      bus_announce_to (self, g_ptr_array_index (bus_members, i));
  return TRUE;
}

static void
test_bus_stop (FerrySignaling *signaling)
{
  if (bus_members != NULL)
    g_ptr_array_remove (bus_members, signaling);
}

static void
test_bus_query (FerrySignaling *signaling,
                const char     *account_id)
{
  for (guint i = 0; i < bus_members->len; i++)
    if (g_ptr_array_index (bus_members, i) != signaling)
      bus_announce_to (g_ptr_array_index (bus_members, i), TEST_BUS (signaling));
}

typedef struct {
  char   *to;
  char   *from;
  GBytes *message;
} BusDelivery;

static gboolean
bus_deliver_cb (gpointer user_data)
{
  BusDelivery *delivery = user_data;
  TestBus *target = bus_lookup (delivery->to);

  if (target != NULL)
    ferry_signaling_emit_message (FERRY_SIGNALING (target), delivery->message, delivery->from);
  g_free (delivery->to);
  g_free (delivery->from);
  g_bytes_unref (delivery->message);
  g_free (delivery);
  return G_SOURCE_REMOVE;
}

static void
test_bus_send_async (FerrySignaling      *signaling,
                     const char          *route,
                     GBytes              *message,
                     GCancellable        *cancellable,
                     GAsyncReadyCallback  callback,
                     gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (signaling, cancellable, callback, user_data);
  BusDelivery *delivery;

  if (bus_lookup (route) == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_HOST_UNREACHABLE, "no such route");
      return;
    }
  if (ferry_signaling_get_engine (signaling) == bus_lossy_engine)
    bus_lossy_sent++;
  if (bus_drops > 0 && ferry_signaling_get_engine (signaling) == bus_lossy_engine)
    {
      bus_drops--;
      g_task_return_boolean (task, TRUE);
      return;
    }
  delivery = g_new0 (BusDelivery, 1);
  delivery->to = g_strdup (route);
  delivery->from = g_strdup (TEST_BUS (signaling)->route);
  delivery->message = g_bytes_ref (message);
  g_idle_add (bus_deliver_cb, delivery);
  g_task_return_boolean (task, TRUE);
}

static gboolean
test_bus_send_finish (FerrySignaling  *signaling,
                      GAsyncResult    *result,
                      GError         **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
test_bus_finalize (GObject *object)
{
  TestBus *self = TEST_BUS (object);

  test_bus_stop (FERRY_SIGNALING (self));
  g_free (self->route);
  G_OBJECT_CLASS (test_bus_parent_class)->finalize (object);
}

static void
test_bus_class_init (TestBusClass *klass)
{
  FerrySignalingClass *signaling_class = FERRY_SIGNALING_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = test_bus_finalize;
  signaling_class->start = test_bus_start;
  signaling_class->stop = test_bus_stop;
  signaling_class->query = test_bus_query;
  signaling_class->send_async = test_bus_send_async;
  signaling_class->send_finish = test_bus_send_finish;
}

static void
test_bus_init (TestBus *self)
{
}

/* -------------------------------------------------------- test transports */

guint n_connects[3];
guint n_cancelled[3];
/* Per side (index: offerer): hang attempts not cancelled yet. */
static guint hang_pending[2];
guint pipe_beside_hang[2];

/* attempt id → the answerer's end of the socket pair */
static GHashTable *pipe_ends;

char *far_address;

#define TEST_TYPE_TRANSPORT (test_transport_get_type ())
G_DECLARE_DERIVABLE_TYPE (TestTransport, test_transport, TEST, TRANSPORT, FerryTransport)

struct _TestTransportClass
{
  FerryTransportClass parent_class;
  TransportMode       mode;
  gboolean            far;   /* describes far_address */
};

G_DEFINE_ABSTRACT_TYPE (TestTransport, test_transport, FERRY_TYPE_TRANSPORT)

static GIOStream *
stream_from_fd (int fd)
{
  g_autoptr(GSocket) socket = g_socket_new_from_fd (fd, NULL);

  g_assert_nonnull (socket);
  return G_IO_STREAM (g_socket_connection_factory_create_connection (socket));
}

static void
test_transport_describe_async (FerryTransport      *transport,
                               const char          *attempt_id,
                               gboolean             offerer,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (transport, cancellable, callback, user_data);
  JsonObject *object = json_object_new ();

  json_object_set_string_member (object, "kind", G_OBJECT_TYPE_NAME (transport));
  if (TEST_TRANSPORT_GET_CLASS (transport)->far && offerer)
    {
      JsonArray *addresses = json_array_new ();

      json_array_add_string_element (addresses, far_address);
      json_object_set_array_member (object, "addresses", addresses);
    }
  g_task_return_pointer (task, object, (GDestroyNotify) json_object_unref);
}

static JsonObject *
test_transport_describe_finish (FerryTransport  *transport,
                                GAsyncResult    *result,
                                GError         **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

typedef struct {
  GTask    *task;
  gulong    cancelled_id;
  guint     timeout_id;
  gboolean  offerer;
} PendingConnect;

static gboolean
pending_fail_cb (gpointer user_data)
{
  PendingConnect *pending = user_data;

  g_task_return_new_error (pending->task, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED,
                           "refused by the broken test transport");
  g_object_unref (pending->task);
  g_free (pending);
  return G_SOURCE_REMOVE;
}

static gboolean
pending_cancelled_idle (gpointer user_data)
{
  PendingConnect *pending = user_data;

  n_cancelled[MODE_HANG]++;
  g_task_return_new_error (pending->task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "cancelled");
  g_object_unref (pending->task);
  g_free (pending);
  return G_SOURCE_REMOVE;
}

static void
pending_cancelled_cb (GCancellable *cancellable,
                      gpointer      user_data)
{
  PendingConnect *pending = user_data;

  hang_pending[pending->offerer != FALSE]--;
  g_idle_add (pending_cancelled_idle, user_data);
}

static void
test_transport_connect_async (FerryTransport      *transport,
                              const char          *attempt_id,
                              gboolean             offerer,
                              JsonObject          *remote,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  TransportMode mode = TEST_TRANSPORT_GET_CLASS (transport)->mode;
  g_autoptr(GTask) task = g_task_new (transport, cancellable, callback, user_data);
  PendingConnect *pending;

  n_connects[mode]++;
  if (mode == MODE_PIPE && hang_pending[offerer != FALSE] > 0)
    pipe_beside_hang[offerer != FALSE]++;
  g_assert_cmpstr (json_object_get_string_member (remote, "kind"), ==, G_OBJECT_TYPE_NAME (transport));

  switch (mode)
    {
    case MODE_PIPE:
      {
        GIOStream *stream;

        if (pipe_ends == NULL)
          pipe_ends = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
        stream = g_hash_table_lookup (pipe_ends, attempt_id);
        if (stream == NULL)
          {
            int fds[2];

            g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
            g_hash_table_insert (pipe_ends, g_strdup (attempt_id), stream_from_fd (fds[1]));
            g_task_return_pointer (task, stream_from_fd (fds[0]), g_object_unref);
          }
        else
          {
            g_object_ref (stream);
            g_hash_table_remove (pipe_ends, attempt_id);
            g_task_return_pointer (task, stream, g_object_unref);
          }
      }
      break;

    case MODE_BROKEN:
      pending = g_new0 (PendingConnect, 1);
      pending->task = g_steal_pointer (&task);
      g_timeout_add (30, pending_fail_cb, pending);
      break;

    case MODE_HANG:
      pending = g_new0 (PendingConnect, 1);
      pending->task = g_steal_pointer (&task);
      pending->offerer = offerer;
      hang_pending[offerer != FALSE]++;
      g_cancellable_connect (cancellable, G_CALLBACK (pending_cancelled_cb), pending, NULL);
      break;
    }
}

static GIOStream *
test_transport_connect_finish (FerryTransport  *transport,
                               GAsyncResult    *result,
                               char           **description,
                               GError         **error)
{
  GIOStream *stream = g_task_propagate_pointer (G_TASK (result), error);

  if (stream != NULL && description != NULL)
    *description = g_strdup_printf ("%s (socketpair)", ferry_transport_get_name (transport));
  return stream;
}

static void
test_transport_class_init (TestTransportClass *klass)
{
  FerryTransportClass *transport_class = FERRY_TRANSPORT_CLASS (klass);

  transport_class->describe_async = test_transport_describe_async;
  transport_class->describe_finish = test_transport_describe_finish;
  transport_class->connect_async = test_transport_connect_async;
  transport_class->connect_finish = test_transport_connect_finish;
}

static void
test_transport_init (TestTransport *self)
{
}

#define DEFINE_TEST_TRANSPORT(TypeName, type_name, MODE)                          \
  typedef TestTransport TypeName;                                                 \
  typedef TestTransportClass TypeName##Class;                                     \
  G_DEFINE_TYPE (TypeName, type_name, TEST_TYPE_TRANSPORT)                        \
  static void type_name##_class_init (TypeName##Class *klass) { klass->mode = MODE; } \
  static void type_name##_init (TypeName *self) { }

DEFINE_TEST_TRANSPORT (TestPipe, test_pipe, MODE_PIPE)
DEFINE_TEST_TRANSPORT (TestBroken, test_broken, MODE_BROKEN)
DEFINE_TEST_TRANSPORT (TestHang, test_hang, MODE_HANG)

/* Hangs as "hang" does; its offerer describes far_address. */
typedef TestTransport TestFar;
typedef TestTransportClass TestFarClass;
G_DEFINE_TYPE (TestFar, test_far, TEST_TYPE_TRANSPORT)
static void test_far_class_init (TestFarClass *klass) { klass->mode = MODE_HANG; klass->far = TRUE; }
static void test_far_init (TestFar *self) { }

/* A transport whose configuration never lets it work. */
#define TEST_TYPE_UNCONFIGURED (test_unconfigured_get_type ())
G_DECLARE_FINAL_TYPE (TestUnconfigured, test_unconfigured, TEST, UNCONFIGURED, FerryTransport)

struct _TestUnconfigured
{
  FerryTransport parent_instance;
};

G_DEFINE_FINAL_TYPE (TestUnconfigured, test_unconfigured, FERRY_TYPE_TRANSPORT)

static gboolean
test_unconfigured_check (FerryTransport  *transport,
                         GError         **error)
{
  g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_CONFIG, "no server is configured");
  return FALSE;
}

static void
test_unconfigured_class_init (TestUnconfiguredClass *klass)
{
  FERRY_TRANSPORT_CLASS (klass)->check = test_unconfigured_check;
}

static void
test_unconfigured_init (TestUnconfigured *self)
{
}

static gboolean
register_test_features (FerryPlugin  *plugin,
                        GError      **error)
{
  ferry_plugin_add_feature (plugin, "bus", TEST_TYPE_BUS, FERRY_RANK_PRIMARY);
  ferry_plugin_add_feature (plugin, "pipe", test_pipe_get_type (), FERRY_RANK_SECONDARY);
  ferry_plugin_add_feature (plugin, "broken", test_broken_get_type (), FERRY_RANK_PRIMARY);
  ferry_plugin_add_feature (plugin, "hang", test_hang_get_type (), FERRY_RANK_PRIMARY + 10);
  ferry_plugin_add_feature (plugin, "far", test_far_get_type (), FERRY_RANK_PRIMARY + 20);
  ferry_plugin_add_feature (plugin, "unconfigured", TEST_TYPE_UNCONFIGURED, FERRY_RANK_PRIMARY);
  return TRUE;
}

static const FerryPluginDesc test_plugin_desc = {
  FERRY_PLUGIN_ABI_MAJOR, FERRY_PLUGIN_ABI_MINOR,
  "negotiation-test", "1.0", "test transports and an in-process signaling", "LGPL-2.1-or-later",
  register_test_features, { NULL, }
};

/* ------------------------------------------------------------------ fixture */

static FerryEngine *
make_engine (Fixture            *fixture,
             const char         *name,
             const char * const *transports,
             const char         *extra_config)
{
  g_autofree char *home = g_build_filename (fixture->dir, name, NULL);
  g_autofree char *conf = g_build_filename (home, "ferry.conf", NULL);
  g_autofree char *text = g_strdup_printf ("[core]\nname=%s\nstagger=150\n%s", name,
                                           extra_config ? extra_config : "");
  const char *bus[] = { "bus", NULL };
  g_autoptr(GError) error = NULL;
  FerryEngine *engine;

  g_assert_cmpint (g_mkdir_with_parents (home, 0700), ==, 0);
  g_assert_true (g_file_set_contents (conf, text, -1, NULL));
  engine = ferry_engine_new (home, NULL, &error);
  g_assert_no_error (error);
  ferry_engine_set_signalings (engine, bus);
  ferry_engine_set_transports (engine, transports);
  g_assert_true (ferry_engine_start (engine, &error));
  g_assert_no_error (error);
  return engine;
}

static void
transfer_requested_cb (FerryEngine   *engine,
                       FerryTransfer *transfer,
                       Fixture       *fixture)
{
  g_autoptr(GFile) dir = g_file_new_for_path (fixture->download);

  g_set_object (&fixture->incoming, transfer);
  ferry_transfer_accept (transfer, dir);
}

void
fixture_set_up (Fixture            *fixture,
                const char * const *sender_transports,
                const char * const *receiver_transports,
                const char         *extra_config)
{
  memset (n_connects, 0, sizeof n_connects);
  memset (n_cancelled, 0, sizeof n_cancelled);
  memset (hang_pending, 0, sizeof hang_pending);
  memset (pipe_beside_hang, 0, sizeof pipe_beside_hang);
  bus_lossy_sent = 0;
  ferry_test_log_clear ();
  fixture->dir = ferry_test_make_dir ("negotiation");
  fixture->download = g_build_filename (fixture->dir, "download", NULL);
  g_assert_cmpint (g_mkdir_with_parents (fixture->download, 0700), ==, 0);
  fixture->source = g_build_filename (fixture->dir, "payload.bin", NULL);
  ferry_test_write_random (fixture->source, 300 * 1024 + 7, 42);

  fixture->sender = make_engine (fixture, "sender", sender_transports, extra_config);
  fixture->receiver = make_engine (fixture, "receiver", receiver_transports, extra_config);
  g_signal_connect (fixture->receiver, "transfer-requested", G_CALLBACK (transfer_requested_cb), fixture);
}

void
fixture_tear_down (Fixture *fixture)
{
  g_clear_object (&fixture->incoming);
  ferry_engine_stop (fixture->sender);
  ferry_engine_stop (fixture->receiver);
  g_clear_object (&fixture->sender);
  g_clear_object (&fixture->receiver);
  g_free (fixture->download);
  g_free (fixture->source);
  g_free (fixture->dir);
  g_clear_pointer (&pipe_ends, g_hash_table_unref);
  g_clear_pointer (&far_address, g_free);
}

gboolean
transfer_done (gpointer user_data)
{
  return ferry_transfer_is_done (FERRY_TRANSFER (user_data));
}

FerryTransfer *
send_payload (Fixture *fixture)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) file = g_file_new_for_path (fixture->source);
  GListModel *peers = ferry_engine_get_peers (fixture->sender);
  g_autoptr(FerryPeer) peer = NULL;
  FerryTransfer *transfer;

  /* The bus announces synchronously at start: the receiver is known. */
  g_assert_cmpuint (g_list_model_get_n_items (peers), ==, 1);
  peer = g_list_model_get_item (peers, 0);
  g_assert_cmpstr (ferry_peer_get_account_id (peer), ==,
                   ferry_identity_get_account_id (ferry_engine_get_identity (fixture->receiver)));

  transfer = ferry_engine_send (fixture->sender, peer, &file, 1, &error);
  g_assert_no_error (error);
  g_assert_nonnull (transfer);
  ferry_test_wait_until (transfer_done, transfer, 20000, "the outgoing transfer to end");
  return transfer;
}

void
assert_received (Fixture *fixture)
{
  g_autofree char *received = g_build_filename (fixture->download, "payload.bin", NULL);

  g_assert_nonnull (fixture->incoming);
  ferry_test_wait_until (transfer_done, fixture->incoming, 20000, "the incoming transfer to end");
  g_assert_cmpint (ferry_transfer_get_state (fixture->incoming), ==, FERRY_TRANSFER_STATE_FINISHED);
  g_assert_true (ferry_test_files_equal (fixture->source, received));
}

/* --------------------------------------------------------------------- init */

void
negotiation_test_init (int    *argc,
                       char ***argv)
{
  g_autoptr(GError) error = NULL;

  g_test_init (argc, argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  ferry_registry_register_static (ferry_registry_get_default (), &test_plugin_desc, &error);
  g_assert_no_error (error);
}
