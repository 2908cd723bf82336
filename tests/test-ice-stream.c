/* test-ice-stream.c: the GIOStream an ice transport hands the core
 *
 * Streams taken directly from the transports (no TLS above): both
 * directions at once with blocking readers and writers, the end of stream,
 * and blocks that end in what libnice read ahead of a TCP socket.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "test-ice-common.h"

#include <nice/agent.h>

typedef struct {
  GIOStream *stream;
  guint32    seed;       /* of the bytes this side writes */
  guint32    peer_seed;  /* of the bytes it reads */
  gsize      chunk;      /* read size: small reads are slow readers */
  GError    *error;
  gsize      moved;
} Side;

typedef struct {
  Job jobs[4];
} JobSet;

static gpointer
writer_thread (gpointer user_data)
{
  Side *side = user_data;
  GOutputStream *output = g_io_stream_get_output_stream (side->stream);
  guint8 *buffer = g_malloc (100 * 1000);

  while (side->moved < STREAM_BYTES && side->error == NULL)
    {
      gsize n = MIN (100 * 1000, STREAM_BYTES - side->moved);

      fill_pattern (buffer, n, side->moved, side->seed);
      if (g_output_stream_write_all (output, buffer, n, NULL, NULL, &side->error))
        side->moved += n;
    }
  g_free (buffer);
  return NULL;
}

static gpointer
reader_thread (gpointer user_data)
{
  Side *side = user_data;
  GInputStream *input = g_io_stream_get_input_stream (side->stream);
  guint8 *buffer = g_malloc (side->chunk);
  guint8 *expected = g_malloc (side->chunk);

  while (side->moved < STREAM_BYTES && side->error == NULL)
    {
      gssize n = g_input_stream_read (input, buffer, MIN (side->chunk, STREAM_BYTES - side->moved),
                                      NULL, &side->error);

      if (n <= 0)
        break;
      fill_pattern (expected, n, side->moved, side->peer_seed);
      if (memcmp (buffer, expected, n) != 0)
        {
          side->error = g_error_new (G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                                     "wrong bytes at offset %" G_GSIZE_FORMAT, side->moved);
          break;
        }
      side->moved += n;
    }
  g_free (buffer);
  g_free (expected);
  return NULL;
}

static gpointer
eof_thread (gpointer user_data)
{
  Side *side = user_data;
  guint8 byte;

  /* After the peer closed: end of stream, not a hang. */
  side->moved = g_input_stream_read (g_io_stream_get_input_stream (side->stream), &byte, 1,
                                     NULL, &side->error);
  g_io_stream_close (side->stream, NULL, NULL);
  return NULL;
}

static gpointer
close_thread (gpointer user_data)
{
  g_io_stream_close (G_IO_STREAM (user_data), NULL, NULL);
  return NULL;
}

static gboolean
jobs_done (gpointer user_data)
{
  JobSet *set = user_data;

  for (guint i = 0; i < G_N_ELEMENTS (set->jobs); i++)
    if (!g_atomic_int_get (&set->jobs[i].done))
      return FALSE;
  return TRUE;
}

static void
run_stream (Fixture    *fixture,
            const char *extra,
            const char *expected_description,
            void      (*both_open) (void))
{
  FerryTransport *ta, *tb;
  g_autoptr(JsonObject) da = NULL;
  g_autoptr(JsonObject) db = NULL;
  g_autoptr(GTask) ca = g_task_new (NULL, NULL, NULL, NULL);
  g_autoptr(GTask) cb = g_task_new (NULL, NULL, NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GIOStream) sa = NULL;
  g_autoptr(GIOStream) sb = NULL;
  Side a_out = { 0 }, a_in = { 0 }, b_out = { 0 }, b_in = { 0 }, b_eof = { 0 };
  JobSet set = { { { writer_thread, &a_out, 0 }, { reader_thread, &a_in, 0 },
                   { writer_thread, &b_out, 0 }, { reader_thread, &b_in, 0 } } };
  GThread *threads[4];

  start_engines (fixture, "ice", extra, "ice", extra);
  ta = first_transport (fixture->a);
  tb = first_transport (fixture->b);

  da = describe (ta, "0123456789abcdef", TRUE);
  db = describe (tb, "0123456789abcdef", FALSE);
  ferry_transport_connect_async (tb, "0123456789abcdef", FALSE, da, NULL, connect_cb, g_object_ref (cb));
  ferry_transport_connect_async (ta, "0123456789abcdef", TRUE, db, NULL, connect_cb, g_object_ref (ca));
  ferry_test_wait_until (task_done, ca, 15000, "alice to connect");
  sa = g_task_propagate_pointer (ca, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_object_get_data (G_OBJECT (sa), "description"), ==, expected_description);

  /* Both directions at once, each with a blocking reader and a blocking
   * writer thread; bob reads in small pieces, so alice's bytes back up.
   * The answerer's stream comes with the offerer's first bytes (as the
   * TLS client speaks first): alice starts, then bob. */
  a_out = (Side) { sa, 1, 0, 0, NULL, 0 };
  a_in = (Side) { sa, 1, 2, 256 * 1024, NULL, 0 };
  for (guint i = 0; i < 2; i++)
    threads[i] = g_thread_new ("stream", job_thread, &set.jobs[i]);

  ferry_test_wait_until (task_done, cb, 15000, "bob to connect");
  sb = g_task_propagate_pointer (cb, &error);
  g_assert_no_error (error);
  ferry_transport_release (ta, "0123456789abcdef");
  ferry_transport_release (tb, "0123456789abcdef");
  if (both_open != NULL)
    both_open ();

  b_out = (Side) { sb, 2, 0, 0, NULL, 0 };
  b_in = (Side) { sb, 2, 1, 1000, NULL, 0 };
  for (guint i = 2; i < 4; i++)
    threads[i] = g_thread_new ("stream", job_thread, &set.jobs[i]);
  ferry_test_wait_until (jobs_done, &set, 60000, "both directions to be moved");
  for (guint i = 0; i < 4; i++)
    g_thread_join (threads[i]);
  g_assert_no_error (a_out.error);
  g_assert_no_error (a_in.error);
  g_assert_no_error (b_out.error);
  g_assert_no_error (b_in.error);
  g_assert_cmpuint (a_in.moved, ==, STREAM_BYTES);
  g_assert_cmpuint (b_in.moved, ==, STREAM_BYTES);

  /* Alice closes; bob's next read is the end of the stream. */
  {
    Job closer = { close_thread, sa, 0 };
    GThread *thread = g_thread_new ("close", job_thread, &closer);

    b_eof.stream = sb;
    b_eof.moved = 42;
    run_in_thread (eof_thread, &b_eof, "bob to read the end of stream");
    ferry_test_wait_until (thread_done, &closer.done, 10000, "alice to close");
    g_thread_join (thread);
  }
  g_assert_no_error (b_eof.error);
  g_assert_cmpuint (b_eof.moved, ==, 0);

  /* Writing on a closed stream fails, it does not hang. */
  g_assert_cmpint (g_output_stream_write (g_io_stream_get_output_stream (sa), "x", 1, NULL, &error), ==, -1);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED);
}

static void
test_stream_tcp (Fixture       *fixture,
                 gconstpointer  data)
{
  run_stream (fixture, NULL, "ice (tcp, host↔prflx)", NULL);
}

static void
test_stream_udp (Fixture       *fixture,
                 gconstpointer  data)
{
  run_stream (fixture, "[ice]\ntcp=false", "ice (udp, host↔host)", NULL);
}

/* [ice] relay: libnice tells of a newly selected pair with copies of its
 * candidates (new-selected-pair-full), and libnice 0.1.21's copy of a
 * relayed candidate has no TURN server: asking it for the relay's address
 * reads through a NULL pointer. Two relayed pairs one after the other
 * (symmetric NATs on both sides) crashed the side whose new local
 * candidate was relayed. Here every UDP agent, once both streams are
 * open, announces a pair with its relayed candidate the way libnice does;
 * the streams carry on, and the pair they report is the one selected. */
static GPtrArray *selecting_agents;

static gboolean
record_agent_hook (GSignalInvocationHint *hint,
                   guint                  n_values,
                   const GValue          *values,
                   gpointer               user_data)
{
  GObject *agent = g_value_get_object (&values[0]);
  guint stream_id = g_value_get_uint (&values[1]);

  if (!g_ptr_array_find (selecting_agents, agent, NULL))
    {
      g_object_set_data (agent, "test-stream-id", GUINT_TO_POINTER (stream_id));
      g_ptr_array_add (selecting_agents, g_object_ref (agent));
    }
  return TRUE;
}

static void
announce_relayed_pairs (void)
{
  guint announced = 0;

  for (guint i = 0; i < selecting_agents->len; i++)
    {
      NiceAgent *agent = g_ptr_array_index (selecting_agents, i);
      guint stream_id = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (agent), "test-stream-id"));
      NiceCandidate *local = NULL, *remote = NULL;
      GSList *candidates;

      if (!nice_agent_get_selected_pair (agent, stream_id, 1, &local, &remote))
        continue;   /* an agent that was let go */
      /* (copies, as the signal's: without the TURN server) */
      candidates = nice_agent_get_local_candidates (agent, stream_id, 1);
      for (GSList *l = candidates; l != NULL; l = l->next)
        {
          NiceCandidate *candidate = l->data;
          NiceCandidate *remote_copy;

          if (candidate->type != NICE_CANDIDATE_TYPE_RELAYED)
            continue;
          remote_copy = nice_candidate_copy (remote);
          g_signal_emit_by_name (agent, "new-selected-pair-full", stream_id, 1, candidate, remote_copy);
          nice_candidate_free (remote_copy);
          announced++;
          break;
        }
      g_slist_free_full (candidates, (GDestroyNotify) nice_candidate_free);
    }
  /* Both sides' UDP agents gathered a relayed candidate. */
  g_assert_cmpuint (announced, ==, 2);
}

static void
test_stream_udp_relay_announced (Fixture       *fixture,
                                 gconstpointer  data)
{
  g_autofree char *turn = NULL;
  g_autofree char *extra = NULL;
  gpointer agent_class;
  gulong hook;
  guint signal_id;

  fixture->coturn = coturn_start ();
  if (fixture->coturn == NULL)
    return;
  turn = turn_url (fixture, "test", 0, "udp");
  extra = g_strconcat ("[ice]\ntcp=false\nrelay=true\n", turn, NULL);

  ferry_test_log_clear ();
  selecting_agents = g_ptr_array_new_with_free_func (g_object_unref);
  agent_class = g_type_class_ref (NICE_TYPE_AGENT);   /* (its signals) */
  signal_id = g_signal_lookup ("new-selected-pair-full", NICE_TYPE_AGENT);
  hook = g_signal_add_emission_hook (signal_id, 0, record_agent_hook, NULL, NULL);
  run_stream (fixture, extra, "ice (udp, host↔host)", announce_relayed_pairs);
  g_signal_remove_emission_hook (signal_id, hook);
  g_type_class_unref (agent_class);
  g_clear_pointer (&selecting_agents, g_ptr_array_unref);
  /* The pair did not change: no path change was told. */
  g_assert_cmpuint (ferry_test_log_count ("the stream moves"), ==, 0);
}

/* Rounds over a TCP pair: alice writes a block, bob reads it all and
 * answers one byte. The blocks are a little larger than what bob's side
 * buffers before it stops reading (parks), so that the end of each block
 * is often what libnice already read ahead from the socket when bob
 * parked; nothing else arrives on the socket until bob answers, so those
 * bytes reach bob only if his side takes them itself when it reads again
 * (see channel_take_read_ahead()). */
#define ROUNDS 16

typedef struct {
  GIOStream *stream;
  gboolean   alice;
  GError    *error;
  gint       rounds;     /* done */
} Rounds;

/* Bob starts reading a block once alice's writes of it returned: by then
 * his side has buffered all it takes and stopped reading. */
static GMutex rounds_lock;
static GCond  rounds_cond;
static guint  rounds_written;
static guint  rounds_released;

/* While bob reads a block, the context's poll waits for events only: the
 * agents' timers (consent checks every few seconds) would otherwise wake
 * a stalled side by sending a packet. A poll that ends without an event
 * (after 20 s, before consent runs out) is a stall. */
static GPollFunc default_poll;
static gint      round_pending;
static guint     stalls;

static gint
events_only_poll (GPollFD *fds,
                  guint    n_fds,
                  gint     timeout)
{
  gint ready;

  if (timeout == 0 || !g_atomic_int_get (&round_pending))
    return default_poll (fds, n_fds, timeout);
  ready = default_poll (fds, n_fds, 20000);
  if (ready == 0)
    stalls++;
  return ready;
}

static gsize
round_size (guint round)
{
  /* Just over 2 MiB, the receive ring, with tails of many sizes. */
  return 2 * 1024 * 1024 + round * 5 * 1024 + 7;
}

static gpointer
rounds_thread (gpointer user_data)
{
  Rounds *side = user_data;
  GInputStream *input = g_io_stream_get_input_stream (side->stream);
  GOutputStream *output = g_io_stream_get_output_stream (side->stream);
  guint8 *buffer = g_malloc (round_size (ROUNDS));
  guint8 *expected = g_malloc (round_size (ROUNDS));

  for (guint round = 0; round < ROUNDS && side->error == NULL; round++)
    {
      gsize size = round_size (round), n = 0;
      guint8 ack = 0;

      fill_pattern (expected, size, round, (guint32) round);
      if (side->alice)
        {
          gboolean written = g_output_stream_write_all (output, expected, size, NULL, NULL,
                                                        &side->error);

          g_mutex_lock (&rounds_lock);
          rounds_written = round + 1;
          g_mutex_unlock (&rounds_lock);
          g_main_context_wakeup (NULL);
          if (written &&
              g_input_stream_read_all (input, &ack, 1, &n, NULL, &side->error) && n == 1 &&
              ack != (guint8) round)
            side->error = g_error_new (G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "wrong answer");
        }
      else
        {
          gboolean read;

          ack = (guint8) round;
          g_mutex_lock (&rounds_lock);
          while (rounds_released <= round)
            g_cond_wait (&rounds_cond, &rounds_lock);
          g_mutex_unlock (&rounds_lock);
          read = g_input_stream_read_all (input, buffer, size, &n, NULL, &side->error);
          g_atomic_int_set (&round_pending, 0);
          g_main_context_wakeup (NULL);
          if (read && n == size && memcmp (buffer, expected, size) == 0)
            g_output_stream_write_all (output, &ack, 1, NULL, NULL, &side->error);
          else if (side->error == NULL)
            side->error = g_error_new (G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                                       "round %u: %" G_GSIZE_FORMAT " bytes", round, n);
        }
      if (side->error == NULL)
        g_atomic_int_inc (&side->rounds);
    }
  g_free (buffer);
  g_free (expected);
  return NULL;
}

static gboolean
rounds_done (gpointer user_data)
{
  Rounds *sides = user_data;

  return (g_atomic_int_get (&sides[0].rounds) == ROUNDS || sides[0].error != NULL) &&
         (g_atomic_int_get (&sides[1].rounds) == ROUNDS || sides[1].error != NULL);
}

static void
test_stream_tcp_read_ahead (Fixture       *fixture,
                            gconstpointer  data)
{
  FerryTransport *ta, *tb;
  g_autoptr(JsonObject) da = NULL;
  g_autoptr(JsonObject) db = NULL;
  g_autoptr(GTask) ca = g_task_new (NULL, NULL, NULL, NULL);
  g_autoptr(GTask) cb = g_task_new (NULL, NULL, NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GIOStream) sa = NULL;
  g_autoptr(GIOStream) sb = NULL;
  Rounds sides[2] = { { 0 } };
  GThread *threads[2];

  ferry_test_log_clear ();
  rounds_written = rounds_released = stalls = 0;
  start_engines (fixture, "ice", "[ice]\nudp=false", "ice", "[ice]\nudp=false");
  ta = first_transport (fixture->a);
  tb = first_transport (fixture->b);
  da = describe (ta, "0123456789abcdef", TRUE);
  db = describe (tb, "0123456789abcdef", FALSE);
  ferry_transport_connect_async (tb, "0123456789abcdef", FALSE, da, NULL, connect_cb, g_object_ref (cb));
  ferry_transport_connect_async (ta, "0123456789abcdef", TRUE, db, NULL, connect_cb, g_object_ref (ca));
  ferry_test_wait_until (task_done, ca, 15000, "alice to connect");
  sa = g_task_propagate_pointer (ca, &error);
  g_assert_no_error (error);

  sides[0] = (Rounds) { sa, TRUE, NULL, 0 };
  threads[0] = g_thread_new ("alice", rounds_thread, &sides[0]);
  ferry_test_wait_until (task_done, cb, 15000, "bob to connect");
  sb = g_task_propagate_pointer (cb, &error);
  g_assert_no_error (error);
  sides[1] = (Rounds) { sb, FALSE, NULL, 0 };
  threads[1] = g_thread_new ("bob", rounds_thread, &sides[1]);

  /* Once alice wrote a block, the main context turns until nothing is
   * left to do (alice blocked or done, bob's side parked), then bob reads
   * it with events only. */
  default_poll = g_main_context_get_poll_func (NULL);
  g_main_context_set_poll_func (NULL, events_only_poll);
  while (!rounds_done (sides))
    {
      gboolean release;

      g_main_context_iteration (NULL, TRUE);
      g_mutex_lock (&rounds_lock);
      release = rounds_written > rounds_released;
      g_mutex_unlock (&rounds_lock);
      if (!release)
        continue;
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_atomic_int_set (&round_pending, 1);
      g_mutex_lock (&rounds_lock);
      rounds_released = rounds_written;
      g_cond_broadcast (&rounds_cond);
      g_mutex_unlock (&rounds_lock);
    }
  g_main_context_set_poll_func (NULL, default_poll);
  for (guint i = 0; i < 2; i++)
    g_thread_join (threads[i]);
  g_test_message ("read-ahead taken back in %u of %u rounds", ferry_test_log_count ("read ahead"), ROUNDS);
  /* Every block reached bob through events alone. */
  g_assert_cmpuint (stalls, ==, 0);
  g_assert_no_error (sides[0].error);
  g_assert_no_error (sides[1].error);
  g_assert_cmpint (sides[1].rounds, ==, ROUNDS);
  ferry_transport_release (ta, "0123456789abcdef");
  ferry_transport_release (tb, "0123456789abcdef");
  g_io_stream_close (sa, NULL, NULL);
  g_io_stream_close (sb, NULL, NULL);
}

int
main (int   argc,
      char *argv[])
{
  ice_test_init (&argc, &argv);

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/ice/stream-tcp", test_stream_tcp);
  ADD ("/ice/stream-udp", test_stream_udp);
  ADD ("/ice/stream-udp-relay-announced", test_stream_udp_relay_announced);
  ADD ("/ice/stream-tcp-read-ahead", test_stream_tcp_read_ahead);
#undef ADD

  return g_test_run ();
}
