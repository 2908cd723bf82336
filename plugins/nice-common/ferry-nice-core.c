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
 *             long goes on with what it has.
 *   connect   hand the peer's candidates to the leg of their transport.
 *             The offerer (the TLS client, which speaks first) takes the
 *             TCP leg as soon as it is writable (bytes pass straight
 *             through, at TCP speed), and the UDP leg (once its QUIC
 *             handshake is done) when TCP has failed
 *             or not connected FERRY_NICE_PREFER_TCP_MS after it (at
 *             once when NATs sit on both sides of the UDP pair); the
 *             answerer takes the leg on which the first bytes arrive. It
 *             fails when every leg failed, or just before the engine's
 *             per-attempt timeout, saying what was tried.
 *
 * The stream then owns the chosen agent (see ferry-nice-channel.c); the
 * other one is closed.
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>
#include <gnutls/crypto.h>

#include "ferry-nice-channel-private.h"

#define MAX_REMOTE_CANDIDATES  64
#define MAX_CANDIDATE_LENGTH   512
#define PROBE_TIMEOUT_MS       1000
#define PREFER_TCP_MS          250
#define HOLD_POLL_MS           50
#define DIRECT_KEY             "ferry-nice-direct-attempts"
#define FERRY_NICE_UDP_PROTOCOL "quic-1"

/* What the direct (ice) attempts of an engine are doing, for the relayed
 * (turn) ones, which give way to them for a while: a table on the engine
 * (attempt id → DirectState), shared by the copies of this library in the
 * two plugins. */
typedef enum {
  DIRECT_NONE,
  DIRECT_PENDING,
  DIRECT_CONNECTED,
  DIRECT_FAILED,
} DirectState;

struct _FerryNiceCore
{
  FerryTransport  *transport;     /* owner */
  GMainContext    *context;
  FerryNiceConfig *config;
  GHashTable      *attempts;      /* id → NiceAttempt */
  gboolean         started;
  char            *stun_ip;       /* the STUN server's address, resolved */
  GCancellable    *resolving;
};

typedef struct _NiceAttempt NiceAttempt;

enum { LEG_UDP, LEG_TCP, N_LEGS };

typedef struct
{
  NiceAttempt      *attempt;
  gboolean          tcp;
  FerryNiceChannel *channel;
  NiceAgent        *agent;         /* the channel's */
  guint             stream_id;
  gulong            gathering_id;
  gboolean          gathered;
  gboolean          paired;        /* has the peer's candidates */
  gboolean          writable;
  gboolean          readable;
  gboolean          failed;
} NiceLeg;

struct _NiceAttempt
{
  FerryNiceCore    *core;
  char             *id;
  gboolean          offerer;
  NiceLeg          *legs[N_LEGS];  /* NULL when disabled */

  GSource          *gather_timeout;
  gboolean          gathered;
  GPtrArray        *describe_tasks;
  JsonObject       *description;
  char             *local_summary;
  char             *note;          /* what the servers did not give */
  gboolean          no_candidates; /* turn: no relay address */
  gboolean          probing;

  GTask            *connect_task;
  GSource          *connect_timeout;
  GSource          *cancel_source;
  GSource          *prefer_timeout;
  gboolean          prefer_expired;
  GSource          *hold_source;   /* turn: waits for the direct attempt */
  gint64            connect_start;
  char             *remote_summary;
};

static void attempt_connect_fail (NiceAttempt *attempt, GError *error);

/* ---------------------------------------------------------------- helpers */

static const char *
candidate_type_name (NiceCandidateType type)
{
  switch (type)
    {
    case NICE_CANDIDATE_TYPE_HOST:             return "host";
    case NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE: return "srflx";
    case NICE_CANDIDATE_TYPE_PEER_REFLEXIVE:   return "prflx";
    case NICE_CANDIDATE_TYPE_RELAYED:          return "relay";
    default:                                   return "?";
    }
}

static gboolean
candidate_is_tcp (const NiceCandidate *candidate)
{
  return candidate->transport != NICE_CANDIDATE_TRANSPORT_UDP;
}

static char *
address_to_string (const NiceAddress *address)
{
  char ip[NICE_ADDRESS_STRING_LEN];

  nice_address_to_string (address, ip);
  if (nice_address_ip_version (address) == 6)
    return g_strdup_printf ("[%s]:%u", ip, nice_address_get_port (address));
  return g_strdup_printf ("%s:%u", ip, nice_address_get_port (address));
}

/* "host, srflx (udp, tcp)" */
static char *
summarize_candidates (GSList *candidates)
{
  static const NiceCandidateType order[] = {
    NICE_CANDIDATE_TYPE_HOST, NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE,
    NICE_CANDIDATE_TYPE_PEER_REFLEXIVE, NICE_CANDIDATE_TYPE_RELAYED,
  };
  GString *text = g_string_new (NULL);
  gboolean udp = FALSE, tcp = FALSE;

  for (guint i = 0; i < G_N_ELEMENTS (order); i++)
    for (GSList *l = candidates; l != NULL; l = l->next)
      if (((NiceCandidate *) l->data)->type == order[i])
        {
          g_string_append_printf (text, "%s%s", text->len ? ", " : "", candidate_type_name (order[i]));
          break;
        }
  for (GSList *l = candidates; l != NULL; l = l->next)
    {
      if (candidate_is_tcp (l->data))
        tcp = TRUE;
      else
        udp = TRUE;
    }

  if (text->len == 0)
    g_string_append (text, _("no candidate"));
  else
    g_string_append_printf (text, " (%s%s%s)", udp ? "udp" : "", udp && tcp ? ", " : "",
                            tcp ? "tcp" : "");
  return g_string_free (text, FALSE);
}

static void
free_candidates (GSList *candidates)
{
  g_slist_free_full (candidates, (GDestroyNotify) nice_candidate_free);
}

/* ---------------------------------------------------------------- probe */

/* Why did a TURN server give no relay address? A STUN Binding request
 * tells an unreachable server from one that refused the allocation. */

typedef struct {
  GPtrArray     *servers;      /* FerryNiceServer, shared with the config */
  FerryNiceCore *core;         /* alive: the task holds its transport */
  char          *attempt_id;
} ProbeData;

static gboolean
probe_answer_matches (const guint8 *answer,
                      gsize         length,
                      const guint8 *request)
{
  /* A STUN message from the server: type class response (success or
   * error), the magic cookie, our transaction id. */
  return length >= 20 && (answer[0] & 0xc0) == 0 &&
         memcmp (answer + 4, request + 4, 16) == 0;
}

static gboolean
probe_server (FerryNiceServer *server)
{
  g_autoptr(GResolver) resolver = g_resolver_get_default ();
  g_autoptr(GList) addresses = NULL;
  g_autoptr(GError) error = NULL;
  guint8 request[20] = { 0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42 };
  guint8 answer[1500];
  GInetAddress *inet;
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GSocket) socket = NULL;
  gssize n;

  /* The transaction id: unpredictable, from gnutls' generator. */
  if (gnutls_rnd (GNUTLS_RND_NONCE, request + 8, 12) != 0)
    return FALSE;

  addresses = g_resolver_lookup_by_name (resolver, server->host, NULL, &error);
  if (addresses == NULL)
    return FALSE;
  inet = addresses->data;
  address = g_inet_socket_address_new (inet, server->port);

  socket = g_socket_new (g_inet_address_get_family (inet),
                         server->type == NICE_RELAY_TYPE_TURN_TCP ? G_SOCKET_TYPE_STREAM
                                                                  : G_SOCKET_TYPE_DATAGRAM,
                         G_SOCKET_PROTOCOL_DEFAULT, &error);
  g_list_free_full (g_steal_pointer (&addresses), g_object_unref);
  if (socket == NULL)
    return FALSE;
  g_socket_set_timeout (socket, (PROBE_TIMEOUT_MS + 999) / 1000);

  if (!g_socket_connect (socket, address, NULL, &error) ||
      g_socket_send (socket, (const char *) request, sizeof request, NULL, &error) != sizeof request)
    return FALSE;

  n = g_socket_receive (socket, (char *) answer, sizeof answer, NULL, &error);
  return n > 0 && probe_answer_matches (answer, n, request);
}

static void
probe_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  ProbeData *data = task_data;
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < data->servers->len; i++)
    {
      FerryNiceServer *server = g_ptr_array_index (data->servers, i);

      if (text->len > 0)
        g_string_append (text, "; ");
      if (probe_server (server))
        g_string_append_printf (text, _("TURN server %s answers but refused to relay "
                                        "(wrong user name or password?)"), server->display);
      else
        g_string_append_printf (text, _("TURN server %s does not answer"), server->display);
    }
  g_task_return_pointer (task, g_string_free (text, FALSE), g_free);
}

static void
probe_data_free (ProbeData *data)
{
  g_ptr_array_unref (data->servers);
  g_free (data->attempt_id);
  g_free (data);
}

/* --------------------------------------------------------------- attempts */

static void
clear_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

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

static void
direct_set (NiceAttempt *attempt,
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
  clear_source (&attempt->connect_timeout);
  clear_source (&attempt->cancel_source);
  clear_source (&attempt->prefer_timeout);
  clear_source (&attempt->hold_source);
}

static void
attempt_free (NiceAttempt *attempt)
{
  clear_source (&attempt->gather_timeout);

  for (guint i = 0; attempt->describe_tasks != NULL && i < attempt->describe_tasks->len; i++)
    g_task_return_new_error (g_ptr_array_index (attempt->describe_tasks, i),
                             G_IO_ERROR, G_IO_ERROR_CANCELLED,
                             _("The connection attempt was released"));
  g_clear_pointer (&attempt->describe_tasks, g_ptr_array_unref);

  if (attempt->connect_task != NULL)
    attempt_connect_fail (attempt, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                        _("The connection attempt was released")));
  attempt_clear_connect (attempt);

  for (guint i = 0; i < N_LEGS; i++)
    leg_free (g_steal_pointer (&attempt->legs[i]), FALSE);
  direct_set (attempt, DIRECT_NONE);

  g_clear_pointer (&attempt->description, json_object_unref);
  g_free (attempt->local_summary);
  g_free (attempt->remote_summary);
  g_free (attempt->note);
  g_free (attempt->id);
  g_free (attempt);
}

static const char *
transport_name (NiceAttempt *attempt)
{
  return attempt->core->config->name;
}

static char *
selected_pair_description (NiceAttempt *attempt,
                           NiceLeg     *leg)
{
  FerryNiceConfig *config = attempt->core->config;
  NiceCandidate *local = NULL, *remote = NULL;

  if (!nice_agent_get_selected_pair (leg->agent, leg->stream_id, 1, &local, &remote))
    return g_strdup (config->name);

  if (local->type == NICE_CANDIDATE_TYPE_RELAYED)
    {
      NiceAddress relay;
      g_autofree char *via = NULL;
      const char *relay_transport = "udp";

      nice_address_init (&relay);
      nice_candidate_relay_address (local, &relay);
      if (nice_address_is_valid (&relay))
        {
          char ip[NICE_ADDRESS_STRING_LEN];

          nice_address_to_string (&relay, ip);
          via = address_to_string (&relay);
          for (guint i = 0; i < config->turn_servers->len; i++)
            {
              FerryNiceServer *server = g_ptr_array_index (config->turn_servers, i);

              if (g_str_equal (server->host, ip) && server->port == nice_address_get_port (&relay))
                relay_transport = server->type == NICE_RELAY_TYPE_TURN_TCP ? "tcp" : "udp";
            }
        }
      return g_strdup_printf ("%s (%s relay via %s, %s↔%s)", config->name, relay_transport,
                              via ? via : "?", candidate_type_name (local->type),
                              candidate_type_name (remote->type));
    }

  return g_strdup_printf ("%s (%s, %s↔%s)", config->name,
                          candidate_is_tcp (local) ? "tcp" : "udp",
                          candidate_type_name (local->type), candidate_type_name (remote->type));
}

static void
attempt_connect_fail (NiceAttempt *attempt,
                      GError      *error)
{
  GTask *task = g_steal_pointer (&attempt->connect_task);

  attempt_clear_connect (attempt);
  direct_set (attempt, DIRECT_FAILED);
  g_task_return_error (task, error);
  g_object_unref (task);
}

static GError *
attempt_failure (NiceAttempt *attempt,
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
  g_task_set_task_data (task, selected_pair_description (attempt, leg), g_free);
  g_debug ("%s attempt %s connected: %s", transport_name (attempt), attempt->id,
           (char *) g_task_get_task_data (task));

  for (guint i = 0; i < N_LEGS; i++)
    if (attempt->legs[i] != NULL && attempt->legs[i] != leg)
      leg_free (g_steal_pointer (&attempt->legs[i]), TRUE);
  direct_set (attempt, DIRECT_CONNECTED);

  g_task_return_pointer (task, stream, g_object_unref);
  g_object_unref (task);
}

/* Whether either end of the UDP leg's pair is a host candidate. When both
 * are reflexive (or relayed), a NAT sits on each side, and a TCP pair
 * would need a hole punched through both: not worth waiting for. */
static gboolean
udp_pair_has_host (NiceLeg *leg)
{
  NiceCandidate *local = NULL, *remote = NULL;

  if (!nice_agent_get_selected_pair (leg->agent, leg->stream_id, 1, &local, &remote))
    return TRUE;
  return local->type == NICE_CANDIDATE_TYPE_HOST || remote->type == NICE_CANDIDATE_TYPE_HOST;
}

static gboolean prefer_timeout_cb (gpointer user_data);
static gboolean hold_cb           (gpointer user_data);

static void
attempt_evaluate (NiceAttempt *attempt)
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
      attempt_connect_fail (attempt, attempt_failure (attempt, attempt->core->config->relay_only
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
      DirectState direct = direct_get (attempt);
      gint64 held_ms = (g_get_monotonic_time () - attempt->connect_start) / 1000;

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
      return;
    }

  if (udp != NULL && udp->writable && !udp->failed)
    {
      if (tcp == NULL || tcp->failed || attempt->prefer_expired || !udp_pair_has_host (udp))
        {
          attempt_choose (attempt, udp);
          return;
        }
      if (attempt->prefer_timeout == NULL)
        {
          attempt->prefer_timeout = g_timeout_source_new (PREFER_TCP_MS);
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
  attempt_evaluate (attempt);
  return G_SOURCE_REMOVE;
}

static gboolean
hold_cb (gpointer user_data)
{
  NiceAttempt *attempt = user_data;

  attempt_evaluate (attempt);
  return G_SOURCE_CONTINUE;
}

static void
leg_event_cb (FerryNiceChannel *channel,
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
  attempt_evaluate (leg->attempt);
}

static void
attempt_return_descriptions (NiceAttempt *attempt)
{
  g_autoptr(GPtrArray) tasks = g_steal_pointer (&attempt->describe_tasks);

  attempt->describe_tasks = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < tasks->len; i++)
    g_task_return_pointer (g_ptr_array_index (tasks, i), json_object_ref (attempt->description),
                           (GDestroyNotify) json_object_unref);
}

static GError *
relay_failure (NiceAttempt *attempt)
{
  GPtrArray *servers = attempt->core->config->turn_servers;
  g_autoptr(GString) text = g_string_new (_("No relay address"));

  if (attempt->note != NULL)
    g_string_append_printf (text, ": %s", attempt->note);
  else
    {
      g_string_append (text, _(" from "));
      for (guint i = 0; i < servers->len; i++)
        g_string_append_printf (text, "%s%s", i ? ", " : "",
                                ((FerryNiceServer *) g_ptr_array_index (servers, i))->display);
    }
  return g_error_new_literal (FERRY_ERROR, FERRY_ERROR_NO_TRANSPORT, text->str);
}

static void
probe_done_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  ProbeData *data = g_task_get_task_data (G_TASK (result));
  g_autofree char *note = g_task_propagate_pointer (G_TASK (result), NULL);
  NiceAttempt *attempt = g_hash_table_lookup (data->core->attempts, data->attempt_id);

  if (attempt == NULL || !attempt->probing)
    return;   /* released meanwhile */

  attempt->probing = FALSE;
  g_free (attempt->note);
  attempt->note = g_steal_pointer (&note);
  g_debug ("%s", attempt->note);
  if (attempt->connect_task != NULL)
    attempt_connect_fail (attempt, relay_failure (attempt));
}

static void
attempt_gathering_finish (NiceAttempt *attempt,
                          gboolean     timed_out)
{
  FerryNiceConfig *config = attempt->core->config;
  GSList *all = NULL;
  gchar *ufrag = NULL, *pwd = NULL;
  JsonArray *array;
  gboolean reflexive = FALSE;

  if (attempt->gathered)
    return;
  attempt->gathered = TRUE;
  clear_source (&attempt->gather_timeout);

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
            reflexive = TRUE;
          if (config->relay_only && candidate->type != NICE_CANDIDATE_TYPE_RELAYED)
            continue;
          sdp = nice_agent_generate_local_candidate_sdp (leg->agent, candidate);
          if (sdp != NULL)
            json_array_add_string_element (array, sdp);
        }
      all = g_slist_concat (all, candidates);
      if (ufrag == NULL)
        nice_agent_get_local_credentials (leg->agent, leg->stream_id, &ufrag, &pwd);
    }
  attempt->local_summary = summarize_candidates (all);
  free_candidates (all);

  if (config->stun != NULL && !reflexive && !config->relay_only)
    attempt->note = g_strdup_printf (_("STUN server %s gave no reflexive address"),
                                     config->stun->display);

  attempt->no_candidates = json_array_get_length (array) == 0;
  if (attempt->no_candidates && config->relay_only)
    {
      /* Diagnosed in the background; connect_async waits for it. */
      ProbeData *data = g_new0 (ProbeData, 1);
      g_autoptr(GTask) probe = g_task_new (attempt->core->transport, NULL, probe_done_cb, NULL);

      data->servers = g_ptr_array_ref (config->turn_servers);
      data->core = attempt->core;
      data->attempt_id = g_strdup (attempt->id);
      attempt->probing = TRUE;
      g_task_set_task_data (probe, data, (GDestroyNotify) probe_data_free);
      g_task_run_in_thread (probe, probe_thread);
    }

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
           timed_out ? " (gathering timed out)" : "");

  attempt_return_descriptions (attempt);
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
  for (guint i = 0; i < N_LEGS; i++)
    if (leg->attempt->legs[i] != NULL && !leg->attempt->legs[i]->gathered)
      return;
  attempt_gathering_finish (leg->attempt, FALSE);
}

static gboolean
gather_timeout_cb (gpointer user_data)
{
  NiceAttempt *attempt = user_data;

  g_clear_pointer (&attempt->gather_timeout, g_source_unref);
  attempt_gathering_finish (attempt, TRUE);
  return G_SOURCE_REMOVE;
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
                "force-relay", config->relay_only,
                NULL);

  /* Reflexive and relayed candidates are UDP. (libnice wants the STUN
   * server as an address.) */
  if (core->stun_ip != NULL && !config->relay_only && !tcp)
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

  stream_id = nice_agent_add_stream (agent, 1);
  if (stream_id == 0)
    {
      g_object_unref (agent);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("libnice could not add a stream"));
      return NULL;
    }

  for (guint i = 0; !tcp && i < config->turn_servers->len; i++)
    {
      FerryNiceServer *server = g_ptr_array_index (config->turn_servers, i);

      if (!nice_agent_set_relay_info (agent, stream_id, 1, server->host, server->port,
                                      server->username, server->password, server->type))
        g_warning ("libnice refused the TURN server %s", server->display);
    }

  leg = g_new0 (NiceLeg, 1);
  leg->attempt = attempt;
  leg->tcp = tcp;
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
  _ferry_nice_channel_set_event_func (leg->channel, leg_event_cb, leg);
  leg->gathering_id = g_signal_connect (agent, "candidate-gathering-done",
                                        G_CALLBACK (on_gathering_done), leg);
  return leg;
}

static NiceAttempt *
attempt_new (FerryNiceCore  *core,
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
    addresses = ferry_engine_get_local_addresses (engine);

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
          attempt_free (attempt);
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
        attempt_free (attempt);
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                     _("libnice could not gather %s candidates"), config->name);
        return NULL;
      }

  if (!attempt->gathered)
    {
      attempt->gather_timeout = g_timeout_source_new (config->gather_timeout_ms);
      g_source_set_static_name (attempt->gather_timeout, "[ferry-nice] gather timeout");
      g_source_set_callback (attempt->gather_timeout, gather_timeout_cb, attempt, NULL);
      g_source_attach (attempt->gather_timeout, core->context);
    }

  return attempt;
}

/* ------------------------------------------------------------------ core */

FerryNiceCore *
_ferry_nice_core_new (FerryTransport *transport)
{
  FerryNiceCore *core = g_new0 (FerryNiceCore, 1);

  core->transport = transport;
  core->attempts = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                          (GDestroyNotify) attempt_free);
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

void
_ferry_nice_core_start (FerryNiceCore   *core,
                        FerryNiceConfig *config)
{
  g_clear_pointer (&core->config, _ferry_nice_config_free);
  core->config = config;
  g_clear_pointer (&core->context, g_main_context_unref);
  core->context = g_main_context_ref_thread_default ();
  core->started = TRUE;

  g_clear_pointer (&core->stun_ip, g_free);
  if (config->stun != NULL && !config->relay_only)
    {
      g_autoptr(GInetAddress) literal = g_inet_address_new_from_string (config->stun->host);

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
      attempt = attempt_new (core, attempt_id, offerer, &error);
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
valid_ice_string (const char *text,
                  gsize       min,
                  gsize       max)
{
  gsize length = text ? strlen (text) : 0;

  if (length < min || length > max)
    return FALSE;
  for (const char *p = text; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '+' && *p != '/')
      return FALSE;
  return TRUE;
}

static const char *
get_string_member (JsonObject *object,
                   const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

/* Parses the peer's description. Returns the candidates (possibly none). */
static gboolean
parse_remote (NiceAttempt  *attempt,
              JsonObject   *remote,
              const char  **ufrag,
              const char  **pwd,
              GSList      **candidates,
              GError      **error)
{
  JsonNode *node;
  JsonArray *array;
  GSList *list = NULL;
  NiceLeg *parser = attempt->legs[LEG_UDP] ? attempt->legs[LEG_UDP] : attempt->legs[LEG_TCP];

  *ufrag = get_string_member (remote, "ufrag");
  *pwd = get_string_member (remote, "pwd");
  node = json_object_get_member (remote, "candidates");

  if (!valid_ice_string (*ufrag, 4, 256) || !valid_ice_string (*pwd, 22, 256) ||
      node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("Invalid %s transport description"), transport_name (attempt));
      return FALSE;
    }

  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array) && i < MAX_REMOTE_CANDIDATES; i++)
    {
      JsonNode *element = json_array_get_element (array, i);
      NiceCandidate *candidate;
      const char *sdp;

      if (!JSON_NODE_HOLDS_VALUE (element) || json_node_get_value_type (element) != G_TYPE_STRING)
        continue;
      sdp = json_node_get_string (element);
      if (strlen (sdp) > MAX_CANDIDATE_LENGTH || !g_str_has_prefix (sdp, "a=candidate:"))
        continue;
      candidate = nice_agent_parse_remote_candidate_sdp (parser->agent, parser->stream_id, sdp);
      if (candidate == NULL)
        continue;
      if (attempt->core->config->relay_only && candidate->type != NICE_CANDIDATE_TYPE_RELAYED)
        {
          nice_candidate_free (candidate);
          continue;
        }
      list = g_slist_prepend (list, candidate);
    }

  *candidates = g_slist_reverse (list);
  return TRUE;
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
  attempt_connect_fail (attempt, attempt_failure (attempt, what));
  return G_SOURCE_REMOVE;
}

static gboolean
connect_cancelled_cb (GCancellable *cancellable,
                      gpointer      user_data)
{
  NiceAttempt *attempt = user_data;

  g_clear_pointer (&attempt->cancel_source, g_source_unref);
  attempt_connect_fail (attempt, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
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

  if (!core->started)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED,
                               _("The %s transport is not started"),
                               ferry_transport_get_name (core->transport));
      return;
    }

  attempt = g_hash_table_lookup (core->attempts, attempt_id);
  if (attempt == NULL || !attempt->gathered)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                               _("Unknown connection attempt"));
      return;
    }
  if (attempt->connect_task != NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PENDING,
                               _("The connection attempt is already connecting"));
      return;
    }
  if (g_task_return_error_if_cancelled (task))
    return;

  if (!parse_remote (attempt, remote, &ufrag, &pwd, &candidates, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  g_clear_pointer (&attempt->remote_summary, g_free);
  attempt->remote_summary = summarize_candidates (candidates);

  if (attempt->no_candidates && core->config->relay_only)
    {
      free_candidates (candidates);
      if (!attempt->probing)
        {
          g_task_return_error (task, relay_failure (attempt));
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

  /* Each leg gets the candidates of its transport. */
  {
    GSList *by_leg[N_LEGS] = { NULL, NULL };
    gboolean paired = FALSE;
    gboolean peer_quic = g_strcmp0 (get_string_member (remote, "udp"), FERRY_NICE_UDP_PROTOCOL) == 0;
    gboolean old_udp = FALSE;

    for (GSList *l = candidates; l != NULL; l = l->next)
      {
        NiceCandidate *candidate = l->data;
        guint index = candidate_is_tcp (candidate) ? LEG_TCP : LEG_UDP;

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
        leg->paired = by_leg[i] != NULL &&
                      nice_agent_set_remote_credentials (leg->agent, leg->stream_id, ufrag, pwd) &&
                      nice_agent_set_remote_candidates (leg->agent, leg->stream_id, 1, by_leg[i]) > 0;
        /* A leg without a pair cannot connect. */
        leg->failed = !leg->paired;
        paired |= leg->paired;
        g_slist_free (by_leg[i]);
      }
    free_candidates (candidates);

    if (!paired && old_udp)
      {
        g_task_return_new_error (task, FERRY_ERROR, FERRY_ERROR_NO_TRANSPORT,
                                 _("The peer's %s transport is too old: its UDP candidates "
                                   "carry pseudo-TCP, not QUIC"), core->config->name);
        return;
      }
    if (!paired)
      {
        g_task_return_new_error (task, FERRY_ERROR, FERRY_ERROR_NO_TRANSPORT,
                                 _("None of the peer's %s candidates can be paired with ours "
                                   "(local %s; peer %s)"),
                                 core->config->name, attempt->local_summary, attempt->remote_summary);
        return;
      }
  }

  attempt->connect_task = g_steal_pointer (&task);
  attempt->connect_start = g_get_monotonic_time ();
  direct_set (attempt, DIRECT_PENDING);
  attempt_start_connect_timer (attempt);
  if (cancellable != NULL)
    {
      attempt->cancel_source = g_cancellable_source_new (cancellable);
      g_source_set_static_name (attempt->cancel_source, "[ferry-nice] cancel");
      g_source_set_callback (attempt->cancel_source, G_SOURCE_FUNC (connect_cancelled_cb),
                             attempt, NULL);
      g_source_attach (attempt->cancel_source, core->context);
    }
  attempt_evaluate (attempt);
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
