/* ferry-transfer-ops.c: what outgoing and incoming transfers share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "ferry-engine-private.h"

GPtrArray *
_ferry_engine_list_transports (FerryEngine *self)
{
  GPtrArray *list = g_ptr_array_new_with_free_func (g_object_unref);
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->transports));

  for (guint i = 0; i < n; i++)
    g_ptr_array_add (list, g_list_model_get_item (G_LIST_MODEL (self->transports), i));
  return list;
}

void
_ferry_engine_release_attempts (GPtrArray  *transports,
                                const char *attempt_id)
{
  for (guint i = 0; transports != NULL && i < transports->len; i++)
    ferry_transport_release (g_ptr_array_index (transports, i), attempt_id);
}

/* Maps the error that ended a transfer to its final state. */
FerryTransferState
_ferry_engine_state_for_error (const GError *error)
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

char *
_ferry_engine_chain_text (FerrySignaling *signaling,
                          const char     *rest)
{
  return g_strdup_printf ("%s → %s", signaling ? ferry_signaling_get_name (signaling) : "?", rest);
}

/* A transport's stream moved to another path: the transfer it carries (an
 * attempt id is the id of its transfer) adds the path to its chain. */
void
_ferry_engine_transport_path_changed (FerryEngine    *self,
                                      const char     *attempt_id,
                                      const char     *description,
                                      guint64         carried,
                                      FerryTransport *transport)
{
  FerryOutgoing *outgoing = g_hash_table_lookup (self->outgoing, attempt_id);
  FerryIncoming *incoming = g_hash_table_lookup (self->incoming, attempt_id);
  FerryTransfer *transfer = outgoing ? outgoing->transfer : incoming ? incoming->transfer : NULL;

  if (transfer == NULL)
    return;
  g_debug ("transfer %s: the transport moved to %s", attempt_id, description);
  _ferry_transfer_add_path (transfer, description, carried);
}

FerryOpRef *
_ferry_op_ref_new (FerryEngine *engine,
                   const char  *id)
{
  FerryOpRef *ref = g_new0 (FerryOpRef, 1);

  ref->engine = g_object_ref (engine);
  ref->id = g_strdup (id);
  return ref;
}

void
_ferry_op_ref_free (FerryOpRef *ref)
{
  g_object_unref (ref->engine);
  g_free (ref->id);
  g_free (ref);
}
