/* ferry-transfer-private.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "ferry-transfer.h"

G_BEGIN_DECLS

typedef struct {
  void (*accept) (FerryTransfer *transfer, GFile *directory, gpointer user_data);
  void (*reject) (FerryTransfer *transfer, const char *reason, gpointer user_data);
  void (*cancel) (FerryTransfer *transfer, const char *reason, gpointer user_data);
} FerryTransferOps;

FerryTransferFile *_ferry_transfer_file_new      (const char        *name,
                                                  guint64            size,
                                                  const char        *mime_type,
                                                  GFile             *file);
void               _ferry_transfer_file_set_file (FerryTransferFile *self,
                                                  GFile             *file);
void               _ferry_transfer_file_set_sha3_256 (FerryTransferFile *self,
                                                      const char        *hex);

void               _ferry_transfer_file_set_path (FerryTransferFile *self,
                                                  const char        *path);
void           _ferry_transfer_set_text  (FerryTransfer          *self,
                                          const char             *text);
void           _ferry_transfer_add_skipped (FerryTransfer        *self,
                                            const char           *path);
/* The directories of the folders sent (FerrySessionDir), kept for the
 * sessions of each device. */
void           _ferry_transfer_set_directories (FerryTransfer    *self,
                                                GPtrArray        *directories);
GPtrArray     *_ferry_transfer_get_directories (FerryTransfer    *self);
/* What the offer says (or the sender sends): how many files, their
 * size, the one folder (or NULL), whether a text. The file model may list
 * fewer files than @n_files. */
void           _ferry_transfer_set_offered (FerryTransfer        *self,
                                            guint                 n_files,
                                            guint64               total_size,
                                            const char           *folder,
                                            gboolean              is_text);

FerryTransfer *_ferry_transfer_new       (const char             *id,
                                          FerryTransferDirection  direction,
                                          FerryDevice            *device);
void           _ferry_transfer_set_ops   (FerryTransfer          *self,
                                          const FerryTransferOps *ops,
                                          gpointer                user_data);
void           _ferry_transfer_add_file  (FerryTransfer          *self,
                                          FerryTransferFile      *file);
void           _ferry_transfer_set_state (FerryTransfer          *self,
                                          FerryTransferState      state,
                                          const GError           *error);
void           _ferry_transfer_set_bytes (FerryTransfer          *self,
                                          guint64                 bytes);
void           _ferry_transfer_set_chain (FerryTransfer          *self,
                                          const char             *chain);
void           _ferry_transfer_add_path  (FerryTransfer          *self,
                                          const char             *transport,
                                          guint64                 carried);
void           _ferry_transfer_add_sub_transfer (FerryTransfer   *self,
                                                 FerryTransfer   *sub);

G_END_DECLS
