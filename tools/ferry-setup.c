/* ferry-setup.c: the engine of the ferry tool: options applied, start,
 * signals, quitting, closing
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <signal.h>

#include <glib/gi18n.h>
#include <glib-unix.h>

#include "ferry-tool.h"
#include "ferry-escape.h"
#include "ferry-events.h"
#include "ferry-progress.h"

/* Names given with --signaling or --transport must be installed features;
 * checked before anything is created, as a usage error. */
static int
check_names (GPtrArray  *names,
             GType       base_type,
             const char *option)
{
  FerryRegistry *registry;

  if (names == NULL)
    return EXIT_OK;

  registry = ferry_registry_get_default ();
  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);

      if (ferry_registry_lookup_feature (registry, base_type, name) == NULL)
        return tool_usage_error (_("Unknown %s “%s” (see “ferry plugins”)"), option, name);
    }
  return EXIT_OK;
}

int
tool_check_plugin_names (FerryTool *tool)
{
  int code = check_names (tool->signalings, FERRY_TYPE_SIGNALING, "--signaling");

  if (code == EXIT_OK)
    code = check_names (tool->transports, FERRY_TYPE_TRANSPORT, "--transport");
  return code;
}

/* The names @engine starts (from ferry.conf, or its defaults), with
 * @add_a and @add_b (when not NULL) added unless present. */
static GPtrArray *
names_with (const char * const *current,
            const char         *add_a,
            const char         *add_b)
{
  GPtrArray *names = g_ptr_array_new_null_terminated (4, g_free, TRUE);

  for (guint i = 0; current[i] != NULL; i++)
    g_ptr_array_add (names, g_strdup (current[i]));
  if (add_a != NULL && !g_ptr_array_find_with_equal_func (names, add_a, g_str_equal, NULL))
    g_ptr_array_add (names, g_strdup (add_a));
  if (add_b != NULL && !g_ptr_array_find_with_equal_func (names, add_b, g_str_equal, NULL))
    g_ptr_array_add (names, g_strdup (add_b));
  return names;
}

/* --dht-proxy replaces [dht] proxies of ferry.conf, and without
 * --signaling adds dht to the signalings of ferry.conf. */
static void
apply_dht_proxies (FerryTool *tool)
{
  ferry_engine_set_dht_proxies (tool->engine, (const char * const *) tool->dht_proxies->pdata);
  if (tool->signalings == NULL)
    {
      g_autoptr(GPtrArray) names = names_with (ferry_engine_get_signaling_names (tool->engine),
                                               "dht", NULL);

      ferry_engine_set_signalings (tool->engine, (const char * const *) names->pdata);
    }
}

/* --turn replaces [turn] servers and --stun [ice] stun-server of
 * ferry.conf; without --transport they add turn and ice to its
 * transports. */
static void
apply_relays (FerryTool *tool)
{
  if (tool->turn_servers != NULL)
    ferry_engine_set_turn_servers (tool->engine, (const char * const *) tool->turn_servers->pdata);
  if (tool->stun_server != NULL)
    ferry_engine_set_stun_server (tool->engine, tool->stun_server);
  if (tool->transports == NULL)
    {
      g_autoptr(GPtrArray) names =
        names_with (ferry_engine_get_transport_names (tool->engine),
                    tool->stun_server != NULL ? "ice" : NULL,
                    tool->turn_servers != NULL ? "turn" : NULL);

      ferry_engine_set_transports (tool->engine, (const char * const *) names->pdata);
    }
}

int
tool_open_engine (FerryTool *tool)
{
  g_autoptr(GError) error = NULL;

  tool->engine = ferry_engine_new (tool->home, NULL, &error);
  if (tool->engine == NULL)
    {
      if (tool->json)
        tool_emit_error (tool, NULL, error);
      tool_print_error (_("Cannot open the home directory: %s"), error->message);
      return EXIT_FAILED;
    }

  if (tool->signalings != NULL)
    ferry_engine_set_signalings (tool->engine, (const char * const *) tool->signalings->pdata);
  if (tool->transports != NULL)
    ferry_engine_set_transports (tool->engine, (const char * const *) tool->transports->pdata);
  if (tool->interfaces != NULL)
    ferry_engine_set_interfaces (tool->engine, (const char * const *) tool->interfaces->pdata);
  if (tool->dht_proxies != NULL)
    apply_dht_proxies (tool);
  if (tool->turn_servers != NULL || tool->stun_server != NULL)
    apply_relays (tool);

  return EXIT_OK;
}

/* A start under way. Shared by tool_start_engine() and the callback, which
 * may come after the tool gave up waiting (a second signal). */
typedef struct {
  GMainLoop *loop;
  gboolean   done;
  gboolean   ok;
  GError    *error;
} StartWait;

static void
start_wait_free (StartWait *wait)
{
  g_main_loop_unref (wait->loop);
  g_clear_error (&wait->error);
}

static void
engine_started_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  StartWait *wait = user_data;

  wait->ok = ferry_engine_start_finish (FERRY_ENGINE (source), result, &wait->error);
  wait->done = TRUE;
  g_main_loop_quit (wait->loop);
  g_rc_box_release_full (wait, (GDestroyNotify) start_wait_free);
}

/* Starts the engine without blocking the tool's main loop (the checks of
 * the features may take seconds): signals are handled meanwhile. A signal
 * cancels the start; the tool then exits as the signal says. */
int
tool_start_engine (FerryTool *tool)
{
  StartWait *wait = g_rc_box_new0 (StartWait);
  int code = EXIT_OK;

  wait->loop = g_main_loop_ref (tool->loop);
  tool->start_cancellable = g_cancellable_new ();
  ferry_engine_start_async (tool->engine, tool->start_cancellable, engine_started_cb,
                            g_rc_box_acquire (wait));
  while (!wait->done && !tool->forced)
    g_main_loop_run (tool->loop);

  if (!wait->done ||
      (tool->quitting && (wait->ok || g_error_matches (wait->error, G_IO_ERROR, G_IO_ERROR_CANCELLED))))
    code = tool->exit_code;
  else if (!wait->ok)
    {
      if (tool->json)
        tool_emit_error (tool, NULL, wait->error);
      tool_print_error (_("Cannot start: %s"), wait->error->message);
      code = EXIT_FAILED;
    }

  g_clear_object (&tool->start_cancellable);
  g_rc_box_release_full (wait, (GDestroyNotify) start_wait_free);
  return code;
}

/* The home directory, resolved as the engine does, without creating an
 * identity in it. */
char *
tool_resolve_home (FerryTool *tool)
{
  const char *env = g_getenv ("FERRY_HOME");

  if (tool->home != NULL)
    return g_strdup (tool->home);
  if (env != NULL && env[0] != '\0')
    return g_strdup (env);
  return g_build_filename (g_get_user_data_dir (), "ferry", NULL);
}

/* Opens the engine, catches SIGINT and SIGTERM, and starts it. */
int
tool_start_online (FerryTool *tool)
{
  int code;

  if ((code = tool_open_engine (tool)) != EXIT_OK)
    return code;
  tool_install_signal_handlers (tool);
  return tool_start_engine (tool);
}

static void
engine_closed_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  gboolean *closed = user_data;

  ferry_engine_close_finish (FERRY_ENGINE (source), result, NULL);
  *closed = TRUE;
}

/* Lets the last words of the transfers (a cancel, a rejection) reach the
 * peers before the process exits. */
void
tool_close_engine (FerryTool *tool)
{
  gboolean closed = FALSE;

  ferry_engine_close_async (tool->engine, NULL, engine_closed_cb, &closed);
  while (!closed && !tool->forced)
    g_main_context_iteration (NULL, TRUE);
}

/* An error message may carry a peer's words (a reason to reject or
 * cancel): shown escaped. */
void
tool_report_error (FerryTool     *tool,
                   FerryTransfer *transfer,
                   const GError  *error,
                   const char    *context)
{
  g_autofree char *message = tool_escape (error ? error->message : _("Failed"), TOOL_MESSAGE_WIDTH);

  if (tool->json)
    tool_emit_error (tool, transfer, error);
  if (context != NULL)
    tool_print_error ("%s: %s", context, message);
  else
    tool_print_error ("%s", message);
}

/* Quitting {{{1 */

void
tool_quit (FerryTool *tool,
           int        code)
{
  tool->exit_code = code;
  if (tool->loop != NULL)
    g_main_loop_quit (tool->loop);
}

/* Runs the main loop until a command quits; @code unless it says else. */
int
tool_run_loop (FerryTool *tool,
               int        code)
{
  tool->exit_code = code;
  g_main_loop_run (tool->loop);
  return tool->exit_code;
}

static gboolean
on_grace_timeout (gpointer user_data)
{
  FerryTool *tool = user_data;

  tool->grace_id = 0;
  tool_quit (tool, tool->exit_code);
  return G_SOURCE_REMOVE;
}

static void
cancel_transfers (FerryTool *tool)
{
  /* Copy: cancelling may end a transfer synchronously. */
  g_autoptr(GPtrArray) active = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < tool->transfers->len; i++)
    {
      TransferView *view = g_ptr_array_index (tool->transfers, i);
      g_ptr_array_add (active, g_object_ref (view->transfer));
    }
  for (guint i = 0; i < active->len; i++)
    ferry_transfer_cancel (g_ptr_array_index (active, i), _("interrupted by the user"));
}

static void
handle_signal (FerryTool *tool,
               int        signum)
{
  if (tool->quitting)
    {
      /* A second signal: leave now. */
      tool->forced = TRUE;
      tool_quit (tool, tool->exit_code);
      return;
    }

  tool->quitting = TRUE;
  tool->exit_code = tool->command->flags & FERRY_COMMAND_SIGNAL_FAILS ? EXIT_FAILED : 128 + signum;

  if (tool->start_cancellable != NULL)
    g_cancellable_cancel (tool->start_cancellable);
  if (tool->find_cancellable != NULL)
    g_cancellable_cancel (tool->find_cancellable);
  if (tool->transfers != NULL && tool->transfers->len > 0)
    cancel_transfers (tool);

  if (!tool->finding && (tool->transfers == NULL || tool->transfers->len == 0))
    tool_quit (tool, tool->exit_code);
  else if (tool->grace_id == 0)
    tool->grace_id = g_timeout_add_seconds (5, on_grace_timeout, tool);
}

static gboolean
on_sigint (gpointer user_data)
{
  handle_signal (user_data, SIGINT);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_sigterm (gpointer user_data)
{
  handle_signal (user_data, SIGTERM);
  return G_SOURCE_CONTINUE;
}

void
tool_install_signal_handlers (FerryTool *tool)
{
  tool->signal_ids[0] = g_unix_signal_add (SIGINT, on_sigint, tool);
  tool->signal_ids[1] = g_unix_signal_add (SIGTERM, on_sigterm, tool);
}

void
tool_remove_sources (FerryTool *tool)
{
  for (guint i = 0; i < G_N_ELEMENTS (tool->signal_ids); i++)
    g_clear_handle_id (&tool->signal_ids[i], g_source_remove);
  g_clear_handle_id (&tool->grace_id, g_source_remove);
}

/* vim: set foldmethod=marker: */
