/* test-faults.c: the receiver on a small volume
 *
 * The volume is a tmpfs of a few hundred KiB mounted in a mount namespace
 * of the test's own (root only: elsewhere the test is skipped, and fails
 * under FERRY_TEST_NO_SKIP=1), so nothing outside the test sees it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#ifndef _GNU_SOURCE
# define _GNU_SOURCE 1   /* unshare */
#endif

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "ferry-error.h"
#include "ferry-part-file-private.h"
#include "test-utils.h"

#define KIB 1024

/* Mounts a tmpfs of @size_kib KiB on a fresh folder, seen by this thread
 * only; returns the folder, or NULL after a skip. */
static char *
small_volume (guint size_kib)
{
  g_autofree char *dir = ferry_test_make_dir ("volume");
  g_autofree char *options = g_strdup_printf ("size=%uk,mode=0700", size_kib);

  if (unshare (CLONE_NEWNS) != 0)
    {
      g_autofree char *reason = g_strdup_printf ("no mount namespace of our own: %s",
                                                 g_strerror (errno));

      ferry_test_skip_or_fail (reason);
      return NULL;
    }
  /* what is mounted here stays here */
  g_assert_cmpint (mount ("none", "/", NULL, MS_REC | MS_PRIVATE, NULL), ==, 0);
  if (mount ("ferry-test", dir, "tmpfs", MS_NOSUID | MS_NODEV, options) != 0)
    {
      g_autofree char *reason = g_strdup_printf ("cannot mount a tmpfs: %s", g_strerror (errno));

      ferry_test_skip_or_fail (reason);
      return NULL;
    }
  return g_steal_pointer (&dir);
}

static guint64
available_bytes (int dirfd)
{
  struct statvfs st;

  g_assert_cmpint (fstatvfs (dirfd, &st), ==, 0);
  return (guint64) st.f_bavail * st.f_frsize;
}

/* Fills the volume up to @left free bytes, in one file. */
static void
fill_up_to (int     dirfd,
            guint64 left)
{
  guint64 available = available_bytes (dirfd);
  g_autofree guint8 *zeros = g_malloc0 (64 * KIB);
  int fd = openat (dirfd, "filler", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

  g_assert_cmpint (fd, >=, 0);
  while (available > left)
    {
      gsize n = MIN ((guint64) 64 * KIB, available - left);

      g_assert_cmpint (write (fd, zeros, n), ==, (gssize) n);
      available = available_bytes (dirfd);
    }
  g_assert_cmpint (close (fd), ==, 0);
}

/* A 1 KiB file fits on a 512 KiB volume; what does not fit is refused
 * with the figures that make the refusal true. */
static void
test_small_volume (void)
{
  g_autofree char *dir = small_volume (512);
  g_autoptr(GError) error = NULL;
  guint64 margin;
  guint64 available;
  int dirfd;

  if (dir == NULL)
    return;
  dirfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  g_assert_cmpint (dirfd, >=, 0);

  /* a 16 MiB margin would refuse it: the volume is smaller than that */
  g_assert_true (_ferry_part_file_check_space (dirfd, KIB, &error));
  g_assert_no_error (error);

  margin = _ferry_part_file_space_margin (512 * KIB);
  g_assert_cmpuint (margin, >=, 4 * KIB);
  g_assert_cmpuint (margin, <, 512 * KIB / 4);
  g_assert_cmpuint (_ferry_part_file_space_margin (G_GUINT64_CONSTANT (1) << 40), ==, 16 * 1024 * KIB);

  /* Nearly full: 1 KiB still fits above the margin, 100 KiB does not. */
  fill_up_to (dirfd, margin + 64 * KIB);
  available = available_bytes (dirfd);
  g_assert_true (_ferry_part_file_check_space (dirfd, KIB, &error));
  g_assert_no_error (error);
  g_assert_false (_ferry_part_file_check_space (dirfd, 100 * KIB, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_NO_SPACE);
  g_test_message ("%s", error->message);
  {
    g_autofree char *needed_str = g_format_size (100 * KIB);
    g_autofree char *margin_str = g_format_size (margin);
    g_autofree char *available_str = g_format_size (available);

    /* needed + kept free > available: the message holds all three */
    g_assert_cmpuint (100 * KIB + margin, >, available);
    g_assert_nonnull (strstr (error->message, needed_str));
    g_assert_nonnull (strstr (error->message, margin_str));
    g_assert_nonnull (strstr (error->message, available_str));
  }
  g_clear_error (&error);

  /* more than there is at all */
  g_assert_false (_ferry_part_file_check_space (dirfd, 1024 * KIB, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_NO_SPACE);

  g_assert_cmpint (unlinkat (dirfd, "filler", 0), ==, 0);
  g_assert_cmpint (close (dirfd), ==, 0);
  g_assert_cmpint (umount (dir), ==, 0);
  g_rmdir (dir);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/faults/space/small-volume", test_small_volume);

  return g_test_run ();
}
