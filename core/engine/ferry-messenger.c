/* ferry-messenger.c: building, sealing and sending signaling messages
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>
#include <gnutls/crypto.h>

#include "ferry-engine-private.h"

/* -------------------------------------------------------------- messaging */

char *
_ferry_engine_random_hex (gsize n_bytes)
{
  guint8 buf[32];

  g_assert (n_bytes <= sizeof buf);
  if (gnutls_rnd (GNUTLS_RND_NONCE, buf, n_bytes) != 0)
    g_error ("gnutls_rnd failed");
  return _ferry_hex_encode (buf, n_bytes);
}

static void
send_message_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  if (!ferry_signaling_send_finish (FERRY_SIGNALING (source), result, &error))
    g_debug ("signaling %s could not send: %s",
             ferry_signaling_get_name (FERRY_SIGNALING (source)), error->message);
}

void
_ferry_engine_send_message (FerryEngine    *self,
                            FerrySignaling *signaling,
                            const char     *route,
                            GBytes         *message)
{
  if (signaling == NULL || route == NULL)
    {
      g_debug ("no route to send a message");
      return;
    }
  ferry_signaling_send_async (signaling, route, message, NULL, send_message_cb, NULL);
}

GBytes *
_ferry_engine_build_message (FerryEngine *self,
                             const char  *type,
                             const char  *to,
                             JsonObject  *body)
{
  g_autoptr(GError) error = NULL;
  /* Signed, and sealed to the receiving device (see ferry-envelope-seal.c). */
  GBytes *message = _ferry_envelope_build_sealed (self->identity, type, to, body, &error);

  if (message == NULL)
    g_warning ("cannot build a %s message: %s", type, error->message);
  return message;
}

static void
send_ending (FerryEngine    *self,
             const char     *type,
             FerrySignaling *signaling,
             const char     *route,
             const char     *to,
             const char     *transfer_id,
             const char     *reason)
{
  g_autoptr(JsonObject) body = json_object_new ();
  g_autoptr(GBytes) message = NULL;

  json_object_set_string_member (body, "transfer", transfer_id);
  json_object_set_string_member (body, "reason", reason ? reason : "");
  message = _ferry_engine_build_message (self, type, to, body);
  if (message != NULL)
    _ferry_engine_send_message (self, signaling, route, message);
}

void
_ferry_engine_send_cancel (FerryEngine    *self,
                           FerrySignaling *signaling,
                           const char     *route,
                           const char     *to,
                           const char     *transfer_id,
                           const char     *reason)
{
  send_ending (self, "cancel", signaling, route, to, transfer_id, reason);
}

/* The receiver's "no" to an offer it never answered: no connection was
 * made, so this message is all the sender hears. */
void
_ferry_engine_send_reject (FerryEngine    *self,
                           FerrySignaling *signaling,
                           const char     *route,
                           const char     *to,
                           const char     *transfer_id,
                           const char     *reason)
{
  send_ending (self, "reject", signaling, route, to, transfer_id, reason);
}

/* ---------------------------------------------------------------- re-sending
 *
 * Signaling may lose a message, so what must arrive is sent again: one
 * policy, a schedule per kind of message, instead of a loop per caller.
 */

typedef struct {
  const guint *pauses_ms;   /* between one try and the next */
  guint        n_pauses;
  gboolean     forever;     /* after the last pause, repeat it until stopped */
} RetrySchedule;

static const guint offer_pauses_ms[] = { 250, 750, 2000, 4000 };
/* The answer, until a channel is up: a lost answer would otherwise leave
 * the sender waiting (its re-sent offers are dropped here as replays). */
static const guint answer_pauses_ms[] = { 300, 1000, 2500 };
static const guint request_pauses_ms[] = { 1000 };
static const guint query_pauses_ms[] = { 500 };

static const RetrySchedule schedules[] = {
  [FERRY_RETRY_OFFER]   = { offer_pauses_ms, G_N_ELEMENTS (offer_pauses_ms), FALSE },
  [FERRY_RETRY_ANSWER]  = { answer_pauses_ms, G_N_ELEMENTS (answer_pauses_ms), FALSE },
  [FERRY_RETRY_REQUEST] = { request_pauses_ms, G_N_ELEMENTS (request_pauses_ms), TRUE },
  [FERRY_RETRY_QUERY]   = { query_pauses_ms, G_N_ELEMENTS (query_pauses_ms), TRUE },
};

struct _FerryRetry
{
  FerryEngine    *engine;     /* not owned: a retry never outlives it */
  FerryRetryKind  kind;
  guint           tries;
  GSource        *source;
  FerryRetryFunc  func;
  gpointer        data;
  GDestroyNotify  destroy;
};

static void retry_schedule (FerryRetry *retry);

static gboolean
retry_fire_cb (gpointer user_data)
{
  FerryRetry *retry = user_data;

  g_clear_pointer (&retry->source, g_source_unref);
  retry->tries++;
  retry_schedule (retry);
  retry->func (retry->data);
  return G_SOURCE_REMOVE;
}

static void
retry_schedule (FerryRetry *retry)
{
  const RetrySchedule *schedule = &schedules[retry->kind];
  guint pause;

  if (retry->tries < schedule->n_pauses)
    pause = schedule->pauses_ms[retry->tries];
  else if (schedule->forever)
    pause = schedule->pauses_ms[schedule->n_pauses - 1];
  else
    return;
  retry->source = _ferry_engine_timeout_add (retry->engine, pause, retry_fire_cb, retry);
}

/* Calls @func (@data) again after each pause of the schedule of @kind;
 * the caller made the first try. Free the retry to stop it. */
FerryRetry *
_ferry_retry_new (FerryEngine    *engine,
                  FerryRetryKind  kind,
                  FerryRetryFunc  func,
                  gpointer        data,
                  GDestroyNotify  destroy)
{
  FerryRetry *retry = g_new0 (FerryRetry, 1);

  retry->engine = engine;
  retry->kind = kind;
  retry->func = func;
  retry->data = data;
  retry->destroy = destroy;
  retry_schedule (retry);
  return retry;
}

void
_ferry_retry_free (FerryRetry *retry)
{
  _ferry_clear_source (&retry->source);
  if (retry->destroy != NULL)
    retry->destroy (retry->data);
  g_free (retry);
}

typedef struct {
  FerryEngine    *engine;
  FerrySignaling *signaling;
  char           *route;
  GBytes         *message;
} Repeat;

static void
repeat_free (gpointer data)
{
  Repeat *repeat = data;

  g_clear_object (&repeat->signaling);
  g_free (repeat->route);
  g_bytes_unref (repeat->message);
  g_free (repeat);
}

static void
repeat_send (gpointer data)
{
  Repeat *repeat = data;

  _ferry_engine_send_message (repeat->engine, repeat->signaling, repeat->route, repeat->message);
}

/* Sends @message now, and the same bytes again (the same message id, so
 * the receiver acts on the first copy that arrives) on the schedule of
 * @kind until the returned retry is freed. */
FerryRetry *
_ferry_engine_send_repeatedly (FerryEngine    *self,
                               FerrySignaling *signaling,
                               const char     *route,
                               GBytes         *message,
                               FerryRetryKind  kind)
{
  Repeat *repeat = g_new0 (Repeat, 1);

  repeat->engine = self;
  repeat->signaling = signaling ? g_object_ref (signaling) : NULL;
  repeat->route = g_strdup (route);
  repeat->message = g_bytes_ref (message);
  repeat_send (repeat);
  return _ferry_retry_new (self, kind, repeat_send, repeat, repeat_free);
}
