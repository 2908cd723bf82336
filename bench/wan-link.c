/* wan-link: an emulated WAN link between two network namespaces, in user
 * space (for kernels without the netem qdisc).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   wan-link NS-A TUN-A NS-B TUN-B DELAY-MS LOSS [SEED]
 *
 * Creates the TUN device TUN-A (IFF_TUN | IFF_NO_PI) inside the network
 * namespace NS-A (/var/run/netns/NS-A) and TUN-B inside NS-B, then forwards
 * every IP packet read from one to the other after DELAY-MS milliseconds
 * (each way; the round trip is twice that), dropping each packet with the
 * probability LOSS (e.g. 0.001 for 0.1%), independently in each direction;
 * SEED makes the losses repeatable. Prints "ready" once both devices exist
 * (the caller gives them addresses and brings them up), then runs until
 * killed; the devices go with it. Counters per direction go to stderr on
 * SIGTERM/SIGINT.
 *
 * FERRY_WAN_RATE (e.g. 100mbit, 20mbit, 1gbit, or bits per second) caps each
 * direction with a token bucket, as tc's tbf does: tokens at that rate, a
 * bucket of FERRY_WAN_BURST bytes (default 16000), and a FIFO queue in
 * front holding at most FERRY_WAN_QUEUE_MS of traffic at that rate (default
 * 50 ms); a packet that finds the queue full is dropped (counted apart from
 * the random loss). The delay is added after the bucket.
 * FERRY_WAN_TXQUEUELEN sets both devices' queues (the kernel's default is
 * 500 packets; a packet that finds it full is dropped before the
 * forwarder sees it: wan.sh counts those as the TUN drops).
 *
 * Each direction is one FIFO (a byte ring of 32 MiB: 1.6 GB/s at 20 ms):
 * a packet's departure is never earlier than the one before it, so the head
 * of each ring is the next packet due. Packets are read straight into the
 * ring; one ppoll() waits for either device or the next departure (timer
 * slack 1 µs). Root only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RING_SIZE ((size_t) 32 << 20)
#define MAX_PACKET 65536
#define BATCH 256
#define WRAP UINT32_MAX

typedef struct
{
  int64_t due;  /* ns, CLOCK_MONOTONIC */
  uint32_t len; /* WRAP: continue at the start of the ring */
  uint32_t pad;
} Record;

typedef struct
{
  uint8_t *buf;
  size_t head, tail, count;
} Ring;

typedef struct
{
  double rate;     /* bytes per ns; 0: no cap */
  double burst_ns; /* the bucket's size, in time at that rate */
  double queue_ns;
  double last;     /* when the previous packet left */
} Bucket;

typedef struct
{
  int in, out;
  char name[2 * IFNAMSIZ + 4];
  Ring ring;
  Bucket bucket;
  /* packets in, random loss, rate cap's queue full, ring full, write
   * errors, bytes forwarded */
  unsigned long long packets, lost, full, overflow, write_errors, bytes;
  /* packets read since the device was last found empty, and the most */
  unsigned long backlog, max_backlog;
  /* departures more than 1 ms late (the forwarder did not run), the latest */
  unsigned long long late;
  int64_t max_late;
} Direction;

static volatile sig_atomic_t stop;
static uint64_t rng_state;
static double loss;
static int64_t delay_ns;
static int txqueuelen;

static size_t
align8 (size_t n)
{
  return (n + 7) & ~(size_t) 7;
}

static int64_t
now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* splitmix64: uniform in [0, 1) */
static double
random_unit (void)
{
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);

  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  return (double) (z >> 11) * 0x1.0p-53;
}

static void
die (const char *what)
{
  fprintf (stderr, "wan-link: %s: %s\n", what, strerror (errno));
  exit (1);
}

/* Where the next packet goes (room for a record and MAX_PACKET bytes), or
 * NULL when the ring is full. */
static uint8_t *
ring_reserve (Ring *ring)
{
  size_t need = sizeof (Record) + MAX_PACKET;

  if (ring->count == 0)
    ring->head = ring->tail = 0;
  if (ring->count == 0 || ring->tail > ring->head)
    {
      if (RING_SIZE - ring->tail >= need)
        return ring->buf + ring->tail;
      if (ring->head < need)
        return NULL;
      if (RING_SIZE - ring->tail >= sizeof (Record))
        ((Record *) (ring->buf + ring->tail))->len = WRAP;
      ring->tail = 0;
      return ring->buf;
    }
  return ring->head - ring->tail >= need ? ring->buf + ring->tail : NULL;
}

static void
ring_commit (Ring *ring, int64_t due, size_t len)
{
  Record *record = (Record *) (ring->buf + ring->tail);

  record->due = due;
  record->len = (uint32_t) len;
  ring->tail += align8 (sizeof (Record) + len);
  ring->count++;
}

static Record *
ring_peek (Ring *ring)
{
  Record *record;

  if (ring->count == 0)
    return NULL;
  if (RING_SIZE - ring->head < sizeof (Record) ||
      ((Record *) (ring->buf + ring->head))->len == WRAP)
    ring->head = 0;
  record = (Record *) (ring->buf + ring->head);
  return record;
}

static void
ring_pop (Ring *ring)
{
  Record *record = (Record *) (ring->buf + ring->head);

  ring->head += align8 (sizeof (Record) + record->len);
  ring->count--;
}

/* When a packet of @size bytes arriving at @now leaves the bucket, or -1
 * when the queue in front of it is full. */
static double
bucket_depart (Bucket *bucket, double now, size_t size)
{
  double start, leave;

  if (bucket->rate <= 0)
    return now;
  /* A full bucket lets a burst through at once. */
  start = fmax (bucket->last, now - bucket->burst_ns);
  leave = start + (double) size / bucket->rate;
  if (leave - now > bucket->queue_ns + bucket->burst_ns)
    return -1;
  bucket->last = leave;
  return fmax (now, leave);
}

/* "100mbit" → bits per second; 0: no cap */
static double
parse_rate (const char *text)
{
  static const struct { const char *suffix; double scale; } units[] = {
    { "gbit", 1e9 }, { "mbit", 1e6 }, { "kbit", 1e3 }, { "bit", 1 },
  };
  size_t len = text ? strlen (text) : 0;
  char *end;
  double value;

  if (len == 0)
    return 0;
  value = strtod (text, &end);
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
    if (strcasecmp (end, units[i].suffix) == 0)
      return value * units[i].scale;
  if (*end != '\0' || value < 0)
    {
      fprintf (stderr, "wan-link: FERRY_WAN_RATE: not a rate: %s\n", text);
      exit (2);
    }
  return value;
}

static double
env_number (const char *name, double fallback)
{
  const char *text = getenv (name);

  return text && *text ? strtod (text, NULL) : fallback;
}

/* The TUN device @name, made in the network namespace @ns (the descriptor
 * stays usable after the process moves on). */
static int
open_tun (const char *ns, const char *name)
{
  char path[256];
  struct ifreq ifr;
  int nsfd, fd;

  snprintf (path, sizeof path, "/var/run/netns/%s", ns);
  nsfd = open (path, O_RDONLY | O_CLOEXEC);
  if (nsfd < 0)
    die (path);
  if (setns (nsfd, CLONE_NEWNET) != 0)
    die ("setns");
  close (nsfd);
  fd = open ("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    die ("/dev/net/tun");
  memset (&ifr, 0, sizeof ifr);
  snprintf (ifr.ifr_name, IFNAMSIZ, "%s", name);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  if (ioctl (fd, TUNSETIFF, &ifr) != 0)
    die (name);
  if (txqueuelen > 0)
    {
      int sock = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

      ifr.ifr_qlen = txqueuelen;
      if (sock < 0 || ioctl (sock, SIOCSIFTXQLEN, &ifr) != 0)
        die ("txqueuelen");
      close (sock);
    }
  return fd;
}

static void
forward (Direction *dir, const uint8_t *packet, size_t len)
{
  if (write (dir->out, packet, len) < 0)
    dir->write_errors++; /* e.g. the device is down: the packet is lost */
}

/* Reads what @dir's device has (at most BATCH packets). */
static void
read_batch (Direction *dir, int64_t now)
{
  static uint8_t scratch[sizeof (Record) + MAX_PACKET];
  int immediate = delay_ns <= 0 && dir->bucket.rate <= 0;

  for (int i = 0; i < BATCH; i++)
    {
      uint8_t *slot = immediate ? NULL : ring_reserve (&dir->ring);
      uint8_t *data = (slot ? slot : scratch) + sizeof (Record);
      ssize_t n = read (dir->in, data, MAX_PACKET);
      double leave;

      if (n < 0)
        {
          dir->backlog = 0; /* EAGAIN: read it all */
          return;
        }
      dir->packets++;
      if (++dir->backlog > dir->max_backlog)
        dir->max_backlog = dir->backlog;
      if (loss > 0 && random_unit () < loss)
        {
          dir->lost++;
          continue;
        }
      leave = bucket_depart (&dir->bucket, (double) now, (size_t) n);
      if (leave < 0)
        {
          dir->full++;
          continue;
        }
      if (immediate)
        {
          dir->bytes += (unsigned long long) n;
          forward (dir, data, (size_t) n);
        }
      else if (slot == NULL)
        dir->overflow++;
      else
        {
          dir->bytes += (unsigned long long) n;
          ring_commit (&dir->ring, (int64_t) leave + delay_ns, (size_t) n);
        }
    }
}

/* Sends what is due; returns when the next packet is due (or INT64_MAX). */
static int64_t
flush (Direction *dir, int64_t now)
{
  Record *record;

  while ((record = ring_peek (&dir->ring)) != NULL)
    {
      if (record->due > now)
        return record->due;
      if (now - record->due > 1000000)
        dir->late++;
      if (now - record->due > dir->max_late)
        dir->max_late = now - record->due;
      forward (dir, (const uint8_t *) (record + 1), record->len);
      ring_pop (&dir->ring);
    }
  return INT64_MAX;
}

static void
on_signal (int sig)
{
  (void) sig;
  stop = 1;
}

static void
report (const Direction *dirs)
{
  for (int i = 0; i < 2; i++)
    fprintf (stderr, "wan-link: %s: %llu packets, %llu dropped, %llu dropped by the rate cap's queue, "
             "%llu bytes forwarded, %llu dropped by a full ring, %llu write errors, "
             "at most %lu read in a row, %llu sent over 1 ms late (at most %.1f ms)\n",
             dirs[i].name, dirs[i].packets, dirs[i].lost, dirs[i].full, dirs[i].bytes,
             dirs[i].overflow, dirs[i].write_errors, dirs[i].max_backlog, dirs[i].late,
             dirs[i].max_late / 1e6);
}

static void
setup (Direction *dirs, char **argv)
{
  double rate = parse_rate (getenv ("FERRY_WAN_RATE")) / 8e9;
  double burst = env_number ("FERRY_WAN_BURST", 16000);
  double queue_ms = env_number ("FERRY_WAN_QUEUE_MS", 50);
  int fd_a, fd_b;

  delay_ns = (int64_t) (strtod (argv[5], NULL) * 1e6);
  loss = strtod (argv[6], NULL);
  txqueuelen = (int) env_number ("FERRY_WAN_TXQUEUELEN", 0);
  if (argv[7] != NULL)
    rng_state = strtoull (argv[7], NULL, 10);
  else if (getrandom (&rng_state, sizeof rng_state, 0) != sizeof rng_state)
    rng_state = (uint64_t) now_ns () ^ (uint64_t) getpid ();
  fd_a = open_tun (argv[1], argv[2]);
  fd_b = open_tun (argv[3], argv[4]);
  for (int i = 0; i < 2; i++)
    {
      Direction *dir = &dirs[i];

      dir->in = i == 0 ? fd_a : fd_b;
      dir->out = i == 0 ? fd_b : fd_a;
      snprintf (dir->name, sizeof dir->name, "%s->%s", i == 0 ? argv[2] : argv[4], i == 0 ? argv[4] : argv[2]);
      dir->ring.buf = malloc (RING_SIZE);
      if (dir->ring.buf == NULL)
        die ("malloc");
      dir->bucket.rate = rate;
      dir->bucket.burst_ns = rate > 0 ? burst / rate : 0;
      dir->bucket.queue_ns = queue_ms * 1e6;
    }
}

int
main (int argc, char **argv)
{
  Direction dirs[2] = { 0 };
  struct sigaction action = { .sa_handler = on_signal };
  sigset_t blocked, waiting;

  if (argc != 7 && argc != 8)
    {
      fprintf (stderr, "usage: %s NS-A TUN-A NS-B TUN-B DELAY-MS LOSS [SEED]\n", argv[0]);
      return 2;
    }
  sigemptyset (&blocked);
  sigaddset (&blocked, SIGTERM);
  sigaddset (&blocked, SIGINT);
  sigprocmask (SIG_BLOCK, &blocked, &waiting);
  sigdelset (&waiting, SIGTERM);
  sigdelset (&waiting, SIGINT);
  sigaction (SIGTERM, &action, NULL);
  sigaction (SIGINT, &action, NULL);
  prctl (PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  setup (dirs, argv);
  printf ("ready\n");
  fflush (stdout);

  while (!stop)
    {
      struct pollfd fds[2] = { { dirs[0].in, POLLIN, 0 }, { dirs[1].in, POLLIN, 0 } };
      int64_t now = now_ns ();
      int64_t next = flush (&dirs[0], now);
      int64_t next_b = flush (&dirs[1], now);
      struct timespec timeout;

      if (next_b < next)
        next = next_b;
      if (next != INT64_MAX)
        {
          int64_t wait = next > now ? next - now : 0;

          timeout.tv_sec = wait / 1000000000;
          timeout.tv_nsec = wait % 1000000000;
        }
      if (ppoll (fds, 2, next != INT64_MAX ? &timeout : NULL, &waiting) < 0)
        {
          if (errno != EINTR)
            die ("ppoll");
          continue;
        }
      now = now_ns ();
      for (int i = 0; i < 2; i++)
        if (fds[i].revents & POLLIN)
          read_batch (&dirs[i], now);
    }
  report (dirs);
  return 0;
}
