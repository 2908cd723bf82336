/* ferry-identity-internal.h: what the parts of FerryIdentity share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The identity is written in four files:
 *   ferry-identity.c        the object, its properties, signing
 *   ferry-identity-files.c  keys and certificates on disk: load or create
 *   ferry-certificates.c    fingerprints, chain and signature verification
 *   ferry-identity-x25519.c encryption keys of this and other devices
 */
#pragma once

#include "ferry-identity-private.h"

G_BEGIN_DECLS

#define ACCOUNT_KEY_FILE "account.key"
#define ACCOUNT_CRT_FILE "account.crt"
#define DEVICE_KEY_FILE  "device.key"
#define DEVICE_CRT_FILE  "device.crt"
#define NAME_FILE        "name"
#define X25519_KEY_FILE  "device-x25519.key"

/* Longest display name kept, in bytes. */
#define MAX_NAME_LENGTH 256

struct _FerryIdentity
{
  GObject parent_instance;

  char *directory;
  char *account_id;
  char *device_id;
  char *name;
  char *chain_pem;

  gnutls_privkey_t device_key;
  gnutls_certificate_credentials_t credentials;

  /* Encryption of signaling messages (see ferry-envelope-seal.c) */
  guint8      x25519_secret[FERRY_X25519_KEY_SIZE];
  guint8      x25519_public[FERRY_X25519_KEY_SIZE];
  GMutex      peer_keys_lock;
  GHashTable *peer_keys;     /* device id → PeerKey */
  guint64     peer_keys_serial;
};

static inline void
_ferry_clear_x509_crt (gnutls_x509_crt_t *crt)
{
  if (*crt != NULL)
    {
      gnutls_x509_crt_deinit (*crt);
      *crt = NULL;
    }
}

static inline void
_ferry_clear_x509_privkey (gnutls_x509_privkey_t *key)
{
  if (*key != NULL)
    {
      gnutls_x509_privkey_deinit (*key);
      *key = NULL;
    }
}

static inline void
_ferry_clear_datum (gnutls_datum_t *datum)
{
  gnutls_free (datum->data);
  datum->data = NULL;
  datum->size = 0;
}

/* ferry-certificates.c: fingerprints of a certificate's and a private
 * key's public key (NULL when it cannot be derived). */
char     *_ferry_crt_fingerprint             (gnutls_x509_crt_t      crt);
char     *_ferry_x509_privkey_fingerprint    (gnutls_x509_privkey_t  key);

/* ferry-identity-files.c */
gboolean  _ferry_identity_write_file         (const char    *directory,
                                              const char    *basename,
                                              const void    *data,
                                              gsize          len,
                                              GError       **error);
/* A missing file is not an error: TRUE with *@contents NULL. */
gboolean  _ferry_identity_read_file          (const char    *directory,
                                              const char    *basename,
                                              char         **contents,
                                              gsize         *len,
                                              GError       **error);
void      _ferry_identity_file_error         (GError       **error,
                                              const char    *directory,
                                              const char    *basename,
                                              const char    *reason);
/* The stored display name, or NULL. */
char     *_ferry_identity_load_name          (const char    *directory);
/* Loads (or, the first time, creates) the account and device keys and
 * certificates in self->directory; sets the ids, chain and credentials. */
gboolean  _ferry_identity_load_keys          (FerryIdentity *self,
                                              GCancellable  *cancellable,
                                              GError       **error);

/* ferry-identity-x25519.c */
gboolean  _ferry_identity_load_or_create_x25519 (FerryIdentity  *self,
                                                 GError        **error);

G_END_DECLS
