/* ferry-transfer-contents.c: what a transfer carries besides its files
 * (a folder, a text, what was skipped), and waiting for its end
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "ferry-error.h"
#include "ferry-transfer-internal.h"

/**
 * ferry_transfer_get_text:
 * @self: a #FerryTransfer
 *
 * Gets the text the transfer carries instead of files (see
 * ferry_engine_send_text()). On the receiving side it is known when the
 * transfer is offered and should be shown once it was accepted.
 *
 * Returns: (nullable): the text, or %NULL for a transfer of files
 */
const char *
ferry_transfer_get_text (FerryTransfer *self)
{
  g_return_val_if_fail (FERRY_IS_TRANSFER (self), NULL);

  return self->text;
}

void
_ferry_transfer_set_text (FerryTransfer *self,
                          const char    *text)
{
  g_free (self->text);
  self->text = g_strdup (text);
}

/**
 * ferry_transfer_get_skipped:
 * @self: a #FerryTransfer
 *
 * Gets what the sending side left out of the folders it sends: symbolic
 * links (never followed) and special files, as paths relative to the
 * folders' parents.
 *
 * Returns: (transfer none) (array zero-terminated=1) (nullable): the
 *   paths, or %NULL when nothing was skipped
 */
const char * const *
ferry_transfer_get_skipped (FerryTransfer *self)
{
  g_return_val_if_fail (FERRY_IS_TRANSFER (self), NULL);

  return self->skipped ? (const char * const *) self->skipped->pdata : NULL;
}

void
_ferry_transfer_add_skipped (FerryTransfer *self,
                             const char    *path)
{
  if (self->skipped == NULL)
    self->skipped = g_ptr_array_new_null_terminated (1, g_free, TRUE);
  g_ptr_array_add (self->skipped, g_strdup (path));
}

void
_ferry_transfer_set_directories (FerryTransfer *self,
                                 GPtrArray     *directories)
{
  g_clear_pointer (&self->directories, g_ptr_array_unref);
  self->directories = directories ? g_ptr_array_ref (directories) : NULL;
}

GPtrArray *
_ferry_transfer_get_directories (FerryTransfer *self)
{
  return self->directories;
}

/**
 * ferry_transfer_get_n_files:
 * @self: a #FerryTransfer
 *
 * Gets how many files the transfer carries. An incoming transfer knows
 * it from the offer, whose file model may list only the first files
 * until the transfer was accepted and connected.
 *
 * Returns: the number of files
 */
guint
ferry_transfer_get_n_files (FerryTransfer *self)
{
  g_return_val_if_fail (FERRY_IS_TRANSFER (self), 0);

  return self->n_files;
}

/**
 * ferry_transfer_get_folder:
 * @self: a #FerryTransfer
 *
 * Gets the name of the folder the transfer carries, when it carries one
 * folder and nothing beside it (on the receiving side, known from the
 * offer and sanitised).
 *
 * Returns: (nullable): the folder's name, or %NULL
 */
const char *
ferry_transfer_get_folder (FerryTransfer *self)
{
  g_return_val_if_fail (FERRY_IS_TRANSFER (self), NULL);

  return self->folder;
}

/**
 * ferry_transfer_is_text:
 * @self: a #FerryTransfer
 *
 * Tells whether the transfer carries a text instead of files (see
 * ferry_engine_send_text()); known from the offer, before the text
 * itself arrives (see ferry_transfer_get_text()).
 *
 * Returns: %TRUE for a text
 */
gboolean
ferry_transfer_is_text (FerryTransfer *self)
{
  g_return_val_if_fail (FERRY_IS_TRANSFER (self), FALSE);

  return self->is_text || self->text != NULL;
}

/**
 * ferry_transfer_wait_async:
 * @self: a #FerryTransfer
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the transfer is done
 * @user_data: data for @callback
 *
 * Waits until the transfer reaches a final state. Cancelling @cancellable
 * stops the wait, not the transfer.
 */
void
ferry_transfer_wait_async (FerryTransfer       *self,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (FERRY_IS_TRANSFER (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, ferry_transfer_wait_async);
  g_task_set_check_cancellable (task, TRUE);

  if (self->state == FERRY_TRANSFER_STATE_FINISHED)
    g_task_return_boolean (task, TRUE);
  else if (_ferry_transfer_state_is_done (self->state))
    g_task_return_error (task, self->error ? g_error_copy (self->error)
                                           : g_error_new (FERRY_ERROR, FERRY_ERROR_FAILED,
                                                          _("The transfer did not finish")));
  else
    g_ptr_array_add (self->waiters, g_steal_pointer (&task));
}

/**
 * ferry_transfer_wait_finish:
 * @self: a #FerryTransfer
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes an operation started with ferry_transfer_wait_async().
 *
 * Returns: %TRUE when the transfer finished and every file was verified;
 *   %FALSE with the transfer's error otherwise
 */
gboolean
ferry_transfer_wait_finish (FerryTransfer  *self,
                            GAsyncResult   *result,
                            GError        **error)
{
  g_return_val_if_fail (FERRY_IS_TRANSFER (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
