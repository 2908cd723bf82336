/* ferry-tool.h: what the commands of the ferry tool share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * One FerryTool per process holds the global options and the engine; it is
 * passed to every command explicitly. Each command keeps its own options
 * and state in its own file (ferry-cmd-*.c) and is listed, with its name,
 * summary and functions, in the command table of ferry.c.
 */
#pragma once

#include <glib.h>
#include <gio/gio.h>

#include <ferry/ferry.h>

G_BEGIN_DECLS

enum {
  EXIT_OK = 0,
  EXIT_FAILED = 1,
  EXIT_USAGE = 2,
};

#define MIN_ID_PREFIX 8

typedef struct _FerryTool FerryTool;
typedef struct _FerryCommand FerryCommand;

typedef enum {
  /* Uses the network: --signaling and --transport are checked before it
   * runs, and the engine is closed gracefully after. */
  FERRY_COMMAND_NETWORK      = 1 << 0,
  /* With --json, its output ends with an exit event. */
  FERRY_COMMAND_EXIT_EVENT   = 1 << 1,
  /* A signal makes it exit 1 (failed) instead of 128 + the signal. */
  FERRY_COMMAND_SIGNAL_FAILS = 1 << 2,
} FerryCommandFlags;

/* Makes the command's state and adds its options, bound to that state, to
 * @group (the callbacks of @group get the FerryTool as data). */
typedef gpointer (*FerryCommandOptions) (FerryTool    *tool,
                                         GOptionGroup *group);
/* Checks what needs no engine once the options are parsed: EXIT_OK, or
 * EXIT_USAGE after saying why. */
typedef int      (*FerryCommandCheck)   (FerryTool    *tool,
                                         gpointer      state);
typedef int      (*FerryCommandRun)     (FerryTool    *tool,
                                         gpointer      state);

struct _FerryCommand {
  const char          *name;        /* as typed: "send", "account export" */
  const char          *parameters;  /* N_(): after “[OPTION…]” in its usage */
  const char          *summary;     /* N_() */
  FerryCommandFlags    flags;
  FerryCommandOptions  options;     /* NULL: no options of its own */
  FerryCommandCheck    check;       /* NULL: nothing to check */
  FerryCommandRun      run;
  GDestroyNotify       free_state;
};

struct _FerryTool {
  gint64               start_us;
  gint64               start_real_us;
  const FerryCommand  *command;

  /* Global options */
  char                *home;
  GPtrArray           *signalings;
  GPtrArray           *transports;
  GPtrArray           *interfaces;
  GPtrArray           *dht_proxies;
  GPtrArray           *turn_servers;
  char                *stun_server;
  gboolean             json;
  /* --timeout of the commands that take one; NAN until given */
  double               timeout;

  gboolean             progress_bar;  /* stderr is a terminal, no --json */
  FerryEngine         *engine;
  GMainLoop           *loop;
  int                  exit_code;
  gboolean             quitting;      /* a signal came */
  gboolean             forced;        /* a second one: do not linger */
  guint                signal_ids[2];
  guint                grace_id;
  GPtrArray           *transfers;     /* TransferView, not yet ended */
  GCancellable        *start_cancellable;  /* while the engine starts */
  GCancellable        *find_cancellable;
  gboolean             finding;       /* looking for a peer */
};

/* ferry-util.c */
gint64       tool_elapsed_ms      (FerryTool    *tool);
void         tool_print_error     (const char   *format,
                                   ...) G_GNUC_PRINTF (1, 2);
int          tool_usage_error     (const char   *format,
                                   ...) G_GNUC_PRINTF (1, 2);
char        *tool_file_to_utf8    (GFile        *file);
const char  *tool_error_code      (const GError *error);
const char  *tool_state_nick      (FerryTransferState state);
gboolean     tool_is_hex_id       (const char   *id);
gboolean     tool_id_has_prefix   (const char   *id,
                                   const char   *prefix);
char        *tool_format_rate     (double        rate);
char        *tool_format_duration (double        seconds);
guint64      tool_peak_rss_kib    (void);

/* ferry-options.c */
void         tool_add_global_options (FerryTool    *tool,
                                      GOptionGroup *group);
gboolean     tool_option_timeout     (const char   *option_name,
                                      const char   *value,
                                      gpointer      data,
                                      GError      **error);
void         tool_clear_options      (FerryTool    *tool);

/* ferry-setup.c */
int          tool_check_plugin_names (FerryTool    *tool);
char        *tool_resolve_home       (FerryTool    *tool);
int          tool_open_engine        (FerryTool    *tool);
int          tool_start_engine       (FerryTool    *tool);
int          tool_start_online       (FerryTool    *tool);
void         tool_close_engine       (FerryTool    *tool);
void         tool_report_error       (FerryTool     *tool,
                                      FerryTransfer *transfer,
                                      const GError  *error,
                                      const char    *context);
void         tool_quit               (FerryTool    *tool,
                                      int           code);
int          tool_run_loop           (FerryTool    *tool,
                                      int           code);
void         tool_install_signal_handlers (FerryTool *tool);
void         tool_remove_sources     (FerryTool    *tool);

/* The commands, one file each (ferry-cmd-*.c) */
int          tool_id_run             (FerryTool *tool, gpointer state);
int          tool_plugins_run        (FerryTool *tool, gpointer state);

gpointer     tool_peers_options      (FerryTool *tool, GOptionGroup *group);
int          tool_peers_check        (FerryTool *tool, gpointer state);
int          tool_peers_run          (FerryTool *tool, gpointer state);

gpointer     tool_receive_options    (FerryTool *tool, GOptionGroup *group);
int          tool_receive_check      (FerryTool *tool, gpointer state);
int          tool_receive_run        (FerryTool *tool, gpointer state);
void         tool_receive_free       (gpointer state);

gpointer     tool_send_options       (FerryTool *tool, GOptionGroup *group);
int          tool_send_check         (FerryTool *tool, gpointer state);
int          tool_send_run           (FerryTool *tool, gpointer state);
void         tool_send_free          (gpointer state);

int          tool_history_run        (FerryTool *tool, gpointer state);

gpointer     tool_fetch_options      (FerryTool *tool, GOptionGroup *group);
int          tool_fetch_check        (FerryTool *tool, gpointer state);
int          tool_fetch_run          (FerryTool *tool, gpointer state);
void         tool_fetch_free         (gpointer state);

gpointer     tool_account_options    (FerryTool *tool, GOptionGroup *group);
int          tool_account_check      (FerryTool *tool, gpointer state);
int          tool_account_export_run (FerryTool *tool, gpointer state);
int          tool_account_import_run (FerryTool *tool, gpointer state);
void         tool_account_free       (gpointer state);

gpointer     tool_revoke_options     (FerryTool *tool, GOptionGroup *group);
int          tool_revoke_check       (FerryTool *tool, gpointer state);
int          tool_revoke_run         (FerryTool *tool, gpointer state);
void         tool_revoke_free        (gpointer state);

gpointer     tool_doctor_options     (FerryTool *tool, GOptionGroup *group);
int          tool_doctor_check       (FerryTool *tool, gpointer state);
int          tool_doctor_run         (FerryTool *tool, gpointer state);

G_END_DECLS
