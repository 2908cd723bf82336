/* test-identity.c: identity files, certificates, signatures and chains,
 * the hex and base64 helpers (envelopes: test-identity-envelope.c)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <glib/gstdio.h>
#include <gnutls/crypto.h>

#include "ferry-error.h"
#include "ferry-identity-private.h"
#include "ferry-utils-private.h"
#include "test-identity-common.h"

static const char * const identity_files[] = {
  "account.key", "account.crt", "device.key", "device.crt", NULL
};

static gboolean
is_lower_hex (const char *text,
              gsize       length)
{
  if (text == NULL || strlen (text) != length)
    return FALSE;
  for (gsize i = 0; i < length; i++)
    {
      if (!g_ascii_isxdigit (text[i]) || g_ascii_isupper (text[i]))
        return FALSE;
    }
  return TRUE;
}

static void
write_file (const char *dir,
            const char *name,
            const char *contents)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
}

/* Identity files */

static void
test_identity_create_reload (void)
{
  g_autoptr(FerryIdentity) first = make_identity ("home");
  g_autoptr(FerryIdentity) second = NULL;
  g_autofree char *dir = home_path ("home");
  g_autofree char *account_id = NULL;
  g_autofree char *device_id = NULL;

  g_assert_cmpstr (ferry_identity_get_directory (first), ==, dir);
  g_assert_true (is_lower_hex (ferry_identity_get_account_id (first), 64));
  g_assert_true (is_lower_hex (ferry_identity_get_device_id (first), 64));
  g_assert_cmpstr (ferry_identity_get_account_id (first), !=,
                   ferry_identity_get_device_id (first));

  g_object_get (first, "account-id", &account_id, "device-id", &device_id, NULL);
  g_assert_cmpstr (account_id, ==, ferry_identity_get_account_id (first));
  g_assert_cmpstr (device_id, ==, ferry_identity_get_device_id (first));

  second = make_identity ("home");
  g_assert_cmpstr (ferry_identity_get_account_id (second), ==,
                   ferry_identity_get_account_id (first));
  g_assert_cmpstr (ferry_identity_get_device_id (second), ==,
                   ferry_identity_get_device_id (first));
  g_assert_cmpstr (_ferry_identity_get_chain_pem (second), ==,
                   _ferry_identity_get_chain_pem (first));
  g_assert_nonnull (_ferry_identity_get_credentials (second));
}

static void
test_identity_file_modes (void)
{
  g_autoptr(FerryIdentity) identity = make_identity ("deep/nested/home");
  g_autofree char *dir = home_path ("deep/nested/home");
  GStatBuf st;

  g_assert_cmpint (g_stat (dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);

  for (guint i = 0; identity_files[i] != NULL; i++)
    {
      g_autofree char *path = g_build_filename (dir, identity_files[i], NULL);

      g_assert_cmpint (g_stat (path, &st), ==, 0);
      g_assert_true (S_ISREG (st.st_mode));
      g_assert_cmpint (st.st_mode & 0777, ==, 0600);
    }
}

static void
test_identity_homes_differ (void)
{
  g_autoptr(FerryIdentity) a = make_identity ("home-a");
  g_autoptr(FerryIdentity) b = make_identity ("home-b");

  g_assert_cmpstr (ferry_identity_get_account_id (a), !=, ferry_identity_get_account_id (b));
  g_assert_cmpstr (ferry_identity_get_device_id (a), !=, ferry_identity_get_device_id (b));
}

/* Fingerprint of the public key in the first certificate of a PEM file,
 * computed here with gnutls and GChecksum independently of the library. */
static char *
certificate_fingerprint (const char *pem)
{
  gnutls_x509_crt_t crt;
  gnutls_datum_t data = { (unsigned char *) pem, strlen (pem) };
  guint8 der[1024];
  size_t der_size = sizeof der;
  gnutls_pubkey_t pub;

  g_assert_cmpint (gnutls_x509_crt_init (&crt), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_import (crt, &data, GNUTLS_X509_FMT_PEM), ==, 0);
  g_assert_cmpint (gnutls_pubkey_init (&pub), ==, 0);
  g_assert_cmpint (gnutls_pubkey_import_x509 (pub, crt, 0), ==, 0);
  g_assert_cmpint (gnutls_pubkey_export (pub, GNUTLS_X509_FMT_DER, der, &der_size), ==, 0);
  gnutls_pubkey_deinit (pub);
  gnutls_x509_crt_deinit (crt);

  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, der, der_size);
}

static void
test_identity_ids_are_key_fingerprints (void)
{
  g_autoptr(FerryIdentity) identity = make_identity ("home");
  const char *dir = ferry_identity_get_directory (identity);
  g_autofree char *account_pem = read_file (dir, "account.crt");
  g_autofree char *device_pem = read_file (dir, "device.crt");
  g_autofree char *account_fp = certificate_fingerprint (account_pem);
  g_autofree char *device_fp = certificate_fingerprint (device_pem);

  g_assert_cmpstr (ferry_identity_get_account_id (identity), ==, account_fp);
  g_assert_cmpstr (ferry_identity_get_device_id (identity), ==, device_fp);
}

static void
check_corrupt (const char *file,
               const char *contents)
{
  static guint counter = 0;
  g_autofree char *name = g_strdup_printf ("corrupt-%u-%s", counter++, file);
  g_autofree char *dir = home_path (name);
  g_autoptr(FerryIdentity) identity = make_identity (name);
  g_autoptr(FerryIdentity) reloaded = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *after = NULL;

  g_clear_object (&identity);
  write_file (dir, file, contents);

  reloaded = ferry_identity_new (dir, NULL, &error);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_IDENTITY);
  g_assert_null (reloaded);
  g_assert_nonnull (strstr (error->message, file));

  /* Nothing was regenerated over it. */
  after = read_file (dir, file);
  g_assert_cmpstr (after, ==, contents);
}

static void
test_identity_corrupt_files (void)
{
  g_autoptr(FerryIdentity) other = make_identity ("other");
  g_autofree char *other_account_crt = read_file (ferry_identity_get_directory (other), "account.crt");
  g_autofree char *other_device_key = read_file (ferry_identity_get_directory (other), "device.key");
  g_autofree char *other_device_crt = read_file (ferry_identity_get_directory (other), "device.crt");

  check_corrupt ("account.key", "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n");
  check_corrupt ("device.key", "garbage");
  check_corrupt ("account.crt", "");
  check_corrupt ("device.crt", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");

  /* Well-formed files that do not belong together */
  check_corrupt ("account.crt", other_account_crt);
  check_corrupt ("device.key", other_device_key);
  check_corrupt ("device.crt", other_device_crt);
}

static void
test_identity_missing_key_refused (void)
{
  g_autofree char *dir = home_path ("missing");
  g_autoptr(FerryIdentity) identity = make_identity ("missing");
  g_autoptr(FerryIdentity) reloaded = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (dir, "account.key", NULL);
  g_autofree char *device_crt = g_build_filename (dir, "device.crt", NULL);
  g_autofree char *before = read_file (dir, "device.crt");
  g_autofree char *after = NULL;

  g_clear_object (&identity);
  g_assert_cmpint (g_unlink (path), ==, 0);

  reloaded = ferry_identity_new (dir, NULL, &error);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_IDENTITY);
  g_assert_nonnull (strstr (error->message, "account.key"));
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  after = read_file (dir, "device.crt");
  g_assert_cmpstr (before, ==, after);
}

static void
test_identity_new_device_for_account (void)
{
  g_autofree char *dir = home_path ("second-device");
  g_autoptr(FerryIdentity) identity = make_identity ("second-device");
  g_autofree char *account_id = g_strdup (ferry_identity_get_account_id (identity));
  g_autofree char *device_id = g_strdup (ferry_identity_get_device_id (identity));
  g_autoptr(FerryIdentity) reloaded = NULL;

  g_clear_object (&identity);
  for (guint i = 2; i < 4; i++)
    {
      g_autofree char *path = g_build_filename (dir, identity_files[i], NULL);
      g_assert_cmpint (g_unlink (path), ==, 0);
    }

  /* Without device files, the account gets a new device. */
  reloaded = make_identity ("second-device");
  g_assert_cmpstr (ferry_identity_get_account_id (reloaded), ==, account_id);
  g_assert_cmpstr (ferry_identity_get_device_id (reloaded), !=, device_id);

  /* The new device presents the whole chain in TLS, right away. */
  {
    gnutls_x509_crt_t *crts = NULL;
    unsigned int n = 0;

    g_assert_cmpint (gnutls_certificate_get_x509_crt (_ferry_identity_get_credentials (reloaded),
                                                      0, &crts, &n), ==, 0);
    g_assert_cmpuint (n, ==, 2);
    for (unsigned int i = 0; i < n; i++)
      gnutls_x509_crt_deinit (crts[i]);
    gnutls_free (crts);
  }
}

static void
on_notify (GObject    *object,
           GParamSpec *pspec,
           gpointer    user_data)
{
  guint *count = user_data;

  (*count)++;
}

static void
test_identity_name (void)
{
  g_autoptr(FerryIdentity) identity = make_identity ("named");
  g_autoptr(FerryIdentity) reloaded = NULL;
  g_autofree char *name_path = g_build_filename (ferry_identity_get_directory (identity), "name", NULL);
  guint notified = 0;
  GStatBuf st;

  g_assert_cmpstr (ferry_identity_get_name (identity), ==, g_get_host_name ());

  g_signal_connect (identity, "notify::name", G_CALLBACK (on_notify), &notified);
  ferry_identity_set_name (identity, "  Kitchen laptop ");
  g_assert_cmpstr (ferry_identity_get_name (identity), ==, "Kitchen laptop");
  g_assert_cmpuint (notified, ==, 1);
  ferry_identity_set_name (identity, "Kitchen laptop");
  g_assert_cmpuint (notified, ==, 1);

  g_assert_cmpint (g_stat (name_path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  reloaded = make_identity ("named");
  g_assert_cmpstr (ferry_identity_get_name (reloaded), ==, "Kitchen laptop");

  g_object_set (identity, "name", NULL, NULL);
  g_assert_cmpstr (ferry_identity_get_name (identity), ==, g_get_host_name ());
  g_assert_cmpuint (notified, ==, 2);
  g_assert_false (g_file_test (name_path, G_FILE_TEST_EXISTS));
}

/* Signatures and chains */

static void
test_identity_sign_verify (void)
{
  g_autoptr(FerryIdentity) a = make_identity ("home-a");
  g_autoptr(FerryIdentity) b = make_identity ("home-b");
  const char *text = "the bytes that were signed";
  g_autoptr(GBytes) signature = NULL;
  g_autoptr(GError) error = NULL;

  signature = _ferry_identity_sign (a, (const guint8 *) text, strlen (text), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (signature), ==, 64);

  g_assert_true (_ferry_chain_pem_verify_signature (_ferry_identity_get_chain_pem (a),
                                                    (const guint8 *) text, strlen (text),
                                                    signature, &error));
  g_assert_no_error (error);

  /* Other data */
  g_assert_false (_ferry_chain_pem_verify_signature (_ferry_identity_get_chain_pem (a),
                                                     (const guint8 *) text, strlen (text) - 1,
                                                     signature, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);

  /* Another device */
  g_assert_false (_ferry_chain_pem_verify_signature (_ferry_identity_get_chain_pem (b),
                                                     (const guint8 *) text, strlen (text),
                                                     signature, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
}

static void
test_identity_chain_verify (void)
{
  g_autoptr(FerryIdentity) a = make_identity ("home-a");
  g_autoptr(FerryIdentity) b = make_identity ("home-b");
  g_autofree char *account_id = NULL;
  g_autofree char *device_id = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *a_account = read_file (ferry_identity_get_directory (a), "account.crt");
  g_autofree char *a_device = read_file (ferry_identity_get_directory (a), "device.crt");
  g_autofree char *b_device = read_file (ferry_identity_get_directory (b), "device.crt");
  g_autofree char *mixed = g_strconcat (b_device, a_account, NULL);
  g_autofree char *reversed = g_strconcat (a_account, a_device, NULL);
  g_autofree char *triple = g_strconcat (a_device, a_account, a_account, NULL);

  g_assert_true (_ferry_chain_pem_verify (_ferry_identity_get_chain_pem (a),
                                          &account_id, &device_id, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (account_id, ==, ferry_identity_get_account_id (a));
  g_assert_cmpstr (device_id, ==, ferry_identity_get_device_id (a));

  /* Device certificate of B with the account certificate of A */
  g_assert_false (_ferry_chain_pem_verify (mixed, NULL, NULL, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_PEER_UNTRUSTED);
  g_clear_error (&error);

  g_assert_false (_ferry_chain_pem_verify (reversed, NULL, NULL, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_PEER_UNTRUSTED);
  g_clear_error (&error);

  g_assert_false (_ferry_chain_pem_verify (a_device, NULL, NULL, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_PEER_UNTRUSTED);
  g_clear_error (&error);

  g_assert_false (_ferry_chain_pem_verify (triple, NULL, NULL, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_PEER_UNTRUSTED);
  g_clear_error (&error);

  g_assert_false (_ferry_chain_pem_verify ("not pem at all", NULL, NULL, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_PEER_UNTRUSTED);
  g_clear_error (&error);
}

static gnutls_x509_crt_t
import_crt (const char *pem)
{
  gnutls_x509_crt_t crt;
  gnutls_datum_t data = { (unsigned char *) pem, strlen (pem) };

  g_assert_cmpint (gnutls_x509_crt_init (&crt), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_import (crt, &data, GNUTLS_X509_FMT_PEM), ==, 0);

  return crt;
}

static gnutls_datum_t
export_der (gnutls_x509_crt_t crt)
{
  gnutls_datum_t der = { NULL, 0 };

  g_assert_cmpint (gnutls_x509_crt_export2 (crt, GNUTLS_X509_FMT_DER, &der), ==, 0);

  return der;
}

static void
test_identity_chain_verify_der (void)
{
  g_autoptr(FerryIdentity) a = make_identity ("home-a");
  g_autofree char *account_pem = read_file (ferry_identity_get_directory (a), "account.crt");
  g_autofree char *device_pem = read_file (ferry_identity_get_directory (a), "device.crt");
  gnutls_x509_crt_t account = import_crt (account_pem);
  gnutls_x509_crt_t device = import_crt (device_pem);
  gnutls_datum_t chain[2];
  g_autofree char *account_id = NULL;
  g_autofree char *device_id = NULL;
  g_autoptr(GError) error = NULL;

  chain[0] = export_der (device);
  chain[1] = export_der (account);

  g_assert_true (_ferry_x509_chain_verify (chain, 2, &account_id, &device_id, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (account_id, ==, ferry_identity_get_account_id (a));
  g_assert_cmpstr (device_id, ==, ferry_identity_get_device_id (a));

  g_assert_false (_ferry_x509_chain_verify (chain, 1, NULL, NULL, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_PEER_UNTRUSTED);
  g_clear_error (&error);

  /* A broken self-signature on the account certificate: flip a bit in the
   * last byte, which belongs to the signature. */
  chain[1].data[chain[1].size - 1] ^= 0x01;
  g_assert_false (_ferry_x509_chain_verify (chain, 2, NULL, NULL, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_PEER_UNTRUSTED);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "account"));
  g_clear_error (&error);
  chain[1].data[chain[1].size - 1] ^= 0x01;

  /* A broken signature on the device certificate */
  chain[0].data[chain[0].size - 1] ^= 0x01;
  g_assert_false (_ferry_x509_chain_verify (chain, 2, NULL, NULL, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_PEER_UNTRUSTED);
  g_clear_error (&error);
  chain[0].data[chain[0].size - 1] ^= 0x01;

  /* Garbage */
  chain[0].size = 10;
  g_assert_false (_ferry_x509_chain_verify (chain, 2, NULL, NULL, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_PEER_UNTRUSTED);
  g_clear_error (&error);

  gnutls_free (chain[0].data);
  gnutls_free (chain[1].data);
  gnutls_x509_crt_deinit (account);
  gnutls_x509_crt_deinit (device);
}

/* A device certificate signed by the real account key, valid from
 * @not_before to @not_after. */
static char *
make_device_crt (FerryIdentity *identity,
                 time_t         not_before,
                 time_t         not_after)
{
  const char *dir = ferry_identity_get_directory (identity);
  g_autofree char *account_key_pem = read_file (dir, "account.key");
  g_autofree char *account_crt_pem = read_file (dir, "account.crt");
  gnutls_datum_t key_data = { (unsigned char *) account_key_pem, strlen (account_key_pem) };
  gnutls_x509_privkey_t account_key;
  gnutls_x509_privkey_t device_key;
  gnutls_x509_crt_t account_crt = import_crt (account_crt_pem);
  gnutls_x509_crt_t crt;
  gnutls_datum_t out = { NULL, 0 };
  guint8 serial[8] = { 0x11, 2, 3, 4, 5, 6, 7, 8 };
  char *pem;

  g_assert_cmpint (gnutls_x509_privkey_init (&account_key), ==, 0);
  g_assert_cmpint (gnutls_x509_privkey_import_pkcs8 (account_key, &key_data, GNUTLS_X509_FMT_PEM,
                                                     NULL, GNUTLS_PKCS_PLAIN), ==, 0);
  g_assert_cmpint (gnutls_x509_privkey_init (&device_key), ==, 0);
  g_assert_cmpint (gnutls_x509_privkey_generate (device_key, GNUTLS_PK_EDDSA_ED25519,
                                                 GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_ED25519),
                                                 0), ==, 0);

  g_assert_cmpint (gnutls_x509_crt_init (&crt), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_version (crt, 3), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_serial (crt, serial, sizeof serial), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_activation_time (crt, not_before), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_expiration_time (crt, not_after), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_dn_by_oid (crt, GNUTLS_OID_X520_COMMON_NAME, 0, "test", 4), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_key (crt, device_key), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_basic_constraints (crt, 0, -1), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_key_usage (crt, GNUTLS_KEY_DIGITAL_SIGNATURE), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_sign2 (crt, account_crt, account_key, GNUTLS_DIG_SHA512, 0), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_export2 (crt, GNUTLS_X509_FMT_PEM, &out), ==, 0);

  pem = g_strconcat ((const char *) out.data, account_crt_pem, NULL);

  gnutls_free (out.data);
  gnutls_x509_crt_deinit (crt);
  gnutls_x509_crt_deinit (account_crt);
  gnutls_x509_privkey_deinit (device_key);
  gnutls_x509_privkey_deinit (account_key);

  return pem;
}

static void
test_identity_chain_validity_period (void)
{
  g_autoptr(FerryIdentity) a = make_identity ("home-a");
  time_t now = time (NULL);
  g_autofree char *valid = make_device_crt (a, now - 3600, now + 3600);
  g_autofree char *expired = make_device_crt (a, now - 7200, now - 3600);
  g_autofree char *future = make_device_crt (a, now + 3600, now + 7200);
  g_autofree char *account_id = NULL;
  g_autofree char *device_id = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (_ferry_chain_pem_verify (valid, &account_id, &device_id, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (account_id, ==, ferry_identity_get_account_id (a));
  g_assert_cmpstr (device_id, !=, ferry_identity_get_device_id (a));

  g_assert_false (_ferry_chain_pem_verify (expired, NULL, NULL, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_PEER_UNTRUSTED);
  g_clear_error (&error);

  g_assert_false (_ferry_chain_pem_verify (future, NULL, NULL, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_PEER_UNTRUSTED);
  g_clear_error (&error);
}

/* The shared hex and strict base64 helpers every id and key goes through. */
static void
test_utils_hex (void)
{
  static const guint8 raw[] = { 0x00, 0x01, 0xab, 0xff };
  g_autofree char *hex = _ferry_hex_encode (raw, sizeof raw);
  g_autofree char *empty = _ferry_hex_encode (NULL, 0);
  guint8 back[4];

  g_assert_cmpstr (hex, ==, "0001abff");
  g_assert_cmpstr (empty, ==, "");
  g_assert_true (_ferry_hex_decode ("0001abff", back, sizeof back));
  g_assert_cmpmem (back, sizeof back, raw, sizeof raw);
  g_assert_false (_ferry_hex_decode ("0001ABFF", back, sizeof back));
  g_assert_false (_ferry_hex_decode ("0001abf", back, sizeof back));
  g_assert_false (_ferry_hex_decode ("0001abff00", back, sizeof back));
  g_assert_false (_ferry_hex_decode ("0001 bff", back, sizeof back));
  g_assert_false (_ferry_hex_decode ("0001abfg", back, sizeof back));

  g_assert_true (_ferry_str_is_lower_hex_len ("0a", 2));
  g_assert_false (_ferry_str_is_lower_hex_len (NULL, 0));
  g_assert_false (_ferry_device_id_is_valid ("0a"));
  g_assert_true (_ferry_transfer_id_is_valid ("0123abcd"));
  g_assert_false (_ferry_transfer_id_is_valid ("0123ABCD"));
  g_assert_false (_ferry_transfer_id_is_valid ("0123abc"));
  g_assert_false (_ferry_transfer_id_is_valid (NULL));
}

static void
test_utils_base64_strict (void)
{
  static const struct { const char *text; gssize len; } cases[] = {
    { "AAAA", 3 }, { "AAA=", 2 }, { "AA==", 1 }, { "aGVsbG8=", 5 },
    { "", -1 }, { "A", -1 }, { "AAA", -1 }, { "A===", -1 }, { "AA=A", -1 },
    { "AAAA\n", -1 }, { " AAA", -1 }, { "AA-_", -1 }, { "====", -1 }, { "AAAA====", -1 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      gsize len = 42;
      g_autofree guint8 *data = _ferry_base64_decode_strict (cases[i].text, &len);

      if (cases[i].len < 0)
        {
          g_assert_null (data);
          g_assert_cmpuint (len, ==, 0);
        }
      else
        {
          g_assert_nonnull (data);
          g_assert_cmpuint (len, ==, (gsize) cases[i].len);
        }
    }
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/identity/create-reload", test_identity_create_reload);
  g_test_add_func ("/utils/hex", test_utils_hex);
  g_test_add_func ("/utils/base64-strict", test_utils_base64_strict);
  g_test_add_func ("/identity/file-modes", test_identity_file_modes);
  g_test_add_func ("/identity/homes-differ", test_identity_homes_differ);
  g_test_add_func ("/identity/ids-are-key-fingerprints", test_identity_ids_are_key_fingerprints);
  g_test_add_func ("/identity/corrupt-files", test_identity_corrupt_files);
  g_test_add_func ("/identity/missing-key-refused", test_identity_missing_key_refused);
  g_test_add_func ("/identity/new-device-for-account", test_identity_new_device_for_account);
  g_test_add_func ("/identity/name", test_identity_name);
  g_test_add_func ("/identity/sign-verify", test_identity_sign_verify);
  g_test_add_func ("/identity/chain-verify", test_identity_chain_verify);
  g_test_add_func ("/identity/chain-verify-der", test_identity_chain_verify_der);
  g_test_add_func ("/identity/chain-validity-period", test_identity_chain_validity_period);

  return g_test_run ();
}
