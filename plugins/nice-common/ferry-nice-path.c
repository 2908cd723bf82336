/* ferry-nice-path.c: a stream that moves to a better pair
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * With [ice] relay, the UDP agent holds relayed candidates beside the
 * direct ones, and its first working pair may be the relay. libnice
 * nominates aggressively (every check of the controlling agent carries
 * USE-CANDIDATE), keeps checking the pairs of a higher priority, retries a
 * failed one when a check arrives on it, and selects a succeeding pair of a
 * higher priority than the selected one (`new-selected-pair-full`): the
 * direct pair, once the checks get through. (The turn transport moves the
 * same way from relay to relay to a pair that crosses the TURN server once:
 * the answerer's first checks from its own address arrive before the
 * offerer's permission for it, and its retransmissions get through.)
 * nice_agent_send() then goes
 * over that pair, and QUIC carries on: to ngtcp2 the path is a fixed pair
 * of placeholder addresses, and nothing sent is lost or sent twice (what
 * was in flight on the relay is acknowledged or retransmitted as usual).
 *
 * ngtcp2 is not told (no ngtcp2_conn_initiate_migration): ICE already
 * proved the new path with its authenticated checks, which is what QUIC's
 * path validation would prove again; a migration needs the server's spare
 * connection ids and both ends to agree on fake addresses at the moment
 * each agent switches; and BBRv2 takes the shorter round trip of the
 * direct path from its next samples (its min-RTT filter), probing the new
 * path's bandwidth upwards from the relay's rate instead of starting over.
 *
 * Here the switch is told to the engine
 * (ferry_transport_path_changed()), which adds the path to the transfer's
 * chain with the bytes each path carried.
 */
#include "config.h"

#include "ferry-nice-core-private.h"
#include "ferry-nice-channel-internal.h"

struct _FerryNicePathWatch
{
  GWeakRef  transport;
  char     *attempt_id;
  char     *name;
  char     *current;     /* the description of the selected pair */
  gint64    since;       /* when the stream opened, monotonic µs */
};

static void
path_watch_free (FerryNicePathWatch *watch)
{
  g_weak_ref_clear (&watch->transport);
  g_free (watch->attempt_id);
  g_free (watch->name);
  g_free (watch->current);
  g_free (watch);
}

/* The candidates the signal carries are copies, and libnice 0.1.21's
 * nice_candidate_copy() leaves out the TURN server of a relayed one:
 * nice_candidate_relay_address() on such a copy reads through a NULL
 * pointer (a switch to a pair whose local candidate is relayed, e.g. from
 * one relayed pair to another, crashed the process). So the pair is read
 * from the agent, whose candidates are whole: the pair selected now, which
 * is the signal's pair or a later one (whose own signal then finds it
 * unchanged). */
static void
on_new_selected_pair (NiceAgent     *agent,
                      guint          stream_id,
                      guint          component_id,
                      NiceCandidate *signal_local,
                      NiceCandidate *signal_remote,
                      gpointer       user_data)
{
  FerryNiceChannel *channel = user_data;
  FerryNicePathWatch *watch = channel->path_watch;
  g_autoptr(FerryTransport) transport = NULL;
  g_autofree char *description = NULL;
  NiceCandidate *local = NULL, *remote = NULL;
  guint64 carried;

  if (watch == NULL || stream_id != channel->stream_id || component_id != 1)
    return;
  if (!nice_agent_get_selected_pair (agent, stream_id, component_id, &local, &remote))
    return;
  description = _ferry_nice_pair_description (watch->name, local, remote);
  if (g_strcmp0 (description, watch->current) == 0)
    return;

  g_debug ("%s attempt %s: the stream moves from %s to %s, %" G_GINT64_FORMAT " ms after it opened",
           watch->name, watch->attempt_id, watch->current, description,
           (g_get_monotonic_time () - watch->since) / 1000);
  g_free (watch->current);
  watch->current = g_strdup (description);
  /* What the stream moved so far, in the direction that moved most: the
   * data of a sender was acknowledged, that of a receiver received. */
  carried = MAX (channel->stream_in, channel->stream_acked);
  transport = g_weak_ref_get (&watch->transport);
  if (transport != NULL)
    ferry_transport_path_changed (transport, watch->attempt_id, description, carried);
}

/* Context thread, once the stream of @channel was handed out with the
 * pair @current: tells @transport when libnice selects another pair. */
void
_ferry_nice_channel_watch_paths (FerryNiceChannel *channel,
                                 FerryTransport   *transport,
                                 const char       *attempt_id,
                                 const char       *name,
                                 const char       *current)
{
  FerryNicePathWatch *watch;

  if (channel->path_watch != NULL || channel->agent == NULL)
    return;
  watch = g_new0 (FerryNicePathWatch, 1);
  g_weak_ref_init (&watch->transport, transport);
  watch->attempt_id = g_strdup (attempt_id);
  watch->name = g_strdup (name);
  watch->current = g_strdup (current);
  watch->since = g_get_monotonic_time ();
  channel->path_watch = watch;
  channel->selected_id = g_signal_connect (channel->agent, "new-selected-pair-full",
                                           G_CALLBACK (on_new_selected_pair), channel);
}

/* Context thread, before the agent goes. */
void
_ferry_nice_channel_unwatch_paths (FerryNiceChannel *channel)
{
  if (channel->selected_id != 0 && channel->agent != NULL)
    g_signal_handler_disconnect (channel->agent, channel->selected_id);
  channel->selected_id = 0;
  g_clear_pointer (&channel->path_watch, path_watch_free);
}
