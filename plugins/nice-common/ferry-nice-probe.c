/* ferry-nice-probe.c: why a server gave no candidate
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>
#include <gnutls/crypto.h>

#include "ferry-nice-core-private.h"

/* Why did a TURN server give no relay address? A request without
 * credentials tells an unreachable server from one that refused the
 * allocation. A TURN server is asked with an Allocate request without
 * REQUESTED-TRANSPORT (it answers 401, or 400 without authentication, and
 * allocates nothing; some TURN servers ignore STUN Binding requests), a
 * STUN server with a Binding request. */
#define PROBE_BINDING  0x0001
#define PROBE_ALLOCATE 0x0003

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
probe_server (FerryNiceServer *server,
              guint16          method)
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

  request[0] = method >> 8;
  request[1] = method & 0xff;
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
      if (probe_server (server, PROBE_ALLOCATE))
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

GError *
_ferry_nice_relay_failure (NiceAttempt *attempt)
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
    _ferry_nice_attempt_connect_fail (attempt, _ferry_nice_relay_failure (attempt));
}

void
_ferry_nice_attempt_probe_relays (NiceAttempt *attempt)
{
  FerryNiceConfig *config = attempt->core->config;
  ProbeData *data = g_new0 (ProbeData, 1);
  g_autoptr(GTask) probe = g_task_new (attempt->core->transport, NULL, probe_done_cb, NULL);

  data->servers = g_ptr_array_ref (config->turn_servers);
  data->core = attempt->core;
  data->attempt_id = g_strdup (attempt->id);
  attempt->probing = TRUE;
  g_task_set_task_data (probe, data, (GDestroyNotify) probe_data_free);
  g_task_run_in_thread (probe, probe_thread);
}

/* Whether the STUN server (or any of the TURN servers) answers: a probe
 * at start, before the first attempt needs to know. */
typedef struct {
  GPtrArray *servers;   /* FerryNiceServer */
  guint16    method;
  gboolean   turn;
} ServerProbe;

static void
server_probe_free (ServerProbe *probe)
{
  g_ptr_array_unref (probe->servers);
  g_free (probe);
}

static void
server_probe_thread (GTask        *task,
                     gpointer      source_object,
                     gpointer      task_data,
                     GCancellable *cancellable)
{
  ServerProbe *probe = task_data;
  gboolean answers = FALSE;

  for (guint i = 0; i < probe->servers->len && !answers; i++)
    answers = probe_server (g_ptr_array_index (probe->servers, i), probe->method);
  g_task_return_boolean (task, answers);
}

static void
server_probe_done_cb (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  FerryNiceCore *core = user_data;   /* alive: the task holds its transport */
  ServerProbe *probe = g_task_get_task_data (G_TASK (result));
  gboolean answers = g_task_propagate_boolean (G_TASK (result), NULL);
  StunState state = answers ? STUN_ANSWERS : STUN_SILENT;

  if (g_cancellable_is_cancelled (g_task_get_cancellable (G_TASK (result))))
    return;   /* stopped meanwhile */
  if (probe->turn)
    {
      g_clear_object (&core->turn_probing);
      _ferry_nice_core_turn_learned (core, state, "probe");
      return;
    }
  g_clear_object (&core->stun_probing);
  /* What a gathering found since is newer. */
  if (core->stun_state == STUN_UNKNOWN)
    _ferry_nice_core_stun_learned (core, state, "probe");
}

static void
core_probe (FerryNiceCore *core,
            GCancellable  *cancellable,
            ServerProbe   *data)
{
  g_autoptr(GTask) probe = g_task_new (core->transport, cancellable, server_probe_done_cb, core);

  g_task_set_task_data (probe, data, (GDestroyNotify) server_probe_free);
  g_task_set_check_cancellable (probe, FALSE);
  g_task_run_in_thread (probe, server_probe_thread);
}

void
_ferry_nice_core_probe_stun (FerryNiceCore *core)
{
  ServerProbe *data = g_new0 (ServerProbe, 1);
  FerryNiceServer *server = g_new0 (FerryNiceServer, 1);

  /* A copy: the configuration may change while the thread runs. */
  server->host = g_strdup (core->config->stun->host);
  server->port = core->config->stun->port;
  server->type = NICE_RELAY_TYPE_TURN_UDP;   /* a datagram probe */
  data->servers = g_ptr_array_new_with_free_func ((GDestroyNotify) _ferry_nice_server_free);
  g_ptr_array_add (data->servers, server);
  data->method = PROBE_BINDING;
  core->stun_probing = g_cancellable_new ();
  core_probe (core, core->stun_probing, data);
}

void
_ferry_nice_core_probe_turn (FerryNiceCore *core)
{
  ServerProbe *data;

  if (core->turn_probing != NULL)
    return;
  data = g_new0 (ServerProbe, 1);
  /* (The servers stay alive with this reference if the configuration
   * changes.) */
  data->servers = g_ptr_array_ref (core->config->turn_servers);
  data->method = PROBE_ALLOCATE;
  data->turn = TRUE;
  core->turn_probing = g_cancellable_new ();
  core_probe (core, core->turn_probing, data);
}
