/* ferry-negotiation.c: choosing and racing transports
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "ferry-error.h"
#include "ferry-negotiation-private.h"
#include "ferry-tls-private.h"
#include "ferry-utils-private.h"

/* ---------------------------------------------------------------- describe */

typedef struct {
  JsonObject **descriptions;  /* one per transport, NULL when it failed */
  guint        n;
  guint        pending;
  GSource     *timeout_source;
  GPtrArray   *transports;
  GCancellable *cancellable;  /* cancelled on timeout */
  gboolean     returned;
} DescribeData;

static void
describe_data_free (DescribeData *data)
{
  for (guint i = 0; i < data->n; i++)
    g_clear_pointer (&data->descriptions[i], json_object_unref);
  g_free (data->descriptions);
  _ferry_clear_source (&data->timeout_source);
  g_ptr_array_unref (data->transports);
  g_object_unref (data->cancellable);
  g_free (data);
}

typedef struct {
  GTask *task;
  guint  index;
} DescribeOne;

static void
describe_return (GTask *task)
{
  DescribeData *data = g_task_get_task_data (task);
  JsonArray *array;

  if (data->returned)
    return;
  data->returned = TRUE;
  _ferry_clear_source (&data->timeout_source);

  array = json_array_new ();
  for (guint i = 0; i < data->n; i++)
    {
      JsonObject *entry;

      if (data->descriptions[i] == NULL)
        continue;
      entry = json_object_new ();
      json_object_set_string_member (entry, "name",
                                     ferry_transport_get_name (g_ptr_array_index (data->transports, i)));
      json_object_set_object_member (entry, "params", json_object_ref (data->descriptions[i]));
      json_array_add_object_element (array, entry);
    }
  g_task_return_pointer (task, array, (GDestroyNotify) json_array_unref);
}

static void
describe_one_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  DescribeOne *one = user_data;
  DescribeData *data = g_task_get_task_data (one->task);
  g_autoptr(GError) error = NULL;
  JsonObject *description;

  description = ferry_transport_describe_finish (FERRY_TRANSPORT (source), result, &error);
  if (description == NULL)
    g_debug ("transport %s could not describe its end: %s",
             ferry_transport_get_name (FERRY_TRANSPORT (source)), error->message);
  else if (data->returned)
    json_object_unref (description);
  else
    data->descriptions[one->index] = description;

  if (--data->pending == 0)
    describe_return (one->task);
  g_object_unref (one->task);
  g_free (one);
}

static gboolean
describe_timeout_cb (gpointer user_data)
{
  GTask *task = user_data;
  DescribeData *data = g_task_get_task_data (task);

  g_clear_pointer (&data->timeout_source, g_source_unref);
  g_debug ("describing transports timed out; going on with those that answered");
  g_cancellable_cancel (data->cancellable);
  describe_return (task);
  return G_SOURCE_REMOVE;
}

void
_ferry_negotiation_describe_async (GMainContext        *context,
                                   GPtrArray           *transports,
                                   const char          *attempt_id,
                                   gboolean             offerer,
                                   guint                timeout_ms,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  DescribeData *data;

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, _ferry_negotiation_describe_async);

  data = g_new0 (DescribeData, 1);
  data->n = transports->len;
  data->descriptions = g_new0 (JsonObject *, data->n);
  data->transports = g_ptr_array_ref (transports);
  data->cancellable = g_cancellable_new ();
  g_task_set_task_data (task, data, (GDestroyNotify) describe_data_free);

  if (transports->len == 0)
    {
      describe_return (task);
      return;
    }

  data->pending = transports->len;
  data->timeout_source = _ferry_timeout_source_attach (context, timeout_ms, describe_timeout_cb,
                                                       g_object_ref (task), g_object_unref);
  for (guint i = 0; i < transports->len; i++)
    {
      DescribeOne *one = g_new0 (DescribeOne, 1);

      one->task = g_object_ref (task);
      one->index = i;
      ferry_transport_describe_async (g_ptr_array_index (transports, i), attempt_id, offerer,
                                      data->cancellable, describe_one_cb, one);
    }
}

JsonArray *
_ferry_negotiation_describe_finish (GAsyncResult  *result,
                                    GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ------------------------------------------------------------------ select */

void
_ferry_race_entry_free (FerryRaceEntry *entry)
{
  g_clear_object (&entry->transport);
  g_clear_pointer (&entry->remote, json_object_unref);
  g_free (entry);
}

typedef struct {
  FerryRaceEntry *entry;
  guint           order;
} Ranked;

static int
compare_ranked (gconstpointer a,
                gconstpointer b)
{
  const Ranked *ra = a, *rb = b;
  guint rank_a = ferry_transport_get_rank (ra->entry->transport);
  guint rank_b = ferry_transport_get_rank (rb->entry->transport);

  if (rank_a != rank_b)
    return rank_a > rank_b ? -1 : 1;
  return ra->order < rb->order ? -1 : (ra->order > rb->order);
}

GPtrArray *
_ferry_negotiation_select (JsonArray *offered,
                           GPtrArray *local)
{
  GPtrArray *result = g_ptr_array_new_with_free_func ((GDestroyNotify) _ferry_race_entry_free);
  g_autoptr(GArray) ranked = g_array_new (FALSE, FALSE, sizeof (Ranked));
  guint n = offered ? json_array_get_length (offered) : 0;

  for (guint i = 0; i < n; i++)
    {
      JsonNode *node = json_array_get_element (offered, i);
      JsonObject *object;
      JsonNode *name_node, *params_node;
      const char *name;
      FerryTransport *match = NULL;
      gboolean seen = FALSE;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;
      object = json_node_get_object (node);
      name_node = json_object_get_member (object, "name");
      params_node = json_object_get_member (object, "params");
      if (name_node == NULL || !JSON_NODE_HOLDS_VALUE (name_node) ||
          json_node_get_value_type (name_node) != G_TYPE_STRING ||
          params_node == NULL || !JSON_NODE_HOLDS_OBJECT (params_node))
        continue;
      name = json_node_get_string (name_node);

      for (guint j = 0; j < local->len; j++)
        if (g_strcmp0 (ferry_transport_get_name (g_ptr_array_index (local, j)), name) == 0)
          match = g_ptr_array_index (local, j);
      for (guint j = 0; j < ranked->len; j++)
        if (g_array_index (ranked, Ranked, j).entry->transport == match)
          seen = TRUE;
      if (match == NULL || seen)
        continue;

      {
        Ranked r;

        r.entry = g_new0 (FerryRaceEntry, 1);
        r.entry->transport = g_object_ref (match);
        r.entry->remote = json_object_ref (json_node_get_object (params_node));
        r.order = i;
        g_array_append_val (ranked, r);
      }
    }

  g_array_sort (ranked, compare_ranked);
  for (guint i = 0; i < ranked->len; i++)
    g_ptr_array_add (result, g_array_index (ranked, Ranked, i).entry);
  return result;
}

/* -------------------------------------------------------------------- race */

void
_ferry_race_result_free (FerryRaceResult *result)
{
  g_clear_object (&result->stream);
  g_clear_object (&result->session);
  g_clear_pointer (&result->files, g_ptr_array_unref);
  g_free (result->transfer_id);
  g_free (result->chain);
  g_free (result->transport_name);
  g_free (result);
}

typedef struct _Race Race;

typedef struct {
  Race           *race;
  guint           index;
  FerryRaceEntry *entry;
  GCancellable   *cancellable;
  GSource        *timeout_source;
  gboolean        started;
  gboolean        finished;
  gboolean        timed_out;
  char           *description;
  GIOStream      *stream;    /* the secure stream while the header is read */
} Attempt;

struct _Race {
  gatomicrefcount  ref;
  GTask           *task;
  GMainContext    *context;
  FerryIdentity   *identity;
  gboolean         offerer;
  char            *attempt_id;
  char            *peer_account_id;
  char            *peer_device_id;
  guint            stagger_ms;
  guint            attempt_timeout_ms;
  GPtrArray       *attempts;
  guint            next;
  guint            running;
  GSource         *stagger_source;
  gulong           cancelled_id;
  GCancellable    *cancellable;
  GString         *failures;
  gboolean         done;
};

static void
attempt_free (Attempt *attempt)
{
  _ferry_clear_source (&attempt->timeout_source);
  _ferry_race_entry_free (attempt->entry);
  g_clear_object (&attempt->cancellable);
  g_free (attempt->description);
  g_clear_object (&attempt->stream);
  g_free (attempt);
}

static Race *
race_ref (Race *race)
{
  g_atomic_ref_count_inc (&race->ref);
  return race;
}

static void
race_unref (Race *race)
{
  if (!g_atomic_ref_count_dec (&race->ref))
    return;
  _ferry_clear_source (&race->stagger_source);
  if (race->cancellable != NULL)
    g_cancellable_disconnect (race->cancellable, race->cancelled_id);
  g_clear_object (&race->cancellable);
  g_clear_object (&race->task);
  g_main_context_unref (race->context);
  g_clear_object (&race->identity);
  g_free (race->attempt_id);
  g_free (race->peer_account_id);
  g_free (race->peer_device_id);
  g_ptr_array_unref (race->attempts);
  g_string_free (race->failures, TRUE);
  g_free (race);
}

static void race_start_next (Race *race);

static void
race_cancel_all (Race *race)
{
  for (guint i = 0; i < race->attempts->len; i++)
    {
      Attempt *attempt = g_ptr_array_index (race->attempts, i);

      if (attempt->started && !attempt->finished)
        g_cancellable_cancel (attempt->cancellable);
    }
}

static void
race_win (Race            *race,
          Attempt         *attempt,
          FerryRaceResult *result)
{
  attempt->finished = TRUE;
  race->running--;
  _ferry_clear_source (&attempt->timeout_source);

  if (race->done)
    {
      _ferry_race_result_free (result);
      return;
    }
  race->done = TRUE;
  _ferry_clear_source (&race->stagger_source);
  race_cancel_all (race);
  result->transport_name = g_strdup (ferry_transport_get_name (attempt->entry->transport));
  g_task_return_pointer (race->task, result, (GDestroyNotify) _ferry_race_result_free);
}

/* The authenticated peer sent a header that was refused: no other
 * transport makes it right, the race ends with why. */
static void
race_refused (Race    *race,
              Attempt *attempt,
              GError  *error)
{
  attempt->finished = TRUE;
  race->running--;
  _ferry_clear_source (&attempt->timeout_source);
  if (race->done)
    return;

  race->done = TRUE;
  _ferry_clear_source (&race->stagger_source);
  race_cancel_all (race);
  g_task_return_new_error (race->task, FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                           _("The sender’s header was refused: %s"), error->message);
}

static void
race_attempt_failed (Race    *race,
                     Attempt *attempt,
                     GError  *error)
{
  const char *name = ferry_transport_get_name (attempt->entry->transport);

  attempt->finished = TRUE;
  race->running--;
  _ferry_clear_source (&attempt->timeout_source);

  if (race->done)
    return;

  if (race->failures->len > 0)
    g_string_append (race->failures, "; ");
  if (attempt->timed_out)
    g_string_append_printf (race->failures, _("%s: no connection within %u s"),
                            name, race->attempt_timeout_ms / 1000);
  else
    g_string_append_printf (race->failures, "%s: %s", name, error->message);
  g_debug ("transport attempt %s failed: %s", name, error->message);

  if (g_cancellable_is_cancelled (race->cancellable))
    {
      race->done = TRUE;
      race_cancel_all (race);
      g_task_return_new_error (race->task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                               _("The connection attempt was cancelled"));
      return;
    }

  if (race->next < race->attempts->len)
    {
      /* Happy eyeballs: nothing earlier is left running, so do not wait
       * for the stagger delay. */
      if (race->running == 0)
        {
          _ferry_clear_source (&race->stagger_source);
          race_start_next (race);
        }
      return;
    }

  if (race->running == 0)
    {
      race->done = TRUE;
      g_task_return_new_error (race->task, FERRY_ERROR, FERRY_ERROR_NO_TRANSPORT,
                               _("No transport could reach the peer (%s)"),
                               race->failures->len ? race->failures->str : _("no transport in common"));
    }
}

typedef struct {
  Race    *race;
  Attempt *attempt;
} AttemptRef;

static AttemptRef *
attempt_ref_new (Race    *race,
                 Attempt *attempt)
{
  AttemptRef *ref = g_new0 (AttemptRef, 1);

  ref->race = race_ref (race);
  ref->attempt = attempt;
  return ref;
}

static void
attempt_ref_free (AttemptRef *ref)
{
  race_unref (ref->race);
  g_free (ref);
}

typedef struct {
  GIOStream     *base;
  FerryIdentity *identity;
  gboolean       is_server;
  char          *account_id;
  char          *device_id;
} HandshakeData;

static void
handshake_data_free (HandshakeData *data)
{
  g_clear_object (&data->base);
  g_clear_object (&data->identity);
  g_free (data->account_id);
  g_free (data->device_id);
  g_free (data);
}

static void
handshake_thread (GTask        *task,
                  gpointer      source_object,
                  gpointer      task_data,
                  GCancellable *cancellable)
{
  HandshakeData *data = task_data;
  GError *error = NULL;
  GIOStream *stream;

  stream = _ferry_tls_handshake (data->base, data->identity, data->is_server,
                                 data->account_id, data->device_id, cancellable, &error);
  if (stream == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, stream, g_object_unref);
}

static void
header_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  AttemptRef *ref = user_data;
  Attempt *attempt = ref->attempt;
  g_autoptr(GError) error = NULL;
  g_autofree char *transfer_id = NULL;
  GPtrArray *files;

  files = _ferry_session_read_header_finish (FERRY_SESSION (source), result, &transfer_id, &error);
  if (files == NULL && g_error_matches (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL))
    race_refused (ref->race, attempt, error);
  else if (files == NULL)
    {
      race_attempt_failed (ref->race, attempt, error);
    }
  else if (g_strcmp0 (transfer_id, ref->race->attempt_id) != 0)
    {
      g_autoptr(GError) mismatch = g_error_new (FERRY_ERROR, FERRY_ERROR_PROTOCOL,
                                                _("The peer announced another transfer"));

      g_ptr_array_unref (files);
      _ferry_session_cancel (FERRY_SESSION (source), "unexpected transfer id");
      race_attempt_failed (ref->race, attempt, mismatch);
    }
  else
    {
      FerryRaceResult *race_result = g_new0 (FerryRaceResult, 1);
      g_autofree char *tls = _ferry_tls_describe (attempt->stream);

      race_result->session = g_object_ref (FERRY_SESSION (source));
      race_result->files = files;
      race_result->transfer_id = g_steal_pointer (&transfer_id);
      race_result->chain = g_strdup_printf ("%s → %s", attempt->description, tls);
      g_clear_object (&attempt->stream);
      race_win (ref->race, attempt, race_result);
    }
  attempt_ref_free (ref);
}

static void
handshake_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  AttemptRef *ref = user_data;
  Attempt *attempt = ref->attempt;
  g_autoptr(GError) error = NULL;
  GIOStream *stream;

  stream = g_task_propagate_pointer (G_TASK (result), &error);
  if (stream == NULL)
    {
      race_attempt_failed (ref->race, attempt, error);
      attempt_ref_free (ref);
      return;
    }

  if (ref->race->done)
    {
      /* Lost the race: closing the channel tells the peer. */
      g_io_stream_close (stream, NULL, NULL);
      g_object_unref (stream);
      attempt->finished = TRUE;
      ref->race->running--;
      attempt_ref_free (ref);
      return;
    }

  if (ref->race->offerer)
    {
      FerryRaceResult *race_result = g_new0 (FerryRaceResult, 1);
      g_autofree char *tls = _ferry_tls_describe (stream);

      race_result->stream = stream;
      race_result->chain = g_strdup_printf ("%s → %s", attempt->description, tls);
      race_win (ref->race, attempt, race_result);
      attempt_ref_free (ref);
      return;
    }

  /* The answerer keeps the channel on which the header arrives first. */
  {
    g_autoptr(FerrySession) session = NULL;

    attempt->stream = g_object_ref (stream);
    session = _ferry_session_new (stream);
    g_object_unref (stream);
    _ferry_session_read_header_async (session, attempt->cancellable, header_cb, ref);
  }
}

static void
connect_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  AttemptRef *ref = user_data;
  Attempt *attempt = ref->attempt;
  Race *race = ref->race;
  g_autoptr(GError) error = NULL;
  g_autofree char *description = NULL;
  g_autoptr(GIOStream) stream = NULL;
  g_autoptr(GTask) task = NULL;
  HandshakeData *data;

  stream = ferry_transport_connect_finish (FERRY_TRANSPORT (source), result, &description, &error);
  if (stream == NULL)
    {
      race_attempt_failed (race, attempt, error);
      attempt_ref_free (ref);
      return;
    }
  if (race->done)
    {
      g_io_stream_close (stream, NULL, NULL);
      attempt->finished = TRUE;
      race->running--;
      attempt_ref_free (ref);
      return;
    }

  attempt->description = description ? g_steal_pointer (&description)
                                      : g_strdup (ferry_transport_get_name (FERRY_TRANSPORT (source)));

  data = g_new0 (HandshakeData, 1);
  data->base = g_steal_pointer (&stream);
  data->identity = g_object_ref (race->identity);
  data->is_server = !race->offerer;
  data->account_id = g_strdup (race->peer_account_id);
  data->device_id = g_strdup (race->peer_device_id);

  task = g_task_new (NULL, attempt->cancellable, handshake_cb, ref);
  g_task_set_source_tag (task, connect_cb);
  g_task_set_task_data (task, data, (GDestroyNotify) handshake_data_free);
  g_task_run_in_thread (task, handshake_thread);
}

static gboolean
attempt_timeout_cb (gpointer user_data)
{
  Attempt *attempt = user_data;

  g_clear_pointer (&attempt->timeout_source, g_source_unref);
  attempt->timed_out = TRUE;
  g_cancellable_cancel (attempt->cancellable);
  return G_SOURCE_REMOVE;
}

static gboolean
stagger_cb (gpointer user_data)
{
  Race *race = user_data;

  g_clear_pointer (&race->stagger_source, g_source_unref);
  race_start_next (race);
  return G_SOURCE_REMOVE;
}

static void
race_start_next (Race *race)
{
  Attempt *attempt;

  while (!race->done && race->next < race->attempts->len)
    {
      attempt = g_ptr_array_index (race->attempts, race->next++);
      attempt->started = TRUE;
      race->running++;
      attempt->timeout_source = _ferry_timeout_source_attach (race->context, race->attempt_timeout_ms,
                                                              attempt_timeout_cb, attempt, NULL);
      g_debug ("%s: starting transport attempt %u: %s", race->offerer ? "offerer" : "answerer",
               attempt->index, ferry_transport_get_name (attempt->entry->transport));
      ferry_transport_connect_async (attempt->entry->transport, race->attempt_id, race->offerer,
                                     attempt->entry->remote, attempt->cancellable,
                                     connect_cb, attempt_ref_new (race, attempt));

      if (race->next >= race->attempts->len || race->stagger_source != NULL)
        return;
      /* Happy eyeballs holds the next attempt back to let a better one
       * win, but not for one that cannot reach the peer from here. */
      if (!attempt->entry->unreachable)
        {
          g_debug ("%s: waiting %u ms before the next transport attempt",
                   race->offerer ? "offerer" : "answerer", race->stagger_ms);
          race->stagger_source = _ferry_timeout_source_attach (race->context, race->stagger_ms, stagger_cb,
                                                               race_ref (race), (GDestroyNotify) race_unref);
          return;
        }
      g_debug ("%s: not waiting for %s, which cannot reach the peer's addresses",
               race->offerer ? "offerer" : "answerer", ferry_transport_get_name (attempt->entry->transport));
    }
}

static void
race_cancelled_cb (GCancellable *cancellable,
                   gpointer      user_data)
{
  Race *race = user_data;

  /* May run in any thread: only cancel the attempts' cancellables, the
   * attempts then fail on the main context and end the race there. */
  for (guint i = 0; i < race->attempts->len; i++)
    g_cancellable_cancel (((Attempt *) g_ptr_array_index (race->attempts, i))->cancellable);
}

void
_ferry_negotiation_race_async (GPtrArray              *entries,
                               const FerryRaceParams  *params,
                               GCancellable           *cancellable,
                               GAsyncReadyCallback     callback,
                               gpointer                user_data)
{
  Race *race;

  race = g_new0 (Race, 1);
  g_atomic_ref_count_init (&race->ref);
  race->task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (race->task, _ferry_negotiation_race_async);
  race->context = params->context ? g_main_context_ref (params->context)
                                  : g_main_context_ref_thread_default ();
  race->identity = g_object_ref (params->identity);
  race->offerer = params->offerer;
  race->attempt_id = g_strdup (params->attempt_id);
  race->peer_account_id = g_strdup (params->peer_account_id);
  race->peer_device_id = g_strdup (params->peer_device_id);
  race->stagger_ms = params->stagger_ms;
  race->attempt_timeout_ms = MAX (params->attempt_timeout_ms, 1);
  race->failures = g_string_new (NULL);
  race->attempts = g_ptr_array_new_with_free_func ((GDestroyNotify) attempt_free);
  race->cancellable = cancellable ? g_object_ref (cancellable) : g_cancellable_new ();

  for (guint i = 0; i < entries->len; i++)
    {
      Attempt *attempt = g_new0 (Attempt, 1);

      attempt->race = race;
      attempt->index = i;
      attempt->entry = g_ptr_array_index (entries, i);
      if (attempt->entry->remote != NULL)
        {
          JsonObject *filtered = _ferry_negotiation_filter_scope (attempt->entry->remote, params->loopback);

          json_object_unref (attempt->entry->remote);
          attempt->entry->remote = filtered;
        }
      attempt->cancellable = g_cancellable_new ();
      g_ptr_array_add (race->attempts, attempt);
    }
  g_ptr_array_set_free_func (entries, NULL);
  g_ptr_array_unref (entries);

  race->cancelled_id = g_cancellable_connect (race->cancellable, G_CALLBACK (race_cancelled_cb),
                                              race, NULL);

  if (race->attempts->len == 0)
    {
      race->done = TRUE;
      g_task_return_new_error (race->task, FERRY_ERROR, FERRY_ERROR_NO_TRANSPORT,
                               _("The two devices have no transport in common"));
      race_unref (race);
      return;
    }

  race_start_next (race);
  race_unref (race);
}

FerryRaceResult *
_ferry_negotiation_race_finish (GAsyncResult  *result,
                                GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
