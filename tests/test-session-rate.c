/* test-session-rate.c: a paced sender over real loopback TCP: the rate
 * it keeps, a limit two sessions share, a sender cancelled while it waits
 * for the bucket, and the rates the settings take.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gstdio.h>

#include "ferry-error.h"
#include "test-session-common.h"

/* A paced sender: the data take at least what the rate allows (the
 * bucket starts with its burst), by the monotonic clock the limiter uses;
 * a burst smaller than a chunk cuts the chunks into frames of their own.
 * No upper bound: a loaded machine may be slower than the limit. */
static void
test_rate_limit (Fixture       *fx,
                 gconstpointer  data)
{
  static const struct {
    guint64 rate;
    gsize   size;
  } rounds[] = {
    { 8 * MIB, 4 * MIB },          /* a burst of several chunks */
    { MIB, MIB + 7 },              /* a burst of 100 KiB: chunks in pieces */
  };
  g_autofree char *path = g_build_filename (fx->src, "paced.bin", NULL);

  for (guint i = 0; i < G_N_ELEMENTS (rounds); i++)
    {
      g_autoptr(FerryRateLimit) limit = _ferry_rate_limit_new (rounds[i].rate);
      g_autoptr(GPtrArray) files = file_list ();
      g_autofree char *independent = NULL;
      g_autofree char *dst_path = NULL;
      guint64 burst = _ferry_rate_limit_get_burst (limit);
      gint64 least_us = (gint64) ((rounds[i].size - burst) * G_USEC_PER_SEC / rounds[i].rate);
      gint64 start;
      gint64 elapsed;
      Run run = { 0 };

      g_assert_cmpuint (burst, ==, rounds[i].rate / 10);
      ferry_test_write_random (path, rounds[i].size, 40 + i);
      independent = sha3_file (path);
      g_ptr_array_add (files, source_file (fx, "paced.bin"));
      run.rate_limit = limit;
      start = g_get_monotonic_time ();
      run_transfer (fx, &run, files);
      elapsed = g_get_monotonic_time () - start;

      g_assert_no_error (run.send_error);
      g_assert_no_error (run.recv_error);
      g_test_message ("%" G_GSIZE_FORMAT " bytes at %" G_GUINT64_FORMAT " B/s: %" G_GINT64_FORMAT
                      " us (at least %" G_GINT64_FORMAT "), %" G_GUINT64_FORMAT " waits",
                      rounds[i].size, rounds[i].rate, elapsed, least_us,
                      _ferry_rate_limit_get_waits (limit));
      g_assert_cmpint (elapsed, >=, least_us);
      g_assert_cmpuint (_ferry_rate_limit_get_waits (limit), >, 0);
      g_assert_cmpuint (_ferry_session_get_moved (run.receiver), ==, rounds[i].size);
      g_assert_cmpuint (run.send_progress_last, ==, rounds[i].size);
      dst_path = g_file_get_path (((FerrySessionFile *) g_ptr_array_index (run.recv_files, 0))->destination);
      g_assert_cmpstr (((FerrySessionFile *) g_ptr_array_index (run.recv_files, 0))->sha3_256, ==, independent);
      g_assert_true (ferry_test_files_equal (path, dst_path));
      g_assert_cmpint (g_unlink (dst_path), ==, 0);
      run_clear (&run);
    }
}

/* Two sessions sending one transfer to two devices share its limit: both
 * files, together, take at least what the rate allows. */
static void
test_rate_limit_shared (Fixture       *fx,
                        gconstpointer  data)
{
  g_autoptr(FerryRateLimit) limit = _ferry_rate_limit_new (8 * MIB);
  g_autofree char *path = g_build_filename (fx->src, "paced.bin", NULL);
  gsize size = 2 * MIB;
  gint64 least_us = (gint64) ((2 * size - _ferry_rate_limit_get_burst (limit)) * G_USEC_PER_SEC / (8 * MIB));
  Run runs[2] = { { 0 }, { 0 } };
  GPtrArray *lists[2];
  gint64 start;
  gint64 elapsed;

  ferry_test_write_random (path, size, 77);
  start = g_get_monotonic_time ();
  for (guint i = 0; i < 2; i++)
    {
      lists[i] = file_list ();
      g_ptr_array_add (lists[i], source_file (fx, "paced.bin"));
      runs[i].rate_limit = limit;
      run_start (fx, &runs[i], lists[i]);
    }
  for (guint i = 0; i < 2; i++)
    run_wait (&runs[i]);
  elapsed = g_get_monotonic_time () - start;

  g_test_message ("2 x %" G_GSIZE_FORMAT " bytes at 8 MiB/s: %" G_GINT64_FORMAT " us (at least %"
                  G_GINT64_FORMAT ")", size, elapsed, least_us);
  g_assert_cmpint (elapsed, >=, least_us);
  for (guint i = 0; i < 2; i++)
    {
      g_assert_no_error (runs[i].send_error);
      g_assert_no_error (runs[i].recv_error);
      g_assert_cmpuint (_ferry_session_get_moved (runs[i].receiver), ==, size);
      run_clear (&runs[i]);
      g_ptr_array_unref (lists[i]);
    }
}

/* A sender waiting for the bucket (in debt for an hour: another session
 * of the transfer took it all) ends at once when it is cancelled, or when
 * the receiver cancels: the wait is on the operation's condition, which
 * both wake. */
static void
test_rate_limit_cancel (Fixture       *fx,
                        gconstpointer  data)
{
  g_autofree char *path = g_build_filename (fx->src, "huge.iso", NULL);

  write_sparse_file (path, 64 * MIB);
  for (guint by_receiver = 0; by_receiver < 2; by_receiver++)
    {
      g_autoptr(FerryRateLimit) limit = _ferry_rate_limit_new (64 * 1024);
      g_autoptr(GPtrArray) files = file_list ();
      g_autofree char *listing = NULL;
      Run run = { 0 };

      _ferry_rate_limit_reserve (limit, 3600 * 64 * 1024);
      g_ptr_array_add (files, source_file (fx, "huge.iso"));
      run.rate_limit = limit;
      run.cancel_sender_on_accept = !by_receiver;
      run.cancel_receiver_on_accept = by_receiver;
      run_transfer (fx, &run, files);

      g_assert_true (run.accepted);
      if (by_receiver)
        {
          g_assert_error (run.send_error, FERRY_ERROR, FERRY_ERROR_CANCELLED_BY_PEER);
          g_assert_error (run.recv_error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
        }
      else
        {
          g_assert_error (run.send_error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
          g_assert_error (run.recv_error, FERRY_ERROR, FERRY_ERROR_CANCELLED_BY_PEER);
        }
      g_assert_cmpuint (_ferry_session_get_moved (run.receiver), ==, 0);
      g_assert_cmpuint (_ferry_rate_limit_get_waits (limit), ==, 2);
      listing = ferry_test_list_dir (fx->down);
      g_assert_cmpstr (listing, ==, "");
      run_clear (&run);
    }
}

/* The rates `ferry send --limit-rate` and `send-rate-limit` take. */
static void
test_rate_limit_parse (void)
{
  static const struct {
    const char *text;
    guint64     rate;
  } good[] = {
    { "0", 0 }, { "1024", 1024 }, { "1K", 1024 }, { "800k", 800 * 1024 },
    { "50M", 50 * MIB }, { "1.5G", 3 * (guint64) 512 * MIB }, { "0.5M", MIB / 2 },
    { "2T", G_GUINT64_CONSTANT (2) << 40 }, { "0K", 0 },
  };
  static const char * const bad[] = {
    "", "M", "-1M", "+5M", " 5M", "5M ", "5 M", "5MB", "5MiB", "5X", "1023", "0.5K",
    "1.", ".5M", "1.5", "1..5M", "1e6", "0x100K", "99999999999999999999",
    "16777216T", "5M5",
  };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      guint64 rate = 1;

      g_assert_true (_ferry_rate_limit_parse (good[i].text, &rate));
      g_assert_cmpuint (rate, ==, good[i].rate);
    }
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      guint64 rate = 1;

      if (_ferry_rate_limit_parse (bad[i], &rate))
        g_error ("“%s” parsed as %" G_GUINT64_FORMAT, bad[i], rate);
      g_assert_cmpuint (rate, ==, 1);
    }
}

int
main (int    argc,
      char **argv)
{
  session_test_init (&argc, &argv);

  session_test_add ("/session/rate-limit/paced", test_rate_limit, NULL);
  session_test_add ("/session/rate-limit/shared", test_rate_limit_shared, NULL);
  session_test_add ("/session/rate-limit/cancel", test_rate_limit_cancel, NULL);
  g_test_add_func ("/session/rate-limit/parse", test_rate_limit_parse);

  return g_test_run ();
}
