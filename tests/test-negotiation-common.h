/* test-negotiation-common.h: what the negotiation tests share
 *
 * Two engines in one process talk through an in-process signaling ("bus")
 * and test transports registered beside the real plugins (the features
 * "bus", "pipe", "broken", "hang", "far" and "unconfigured"). The
 * identity, TLS 1.3, the session protocol underneath and the lan
 * transport are the real ones.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "ferry.h"
#include "test-utils.h"

G_BEGIN_DECLS

/* g_test_init() with isolated directories, then the test plugin
 * registered statically. */
void           negotiation_test_init (int          *argc,
                                      char       ***argv);

/* ------------------------------------------------------------ bus signaling */

/* A lossy path: the next bus_drops messages sent by this engine are lost. */
extern FerryEngine *bus_lossy_engine;
extern guint        bus_drops;
/* Messages the lossy engine sent, lost or not. */
extern guint        bus_lossy_sent;

/* -------------------------------------------------------- test transports */

typedef enum {
  MODE_PIPE,
  MODE_BROKEN,
  MODE_HANG,
} TransportMode;

/* Counters the tests assert on (index: mode), reset by fixture_set_up(). */
extern guint n_connects[3];
extern guint n_cancelled[3];
/* Per side (index: offerer): pipe attempts that started while a hang
 * attempt of that side was not cancelled yet. */
extern guint pipe_beside_hang[2];

/* The address the "far" transport describes; freed by fixture_tear_down(). */
extern char *far_address;

/* ------------------------------------------------------------------ fixture */

typedef struct {
  char          *dir;
  FerryEngine   *sender;
  FerryEngine   *receiver;
  char          *download;
  char          *source;
  FerryTransfer *incoming;
} Fixture;

/* Two started engines on the bus with these transports, each with
 * @extra_config appended to its [core] section (stagger=150 before it);
 * the receiver accepts every offer into fixture->download, and keeps the
 * transfer in fixture->incoming. */
void           fixture_set_up        (Fixture            *fixture,
                                      const char * const *sender_transports,
                                      const char * const *receiver_transports,
                                      const char         *extra_config);
void           fixture_tear_down     (Fixture            *fixture);

/* A FerryTestCondition: the FerryTransfer @user_data is done. */
gboolean       transfer_done         (gpointer            user_data);
/* Sends fixture->source (300 KiB and 7 bytes) to the receiver; returns the
 * outgoing transfer once it is done. */
FerryTransfer *send_payload          (Fixture            *fixture);
/* The incoming transfer finished and the file arrived whole. */
void           assert_received       (Fixture            *fixture);

G_END_DECLS
