/* ferry-account.c: the home files of an account, and its devices
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <json-glib/json-glib.h>

#include "ferry-account.h"
#include "ferry-account-internal.h"
#include "ferry-account-private.h"
#include "ferry-identity-private.h"
#include "ferry-utils-private.h"


/* Accounts and devices.
 *
 * Every device of an account holds the account key. To link a new device,
 * export the key from a device of the account under a passphrase
 * (PBKDF2-HMAC-SHA256 with %FERRY_ACCOUNT_EXPORT_ITERATIONS iterations,
 * then AES-256-GCM) and import the file in the new device's home: a new
 * device key and certificate, signed by the account key, are made there.
 * A device of the account can revoke another one: the revocation, signed
 * by the account key, spreads to the devices and peers it meets, which
 * refuse the revoked device from then on.
 */

gboolean
_ferry_account_read_file (const char  *home,
                          const char  *name,
                          char       **contents,
                          GError     **error)
{
  g_autofree char *path = g_build_filename (home, name, NULL);

  return g_file_get_contents (path, contents, NULL, error);
}

gboolean
_ferry_account_write_file (const char  *home,
                           const char  *name,
                           const char  *contents,
                           GError     **error)
{
  g_autofree char *path = g_build_filename (home, name, NULL);

  return g_file_set_contents_full (path, contents, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}

char *
_ferry_account_crt_id (const char *pem)
{
  gnutls_x509_crt_t crt = NULL;
  gnutls_pubkey_t key = NULL;
  gnutls_datum_t data = { (unsigned char *) pem, (unsigned int) strlen (pem) };
  char *fingerprint = NULL;

  if (gnutls_x509_crt_init (&crt) >= 0 &&
      gnutls_x509_crt_import (crt, &data, GNUTLS_X509_FMT_PEM) >= 0 &&
      gnutls_pubkey_init (&key) >= 0 &&
      gnutls_pubkey_import_x509 (key, crt, 0) >= 0)
    fingerprint = _ferry_pubkey_fingerprint (key);
  if (key != NULL)
    gnutls_pubkey_deinit (key);
  if (crt != NULL)
    gnutls_x509_crt_deinit (crt);
  return fingerprint;
}

gboolean
_ferry_json_holds (JsonNode     *root,
                   JsonNodeType  type)
{
  return root != NULL && JSON_NODE_TYPE (root) == type;
}

const char *
_ferry_json_member_string (JsonObject *object,
                           const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

gboolean
_ferry_json_member_int (JsonObject *object,
                        const char *name,
                        gint64     *value)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  *value = json_node_get_int (node);
  return TRUE;
}

guint8 *
_ferry_json_member_base64 (JsonObject *object,
                           const char *name,
                           gsize      *len)
{
  const char *text = _ferry_json_member_string (object, name);

  *len = 0;
  if (text == NULL)
    return NULL;
  return g_base64_decode (text, len);
}

#define DEVICES_FILE "devices.json"
#define MAX_DEVICES  256

static JsonObject *
load_devices (const char *home)
{
  g_autofree char *text = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();

  if (!_ferry_account_read_file (home, DEVICES_FILE, &text, NULL) ||
      !json_parser_load_from_data (parser, text, -1, NULL) ||
      !_ferry_json_holds (json_parser_get_root (parser), JSON_NODE_OBJECT))
    return json_object_new ();
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

void
_ferry_account_note_device (const char *home,
                            const char *device_id,
                            const char *name)
{
  g_autoptr(JsonObject) devices = load_devices (home);
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *entry = json_object_new ();

  if (!_ferry_device_id_is_valid (device_id) ||
      (!json_object_has_member (devices, device_id) && json_object_get_size (devices) >= MAX_DEVICES))
    {
      json_object_unref (entry);
      return;
    }
  json_object_set_string_member (entry, "name", name ? name : "");
  json_object_set_int_member (entry, "last-seen", g_get_real_time () / 1000);
  json_object_set_object_member (devices, device_id, entry);
  node = json_node_init_object (json_node_alloc (), devices);
  text = json_to_string (node, TRUE);
  if (!_ferry_account_write_file (home, DEVICES_FILE, text, &error))
    g_debug ("Could not remember device %.12s: %s", device_id, error->message);
}

static JsonObject *
device_entry (const char *device_id,
              const char *name,
              gint64      last_seen,
              gboolean    is_this,
              gboolean    revoked)
{
  JsonObject *entry = json_object_new ();

  json_object_set_string_member (entry, "device", device_id);
  json_object_set_string_member (entry, "name", name);
  json_object_set_int_member (entry, "last-seen", last_seen);
  json_object_set_boolean_member (entry, "this", is_this);
  json_object_set_boolean_member (entry, "revoked", revoked);

  return entry;
}

/* Adds to @revoked the devices that @account revoked in @revocations. */
static void
collect_revoked (JsonArray  *revocations,
                 const char *account,
                 GHashTable *revoked)
{
  for (guint i = 0; i < json_array_get_length (revocations); i++)
    {
      JsonNode *node = json_array_get_element (revocations, i);
      JsonObject *revocation;
      const char *device;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;
      revocation = json_node_get_object (node);
      device = _ferry_json_member_string (revocation, "device");
      if (g_strcmp0 (_ferry_json_member_string (revocation, "account"), account) == 0 &&
          device != NULL)
        g_hash_table_add (revoked, (gpointer) device);
    }
}

/**
 * ferry_account_list_devices:
 * @home: a home directory
 *
 * The devices of the account of @home that it knows: itself, those seen
 * through signaling, and the revoked ones. Each entry is a #JsonObject with
 * `device` (id), `name`, `last-seen` (unix ms, 0 when unknown), `this`
 * (the device of @home) and `revoked`.
 *
 * Returns: (transfer full) (element-type JsonObject): the devices, this
 *   one first
 */
GPtrArray *
ferry_account_list_devices (const char *home)
{
  GPtrArray *list = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  g_autoptr(JsonObject) devices = NULL;
  g_autoptr(JsonArray) revocations = NULL;
  g_autoptr(GHashTable) revoked = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GList) members = NULL;
  g_autofree char *crt = NULL;
  g_autofree char *account_crt = NULL;
  g_autofree char *own = NULL;
  g_autofree char *account = NULL;
  GHashTableIter iter;
  gpointer key;

  g_return_val_if_fail (home != NULL, NULL);

  if (_ferry_account_read_file (home, DEVICE_CRT_FILE, &crt, NULL))
    own = _ferry_account_crt_id (crt);
  if (_ferry_account_read_file (home, ACCOUNT_CRT_FILE, &account_crt, NULL))
    account = _ferry_account_crt_id (account_crt);
  devices = load_devices (home);
  revocations = _ferry_account_load_revocations (home);
  collect_revoked (revocations, account, revoked);

  if (own != NULL)
    g_ptr_array_add (list, device_entry (own, "", g_get_real_time () / 1000, TRUE,
                                         g_hash_table_contains (revoked, own)));
  members = json_object_get_members (devices);
  for (GList *l = members; l != NULL; l = l->next)
    {
      JsonNode *node = json_object_get_member (devices, l->data);
      JsonObject *seen;
      const char *name;

      if (g_strcmp0 (l->data, own) == 0 || !JSON_NODE_HOLDS_OBJECT (node))
        continue;
      seen = json_node_get_object (node);
      name = _ferry_json_member_string (seen, "name");
      g_ptr_array_add (list, device_entry (l->data, name != NULL ? name : "",
                                           json_object_get_int_member_with_default (seen, "last-seen", 0),
                                           FALSE, g_hash_table_contains (revoked, l->data)));
    }

  g_hash_table_iter_init (&iter, revoked);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (!json_object_has_member (devices, key) && g_strcmp0 (key, own) != 0)
      g_ptr_array_add (list, device_entry (key, "", 0, FALSE, TRUE));

  return list;
}
