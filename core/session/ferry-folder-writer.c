/* ferry-folder-writer.c: the directories of received folders
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#ifndef _GNU_SOURCE
# define _GNU_SOURCE 1   /* syncfs */
#endif

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gi18n-lib.h>

#include "ferry-folder-writer-private.h"
#include "ferry-part-file-private.h"
#include "ferry-sanitize-private.h"
#include "ferry-session-private.h"

#define MAX_NAME_VARIANTS 10000

struct _FerryFolderWriter
{
  int         rootfd;     /* the download folder (borrowed) */
  GPtrArray  *dirs;       /* FerrySessionDir */
  GHashTable *tops;       /* offered top-level name → the one created */
  GHashTable *resumed;    /* offered top-level name → the one an earlier attempt created */
  char       *cached;     /* the directory of cached_fd, as offered */
  int         cached_fd;
};

static char *
split_top (const char  *path,
           const char **rest)
{
  const char *slash = strchr (path, '/');

  *rest = slash ? slash : "";
  return slash ? g_strndup (path, slash - path) : g_strdup (path);
}

char *
_ferry_folder_writer_path (FerryFolderWriter *self,
                           const char        *dir)
{
  const char *rest;
  g_autofree char *top = split_top (dir, &rest);
  const char *actual = g_hash_table_lookup (self->tops, top);

  return g_strconcat (actual ? actual : top, rest, NULL);
}

/* Opens @path (as created) component by component. */
static int
open_path (int          rootfd,
           const char  *path,
           GError     **error)
{
  g_auto(GStrv) parts = g_strsplit (path, "/", -1);
  int fd = rootfd;

  for (guint i = 0; parts[i] != NULL; i++)
    {
      int next = openat (fd, parts[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      int saved_errno = errno;

      if (fd != rootfd)
        close (fd);
      if (next < 0)
        {
          _ferry_part_file_set_error (error, saved_errno, _("Could not open the folder “%s”"), path);
          return -1;
        }
      fd = next;
    }

  return fd;
}

int
_ferry_folder_writer_open (FerryFolderWriter  *self,
                           const char         *dir,
                           GError            **error)
{
  g_autofree char *actual = NULL;

  if (self->cached != NULL && g_str_equal (self->cached, dir))
    return self->cached_fd;

  if (self->cached_fd >= 0)
    close (self->cached_fd);
  g_clear_pointer (&self->cached, g_free);
  actual = _ferry_folder_writer_path (self, dir);
  self->cached_fd = open_path (self->rootfd, actual, error);
  if (self->cached_fd >= 0)
    self->cached = g_strdup (dir);
  return self->cached_fd;
}

/* A new top-level folder under a free name, or the one a resumed
 * transfer created (a directory, not through a link). */
static gboolean
make_top (FerryFolderWriter  *self,
          const char         *name,
          GError            **error)
{
  const char *earlier = self->resumed ? g_hash_table_lookup (self->resumed, name) : NULL;

  if (earlier != NULL)
    {
      int fd = openat (self->rootfd, earlier, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

      if (fd < 0)
        {
          _ferry_part_file_set_error (error, errno, _("Could not open the folder “%s”"), earlier);
          return FALSE;
        }
      close (fd);
      g_hash_table_insert (self->tops, g_strdup (name), g_strdup (earlier));
      return TRUE;
    }

  for (guint n = 0; n < MAX_NAME_VARIANTS; n++)
    {
      g_autofree char *candidate = _ferry_filename_variant (name, n);

      if (mkdirat (self->rootfd, candidate, 0755) == 0)
        {
          g_hash_table_insert (self->tops, g_strdup (name), g_steal_pointer (&candidate));
          return TRUE;
        }
      if (errno != EEXIST)
        {
          _ferry_part_file_set_error (error, errno, _("Could not create the folder “%s”"), candidate);
          return FALSE;
        }
    }

  g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
               _("Could not find a free name for “%s”"), name);
  return FALSE;
}

static gboolean
make_dir (FerryFolderWriter  *self,
          const char         *path,
          GError            **error)
{
  const char *slash = strrchr (path, '/');
  g_autofree char *parent = NULL;
  int parentfd;

  if (slash == NULL)
    return make_top (self, path, error);

  parent = g_strndup (path, slash - path);
  parentfd = _ferry_folder_writer_open (self, parent, error);
  if (parentfd < 0)
    return FALSE;
  /* in a resumed folder, it may be there: opened with O_NOFOLLOW later */
  if (mkdirat (parentfd, slash + 1, 0755) != 0 &&
      !(errno == EEXIST && self->resumed != NULL))
    {
      _ferry_part_file_set_error (error, errno, _("Could not create the folder “%s”"), path);
      return FALSE;
    }
  return TRUE;
}

FerryFolderWriter *
_ferry_folder_writer_new (int         dirfd,
                          GPtrArray  *dirs,
                          GHashTable *resumed,
                          GError    **error)
{
  FerryFolderWriter *self = g_new0 (FerryFolderWriter, 1);

  if (resumed != NULL && g_hash_table_size (resumed) > 0)
    self->resumed = g_hash_table_ref (resumed);

  self->rootfd = dirfd;
  self->cached_fd = -1;
  self->tops = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->dirs = dirs ? g_ptr_array_ref (dirs) : NULL;

  /* parents come first */
  for (guint i = 0; dirs != NULL && i < dirs->len; i++)
    if (!make_dir (self, ((FerrySessionDir *) g_ptr_array_index (dirs, i))->path, error))
      {
        _ferry_folder_writer_free (self);
        return NULL;
      }

  return self;
}

static void
set_dir_time (FerryFolderWriter *self,
              FerrySessionDir   *dir)
{
  struct timespec times[2] = { { 0, UTIME_OMIT }, { dir->mtime, 0 } };
  const char *slash = strrchr (dir->path, '/');
  g_autofree char *parent = slash ? g_strndup (dir->path, slash - dir->path) : NULL;
  g_autofree char *top = NULL;
  int fd;

  if (parent == NULL)
    {
      top = _ferry_folder_writer_path (self, dir->path);
      fd = self->rootfd;
    }
  else if ((fd = _ferry_folder_writer_open (self, parent, NULL)) < 0)
    return;

  if (utimensat (fd, top ? top : slash + 1, times, AT_SYMLINK_NOFOLLOW) != 0)
    g_debug ("Could not set the time of “%s”: %s", dir->path, g_strerror (errno));
}

gboolean
_ferry_folder_writer_finish (FerryFolderWriter  *self,
                             GError            **error)
{
  for (guint i = self->dirs ? self->dirs->len : 0; i-- > 0;)
    {
      FerrySessionDir *dir = g_ptr_array_index (self->dirs, i);

      if (dir->mtime > 0)
        set_dir_time (self, dir);
    }
  return TRUE;
}

void
_ferry_folder_writer_free (FerryFolderWriter *self)
{
  if (self == NULL)
    return;

  if (self->cached_fd >= 0)
    close (self->cached_fd);
  g_free (self->cached);
  g_clear_pointer (&self->tops, g_hash_table_unref);
  g_clear_pointer (&self->resumed, g_hash_table_unref);
  g_clear_pointer (&self->dirs, g_ptr_array_unref);
  g_free (self);
}

void
_ferry_folder_set_attributes (int      fd,
                              gboolean executable,
                              gint64   mtime)
{
  struct stat st;

  if (executable && fstat (fd, &st) == 0)
    {
      /* x where r is: what the umask let readers have */
      mode_t mode = (st.st_mode & 0777) | ((st.st_mode & 0444) >> 2);

      if (fchmod (fd, mode) != 0)
        g_debug ("Could not make a file executable: %s", g_strerror (errno));
    }
  if (mtime > 0)
    {
      struct timespec times[2] = { { 0, UTIME_OMIT }, { mtime, 0 } };

      if (futimens (fd, times) != 0)
        g_debug ("Could not set a file's time: %s", g_strerror (errno));
    }
}
