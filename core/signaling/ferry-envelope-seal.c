/* ferry-envelope-seal.c: signed messages sealed to the receiving device
 * (X25519, HKDF-SHA256, ChaCha20-Poly1305) and opened there; what a
 * receiver runs on every message
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>
#include <gnutls/crypto.h>
#include <nettle/chacha-poly1305.h>
#include <nettle/curve25519.h>
#include <nettle/hkdf.h>
#include <nettle/hmac.h>
#include <nettle/memops.h>

#include "ferry-envelope-internal.h"
#include "ferry-identity-private.h"
#include "ferry-utils-private.h"

#define SEAL_MAGIC       "FSL1"
#define SEAL_MAGIC_SIZE  4
#define SEAL_ID_SIZE     32
#define SEAL_SALT_SIZE   16
#define SEAL_HEADER_SIZE (SEAL_MAGIC_SIZE + 2 * SEAL_ID_SIZE + FERRY_X25519_KEY_SIZE + SEAL_SALT_SIZE)
#define SEAL_TAG_SIZE    CHACHA_POLY1305_DIGEST_SIZE
#define SEAL_INFO        "ferry seal v1"

G_STATIC_ASSERT (SEAL_HEADER_SIZE + SEAL_TAG_SIZE == FERRY_SEAL_OVERHEAD);
G_STATIC_ASSERT (FERRY_X25519_KEY_SIZE == CURVE25519_SIZE);

/* HKDF-SHA256 → a ChaCha20-Poly1305 key and nonce. */
static void
seal_derive (const guint8 *shared,
             const guint8 *salt,
             const guint8 *ephemeral_public,
             const guint8 *recipient_public,
             guint8       *key,
             guint8       *nonce)
{
  struct hmac_sha256_ctx mac;
  guint8 prk[SHA256_DIGEST_SIZE];
  guint8 info[sizeof SEAL_INFO - 1 + 2 * FERRY_X25519_KEY_SIZE];
  guint8 okm[CHACHA_POLY1305_KEY_SIZE + CHACHA_POLY1305_NONCE_SIZE];

  memcpy (info, SEAL_INFO, sizeof SEAL_INFO - 1);
  memcpy (info + sizeof SEAL_INFO - 1, ephemeral_public, FERRY_X25519_KEY_SIZE);
  memcpy (info + sizeof SEAL_INFO - 1 + FERRY_X25519_KEY_SIZE, recipient_public, FERRY_X25519_KEY_SIZE);

  hmac_sha256_set_key (&mac, SEAL_SALT_SIZE, salt);
  hkdf_extract (&mac,
                (nettle_hash_update_func *) hmac_sha256_update,
                (nettle_hash_digest_func *) hmac_sha256_digest,
                SHA256_DIGEST_SIZE, FERRY_X25519_KEY_SIZE, shared, prk);
  hmac_sha256_set_key (&mac, SHA256_DIGEST_SIZE, prk);
  hkdf_expand (&mac,
               (nettle_hash_update_func *) hmac_sha256_update,
               (nettle_hash_digest_func *) hmac_sha256_digest,
               SHA256_DIGEST_SIZE, sizeof info, info, sizeof okm, okm);

  memcpy (key, okm, CHACHA_POLY1305_KEY_SIZE);
  memcpy (nonce, okm + CHACHA_POLY1305_KEY_SIZE, CHACHA_POLY1305_NONCE_SIZE);

  gnutls_memset (&mac, 0, sizeof mac);
  gnutls_memset (prk, 0, sizeof prk);
  gnutls_memset (okm, 0, sizeof okm);
}

static gboolean
is_all_zero (const guint8 *data,
             gsize         len)
{
  guint8 acc = 0;

  for (gsize i = 0; i < len; i++)
    acc |= data[i];

  return acc == 0;
}

/* Writes the header (magic, recipient, sender, ephemeral key, salt) and
 * the secret the ephemeral key shares with @to_key. */
static gboolean
write_header (FerryIdentity  *identity,
              const char     *to_device_id,
              const guint8   *to_key,
              guint8         *header,
              guint8         *shared,
              GError        **error)
{
  guint8 ephemeral_secret[FERRY_X25519_KEY_SIZE];
  int ret;

  memcpy (header, SEAL_MAGIC, SEAL_MAGIC_SIZE);
  if (!_ferry_hex_decode (to_device_id, header + SEAL_MAGIC_SIZE, SEAL_ID_SIZE) ||
      !_ferry_hex_decode (ferry_identity_get_device_id (identity),
                          header + SEAL_MAGIC_SIZE + SEAL_ID_SIZE, SEAL_ID_SIZE))
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_FAILED,
                           _("A device id is not 64 hexadecimal digits"));
      return FALSE;
    }

  if ((ret = gnutls_rnd (GNUTLS_RND_KEY, ephemeral_secret, sizeof ephemeral_secret)) < 0 ||
      (ret = gnutls_rnd (GNUTLS_RND_NONCE, header + SEAL_HEADER_SIZE - SEAL_SALT_SIZE,
                         SEAL_SALT_SIZE)) < 0)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_FAILED,
                   _("No random numbers: %s"), gnutls_strerror (ret));
      return FALSE;
    }
  curve25519_mul_g (header + SEAL_MAGIC_SIZE + 2 * SEAL_ID_SIZE, ephemeral_secret);
  curve25519_mul (shared, ephemeral_secret, to_key);
  gnutls_memset (ephemeral_secret, 0, sizeof ephemeral_secret);
  if (is_all_zero (shared, FERRY_X25519_KEY_SIZE))
    {
      g_set_error_literal (error, FERRY_ERROR, FERRY_ERROR_PEER_UNTRUSTED,
                           _("The receiving device's encryption key is not valid"));
      return FALSE;
    }

  return TRUE;
}

GBytes *
_ferry_envelope_seal (FerryIdentity  *identity,
                      const char     *to_device_id,
                      const guint8   *to_key,
                      GBytes         *plain,
                      GError        **error)
{
  struct chacha_poly1305_ctx aead;
  guint8 shared[FERRY_X25519_KEY_SIZE];
  guint8 key[CHACHA_POLY1305_KEY_SIZE];
  guint8 nonce[CHACHA_POLY1305_NONCE_SIZE];
  const guint8 *plain_data;
  gsize plain_len = 0;
  guint8 *out;
  guint8 *header;
  gsize out_len;

  g_return_val_if_fail (FERRY_IS_IDENTITY (identity), NULL);
  g_return_val_if_fail (to_device_id != NULL, NULL);
  g_return_val_if_fail (to_key != NULL, NULL);
  g_return_val_if_fail (plain != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  plain_data = g_bytes_get_data (plain, &plain_len);
  if (plain_len > FERRY_ENVELOPE_MAX_SIZE)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_BAD_MESSAGE,
                   _("The signaling message is too large (%zu bytes, at most %u)"),
                   plain_len, (guint) FERRY_ENVELOPE_MAX_SIZE);
      return NULL;
    }

  out_len = SEAL_HEADER_SIZE + plain_len + SEAL_TAG_SIZE;
  out = g_malloc (out_len);
  header = out;

  if (!write_header (identity, to_device_id, to_key, header, shared, error))
    {
      g_free (out);
      return NULL;
    }

  seal_derive (shared, header + SEAL_HEADER_SIZE - SEAL_SALT_SIZE,
               header + SEAL_MAGIC_SIZE + 2 * SEAL_ID_SIZE, to_key, key, nonce);

  chacha_poly1305_set_key (&aead, key);
  chacha_poly1305_set_nonce (&aead, nonce);
  chacha_poly1305_update (&aead, SEAL_HEADER_SIZE, header);
  chacha_poly1305_encrypt (&aead, plain_len, out + SEAL_HEADER_SIZE, plain_data);
  chacha_poly1305_digest (&aead, SEAL_TAG_SIZE, out + SEAL_HEADER_SIZE + plain_len);

  gnutls_memset (&aead, 0, sizeof aead);
  gnutls_memset (shared, 0, sizeof shared);
  gnutls_memset (key, 0, sizeof key);

  return g_bytes_new_take (out, out_len);
}

gboolean
_ferry_envelope_is_sealed (GBytes *wire)
{
  gsize size = 0;
  const guint8 *data;

  g_return_val_if_fail (wire != NULL, FALSE);

  data = g_bytes_get_data (wire, &size);

  return size >= SEAL_HEADER_SIZE + SEAL_TAG_SIZE &&
         memcmp (data, SEAL_MAGIC, SEAL_MAGIC_SIZE) == 0;
}

static gboolean
check_recipient (FerryIdentity  *identity,
                 const guint8   *header,
                 GError        **error)
{
  g_autofree char *recipient = _ferry_hex_encode (header + SEAL_MAGIC_SIZE, SEAL_ID_SIZE);

  if (!g_str_equal (recipient, ferry_identity_get_device_id (identity)))
    {
      g_autofree char *to_short = _ferry_envelope_shorten (recipient);
      g_autofree char *own_short = _ferry_envelope_shorten (ferry_identity_get_device_id (identity));

      _ferry_envelope_drop (error, FERRY_ERROR_BAD_MESSAGE,
                            _("The message is addressed to device %s, not to this device (%s)"),
                            to_short, own_short);
      return FALSE;
    }

  return TRUE;
}

GBytes *
_ferry_envelope_open (FerryIdentity  *identity,
                      GBytes         *wire,
                      char          **sender_device_id,
                      GError        **error)
{
  struct chacha_poly1305_ctx aead;
  g_autoptr(GError) local_error = NULL;
  guint8 shared[FERRY_X25519_KEY_SIZE];
  guint8 key[CHACHA_POLY1305_KEY_SIZE];
  guint8 nonce[CHACHA_POLY1305_NONCE_SIZE];
  guint8 tag[SEAL_TAG_SIZE];
  const guint8 *data;
  const guint8 *ephemeral;
  gsize size = 0;
  gsize plain_len;
  guint8 *plain;

  g_return_val_if_fail (FERRY_IS_IDENTITY (identity), NULL);
  g_return_val_if_fail (wire != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  data = g_bytes_get_data (wire, &size);
  if (!_ferry_envelope_is_sealed (wire))
    {
      _ferry_envelope_drop (error, FERRY_ERROR_BAD_MESSAGE, _("The message is not sealed"));
      return NULL;
    }
  if (size > SEAL_HEADER_SIZE + FERRY_ENVELOPE_MAX_SIZE + SEAL_TAG_SIZE)
    {
      _ferry_envelope_drop (error, FERRY_ERROR_BAD_MESSAGE,
                            _("The message is too large (%zu bytes, at most %u)"),
                            size, (guint) (FERRY_ENVELOPE_MAX_SIZE + FERRY_SEAL_OVERHEAD));
      return NULL;
    }

  if (!check_recipient (identity, data, error))
    return NULL;

  ephemeral = data + SEAL_MAGIC_SIZE + 2 * SEAL_ID_SIZE;
  if (!_ferry_identity_x25519_agree (identity, ephemeral, shared, &local_error))
    {
      _ferry_envelope_drop (error, FERRY_ERROR_BAD_MESSAGE, _("The message cannot be decrypted: %s"),
                            local_error->message);
      return NULL;
    }

  seal_derive (shared, data + SEAL_HEADER_SIZE - SEAL_SALT_SIZE, ephemeral,
               _ferry_identity_get_x25519_public (identity), key, nonce);
  gnutls_memset (shared, 0, sizeof shared);

  plain_len = size - SEAL_HEADER_SIZE - SEAL_TAG_SIZE;
  plain = g_malloc (plain_len + 1);
  chacha_poly1305_set_key (&aead, key);
  chacha_poly1305_set_nonce (&aead, nonce);
  chacha_poly1305_update (&aead, SEAL_HEADER_SIZE, data);
  chacha_poly1305_decrypt (&aead, plain_len, plain, data + SEAL_HEADER_SIZE);
  chacha_poly1305_digest (&aead, SEAL_TAG_SIZE, tag);
  gnutls_memset (&aead, 0, sizeof aead);
  gnutls_memset (key, 0, sizeof key);

  if (!memeql_sec (tag, data + SEAL_HEADER_SIZE + plain_len, SEAL_TAG_SIZE))
    {
      gnutls_memset (plain, 0, plain_len);
      g_free (plain);
      _ferry_envelope_drop (error, FERRY_ERROR_BAD_MESSAGE,
                            _("The message cannot be decrypted: it was not sealed to this device's key "
                            "or it was altered"));
      return NULL;
    }

  if (sender_device_id != NULL)
    *sender_device_id = _ferry_hex_encode (data + SEAL_MAGIC_SIZE + SEAL_ID_SIZE, SEAL_ID_SIZE);

  return g_bytes_new_take (plain, plain_len);
}


FerryEnvelope *
_ferry_envelope_receive (FerryIdentity     *identity,
                         GBytes            *wire,
                         FerryReplayCache  *cache,
                         GError           **error)
{
  g_autoptr(FerryEnvelope) envelope = NULL;
  const char *own_device_id;

  g_return_val_if_fail (FERRY_IS_IDENTITY (identity), NULL);
  g_return_val_if_fail (wire != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  own_device_id = ferry_identity_get_device_id (identity);

  if (_ferry_envelope_is_sealed (wire))
    {
      g_autoptr(GBytes) plain = NULL;
      g_autofree char *sender = NULL;

      plain = _ferry_envelope_open (identity, wire, &sender, error);
      if (plain == NULL)
        return NULL;
      envelope = _ferry_envelope_parse (plain, own_device_id, cache, error);
      if (envelope == NULL)
        return NULL;
      if (!g_str_equal (envelope->from_device, sender))
        {
          g_autofree char *sender_short = _ferry_envelope_shorten (sender);
          g_autofree char *signer_short = _ferry_envelope_shorten (envelope->from_device);

          _ferry_envelope_drop (error, FERRY_ERROR_BAD_MESSAGE,
                                _("The message was sealed by device %s but signed by device %s"),
                                sender_short, signer_short);
          return NULL;
        }
      envelope->sealed = TRUE;
    }
  else
    {
      envelope = _ferry_envelope_parse (wire, own_device_id, NULL, error);
      if (envelope == NULL)
        return NULL;
      if (!g_str_equal (envelope->type, "announce"))
        {
          _ferry_envelope_drop (error, FERRY_ERROR_BAD_MESSAGE,
                                _("A “%s” message must be encrypted to this device"), envelope->type);
          return NULL;
        }
      if (cache != NULL)
        {
          if (!_ferry_replay_cache_add (cache, envelope->from_device, envelope->id,
                                        envelope->timestamp_ms, g_get_real_time () / 1000))
            {
              _ferry_envelope_drop (error, FERRY_ERROR_BAD_MESSAGE, _("The message %s was already received"),
                                    envelope->id);
              return NULL;
            }
        }
    }

  if (envelope->has_x25519)
    _ferry_identity_remember_peer_key (identity, envelope->from_device, envelope->x25519,
                                       envelope->timestamp_ms);

  return g_steal_pointer (&envelope);
}

