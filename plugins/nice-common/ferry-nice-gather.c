/* ferry-nice-gather.c: an attempt's agents and their candidates
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "ferry-nice-core-private.h"

static void
attempt_return_descriptions (NiceAttempt *attempt)
{
  g_autoptr(GPtrArray) tasks = g_steal_pointer (&attempt->describe_tasks);

  attempt->describe_tasks = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < tasks->len; i++)
    g_task_return_pointer (g_ptr_array_index (tasks, i), json_object_ref (attempt->description),
                           (GDestroyNotify) json_object_unref);
}

/* The local candidates of every leg, as SDP lines for the peer; sets the
 * attempt's summary, and *@reflexive when a STUN server answered. */
static JsonArray *
attempt_collect_candidates (NiceAttempt  *attempt,
                            gchar       **ufrag,
                            gchar       **pwd,
                            gboolean     *reflexive)
{
  GSList *all = NULL;
  JsonArray *array;
  gboolean relayed = FALSE;

  array = json_array_new ();
  for (guint i = 0; i < N_LEGS; i++)
    {
      NiceLeg *leg = attempt->legs[i];
      GSList *candidates;

      if (leg == NULL)
        continue;
      candidates = nice_agent_get_local_candidates (leg->agent, leg->stream_id, 1);
      for (GSList *l = candidates; l != NULL; l = l->next)
        {
          NiceCandidate *candidate = l->data;
          g_autofree char *sdp = NULL;

          if (candidate->type == NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE)
            *reflexive = TRUE;
          relayed |= candidate->type == NICE_CANDIDATE_TYPE_RELAYED;
          if (_ferry_nice_attempt_forces_relay (attempt) && candidate->type != NICE_CANDIDATE_TYPE_RELAYED)
            continue;
          sdp = nice_agent_generate_local_candidate_sdp (leg->agent, candidate);
          if (sdp != NULL)
            json_array_add_string_element (array, sdp);
        }
      all = g_slist_concat (all, candidates);
      if (*ufrag == NULL)
        nice_agent_get_local_credentials (leg->agent, leg->stream_id, ufrag, pwd);
    }
  attempt->local_summary = _ferry_nice_summarize_candidates (all);
  _ferry_nice_free_candidates (all);
  /* turn: an answerer without a relay address of its own describes
   * nothing, as before, and fails at once saying why (its TURN server is
   * likely the peer's too). */
  if (attempt->core->config->relay_only && !relayed)
    {
      json_array_unref (array);
      array = json_array_new ();
    }
  return array;
}

static void
attempt_gathering_finish (NiceAttempt *attempt,
                          gboolean     timed_out)
{
  FerryNiceConfig *config = attempt->core->config;
  gchar *ufrag = NULL, *pwd = NULL;
  JsonArray *array;
  gboolean reflexive = FALSE;

  if (attempt->gathered)
    return;
  attempt->gathered = TRUE;
  nice_clear_source (&attempt->gather_timeout);

  array = attempt_collect_candidates (attempt, &ufrag, &pwd, &reflexive);

  attempt->local_natted = reflexive;
  if (config->stun != NULL && !reflexive && !config->relay_only)
    attempt->note = g_strdup_printf (_("STUN server %s gave no reflexive address"),
                                     config->stun->display);

  attempt->no_candidates = json_array_get_length (array) == 0;
  if (attempt->no_candidates && config->relay_only)
    _ferry_nice_attempt_probe_relays (attempt);

  attempt->description = json_object_new ();
  json_object_set_string_member (attempt->description, "ufrag", ufrag ? ufrag : "");
  json_object_set_string_member (attempt->description, "pwd", pwd ? pwd : "");
  json_object_set_array_member (attempt->description, "candidates", array);
  /* What the UDP candidates carry: peers from before QUIC spoke libnice's
   * pseudo-TCP there, and say nothing. */
  json_object_set_string_member (attempt->description, "udp", FERRY_NICE_UDP_PROTOCOL);
  g_free (ufrag);
  g_free (pwd);

  g_debug ("%s attempt %s gathered %s%s", config->name, attempt->id, attempt->local_summary,
           timed_out ? " (gathering timed out)"
           : attempt->legs[LEG_UDP] == NULL || attempt->legs[LEG_UDP]->gathered ? ""
           : attempt->core->turn_state == STUN_SILENT && attempt->legs[LEG_UDP]->turn
           ? " (not waiting for the silent TURN servers)"
           : " (not waiting for the silent STUN server)");

  attempt_return_descriptions (attempt);
}

/* Whether @leg has the candidates worth describing: all of them, or all
 * but those of servers that do not answer (libnice retries them for
 * seconds; the host candidates are there at once): the STUN server's
 * reflexive ones, [ice] relay's relayed ones. A server that answers is
 * waited for: its candidate, or the end of the gathering. */
static gboolean
leg_ready (NiceLeg *leg)
{
  FerryNiceCore *core = leg->attempt->core;
  gboolean stun_silent = leg->stun && core->stun_state == STUN_SILENT;
  gboolean turn_silent = leg->turn && core->turn_state == STUN_SILENT;

  if (leg->gathered)
    return TRUE;
  if (!stun_silent && !turn_silent)
    return FALSE;
  return (!leg->stun || stun_silent || _ferry_nice_leg_has_candidate (leg, NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE)) &&
         (!leg->turn || turn_silent || _ferry_nice_leg_has_candidate (leg, NICE_CANDIDATE_TYPE_RELAYED));
}

static void
attempt_check_gathered (NiceAttempt *attempt)
{
  for (guint i = 0; i < N_LEGS; i++)
    if (attempt->legs[i] != NULL && !leg_ready (attempt->legs[i]))
      return;
  attempt_gathering_finish (attempt, FALSE);
}

/* The UDP leg's gathering is over: did the STUN server answer? (On a host
 * without NAT, libnice keeps no reflexive candidate equal to a host one:
 * then there is nothing to wait for either.) And the TURN servers? */
static void
leg_learn_servers (NiceLeg *leg)
{
  FerryNiceCore *core = leg->attempt->core;
  const char *after = leg->attempt->gathered ? " after the description" : "";

  if (leg->stun)
    {
      gboolean reflexive = _ferry_nice_leg_has_candidate (leg, NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE);

      g_debug ("%s attempt %s: STUN gathering over%s, %s reflexive candidate",
               core->config->name, leg->attempt->id, after, reflexive ? "a" : "no");
      _ferry_nice_core_stun_learned (core, reflexive ? STUN_ANSWERS : STUN_SILENT, "gathering");
    }
  if (leg->turn)
    {
      gboolean relayed = _ferry_nice_leg_has_candidate (leg, NICE_CANDIDATE_TYPE_RELAYED);

      g_debug ("%s attempt %s: TURN gathering over%s, %s relayed candidate",
               core->config->name, leg->attempt->id, after, relayed ? "a" : "no");
      _ferry_nice_core_turn_learned (core, relayed ? STUN_ANSWERS : STUN_SILENT, "gathering");
    }
}

static void
on_gathering_done (NiceAgent *agent,
                   guint      stream_id,
                   gpointer   user_data)
{
  NiceLeg *leg = user_data;

  if (stream_id != leg->stream_id)
    return;
  leg->gathered = TRUE;
  leg_learn_servers (leg);
  attempt_check_gathered (leg->attempt);
}

/* A reflexive candidate may be all that an attempt still
 * waits for once the TURN servers are found silent (see leg_ready). */
static void
on_new_candidate (NiceAgent     *agent,
                  NiceCandidate *candidate,
                  gpointer       user_data)
{
  NiceLeg *leg = user_data;

  if (candidate->stream_id == leg->stream_id && !leg->attempt->gathered)
    attempt_check_gathered (leg->attempt);
}

static void
collect_waiting (gpointer key,
                 gpointer value,
                 gpointer user_data)
{
  if (!((NiceAttempt *) value)->gathered)
    g_ptr_array_add (user_data, g_strdup (key));
}

static void core_check_waiting (FerryNiceCore *core);

void
_ferry_nice_core_stun_learned (FerryNiceCore *core,
                               StunState      state,
                               const char    *how)
{
  if (core->stun_state != state)
    g_debug ("%s: the STUN server %s %s (%s)", core->config->name, core->config->stun->display,
             state == STUN_ANSWERS ? "answers"
             : g_str_equal (how, "probe") ? "does not answer" : "gave no reflexive candidate", how);
  core->stun_state = state;
  if (state == STUN_SILENT)
    core_check_waiting (core);
}

void
_ferry_nice_core_turn_learned (FerryNiceCore *core,
                               StunState      state,
                               const char    *how)
{
  if (core->turn_state != state)
    g_debug ("%s: the TURN servers %s (%s)", core->config->name,
             state == STUN_ANSWERS ? "answer"
             : g_str_equal (how, "probe") ? "do not answer" : "gave no relayed candidate", how);
  core->turn_state = state;
  if (state == STUN_SILENT)
    core_check_waiting (core);
}

/* Attempts waiting only for silent servers go on. */
static void
core_check_waiting (FerryNiceCore *core)
{
  g_autoptr(GPtrArray) waiting = NULL;

  /* Their descriptions go out at once, and the callbacks may release
   * attempts: look each one up again. */
  waiting = g_ptr_array_new_with_free_func (g_free);
  g_hash_table_foreach (core->attempts, collect_waiting, waiting);
  for (guint i = 0; i < waiting->len; i++)
    {
      NiceAttempt *attempt = g_hash_table_lookup (core->attempts, g_ptr_array_index (waiting, i));

      if (attempt != NULL && !attempt->gathered)
        attempt_check_gathered (attempt);
    }
}

static gboolean
gather_timeout_cb (gpointer user_data)
{
  NiceAttempt *attempt = user_data;

  g_clear_pointer (&attempt->gather_timeout, g_source_unref);
  attempt_gathering_finish (attempt, TRUE);
  return G_SOURCE_REMOVE;
}

/* Whether the UDP leg asks the STUN server. Not when a UDP TURN server of
 * [ice] relay is the same HOST:PORT: libnice ignores the binding answer
 * there (gathering would wait seconds), and the TURN allocation gives the
 * reflexive candidate anyway. */
static gboolean
leg_uses_stun (FerryNiceCore *core,
               gboolean       tcp)
{
  FerryNiceConfig *config = core->config;

  if (core->stun_ip == NULL || config->relay_only || tcp)
    return FALSE;
  for (guint i = 0; i < config->turn_servers->len; i++)
    {
      FerryNiceServer *server = g_ptr_array_index (config->turn_servers, i);

      if (server->type == NICE_RELAY_TYPE_TURN_UDP && server->port == config->stun->port &&
          (g_str_equal (server->host, core->stun_ip) || g_str_equal (server->host, config->stun->host)))
        return FALSE;
    }
  return TRUE;
}

/* A new agent for one leg, on the engine's addresses. */
static NiceAgent *
leg_agent_new (NiceAttempt  *attempt,
               gboolean      tcp,
               GPtrArray    *addresses,
               GError      **error)
{
  FerryNiceCore *core = attempt->core;
  FerryNiceConfig *config = core->config;
  NiceAgent *agent;
  guint added = 0;

  /* UDP carries QUIC datagrams (ferry-nice-quic.c); TCP a byte stream. */
  agent = nice_agent_new_full (core->context, NICE_COMPATIBILITY_RFC5245,
                               tcp ? NICE_AGENT_OPTION_RELIABLE | NICE_AGENT_OPTION_BYTESTREAM_TCP |
                                     NICE_AGENT_OPTION_CONSENT_FRESHNESS
                                   : NICE_AGENT_OPTION_CONSENT_FRESHNESS);
  g_object_set (agent,
                "ice-udp", !tcp,
                "ice-tcp", tcp,
                "upnp", FALSE,
                "controlling-mode", attempt->offerer,
                "force-relay", _ferry_nice_attempt_forces_relay (attempt),
                NULL);

  /* Reflexive and relayed candidates are UDP. (libnice wants the STUN
   * server as an address.) */
  if (leg_uses_stun (core, tcp))
    g_object_set (agent, "stun-server", core->stun_ip,
                  "stun-server-port", (guint) config->stun->port, NULL);

  for (guint i = 0; addresses != NULL && i < addresses->len; i++)
    {
      g_autofree char *text = g_inet_address_to_string (g_ptr_array_index (addresses, i));
      NiceAddress address;

      if (nice_address_set_from_string (&address, text) && nice_agent_add_local_address (agent, &address))
        added++;
    }
  if (added == 0)
    {
      g_object_unref (agent);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE,
                   _("No local address to gather %s candidates on (see --interface)"), config->name);
      return NULL;
    }

  return agent;
}

static NiceLeg *
leg_new (NiceAttempt  *attempt,
         gboolean      tcp,
         GPtrArray    *addresses,
         GError      **error)
{
  FerryNiceCore *core = attempt->core;
  FerryNiceConfig *config = core->config;
  NiceLeg *leg;
  NiceAgent *agent;
  guint stream_id;
  gboolean use_turn;

  agent = leg_agent_new (attempt, tcp, addresses, error);
  if (agent == NULL)
    return NULL;

  stream_id = nice_agent_add_stream (agent, 1);
  if (stream_id == 0)
    {
      g_object_unref (agent);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("libnice could not add a stream"));
      return NULL;
    }

  /* TURN servers that did not answer lately are asked again in the
   * background, for later attempts. ice leaves them out meanwhile; turn
   * asks them all the same (they are all it has), but describes at once
   * that it has no relay. */
  use_turn = !tcp && config->turn_servers->len > 0;
  if (use_turn && core->turn_state == STUN_SILENT)
    {
      use_turn = config->relay_only;
      _ferry_nice_core_probe_turn (core);
    }
  for (guint i = 0; use_turn && i < config->turn_servers->len; i++)
    {
      FerryNiceServer *server = g_ptr_array_index (config->turn_servers, i);

      if (!nice_agent_set_relay_info (agent, stream_id, 1, server->host, server->port,
                                      server->username, server->password, server->type))
        g_warning ("libnice refused the TURN server %s", server->display);
    }

  leg = g_new0 (NiceLeg, 1);
  leg->attempt = attempt;
  leg->tcp = tcp;
  /* As leg_agent_new() configured it. */
  leg->stun = leg_uses_stun (core, tcp);
  leg->turn = use_turn;
  leg->agent = agent;
  leg->stream_id = stream_id;
  leg->channel = _ferry_nice_channel_new (agent, stream_id, core->context);
  if (!tcp)
    {
      FerryEngine *engine = ferry_transport_get_engine (core->transport);
      /* Tests set this on an engine to lose datagrams (see test-ice.c). */
      guint drop_every = engine ? GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (engine),
                                                                       "ferry-nice-test-drop-every"))
                                : 0;

      _ferry_nice_channel_use_quic (leg->channel, attempt->offerer, drop_every);
    }
  _ferry_nice_channel_set_event_func (leg->channel, _ferry_nice_leg_event_cb, leg);
  leg->gathering_id = g_signal_connect (agent, "candidate-gathering-done",
                                        G_CALLBACK (on_gathering_done), leg);
  if (leg->turn)
    leg->candidate_id = g_signal_connect (agent, "new-candidate-full",
                                          G_CALLBACK (on_new_candidate), leg);
  return leg;
}

NiceAttempt *
_ferry_nice_attempt_new (FerryNiceCore  *core,
                         const char     *id,
                         gboolean        offerer,
                         GError        **error)
{
  FerryNiceConfig *config = core->config;
  FerryEngine *engine = ferry_transport_get_engine (core->transport);
  g_autoptr(GPtrArray) addresses = NULL;
  NiceAttempt *attempt;
  gchar *ufrag = NULL, *pwd = NULL;

  if (engine != NULL)
    addresses = ferry_plugin_context_get_local_addresses (ferry_transport_get_plugin_context (core->transport));

  attempt = g_new0 (NiceAttempt, 1);
  attempt->core = core;
  attempt->id = g_strdup (id);
  attempt->offerer = offerer;
  attempt->describe_tasks = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < N_LEGS; i++)
    {
      gboolean tcp = i == LEG_TCP;

      if (!(tcp ? config->tcp : config->udp))
        continue;
      attempt->legs[i] = leg_new (attempt, tcp, addresses, error);
      if (attempt->legs[i] == NULL)
        {
          _ferry_nice_attempt_free (attempt);
          return NULL;
        }
    }

  /* One set of credentials for the peer: the legs share it. */
  if (attempt->legs[LEG_UDP] != NULL && attempt->legs[LEG_TCP] != NULL &&
      nice_agent_get_local_credentials (attempt->legs[LEG_UDP]->agent,
                                        attempt->legs[LEG_UDP]->stream_id, &ufrag, &pwd))
    nice_agent_set_local_credentials (attempt->legs[LEG_TCP]->agent,
                                      attempt->legs[LEG_TCP]->stream_id, ufrag, pwd);
  g_free (ufrag);
  g_free (pwd);

  for (guint i = 0; i < N_LEGS; i++)
    if (attempt->legs[i] != NULL &&
        !nice_agent_gather_candidates (attempt->legs[i]->agent, attempt->legs[i]->stream_id))
      {
        _ferry_nice_attempt_free (attempt);
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                     _("libnice could not gather %s candidates"), config->name);
        return NULL;
      }

  attempt_check_gathered (attempt);
  if (!attempt->gathered)
    {
      attempt->gather_timeout = g_timeout_source_new (config->gather_timeout_ms);
      g_source_set_static_name (attempt->gather_timeout, "[ferry-nice] gather timeout");
      g_source_set_callback (attempt->gather_timeout, gather_timeout_cb, attempt, NULL);
      g_source_attach (attempt->gather_timeout, core->context);
    }

  return attempt;
}

gboolean
_ferry_nice_leg_has_candidate (NiceLeg          *leg,
                               NiceCandidateType type)
{
  GSList *candidates = nice_agent_get_local_candidates (leg->agent, leg->stream_id, 1);
  gboolean found = FALSE;

  for (GSList *l = candidates; l != NULL && !found; l = l->next)
    found = ((NiceCandidate *) l->data)->type == type;
  _ferry_nice_free_candidates (candidates);
  return found;
}
