/* ferry-transfer-file.c: one file of a transfer
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ferry-transfer-private.h"
#include "ferry-utils-private.h"

/**
 * FerryTransferFile:
 *
 * One file of a transfer: its name as offered (sanitised on the receiving
 * side), size and mime type, and once verified, where it was saved and its
 * SHA3-256.
 */
struct _FerryTransferFile
{
  GObject  parent_instance;

  char    *name;
  guint64  size;
  char    *mime_type;
  GFile   *file;
  char    *sha3_256;
  char    *path;
};

G_DEFINE_FINAL_TYPE (FerryTransferFile, ferry_transfer_file, G_TYPE_OBJECT)

enum {
  FILE_PROP_0,
  FILE_PROP_NAME,
  FILE_PROP_SIZE,
  FILE_PROP_MIME_TYPE,
  FILE_PROP_FILE,
  FILE_PROP_SHA3_256,
  N_FILE_PROPS
};

static GParamSpec *file_props[N_FILE_PROPS];

static void
ferry_transfer_file_finalize (GObject *object)
{
  FerryTransferFile *self = FERRY_TRANSFER_FILE (object);

  g_free (self->name);
  g_free (self->mime_type);
  g_clear_object (&self->file);
  g_free (self->sha3_256);
  g_free (self->path);

  G_OBJECT_CLASS (ferry_transfer_file_parent_class)->finalize (object);
}

static void
ferry_transfer_file_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  FerryTransferFile *self = FERRY_TRANSFER_FILE (object);

  switch (prop_id)
    {
    case FILE_PROP_NAME:
      g_value_set_string (value, self->name);
      break;
    case FILE_PROP_SIZE:
      g_value_set_uint64 (value, self->size);
      break;
    case FILE_PROP_MIME_TYPE:
      g_value_set_string (value, self->mime_type);
      break;
    case FILE_PROP_FILE:
      g_value_set_object (value, self->file);
      break;
    case FILE_PROP_SHA3_256:
      g_value_set_string (value, self->sha3_256);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ferry_transfer_file_class_init (FerryTransferFileClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = ferry_transfer_file_finalize;
  object_class->get_property = ferry_transfer_file_get_property;

  /**
   * FerryTransferFile:name:
   *
   * The file name: as offered on the sending side, sanitised to one safe
   * path component on the receiving side.
   */
  file_props[FILE_PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * FerryTransferFile:size:
   *
   * The size in bytes.
   */
  file_props[FILE_PROP_SIZE] =
    g_param_spec_uint64 ("size", NULL, NULL, 0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * FerryTransferFile:mime-type:
   *
   * The mime type the sender announced.
   */
  file_props[FILE_PROP_MIME_TYPE] =
    g_param_spec_string ("mime-type", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * FerryTransferFile:file:
   *
   * The source file on the sending side; on the receiving side the saved
   * file, set only once its SHA3-256 was verified.
   */
  file_props[FILE_PROP_FILE] =
    g_param_spec_object ("file", NULL, NULL, G_TYPE_FILE,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * FerryTransferFile:sha3-256:
   *
   * The SHA3-256 of the content in lower-case hex, once known.
   */
  file_props[FILE_PROP_SHA3_256] =
    g_param_spec_string ("sha3-256", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_FILE_PROPS, file_props);
}

static void
ferry_transfer_file_init (FerryTransferFile *self)
{
}

FerryTransferFile *
_ferry_transfer_file_new (const char *name,
                          guint64     size,
                          const char *mime_type,
                          GFile      *file)
{
  FerryTransferFile *self = g_object_new (FERRY_TYPE_TRANSFER_FILE, NULL);

  self->name = g_strdup (name);
  self->size = size;
  self->mime_type = g_strdup (mime_type);
  g_set_object (&self->file, file);
  return self;
}

void
_ferry_transfer_file_set_file (FerryTransferFile *self,
                               GFile             *file)
{
  if (g_set_object (&self->file, file))
    g_object_notify_by_pspec (G_OBJECT (self), file_props[FILE_PROP_FILE]);
}

void
_ferry_transfer_file_set_sha3_256 (FerryTransferFile *self,
                                   const char        *hex)
{
  if (_ferry_set_str (&self->sha3_256, hex))
    g_object_notify_by_pspec (G_OBJECT (self), file_props[FILE_PROP_SHA3_256]);
}

/**
 * ferry_transfer_file_get_name:
 * @self: a #FerryTransferFile
 *
 * Gets the file name: the sanitised name on the receiving side.
 *
 * Returns: the file name
 */
const char *
ferry_transfer_file_get_name (FerryTransferFile *self)
{
  g_return_val_if_fail (FERRY_IS_TRANSFER_FILE (self), NULL);
  return self->name;
}

/**
 * ferry_transfer_file_get_size:
 * @self: a #FerryTransferFile
 *
 * Gets the size of the file.
 *
 * Returns: the size in bytes
 */
guint64
ferry_transfer_file_get_size (FerryTransferFile *self)
{
  g_return_val_if_fail (FERRY_IS_TRANSFER_FILE (self), 0);
  return self->size;
}

/**
 * ferry_transfer_file_get_mime_type:
 * @self: a #FerryTransferFile
 *
 * Gets the mime type of the file, as the sender announced it.
 *
 * Returns: (nullable): the mime type the sender announced
 */
const char *
ferry_transfer_file_get_mime_type (FerryTransferFile *self)
{
  g_return_val_if_fail (FERRY_IS_TRANSFER_FILE (self), NULL);
  return self->mime_type;
}

/**
 * ferry_transfer_file_get_file:
 * @self: a #FerryTransferFile
 *
 * Gets the file on this device.
 *
 * Returns: (transfer none) (nullable): the source file when sending; the
 *   saved file when receiving, once verified
 */
GFile *
ferry_transfer_file_get_file (FerryTransferFile *self)
{
  g_return_val_if_fail (FERRY_IS_TRANSFER_FILE (self), NULL);
  return self->file;
}

/**
 * ferry_transfer_file_get_sha3_256:
 * @self: a #FerryTransferFile
 *
 * Gets the SHA3-256 of the file: on the sender once hashed, on the receiver
 * once verified.
 *
 * Returns: (nullable): the SHA3-256 in lower-case hex, once known
 */
const char *
ferry_transfer_file_get_sha3_256 (FerryTransferFile *self)
{
  g_return_val_if_fail (FERRY_IS_TRANSFER_FILE (self), NULL);
  return self->sha3_256;
}

/**
 * ferry_transfer_file_get_path:
 * @self: a #FerryTransferFile
 *
 * Gets where the file lies in the transfer: its name for a file sent on
 * its own, its path under the folder's name for a file of a folder
 * ("album/2024/a.jpg", '/'-separated, each component sanitised on the
 * receiving side).
 *
 * Returns: the relative path
 */
const char *
ferry_transfer_file_get_path (FerryTransferFile *self)
{
  g_return_val_if_fail (FERRY_IS_TRANSFER_FILE (self), NULL);

  return self->path ? self->path : self->name;
}

void
_ferry_transfer_file_set_path (FerryTransferFile *self,
                               const char        *path)
{
  g_free (self->path);
  self->path = g_strdup (path);
}
