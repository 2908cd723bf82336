/* ferry-nice-attempt.c: choosing the leg of a connection attempt
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "ferry-nice-core-private.h"

static gboolean prefer_timeout_cb (gpointer user_data);
static gboolean hold_cb           (gpointer user_data);

static GHashTable *
direct_table (FerryNiceCore *core,
              gboolean       create)
{
  FerryEngine *engine = ferry_transport_get_engine (core->transport);
  GHashTable *table;

  if (engine == NULL)
    return NULL;
  table = g_object_get_data (G_OBJECT (engine), DIRECT_KEY);
  if (table == NULL && create)
    {
      table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      g_object_set_data_full (G_OBJECT (engine), DIRECT_KEY, table,
                              (GDestroyNotify) g_hash_table_unref);
    }
  return table;
}

void
_ferry_nice_direct_set (NiceAttempt *attempt,
                        DirectState  state)
{
  GHashTable *table;

  if (attempt->core->config->relay_only)
    return;
  table = direct_table (attempt->core, state != DIRECT_NONE);
  if (table == NULL)
    return;
  if (state == DIRECT_NONE)
    g_hash_table_remove (table, attempt->id);
  else
    g_hash_table_insert (table, g_strdup (attempt->id), GINT_TO_POINTER (state));
}

static DirectState
direct_get (NiceAttempt *attempt)
{
  GHashTable *table = direct_table (attempt->core, FALSE);

  return table ? GPOINTER_TO_INT (g_hash_table_lookup (table, attempt->id)) : DIRECT_NONE;
}

static gboolean
unref_channel_cb (gpointer user_data)
{
  _ferry_nice_channel_unref (user_data);
  return G_SOURCE_REMOVE;
}

/* @later: on the next iteration, when called from one of the leg's own
 * events. */
static void
leg_free (NiceLeg  *leg,
          gboolean  later)
{
  if (leg == NULL)
    return;

  if (leg->gathering_id != 0)
    g_signal_handler_disconnect (leg->agent, leg->gathering_id);
  if (leg->candidate_id != 0)
    g_signal_handler_disconnect (leg->agent, leg->candidate_id);
  _ferry_nice_channel_set_event_func (leg->channel, NULL, NULL);
  if (later)
    {
      GSource *source = g_idle_source_new ();

      g_source_set_static_name (source, "[ferry-nice] drop leg");
      g_source_set_callback (source, unref_channel_cb, leg->channel, NULL);
      g_source_attach (source, leg->attempt->core->context);
      g_source_unref (source);
    }
  else
    _ferry_nice_channel_unref (leg->channel);
  g_free (leg);
}

static void
attempt_clear_connect (NiceAttempt *attempt)
{
  nice_clear_source (&attempt->connect_timeout);
  nice_clear_source (&attempt->cancel_source);
  nice_clear_source (&attempt->prefer_timeout);
  nice_clear_source (&attempt->hold_source);
}

void
_ferry_nice_attempt_free (NiceAttempt *attempt)
{
  nice_clear_source (&attempt->gather_timeout);

  for (guint i = 0; attempt->describe_tasks != NULL && i < attempt->describe_tasks->len; i++)
    g_task_return_new_error (g_ptr_array_index (attempt->describe_tasks, i),
                             G_IO_ERROR, G_IO_ERROR_CANCELLED,
                             _("The connection attempt was released"));
  g_clear_pointer (&attempt->describe_tasks, g_ptr_array_unref);

  if (attempt->connect_task != NULL)
    _ferry_nice_attempt_connect_fail (attempt, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                        _("The connection attempt was released")));
  attempt_clear_connect (attempt);

  for (guint i = 0; i < N_LEGS; i++)
    leg_free (g_steal_pointer (&attempt->legs[i]), FALSE);
  _ferry_nice_direct_set (attempt, DIRECT_NONE);

  g_clear_pointer (&attempt->description, json_object_unref);
  g_free (attempt->local_summary);
  g_free (attempt->remote_summary);
  g_free (attempt->note);
  g_free (attempt->id);
  g_free (attempt);
}

void
_ferry_nice_attempt_connect_fail (NiceAttempt *attempt,
                                  GError      *error)
{
  GTask *task = g_steal_pointer (&attempt->connect_task);

  attempt_clear_connect (attempt);
  _ferry_nice_direct_set (attempt, DIRECT_FAILED);
  g_task_return_error (task, error);
  g_object_unref (task);
}

GError *
_ferry_nice_attempt_failure (NiceAttempt *attempt,
                             const char  *what)
{
  FerryNiceConfig *config = attempt->core->config;
  g_autoptr(GString) text = g_string_new (what);

  g_string_append_printf (text, _(" (local %s; peer %s"),
                          attempt->local_summary, attempt->remote_summary);
  if (config->stun != NULL)
    g_string_append_printf (text, _("; STUN %s"), config->stun->display);
  for (guint i = 0; i < config->turn_servers->len; i++)
    g_string_append_printf (text, _("; TURN %s"),
                            ((FerryNiceServer *) g_ptr_array_index (config->turn_servers, i))->display);
  if (attempt->note != NULL)
    g_string_append_printf (text, "; %s", attempt->note);
  g_string_append (text, ")");

  return g_error_new_literal (FERRY_ERROR, FERRY_ERROR_NO_TRANSPORT, text->str);
}

/* Resolves the connection with @leg; the other leg is closed. May run from
 * one of the legs' events. */
static void
attempt_choose (NiceAttempt *attempt,
                NiceLeg     *leg)
{
  GTask *task = g_steal_pointer (&attempt->connect_task);
  GIOStream *stream;

  attempt_clear_connect (attempt);
  stream = _ferry_nice_channel_open_stream (leg->channel);
  g_task_set_task_data (task, _ferry_nice_selected_pair_description (attempt, leg), g_free);
  g_debug ("%s attempt %s connected: %s", transport_name (attempt), attempt->id,
           (char *) g_task_get_task_data (task));
  /* [ice] relay: a relayed pair may give way to a direct one later; turn:
   * the answerer's relay (relay to relay) to its own address, once the
   * offerer's permission for that address lets its checks through. */
  if (!leg->tcp && (attempt->core->config->relay || attempt->core->config->relay_only))
    _ferry_nice_channel_watch_paths (leg->channel, attempt->core->transport, attempt->id,
                                     transport_name (attempt), g_task_get_task_data (task));

  for (guint i = 0; i < N_LEGS; i++)
    if (attempt->legs[i] != NULL && attempt->legs[i] != leg)
      leg_free (g_steal_pointer (&attempt->legs[i]), TRUE);
  _ferry_nice_direct_set (attempt, DIRECT_CONNECTED);

  g_task_return_pointer (task, stream, g_object_unref);
  g_object_unref (task);
}

/* Whether a TCP pair may still connect, judging by the UDP leg's pair and
 * the candidates. When both ends of the UDP pair are reflexive (or
 * relayed), or both sides have a reflexive candidate (each sits behind a
 * NAT: libnice keeps none equal to a host one) and they did not meet
 * host to host, a TCP pair would need a hole punched through two NATs:
 * not worth waiting for. */
static gboolean
tcp_may_connect (NiceAttempt *attempt,
                 NiceLeg     *udp)
{
  NiceCandidate *local = NULL, *remote = NULL;
  gboolean local_host, remote_host;

  if (!nice_agent_get_selected_pair (udp->agent, udp->stream_id, 1, &local, &remote))
    return TRUE;
  local_host = local->type == NICE_CANDIDATE_TYPE_HOST;
  remote_host = remote->type == NICE_CANDIDATE_TYPE_HOST;
  if (attempt->local_natted && attempt->remote_natted && !(local_host && remote_host))
    return FALSE;
  return local_host || remote_host;
}

/* The relayed (turn) attempt has a working relay. */
static void
attempt_evaluate_relay (NiceAttempt *attempt,
                        NiceLeg     *udp)
{
  DirectState direct = direct_get (attempt);
  gint64 held_ms = (g_get_monotonic_time () - attempt->connect_start) / 1000;

  if (direct == DIRECT_UNLIKELY)
    g_debug ("turn attempt %s: connected; the direct attempt cannot connect, no grace",
             attempt->id);

  /* The relay is the last resort: while a direct attempt of the same
   * transfer may still connect, wait for it a while. */
  if ((direct == DIRECT_PENDING || direct == DIRECT_CONNECTED) &&
      held_ms < attempt->core->config->relay_grace_ms)
    {
      if (attempt->hold_source == NULL)
        {
          g_debug ("turn attempt %s: connected, giving way to ice for up to %u ms",
                   attempt->id, attempt->core->config->relay_grace_ms);
          attempt->hold_source = g_timeout_source_new (HOLD_POLL_MS);
          g_source_set_static_name (attempt->hold_source, "[ferry-nice] hold relay");
          g_source_set_callback (attempt->hold_source, hold_cb, attempt, NULL);
          g_source_attach (attempt->hold_source, attempt->core->context);
        }
      return;
    }
  attempt_choose (attempt, udp);
}

void
_ferry_nice_attempt_evaluate (NiceAttempt *attempt)
{
  NiceLeg *udp = attempt->legs[LEG_UDP];
  NiceLeg *tcp = attempt->legs[LEG_TCP];
  gboolean all_failed = TRUE;

  if (attempt->connect_task == NULL)
    return;

  for (guint i = 0; i < N_LEGS; i++)
    if (attempt->legs[i] != NULL && !attempt->legs[i]->failed)
      all_failed = FALSE;
  if (all_failed)
    {
      _ferry_nice_attempt_connect_fail (attempt, _ferry_nice_attempt_failure (attempt, attempt->core->config->relay_only
                                                      ? _("No relayed ICE pair worked")
                                                      : _("No ICE candidate pair worked")));
      return;
    }

  if (!attempt->offerer)
    {
      /* The offerer speaks first: follow it to the leg it chose. */
      for (guint i = 0; i < N_LEGS; i++)
        if (attempt->legs[i] != NULL && attempt->legs[i]->readable && !attempt->legs[i]->failed)
          {
            attempt_choose (attempt, attempt->legs[i]);
            return;
          }
      return;
    }

  if (tcp != NULL && tcp->writable && !tcp->failed)
    {
      attempt_choose (attempt, tcp);
      return;
    }

  if (udp != NULL && udp->writable && !udp->failed && attempt->core->config->relay_only)
    {
      attempt_evaluate_relay (attempt, udp);
      return;
    }

  if (udp != NULL && udp->writable && !udp->failed)
    {
      if (tcp == NULL || tcp->failed || attempt->prefer_expired || !tcp_may_connect (attempt, udp))
        {
          attempt_choose (attempt, udp);
          return;
        }
      if (attempt->prefer_timeout == NULL)
        {
          attempt->prefer_timeout = g_timeout_source_new (attempt->core->config->tcp_preference_ms);
          g_source_set_static_name (attempt->prefer_timeout, "[ferry-nice] prefer tcp");
          g_source_set_callback (attempt->prefer_timeout, prefer_timeout_cb, attempt, NULL);
          g_source_attach (attempt->prefer_timeout, attempt->core->context);
        }
    }
}

static gboolean
prefer_timeout_cb (gpointer user_data)
{
  NiceAttempt *attempt = user_data;

  g_clear_pointer (&attempt->prefer_timeout, g_source_unref);
  attempt->prefer_expired = TRUE;
  _ferry_nice_attempt_evaluate (attempt);
  return G_SOURCE_REMOVE;
}

static gboolean
hold_cb (gpointer user_data)
{
  NiceAttempt *attempt = user_data;

  _ferry_nice_attempt_evaluate (attempt);
  return G_SOURCE_CONTINUE;
}

void
_ferry_nice_leg_event_cb (FerryNiceChannel *channel,
                          FerryNiceEvent    event,
                          gpointer          user_data)
{
  NiceLeg *leg = user_data;

  switch (event)
    {
    case FERRY_NICE_EVENT_WRITABLE:
      leg->writable = TRUE;
      break;
    case FERRY_NICE_EVENT_READABLE:
      leg->readable = TRUE;
      break;
    case FERRY_NICE_EVENT_FAILED:
    default:
      leg->failed = TRUE;
      break;
    }
  _ferry_nice_attempt_evaluate (leg->attempt);
}
