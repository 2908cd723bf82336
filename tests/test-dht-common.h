/* test-dht-common.h: what the dht signaling tests share
 *
 * A scratch folder per test and, when asked for, a private OpenDHT network
 * of two `dhtnode` processes on loopback (dht-helpers.c); engines on it
 * that accept what they are offered; transfers checked end to end; the
 * plugin's log lines awaited.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <libsoup/soup.h>

#include "ferry.h"
#include "dht-helpers.h"
#include "test-utils.h"

typedef struct {
  char          *dir;
  FerryTestDht  *dht;
  SoupSession   *session;
  GPtrArray     *engines;     /* FerryEngine */
  GPtrArray     *requested;   /* FerryTransfer, incoming */
  const char    *dht_extra;   /* more lines for [dht] of the next engine */
  gboolean       skipped;
} Fixture;

/* Sets what the dht tests need before g_test_init() (no desktop proxy
 * resolver, the plugin's log lines captured), then g_test_init() with
 * isolated directories. */
void         dht_test_init  (int           *argc,
                             char        ***argv);

/* g_test_add() of @func on a Fixture; with @network, the fixture starts
 * a dhtnode network (or marks the test skipped without dhtnode). */
void         dht_test_add   (const char    *path,
                             gboolean       network,
                             void         (*func) (Fixture *, gconstpointer));

/* Waits until @at_least captured log lines contain @needle. */
void         wait_log       (const char    *needle,
                             guint          at_least,
                             guint          timeout_ms);

/* An engine named @name; @proxies is the [dht] proxies value (NULL: none).
 * Returns NULL with @error when it does not start. */
FerryEngine *try_engine     (Fixture            *fx,
                             const char         *name,
                             const char         *proxies,
                             const char * const *signalings,
                             guint16             lb_port,
                             GError            **error);

/* An engine with dht signaling only, which must start; the fixture keeps
 * it. */
FerryEngine *make_engine    (Fixture       *fx,
                             const char    *name,
                             const char    *proxies);

const char  *account_of     (FerryEngine   *engine);
const char  *device_of      (FerryEngine   *engine);

/* ferry_engine_find_peer_async() of @query, awaited; it must find one. */
FerryPeer   *find_peer      (FerryEngine   *engine,
                             const char    *query,
                             guint          timeout_ms);

/* Sends a file from @from to @to (found by its account id) and checks that
 * it arrived intact, through @signaling. */
void         transfer       (Fixture       *fx,
                             FerryEngine   *from,
                             FerryEngine   *to,
                             const char    *signaling,
                             gsize          size);
