/* test-ice-common.h: what the ice and turn tests share
 *
 * Two engines in one process on the loopback interface (local-broadcast
 * signaling on a port picked for the test), coturn on loopback, and the
 * transports' streams taken directly.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <string.h>

#include <glib/gstdio.h>

#include "ferry.h"
#include "test-utils.h"

#define TRANSFER_TIMEOUT_MS 60000
#define STREAM_BYTES        (24 * 1024 * 1024)

typedef struct {
  GSubprocess *process;
  char        *dir;
  guint16      port;
} Coturn;

typedef struct {
  char          *dir;
  char          *download;
  guint16        signaling_port;
  Coturn        *coturn;
  FerryEngine   *a;    /* sender */
  FerryEngine   *b;    /* receiver */
  FerryTransfer *incoming;
} Fixture;

typedef struct {
  GThreadFunc func;
  gpointer    data;
  gint        done;
} Job;

/* g_test_init(), with the log capture installed first: the nice code's
 * lines about STUN and read-ahead (ferry_test_log_count()). */
void            ice_test_init     (int             *argc,
                                   char          ***argv);

Coturn         *coturn_start      (void);
void            coturn_stop       (Coturn          *coturn);

FerryEngine    *make_engine       (Fixture         *fixture,
                                   const char      *name,
                                   const char      *transports,
                                   const char      *extra);
void            start_engines     (Fixture         *fixture,
                                   const char      *transports_a,
                                   const char      *extra_a,
                                   const char      *transports_b,
                                   const char      *extra_b);
void            fixture_set_up    (Fixture         *fixture,
                                   gconstpointer    data);
void            fixture_tear_down (Fixture         *fixture,
                                   gconstpointer    data);
char           *turn_url          (Fixture         *fixture,
                                   const char      *password,
                                   guint16          port,
                                   const char      *transport);

gboolean        task_done         (gpointer         user_data);
gboolean        transfer_done     (gpointer         user_data);
FerryTransfer  *send_gfile        (Fixture         *fixture,
                                   GFile           *file);
FerryTransfer  *send_file         (Fixture         *fixture,
                                   const char      *path);
/* Sends a file of @size bytes, checks it arrived intact, returns the chain. */
char           *transfer_ok       (Fixture         *fixture,
                                   gsize            size);

void            fill_pattern      (guint8          *buffer,
                                   gsize            size,
                                   guint64          offset,
                                   guint32          seed);
gboolean        thread_done       (gpointer         user_data);
gpointer        job_thread        (gpointer         user_data);
/* Runs @func in a thread while the main context turns (the agents live
 * there). */
void            run_in_thread     (GThreadFunc      func,
                                   gpointer         data,
                                   const char      *what);

JsonObject     *describe          (FerryTransport  *transport,
                                   const char      *id,
                                   gboolean         offerer);
/* For ferry_transport_connect_async(): returns the stream through the
 * GTask in @user_data, its description as its "description" data. */
void            connect_cb        (GObject         *source,
                                   GAsyncResult    *result,
                                   gpointer         user_data);
FerryTransport *first_transport   (FerryEngine     *engine);
