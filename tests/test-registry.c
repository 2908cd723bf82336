/* test-registry.c: plugins linked into the program (static ones), the
 * features a registry refuses, and the plugin base classes (plugin files:
 * test-registry-load.c)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Links the shared library, as plugins do.
 */
#include "config.h"

#include <gio/gio.h>
#include <ferry/ferry.h>

#include "test-registry-common.h"

/* Static plugins, defined here. */

#define TEST_TYPE_STATIC_TRANSPORT (test_static_transport_get_type ())
G_DECLARE_FINAL_TYPE (TestStaticTransport, test_static_transport, TEST, STATIC_TRANSPORT, FerryTransport)

struct _TestStaticTransport
{
  FerryTransport parent_instance;
};

G_DEFINE_FINAL_TYPE (TestStaticTransport, test_static_transport, FERRY_TYPE_TRANSPORT)

static void
test_static_transport_class_init (TestStaticTransportClass *klass)
{
}

static void
test_static_transport_init (TestStaticTransport *self)
{
}

#define TEST_TYPE_STATIC_SIGNALING (test_static_signaling_get_type ())
G_DECLARE_FINAL_TYPE (TestStaticSignaling, test_static_signaling, TEST, STATIC_SIGNALING, FerrySignaling)

struct _TestStaticSignaling
{
  FerrySignaling parent_instance;
};

G_DEFINE_FINAL_TYPE (TestStaticSignaling, test_static_signaling, FERRY_TYPE_SIGNALING)

static void
test_static_signaling_class_init (TestStaticSignalingClass *klass)
{
}

static void
test_static_signaling_init (TestStaticSignaling *self)
{
}

static gboolean
register_static_features (FerryPlugin  *plugin,
                          GError      **error)
{
  ferry_plugin_add_feature (plugin, "static-b", TEST_TYPE_STATIC_TRANSPORT, FERRY_RANK_SECONDARY);
  ferry_plugin_add_feature (plugin, "static-a", TEST_TYPE_STATIC_TRANSPORT, FERRY_RANK_SECONDARY);
  ferry_plugin_add_feature (plugin, "static-low", TEST_TYPE_STATIC_TRANSPORT, FERRY_RANK_MARGINAL);
  ferry_plugin_add_feature (plugin, "static-top", TEST_TYPE_STATIC_TRANSPORT, 300);
  ferry_plugin_add_feature (plugin, "static-signaling", TEST_TYPE_STATIC_SIGNALING, FERRY_RANK_NONE);

  return TRUE;
}

static gboolean
register_fail_silently (FerryPlugin  *plugin,
                        GError      **error)
{
  ferry_plugin_add_feature (plugin, "silent", TEST_TYPE_STATIC_TRANSPORT, FERRY_RANK_PRIMARY);

  return FALSE;
}

/* Each of these is refused with a warning (checked by the parent process,
 * see test_refused_features). */
static gboolean
register_refused_features (FerryPlugin  *plugin,
                           GError      **error)
{
  ferry_plugin_add_feature (plugin, "not-a-transport", G_TYPE_OBJECT, FERRY_RANK_PRIMARY);
  ferry_plugin_add_feature (plugin, "abstract", FERRY_TYPE_TRANSPORT, FERRY_RANK_PRIMARY);
  ferry_plugin_add_feature (plugin, "Not Valid", TEST_TYPE_STATIC_TRANSPORT, FERRY_RANK_PRIMARY);

  ferry_plugin_add_feature (plugin, "kept", TEST_TYPE_STATIC_TRANSPORT, FERRY_RANK_PRIMARY);

  /* Taken inside this plugin, then by another plugin of the registry. */
  ferry_plugin_add_feature (plugin, "kept", TEST_TYPE_STATIC_SIGNALING, FERRY_RANK_PRIMARY);
  ferry_plugin_add_feature (plugin, "static-a", TEST_TYPE_STATIC_TRANSPORT, FERRY_RANK_PRIMARY);

  return TRUE;
}

static const FerryPluginDesc static_desc = {
  FERRY_PLUGIN_ABI_MAJOR, FERRY_PLUGIN_ABI_MINOR,
  "static", "0.1", "A plugin linked into the test", "LGPL-2.1-or-later",
  register_static_features, { NULL, }
};

static void
check_static_failure (FerryRegistry         *registry,
                      const FerryPluginDesc *desc,
                      int                    code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FerryPlugin) item = NULL;
  guint n = g_list_model_get_n_items (G_LIST_MODEL (registry));

  g_assert_null (ferry_registry_register_static (registry, desc, &error));
  g_assert_error (error, FERRY_ERROR, code);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (registry)), ==, n + 1);
  item = g_list_model_get_item (G_LIST_MODEL (registry), n);
  g_assert_false (ferry_plugin_is_loaded (item));
  g_assert_null (ferry_plugin_get_filename (item));
  g_assert_error ((GError *) ferry_plugin_get_error (item), FERRY_ERROR, code);
  g_assert_cmpuint (g_list_model_get_n_items (ferry_plugin_get_features (item)), ==, 0);
}

static void
test_register_static (void)
{
  g_autoptr(FerryRegistry) registry = ferry_registry_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) transports = NULL;
  g_autoptr(GPtrArray) signalings = NULL;
  static const char * const order[] = { "static-top", "static-a", "static-b", "static-low" };
  FerryPluginDesc desc;
  FerryPlugin *plugin;

  plugin = ferry_registry_register_static (registry, &static_desc, &error);
  g_assert_no_error (error);
  g_assert_nonnull (plugin);
  g_assert_true (ferry_plugin_is_loaded (plugin));
  g_assert_null (ferry_plugin_get_filename (plugin));
  g_assert_cmpstr (ferry_plugin_get_name (plugin), ==, "static");
  g_assert_cmpuint (g_list_model_get_n_items (ferry_plugin_get_features (plugin)), ==, 5);

  /* Highest rank first, then by name. */
  transports = ferry_registry_list_features (registry, FERRY_TYPE_TRANSPORT);
  g_assert_cmpuint (transports->len, ==, G_N_ELEMENTS (order));
  for (guint i = 0; i < G_N_ELEMENTS (order); i++)
    g_assert_cmpstr (ferry_feature_get_name (g_ptr_array_index (transports, i)), ==, order[i]);
  signalings = ferry_registry_list_features (registry, FERRY_TYPE_SIGNALING);
  g_assert_cmpuint (signalings->len, ==, 1);
  g_assert_cmpstr (ferry_feature_get_name (g_ptr_array_index (signalings, 0)), ==, "static-signaling");

  /* Same name again. */
  check_static_failure (registry, &static_desc, FERRY_ERROR_PLUGIN_DUPLICATE);

  /* ABI: another major, or a newer minor. */
  desc = static_desc;
  desc.name = "other";
  desc.abi_major = FERRY_PLUGIN_ABI_MAJOR + 1;
  check_static_failure (registry, &desc, FERRY_ERROR_PLUGIN_ABI);
  desc.abi_major = FERRY_PLUGIN_ABI_MAJOR - 1;
  check_static_failure (registry, &desc, FERRY_ERROR_PLUGIN_ABI);
  desc.abi_major = FERRY_PLUGIN_ABI_MAJOR;
  desc.abi_minor = FERRY_PLUGIN_ABI_MINOR + 1;
  check_static_failure (registry, &desc, FERRY_ERROR_PLUGIN_ABI);

  /* Bad names. */
  desc = static_desc;
  desc.name = NULL;
  check_static_failure (registry, &desc, FERRY_ERROR_PLUGIN_ENTRY);
  desc.name = "";
  check_static_failure (registry, &desc, FERRY_ERROR_PLUGIN_ENTRY);
  desc.name = "Static";
  check_static_failure (registry, &desc, FERRY_ERROR_PLUGIN_ENTRY);
  desc.name = "static/../x";
  check_static_failure (registry, &desc, FERRY_ERROR_PLUGIN_ENTRY);

  /* No register function. */
  desc = static_desc;
  desc.name = "no-register";
  desc.register_features = NULL;
  check_static_failure (registry, &desc, FERRY_ERROR_PLUGIN_ENTRY);

  /* register_features returns FALSE without an error. */
  desc = static_desc;
  desc.name = "silent";
  desc.register_features = register_fail_silently;
  check_static_failure (registry, &desc, FERRY_ERROR_PLUGIN_INIT);
  g_assert_null (ferry_registry_lookup_feature (registry, G_TYPE_OBJECT, "silent"));

  /* None of that changed what is loaded. */
  g_assert_cmpuint (count_loaded (registry), ==, 1);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (registry)), ==, 11);
  g_clear_pointer (&transports, g_ptr_array_unref);
  transports = ferry_registry_list_features (registry, FERRY_TYPE_TRANSPORT);
  g_assert_cmpuint (transports->len, ==, G_N_ELEMENTS (order));
}

static void
test_refused_features (void)
{
  /* g_test_expect_message() does not see structured log messages: the
   * warnings are checked on the subprocess's stderr instead. */
  if (g_test_subprocess ())
    {
      g_autoptr(FerryRegistry) registry = ferry_registry_new ();
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) features = NULL;
      FerryPluginDesc desc = static_desc;
      FerryPlugin *plugin;
      FerryFeature *kept;

      g_log_set_always_fatal (G_LOG_FATAL_MASK);

      g_assert_nonnull (ferry_registry_register_static (registry, &static_desc, &error));
      g_assert_no_error (error);

      desc.name = "refused";
      desc.register_features = register_refused_features;
      plugin = ferry_registry_register_static (registry, &desc, &error);
      g_assert_no_error (error);
      g_assert_nonnull (plugin);

      /* Only the valid feature is there; the other plugin kept its own. */
      g_assert_cmpuint (g_list_model_get_n_items (ferry_plugin_get_features (plugin)), ==, 1);
      kept = ferry_registry_lookup_feature (registry, G_TYPE_OBJECT, "kept");
      g_assert_nonnull (kept);
      g_assert_true (ferry_feature_get_plugin (kept) == plugin);
      g_assert_true (ferry_feature_get_gtype (kept) == TEST_TYPE_STATIC_TRANSPORT);
      g_assert_true (ferry_feature_get_plugin (ferry_registry_lookup_feature (registry, G_TYPE_OBJECT, "static-a"))
                     == ferry_registry_lookup_plugin (registry, "static"));
      features = ferry_registry_list_features (registry, G_TYPE_OBJECT);
      g_assert_cmpuint (features->len, ==, 6);
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("*WARNING*refused*not-a-transport*neither*"
                             "*WARNING*refused*abstract*"
                             "*WARNING*refused*invalid feature name*Not Valid*"
                             "*WARNING*refused*kept*already exists*"
                             "*WARNING*refused*static-a*already exists*");
}

/* The base classes. */

#define TEST_TYPE_BARE_TRANSPORT (test_bare_transport_get_type ())
G_DECLARE_FINAL_TYPE (TestBareTransport, test_bare_transport, TEST, BARE_TRANSPORT, FerryTransport)

struct _TestBareTransport
{
  FerryTransport parent_instance;
};

G_DEFINE_FINAL_TYPE (TestBareTransport, test_bare_transport, FERRY_TYPE_TRANSPORT)

static void
test_bare_transport_class_init (TestBareTransportClass *klass)
{
}

static void
test_bare_transport_init (TestBareTransport *self)
{
}

#define TEST_TYPE_BARE_SIGNALING (test_bare_signaling_get_type ())
G_DECLARE_FINAL_TYPE (TestBareSignaling, test_bare_signaling, TEST, BARE_SIGNALING, FerrySignaling)

struct _TestBareSignaling
{
  FerrySignaling parent_instance;
};

G_DEFINE_FINAL_TYPE (TestBareSignaling, test_bare_signaling, FERRY_TYPE_SIGNALING)

static void
test_bare_signaling_class_init (TestBareSignalingClass *klass)
{
}

static void
test_bare_signaling_init (TestBareSignaling *self)
{
}

/* A signaling that implements sending with a GTask and no send_finish. */
#define TEST_TYPE_ECHO_SIGNALING (test_echo_signaling_get_type ())
G_DECLARE_FINAL_TYPE (TestEchoSignaling, test_echo_signaling, TEST, ECHO_SIGNALING, FerrySignaling)

struct _TestEchoSignaling
{
  FerrySignaling parent_instance;
  guint          started;
  guint          stopped;
  char          *queried;
};

G_DEFINE_FINAL_TYPE (TestEchoSignaling, test_echo_signaling, FERRY_TYPE_SIGNALING)

static gboolean
test_echo_signaling_start (FerrySignaling  *signaling,
                           GError         **error)
{
  TestEchoSignaling *self = TEST_ECHO_SIGNALING (signaling);

  if (self->started++ > 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_BUSY, "started twice");
      return FALSE;
    }

  return TRUE;
}

static void
test_echo_signaling_stop (FerrySignaling *signaling)
{
  TEST_ECHO_SIGNALING (signaling)->stopped++;
}

static void
test_echo_signaling_query (FerrySignaling *signaling,
                           const char     *account_id)
{
  TestEchoSignaling *self = TEST_ECHO_SIGNALING (signaling);

  g_free (self->queried);
  self->queried = g_strdup (account_id != NULL ? account_id : "*");
}

/* Sending echoes the message back as received from @route. */
static void
test_echo_signaling_send_async (FerrySignaling      *signaling,
                                const char          *route,
                                GBytes              *message,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (signaling, cancellable, callback, user_data);

  ferry_signaling_emit_message (signaling, message, route);
  g_task_return_boolean (task, TRUE);
}

static void
test_echo_signaling_finalize (GObject *object)
{
  g_free (TEST_ECHO_SIGNALING (object)->queried);

  G_OBJECT_CLASS (test_echo_signaling_parent_class)->finalize (object);
}

static void
test_echo_signaling_class_init (TestEchoSignalingClass *klass)
{
  FerrySignalingClass *signaling_class = FERRY_SIGNALING_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = test_echo_signaling_finalize;
  signaling_class->start = test_echo_signaling_start;
  signaling_class->stop = test_echo_signaling_stop;
  signaling_class->query = test_echo_signaling_query;
  signaling_class->send_async = test_echo_signaling_send_async;
}

static void
test_echo_signaling_init (TestEchoSignaling *self)
{
}

static gboolean
timed_out_cb (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterates the default main context until *@result is set, or fails. */
static void
await_result (GAsyncResult **result)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add_seconds (10, timed_out_cb, &timed_out);

  while (*result == NULL && !timed_out)
    g_main_context_iteration (NULL, TRUE);

  g_assert_false (timed_out);
  g_source_remove (id);
}

static void
store_result (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  GAsyncResult **out = user_data;

  g_assert_null (*out);
  *out = g_object_ref (result);
}

typedef struct {
  guint   count;
  GBytes *bytes;
  char   *route;
} Received;

static void
received_clear (Received *received)
{
  g_clear_pointer (&received->bytes, g_bytes_unref);
  g_clear_pointer (&received->route, g_free);
}

static void
on_received (FerrySignaling *signaling,
             GBytes         *bytes,
             const char     *route,
             gpointer        user_data)
{
  Received *received = user_data;

  received_clear (received);
  received->count++;
  received->bytes = g_bytes_ref (bytes);
  received->route = g_strdup (route);
}

static void
test_signaling_base (void)
{
  g_autoptr(FerrySignaling) bare = NULL;
  g_autoptr(FerrySignaling) echo = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GBytes) payload = g_bytes_new_static ("hello", 5);
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;
  FerryEngine *engine = (FerryEngine *) 0x1;
  Received announcements = { 0, };
  Received messages = { 0, };
  gboolean done;

  bare = g_object_new (TEST_TYPE_BARE_SIGNALING, "name", "bare", NULL);
  g_assert_cmpstr (ferry_signaling_get_name (bare), ==, "bare");
  g_object_get (bare, "name", &name, "engine", &engine, NULL);
  g_assert_cmpstr (name, ==, "bare");
  g_assert_null (engine);
  g_assert_null (ferry_signaling_get_engine (bare));

  /* Without implementations: start succeeds, the rest does nothing... */
  g_assert_true (ferry_signaling_start (bare, &error));
  g_assert_no_error (error);
  ferry_signaling_query (bare, NULL);
  ferry_signaling_stop (bare);

  /* ...and sending is not supported, reported asynchronously. */
  ferry_signaling_send_async (bare, "route", payload, NULL, store_result, &result);
  g_assert_null (result);
  await_result (&result);
  done = ferry_signaling_send_finish (bare, result, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
  g_assert_false (done);
  g_clear_error (&error);
  g_clear_object (&result);

  /* The signals carry the bytes and the route. */
  g_signal_connect (bare, "announcement-received", G_CALLBACK (on_received), &announcements);
  g_signal_connect (bare, "message-received", G_CALLBACK (on_received), &messages);
  ferry_signaling_emit_announcement (bare, payload, "127.0.0.1:47474");
  g_assert_cmpuint (announcements.count, ==, 1);
  g_assert_cmpuint (messages.count, ==, 0);
  g_assert_true (g_bytes_equal (announcements.bytes, payload));
  g_assert_cmpstr (announcements.route, ==, "127.0.0.1:47474");
  ferry_signaling_emit_message (bare, payload, "inbox");
  g_assert_cmpuint (announcements.count, ==, 1);
  g_assert_cmpuint (messages.count, ==, 1);
  g_assert_true (g_bytes_equal (messages.bytes, payload));
  g_assert_cmpstr (messages.route, ==, "inbox");
  received_clear (&announcements);
  received_clear (&messages);
  messages.count = 0;

  /* With implementations, the wrappers call them. */
  echo = g_object_new (TEST_TYPE_ECHO_SIGNALING, "name", "echo", NULL);
  g_signal_connect (echo, "message-received", G_CALLBACK (on_received), &messages);
  g_assert_true (ferry_signaling_start (echo, &error));
  g_assert_no_error (error);
  g_assert_false (ferry_signaling_start (echo, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_BUSY);
  g_clear_error (&error);
  ferry_signaling_query (echo, "0123abcd");
  g_assert_cmpstr (TEST_ECHO_SIGNALING (echo)->queried, ==, "0123abcd");
  ferry_signaling_query (echo, NULL);
  g_assert_cmpstr (TEST_ECHO_SIGNALING (echo)->queried, ==, "*");

  ferry_signaling_send_async (echo, "peer-route", payload, NULL, store_result, &result);
  await_result (&result);
  g_assert_true (ferry_signaling_send_finish (echo, result, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (messages.count, ==, 1);
  g_assert_cmpstr (messages.route, ==, "peer-route");
  g_assert_true (g_bytes_equal (messages.bytes, payload));
  received_clear (&messages);

  ferry_signaling_stop (echo);
  g_assert_cmpuint (TEST_ECHO_SIGNALING (echo)->stopped, ==, 1);
}

static void
test_transport_base (void)
{
  g_autoptr(FerryTransport) transport = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) remote = json_object_new ();
  g_autoptr(JsonObject) description = NULL;
  g_autoptr(GIOStream) stream = NULL;
  char *text = (char *) "untouched";
  guint rank = 0;

  transport = g_object_new (TEST_TYPE_BARE_TRANSPORT,
                            "name", "bare",
                            "rank", FERRY_RANK_SECONDARY,
                            NULL);
  g_assert_cmpstr (ferry_transport_get_name (transport), ==, "bare");
  g_assert_cmpuint (ferry_transport_get_rank (transport), ==, FERRY_RANK_SECONDARY);
  g_object_get (transport, "rank", &rank, NULL);
  g_assert_cmpuint (rank, ==, FERRY_RANK_SECONDARY);
  g_assert_null (ferry_transport_get_engine (transport));

  g_assert_true (ferry_transport_start (transport, &error));
  g_assert_no_error (error);
  g_assert_null (ferry_transport_dup_listen_addresses (transport));
  ferry_transport_release (transport, "attempt");

  ferry_transport_describe_async (transport, "attempt", TRUE, NULL, store_result, &result);
  g_assert_null (result);
  await_result (&result);
  description = ferry_transport_describe_finish (transport, result, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
  g_assert_null (description);
  g_clear_error (&error);
  g_clear_object (&result);

  ferry_transport_connect_async (transport, "attempt", FALSE, remote, NULL, store_result, &result);
  g_assert_null (result);
  await_result (&result);
  stream = ferry_transport_connect_finish (transport, result, &text, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
  g_assert_null (stream);
  g_assert_null (text);
  g_clear_error (&error);
  g_clear_object (&result);

  ferry_transport_stop (transport);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/registry/static", test_register_static);
  g_test_add_func ("/registry/refused-features", test_refused_features);
  g_test_add_func ("/signaling/base", test_signaling_base);
  g_test_add_func ("/transport/base", test_transport_base);

  return g_test_run ();
}
