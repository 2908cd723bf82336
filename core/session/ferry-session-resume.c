/* ferry-session-resume.c: a receiver continues what an earlier attempt
 * of the same transfer left: .part files, and files already verified
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


#include "ferry-part-file-private.h"
#include "ferry-sanitize-private.h"
#include "ferry-session-receiver-private.h"

/* The last component of @path. */
static const char *
base_of (const char *path)
{
  const char *slash = strrchr (path, '/');

  return slash ? slash + 1 : path;
}

/* Whether @recorded (relative to the download folder) can be where file
 * @file lies, its top-level folder renamed: "<top>/<rest of dir>/<base>",
 * <top> one safe component; then *@top is it. */
static gboolean
recorded_fits (FerrySessionFile  *file,
               const char        *recorded,
               char             **top)
{
  const char *rest_of_dir = strchr (file->dir, '/');
  const char *slash = strchr (recorded, '/');
  g_autofree char *name = NULL;
  g_autofree char *safe = NULL;
  g_autofree char *expected = NULL;

  if (slash == NULL)
    return FALSE;
  name = g_strndup (recorded, slash - recorded);
  safe = _ferry_sanitize_filename (name);
  if (!g_str_equal (name, safe) || g_str_equal (name, ".") || g_str_equal (name, ".."))
    return FALSE;
  expected = g_strconcat (name, rest_of_dir ? rest_of_dir : "", "/", base_of (recorded), NULL);
  if (!g_str_equal (expected, recorded) || strchr (base_of (recorded), '\\') != NULL)
    return FALSE;
  *top = g_steal_pointer (&name);
  return TRUE;
}

GHashTable *
_ferry_receiver_resumed_tops (GPtrArray *files)
{
  GHashTable *tops = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  for (guint i = 0; i < files->len; i++)
    {
      FerrySessionFile *file = g_ptr_array_index (files, i);
      const char *recorded = file->done_name ? file->done_name : file->part_name;
      g_autofree char *offered = NULL;
      g_autofree char *top = NULL;
      const char *known;

      if (file->dir == NULL || recorded == NULL)
        continue;
      offered = g_strndup (file->dir, strcspn (file->dir, "/"));
      known = g_hash_table_lookup (tops, offered);
      if (!recorded_fits (file, recorded, &top) || (known != NULL && !g_str_equal (known, top)))
        {
          g_debug ("Cannot resume “%s”: receiving it whole", recorded);
          g_clear_pointer (&file->done_name, g_free);
          g_clear_pointer (&file->part_name, g_free);
          continue;
        }
      if (known == NULL)
        g_hash_table_insert (tops, g_steal_pointer (&offered), g_steal_pointer (&top));
    }
  return tops;
}

char *
_ferry_receiver_record_name (FerryReceiver    *receiver,
                             FerrySessionFile *file,
                             const char       *base)
{
  g_autofree char *dir = NULL;

  if (file->dir == NULL || base == NULL)
    return g_strdup (base);
  dir = _ferry_folder_writer_path (receiver->folders, file->dir);
  return g_strconcat (dir, "/", base, NULL);
}

/* A file verified earlier: a regular file of the right size. */
static int
open_done (int               dirfd,
           FerrySessionFile *file)
{
  int fd = openat (dirfd, base_of (file->done_name), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
  struct stat st;

  if (fd >= 0 && fstat (fd, &st) == 0 && S_ISREG (st.st_mode) && (guint64) st.st_size == file->size)
    return fd;
  if (fd >= 0)
    close (fd);
  return -1;
}

/* Whether the verified file open at @fd still has the digest it had when
 * it was verified (when that is known); a file the user changed since is
 * received whole again, under a new name, rather than failing the
 * transfer at its end. Reads the whole file once: an unchanged file's
 * digest is then known, and it is not hashed again (see
 * _ferry_receiver_open_resumed()). */
static gboolean
done_unchanged (FerryReceiver    *receiver,
                FerrySessionFile *file,
                int               fd)
{
  g_autoptr(FerryHasher) hasher = NULL;
  g_autofree char *digest = NULL;
  FerryBuffer *buffer;
  gsize capacity;
  guint64 done = 0;
  gboolean read_ok = TRUE;

  if (file->expected_sha3 == NULL)
    return TRUE;   /* recorded before digests were: checked at its end */
  hasher = _ferry_hasher_new ();
  buffer = _ferry_pool_take (receiver->pool);
  capacity = _ferry_pool_get_capacity (receiver->pool);
  while (read_ok && done < file->size)
    {
      gsize want = (gsize) MIN ((guint64) capacity, file->size - done);

      read_ok = _ferry_part_file_read_at (fd, FERRY_BUFFER_PAYLOAD (buffer), want, done, file->name, NULL);
      if (read_ok)
        _ferry_hasher_update (hasher, FERRY_BUFFER_PAYLOAD (buffer), want);
      done += want;
      _ferry_session_touch (receiver->op->self);
    }
  _ferry_buffer_release (buffer);
  digest = _ferry_hasher_finish (hasher);
  return read_ok && g_str_equal (digest, file->expected_sha3);
}

/* Opens what file @file continues: a file verified earlier, or its
 * .part; -1 (and the names forgotten) when neither can be used, and the
 * file is then received whole. */
static int
open_resumed (FerryReceiver    *receiver,
              FerrySessionFile *file)
{
  guint64 length = 0;
  int dirfd = receiver->dirfd;
  int fd = -1;

  if (file->done_name == NULL && file->part_name == NULL)
    return -1;
  if (file->dir != NULL &&
      (dirfd = _ferry_folder_writer_open (receiver->folders, file->dir, NULL)) < 0)
    goto whole;
  if (file->dir == NULL && strchr (file->done_name ? file->done_name : file->part_name, '/') != NULL)
    goto whole;

  if (file->done_name != NULL && (fd = open_done (dirfd, file)) >= 0)
    {
      if (done_unchanged (receiver, file, fd))
        {
          g_clear_pointer (&file->part_name, g_free);
          file->offset = file->size;
          return fd;
        }
      g_debug ("“%s” changed since it was verified: receiving it again", file->done_name);
      close (fd);
      fd = -1;
      g_clear_pointer (&file->part_name, g_free);  /* whole, under a new name */
    }
  g_clear_pointer (&file->done_name, g_free);
  if (file->part_name != NULL &&
      (fd = _ferry_part_file_open_resume (dirfd, base_of (file->part_name), file->size, &length)) >= 0)
    {
      file->offset = length;
      return fd;
    }

whole:
  g_debug ("Cannot resume “%s”: receiving it whole", file->name);
  g_clear_pointer (&file->done_name, g_free);
  g_clear_pointer (&file->part_name, g_free);
  file->offset = 0;
  return -1;
}

/* Hashes the first @length bytes of the resumed file @index. */
static gboolean
hash_prefix (FerryReceiver  *receiver,
             guint           index,
             int             fd,
             guint64         length,
             const char     *name,
             GError        **error)
{
  gsize capacity = _ferry_pool_get_capacity (receiver->pool);
  guint64 done = 0;

  while (done < length)
    {
      FerryBuffer *buffer = _ferry_pool_take (receiver->pool);
      gsize want = (gsize) MIN ((guint64) capacity, length - done);

      if (!_ferry_part_file_read_at (fd, FERRY_BUFFER_PAYLOAD (buffer), want, done, name, error))
        {
          _ferry_buffer_release (buffer);
          return FALSE;
        }
      buffer->len = want;
      _ferry_hash_share_push (receiver->hashes, index, done, buffer);
      _ferry_buffer_release (buffer);
      done += want;
      /* Hashing what is on disk is not the peer's silence. */
      _ferry_session_touch (receiver->op->self);
    }

  return TRUE;
}

gboolean
_ferry_receiver_open_resumed (FerryReceiver  *receiver,
                              GError        **error)
{
  FerrySessionOp *op = receiver->op;

  receiver->resume_fds = g_new (int, op->files->len);
  for (guint i = 0; i < op->files->len; i++)
    receiver->resume_fds[i] = open_resumed (receiver, g_ptr_array_index (op->files, i));

  /* Every resumed prefix is hashed before the accept (each file has a
   * hash of its own): meanwhile the sender waits for the answer, not on
   * a stream nobody reads, which its stall timeout would take for a lost
   * connection. A verified file found unchanged (it kept its done_name)
   * has the digest it was checked against. */
  for (guint i = 0; i < op->files->len; i++)
    {
      FerrySessionFile *file = g_ptr_array_index (op->files, i);

      if (receiver->resume_fds[i] < 0 || file->offset == 0)
        continue;
      if (file->done_name != NULL && file->expected_sha3 != NULL)
        _ferry_hash_share_set_digest (receiver->hashes, i, file->size, file->expected_sha3);
      else if (!hash_prefix (receiver, i, receiver->resume_fds[i], file->offset, file->name, error))
        return FALSE;
    }

  return TRUE;
}
