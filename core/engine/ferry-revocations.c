/* ferry-revocations.c: revoked devices: loaded, handed to own devices, received
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>
#include <glib/gstdio.h>

#include "ferry-engine-private.h"

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

gboolean
_ferry_engine_is_revoked (FerryEngine *self,
                          const char  *account_id,
                          const char  *device_id)
{
  g_autofree char *key = g_strconcat (account_id, "/", device_id, NULL);

  engine_revocations_refresh (self);
  return g_hash_table_contains (self->revoked, key);
}


/* Hands the revocations of this device's account to @device. */
void
_ferry_engine_send_revocations (FerryEngine *self,
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
  message = _ferry_engine_build_message (self, "revocations", ferry_device_get_device_id (device), body);
  if (message != NULL)
    _ferry_engine_send_message (self, _ferry_device_get_signaling (device), _ferry_device_get_route (device), message);
}

/* Revocations from a device of their own account: checked and kept. */
void
_ferry_engine_revocations_received (FerryEngine   *self,
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
