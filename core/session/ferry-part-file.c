/* ferry-part-file.c: ".part" files in the download folder
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#ifndef _GNU_SOURCE
# define _GNU_SOURCE 1   /* renameat2, syncfs */
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <glib/gi18n-lib.h>

#include "ferry-error.h"
#include "ferry-part-file-private.h"
#include "ferry-sanitize-private.h"

/* Kept free beyond what the files need: 1% of the volume, between these
 * bounds, so that a small volume still takes a small file. */
#define SPACE_MARGIN_MIN  (G_GUINT64_CONSTANT (64) * 1024)
#define SPACE_MARGIN_MAX  (G_GUINT64_CONSTANT (16) * 1024 * 1024)
#define MAX_NAME_VARIANTS 10000

void
_ferry_part_file_set_error (GError     **error,
                            int          saved_errno,
                            const char  *format,
                            const char  *name)
{
  if (saved_errno == ENOSPC || saved_errno == EDQUOT)
    g_set_error (error, FERRY_ERROR, FERRY_ERROR_NO_SPACE,
                 _("The download folder is full: %s"), g_strerror (saved_errno));
  else
    {
      g_autofree char *what = g_strdup_printf (format, name);

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "%s: %s", what, g_strerror (saved_errno));
    }
}

int
_ferry_part_file_open_directory (GFile   *directory,
                                 GError **error)
{
  g_autofree char *path = g_file_get_path (directory);
  int dirfd;

  if (path == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                           _("The download folder must be a local folder"));
      return -1;
    }

  dirfd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    {
      _ferry_part_file_set_error (error, errno, _("Could not open the download folder “%s”"), path);
      return -1;
    }

  if (faccessat (dirfd, ".", W_OK | X_OK, AT_EACCESS) != 0)
    {
      _ferry_part_file_set_error (error, errno, _("Cannot write to the download folder “%s”"), path);
      close (dirfd);
      return -1;
    }

  return dirfd;
}

guint64
_ferry_part_file_space_margin (guint64 volume_size)
{
  return CLAMP (volume_size / 100, SPACE_MARGIN_MIN, SPACE_MARGIN_MAX);
}

gboolean
_ferry_part_file_check_space (int       dirfd,
                              guint64   needed,
                              GError  **error)
{
  struct statvfs st;
  guint64 available;
  guint64 margin;

  /* Unknown: the writes will tell. */
  if (fstatvfs (dirfd, &st) != 0)
    return TRUE;

  available = (guint64) st.f_bavail * (guint64) st.f_frsize;
  margin = _ferry_part_file_space_margin ((guint64) st.f_blocks * (guint64) st.f_frsize);
  if (needed > available || available - needed < margin)
    {
      g_autofree char *needed_str = g_format_size (needed);
      g_autofree char *margin_str = g_format_size (margin);
      g_autofree char *available_str = g_format_size (available);

      /* TRANSLATORS: "1.0 kB needed and 64.0 kB kept free, 20.5 kB available" */
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_NO_SPACE,
                   _("Not enough free space in the download folder: "
                     "%s needed and %s kept free, %s available"),
                   needed_str, margin_str, available_str);
      return FALSE;
    }

  return TRUE;
}

int
_ferry_part_file_create (int          dirfd,
                         const char  *name,
                         char       **part_name,
                         GError     **error)
{
  for (guint n = 0; n < MAX_NAME_VARIANTS; n++)
    {
      g_autofree char *variant = _ferry_filename_variant (name, n);
      g_autofree char *candidate = g_strconcat (variant, ".part", NULL);
      int fd;

      /* sanitised names never hold one; refuse rather than trust it */
      if (strchr (candidate, '/') != NULL)
        break;

      fd = openat (dirfd, candidate,
                   O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
      if (fd >= 0)
        {
          *part_name = g_steal_pointer (&candidate);
          return fd;
        }

      if (errno != EEXIST)
        {
          _ferry_part_file_set_error (error, errno, _("Could not create “%s”"), candidate);
          return -1;
        }
    }

  g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
               _("Could not find a free name for “%s”"), name);
  return -1;
}

int
_ferry_part_file_open_resume (int         dirfd,
                              const char *part_name,
                              guint64     max_size,
                              guint64    *length)
{
  struct stat st;
  int fd;

  if (strchr (part_name, '/') != NULL || !g_str_has_suffix (part_name, ".part") ||
      part_name[0] == '.')
    return -1;

  fd = openat (dirfd, part_name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return -1;
  /* A second link could be a file outside the folder; a longer file is
   * not the beginning of this one (and not ours to truncate). */
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode) || st.st_nlink != 1 ||
      (guint64) st.st_size > max_size)
    {
      close (fd);
      return -1;
    }

  *length = (guint64) st.st_size;
  return fd;
}

gboolean
_ferry_part_file_read_at (int          fd,
                          guint8      *data,
                          gsize        length,
                          guint64      offset,
                          const char  *name,
                          GError     **error)
{
  gsize got = 0;

  while (got < length)
    {
      ssize_t n = pread (fd, data + got, length - got, (off_t) (offset + got));

      if (n < 0 && errno == EINTR)
        continue;
      if (n == 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                       _("“%s.part” became shorter while resuming"), name);
          return FALSE;
        }
      if (n < 0)
        {
          _ferry_part_file_set_error (error, errno, _("Could not read “%s”"), name);
          return FALSE;
        }
      got += (gsize) n;
    }

  return TRUE;
}

gboolean
_ferry_part_file_seek (int          fd,
                       guint64      offset,
                       const char  *name,
                       GError     **error)
{
  if (lseek (fd, (off_t) offset, SEEK_SET) < 0)
    {
      _ferry_part_file_set_error (error, errno, _("Could not write “%s”"), name);
      return FALSE;
    }

  return TRUE;
}

gboolean
_ferry_part_file_write (int            fd,
                        const guint8  *data,
                        gsize          length,
                        const char    *name,
                        GError       **error)
{
  while (length > 0)
    {
      gssize n = write (fd, data, MIN (length, (gsize) G_MAXSSIZE));

      if (n < 0)
        {
          int saved_errno = errno;

          if (saved_errno == EINTR)
            continue;
          _ferry_part_file_set_error (error, saved_errno, _("Could not write “%s”"), name);
          return FALSE;
        }

      data += n;
      length -= n;
    }

  return TRUE;
}

void
_ferry_part_file_write_behind (int     fd,
                               guint64 start,
                               guint64 end)
{
  /* Starts the writeback of these bytes, without waiting for it. */
  if (sync_file_range (fd, (off_t) start, (off_t) (end - start), SYNC_FILE_RANGE_WRITE) != 0)
    g_debug ("sync_file_range: %s", g_strerror (errno));
}

void
_ferry_part_file_drop_behind (int     fd,
                              guint64 start,
                              guint64 end)
{
  int err;

  if (sync_file_range (fd, (off_t) start, (off_t) (end - start),
                       SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                       SYNC_FILE_RANGE_WAIT_AFTER) != 0)
    {
      /* an error shows again at the final sync */
      g_debug ("sync_file_range: %s", g_strerror (errno));
      return;
    }
  /* clean pages only: none of the data is lost */
  err = posix_fadvise (fd, (off_t) start, (off_t) (end - start), POSIX_FADV_DONTNEED);
  if (err != 0)
    g_debug ("posix_fadvise: %s", g_strerror (err));
}

gboolean
_ferry_part_file_sync (int          fd,
                       const char  *name,
                       GError     **error)
{
  int result;

  do
    result = fdatasync (fd);
  while (result != 0 && errno == EINTR);
  if (result != 0)
    {
      _ferry_part_file_set_error (error, errno, _("Could not write “%s”"), name);
      return FALSE;
    }

  return TRUE;
}

gboolean
_ferry_part_file_sync_directory (int      dirfd,
                                 GError **error)
{
  int result;

  do
    result = fsync (dirfd);
  while (result != 0 && errno == EINTR);
  /* some file systems cannot sync a directory: nothing more to do there */
  if (result != 0 && errno != EINVAL && errno != EROFS)
    {
      _ferry_part_file_set_error (error, errno, _("Could not write “%s”"),
                                  _("the download folder"));
      return FALSE;
    }

  return TRUE;
}

gboolean
_ferry_part_file_sync_all (int      dirfd,
                           GError **error)
{
  if (syncfs (dirfd) != 0)
    {
      _ferry_part_file_set_error (error, errno, _("Could not write “%s”"),
                                  _("the download folder"));
      return FALSE;
    }

  return TRUE;
}

gboolean
_ferry_part_file_close (int          fd,
                        const char  *name,
                        GError     **error)
{
  if (close (fd) != 0)
    {
      _ferry_part_file_set_error (error, errno, _("Could not write “%s”"), name);
      return FALSE;
    }

  return TRUE;
}

char *
_ferry_part_file_publish (int          dirfd,
                          const char  *part_name,
                          const char  *name,
                          GError     **error)
{
  for (guint n = 0; n < MAX_NAME_VARIANTS; n++)
    {
      g_autofree char *candidate = _ferry_filename_variant (name, n);
      int saved_errno;

      /* one step where the file system can refuse to replace a name */
      if (renameat2 (dirfd, part_name, dirfd, candidate, RENAME_NOREPLACE) == 0)
        return g_steal_pointer (&candidate);
      saved_errno = errno;
      if (saved_errno == EEXIST)
        continue;

      /* else a link, which never replaces either, then the .part goes */
      if (saved_errno == EINVAL || saved_errno == ENOSYS || saved_errno == EOPNOTSUPP)
        {
          if (linkat (dirfd, part_name, dirfd, candidate, 0) == 0)
            {
              if (unlinkat (dirfd, part_name, 0) != 0)
                g_debug ("Could not remove “%s”: %s", part_name, g_strerror (errno));
              return g_steal_pointer (&candidate);
            }
          saved_errno = errno;
          if (saved_errno == EEXIST)
            continue;
        }

      _ferry_part_file_set_error (error, saved_errno, _("Could not save “%s”"), candidate);
      return NULL;
    }

  g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
               _("Could not find a free name for “%s”"), name);
  return NULL;
}

void
_ferry_part_file_remove (int         dirfd,
                         const char *part_name)
{
  if (unlinkat (dirfd, part_name, 0) != 0)
    g_debug ("Could not remove “%s”: %s", part_name, g_strerror (errno));
}
