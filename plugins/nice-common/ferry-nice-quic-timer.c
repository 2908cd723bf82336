/* ferry-nice-quic-timer.c: a GSource that fires at an ngtcp2 timestamp,
 * and the pacer that decides when the next burst may go
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <unistd.h>
#include <sys/timerfd.h>

#include <ngtcp2/ngtcp2.h>

#include "ferry-nice-quic-private.h"

/* One timer source on the engine's context. Pacing asks for gaps well
 * under a millisecond, finer than a GLib timeout (whose poll() waits in
 * whole milliseconds: at 8 packets per wait, 12 MB/s at most): the source
 * polls a timerfd armed at the connection's expiry, to the nanosecond. */
typedef struct {
  GSource  source;
  int      fd;
  gpointer tag;
} TimerSource;

static gboolean
timer_dispatch (GSource     *source,
                GSourceFunc  callback,
                gpointer     user_data)
{
  TimerSource *timer = (TimerSource *) source;
  guint64 expirations;

  if (timer->fd >= 0)
    {
      /* EAGAIN (not expired after all) is fine: the callback looks at the
       * time. */
      gssize n = read (timer->fd, &expirations, sizeof expirations);

      (void) n;
    }
  return callback (user_data);
}

static void
timer_finalize (GSource *source)
{
  TimerSource *timer = (TimerSource *) source;

  if (timer->fd >= 0)
    close (timer->fd);
}

static GSourceFuncs timer_funcs = { NULL, NULL, timer_dispatch, timer_finalize, NULL, NULL };

GSource *
_ferry_nice_quic_timer_new (void)
{
  TimerSource *timer = (TimerSource *) g_source_new (&timer_funcs, sizeof (TimerSource));

  timer->fd = timerfd_create (CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (timer->fd >= 0)
    timer->tag = g_source_add_unix_fd (&timer->source, timer->fd, G_IO_IN);
  return &timer->source;
}

/* @expiry: an ngtcp2 timestamp (g_get_monotonic_time() in nanoseconds),
 * or UINT64_MAX for none. */
void
_ferry_nice_quic_timer_set (GSource       *source,
                            ngtcp2_tstamp  expiry)
{
  TimerSource *timer = (TimerSource *) source;
  struct itimerspec spec = { { 0, 0 }, { 0, 0 } };

  if (timer->fd < 0)
    {
      g_source_set_ready_time (source, expiry == UINT64_MAX ? -1
                                       : (gint64) (expiry / NGTCP2_MICROSECONDS));
      return;
    }
  if (expiry != UINT64_MAX)
    {
      /* Both clocks are CLOCK_MONOTONIC; zero would disarm it. */
      expiry = MAX (expiry, 1);
      spec.it_value.tv_sec = expiry / NGTCP2_SECONDS;
      spec.it_value.tv_nsec = expiry % NGTCP2_SECONDS;
    }
  timerfd_settime (timer->fd, TFD_TIMER_ABSTIME, &spec, NULL);
}

/* Pacing. ngtcp2 0.12 lets a packet go whenever its pacing time is less
 * than a millisecond away (NGTCP2_PKT_PACING_OVERHEAD, for event loops
 * that wake in whole milliseconds), measured from the end of the previous
 * burst: with bursts of 8 packets, above 12 MB/s it does not pace at all,
 * and a window goes out at once, as fast as the CPU writes it. A burst of
 * a few MB overflows the next queue on the path (a TURN server's socket
 * buffers, a router's, the emulated link's TUN device), which BBR takes
 * for congestion. So the channel keeps its own schedule, on the timerfd
 * above: each burst moves it on by its size at the congestion
 * controller's pacing rate; after a late wake-up, the bursts catch up on
 * at most PACE_CATCH_UP of it. */

/* How early a burst may go: below the timer's own precision. */
#define PACE_SLACK   (50 * NGTCP2_MICROSECONDS)
/* The time a burst lasts at the pacing rate: a wake-up per quantum keeps
 * the main loop's cost small, and a few packets each keep the queues
 * short. */
#define PACE_QUANTUM (250 * NGTCP2_MICROSECONDS)
/* After a late wake-up, bursts may catch up on this much of the schedule:
 * how late a busy machine wakes a process. Less, and every late wake-up
 * sends below the pacing rate; BBR then measures less bandwidth, paces
 * slower, and so on down (with 500 µs, BBRv2 paced at 4-9 MB/s on
 * bench/wan.sh's 12.5 MB/s link). */
#define PACE_CATCH_UP (2 * NGTCP2_MILLISECONDS)

gboolean
_ferry_nice_quic_pace_wait (ngtcp2_tstamp next,
                            ngtcp2_tstamp now)
{
  return next > now + PACE_SLACK;
}

/* Bytes per nanosecond; without a rate from the controller, RFC 9002's
 * cwnd / smoothed RTT × 1.25, as ngtcp2 does; 0 for none yet. */
static double
pace_rate (ngtcp2_conn *conn)
{
  ngtcp2_conn_stat stat;

  ngtcp2_conn_get_conn_stat (conn, &stat);
  if (stat.pacing_rate > 0)
    return stat.pacing_rate;
  if (stat.smoothed_rtt > 0)
    return (double) stat.cwnd / (double) stat.smoothed_rtt * 1.25;
  return 0;
}

/* When the burst after @bytes, sent at @now, may go. */
ngtcp2_tstamp
_ferry_nice_quic_pace_next (ngtcp2_conn   *conn,
                            ngtcp2_tstamp  next,
                            ngtcp2_tstamp  now,
                            gsize          bytes)
{
  double rate;

  if (bytes == 0)
    return next;
  rate = pace_rate (conn);
  if (rate <= 0)
    return now;
  /* Late: the schedule goes on from a little before now. */
  if (now > PACE_CATCH_UP && next < now - PACE_CATCH_UP)
    next = now - PACE_CATCH_UP;
  return next + (ngtcp2_duration) ((double) bytes / rate);
}

gsize
_ferry_nice_quic_pace_burst (ngtcp2_conn *conn,
                             gsize        packet,
                             gsize        max)
{
  double packets = pace_rate (conn) * PACE_QUANTUM / (double) packet;

  return packets >= (double) max ? max : MAX ((gsize) packets, 2);
}
