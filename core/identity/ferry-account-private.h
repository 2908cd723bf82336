/* ferry-account-private.h: device revocations
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/*
 * A revocation, signed by the account key (Ed25519):
 *   { "account": "<hex>", "device": "<hex>", "time": <unix ms>,
 *     "signature": "<base64 of the signature of
 *                    "ferry-revocation:1:<account>:<device>:<time>">" }
 * Kept in <home>/revocations.json (a JSON array, written atomically).
 * Engines hand their account's revocations to every device they meet
 * (signaling message "revocations", body {"revocations": [...]}); a
 * revocation is accepted from a device of the same account only, checked
 * against that account's certificate.
 */

/* Every stored revocation (an empty array when none). */
JsonArray *_ferry_account_load_revocations  (const char  *home);

/* Checks @revocation against the account certificate of @chain_pem (PEM:
 * device certificate, then account certificate). Sets @device_id. */
gboolean   _ferry_revocation_verify         (JsonObject  *revocation,
                                             const char  *chain_pem,
                                             char       **device_id,
                                             GError     **error);

/* Adds @revocation (already verified) unless known; TRUE when it was new. */
gboolean   _ferry_account_store_revocation  (const char  *home,
                                             JsonObject  *revocation,
                                             GError     **error);

/* Remembers a device of this home's account seen through signaling, in
 * <home>/devices.json ({"<device id>": {"name", "last-seen": unix ms}}). */
void       _ferry_account_note_device       (const char  *home,
                                             const char  *device_id,
                                             const char  *name);

G_END_DECLS
