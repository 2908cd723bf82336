/* ferry-engine.c: the root object
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <gnutls/crypto.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/stat.h>
#include <glib/gstdio.h>

#include "ferry-account-private.h"
#include "ferry-engine-private.h"
#include "ferry-enum-types.h"
#include "ferry-envelope-private.h"
#include "ferry-error.h"
#include "ferry-history-private.h"
#include "ferry-identity-private.h"
#include "ferry-negotiation-private.h"
#include "ferry-peer-private.h"
#include "ferry-plugin.h"
#include "ferry-session-private.h"
#include "ferry-signaling.h"
#include "ferry-transfer-private.h"
#include "ferry-transport.h"

/**
 * FerryEngine:
 *
 * The root object of Ferry: it owns the identity of this device, the
 * signaling and transport plugin instances, the peers seen so far and the
 * transfers.
 *
 * An engine lives on the #GMainContext that was the thread-default one when
 * it was created; its signals, notifications and callbacks run there.
 *
 * ```c
 * g_autoptr(FerryEngine) engine = ferry_engine_new (NULL, NULL, &error);
 * const char *lo[] = { "lo", NULL };
 *
 * ferry_engine_set_interfaces (engine, lo);
 * if (!ferry_engine_start (engine, &error))
 *   g_printerr ("%s\n", error->message);
 * ```
 */

typedef struct _Outgoing Outgoing;
typedef struct _Incoming Incoming;

struct _FerryEngine
{
  GObject           parent_instance;

  char             *home;
  GKeyFile         *config;
  FerryIdentity    *identity;
  FerryRegistry    *registry;
  GMainContext     *context;

  char            **signaling_names;
  char            **transport_names;
  char            **interfaces;

  GListStore       *signalings;
  GListStore       *transports;
  GListStore       *peers;
  GListStore       *transfers;
  GHashTable       *peers_by_account;   /* account id → FerryPeer */

  FerryReplayCache *replay;
  GBytes           *announcement;
  gint64            announcement_time;

  GHashTable       *outgoing;           /* transfer id → Outgoing */
  GHashTable       *incoming;           /* transfer id → Incoming */
  GPtrArray        *fanouts;            /* FanOut: sends open to late devices */
  GHashTable       *history;            /* transfer id → HistoryEntry */
  GPtrArray        *fetches;            /* GTask of fetch */
  GHashTable       *resent;             /* transfer id → gint64 when re-sent */
  GHashTable       *revoked;            /* device id set, from revocations.json */
  gint64            revoked_mtime;
  GPtrArray        *finds;              /* GTask of find_peer */

  guint             offer_timeout_s;
  guint             stall_timeout_s;
  guint             connect_timeout_s;
  guint             stagger_ms;

  GHashTable       *inactive;           /* feature name → reason */
  char             *inactive_summary;

  gboolean          started;
  guint             dropped_messages;
};

static void ferry_engine_initable_iface_init (GInitableIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (FerryEngine, ferry_engine, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE, ferry_engine_initable_iface_init))

enum {
  PROP_0,
  PROP_HOME,
  PROP_IDENTITY,
  PROP_REGISTRY,
  PROP_PEERS,
  PROP_TRANSFERS,
  N_PROPS
};

enum {
  SIGNAL_TRANSFER_REQUESTED,
  N_SIGNALS
};

static GParamSpec *props[N_PROPS];
static guint signals[N_SIGNALS];

static void outgoing_free (Outgoing *op);
static void fanout_free (gpointer data);
static void history_entry_free (gpointer data);
static void engine_fanout_join (FerryEngine *self,
                                FerryDevice *device);
static void engine_fetch_device_seen (FerryEngine *self,
                                      FerryDevice *device);
static void incoming_free (Incoming *op);
static void find_peer_check_all (FerryEngine *self);

/* ----------------------------------------------------------- object basics */

static void
ferry_engine_dispose (GObject *object)
{
  FerryEngine *self = FERRY_ENGINE (object);

  ferry_engine_stop (self);

  G_OBJECT_CLASS (ferry_engine_parent_class)->dispose (object);
}

static void
ferry_engine_finalize (GObject *object)
{
  FerryEngine *self = FERRY_ENGINE (object);

  g_free (self->home);
  g_clear_pointer (&self->config, g_key_file_unref);
  g_clear_object (&self->identity);
  g_clear_object (&self->registry);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_strfreev (self->signaling_names);
  g_strfreev (self->transport_names);
  g_strfreev (self->interfaces);
  g_clear_object (&self->signalings);
  g_clear_object (&self->transports);
  g_clear_object (&self->peers);
  g_clear_object (&self->transfers);
  g_clear_pointer (&self->peers_by_account, g_hash_table_unref);
  g_clear_pointer (&self->replay, _ferry_replay_cache_free);
  g_clear_pointer (&self->announcement, g_bytes_unref);
  g_clear_pointer (&self->outgoing, g_hash_table_unref);
  g_clear_pointer (&self->incoming, g_hash_table_unref);
  g_clear_pointer (&self->fanouts, g_ptr_array_unref);
  g_clear_pointer (&self->history, g_hash_table_unref);
  g_clear_pointer (&self->fetches, g_ptr_array_unref);
  g_clear_pointer (&self->resent, g_hash_table_unref);
  g_clear_pointer (&self->revoked, g_hash_table_unref);
  g_clear_pointer (&self->finds, g_ptr_array_unref);
  g_clear_pointer (&self->inactive, g_hash_table_unref);
  g_free (self->inactive_summary);

  G_OBJECT_CLASS (ferry_engine_parent_class)->finalize (object);
}

static void
ferry_engine_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  FerryEngine *self = FERRY_ENGINE (object);

  switch (prop_id)
    {
    case PROP_HOME:
      g_value_set_string (value, self->home);
      break;
    case PROP_IDENTITY:
      g_value_set_object (value, self->identity);
      break;
    case PROP_REGISTRY:
      g_value_set_object (value, self->registry);
      break;
    case PROP_PEERS:
      g_value_set_object (value, self->peers);
      break;
    case PROP_TRANSFERS:
      g_value_set_object (value, self->transfers);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ferry_engine_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  FerryEngine *self = FERRY_ENGINE (object);

  switch (prop_id)
    {
    case PROP_HOME:
      self->home = g_value_dup_string (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ferry_engine_class_init (FerryEngineClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = ferry_engine_dispose;
  object_class->finalize = ferry_engine_finalize;
  object_class->get_property = ferry_engine_get_property;
  object_class->set_property = ferry_engine_set_property;

  /**
   * FerryEngine:home:
   *
   * The directory holding the identity and `ferry.conf`. %NULL at
   * construction means `$FERRY_HOME`, then `$XDG_DATA_HOME/ferry`.
   */
  props[PROP_HOME] =
    g_param_spec_string ("home", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * FerryEngine:identity:
   *
   * The identity of this device.
   */
  props[PROP_IDENTITY] =
    g_param_spec_object ("identity", NULL, NULL, FERRY_TYPE_IDENTITY,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * FerryEngine:registry:
   *
   * The plugin registry the engine takes its features from.
   */
  props[PROP_REGISTRY] =
    g_param_spec_object ("registry", NULL, NULL, FERRY_TYPE_REGISTRY,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * FerryEngine:peers:
   *
   * The peers seen so far, a #GListModel of #FerryPeer.
   */
  props[PROP_PEERS] =
    g_param_spec_object ("peers", NULL, NULL, G_TYPE_LIST_MODEL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * FerryEngine:transfers:
   *
   * Every transfer of this engine, a #GListModel of #FerryTransfer.
   */
  props[PROP_TRANSFERS] =
    g_param_spec_object ("transfers", NULL, NULL, G_TYPE_LIST_MODEL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, props);

  /**
   * FerryEngine::transfer-requested:
   * @self: the engine
   * @transfer: an incoming #FerryTransfer in the awaiting-host state
   *
   * A verified device offers files. Call ferry_transfer_accept() or
   * ferry_transfer_reject(), now or later; an offer left undecided expires
   * after the offer timeout (`offer-timeout` in `ferry.conf`, 10 minutes by
   * default).
   */
  signals[SIGNAL_TRANSFER_REQUESTED] =
    g_signal_new ("transfer-requested",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, FERRY_TYPE_TRANSFER);
}

static void
ferry_engine_init (FerryEngine *self)
{
  self->context = g_main_context_ref_thread_default ();
  self->config = g_key_file_new ();
  self->signalings = g_list_store_new (FERRY_TYPE_SIGNALING);
  self->transports = g_list_store_new (FERRY_TYPE_TRANSPORT);
  self->peers = g_list_store_new (FERRY_TYPE_PEER);
  self->transfers = g_list_store_new (FERRY_TYPE_TRANSFER);
  self->peers_by_account = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  self->replay = _ferry_replay_cache_new ();
  self->outgoing = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) outgoing_free);
  self->incoming = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) incoming_free);
  self->finds = g_ptr_array_new_with_free_func (g_object_unref);
  self->fanouts = g_ptr_array_new_with_free_func (fanout_free);
  self->history = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, history_entry_free);
  self->fetches = g_ptr_array_new_with_free_func (g_object_unref);
  self->resent = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->revoked = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->revoked_mtime = -1;
  self->inactive = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->offer_timeout_s = FERRY_DEFAULT_OFFER_TIMEOUT_S;
  self->stall_timeout_s = FERRY_DEFAULT_STALL_TIMEOUT_S;
  self->connect_timeout_s = FERRY_DEFAULT_CONNECT_TIMEOUT_S;
  self->stagger_ms = FERRY_DEFAULT_STAGGER_MS;
}

static char **
config_get_list (GKeyFile   *config,
                 const char *group,
                 const char *key,
                 const char *fallback)
{
  g_autofree char *value = g_key_file_get_string (config, group, key, NULL);
  g_auto(GStrv) parts = NULL;
  GPtrArray *list = g_ptr_array_new ();

  parts = g_strsplit_set (value ? value : fallback, ",;", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      char *item = g_strstrip (parts[i]);

      if (*item != '\0')
        g_ptr_array_add (list, g_strdup (item));
    }
  g_ptr_array_add (list, NULL);
  return (char **) g_ptr_array_free (list, FALSE);
}

static guint
config_get_uint (GKeyFile   *config,
                 const char *group,
                 const char *key,
                 guint       fallback,
                 guint       min,
                 guint       max)
{
  g_autoptr(GError) error = NULL;
  gint64 value = g_key_file_get_int64 (config, group, key, &error);

  if (error != NULL)
    {
      if (!g_error_matches (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND) &&
          !g_error_matches (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_GROUP_NOT_FOUND))
        g_warning ("ferry.conf: [%s] %s: %s", group, key, error->message);
      return fallback;
    }
  return (guint) CLAMP (value, (gint64) min, (gint64) max);
}

static gboolean
ferry_engine_initable_init (GInitable     *initable,
                            GCancellable  *cancellable,
                            GError       **error)
{
  FerryEngine *self = FERRY_ENGINE (initable);
  g_autofree char *config_path = NULL;
  g_autofree char *name = NULL;
  g_autoptr(GError) local_error = NULL;

  if (self->home == NULL)
    {
      const char *env = g_getenv ("FERRY_HOME");

      if (env != NULL && *env != '\0')
        self->home = g_strdup (env);
      else
        self->home = g_build_filename (g_get_user_data_dir (), "ferry", NULL);
    }

  if (g_mkdir_with_parents (self->home, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _("Cannot create the home directory %s: %s"),
                   self->home, g_strerror (saved_errno));
      return FALSE;
    }

  config_path = g_build_filename (self->home, "ferry.conf", NULL);
  if (!g_key_file_load_from_file (self->config, config_path, G_KEY_FILE_KEEP_COMMENTS, &local_error) &&
      !g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG,
                   _("Cannot read %s: %s"), config_path, local_error->message);
      return FALSE;
    }

  self->signaling_names = config_get_list (self->config, "core", "signalings", "local-broadcast");
  self->transport_names = config_get_list (self->config, "core", "transports", "lan");
  self->interfaces = config_get_list (self->config, "core", "interfaces", "");
  self->offer_timeout_s = config_get_uint (self->config, "core", "offer-timeout",
                                           FERRY_DEFAULT_OFFER_TIMEOUT_S, 1, G_MAXINT / 1000);
  self->connect_timeout_s = config_get_uint (self->config, "core", "connect-timeout",
                                             FERRY_DEFAULT_CONNECT_TIMEOUT_S, 1, 3600);
  self->stagger_ms = config_get_uint (self->config, "core", "stagger",
                                      FERRY_DEFAULT_STAGGER_MS, 0, 60000);
  self->stall_timeout_s = config_get_uint (self->config, "core", "stall-timeout",
                                           FERRY_DEFAULT_STALL_TIMEOUT_S, 0, 24 * 3600);

  self->identity = ferry_identity_new (self->home, cancellable, error);
  if (self->identity == NULL)
    return FALSE;

  name = g_key_file_get_string (self->config, "core", "name", NULL);
  if (name != NULL && *g_strstrip (name) != '\0')
    ferry_identity_set_name (self->identity, name);

  self->registry = g_object_ref (ferry_registry_get_default ());
  return TRUE;
}

static void
ferry_engine_initable_iface_init (GInitableIface *iface)
{
  iface->init = ferry_engine_initable_init;
}

/**
 * ferry_engine_new:
 * @home: (nullable) (type filename): the directory for the identity and
 *   `ferry.conf`, or %NULL for `$FERRY_HOME`, then `$XDG_DATA_HOME/ferry`
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Creates an engine: loads `ferry.conf` and the identity, creating the
 * identity on first use. The engine does nothing on the network before
 * ferry_engine_start().
 *
 * Returns: (transfer full) (nullable): a new engine, or %NULL with @error set
 */
FerryEngine *
ferry_engine_new (const char    *home,
                  GCancellable  *cancellable,
                  GError       **error)
{
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return g_initable_new (FERRY_TYPE_ENGINE, cancellable, error, "home", home, NULL);
}

/**
 * ferry_engine_get_home:
 * @self: a #FerryEngine
 *
 * Returns: (type filename): the home directory
 */
const char *
ferry_engine_get_home (FerryEngine *self)
{
  g_return_val_if_fail (FERRY_IS_ENGINE (self), NULL);
  return self->home;
}

/**
 * ferry_engine_get_identity:
 * @self: a #FerryEngine
 *
 * Returns: (transfer none): the identity of this device
 */
FerryIdentity *
ferry_engine_get_identity (FerryEngine *self)
{
  g_return_val_if_fail (FERRY_IS_ENGINE (self), NULL);
  return self->identity;
}

/**
 * ferry_engine_get_registry:
 * @self: a #FerryEngine
 *
 * Returns: (transfer none): the plugin registry
 */
FerryRegistry *
ferry_engine_get_registry (FerryEngine *self)
{
  g_return_val_if_fail (FERRY_IS_ENGINE (self), NULL);
  return self->registry;
}

/**
 * ferry_engine_get_config:
 * @self: a #FerryEngine
 *
 * The settings read from `ferry.conf` in the home directory. Plugins read
 * their own group (named after the plugin) from it.
 *
 * Returns: (transfer none): the configuration
 */
GKeyFile *
ferry_engine_get_config (FerryEngine *self)
{
  g_return_val_if_fail (FERRY_IS_ENGINE (self), NULL);
  return self->config;
}

static void
replace_strv (char               ***target,
              const char * const   *names)
{
  g_strfreev (*target);
  *target = g_strdupv ((char **) names);
  if (*target == NULL)
    *target = g_new0 (char *, 1);
}

/**
 * ferry_engine_set_signalings:
 * @self: a #FerryEngine
 * @names: (array zero-terminated=1): signaling feature names, e.g.
 *   `local-broadcast`
 *
 * Chooses the signalings to start, overriding `ferry.conf`. Call it before
 * ferry_engine_start().
 */
void
ferry_engine_set_signalings (FerryEngine        *self,
                             const char * const *names)
{
  g_return_if_fail (FERRY_IS_ENGINE (self));
  g_return_if_fail (!self->started);
  replace_strv (&self->signaling_names, names);
}

/**
 * ferry_engine_set_transports:
 * @self: a #FerryEngine
 * @names: (array zero-terminated=1): transport feature names, e.g. `lan`
 *
 * Chooses the transports to start, overriding `ferry.conf`. Call it before
 * ferry_engine_start().
 */
void
ferry_engine_set_transports (FerryEngine        *self,
                             const char * const *names)
{
  g_return_if_fail (FERRY_IS_ENGINE (self));
  g_return_if_fail (!self->started);
  replace_strv (&self->transport_names, names);
}

/**
 * ferry_engine_set_interfaces:
 * @self: a #FerryEngine
 * @names: (array zero-terminated=1): network interface names, e.g. `lo`;
 *   empty for every non-loopback interface that is up
 *
 * Chooses the interfaces plugins announce on, listen on and offer
 * addresses of, overriding `ferry.conf`. Call it before ferry_engine_start().
 */
void
ferry_engine_set_interfaces (FerryEngine        *self,
                             const char * const *names)
{
  g_return_if_fail (FERRY_IS_ENGINE (self));
  g_return_if_fail (!self->started);
  replace_strv (&self->interfaces, names);
}

/**
 * ferry_engine_get_interfaces:
 * @self: a #FerryEngine
 *
 * Returns: (transfer none) (array zero-terminated=1): the chosen interface
 *   names; empty means every non-loopback interface that is up
 */
const char * const *
ferry_engine_get_interfaces (FerryEngine *self)
{
  g_return_val_if_fail (FERRY_IS_ENGINE (self), NULL);
  return (const char * const *) self->interfaces;
}

/**
 * ferry_engine_get_local_addresses:
 * @self: a #FerryEngine
 *
 * The IPv4 addresses of the chosen interfaces (see
 * ferry_engine_set_interfaces()), in the order of the system's interface
 * list.
 *
 * Returns: (transfer full) (element-type GInetAddress): the addresses
 */
GPtrArray *
ferry_engine_get_local_addresses (FerryEngine *self)
{
  GPtrArray *addresses = g_ptr_array_new_with_free_func (g_object_unref);
  struct ifaddrs *list = NULL;
  gboolean all;

  g_return_val_if_fail (FERRY_IS_ENGINE (self), addresses);

  all = self->interfaces == NULL || self->interfaces[0] == NULL;
  if (getifaddrs (&list) != 0)
    {
      g_warning ("getifaddrs: %s", g_strerror (errno));
      return addresses;
    }

  for (struct ifaddrs *ifa = list; ifa != NULL; ifa = ifa->ifa_next)
    {
      const struct sockaddr_in *sin;

      if (ifa->ifa_addr == NULL || ifa->ifa_addr->sa_family != AF_INET)
        continue;
      if (!(ifa->ifa_flags & IFF_UP))
        continue;
      if (all ? (ifa->ifa_flags & IFF_LOOPBACK) != 0
              : !g_strv_contains ((const char * const *) self->interfaces, ifa->ifa_name))
        continue;

      sin = (const struct sockaddr_in *) ifa->ifa_addr;
      g_ptr_array_add (addresses,
                       g_inet_address_new_from_bytes ((const guint8 *) &sin->sin_addr,
                                                      G_SOCKET_FAMILY_IPV4));
    }
  freeifaddrs (list);
  return addresses;
}

/**
 * ferry_engine_get_announcement:
 * @self: a #FerryEngine
 *
 * The signed announcement of this device (its ids, name and certificate
 * chain), for signaling plugins to publish. It is renewed every minute, so
 * ask again each time it is sent.
 *
 * Returns: (transfer full): the announcement, an opaque blob
 */
GBytes *
ferry_engine_get_announcement (FerryEngine *self)
{
  gint64 now = g_get_monotonic_time ();

  g_return_val_if_fail (FERRY_IS_ENGINE (self), NULL);

  if (self->announcement == NULL || now - self->announcement_time > 60 * G_USEC_PER_SEC)
    {
      g_autoptr(GError) error = NULL;
      GBytes *fresh = _ferry_envelope_build (self->identity, "announce", "*", NULL, &error);

      if (fresh == NULL)
        g_warning ("cannot build the announcement: %s", error->message);
      else
        {
          g_clear_pointer (&self->announcement, g_bytes_unref);
          self->announcement = fresh;
          self->announcement_time = now;
        }
    }
  return self->announcement ? g_bytes_ref (self->announcement) : g_bytes_new (NULL, 0);
}

/**
 * ferry_engine_get_signalings:
 * @self: a #FerryEngine
 *
 * Returns: (transfer none): the running #FerrySignaling instances
 */
GListModel *
ferry_engine_get_signalings (FerryEngine *self)
{
  g_return_val_if_fail (FERRY_IS_ENGINE (self), NULL);
  return G_LIST_MODEL (self->signalings);
}

/**
 * ferry_engine_get_transports:
 * @self: a #FerryEngine
 *
 * Returns: (transfer none): the running #FerryTransport instances
 */
GListModel *
ferry_engine_get_transports (FerryEngine *self)
{
  g_return_val_if_fail (FERRY_IS_ENGINE (self), NULL);
  return G_LIST_MODEL (self->transports);
}

/**
 * ferry_engine_get_peers:
 * @self: a #FerryEngine
 *
 * Returns: (transfer none): the peers seen so far, a #GListModel of #FerryPeer
 */
GListModel *
ferry_engine_get_peers (FerryEngine *self)
{
  g_return_val_if_fail (FERRY_IS_ENGINE (self), NULL);
  return G_LIST_MODEL (self->peers);
}

/**
 * ferry_engine_get_transfers:
 * @self: a #FerryEngine
 *
 * Returns: (transfer none): the transfers, a #GListModel of #FerryTransfer
 */
GListModel *
ferry_engine_get_transfers (FerryEngine *self)
{
  g_return_val_if_fail (FERRY_IS_ENGINE (self), NULL);
  return G_LIST_MODEL (self->transfers);
}

/* ------------------------------------------------------------- revocations */

/* Reloads the revoked devices when revocations.json changed (another
 * process of this home may have revoked one). */
static void
engine_revocations_refresh (FerryEngine *self)
{
  g_autofree char *path = g_build_filename (self->home, "revocations.json", NULL);
  g_autoptr(JsonArray) list = NULL;
  GStatBuf st;
  gint64 mtime = g_stat (path, &st) == 0 ? (gint64) st.st_mtim.tv_sec * G_USEC_PER_SEC + st.st_mtim.tv_nsec / 1000 : 0;

  if (mtime == self->revoked_mtime)
    return;
  self->revoked_mtime = mtime;
  list = _ferry_account_load_revocations (self->home);
  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      JsonNode *node = json_array_get_element (list, i);
      JsonObject *entry = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      const char *account = entry ? json_object_get_string_member_with_default (entry, "account", NULL) : NULL;
      const char *device = entry ? json_object_get_string_member_with_default (entry, "device", NULL) : NULL;

      /* A revocation binds only devices of the account that signed it. */
      if (account != NULL && device != NULL)
        g_hash_table_add (self->revoked, g_strconcat (account, "/", device, NULL));
    }
}

static gboolean
engine_is_revoked (FerryEngine *self,
                   const char  *account_id,
                   const char  *device_id)
{
  g_autofree char *key = g_strconcat (account_id, "/", device_id, NULL);

  engine_revocations_refresh (self);
  return g_hash_table_contains (self->revoked, key);
}

static void engine_send_message (FerryEngine    *self,
                                 FerrySignaling *signaling,
                                 const char     *route,
                                 GBytes         *message);
static GBytes *engine_build_message (FerryEngine *self,
                                     const char  *type,
                                     const char  *to,
                                     JsonObject  *body);

/* Hands the revocations of this device's account to @device. */
static void
engine_send_revocations (FerryEngine *self,
                         FerryDevice *device)
{
  g_autoptr(JsonArray) list = _ferry_account_load_revocations (self->home);
  g_autoptr(JsonObject) body = NULL;
  g_autoptr(GBytes) message = NULL;
  JsonArray *own = json_array_new ();
  const char *account = ferry_identity_get_account_id (self->identity);

  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      JsonNode *node = json_array_get_element (list, i);

      if (JSON_NODE_HOLDS_OBJECT (node) &&
          g_strcmp0 (json_object_get_string_member_with_default (json_node_get_object (node), "account", NULL),
                     account) == 0)
        json_array_add_element (own, json_node_copy (node));
    }
  if (json_array_get_length (own) == 0 || _ferry_device_get_signaling (device) == NULL)
    {
      json_array_unref (own);
      return;
    }
  body = json_object_new ();
  json_object_set_array_member (body, "revocations", own);
  message = engine_build_message (self, "revocations", ferry_device_get_device_id (device), body);
  if (message != NULL)
    engine_send_message (self, _ferry_device_get_signaling (device), _ferry_device_get_route (device), message);
}

/* Revocations from a device of their own account: checked and kept. */
static void
engine_revocations_received (FerryEngine   *self,
                             FerryEnvelope *envelope)
{
  JsonNode *node = json_object_get_member (envelope->body, "revocations");
  JsonArray *list;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    {
      self->dropped_messages++;
      return;
    }
  list = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (list) && i < 256; i++)
    {
      JsonNode *entry = json_array_get_element (list, i);
      g_autoptr(GError) error = NULL;
      g_autofree char *device = NULL;

      if (!JSON_NODE_HOLDS_OBJECT (entry) ||
          g_strcmp0 (json_object_get_string_member_with_default (json_node_get_object (entry), "account", ""),
                     envelope->from_account) != 0)
        continue;
      if (!_ferry_revocation_verify (json_node_get_object (entry), envelope->chain_pem, &device, &error))
        {
          g_debug ("dropped a revocation from %.12s: %s", envelope->from_device, error->message);
          continue;
        }
      if (g_str_equal (device, ferry_identity_get_device_id (self->identity)))
        continue;   /* this device was revoked: nothing to refuse here */
      if (_ferry_account_store_revocation (self->home, json_node_get_object (entry), &error))
        g_debug ("device %.12s of %.12s is revoked", device, envelope->from_account);
      else if (error != NULL)
        g_warning ("Could not store a revocation: %s", error->message);
      g_hash_table_add (self->revoked, g_strconcat (envelope->from_account, "/", device, NULL));
    }
}

/* ------------------------------------------------------------------- peers */

static FerryDevice *
engine_remember_device (FerryEngine    *self,
                        FerryEnvelope  *envelope,
                        FerrySignaling *signaling,
                        const char     *route)
{
  FerryPeer *peer = g_hash_table_lookup (self->peers_by_account, envelope->from_account);
  FerryDevice *device;

  /* A revoked device is refused whatever it sends. */
  if (engine_is_revoked (self, envelope->from_account, envelope->from_device))
    {
      g_debug ("ignoring revoked device %.12s", envelope->from_device);
      return NULL;
    }

  if (peer == NULL)
    {
      peer = _ferry_peer_new (envelope->from_account);
      g_hash_table_insert (self->peers_by_account, g_strdup (envelope->from_account), peer);
      _ferry_peer_set_name (peer, envelope->from_name);
      g_list_store_append (self->peers, peer);
    }

  device = _ferry_peer_lookup_device (peer, envelope->from_device);
  if (device == NULL)
    {
      device = _ferry_device_new (envelope->from_account, envelope->from_device);
      _ferry_device_update (device, envelope->from_name, signaling, route, envelope->chain_pem, envelope->timestamp_ms);
      _ferry_peer_add_device (peer, device);
      g_object_unref (device);
      engine_fanout_join (self, device);
      engine_fetch_device_seen (self, device);
      engine_send_revocations (self, device);
      if (g_str_equal (envelope->from_account, ferry_identity_get_account_id (self->identity)))
        _ferry_account_note_device (self->home, envelope->from_device, envelope->from_name);
    }
  else
    _ferry_device_update (device, envelope->from_name, signaling, route, envelope->chain_pem, envelope->timestamp_ms);

  _ferry_peer_set_name (peer, envelope->from_name);
  return device;
}

static void
announcement_received_cb (FerrySignaling *signaling,
                          GBytes         *announcement,
                          const char     *route,
                          FerryEngine    *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FerryEnvelope) envelope = NULL;

  /* Announcements are repeated on purpose, so the replay cache is not used:
   * the timestamp check bounds how old a replayed one can be. */
  envelope = _ferry_envelope_receive (self->identity, announcement, NULL, &error);
  if (envelope == NULL)
    {
      self->dropped_messages++;
      g_debug ("dropped an announcement from %s via %s: %s (%u dropped so far)",
               route, ferry_signaling_get_name (signaling), error->message, self->dropped_messages);
      return;
    }
  if (!g_str_equal (envelope->type, "announce"))
    {
      self->dropped_messages++;
      g_debug ("dropped a %s message posing as an announcement", envelope->type);
      return;
    }
  if (g_str_equal (envelope->from_device, ferry_identity_get_device_id (self->identity)))
    return;

  engine_remember_device (self, envelope, signaling, route);
  find_peer_check_all (self);
}

/* ------------------------------------------------------------- find peers */

static gboolean
is_hex (const char *s)
{
  for (; *s; s++)
    if (!g_ascii_isxdigit (*s))
      return FALSE;
  return TRUE;
}

/* Returns the matching peer, or NULL; sets @ambiguous when several match. */
static FerryPeer *
engine_match_peer (FerryEngine *self,
                   const char  *query,
                   gboolean    *ambiguous)
{
  g_autofree char *lower = g_ascii_strdown (query, -1);
  gboolean hex = strlen (lower) >= 8 && is_hex (lower);
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->peers));
  FerryPeer *found = NULL;

  *ambiguous = FALSE;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(FerryPeer) peer = g_list_model_get_item (G_LIST_MODEL (self->peers), i);
      gboolean match = FALSE;

      if (hex)
        {
          GListModel *devices = ferry_peer_get_devices (peer);

          match = g_str_has_prefix (ferry_peer_get_account_id (peer), lower);
          for (guint j = 0; !match && j < g_list_model_get_n_items (devices); j++)
            {
              g_autoptr(FerryDevice) device = g_list_model_get_item (devices, j);

              match = g_str_has_prefix (ferry_device_get_device_id (device), lower);
            }
        }
      if (!match && ferry_peer_get_name (peer) != NULL)
        match = g_str_equal (ferry_peer_get_name (peer), query);

      if (match)
        {
          if (found != NULL)
            {
              *ambiguous = TRUE;
              return NULL;
            }
          found = peer;
        }
    }
  return found;
}

typedef struct {
  char  *query;
  guint  timeout_source;
  guint  requery_source;
} FindData;

static void
find_data_free (FindData *data)
{
  g_free (data->query);
  g_clear_handle_id (&data->timeout_source, g_source_remove);
  g_clear_handle_id (&data->requery_source, g_source_remove);
  g_free (data);
}

static void
find_peer_complete (FerryEngine *self,
                    GTask       *task)
{
  FindData *data = g_task_get_task_data (task);

  g_clear_handle_id (&data->timeout_source, g_source_remove);
  g_clear_handle_id (&data->requery_source, g_source_remove);
  g_ptr_array_remove (self->finds, task);
}

static gboolean
find_peer_check (FerryEngine *self,
                 GTask       *task)
{
  FindData *data = g_task_get_task_data (task);
  gboolean ambiguous;
  FerryPeer *peer = engine_match_peer (self, data->query, &ambiguous);

  if (peer == NULL && !ambiguous)
    return FALSE;

  g_object_ref (task);
  if (ambiguous)
    g_task_return_new_error (task, FERRY_ERROR, FERRY_ERROR_PEER_AMBIGUOUS,
                             _("“%s” matches several peers: give more of the id"), data->query);
  else
    g_task_return_pointer (task, g_object_ref (peer), g_object_unref);
  find_peer_complete (self, task);
  g_object_unref (task);
  return TRUE;
}

static void
find_peer_check_all (FerryEngine *self)
{
  g_autoptr(GPtrArray) finds = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < self->finds->len; i++)
    g_ptr_array_add (finds, g_object_ref (g_ptr_array_index (self->finds, i)));
  for (guint i = 0; i < finds->len; i++)
    find_peer_check (self, g_ptr_array_index (finds, i));
}

static void
engine_query (FerryEngine *self,
              const char  *account_hint)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->signalings));

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(FerrySignaling) signaling = g_list_model_get_item (G_LIST_MODEL (self->signalings), i);

      ferry_signaling_query (signaling, account_hint);
    }
}

static gboolean
find_peer_timeout_cb (gpointer user_data)
{
  GTask *task = user_data;
  FerryEngine *self = g_task_get_source_object (task);
  FindData *data = g_task_get_task_data (task);

  data->timeout_source = 0;
  g_object_ref (task);
  g_task_return_new_error (task, FERRY_ERROR, FERRY_ERROR_PEER_NOT_FOUND,
                           _("No device of “%s” answered"), data->query);
  find_peer_complete (self, task);
  g_object_unref (task);
  return G_SOURCE_REMOVE;
}

static gboolean
find_peer_requery_cb (gpointer user_data)
{
  GTask *task = user_data;
  FindData *data = g_task_get_task_data (task);

  engine_query (g_task_get_source_object (task), NULL);
  (void) data;
  return G_SOURCE_CONTINUE;
}

static void
find_peer_cancelled_cb (GCancellable *cancellable,
                        GTask        *task)
{
  FerryEngine *self = g_task_get_source_object (task);

  if (!g_ptr_array_find (self->finds, task, NULL))
    return;
  g_object_ref (task);
  g_task_return_error_if_cancelled (task);
  find_peer_complete (self, task);
  g_object_unref (task);
}

/**
 * ferry_engine_find_peer_async:
 * @self: a started #FerryEngine
 * @query: an account id or device id, or a unique prefix of one (at least 8
 *   hex digits), or a display name
 * @timeout_ms: how long to wait for an answer from the network
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the result
 * @user_data: data for @callback
 *
 * Finds the peer @query names among the peers already seen, or asks the
 * network and waits up to @timeout_ms for it to answer.
 */
void
ferry_engine_find_peer_async (FerryEngine         *self,
                              const char          *query,
                              guint                timeout_ms,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  FindData *data;

  g_return_if_fail (FERRY_IS_ENGINE (self));
  g_return_if_fail (query != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, ferry_engine_find_peer_async);
  data = g_new0 (FindData, 1);
  data->query = g_strdup (query);
  g_task_set_task_data (task, data, (GDestroyNotify) find_data_free);

  g_ptr_array_add (self->finds, g_object_ref (task));
  if (find_peer_check (self, task))
    return;

  {
    g_autofree char *lower = g_ascii_strdown (query, -1);

    engine_query (self, strlen (lower) == 64 && is_hex (lower) ? lower : NULL);
  }
  data->timeout_source = g_timeout_add (timeout_ms, find_peer_timeout_cb, task);
  data->requery_source = g_timeout_add (500, find_peer_requery_cb, task);
  if (cancellable != NULL)
    g_signal_connect_object (cancellable, "cancelled", G_CALLBACK (find_peer_cancelled_cb), task, 0);
}

/**
 * ferry_engine_find_peer_finish:
 * @self: a #FerryEngine
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the peer, or %NULL with %FERRY_ERROR_PEER_NOT_FOUND
 *   or %FERRY_ERROR_PEER_AMBIGUOUS
 */
FerryPeer *
ferry_engine_find_peer_finish (FerryEngine   *self,
                               GAsyncResult  *result,
                               GError       **error)
{
  g_return_val_if_fail (FERRY_IS_ENGINE (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* -------------------------------------------------------------- messaging */

static char *
random_hex (gsize n_bytes)
{
  guint8 buf[32];
  GString *hex = g_string_sized_new (n_bytes * 2);

  g_assert (n_bytes <= sizeof buf);
  if (gnutls_rnd (GNUTLS_RND_NONCE, buf, n_bytes) != 0)
    g_error ("gnutls_rnd failed");
  for (gsize i = 0; i < n_bytes; i++)
    g_string_append_printf (hex, "%02x", buf[i]);
  return g_string_free (hex, FALSE);
}

static void
send_message_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  if (!ferry_signaling_send_finish (FERRY_SIGNALING (source), result, &error))
    g_debug ("signaling %s could not send: %s",
             ferry_signaling_get_name (FERRY_SIGNALING (source)), error->message);
}

static void
engine_send_message (FerryEngine    *self,
                     FerrySignaling *signaling,
                     const char     *route,
                     GBytes         *message)
{
  if (signaling == NULL || route == NULL)
    {
      g_debug ("no route to send a message");
      return;
    }
  ferry_signaling_send_async (signaling, route, message, NULL, send_message_cb, NULL);
}

static GBytes *
engine_build_message (FerryEngine *self,
                      const char  *type,
                      const char  *to,
                      JsonObject  *body)
{
  g_autoptr(GError) error = NULL;
  /* Signed, and sealed to the receiving device (see ferry-envelope.c). */
  GBytes *message = _ferry_envelope_build_sealed (self->identity, type, to, body, &error);

  if (message == NULL)
    g_warning ("cannot build a %s message: %s", type, error->message);
  return message;
}

static void
engine_send_cancel (FerryEngine    *self,
                    FerrySignaling *signaling,
                    const char     *route,
                    const char     *to,
                    const char     *transfer_id,
                    const char     *reason)
{
  g_autoptr(JsonObject) body = json_object_new ();
  g_autoptr(GBytes) message = NULL;

  json_object_set_string_member (body, "transfer", transfer_id);
  json_object_set_string_member (body, "reason", reason ? reason : "");
  message = engine_build_message (self, "cancel", to, body);
  if (message != NULL)
    engine_send_message (self, signaling, route, message);
}

static GPtrArray *
engine_list_transports (FerryEngine *self)
{
  GPtrArray *list = g_ptr_array_new_with_free_func (g_object_unref);
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->transports));

  for (guint i = 0; i < n; i++)
    g_ptr_array_add (list, g_list_model_get_item (G_LIST_MODEL (self->transports), i));
  return list;
}

static void
release_attempts (GPtrArray  *transports,
                  const char *attempt_id)
{
  for (guint i = 0; transports != NULL && i < transports->len; i++)
    ferry_transport_release (g_ptr_array_index (transports, i), attempt_id);
}

/* Maps the error that ended a transfer to its final state. */
static FerryTransferState
state_for_error (const GError *error)
{
  if (g_error_matches (error, FERRY_ERROR, FERRY_ERROR_REJECTED) ||
      g_error_matches (error, FERRY_ERROR, FERRY_ERROR_CANCELLED_BY_PEER) ||
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return FERRY_TRANSFER_STATE_CANCELLED;
  if (g_error_matches (error, FERRY_ERROR, FERRY_ERROR_NO_TRANSPORT))
    return FERRY_TRANSFER_STATE_UNJOINABLE_PEER;
  if (g_error_matches (error, FERRY_ERROR, FERRY_ERROR_TIMEOUT))
    return FERRY_TRANSFER_STATE_TIMEOUT_EXPIRED;
  return FERRY_TRANSFER_STATE_ERROR;
}

static char *
chain_text (FerrySignaling *signaling,
            const char     *rest)
{
  return g_strdup_printf ("%s → %s", signaling ? ferry_signaling_get_name (signaling) : "?", rest);
}

/* Callbacks find their operation again by transfer id: it may be gone. */
typedef struct {
  FerryEngine *engine;
  char        *id;
} OpRef;

static OpRef *
op_ref_new (FerryEngine *engine,
            const char  *id)
{
  OpRef *ref = g_new0 (OpRef, 1);

  ref->engine = g_object_ref (engine);
  ref->id = g_strdup (id);
  return ref;
}

static void
op_ref_free (OpRef *ref)
{
  g_object_unref (ref->engine);
  g_free (ref->id);
  g_free (ref);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OpRef, op_ref_free)

/* ---------------------------------------------------------------- history */

/* What the history needs beyond the transfer object itself: see
 * ferry-history-private.h for the record. */
typedef struct {
  FerryTransfer *transfer;
  JsonObject    *base;     /* created, directory, resend-of, extras[], moved{} */
} HistoryEntry;

static void
history_entry_free (gpointer data)
{
  HistoryEntry *entry = data;

  g_object_unref (entry->transfer);
  json_object_unref (entry->base);
  g_free (entry);
}

static JsonObject *
engine_history_base (FerryEngine   *self,
                     FerryTransfer *transfer)
{
  const char *id = ferry_transfer_get_id (transfer);
  HistoryEntry *entry = g_hash_table_lookup (self->history, id);

  if (entry == NULL)
    {
      g_autoptr(JsonObject) previous = _ferry_history_load (self->home, id, NULL);
      guint n = g_list_model_get_n_items (ferry_transfer_get_files (transfer));
      JsonArray *extras = json_array_new ();

      entry = g_new0 (HistoryEntry, 1);
      entry->transfer = g_object_ref (transfer);
      entry->base = json_object_new ();
      json_object_set_int_member (entry->base, "created",
                                  previous ? json_object_get_int_member_with_default (previous, "created", 0)
                                           : g_get_real_time () / 1000);
      for (guint i = 0; i < n; i++)
        json_array_add_object_element (extras, json_object_new ());
      json_object_set_array_member (entry->base, "extras", extras);
      /* An earlier attempt of the same transfer (a fetch): keep what it
       * left behind until this attempt knows better. */
      if (previous != NULL &&
          json_object_get_string_member_with_default (previous, "directory", NULL) != NULL)
        json_object_set_string_member (entry->base, "directory",
                                       json_object_get_string_member (previous, "directory"));
      if (previous != NULL && json_object_get_member (previous, "files") != NULL &&
          JSON_NODE_HOLDS_ARRAY (json_object_get_member (previous, "files")))
        {
          JsonArray *old = json_object_get_array_member (previous, "files");

          for (guint i = 0; i < n && i < json_array_get_length (old); i++)
            {
              JsonNode *node = json_array_get_element (old, i);
              JsonObject *extra = json_array_get_object_element (extras, i);
              const char *part;

              if (!JSON_NODE_HOLDS_OBJECT (node))
                continue;
              part = json_object_get_string_member_with_default (json_node_get_object (node), "part", NULL);
              if (part != NULL)
                {
                  json_object_set_string_member (extra, "part", part);
                  json_object_set_int_member (extra, "part-bytes",
                                              json_object_get_int_member_with_default (json_node_get_object (node),
                                                                                       "part-bytes", 0));
                }
            }
        }
      json_object_set_object_member (entry->base, "moved", json_object_new ());
      g_hash_table_insert (self->history, g_strdup (id), entry);
    }
  return entry->base;
}

static JsonObject *
history_extra (JsonObject *base,
               guint       index)
{
  JsonArray *extras = json_object_get_array_member (base, "extras");

  return index < json_array_get_length (extras) ? json_array_get_object_element (extras, index) : NULL;
}

static const char *
enum_nick (GType type,
           gint  value)
{
  GEnumClass *klass = g_type_class_ref (type);
  GEnumValue *enum_value = g_enum_get_value (klass, value);
  const char *nick = enum_value ? enum_value->value_nick : "unknown";

  /* Static enum types: the nick stays valid after the unref. */
  g_type_class_unref (klass);
  return nick;
}

static JsonObject *
history_error (const GError *error)
{
  JsonObject *object = json_object_new ();
  const char *code = "failed";

  if (error->domain == FERRY_ERROR)
    code = enum_nick (FERRY_TYPE_ERROR, error->code);
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    code = "cancelled";
  json_object_set_string_member (object, "code", code);
  json_object_set_string_member (object, "message", error->message);
  return object;
}

static JsonObject *
history_device (FerryDevice *device)
{
  JsonObject *object = json_object_new ();

  json_object_set_string_member (object, "device", ferry_device_get_device_id (device));
  json_object_set_string_member (object, "account", ferry_device_get_account_id (device));
  json_object_set_string_member (object, "name", ferry_device_get_name (device));
  return object;
}

/* Writes the record of @transfer (an outgoing aggregate or an incoming
 * transfer) as it is now. */
static void
engine_history_write (FerryEngine   *self,
                      FerryTransfer *transfer)
{
  JsonObject *base = engine_history_base (self, transfer);
  g_autoptr(JsonObject) record = json_object_new ();
  g_autoptr(GError) error = NULL;
  GListModel *files = ferry_transfer_get_files (transfer);
  GListModel *subs = ferry_transfer_get_sub_transfers (transfer);
  FerryDevice *device = ferry_transfer_get_device (transfer);
  gboolean incoming = ferry_transfer_get_direction (transfer) == FERRY_TRANSFER_DIRECTION_INCOMING;
  JsonObject *moved = json_object_get_object_member (base, "moved");
  JsonArray *list;
  JsonObject *peer;
  guint64 moved_total = 0;

  json_object_set_string_member (record, "id", ferry_transfer_get_id (transfer));
  json_object_set_string_member (record, "direction", incoming ? "incoming" : "outgoing");
  json_object_set_int_member (record, "created", json_object_get_int_member (base, "created"));
  json_object_set_string_member (record, "state",
                                 enum_nick (FERRY_TYPE_TRANSFER_STATE, ferry_transfer_get_state (transfer)));
  if (ferry_transfer_get_error (transfer) != NULL && ferry_transfer_is_done (transfer) &&
      ferry_transfer_get_state (transfer) != FERRY_TRANSFER_STATE_FINISHED)
    json_object_set_object_member (record, "error", history_error (ferry_transfer_get_error (transfer)));

  peer = json_object_new ();
  if (device != NULL)
    {
      FerryPeer *known = g_hash_table_lookup (self->peers_by_account, ferry_device_get_account_id (device));

      json_object_set_string_member (peer, "account", ferry_device_get_account_id (device));
      json_object_set_string_member (peer, "name", known && ferry_peer_get_name (known)
                                                   ? ferry_peer_get_name (known)
                                                   : ferry_device_get_name (device));
    }
  json_object_set_object_member (record, "peer", peer);
  if (ferry_transfer_get_chain (transfer) != NULL)
    json_object_set_string_member (record, "chain", ferry_transfer_get_chain (transfer));
  json_object_set_int_member (record, "bytes", (gint64) ferry_transfer_get_bytes (transfer));
  json_object_set_int_member (record, "total", (gint64) ferry_transfer_get_total_size (transfer));
  if (json_object_has_member (base, "directory"))
    json_object_set_string_member (record, "directory", json_object_get_string_member (base, "directory"));
  if (json_object_has_member (base, "resend-of"))
    json_object_set_string_member (record, "resend-of", json_object_get_string_member (base, "resend-of"));

  list = json_array_new ();
  for (guint i = 0; i < g_list_model_get_n_items (files); i++)
    {
      g_autoptr(FerryTransferFile) file = g_list_model_get_item (files, i);
      JsonObject *entry = json_object_new ();
      JsonObject *extra = history_extra (base, i);

      json_object_set_string_member (entry, "name", ferry_transfer_file_get_name (file));
      json_object_set_int_member (entry, "size", (gint64) ferry_transfer_file_get_size (file));
      json_object_set_string_member (entry, "mime", ferry_transfer_file_get_mime_type (file));
      if (ferry_transfer_file_get_sha3_256 (file) != NULL)
        json_object_set_string_member (entry, "sha3-256", ferry_transfer_file_get_sha3_256 (file));
      if (ferry_transfer_file_get_file (file) != NULL)
        {
          g_autofree char *path = g_file_get_path (ferry_transfer_file_get_file (file));

          if (path != NULL)
            json_object_set_string_member (entry, "path", path);
        }
      if (extra != NULL)
        {
          g_autoptr(GList) members = json_object_get_members (extra);

          for (GList *l = members; l != NULL; l = l->next)
            if (!json_object_has_member (entry, l->data))
              json_object_set_member (entry, l->data, json_node_copy (json_object_get_member (extra, l->data)));
        }
      json_array_add_object_element (list, entry);
    }
  json_object_set_array_member (record, "files", list);

  if (incoming)
    {
      if (device != NULL)
        json_object_set_object_member (record, "device", history_device (device));
      moved_total = json_object_get_int_member_with_default (moved, "total", 0);
    }
  else
    {
      list = json_array_new ();
      for (guint i = 0; i < g_list_model_get_n_items (subs); i++)
        {
          g_autoptr(FerryTransfer) sub = g_list_model_get_item (subs, i);
          JsonObject *entry = history_device (ferry_transfer_get_device (sub));
          gint64 sub_moved = json_object_get_int_member_with_default (moved, ferry_transfer_get_id (sub), 0);

          json_object_set_string_member (entry, "transfer", ferry_transfer_get_id (sub));
          json_object_set_string_member (entry, "state",
                                         enum_nick (FERRY_TYPE_TRANSFER_STATE, ferry_transfer_get_state (sub)));
          json_object_set_int_member (entry, "bytes", (gint64) ferry_transfer_get_bytes (sub));
          json_object_set_int_member (entry, "moved", sub_moved);
          if (ferry_transfer_get_error (sub) != NULL && ferry_transfer_is_done (sub) &&
              ferry_transfer_get_state (sub) != FERRY_TRANSFER_STATE_FINISHED)
            json_object_set_object_member (entry, "error", history_error (ferry_transfer_get_error (sub)));
          moved_total += sub_moved;
          json_array_add_object_element (list, entry);
        }
      json_object_set_array_member (record, "devices", list);
    }
  json_object_set_int_member (record, "moved", (gint64) moved_total);

  if (!_ferry_history_save (self->home, record, &error))
    g_warning ("Could not record transfer %s: %s", ferry_transfer_get_id (transfer), error->message);

  /* Forget it once nothing will change any more. */
  if (ferry_transfer_is_done (transfer))
    {
      gboolean all_done = TRUE;

      for (guint i = 0; i < g_list_model_get_n_items (subs); i++)
        {
          g_autoptr(FerryTransfer) sub = g_list_model_get_item (subs, i);

          all_done = all_done && ferry_transfer_is_done (sub);
        }
      if (all_done)
        g_hash_table_remove (self->history, ferry_transfer_get_id (transfer));
    }
}

/**
 * ferry_engine_get_history:
 * @self: a #FerryEngine
 *
 * The record of past and current transfers kept under the home directory,
 * newest first: one #JsonObject per transfer with its id, direction,
 * state (and error), peer, devices, files (name, size, SHA3-256, where
 * it was read from or saved to, and the `.part` an interrupted transfer
 * kept), the bytes it moved over the network and when it was created.
 *
 * Returns: (transfer full): a #JsonArray of #JsonObject
 */
JsonArray *
ferry_engine_get_history (FerryEngine *self)
{
  g_return_val_if_fail (FERRY_IS_ENGINE (self), NULL);
  return _ferry_history_list (self->home);
}

/* --------------------------------------------------------------- outgoing */

struct _Outgoing
{
  FerryEngine    *engine;
  char           *id;
  FerryTransfer  *parent;       /* the aggregate */
  gboolean        resume;       /* a re-send: the receiver may resume */
  FerryTransfer  *transfer;
  FerryDevice    *device;
  FerrySignaling *signaling;
  char           *route;
  GPtrArray      *transports;
  GPtrArray      *session_files;
  GCancellable   *cancellable;
  GBytes         *offer;
  FerrySession   *session;
  guint           resend_source;
  guint           resend_count;
  guint           answer_source;
  guint           accept_source;
  gboolean        answered;
};

static void
outgoing_free (Outgoing *op)
{
  g_clear_handle_id (&op->resend_source, g_source_remove);
  g_clear_handle_id (&op->answer_source, g_source_remove);
  g_clear_handle_id (&op->accept_source, g_source_remove);
  release_attempts (op->transports, op->id);
  g_cancellable_cancel (op->cancellable);
  g_free (op->id);
  g_clear_object (&op->parent);
  g_clear_object (&op->transfer);
  g_clear_object (&op->device);
  g_clear_object (&op->signaling);
  g_free (op->route);
  g_clear_pointer (&op->transports, g_ptr_array_unref);
  g_clear_pointer (&op->session_files, g_ptr_array_unref);
  g_clear_object (&op->cancellable);
  g_clear_pointer (&op->offer, g_bytes_unref);
  if (op->session != NULL)
    g_signal_handlers_disconnect_by_data (op->session, op);
  g_clear_object (&op->session);
  g_free (op);
}

/* Ends an outgoing transfer: sets its final state and forgets it. */
static void
outgoing_end (Outgoing           *op,
              FerryTransferState  state,
              const GError       *error)
{
  FerryEngine *self = op->engine;
  g_autoptr(FerryTransfer) transfer = g_object_ref (op->transfer);
  g_autoptr(FerryTransfer) parent = op->parent ? g_object_ref (op->parent) : NULL;

  g_clear_handle_id (&op->resend_source, g_source_remove);
  g_clear_handle_id (&op->answer_source, g_source_remove);
  g_clear_handle_id (&op->accept_source, g_source_remove);
  if (parent != NULL && op->session != NULL)
    json_object_set_int_member (json_object_get_object_member (engine_history_base (self, parent), "moved"),
                                op->id, (gint64) _ferry_session_get_moved (op->session));
  g_hash_table_remove (self->outgoing, op->id);
  _ferry_transfer_set_state (transfer, state, error);
  if (parent != NULL)
    engine_history_write (self, parent);
}

static void
outgoing_fail (Outgoing     *op,
               const GError *error)
{
  outgoing_end (op, state_for_error (error), error);
}

static void
outgoing_progress_cb (FerrySession *session,
                      guint64       bytes,
                      guint64       total,
                      Outgoing     *op)
{
  _ferry_transfer_set_bytes (op->transfer, bytes);
}

static void
outgoing_accepted_cb (FerrySession *session,
                      Outgoing     *op)
{
  g_clear_handle_id (&op->accept_source, g_source_remove);
  _ferry_transfer_set_state (op->transfer, FERRY_TRANSFER_STATE_ONGOING, NULL);
  if (op->parent != NULL)
    engine_history_write (op->engine, op->parent);
}

static void
outgoing_sent_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(OpRef) ref = user_data;
  Outgoing *op = g_hash_table_lookup (ref->engine->outgoing, ref->id);
  g_autoptr(GError) error = NULL;
  gboolean ok;

  ok = _ferry_session_send_finish (FERRY_SESSION (source), result, &error);
  if (op == NULL || op->session != FERRY_SESSION (source))
    return;

  if (ok)
    {
      GListModel *files = ferry_transfer_get_files (op->transfer);

      for (guint i = 0; i < op->session_files->len && i < g_list_model_get_n_items (files); i++)
        {
          g_autoptr(FerryTransferFile) file = g_list_model_get_item (files, i);
          FerrySessionFile *sf = g_ptr_array_index (op->session_files, i);

          _ferry_transfer_file_set_sha3_256 (file, sf->sha3_256);
        }
      _ferry_transfer_set_bytes (op->transfer, ferry_transfer_get_total_size (op->transfer));
      outgoing_end (op, FERRY_TRANSFER_STATE_FINISHED, NULL);
    }
  else
    outgoing_fail (op, error);
}

static gboolean
outgoing_accept_timeout_cb (gpointer user_data)
{
  Outgoing *op = user_data;
  g_autoptr(GError) error = NULL;

  op->accept_source = 0;
  error = g_error_new (FERRY_ERROR, FERRY_ERROR_TIMEOUT,
                       _("The peer did not accept the transfer within %u s"),
                       op->engine->offer_timeout_s);
  if (op->session != NULL)
    _ferry_session_cancel (op->session, "offer expired");
  outgoing_fail (op, error);
  return G_SOURCE_REMOVE;
}

static void
outgoing_race_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(OpRef) ref = user_data;
  Outgoing *op = g_hash_table_lookup (ref->engine->outgoing, ref->id);
  g_autoptr(GError) error = NULL;
  g_autoptr(FerryRaceResult) race = NULL;
  g_autofree char *chain = NULL;

  race = _ferry_negotiation_race_finish (result, &error);
  if (op == NULL)
    return;

  release_attempts (op->transports, op->id);
  if (race == NULL)
    {
      outgoing_fail (op, error);
      return;
    }

  chain = chain_text (op->signaling, race->chain);
  _ferry_transfer_set_chain (op->transfer, chain);

  op->session = _ferry_session_new (race->stream);
  _ferry_session_set_allow_resume (op->session, op->resume);
  _ferry_session_set_stall_timeout (op->session, ref->engine->stall_timeout_s);
  g_signal_connect (op->session, "progress", G_CALLBACK (outgoing_progress_cb), op);
  g_signal_connect (op->session, "accepted", G_CALLBACK (outgoing_accepted_cb), op);
  op->accept_source = g_timeout_add_seconds (ref->engine->offer_timeout_s,
                                             outgoing_accept_timeout_cb, op);
  _ferry_session_send_async (op->session, op->id, op->session_files, op->cancellable,
                             outgoing_sent_cb, op_ref_new (ref->engine, op->id));
}

static void
outgoing_answer (FerryEngine   *self,
                 FerryEnvelope *envelope)
{
  const char *id = json_object_get_string_member_with_default (envelope->body, "transfer", NULL);
  Outgoing *op = id ? g_hash_table_lookup (self->outgoing, id) : NULL;
  JsonNode *transports_node;
  GPtrArray *entries;
  FerryRaceParams params = { 0, };
  JsonArray *answered = NULL;

  if (op == NULL || op->answered)
    return;
  if (!g_str_equal (envelope->from_device, ferry_device_get_device_id (op->device)) ||
      !g_str_equal (envelope->from_account, ferry_device_get_account_id (op->device)) ||
      engine_is_revoked (self, envelope->from_account, envelope->from_device))
    {
      g_debug ("answer for %s from an unexpected device, dropped", id);
      return;
    }

  op->answered = TRUE;
  g_clear_handle_id (&op->resend_source, g_source_remove);
  g_clear_handle_id (&op->answer_source, g_source_remove);

  transports_node = json_object_get_member (envelope->body, "transports");
  if (transports_node != NULL && JSON_NODE_HOLDS_ARRAY (transports_node))
    answered = json_node_get_array (transports_node);
  entries = _ferry_negotiation_select (answered, op->transports);

  params.identity = self->identity;
  params.offerer = TRUE;
  params.attempt_id = op->id;
  params.peer_account_id = ferry_device_get_account_id (op->device);
  params.peer_device_id = ferry_device_get_device_id (op->device);
  params.stagger_ms = self->stagger_ms;
  params.attempt_timeout_ms = self->connect_timeout_s * 1000;
  _ferry_negotiation_race_async (entries, &params, op->cancellable,
                                 outgoing_race_cb, op_ref_new (self, op->id));
}

static gboolean
outgoing_resend_cb (gpointer user_data)
{
  Outgoing *op = user_data;
  static const guint delays_ms[] = { 250, 750, 2000, 4000 };

  op->resend_source = 0;
  engine_send_message (op->engine, op->signaling, op->route, op->offer);
  if (op->resend_count < G_N_ELEMENTS (delays_ms))
    op->resend_source = g_timeout_add (delays_ms[op->resend_count++], outgoing_resend_cb, op);
  return G_SOURCE_REMOVE;
}

static gboolean
outgoing_answer_timeout_cb (gpointer user_data)
{
  Outgoing *op = user_data;
  g_autoptr(GError) error = NULL;

  op->answer_source = 0;
  error = g_error_new (FERRY_ERROR, FERRY_ERROR_NO_TRANSPORT,
                       _("The peer did not answer the offer within %u s"),
                       FERRY_ANSWER_TIMEOUT_MS / 1000);
  outgoing_fail (op, error);
  return G_SOURCE_REMOVE;
}

static void
outgoing_described_cb (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  g_autoptr(OpRef) ref = user_data;
  FerryEngine *self = ref->engine;
  Outgoing *op = g_hash_table_lookup (self->outgoing, ref->id);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonArray) transports = NULL;
  g_autoptr(JsonObject) body = NULL;

  transports = _ferry_negotiation_describe_finish (result, &error);
  if (op == NULL)
    return;
  if (transports == NULL)
    {
      outgoing_fail (op, error);
      return;
    }

  body = json_object_new ();
  json_object_set_string_member (body, "transfer", op->id);
  json_object_set_array_member (body, "transports", json_array_ref (transports));
  op->offer = engine_build_message (self, "offer", ferry_device_get_device_id (op->device), body);
  if (op->offer == NULL)
    {
      g_autoptr(GError) build_error = g_error_new (FERRY_ERROR, FERRY_ERROR_FAILED,
                                                   _("Cannot build the offer"));
      outgoing_fail (op, build_error);
      return;
    }

  op->answer_source = g_timeout_add (FERRY_ANSWER_TIMEOUT_MS, outgoing_answer_timeout_cb, op);
  outgoing_resend_cb (op);
}

static void
outgoing_op_cancel (FerryTransfer *transfer,
                    const char    *reason,
                    gpointer       user_data)
{
  Outgoing *op = user_data;
  g_autoptr(GError) error = NULL;

  error = g_error_new (G_IO_ERROR, G_IO_ERROR_CANCELLED, _("Cancelled: %s"),
                       reason ? reason : _("no reason given"));
  if (op->session != NULL)
    _ferry_session_cancel (op->session, reason ? reason : "cancelled");
  if (ferry_transfer_get_state (transfer) != FERRY_TRANSFER_STATE_ONGOING)
    engine_send_cancel (op->engine, op->signaling, op->route,
                        ferry_device_get_device_id (op->device), op->id, reason);
  outgoing_fail (op, error);
}

static const FerryTransferOps outgoing_ops = {
  NULL,
  NULL,
  outgoing_op_cancel,
};

static const char *
guess_mime_type (GFileInfo *info)
{
  const char *content_type = g_file_info_get_content_type (info);

  return content_type ? content_type : "application/octet-stream";
}

static GPtrArray *
session_files_copy (GPtrArray *files)
{
  GPtrArray *copy = g_ptr_array_new_with_free_func ((GDestroyNotify) _ferry_session_file_free);

  for (guint i = 0; i < files->len; i++)
    {
      FerrySessionFile *sf = g_ptr_array_index (files, i);
      FerrySessionFile *dup = _ferry_session_file_new (sf->name, sf->size, sf->mime_type);

      dup->source = sf->source ? g_object_ref (sf->source) : NULL;
      dup->expected_sha3 = g_strdup (sf->expected_sha3);
      g_ptr_array_add (copy, dup);
    }
  return copy;
}

/* A device counts as online when it was seen this recently. */
#define FERRY_DEVICE_ONLINE_US (10 * 60 * G_USEC_PER_SEC)

static gint
compare_last_seen (gconstpointer a,
                   gconstpointer b)
{
  gint64 ta = ferry_device_get_last_seen (*(FerryDevice **) a);
  gint64 tb = ferry_device_get_last_seen (*(FerryDevice **) b);

  return ta < tb ? 1 : ta > tb ? -1 : 0;
}

/* Starts one sub-transfer of @parent to @device. */
static void
engine_send_one (FerryEngine   *self,
                 FerryTransfer *parent,
                 FerryDevice   *device,
                 GPtrArray     *session_files,
                 const char    *sub_id,
                 gboolean       resume)
{
  g_autoptr(FerryTransfer) transfer = NULL;
  g_autofree char *id = sub_id ? g_strdup (sub_id) : random_hex (16);
  GListModel *files = ferry_transfer_get_files (parent);
  Outgoing *op;

  transfer = _ferry_transfer_new (id, FERRY_TRANSFER_DIRECTION_OUTGOING, device);
  for (guint i = 0; i < g_list_model_get_n_items (files); i++)
    {
      g_autoptr(FerryTransferFile) file = g_list_model_get_item (files, i);

      _ferry_transfer_add_file (transfer, file);
    }

  op = g_new0 (Outgoing, 1);
  op->engine = self;
  op->id = g_strdup (id);
  op->parent = g_object_ref (parent);
  op->transfer = g_object_ref (transfer);
  op->device = g_object_ref (device);
  op->signaling = g_object_ref (_ferry_device_get_signaling (device));
  op->route = g_strdup (_ferry_device_get_route (device));
  op->transports = engine_list_transports (self);
  op->session_files = session_files_copy (session_files);
  op->resume = resume;
  op->cancellable = g_cancellable_new ();
  g_hash_table_insert (self->outgoing, op->id, op);

  _ferry_transfer_set_ops (transfer, &outgoing_ops, op);
  _ferry_transfer_add_sub_transfer (parent, transfer);
  _ferry_transfer_set_state (transfer, FERRY_TRANSFER_STATE_AWAITING_PEER, NULL);

  _ferry_negotiation_describe_async (op->transports, op->id, TRUE,
                                     self->connect_timeout_s * 1000, op->cancellable,
                                     outgoing_described_cb, op_ref_new (self, op->id));
}

/* A send to a peer stays open for a moment to devices of the peer's
 * account that answer the look-up a little after the first one. */
#define FERRY_FANOUT_JOIN_US (3 * G_USEC_PER_SEC)

typedef struct {
  FerryTransfer *parent;
  char          *account_id;
  GPtrArray     *session_files;
  gint64         deadline;
} FanOut;

static void
fanout_free (gpointer data)
{
  FanOut *fanout = data;

  g_object_unref (fanout->parent);
  g_free (fanout->account_id);
  g_ptr_array_unref (fanout->session_files);
  g_free (fanout);
}

static void
engine_fanout_join (FerryEngine *self,
                    FerryDevice *device)
{
  gint64 now = g_get_monotonic_time ();

  for (guint i = self->fanouts->len; i-- > 0;)
    {
      FanOut *fanout = g_ptr_array_index (self->fanouts, i);

      if (now > fanout->deadline || ferry_transfer_is_done (fanout->parent))
        g_ptr_array_remove_index (self->fanouts, i);
    }

  for (guint i = 0; i < self->fanouts->len; i++)
    {
      FanOut *fanout = g_ptr_array_index (self->fanouts, i);

      if (g_str_equal (fanout->account_id, ferry_device_get_account_id (device)) &&
          _ferry_device_get_signaling (device) != NULL)
        {
          g_debug ("device %.12s joins transfer %s", ferry_device_get_device_id (device),
                   ferry_transfer_get_id (fanout->parent));
          engine_send_one (self, fanout->parent, device, fanout->session_files, NULL, FALSE);
          engine_history_write (self, fanout->parent);
        }
    }
}

/* Offers @files to each of @devices (FerryDevice, at least one); when
 * @account_id is set, devices of that account seen soon after join. */
static FerryTransfer *
engine_send_devices (FerryEngine  *self,
                     GPtrArray    *devices,
                     const char   *account_id,
                     GFile       **files,
                     guint         n_files,
                     JsonObject   *resend,
                     GError      **error)
{
  g_autoptr(FerryTransfer) transfer = NULL;
  g_autoptr(GPtrArray) session_files = NULL;
  g_autoptr(GPtrArray) transfer_files = NULL;
  g_autofree char *id = NULL;

  if (!self->started)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_FAILED, _("The engine is not started"));
      return NULL;
    }
  if (n_files == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, _("No file to send"));
      return NULL;
    }
  if (devices->len == 0)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_PEER_NOT_FOUND,
                   _("No device of this peer can be reached"));
      return NULL;
    }

  session_files = g_ptr_array_new_with_free_func ((GDestroyNotify) _ferry_session_file_free);
  transfer_files = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < n_files; i++)
    {
      g_autoptr(GFileInfo) info = NULL;
      g_autofree char *name = NULL;
      g_autoptr(GError) local_error = NULL;
      FerrySessionFile *sf;

      info = g_file_query_info (files[i],
                                G_FILE_ATTRIBUTE_STANDARD_TYPE ","
                                G_FILE_ATTRIBUTE_STANDARD_SIZE ","
                                G_FILE_ATTRIBUTE_STANDARD_CONTENT_TYPE ","
                                G_FILE_ATTRIBUTE_ACCESS_CAN_READ,
                                G_FILE_QUERY_INFO_NONE, NULL, &local_error);
      name = g_file_get_basename (files[i]);
      if (info == NULL)
        {
          g_set_error (error, local_error->domain, local_error->code,
                       _("Cannot send %s: %s"), name, local_error->message);
          return NULL;
        }
      if (g_file_info_get_file_type (info) != G_FILE_TYPE_REGULAR)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE,
                       _("Cannot send %s: not a regular file"), name);
          return NULL;
        }
      if (g_file_info_has_attribute (info, G_FILE_ATTRIBUTE_ACCESS_CAN_READ) &&
          !g_file_info_get_attribute_boolean (info, G_FILE_ATTRIBUTE_ACCESS_CAN_READ))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                       _("Cannot send %s: permission denied"), name);
          return NULL;
        }

      {
        g_autofree char *mime = g_content_type_get_mime_type (guess_mime_type (info));

        sf = _ferry_session_file_new (name, g_file_info_get_size (info),
                                      mime ? mime : "application/octet-stream");
        sf->source = g_object_ref (files[i]);
        g_ptr_array_add (session_files, sf);
        g_ptr_array_add (transfer_files,
                         _ferry_transfer_file_new (name, sf->size, sf->mime_type, files[i]));
      }
    }

  id = random_hex (16);
  transfer = _ferry_transfer_new (id, FERRY_TRANSFER_DIRECTION_OUTGOING,
                                  g_ptr_array_index (devices, 0));
  for (guint i = 0; i < transfer_files->len; i++)
    _ferry_transfer_add_file (transfer, g_ptr_array_index (transfer_files, i));
  g_list_store_append (self->transfers, transfer);

  /* The history: each source's modification time, so that a later
   * request can tell whether the file is still the one that was sent. */
  {
    JsonObject *base = engine_history_base (self, transfer);

    for (guint i = 0; i < n_files; i++)
      {
        g_autoptr(GFileInfo) info = g_file_query_info (files[i],
                                                       G_FILE_ATTRIBUTE_TIME_MODIFIED ","
                                                       G_FILE_ATTRIBUTE_TIME_MODIFIED_USEC,
                                                       G_FILE_QUERY_INFO_NONE, NULL, NULL);
        g_autofree char *path = g_file_get_path (files[i]);
        JsonObject *extra = history_extra (base, i);

        if (path != NULL)
          json_object_set_string_member (extra, "path", path);
        if (info != NULL)
          json_object_set_int_member (extra, "mtime",
                                      (gint64) g_file_info_get_attribute_uint64 (info, G_FILE_ATTRIBUTE_TIME_MODIFIED) * G_USEC_PER_SEC +
                                      g_file_info_get_attribute_uint32 (info, G_FILE_ATTRIBUTE_TIME_MODIFIED_USEC));
      }
    if (resend != NULL)
      {
        JsonArray *expected = json_object_get_array_member (resend, "expected");

        json_object_set_string_member (base, "resend-of", json_object_get_string_member (resend, "of"));
        for (guint i = 0; i < session_files->len && i < json_array_get_length (expected); i++)
          {
            FerrySessionFile *sf = g_ptr_array_index (session_files, i);
            const char *hex = json_array_get_string_element (expected, i);

            if (hex != NULL && hex[0] != '\0')
              sf->expected_sha3 = g_strdup (hex);
          }
      }
  }

  for (guint i = 0; i < devices->len; i++)
    engine_send_one (self, transfer, g_ptr_array_index (devices, i), session_files,
                     resend ? json_object_get_string_member (resend, "transfer") : NULL,
                     resend != NULL);
  engine_history_write (self, transfer);

  if (account_id != NULL)
    {
      FanOut *fanout = g_new0 (FanOut, 1);

      fanout->parent = g_object_ref (transfer);
      fanout->account_id = g_strdup (account_id);
      fanout->session_files = g_steal_pointer (&session_files);
      fanout->deadline = g_get_monotonic_time () + FERRY_FANOUT_JOIN_US;
      g_ptr_array_add (self->fanouts, fanout);
    }

  return g_steal_pointer (&transfer);
}

/**
 * ferry_engine_send:
 * @self: a started #FerryEngine
 * @peer: the peer to send to
 * @files: (array length=n_files): the files, regular and readable
 * @n_files: how many files
 * @error: return location for a #GError
 *
 * Starts sending @files to every online device of @peer's account (every
 * device seen through signaling in the last ten minutes, and those that
 * show up within the next three seconds): one sub-transfer per device, see ferry_transfer_get_sub_transfers(). The
 * returned transfer shows the optimistic aggregate of them and is added
 * to [property@Ferry.Engine:transfers]; follow its
 * [property@Ferry.Transfer:state], or wait with ferry_transfer_wait_async().
 *
 * Returns: (transfer full) (nullable): the transfer, or %NULL when a file
 *   cannot be read or the peer has no reachable device
 */
FerryTransfer *
ferry_engine_send (FerryEngine  *self,
                   FerryPeer    *peer,
                   GFile       **files,
                   guint         n_files,
                   GError      **error)
{
  g_autoptr(GPtrArray) devices = g_ptr_array_new_with_free_func (g_object_unref);
  FerryDevice *latest;
  GListModel *list;

  g_return_val_if_fail (FERRY_IS_ENGINE (self), NULL);
  g_return_val_if_fail (FERRY_IS_PEER (peer), NULL);
  g_return_val_if_fail (files != NULL || n_files == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  latest = _ferry_peer_get_latest_device (peer);
  list = ferry_peer_get_devices (peer);
  for (guint i = 0; i < g_list_model_get_n_items (list); i++)
    {
      g_autoptr(FerryDevice) device = g_list_model_get_item (list, i);

      if (_ferry_device_get_signaling (device) == NULL ||
          engine_is_revoked (self, ferry_device_get_account_id (device), ferry_device_get_device_id (device)))
        continue;
      if (device != latest &&
          g_get_monotonic_time () - ferry_device_get_last_seen (device) > FERRY_DEVICE_ONLINE_US)
        continue;
      g_ptr_array_add (devices, g_steal_pointer (&device));
    }
  g_ptr_array_sort (devices, compare_last_seen);

  return engine_send_devices (self, devices, ferry_peer_get_account_id (peer),
                              files, n_files, NULL, error);
}

/**
 * ferry_engine_send_to_device:
 * @self: a started #FerryEngine
 * @device: the device to send to
 * @files: (array length=n_files): the files, regular and readable
 * @n_files: how many files
 * @error: return location for a #GError
 *
 * Like ferry_engine_send(), to one device only: the transfer has one
 * sub-transfer.
 *
 * Returns: (transfer full) (nullable): the transfer, or %NULL when a file
 *   cannot be read or the device cannot be reached
 */
FerryTransfer *
ferry_engine_send_to_device (FerryEngine  *self,
                             FerryDevice  *device,
                             GFile       **files,
                             guint         n_files,
                             GError      **error)
{
  g_autoptr(GPtrArray) devices = g_ptr_array_new_with_free_func (g_object_unref);

  g_return_val_if_fail (FERRY_IS_ENGINE (self), NULL);
  g_return_val_if_fail (FERRY_IS_DEVICE (device), NULL);
  g_return_val_if_fail (files != NULL || n_files == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (_ferry_device_get_signaling (device) != NULL &&
      !engine_is_revoked (self, ferry_device_get_account_id (device), ferry_device_get_device_id (device)))
    g_ptr_array_add (devices, g_object_ref (device));
  return engine_send_devices (self, devices, NULL, files, n_files, NULL, error);
}

/* --------------------------------------------------------------- incoming */

struct _Incoming
{
  FerryEngine    *engine;
  char           *id;
  FerryDevice    *device;
  FerrySignaling *signaling;
  char           *route;
  GPtrArray      *transports;
  GCancellable   *cancellable;
  JsonArray      *offered;
  FerryTransfer  *transfer;
  FerrySession   *session;
  guint           timeout_source;
  GFile          *directory;    /* once accepted */
  char          **parts;        /* the .part names recorded so far */
  GBytes         *answer;       /* re-sent until a channel is up */
  guint           answer_source;
  guint           answer_resends;
};

static void
incoming_free (Incoming *op)
{
  g_clear_object (&op->directory);
  g_clear_pointer (&op->parts, g_strfreev);
  g_clear_handle_id (&op->timeout_source, g_source_remove);
  g_clear_handle_id (&op->answer_source, g_source_remove);
  g_clear_pointer (&op->answer, g_bytes_unref);
  release_attempts (op->transports, op->id);
  g_cancellable_cancel (op->cancellable);
  g_free (op->id);
  g_clear_object (&op->device);
  g_clear_object (&op->signaling);
  g_free (op->route);
  g_clear_pointer (&op->transports, g_ptr_array_unref);
  g_clear_object (&op->cancellable);
  g_clear_pointer (&op->offered, json_array_unref);
  g_clear_object (&op->transfer);
  if (op->session != NULL)
    g_signal_handlers_disconnect_by_data (op->session, op);
  g_clear_object (&op->session);
  g_free (op);
}

static void
incoming_end (Incoming           *op,
              FerryTransferState  state,
              const GError       *error)
{
  FerryEngine *self = op->engine;
  g_autoptr(FerryTransfer) transfer = op->transfer ? g_object_ref (op->transfer) : NULL;

  if (transfer != NULL && op->session != NULL)
    {
      JsonObject *base = engine_history_base (self, transfer);
      GPtrArray *session_files = _ferry_session_get_files (op->session);
      g_autofree char *dir = op->directory ? g_file_get_path (op->directory) : NULL;

      json_object_set_int_member (json_object_get_object_member (base, "moved"), "total",
                                  (gint64) _ferry_session_get_moved (op->session));
      /* The session has ended: what it kept is final. */
      for (guint i = 0; session_files != NULL && i < session_files->len; i++)
        {
          FerrySessionFile *sf = g_ptr_array_index (session_files, i);
          JsonObject *extra = history_extra (base, i);

          if (extra == NULL)
            continue;
          json_object_remove_member (extra, "part");
          json_object_remove_member (extra, "part-bytes");
          if (sf->part_name != NULL && dir != NULL && state != FERRY_TRANSFER_STATE_FINISHED)
            {
              g_autofree char *path = g_build_filename (dir, sf->part_name, NULL);
              GStatBuf st;

              if (g_lstat (path, &st) == 0 && S_ISREG (st.st_mode))
                {
                  json_object_set_string_member (extra, "part", sf->part_name);
                  json_object_set_int_member (extra, "part-bytes", (gint64) st.st_size);
                }
            }
        }
    }

  g_hash_table_remove (self->incoming, op->id);
  if (transfer != NULL)
    {
      _ferry_transfer_set_state (transfer, state, error);
      engine_history_write (self, transfer);
    }
}

static void
incoming_progress_cb (FerrySession *session,
                      guint64       bytes,
                      guint64       total,
                      Incoming     *op)
{
  g_auto(GStrv) parts = _ferry_session_dup_parts (session);

  _ferry_transfer_set_bytes (op->transfer, bytes);

  /* Record each .part as soon as it exists: should this process die, a
   * later fetch resumes from it. */
  if (op->parts == NULL || !g_strv_equal ((const char * const *) parts, (const char * const *) op->parts))
    {
      JsonObject *base = engine_history_base (op->engine, op->transfer);

      for (guint i = 0; parts[i] != NULL; i++)
        {
          JsonObject *extra = history_extra (base, i);

          if (extra == NULL)
            continue;
          if (parts[i][0] != '\0')
            json_object_set_string_member (extra, "part", parts[i]);
          else
            json_object_remove_member (extra, "part");
        }
      g_strfreev (op->parts);
      op->parts = g_steal_pointer (&parts);
      engine_history_write (op->engine, op->transfer);
    }
}

static void
incoming_received_cb (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr(OpRef) ref = user_data;
  FerryEngine *self = ref->engine;
  Incoming *op = g_hash_table_lookup (self->incoming, ref->id);
  g_autoptr(GError) error = NULL;
  gboolean ok;

  ok = _ferry_session_receive_finish (FERRY_SESSION (source), result, &error);
  if (op == NULL)
    {
      return;
    }

  if (ok)
    {
      GPtrArray *session_files = _ferry_session_get_files (op->session);
      GListModel *files = ferry_transfer_get_files (op->transfer);

      for (guint i = 0; i < session_files->len && i < g_list_model_get_n_items (files); i++)
        {
          g_autoptr(FerryTransferFile) file = g_list_model_get_item (files, i);
          FerrySessionFile *sf = g_ptr_array_index (session_files, i);

          _ferry_transfer_file_set_sha3_256 (file, sf->sha3_256);
          _ferry_transfer_file_set_file (file, sf->destination);
        }
      _ferry_transfer_set_bytes (op->transfer, ferry_transfer_get_total_size (op->transfer));
      incoming_end (op, FERRY_TRANSFER_STATE_FINISHED, NULL);
    }
  else
    incoming_end (op, state_for_error (error), error);
}

static void
incoming_op_accept (FerryTransfer *transfer,
                    GFile         *directory,
                    gpointer       user_data)
{
  Incoming *op = user_data;
  g_autofree char *path = g_file_get_path (directory);

  g_clear_handle_id (&op->timeout_source, g_source_remove);
  g_set_object (&op->directory, directory);
  if (path != NULL)
    json_object_set_string_member (engine_history_base (op->engine, transfer), "directory", path);
  _ferry_session_set_keep_parts (op->session, TRUE);
  _ferry_session_set_stall_timeout (op->session, op->engine->stall_timeout_s);
  _ferry_transfer_set_state (transfer, FERRY_TRANSFER_STATE_ONGOING, NULL);
  engine_history_write (op->engine, transfer);
  g_signal_connect (op->session, "progress", G_CALLBACK (incoming_progress_cb), op);
  _ferry_session_receive_async (op->session, directory, op->cancellable,
                                incoming_received_cb, op_ref_new (op->engine, op->id));
}

static void
incoming_op_reject (FerryTransfer *transfer,
                    const char    *reason,
                    gpointer       user_data)
{
  Incoming *op = user_data;
  g_autoptr(GError) error = NULL;

  error = g_error_new (FERRY_ERROR, FERRY_ERROR_REJECTED, _("Rejected: %s"),
                       reason ? reason : _("no reason given"));
  _ferry_session_reject (op->session, reason ? reason : "rejected");
  incoming_end (op, FERRY_TRANSFER_STATE_CANCELLED, error);
}

static void
incoming_op_cancel (FerryTransfer *transfer,
                    const char    *reason,
                    gpointer       user_data)
{
  Incoming *op = user_data;
  g_autoptr(GError) error = NULL;

  error = g_error_new (G_IO_ERROR, G_IO_ERROR_CANCELLED, _("Cancelled: %s"),
                       reason ? reason : _("no reason given"));
  if (ferry_transfer_get_state (transfer) == FERRY_TRANSFER_STATE_AWAITING_HOST)
    _ferry_session_reject (op->session, reason ? reason : "cancelled");
  else
    _ferry_session_cancel (op->session, reason ? reason : "cancelled");
  incoming_end (op, FERRY_TRANSFER_STATE_CANCELLED, error);
}

static const FerryTransferOps incoming_ops = {
  incoming_op_accept,
  incoming_op_reject,
  incoming_op_cancel,
};

static gboolean
incoming_timeout_cb (gpointer user_data)
{
  Incoming *op = user_data;
  g_autoptr(GError) error = NULL;

  op->timeout_source = 0;
  error = g_error_new (FERRY_ERROR, FERRY_ERROR_TIMEOUT,
                       _("Nobody accepted the transfer within %u s"), op->engine->offer_timeout_s);
  if (op->session != NULL)
    _ferry_session_reject (op->session, "offer expired");
  incoming_end (op, FERRY_TRANSFER_STATE_TIMEOUT_EXPIRED, error);
  return G_SOURCE_REMOVE;
}

static gboolean engine_fetch_arrived (FerryEngine *self,
                                      Incoming    *op);

static void
incoming_race_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(OpRef) ref = user_data;
  FerryEngine *self = ref->engine;
  Incoming *op = g_hash_table_lookup (self->incoming, ref->id);
  g_autoptr(GError) error = NULL;
  g_autoptr(FerryRaceResult) race = NULL;
  g_autofree char *chain = NULL;

  race = _ferry_negotiation_race_finish (result, &error);
  if (op == NULL)
    {
      return;
    }
  g_clear_handle_id (&op->answer_source, g_source_remove);
  release_attempts (op->transports, op->id);
  if (race == NULL)
    {
      g_debug ("incoming transfer %s: %s", op->id, error->message);
      incoming_end (op, FERRY_TRANSFER_STATE_UNJOINABLE_PEER, error);
      return;
    }

  op->session = g_steal_pointer (&race->session);
  op->transfer = _ferry_transfer_new (op->id, FERRY_TRANSFER_DIRECTION_INCOMING, op->device);
  for (guint i = 0; i < race->files->len; i++)
    {
      FerrySessionFile *sf = g_ptr_array_index (race->files, i);
      g_autoptr(FerryTransferFile) file = _ferry_transfer_file_new (sf->name, sf->size, sf->mime_type, NULL);

      _ferry_transfer_add_file (op->transfer, file);
    }
  chain = chain_text (op->signaling, race->chain);
  _ferry_transfer_set_chain (op->transfer, chain);
  _ferry_transfer_set_ops (op->transfer, &incoming_ops, op);
  _ferry_transfer_set_state (op->transfer, FERRY_TRANSFER_STATE_AWAITING_HOST, NULL);
  op->timeout_source = g_timeout_add_seconds (self->offer_timeout_s, incoming_timeout_cb, op);
  g_list_store_append (self->transfers, op->transfer);
  engine_history_write (self, op->transfer);

  /* What this device asked for itself is accepted, and resumed. */
  if (engine_fetch_arrived (self, op))
    return;

  {
    g_autoptr(FerryTransfer) transfer = g_object_ref (op->transfer);

    g_signal_emit (self, signals[SIGNAL_TRANSFER_REQUESTED], 0, transfer);
  }
}

/* Sends the answer, then again a few times until a channel is up: a lost
 * answer would otherwise leave the sender waiting (its re-sent offers are
 * dropped here as replays). The copies carry the same message id, so the
 * sender acts on the first one that arrives. */
static gboolean
incoming_resend_answer_cb (gpointer user_data)
{
  Incoming *op = user_data;
  static const guint delays_ms[] = { 300, 1000, 2500 };

  op->answer_source = 0;
  engine_send_message (op->engine, op->signaling, op->route, op->answer);
  if (op->answer_resends < G_N_ELEMENTS (delays_ms))
    op->answer_source = g_timeout_add (delays_ms[op->answer_resends++], incoming_resend_answer_cb, op);
  return G_SOURCE_REMOVE;
}

static void
incoming_described_cb (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  g_autoptr(OpRef) ref = user_data;
  FerryEngine *self = ref->engine;
  Incoming *op = g_hash_table_lookup (self->incoming, ref->id);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonArray) described = NULL;
  g_autoptr(JsonObject) body = NULL;
  g_autoptr(GBytes) answer = NULL;
  GPtrArray *entries;
  FerryRaceParams params = { 0, };

  described = _ferry_negotiation_describe_finish (result, &error);
  if (op == NULL)
    {
      return;
    }
  if (described == NULL)
    {
      incoming_end (op, FERRY_TRANSFER_STATE_ERROR, error);
      return;
    }

  body = json_object_new ();
  json_object_set_string_member (body, "transfer", op->id);
  json_object_set_array_member (body, "transports", json_array_ref (described));
  answer = engine_build_message (self, "answer", ferry_device_get_device_id (op->device), body);
  if (answer != NULL)
    {
      op->answer = g_bytes_ref (answer);
      incoming_resend_answer_cb (op);
    }

  /* Connect only through transports both sides described. */
  {
    g_autoptr(GPtrArray) usable = g_ptr_array_new_with_free_func (g_object_unref);

    for (guint i = 0; i < json_array_get_length (described); i++)
      {
        const char *name = json_object_get_string_member (json_array_get_object_element (described, i), "name");

        for (guint j = 0; j < op->transports->len; j++)
          if (g_str_equal (ferry_transport_get_name (g_ptr_array_index (op->transports, j)), name))
            g_ptr_array_add (usable, g_object_ref (g_ptr_array_index (op->transports, j)));
      }
    entries = _ferry_negotiation_select (op->offered, usable);
  }

  params.identity = self->identity;
  params.offerer = FALSE;
  params.attempt_id = op->id;
  params.peer_account_id = ferry_device_get_account_id (op->device);
  params.peer_device_id = ferry_device_get_device_id (op->device);
  params.stagger_ms = self->stagger_ms;
  params.attempt_timeout_ms = self->connect_timeout_s * 1000;
  _ferry_negotiation_race_async (entries, &params, op->cancellable,
                                 incoming_race_cb, op_ref_new (self, op->id));
}

static gboolean
valid_transfer_id (const char *id)
{
  gsize len = id ? strlen (id) : 0;

  return len >= 8 && len <= 64 && is_hex (id);
}

static void
incoming_offer (FerryEngine    *self,
                FerryEnvelope  *envelope,
                FerrySignaling *signaling,
                const char     *route)
{
  const char *id = json_object_get_string_member_with_default (envelope->body, "transfer", NULL);
  JsonNode *transports_node = json_object_get_member (envelope->body, "transports");
  g_autoptr(GPtrArray) selected = NULL;
  g_autoptr(GPtrArray) usable = NULL;
  FerryDevice *device;
  Incoming *op;

  if (!valid_transfer_id (id) || transports_node == NULL || !JSON_NODE_HOLDS_ARRAY (transports_node))
    {
      self->dropped_messages++;
      g_debug ("malformed offer dropped");
      return;
    }
  if (g_hash_table_contains (self->incoming, id) || g_hash_table_contains (self->outgoing, id))
    return;

  device = engine_remember_device (self, envelope, signaling, route);
  if (device == NULL)
    return;

  op = g_new0 (Incoming, 1);
  op->engine = self;
  op->id = g_strdup (id);
  op->device = g_object_ref (device);
  op->signaling = g_object_ref (signaling);
  op->route = g_strdup (route);
  op->cancellable = g_cancellable_new ();
  op->offered = json_array_ref (json_node_get_array (transports_node));
  op->transports = engine_list_transports (self);
  g_hash_table_insert (self->incoming, op->id, op);

  /* Describe only the transports we share, best first. */
  selected = _ferry_negotiation_select (op->offered, op->transports);
  usable = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < selected->len; i++)
    g_ptr_array_add (usable, g_object_ref (((FerryRaceEntry *) g_ptr_array_index (selected, i))->transport));

  _ferry_negotiation_describe_async (usable, op->id, FALSE, self->connect_timeout_s * 1000,
                                     op->cancellable, incoming_described_cb, op_ref_new (self, op->id));
}

static void
incoming_cancel_message (FerryEngine   *self,
                         FerryEnvelope *envelope)
{
  const char *id = json_object_get_string_member_with_default (envelope->body, "transfer", NULL);
  const char *reason = json_object_get_string_member_with_default (envelope->body, "reason", "");
  Incoming *op = id ? g_hash_table_lookup (self->incoming, id) : NULL;
  g_autoptr(GError) error = NULL;

  if (op == NULL || !g_str_equal (envelope->from_device, ferry_device_get_device_id (op->device)))
    return;
  if (op->transfer != NULL && ferry_transfer_get_state (op->transfer) == FERRY_TRANSFER_STATE_ONGOING)
    return; /* the session itself reports it */

  error = g_error_new (FERRY_ERROR, FERRY_ERROR_CANCELLED_BY_PEER, _("Cancelled by peer: %s"), reason);
  if (op->session != NULL)
    _ferry_session_cancel (op->session, "cancelled by peer");
  incoming_end (op, FERRY_TRANSFER_STATE_CANCELLED, error);
}

/* ------------------------------------------------------ re-request, fetch */

/*
 * A receiver asks for a past transfer again with a "request" message
 * (body {"transfer": id, "device": requesting device}) to the sender's
 * devices: the signaling counterpart of an
 * application/data-transfer-request+json. A sender that recorded the
 * transfer, sent it to the requester's account, and still has every file
 * unchanged (size and modification time; the SHA3-256 is checked as the
 * file is sent again) offers it again to the requesting device under the
 * same id, and lets it resume; otherwise it answers "request-refused"
 * (body {"transfer", "reason"}).
 */

#define FERRY_REQUEST_RESEND_MS 1000
/* A request for a transfer re-sent this recently is a late duplicate. */
#define FERRY_REQUEST_QUIET_US  (3 * G_USEC_PER_SEC / 2)

typedef struct {
  char       *id;
  char       *account;      /* the sender's account */
  char       *origin;       /* the device that sent it */
  GFile      *directory;
  JsonObject *record;
  GHashTable *asked;        /* device id → NULL */
  guint       refused;
  guint       timeout_source;
  guint       resend_source;
} FetchData;

static void
fetch_data_free (FetchData *data)
{
  g_free (data->id);
  g_free (data->account);
  g_free (data->origin);
  g_clear_object (&data->directory);
  g_clear_pointer (&data->record, json_object_unref);
  g_clear_pointer (&data->asked, g_hash_table_unref);
  g_clear_handle_id (&data->timeout_source, g_source_remove);
  g_clear_handle_id (&data->resend_source, g_source_remove);
  g_free (data);
}

static GTask *
engine_find_fetch (FerryEngine *self,
                   const char  *id)
{
  for (guint i = 0; i < self->fetches->len; i++)
    {
      GTask *task = g_ptr_array_index (self->fetches, i);
      FetchData *data = g_task_get_task_data (task);

      if (g_str_equal (data->id, id))
        return task;
    }
  return NULL;
}

/* Ends a fetch: returns @transfer, or @error. */
static void
engine_fetch_complete (FerryEngine   *self,
                       GTask         *task,
                       FerryTransfer *transfer,
                       GError        *error)
{
  FetchData *data = g_task_get_task_data (task);

  g_object_ref (task);
  g_clear_handle_id (&data->timeout_source, g_source_remove);
  g_clear_handle_id (&data->resend_source, g_source_remove);
  g_ptr_array_remove (self->fetches, task);
  if (transfer != NULL)
    g_task_return_pointer (task, g_object_ref (transfer), g_object_unref);
  else
    g_task_return_error (task, error);
  g_object_unref (task);
}

static void
fetch_send_requests (FerryEngine *self,
                     GTask       *task)
{
  FetchData *data = g_task_get_task_data (task);
  FerryPeer *peer = g_hash_table_lookup (self->peers_by_account, data->account);
  GListModel *devices = peer ? ferry_peer_get_devices (peer) : NULL;
  guint sent = 0;

  for (guint i = 0; devices != NULL && i < g_list_model_get_n_items (devices); i++)
    {
      g_autoptr(FerryDevice) device = g_list_model_get_item (devices, i);
      g_autoptr(JsonObject) body = json_object_new ();
      g_autoptr(GBytes) message = NULL;

      if (_ferry_device_get_signaling (device) == NULL)
        continue;
      json_object_set_string_member (body, "transfer", data->id);
      json_object_set_string_member (body, "device", ferry_identity_get_device_id (self->identity));
      message = engine_build_message (self, "request", ferry_device_get_device_id (device), body);
      if (message == NULL)
        continue;
      engine_send_message (self, _ferry_device_get_signaling (device), _ferry_device_get_route (device), message);
      g_hash_table_add (data->asked, g_strdup (ferry_device_get_device_id (device)));
      sent++;
    }
  if (sent == 0)
    engine_query (self, data->account);
}

/* A device of a sender some fetch waits for showed up: ask it now. */
static void
engine_fetch_device_seen (FerryEngine *self,
                          FerryDevice *device)
{
  for (guint i = 0; i < self->fetches->len; i++)
    {
      GTask *task = g_ptr_array_index (self->fetches, i);
      FetchData *data = g_task_get_task_data (task);

      if (g_str_equal (data->account, ferry_device_get_account_id (device)) &&
          !g_hash_table_contains (data->asked, ferry_device_get_device_id (device)))
        fetch_send_requests (self, task);
    }
}

static gboolean
fetch_resend_cb (gpointer user_data)
{
  GTask *task = user_data;

  fetch_send_requests (g_task_get_source_object (task), task);
  return G_SOURCE_CONTINUE;
}

static gboolean
fetch_timeout_cb (gpointer user_data)
{
  GTask *task = user_data;
  FetchData *data = g_task_get_task_data (task);

  data->timeout_source = 0;
  engine_fetch_complete (g_task_get_source_object (task), task, NULL,
                         g_error_new (FERRY_ERROR, FERRY_ERROR_TIMEOUT,
                                      _("No device of the sender offered transfer %s again"), data->id));
  return G_SOURCE_REMOVE;
}

static void
fetch_cancelled_cb (GCancellable *cancellable,
                    GTask        *task)
{
  FerryEngine *self = g_task_get_source_object (task);

  if (!g_ptr_array_find (self->fetches, task, NULL))
    return;
  engine_fetch_complete (self, task, NULL,
                         g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, _("The fetch was cancelled")));
}

/* The offer a fetch asked for arrived: resume from the recorded .part
 * files, accept into the recorded folder. */
static gboolean
engine_fetch_arrived (FerryEngine *self,
                      Incoming    *op)
{
  GTask *task = engine_find_fetch (self, op->id);
  FetchData *data = task ? g_task_get_task_data (task) : NULL;
  GPtrArray *session_files;
  JsonNode *files_node;
  JsonArray *recorded = NULL;

  if (data == NULL || !g_str_equal (ferry_device_get_account_id (op->device), data->account))
    return FALSE;

  session_files = _ferry_session_get_files (op->session);
  files_node = json_object_get_member (data->record, "files");
  if (files_node != NULL && JSON_NODE_HOLDS_ARRAY (files_node))
    recorded = json_node_get_array (files_node);
  for (guint i = 0; session_files != NULL && recorded != NULL && i < session_files->len &&
                    i < json_array_get_length (recorded); i++)
    {
      FerrySessionFile *sf = g_ptr_array_index (session_files, i);
      JsonNode *node = json_array_get_element (recorded, i);
      JsonObject *entry;
      const char *part;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;
      entry = json_node_get_object (node);
      part = json_object_get_string_member_with_default (entry, "part", NULL);
      if (part != NULL &&
          g_strcmp0 (json_object_get_string_member_with_default (entry, "name", NULL), sf->name) == 0 &&
          json_object_get_int_member_with_default (entry, "size", -1) == (gint64) sf->size)
        {
          g_free (sf->part_name);
          sf->part_name = g_strdup (part);
        }
    }

  ferry_transfer_accept (op->transfer, data->directory);
  engine_fetch_complete (self, task, op->transfer, NULL);
  return TRUE;
}

static void
engine_request_refused (FerryEngine   *self,
                        FerryEnvelope *envelope)
{
  const char *id = json_object_get_string_member_with_default (envelope->body, "transfer", NULL);
  const char *reason = json_object_get_string_member_with_default (envelope->body, "reason", "");
  GTask *task = id ? engine_find_fetch (self, id) : NULL;
  FetchData *data = task ? g_task_get_task_data (task) : NULL;

  if (data == NULL || !g_str_equal (envelope->from_account, data->account) ||
      !g_hash_table_contains (data->asked, envelope->from_device))
    return;
  data->refused++;
  g_debug ("device %.12s refused to send %s again: %s", envelope->from_device, id, reason);
  /* The device that sent it knows best; otherwise wait for every one. */
  if (g_strcmp0 (envelope->from_device, data->origin) == 0 ||
      data->refused >= g_hash_table_size (data->asked))
    engine_fetch_complete (self, task, NULL,
                           g_error_new (FERRY_ERROR, FERRY_ERROR_REJECTED,
                                        _("The sender refused to send the transfer again: %s"), reason));
}

static void
engine_refuse_request (FerryEngine    *self,
                       FerryDevice    *device,
                       const char     *id,
                       const char     *reason)
{
  g_autoptr(JsonObject) body = json_object_new ();
  g_autoptr(GBytes) message = NULL;

  g_debug ("refusing to send %s again to %.12s: %s", id, ferry_device_get_device_id (device), reason);
  json_object_set_string_member (body, "transfer", id);
  json_object_set_string_member (body, "reason", reason);
  message = engine_build_message (self, "request-refused", ferry_device_get_device_id (device), body);
  if (message != NULL)
    engine_send_message (self, _ferry_device_get_signaling (device), _ferry_device_get_route (device), message);
}

static gboolean
record_went_to (JsonObject *record,
                const char *account)
{
  JsonNode *devices = json_object_get_member (record, "devices");

  if (devices == NULL || !JSON_NODE_HOLDS_ARRAY (devices))
    return FALSE;
  for (guint i = 0; i < json_array_get_length (json_node_get_array (devices)); i++)
    {
      JsonNode *node = json_array_get_element (json_node_get_array (devices), i);

      if (JSON_NODE_HOLDS_OBJECT (node) &&
          g_strcmp0 (json_object_get_string_member_with_default (json_node_get_object (node), "account", NULL),
                     account) == 0)
        return TRUE;
    }
  return FALSE;
}

static void
engine_request_received (FerryEngine    *self,
                         FerryEnvelope  *envelope,
                         FerrySignaling *signaling,
                         const char     *route)
{
  const char *id = json_object_get_string_member_with_default (envelope->body, "transfer", NULL);
  g_autoptr(JsonObject) record = NULL;
  g_autoptr(JsonObject) resend = NULL;
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) devices = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(FerryTransfer) transfer = NULL;
  g_autoptr(GError) error = NULL;
  JsonArray *expected;
  JsonNode *files_node;
  FerryDevice *device;

  if (!valid_transfer_id (id))
    {
      self->dropped_messages++;
      g_debug ("malformed request dropped");
      return;
    }
  device = engine_remember_device (self, envelope, signaling, route);
  if (device == NULL)
    return;
  if (g_hash_table_contains (self->outgoing, id))
    return; /* being sent right now */
  {
    gpointer when = g_hash_table_lookup (self->resent, id);

    /* A repeated request that was on its way while the transfer ended. */
    if (when != NULL && g_get_monotonic_time () - *(gint64 *) when < FERRY_REQUEST_QUIET_US)
      return;
  }

  record = _ferry_history_find_sent (self->home, id);
  if (record == NULL)
    {
      engine_refuse_request (self, device, id, "unknown transfer");
      return;
    }
  if (!record_went_to (record, envelope->from_account))
    {
      engine_refuse_request (self, device, id, "the transfer was not sent to this account");
      return;
    }

  files_node = json_object_get_member (record, "files");
  if (files_node == NULL || !JSON_NODE_HOLDS_ARRAY (files_node) ||
      json_array_get_length (json_node_get_array (files_node)) == 0)
    {
      engine_refuse_request (self, device, id, "the record holds no file");
      return;
    }
  expected = json_array_new ();
  resend = json_object_new ();
  json_object_set_string_member (resend, "of", json_object_get_string_member (record, "id"));
  json_object_set_string_member (resend, "transfer", id);
  json_object_set_array_member (resend, "expected", expected);
  for (guint i = 0; i < json_array_get_length (json_node_get_array (files_node)); i++)
    {
      JsonNode *node = json_array_get_element (json_node_get_array (files_node), i);
      JsonObject *entry = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      const char *path = entry ? json_object_get_string_member_with_default (entry, "path", NULL) : NULL;
      g_autoptr(GFile) file = NULL;
      g_autoptr(GFileInfo) info = NULL;
      gint64 mtime;

      if (path == NULL)
        {
          engine_refuse_request (self, device, id, "a file of the transfer is unknown");
          return;
        }
      file = g_file_new_for_path (path);
      info = g_file_query_info (file,
                                G_FILE_ATTRIBUTE_STANDARD_TYPE ","
                                G_FILE_ATTRIBUTE_STANDARD_SIZE ","
                                G_FILE_ATTRIBUTE_TIME_MODIFIED ","
                                G_FILE_ATTRIBUTE_TIME_MODIFIED_USEC,
                                G_FILE_QUERY_INFO_NONE, NULL, NULL);
      if (info == NULL || g_file_info_get_file_type (info) != G_FILE_TYPE_REGULAR)
        {
          engine_refuse_request (self, device, id, "a file of the transfer is gone");
          return;
        }
      mtime = (gint64) g_file_info_get_attribute_uint64 (info, G_FILE_ATTRIBUTE_TIME_MODIFIED) * G_USEC_PER_SEC +
              g_file_info_get_attribute_uint32 (info, G_FILE_ATTRIBUTE_TIME_MODIFIED_USEC);
      if (g_file_info_get_size (info) != json_object_get_int_member_with_default (entry, "size", -1) ||
          mtime != json_object_get_int_member_with_default (entry, "mtime", -1))
        {
          engine_refuse_request (self, device, id, "a file of the transfer changed since");
          return;
        }
      json_array_add_string_element (expected,
                                     json_object_get_string_member_with_default (entry, "sha3-256", ""));
      g_ptr_array_add (files, g_steal_pointer (&file));
    }

  g_ptr_array_add (devices, g_object_ref (device));
  transfer = engine_send_devices (self, devices, NULL, (GFile **) files->pdata, files->len, resend, &error);
  if (transfer == NULL)
    engine_refuse_request (self, device, id, error->message);
  else
    {
      gint64 *when = g_new (gint64, 1);

      *when = g_get_monotonic_time ();
      g_hash_table_replace (self->resent, g_strdup (id), when);
      g_debug ("sending %s again to %.12s", id, ferry_device_get_device_id (device));
    }
}

/**
 * ferry_engine_fetch_async:
 * @self: a started #FerryEngine
 * @transfer_id: the id of a transfer this device received, or began to
 *   receive, as recorded in [method@Ferry.Engine.get_history]
 * @timeout_ms: how long to wait for the sender to offer it again
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the result
 * @user_data: data for @callback
 *
 * Asks the sender's devices for a past transfer again. A sender that
 * still has every file unchanged offers it again; this device accepts it
 * into the folder it was saved to, resuming every file from the `.part`
 * an interrupted attempt kept (its bytes are hashed too: the whole file's
 * SHA3-256 is verified, and on a mismatch the `.part` is discarded and the
 * transfer fails with %FERRY_ERROR_HASH_MISMATCH; fetch again to receive
 * it whole).
 */
void
ferry_engine_fetch_async (FerryEngine         *self,
                          const char          *transfer_id,
                          guint                timeout_ms,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(JsonObject) record = NULL;
  g_autoptr(GError) error = NULL;
  JsonNode *device_node;
  const char *directory;
  FetchData *data;

  g_return_if_fail (FERRY_IS_ENGINE (self));
  g_return_if_fail (transfer_id != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, ferry_engine_fetch_async);

  if (!self->started)
    {
      g_task_return_new_error (task, FERRY_ERROR, FERRY_ERROR_FAILED, _("The engine is not started"));
      return;
    }
  record = _ferry_history_load (self->home, transfer_id, &error);
  if (record == NULL)
    {
      if (error != NULL)
        g_task_return_error (task, g_steal_pointer (&error));
      else
        g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                                 _("No transfer %s in the history"), transfer_id);
      return;
    }
  device_node = json_object_get_member (record, "device");
  directory = json_object_get_string_member_with_default (record, "directory", NULL);
  if (!g_str_equal (json_object_get_string_member_with_default (record, "direction", ""), "incoming") ||
      device_node == NULL || !JSON_NODE_HOLDS_OBJECT (device_node) ||
      json_object_get_string_member_with_default (json_node_get_object (device_node), "account", NULL) == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                               _("Transfer %s was not received by this device"), transfer_id);
      return;
    }
  if (directory == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                               _("Transfer %s was never accepted: nowhere to save it"), transfer_id);
      return;
    }
  if (engine_find_fetch (self, transfer_id) != NULL || g_hash_table_contains (self->incoming, transfer_id))
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_BUSY,
                               _("Transfer %s is already being fetched"), transfer_id);
      return;
    }

  data = g_new0 (FetchData, 1);
  data->id = g_strdup (json_object_get_string_member (record, "id"));
  data->account = g_strdup (json_object_get_string_member (json_node_get_object (device_node), "account"));
  data->origin = g_strdup (json_object_get_string_member_with_default (json_node_get_object (device_node),
                                                                       "device", NULL));
  data->directory = g_file_new_for_path (directory);
  data->record = g_steal_pointer (&record);
  data->asked = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_task_set_task_data (task, data, (GDestroyNotify) fetch_data_free);

  g_ptr_array_add (self->fetches, g_object_ref (task));
  fetch_send_requests (self, task);
  data->resend_source = g_timeout_add (FERRY_REQUEST_RESEND_MS, fetch_resend_cb, task);
  data->timeout_source = g_timeout_add (timeout_ms, fetch_timeout_cb, task);
  if (cancellable != NULL)
    g_signal_connect_object (cancellable, "cancelled", G_CALLBACK (fetch_cancelled_cb), task, 0);
}

/**
 * ferry_engine_fetch_finish:
 * @self: a #FerryEngine
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the incoming transfer, accepted and running
 *   (follow it until it is done), or %NULL with %FERRY_ERROR_REJECTED when
 *   the sender refused, %FERRY_ERROR_TIMEOUT, or %G_IO_ERROR_NOT_FOUND when
 *   the history has no such transfer
 */
FerryTransfer *
ferry_engine_fetch_finish (FerryEngine   *self,
                           GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (FERRY_IS_ENGINE (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
message_received_cb (FerrySignaling *signaling,
                     GBytes         *message,
                     const char     *route,
                     FerryEngine    *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FerryEnvelope) envelope = NULL;

  /* Opened when sealed (only announcements may come unsealed), verified,
   * checked against replays; the sender's encryption key is learnt. */
  envelope = _ferry_envelope_receive (self->identity, message, self->replay, &error);
  if (envelope == NULL)
    {
      self->dropped_messages++;
      g_debug ("dropped a message from %s via %s: %s (%u dropped so far)",
               route, ferry_signaling_get_name (signaling), error->message, self->dropped_messages);
      return;
    }

  if (g_str_equal (envelope->type, "offer"))
    incoming_offer (self, envelope, signaling, route);
  else if (g_str_equal (envelope->type, "answer"))
    outgoing_answer (self, envelope);
  else if (g_str_equal (envelope->type, "cancel"))
    incoming_cancel_message (self, envelope);
  else if (g_str_equal (envelope->type, "request"))
    engine_request_received (self, envelope, signaling, route);
  else if (g_str_equal (envelope->type, "request-refused"))
    engine_request_refused (self, envelope);
  else if (g_str_equal (envelope->type, "revocations"))
    engine_revocations_received (self, envelope);
  else if (g_str_equal (envelope->type, "announce"))
    {
      if (!g_str_equal (envelope->from_device, ferry_identity_get_device_id (self->identity)))
        {
          engine_remember_device (self, envelope, signaling, route);
          find_peer_check_all (self);
        }
    }
  else
    {
      self->dropped_messages++;
      g_debug ("dropped a message of unknown type %s", envelope->type);
    }
}

/* ------------------------------------------------------------ start, stop */

static GObject *
engine_new_instance (FerryEngine  *self,
                     FerryFeature *feature)
{
  GType type = ferry_feature_get_gtype (feature);

  if (g_type_is_a (type, FERRY_TYPE_TRANSPORT))
    return g_object_new (type,
                         "engine", self,
                         "name", ferry_feature_get_name (feature),
                         "rank", ferry_feature_get_rank (feature),
                         NULL);
  return g_object_new (type,
                       "engine", self,
                       "name", ferry_feature_get_name (feature),
                       NULL);
}

static gboolean
instance_check (GObject  *instance,
                GError  **error)
{
  if (FERRY_IS_TRANSPORT (instance))
    return ferry_transport_check (FERRY_TRANSPORT (instance), error);
  return ferry_signaling_check (FERRY_SIGNALING (instance), error);
}

/**
 * ferry_engine_check_feature:
 * @self: a #FerryEngine
 * @feature: a transport or signaling feature
 * @error: return location for a #GError
 *
 * Tells whether @feature can work with this engine's configuration (for
 * example, whether the server it needs is configured), without starting
 * anything.
 *
 * Returns: %TRUE when it can; %FALSE with the reason in @error
 */
gboolean
ferry_engine_check_feature (FerryEngine   *self,
                            FerryFeature  *feature,
                            GError       **error)
{
  g_autoptr(GObject) instance = NULL;

  g_return_val_if_fail (FERRY_IS_ENGINE (self), FALSE);
  g_return_val_if_fail (FERRY_IS_FEATURE (feature), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  instance = engine_new_instance (self, feature);
  return instance_check (instance, error);
}

/**
 * ferry_engine_get_inactive_reason:
 * @self: a started #FerryEngine
 * @name: a feature name
 *
 * Returns: (nullable): why the enabled feature @name was left inactive at
 *   start, or %NULL when it runs (or was not enabled)
 */
const char *
ferry_engine_get_inactive_reason (FerryEngine *self,
                                  const char  *name)
{
  g_return_val_if_fail (FERRY_IS_ENGINE (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  return g_hash_table_lookup (self->inactive, name);
}

static const char *
engine_inactive_summary (FerryEngine *self)
{
  GHashTableIter iter;
  gpointer key, value;
  GString *text = g_string_new (NULL);

  g_hash_table_iter_init (&iter, self->inactive);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_string_append_printf (text, "%s%s: %s", text->len ? "; " : "", (char *) key, (char *) value);
  g_free (self->inactive_summary);
  self->inactive_summary = g_string_free (text, FALSE);
  return *self->inactive_summary ? self->inactive_summary : _("none is enabled");
}

/* Creates, checks and starts one feature. A feature whose check fails is
 * left inactive (with its reason kept) and *@out stays NULL; a feature that
 * is unknown or fails to start is an error. */
static gboolean
engine_start_feature (FerryEngine  *self,
                      GType         base_type,
                      const char   *name,
                      GObject     **out,
                      GError      **error)
{
  FerryFeature *feature = ferry_registry_lookup_feature (self->registry, base_type, name);
  gboolean transport = base_type == FERRY_TYPE_TRANSPORT;
  g_autoptr(GObject) instance = NULL;
  g_autoptr(GError) local_error = NULL;

  if (feature == NULL)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG,
                   transport ? _("No transport called “%s” is installed (see “ferry plugins”)")
                             : _("No signaling called “%s” is installed (see “ferry plugins”)"),
                   name);
      return FALSE;
    }

  instance = engine_new_instance (self, feature);
  if (!instance_check (instance, &local_error))
    {
      g_info ("%s stays inactive: %s", name, local_error->message);
      g_hash_table_replace (self->inactive, g_strdup (name), g_strdup (local_error->message));
      return TRUE;
    }

  if (!transport)
    {
      g_signal_connect_object (instance, "announcement-received",
                               G_CALLBACK (announcement_received_cb), self, 0);
      g_signal_connect_object (instance, "message-received",
                               G_CALLBACK (message_received_cb), self, 0);
    }
  if (!(transport ? ferry_transport_start (FERRY_TRANSPORT (instance), &local_error)
                  : ferry_signaling_start (FERRY_SIGNALING (instance), &local_error)))
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG,
                   transport ? _("The %s transport cannot start: %s")
                             : _("The %s signaling cannot start: %s"),
                   name, local_error->message);
      if (!transport)
        g_signal_handlers_disconnect_by_data (instance, self);
      return FALSE;
    }

  *out = g_steal_pointer (&instance);
  return TRUE;
}

/**
 * ferry_engine_start:
 * @self: a #FerryEngine
 * @error: return location for a #GError
 *
 * Starts the chosen signalings and transports: the device is announced,
 * listens for offers and can send. A feature that is not registered is a
 * %FERRY_ERROR_CONFIG error, and so is a feature that fails to start. A
 * feature whose configuration does not let it work (see
 * ferry_engine_check_feature()) stays inactive, with its reason in
 * ferry_engine_get_inactive_reason(); when no signaling or no transport is
 * left, that is an error too.
 *
 * Returns: %TRUE on success
 */
gboolean
ferry_engine_start (FerryEngine  *self,
                    GError      **error)
{
  g_return_val_if_fail (FERRY_IS_ENGINE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->started)
    return TRUE;

  if (self->signaling_names[0] == NULL)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG, _("No signaling is enabled"));
      return FALSE;
    }
  if (self->transport_names[0] == NULL)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG, _("No transport is enabled"));
      return FALSE;
    }

  for (guint i = 0; self->transport_names[i] != NULL; i++)
    {
      g_autoptr(GObject) instance = NULL;

      if (!engine_start_feature (self, FERRY_TYPE_TRANSPORT, self->transport_names[i], &instance, error))
        goto fail;
      if (instance != NULL)
        g_list_store_append (self->transports, instance);
    }
  if (g_list_model_get_n_items (G_LIST_MODEL (self->transports)) == 0)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG, _("No transport can work: %s"),
                   engine_inactive_summary (self));
      goto fail;
    }

  for (guint i = 0; self->signaling_names[i] != NULL; i++)
    {
      g_autoptr(GObject) instance = NULL;

      if (!engine_start_feature (self, FERRY_TYPE_SIGNALING, self->signaling_names[i], &instance, error))
        goto fail;
      if (instance != NULL)
        g_list_store_append (self->signalings, instance);
    }
  if (g_list_model_get_n_items (G_LIST_MODEL (self->signalings)) == 0)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG, _("No signaling can work: %s"),
                   engine_inactive_summary (self));
      goto fail;
    }

  self->started = TRUE;
  return TRUE;

fail:
  self->started = TRUE;
  ferry_engine_stop (self);
  self->started = FALSE;
  return FALSE;
}

/**
 * ferry_engine_stop:
 * @self: a #FerryEngine
 *
 * Cancels every transfer in progress and stops the signalings and
 * transports. The engine cannot be started again.
 */
void
ferry_engine_stop (FerryEngine *self)
{
  guint n;

  g_return_if_fail (FERRY_IS_ENGINE (self));

  if (!self->started)
    return;

  {
    g_autoptr(GPtrArray) transfers = g_ptr_array_new_with_free_func (g_object_unref);
    GHashTableIter iter;
    gpointer value;

    g_hash_table_iter_init (&iter, self->outgoing);
    while (g_hash_table_iter_next (&iter, NULL, &value))
      g_ptr_array_add (transfers, g_object_ref (((Outgoing *) value)->transfer));
    g_hash_table_iter_init (&iter, self->incoming);
    while (g_hash_table_iter_next (&iter, NULL, &value))
      if (((Incoming *) value)->transfer != NULL)
        g_ptr_array_add (transfers, g_object_ref (((Incoming *) value)->transfer));
    for (guint i = 0; i < transfers->len; i++)
      ferry_transfer_cancel (g_ptr_array_index (transfers, i), "the device is shutting down");
    g_hash_table_remove_all (self->outgoing);
    g_hash_table_remove_all (self->incoming);
    g_ptr_array_set_size (self->fanouts, 0);
  }

  n = g_list_model_get_n_items (G_LIST_MODEL (self->signalings));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(FerrySignaling) signaling = g_list_model_get_item (G_LIST_MODEL (self->signalings), i);

      g_signal_handlers_disconnect_by_data (signaling, self);
      ferry_signaling_stop (signaling);
    }
  n = g_list_model_get_n_items (G_LIST_MODEL (self->transports));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(FerryTransport) transport = g_list_model_get_item (G_LIST_MODEL (self->transports), i);

      ferry_transport_stop (transport);
    }
  g_list_store_remove_all (self->signalings);
  g_list_store_remove_all (self->transports);

  while (self->fetches->len > 0)
    engine_fetch_complete (self, g_ptr_array_index (self->fetches, 0), NULL,
                           g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, _("The engine stopped")));

  while (self->finds->len > 0)
    {
      GTask *task = g_object_ref (g_ptr_array_index (self->finds, 0));

      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED, _("The engine stopped"));
      find_peer_complete (self, task);
      g_object_unref (task);
    }

  self->started = FALSE;
}

static void
close_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  /* A session's last frame (reject, cancel, error) goes out within a few
   * seconds or is given up; wait a little longer than that. */
  if (!_ferry_session_wait_all (g_get_monotonic_time () + 7 * G_USEC_PER_SEC))
    g_debug ("some transfer threads were still running when closing");
  g_task_return_boolean (task, TRUE);
}

/**
 * ferry_engine_close_async:
 * @self: a #FerryEngine
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the engine is closed
 * @user_data: data for @callback
 *
 * Stops the engine like ferry_engine_stop(), then waits until the last
 * words of its transfers (a cancel, a rejection) have gone out to their
 * peers, or were given up after a few seconds. A program that exits right
 * after its transfers end should close its engine this way first.
 */
void
ferry_engine_close_async (FerryEngine         *self,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (FERRY_IS_ENGINE (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  ferry_engine_stop (self);
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, ferry_engine_close_async);
  g_task_run_in_thread (task, close_thread);
}

/**
 * ferry_engine_close_finish:
 * @self: a #FerryEngine
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Returns: %TRUE once closed; %FALSE when the wait was cancelled
 */
gboolean
ferry_engine_close_finish (FerryEngine   *self,
                           GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (FERRY_IS_ENGINE (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
