/* ferry-identity.c: account and device keys, certificates and signatures
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <gnutls/crypto.h>

#include "ferry-error.h"
#include "ferry-identity-internal.h"

/**
 * FerryIdentity:
 *
 * The keys and certificates that make up this device's identity.
 *
 * An identity lives in a directory of its own. It holds an account key with
 * a self-signed account certificate, and a device key with a device
 * certificate signed by the account key (all Ed25519, X.509). The first
 * [ctor@Ferry.Identity.new] on an empty directory creates them; later calls
 * load them, and refuse (with %FERRY_ERROR_IDENTITY) files that are corrupt
 * or do not belong together rather than replacing them.
 *
 * The account id and the device id are the lower-case hexadecimal SHA-256
 * fingerprints of the DER-encoded public keys (SubjectPublicKeyInfo). Peers
 * pin these ids: the TLS channel only completes with the device the caller
 * meant to reach.
 */

enum {
  PROP_0,
  PROP_DIRECTORY,
  PROP_ACCOUNT_ID,
  PROP_DEVICE_ID,
  PROP_NAME,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void ferry_identity_initable_iface_init (GInitableIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (FerryIdentity, ferry_identity, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE,
                                                      ferry_identity_initable_iface_init))

static gboolean
ferry_identity_initable_init (GInitable     *initable,
                              GCancellable  *cancellable,
                              GError       **error)
{
  return _ferry_identity_load_keys (FERRY_IDENTITY (initable), cancellable, error);
}

static void
ferry_identity_initable_iface_init (GInitableIface *iface)
{
  iface->init = ferry_identity_initable_init;
}

static void
ferry_identity_finalize (GObject *object)
{
  FerryIdentity *self = (FerryIdentity *) object;

  if (self->credentials != NULL)
    gnutls_certificate_free_credentials (self->credentials);
  if (self->device_key != NULL)
    gnutls_privkey_deinit (self->device_key);

  g_clear_pointer (&self->directory, g_free);
  g_clear_pointer (&self->account_id, g_free);
  g_clear_pointer (&self->device_id, g_free);
  g_clear_pointer (&self->name, g_free);
  g_clear_pointer (&self->chain_pem, g_free);
  gnutls_memset (self->x25519_secret, 0, sizeof self->x25519_secret);
  g_clear_pointer (&self->peer_keys, g_hash_table_unref);
  g_mutex_clear (&self->peer_keys_lock);

  G_OBJECT_CLASS (ferry_identity_parent_class)->finalize (object);
}

static void
ferry_identity_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  FerryIdentity *self = FERRY_IDENTITY (object);

  switch (prop_id)
    {
    case PROP_DIRECTORY:
      g_value_set_string (value, self->directory);
      break;

    case PROP_ACCOUNT_ID:
      g_value_set_string (value, self->account_id);
      break;

    case PROP_DEVICE_ID:
      g_value_set_string (value, self->device_id);
      break;

    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ferry_identity_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  FerryIdentity *self = FERRY_IDENTITY (object);

  switch (prop_id)
    {
    case PROP_DIRECTORY:
      g_assert (self->directory == NULL);
      self->directory = g_value_dup_string (value);
      break;

    case PROP_NAME:
      ferry_identity_set_name (self, g_value_get_string (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ferry_identity_class_init (FerryIdentityClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = ferry_identity_finalize;
  object_class->get_property = ferry_identity_get_property;
  object_class->set_property = ferry_identity_set_property;

  /**
   * FerryIdentity:directory:
   *
   * The directory that holds the keys and certificates.
   */
  properties[PROP_DIRECTORY] =
    g_param_spec_string ("directory", NULL, NULL,
                         NULL,
                         (G_PARAM_READWRITE |
                          G_PARAM_CONSTRUCT_ONLY |
                          G_PARAM_STATIC_STRINGS));

  /**
   * FerryIdentity:account-id:
   *
   * The account id: lower-case hexadecimal SHA-256 of the account's public
   * key (64 characters).
   */
  properties[PROP_ACCOUNT_ID] =
    g_param_spec_string ("account-id", NULL, NULL,
                         NULL,
                         (G_PARAM_READABLE |
                          G_PARAM_EXPLICIT_NOTIFY |
                          G_PARAM_STATIC_STRINGS));

  /**
   * FerryIdentity:device-id:
   *
   * The device id: lower-case hexadecimal SHA-256 of this device's public
   * key (64 characters).
   */
  properties[PROP_DEVICE_ID] =
    g_param_spec_string ("device-id", NULL, NULL,
                         NULL,
                         (G_PARAM_READABLE |
                          G_PARAM_EXPLICIT_NOTIFY |
                          G_PARAM_STATIC_STRINGS));

  /**
   * FerryIdentity:name:
   *
   * The display name other devices see. Defaults to the host name; setting
   * it stores it in the identity directory.
   */
  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL,
                         NULL,
                         (G_PARAM_READWRITE |
                          G_PARAM_EXPLICIT_NOTIFY |
                          G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
ferry_identity_init (FerryIdentity *self)
{
  g_mutex_init (&self->peer_keys_lock);
}

/**
 * ferry_identity_new:
 * @directory: (type filename): the identity directory
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Loads the identity kept in @directory, creating the directory (mode
 * 0700) and the account and device keys and certificates (mode 0600) the
 * first time.
 *
 * Existing files are never replaced: a file that is corrupt, or a key and
 * certificate that do not belong together, fail with %FERRY_ERROR_IDENTITY
 * and a message naming the file.
 *
 * Returns: (transfer full): a new #FerryIdentity, or %NULL on error
 */
FerryIdentity *
ferry_identity_new (const char    *directory,
                    GCancellable  *cancellable,
                    GError       **error)
{
  g_return_val_if_fail (directory != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return g_initable_new (FERRY_TYPE_IDENTITY, cancellable, error,
                         "directory", directory,
                         NULL);
}

/**
 * ferry_identity_get_directory:
 * @self: a #FerryIdentity
 *
 * Gets the directory that holds the keys and certificates.
 *
 * Returns: (type filename) (transfer none): the identity directory
 */
const char *
ferry_identity_get_directory (FerryIdentity *self)
{
  g_return_val_if_fail (FERRY_IS_IDENTITY (self), NULL);

  return self->directory;
}

/**
 * ferry_identity_get_account_id:
 * @self: a #FerryIdentity
 *
 * Gets the account id: the lower-case hexadecimal SHA-256 of the account's
 * public key (DER SubjectPublicKeyInfo), 64 characters.
 *
 * Returns: (transfer none): the account id
 */
const char *
ferry_identity_get_account_id (FerryIdentity *self)
{
  g_return_val_if_fail (FERRY_IS_IDENTITY (self), NULL);

  return self->account_id;
}

/**
 * ferry_identity_get_device_id:
 * @self: a #FerryIdentity
 *
 * Gets the device id: the lower-case hexadecimal SHA-256 of this device's
 * public key (DER SubjectPublicKeyInfo), 64 characters.
 *
 * Returns: (transfer none): the device id
 */
const char *
ferry_identity_get_device_id (FerryIdentity *self)
{
  g_return_val_if_fail (FERRY_IS_IDENTITY (self), NULL);

  return self->device_id;
}

/**
 * ferry_identity_get_name:
 * @self: a #FerryIdentity
 *
 * Gets the display name other devices see: the one set with
 * [method@Ferry.Identity.set_name], or the host name.
 *
 * Returns: (transfer none): the display name
 */
const char *
ferry_identity_get_name (FerryIdentity *self)
{
  g_return_val_if_fail (FERRY_IS_IDENTITY (self), NULL);

  return self->name;
}

/**
 * ferry_identity_set_name:
 * @self: a #FerryIdentity
 * @name: (nullable): the new display name, or %NULL to go back to the host name
 *
 * Sets the display name other devices see and stores it in the identity
 * directory. Leading and trailing white space is removed; names are cut to
 * 256 bytes.
 */
void
ferry_identity_set_name (FerryIdentity *self,
                         const char    *name)
{
  g_autofree char *clean = NULL;
  g_autoptr(GError) error = NULL;

  g_return_if_fail (FERRY_IS_IDENTITY (self));
  g_return_if_fail (name == NULL || g_utf8_validate (name, -1, NULL));

  if (name != NULL)
    {
      clean = g_strstrip (g_strdup (name));
      if (strlen (clean) > MAX_NAME_LENGTH)
        *g_utf8_find_prev_char (clean, clean + MAX_NAME_LENGTH + 1) = '\0';
      if (clean[0] == '\0')
        g_clear_pointer (&clean, g_free);
    }

  if (self->directory != NULL && self->account_id != NULL)
    {
      g_autofree char *stored = _ferry_identity_load_name (self->directory);

      if (g_strcmp0 (stored, clean) == 0)
        {
          /* Already stored as it is: nothing to write. */
        }
      else if (clean != NULL)
        {
          if (!_ferry_identity_write_file (self->directory, NAME_FILE,
                                           clean, strlen (clean), &error))
            g_warning ("%s", error->message);
        }
      else
        {
          g_autofree char *path = g_build_filename (self->directory, NAME_FILE, NULL);

          if (g_unlink (path) != 0 && errno != ENOENT)
            g_warning (_("Could not remove %s: %s"), path, g_strerror (errno));
        }
    }

  if (clean == NULL)
    clean = g_strdup (g_get_host_name ());

  if (g_strcmp0 (clean, self->name) == 0)
    return;

  g_free (self->name);
  self->name = g_steal_pointer (&clean);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NAME]);
}

gnutls_certificate_credentials_t
_ferry_identity_get_credentials (FerryIdentity *self)
{
  g_return_val_if_fail (FERRY_IS_IDENTITY (self), NULL);

  return self->credentials;
}

const char *
_ferry_identity_get_chain_pem (FerryIdentity *self)
{
  g_return_val_if_fail (FERRY_IS_IDENTITY (self), NULL);

  return self->chain_pem;
}

GBytes *
_ferry_identity_sign (FerryIdentity  *self,
                      const guint8   *data,
                      gsize           len,
                      GError        **error)
{
  gnutls_datum_t in;
  gnutls_datum_t sig = { NULL, 0 };
  GBytes *bytes;
  int ret;

  g_return_val_if_fail (FERRY_IS_IDENTITY (self), NULL);
  g_return_val_if_fail (data != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (self->device_key == NULL || len > G_MAXUINT)
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_IDENTITY,
                           _("Cannot sign with this identity"));
      return NULL;
    }

  in.data = (unsigned char *) data;
  in.size = (unsigned int) len;
  ret = gnutls_privkey_sign_data2 (self->device_key, GNUTLS_SIGN_EDDSA_ED25519,
                                   0, &in, &sig);
  if (ret < 0)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_IDENTITY,
                   _("Could not sign: %s"), gnutls_strerror (ret));
      return NULL;
    }

  bytes = g_bytes_new (sig.data, sig.size);
  _ferry_clear_datum (&sig);

  return bytes;
}
