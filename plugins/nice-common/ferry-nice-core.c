/* ferry-nice-core.c: ICE connection attempts over libnice
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A connection attempt runs agents on the engine's main context (RFC 5245;
 * UDP candidates carry QUIC datagrams, see ferry-nice-quic.c; RFC 6544 TCP
 * candidates a byte stream), created when the attempt is first described:
 *
 *   legs      one agent for the UDP candidates and one for the TCP ones,
 *             with the same credentials. In one agent, libnice falls back
 *             to regular nomination as soon as TCP candidates exist, and
 *             then waits for every TCP check (about 2 s behind a NAT that
 *             drops them) before it nominates a working UDP pair; apart,
 *             the UDP agent nominates aggressively.
 *   describe  gather every candidate (host on the engine's addresses,
 *             server-reflexive through the STUN server, relayed through the
 *             TURN servers), then describe {ufrag, pwd, candidates}; the
 *             offerer's agents are controlling. A gathering that takes too
 *             long goes on with what it has. A STUN server that does not
 *             answer (probed at start, then learnt from each gathering) is
 *             not waited for: the host candidates go out at once
 *             (ferry-nice-gather.c).
 *   connect   hand the peer's candidates to the leg of their transport.
 *             The offerer (the TLS client, which speaks first) takes the
 *             TCP leg as soon as it is writable (bytes pass straight
 *             through, at TCP speed), and the UDP leg (once its QUIC
 *             handshake is done) when TCP has failed
 *             or not connected [ice] tcp-preference after it (at once when NATs
 *             sit on both sides, see tcp_may_connect()); the
 *             answerer takes the leg on which the first bytes arrive. It
 *             fails when every leg failed, or just before the engine's
 *             per-attempt timeout, saying what was tried. A relayed
 *             attempt gives way to the direct one for relay-grace, unless
 *             the candidates say a direct pair cannot connect
 *             (ferry-nice-reach.c).
 *
 * The stream then owns the chosen agent (see ferry-nice-channel.c); the
 * other one is closed.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "ferry-nice-core-private.h"

FerryNiceCore *
_ferry_nice_core_new (FerryTransport *transport)
{
  FerryNiceCore *core = g_new0 (FerryNiceCore, 1);

  core->transport = transport;
  core->attempts = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                          (GDestroyNotify) _ferry_nice_attempt_free);
  return core;
}

void
_ferry_nice_core_free (FerryNiceCore *core)
{
  _ferry_nice_core_stop (core);
  g_hash_table_unref (core->attempts);
  g_free (core->stun_ip);
  g_clear_pointer (&core->config, _ferry_nice_config_free);
  g_clear_pointer (&core->context, g_main_context_unref);
  g_free (core);
}

static void
stun_resolved_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  GList *addresses = g_resolver_lookup_by_name_finish (G_RESOLVER (source), result, &error);
  FerryNiceCore *core;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;   /* stopped: @user_data may be gone */

  core = user_data;
  g_clear_object (&core->resolving);
  if (addresses == NULL)
    {
      g_warning ("Cannot resolve the STUN server %s: %s", core->config->stun->host, error->message);
      return;
    }
  for (GList *l = addresses; l != NULL && core->stun_ip == NULL; l = l->next)
    if (g_inet_address_get_family (l->data) == G_SOCKET_FAMILY_IPV4)
      core->stun_ip = g_inet_address_to_string (l->data);
  g_resolver_free_addresses (addresses);
}

static void
cancel_probe (GCancellable **probing)
{
  if (*probing != NULL)
    g_cancellable_cancel (*probing);
  g_clear_object (probing);
}

void
_ferry_nice_core_start (FerryNiceCore   *core,
                        FerryNiceConfig *config)
{
  g_clear_pointer (&core->config, _ferry_nice_config_free);
  core->config = config;
  g_clear_pointer (&core->context, g_main_context_unref);
  core->context = g_main_context_ref (ferry_plugin_context_get_main_context (
                                        ferry_transport_get_plugin_context (core->transport)));
  core->started = TRUE;

  g_clear_pointer (&core->stun_ip, g_free);
  cancel_probe (&core->stun_probing);
  core->stun_state = STUN_UNKNOWN;
  cancel_probe (&core->turn_probing);
  core->turn_state = STUN_UNKNOWN;
  /* The same for the TURN servers ([ice] relay, and turn), whose relayed
   * candidates are not waited for either while they do not answer. */
  if ((config->relay || config->relay_only) && config->turn_servers->len > 0)
    _ferry_nice_core_probe_turn (core);
  if (config->stun != NULL && !config->relay_only)
    {
      g_autoptr(GInetAddress) literal = g_inet_address_new_from_string (config->stun->host);

      /* Whether the server answers, before the first attempt needs it. */
      _ferry_nice_core_probe_stun (core);
      if (literal != NULL)
        core->stun_ip = g_strdup (config->stun->host);
      else
        {
          /* Attempts made before the answer go without the STUN server. */
          g_autoptr(GResolver) resolver = g_resolver_get_default ();

          core->resolving = g_cancellable_new ();
          g_resolver_lookup_by_name_async (resolver, config->stun->host, core->resolving,
                                           stun_resolved_cb, core);
        }
    }
}

void
_ferry_nice_core_stop (FerryNiceCore *core)
{
  core->started = FALSE;
  if (core->resolving != NULL)
    g_cancellable_cancel (core->resolving);
  g_clear_object (&core->resolving);
  cancel_probe (&core->stun_probing);
  cancel_probe (&core->turn_probing);
  g_hash_table_remove_all (core->attempts);
}

void
_ferry_nice_core_describe_async (FerryNiceCore       *core,
                                 const char          *attempt_id,
                                 gboolean             offerer,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (core->transport, cancellable, callback, user_data);
  NiceAttempt *attempt;
  GError *error = NULL;

  g_task_set_source_tag (task, _ferry_nice_core_describe_async);

  if (!core->started)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED,
                               _("The %s transport is not started"),
                               ferry_transport_get_name (core->transport));
      return;
    }

  attempt = g_hash_table_lookup (core->attempts, attempt_id);
  if (attempt == NULL)
    {
      attempt = _ferry_nice_attempt_new (core, attempt_id, offerer, &error);
      if (attempt == NULL)
        {
          g_task_return_error (task, error);
          return;
        }
      g_hash_table_insert (core->attempts, attempt->id, attempt);
    }

  if (attempt->gathered)
    g_task_return_pointer (task, json_object_ref (attempt->description),
                           (GDestroyNotify) json_object_unref);
  else
    g_ptr_array_add (attempt->describe_tasks, g_steal_pointer (&task));
}

JsonObject *
_ferry_nice_core_describe_finish (FerryNiceCore  *core,
                                  GAsyncResult   *result,
                                  GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, core->transport), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static gboolean
connect_timeout_cb (gpointer user_data)
{
  NiceAttempt *attempt = user_data;
  g_autofree char *what = NULL;

  g_clear_pointer (&attempt->connect_timeout, g_source_unref);
  what = g_strdup_printf (attempt->core->config->relay_only
                          ? _("No relayed ICE pair answered within %.1f s")
                          : _("No ICE candidate pair answered within %.1f s"),
                          attempt->core->config->connect_timeout_ms / 1000.0);
  _ferry_nice_attempt_connect_fail (attempt, _ferry_nice_attempt_failure (attempt, what));
  return G_SOURCE_REMOVE;
}

static gboolean
connect_cancelled_cb (GCancellable *cancellable,
                      gpointer      user_data)
{
  NiceAttempt *attempt = user_data;

  g_clear_pointer (&attempt->cancel_source, g_source_unref);
  _ferry_nice_attempt_connect_fail (attempt, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                      _("The connection attempt was cancelled")));
  return G_SOURCE_REMOVE;
}

static void
attempt_start_connect_timer (NiceAttempt *attempt)
{
  attempt->connect_timeout = g_timeout_source_new (attempt->core->config->connect_timeout_ms);
  g_source_set_static_name (attempt->connect_timeout, "[ferry-nice] connect timeout");
  g_source_set_callback (attempt->connect_timeout, connect_timeout_cb, attempt, NULL);
  g_source_attach (attempt->connect_timeout, attempt->core->context);
}

/* A direct attempt tells the relayed one (through the direct table)
 * whether it may connect at all; see ferry-nice-reach.c. */
static void
attempt_judge_direct (NiceAttempt *attempt,
                      GSList      *remote)
{
  g_autoptr(GPtrArray) networks = NULL;
  GSList *local = NULL;

  if (attempt->core->config->relay_only)
    return;
  for (guint i = 0; i < N_LEGS; i++)
    if (attempt->legs[i] != NULL)
      local = g_slist_concat (local, nice_agent_get_local_candidates (attempt->legs[i]->agent,
                                                                      attempt->legs[i]->stream_id, 1));
  networks = _ferry_nice_local_networks ();
  attempt->direct_unlikely = !_ferry_nice_direct_possible (networks, local, remote);
  if (attempt->direct_unlikely)
    g_debug ("%s attempt %s: the peer has only private host candidates outside our networks, "
             "and we have no public address: a direct pair cannot connect",
             attempt->core->config->name, attempt->id);
  _ferry_nice_free_candidates (local);
}

/* [ice] relay: a transfer that starts on a relayed pair moves to a direct
 * one when a direct check succeeds later. libnice gives a pair up after
 * its retransmissions (3 by default: checks at 0, 0.5, 1.5 and 3.5 s)
 * and does not try a failed pair again unless the peer's check arrives,
 * so a direct path that opens a few seconds late (a NAT that maps late,
 * a busy machine) was never used. When a relayed pair is there to carry
 * the transfer meanwhile, the checks go on for ~15 s (at 7.5 s too, and
 * failing at 15.5 s). Without a relay, ICE fails as soon as before. */
#define RELAY_CHECK_RETRANSMISSIONS 5

static void
leg_keep_checking (NiceAttempt *attempt,
                   NiceLeg     *leg,
                   GSList      *remote)
{
  gboolean relayed = FALSE;

  if (!attempt->core->config->relay || attempt->core->config->relay_only)
    return;
  for (GSList *l = remote; l != NULL && !relayed; l = l->next)
    relayed = ((NiceCandidate *) l->data)->type == NICE_CANDIDATE_TYPE_RELAYED;
  if (relayed || _ferry_nice_leg_has_candidate (leg, NICE_CANDIDATE_TYPE_RELAYED))
    g_object_set (leg->agent, "stun-max-retransmissions", RELAY_CHECK_RETRANSMISSIONS, NULL);
}

/* Hands each leg the peer's candidates of its transport (takes
 * @candidates). Fails when no leg got a pair. */
static gboolean
attempt_pair_legs (NiceAttempt  *attempt,
                   JsonObject   *remote,
                   const char   *ufrag,
                   const char   *pwd,
                   GSList       *candidates,
                   GError      **error)
{
  FerryNiceConfig *config = attempt->core->config;
  GSList *by_leg[N_LEGS] = { NULL, NULL };
  gboolean paired = FALSE;
  gboolean peer_quic = g_strcmp0 (_ferry_nice_get_string_member (remote, "udp"), FERRY_NICE_UDP_PROTOCOL) == 0;
  gboolean old_udp = FALSE;

  for (GSList *l = candidates; l != NULL; l = l->next)
    {
      NiceCandidate *candidate = l->data;
      guint index = _ferry_nice_candidate_is_tcp (candidate) ? LEG_TCP : LEG_UDP;

      if (candidate->type == NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE)
        attempt->remote_natted = TRUE;

      /* A peer that speaks pseudo-TCP over UDP cannot talk to QUIC. */
      if (index == LEG_UDP && !peer_quic)
        old_udp = TRUE;
      if (attempt->legs[index] == NULL || (index == LEG_UDP && !peer_quic))
        continue;
      candidate->stream_id = attempt->legs[index]->stream_id;
      by_leg[index] = g_slist_append (by_leg[index], candidate);
    }

  for (guint i = 0; i < N_LEGS; i++)
    {
      NiceLeg *leg = attempt->legs[i];

      if (leg == NULL)
        continue;
      if (i == LEG_UDP && by_leg[i] != NULL)
        leg_keep_checking (attempt, leg, by_leg[i]);
      leg->paired = by_leg[i] != NULL &&
                    nice_agent_set_remote_credentials (leg->agent, leg->stream_id, ufrag, pwd) &&
                    nice_agent_set_remote_candidates (leg->agent, leg->stream_id, 1, by_leg[i]) > 0;
      /* A leg without a pair cannot connect. */
      leg->failed = !leg->paired;
      paired |= leg->paired;
      g_slist_free (by_leg[i]);
    }
  _ferry_nice_free_candidates (candidates);

  if (!paired && old_udp)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_NO_TRANSPORT,
                   _("The peer's %s transport is too old: its UDP candidates "
                     "carry pseudo-TCP, not QUIC"), config->name);
      return FALSE;
    }
  if (!paired)
    {
      g_set_error (error, FERRY_ERROR, FERRY_ERROR_NO_TRANSPORT,
                   _("None of the peer's %s candidates can be paired with ours "
                     "(local %s; peer %s)"),
                   config->name, attempt->local_summary, attempt->remote_summary);
      return FALSE;
    }
  return TRUE;
}

/* The attempt @task may connect, or NULL when @task was answered. */
static NiceAttempt *
connect_lookup (FerryNiceCore *core,
                const char    *attempt_id,
                GTask         *task)
{
  NiceAttempt *attempt;

  if (!core->started)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED,
                               _("The %s transport is not started"),
                               ferry_transport_get_name (core->transport));
      return NULL;
    }

  attempt = g_hash_table_lookup (core->attempts, attempt_id);
  if (attempt == NULL || !attempt->gathered)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                               _("Unknown connection attempt"));
      return NULL;
    }
  if (attempt->connect_task != NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PENDING,
                               _("The connection attempt is already connecting"));
      return NULL;
    }
  if (g_task_return_error_if_cancelled (task))
    return NULL;
  return attempt;
}

/* Takes @task: the attempt now connects, until a leg is chosen, every leg
 * failed, the timeout or @cancellable. */
static void
attempt_start_connecting (NiceAttempt  *attempt,
                          GTask        *task,
                          GCancellable *cancellable)
{
  attempt->connect_task = task;
  attempt->connect_start = g_get_monotonic_time ();
  _ferry_nice_direct_set (attempt, attempt->direct_unlikely ? DIRECT_UNLIKELY : DIRECT_PENDING);
  attempt_start_connect_timer (attempt);
  if (cancellable != NULL)
    {
      attempt->cancel_source = g_cancellable_source_new (cancellable);
      g_source_set_static_name (attempt->cancel_source, "[ferry-nice] cancel");
      g_source_set_callback (attempt->cancel_source, G_SOURCE_FUNC (connect_cancelled_cb),
                             attempt, NULL);
      g_source_attach (attempt->cancel_source, attempt->core->context);
    }
}

void
_ferry_nice_core_connect_async (FerryNiceCore       *core,
                                const char          *attempt_id,
                                gboolean             offerer,
                                JsonObject          *remote,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (core->transport, cancellable, callback, user_data);
  NiceAttempt *attempt;
  const char *ufrag, *pwd;
  GSList *candidates = NULL;
  GError *error = NULL;

  g_task_set_source_tag (task, _ferry_nice_core_connect_async);

  attempt = connect_lookup (core, attempt_id, task);
  if (attempt == NULL)
    return;

  if (!_ferry_nice_parse_remote (attempt, remote, &ufrag, &pwd, &candidates, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  g_clear_pointer (&attempt->remote_summary, g_free);
  attempt->remote_summary = _ferry_nice_summarize_candidates (candidates);

  if (attempt->no_candidates && core->config->relay_only)
    {
      _ferry_nice_free_candidates (candidates);
      if (!attempt->probing)
        {
          g_task_return_error (task, _ferry_nice_relay_failure (attempt));
          return;
        }
      /* Fails once the diagnosis is in (or at the timeout). */
      attempt->connect_task = g_steal_pointer (&task);
      attempt_start_connect_timer (attempt);
      return;
    }

  if (candidates == NULL)
    {
      if (core->config->relay_only)
        g_task_return_new_error (task, FERRY_ERROR, FERRY_ERROR_NO_TRANSPORT,
                                 _("The peer has no relay candidate (its TURN server gave none)"));
      else
        g_task_return_new_error (task, FERRY_ERROR, FERRY_ERROR_NO_TRANSPORT,
                                 _("The peer has no usable %s candidate"), core->config->name);
      return;
    }

  attempt_judge_direct (attempt, candidates);
  if (!attempt_pair_legs (attempt, remote, ufrag, pwd, candidates, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  attempt_start_connecting (attempt, g_steal_pointer (&task), cancellable);
  _ferry_nice_attempt_evaluate (attempt);
}

GIOStream *
_ferry_nice_core_connect_finish (FerryNiceCore  *core,
                                 GAsyncResult   *result,
                                 char          **description,
                                 GError        **error)
{
  GIOStream *stream;

  g_return_val_if_fail (g_task_is_valid (result, core->transport), NULL);

  stream = g_task_propagate_pointer (G_TASK (result), error);
  if (stream != NULL && description != NULL)
    *description = g_strdup (g_task_get_task_data (G_TASK (result)));
  return stream;
}

void
_ferry_nice_core_release (FerryNiceCore *core,
                          const char    *attempt_id)
{
  g_hash_table_remove (core->attempts, attempt_id);
}
