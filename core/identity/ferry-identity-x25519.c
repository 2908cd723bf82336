/* ferry-identity-x25519.c: the device's X25519 key and the keys other
 * devices announced, for sealed signaling messages
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>
#include <gnutls/crypto.h>
#include <nettle/curve25519.h>

#include "ferry-error.h"
#include "ferry-identity-internal.h"
#include "ferry-utils-private.h"

/* Encryption keys
 *
 * Each device also has an X25519 key pair, kept in X25519_KEY_FILE (mode
 * 0600) and created on first use. Its public half travels in every signed
 * message of the device (see ferry-envelope.c), so it is bound to the device
 * by the device's signature; other devices seal their messages to it. The
 * file names the device it belongs to: when the device key is replaced, the
 * X25519 key is replaced too.
 */

#define X25519_PEM_BEGIN "-----BEGIN FERRY X25519 PRIVATE KEY-----"
#define X25519_PEM_END   "-----END FERRY X25519 PRIVATE KEY-----"
#define X25519_DEVICE    "Device: "

/* How many peer keys an identity remembers; the oldest learnt go first. */
#define PEER_KEYS_MAX 1024

typedef struct {
  guint8  key[FERRY_X25519_KEY_SIZE];
  gint64  timestamp_ms;
  guint64 serial;
} PeerKey;

/* Parses the key file. Returns FALSE when it is malformed; sets
 * *@device_matches to whether it belongs to @device_id. */
static gboolean
parse_x25519_file (const char *contents,
                   const char *device_id,
                   guint8     *secret,
                   gboolean   *device_matches)
{
  g_auto(GStrv) lines = g_strsplit (contents, "\n", -1);
  g_autofree guchar *raw = NULL;
  gsize raw_len = 0;
  guint n = g_strv_length (lines);

  /* Four lines and an optional final newline. */
  if (n == 5 && lines[4][0] == '\0')
    n = 4;
  if (n != 4 ||
      !g_str_equal (lines[0], X25519_PEM_BEGIN) ||
      !g_str_has_prefix (lines[1], X25519_DEVICE) ||
      !g_str_equal (lines[3], X25519_PEM_END))
    return FALSE;

  raw = _ferry_base64_decode_strict (lines[2], &raw_len);
  if (raw_len != FERRY_X25519_KEY_SIZE)
    {
      if (raw != NULL)
        gnutls_memset (raw, 0, raw_len);
      return FALSE;
    }

  memcpy (secret, raw, FERRY_X25519_KEY_SIZE);
  gnutls_memset (raw, 0, raw_len);
  *device_matches = g_str_equal (lines[1] + strlen (X25519_DEVICE), device_id);

  return TRUE;
}

gboolean
_ferry_identity_load_or_create_x25519 (FerryIdentity  *self,
                                       GError        **error)
{
  g_autofree char *contents = NULL;
  gsize len = 0;
  gboolean matches = FALSE;

  if (!_ferry_identity_read_file (self->directory, X25519_KEY_FILE, &contents, &len, error))
    return FALSE;

  if (contents != NULL)
    {
      gboolean ok = strlen (contents) == len &&
                    parse_x25519_file (contents, self->device_id, self->x25519_secret, &matches);

      gnutls_memset (contents, 0, len);
      if (!ok)
        {
          _ferry_identity_file_error (error, self->directory, X25519_KEY_FILE,
                                      _("not a Ferry X25519 key"));
          return FALSE;
        }
      if (!matches)
        g_debug ("%s belongs to a former device: creating a new X25519 key", X25519_KEY_FILE);
    }

  if (!matches)
    {
      g_autofree char *b64 = NULL;
      g_autofree char *text = NULL;
      gboolean ok;
      int ret;

      ret = gnutls_rnd (GNUTLS_RND_KEY, self->x25519_secret, sizeof self->x25519_secret);
      if (ret < 0)
        {
          g_set_error (error, FERRY_ERROR, FERRY_ERROR_IDENTITY,
                       _("Could not generate an X25519 key: %s"), gnutls_strerror (ret));
          return FALSE;
        }

      b64 = g_base64_encode (self->x25519_secret, sizeof self->x25519_secret);
      text = g_strconcat (X25519_PEM_BEGIN "\n" X25519_DEVICE, self->device_id, "\n",
                          b64, "\n" X25519_PEM_END "\n", NULL);
      ok = _ferry_identity_write_file (self->directory, X25519_KEY_FILE, text, strlen (text), error);
      gnutls_memset (b64, 0, strlen (b64));
      gnutls_memset (text, 0, strlen (text));
      if (!ok)
        return FALSE;
    }

  curve25519_mul_g (self->x25519_public, self->x25519_secret);

  return TRUE;
}

const guint8 *
_ferry_identity_get_x25519_public (FerryIdentity *self)
{
  g_return_val_if_fail (FERRY_IS_IDENTITY (self), NULL);

  return self->x25519_public;
}

gboolean
_ferry_identity_x25519_agree (FerryIdentity  *self,
                              const guint8   *peer_public,
                              guint8         *shared,
                              GError        **error)
{
  guint8 acc = 0;

  g_return_val_if_fail (FERRY_IS_IDENTITY (self), FALSE);
  g_return_val_if_fail (peer_public != NULL, FALSE);
  g_return_val_if_fail (shared != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  curve25519_mul (shared, self->x25519_secret, peer_public);

  /* A low-order point gives an all-zero secret (RFC 7748, section 6.1). */
  for (guint i = 0; i < FERRY_X25519_KEY_SIZE; i++)
    acc |= shared[i];
  if (acc == 0)
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_BAD_MESSAGE,
                           _("The ephemeral key is not a valid X25519 public key"));
      return FALSE;
    }

  return TRUE;
}

void
_ferry_identity_remember_peer_key (FerryIdentity *self,
                                   const char    *device_id,
                                   const guint8  *key,
                                   gint64         timestamp_ms)
{
  PeerKey *entry;

  g_return_if_fail (FERRY_IS_IDENTITY (self));
  g_return_if_fail (device_id != NULL);
  g_return_if_fail (key != NULL);

  if (g_strcmp0 (device_id, self->device_id) == 0)
    return;

  g_mutex_lock (&self->peer_keys_lock);

  if (self->peer_keys == NULL)
    self->peer_keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  entry = g_hash_table_lookup (self->peer_keys, device_id);
  if (entry == NULL)
    {
      while (g_hash_table_size (self->peer_keys) >= PEER_KEYS_MAX)
        {
          GHashTableIter iter;
          gpointer k, v;
          gpointer oldest = NULL;
          guint64 oldest_serial = G_MAXUINT64;

          g_hash_table_iter_init (&iter, self->peer_keys);
          while (g_hash_table_iter_next (&iter, &k, &v))
            if (((PeerKey *) v)->serial < oldest_serial)
              {
                oldest_serial = ((PeerKey *) v)->serial;
                oldest = k;
              }
          g_hash_table_remove (self->peer_keys, oldest);
        }
      entry = g_new0 (PeerKey, 1);
      entry->timestamp_ms = G_MININT64;
      g_hash_table_insert (self->peer_keys, g_strdup (device_id), entry);
    }

  /* A replayed older message does not bring back an older key. */
  if (timestamp_ms >= entry->timestamp_ms)
    {
      memcpy (entry->key, key, FERRY_X25519_KEY_SIZE);
      entry->timestamp_ms = timestamp_ms;
      entry->serial = ++self->peer_keys_serial;
    }

  g_mutex_unlock (&self->peer_keys_lock);
}

gboolean
_ferry_identity_lookup_peer_key (FerryIdentity *self,
                                 const char    *device_id,
                                 guint8        *key)
{
  PeerKey *entry;
  gboolean found = FALSE;

  g_return_val_if_fail (FERRY_IS_IDENTITY (self), FALSE);
  g_return_val_if_fail (device_id != NULL, FALSE);
  g_return_val_if_fail (key != NULL, FALSE);

  g_mutex_lock (&self->peer_keys_lock);
  entry = self->peer_keys != NULL ? g_hash_table_lookup (self->peer_keys, device_id) : NULL;
  if (entry != NULL)
    {
      memcpy (key, entry->key, FERRY_X25519_KEY_SIZE);
      found = TRUE;
    }
  g_mutex_unlock (&self->peer_keys_lock);

  return found;
}
