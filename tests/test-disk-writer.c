/* test-disk-writer.c: a received file's data onto the disk
 *
 * A large file goes to the writer thread, which drops what it wrote
 * from the page cache as it goes; a small one is written on the
 * caller's thread. Both must leave exactly the bytes pushed, in order,
 * and a write that fails must come back to the receiving thread.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "ferry-disk-writer-private.h"
#include "ferry-error.h"

#define CHUNK (256 * 1024)

/* The byte at @offset of the test's data: not periodic at any power of two. */
static guint8
data_byte (guint64 offset)
{
  return (guint8) ((offset * 2654435761u) >> 13);
}

static void
fill (FerryBuffer *buffer,
      guint64      offset,
      gsize        length)
{
  for (gsize i = 0; i < length; i++)
    FERRY_BUFFER_PAYLOAD (buffer)[i] = data_byte (offset + i);
  buffer->len = length;
}

/* Pushes @size bytes from @offset through @writer into @fd. */
static gboolean
push_all (FerryDiskWriter  *writer,
          FerryPool        *pool,
          guint64           offset,
          guint64           size,
          GError          **error)
{
  for (guint64 at = offset; at < size; )
    {
      FerryBuffer *buffer = _ferry_pool_take (pool);
      gsize n = (gsize) MIN ((guint64) CHUNK, size - at);

      fill (buffer, at, n);
      at += n;
      if (!_ferry_disk_writer_push (writer, buffer, error))
        return FALSE;
    }

  return TRUE;
}

static void
check_file (const char *path,
            guint64     size)
{
  g_autofree char *contents = NULL;
  gsize length = 0;
  g_autoptr(GError) error = NULL;
  guint64 wrong = 0;

  g_file_get_contents (path, &contents, &length, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (length, ==, size);
  for (gsize i = 0; i < length; i++)
    if ((guint8) contents[i] != data_byte (i))
      wrong++;
  g_assert_cmpuint (wrong, ==, 0);
}

/* How many of the first @length bytes of @fd are in the page cache. */
static gsize
resident_pages (int   fd,
                gsize length)
{
  gsize page = (gsize) sysconf (_SC_PAGESIZE);
  gsize pages = (length + page - 1) / page;
  g_autofree unsigned char *vec = g_malloc (pages);
  void *map = mmap (NULL, length, PROT_READ, MAP_SHARED, fd, 0);
  gsize resident = 0;

  g_assert_true (map != MAP_FAILED);
  g_assert_cmpint (mincore (map, length, vec), ==, 0);
  for (gsize i = 0; i < pages; i++)
    resident += vec[i] & 1;
  munmap (map, length);

  return resident;
}

/* @size bytes, the first @offset of them already in the file (a resume). */
static void
write_and_check (guint64 size,
                 guint64 offset)
{
  g_autofree char *template = g_build_filename (g_test_get_dir (G_TEST_BUILT),
                                                "ferry-disk-writer-XXXXXX", NULL);
  g_autofree char *dir = g_mkdtemp (g_steal_pointer (&template));
  g_autofree char *path = g_build_filename (dir, "file.part", NULL);
  FerryPool *pool = _ferry_pool_new (CHUNK);
  FerryDiskWriter *writer = _ferry_disk_writer_new ();
  g_autoptr(GError) error = NULL;
  int fd;

  g_assert_nonnull (dir);
  fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  g_assert_cmpint (fd, >=, 0);
  if (offset > 0)
    {
      FerryBuffer *buffer = _ferry_pool_take (pool);

      /* a prefix of less than a chunk, so that the rest is unaligned */
      g_assert_cmpuint (offset, <, CHUNK);
      fill (buffer, 0, (gsize) offset);
      g_assert_cmpint (write (fd, FERRY_BUFFER_PAYLOAD (buffer), buffer->len), ==, (gssize) offset);
      _ferry_buffer_release (buffer);
    }

  _ferry_disk_writer_begin (writer, fd, "file", size, offset);
  g_assert_true (push_all (writer, pool, offset, size, &error));
  g_assert_no_error (error);
  g_assert_true (_ferry_disk_writer_finish (writer, &error));
  g_assert_no_error (error);
  /* a large file went through the page cache: its start is out of it,
   * but for a few pages the kernel was still busy with (not on a tmpfs,
   * which keeps everything: the build folder is used) */
  if (size >= 32 * 1024 * 1024)
    {
      struct statfs fs;

      g_assert_cmpint (fstatfs (fd, &fs), ==, 0);
      if (fs.f_type == TMPFS_MAGIC)
        g_test_message ("the build folder is on a tmpfs: its pages cannot be dropped");
      else
        g_assert_cmpuint (resident_pages (fd, 16 * 1024 * 1024), <, 16 * 1024 * 1024 / 4096 / 8);
    }
  g_assert_cmpint (close (fd), ==, 0);
  check_file (path, size);

  _ferry_disk_writer_free (writer);
  _ferry_pool_free (pool);
  g_unlink (path);
  g_rmdir (dir);
}

static void
test_large (void)
{
  /* the thread, the write-behind and the drop, and a last short buffer */
  write_and_check (48 * 1024 * 1024 + 12345, 0);
}

static void
test_large_resumed (void)
{
  write_and_check (40 * 1024 * 1024 + 7, 100001);
}

static void
test_small (void)
{
  write_and_check (3 * CHUNK + 17, 0);
}

/* Two files in a row through one writer (a thread from the first). */
static void
test_sequence (void)
{
  write_and_check (20 * 1024 * 1024, 0);
  write_and_check (CHUNK, 0);
}

/* /dev/full refuses every write (ENOSPC): on the thread, the error comes
 * back to a later push or to the finish, and every buffer goes back to
 * the pool (the pool's free waits for them). */
static void
test_error (gconstpointer data)
{
  guint64 size = GPOINTER_TO_UINT (data) * (guint64) 1024 * 1024;
  FerryPool *pool = _ferry_pool_new (CHUNK);
  FerryDiskWriter *writer = _ferry_disk_writer_new ();
  g_autoptr(GError) error = NULL;
  gboolean pushed;
  int fd = open ("/dev/full", O_WRONLY | O_CLOEXEC);

  g_assert_cmpint (fd, >=, 0);
  _ferry_disk_writer_begin (writer, fd, "full", size, 0);
  pushed = push_all (writer, pool, 0, size, &error);
  /* after a failed push too, the finish waits for what was queued */
  g_assert_false (_ferry_disk_writer_finish (writer, pushed ? &error : NULL));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_NO_SPACE);
  g_clear_error (&error);

  /* the next file starts clean */
  _ferry_disk_writer_begin (writer, fd, "full", 0, 0);
  g_assert_true (_ferry_disk_writer_finish (writer, &error));
  g_assert_no_error (error);

  close (fd);
  _ferry_disk_writer_free (writer);
  _ferry_pool_free (pool);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/disk-writer/large", test_large);
  g_test_add_func ("/disk-writer/large-resumed", test_large_resumed);
  g_test_add_func ("/disk-writer/small", test_small);
  g_test_add_func ("/disk-writer/sequence", test_sequence);
  g_test_add_data_func ("/disk-writer/error-thread", GUINT_TO_POINTER (32), test_error);
  g_test_add_data_func ("/disk-writer/error-here", GUINT_TO_POINTER (1), test_error);

  return g_test_run ();
}
