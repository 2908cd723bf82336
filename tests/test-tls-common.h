/* test-tls-common.h: what the TLS channel tests share
 *
 * Two identities and the two ends of a connection over loopback TCP, each
 * handshaking in its own thread (Side, Fixture), and short text exchanged
 * over the channel.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "ferry-identity-private.h"

/* Blocking socket operations give up after this long, so a bug shows up
 * as a failed test rather than a hang. */
#define SOCKET_TIMEOUT_S 30
#define WAIT_TIMEOUT_US (20 * G_USEC_PER_SEC)
#define CHUNK_SIZE (64 * 1024)

FerryIdentity     *make_identity     (const char *name);

/* Connects to 127.0.0.1:@port, without any proxy lookup. */
GSocketConnection *connect_loopback  (guint16      port,
                                      GError     **error);

/* A TCP listener on 127.0.0.1, on the port it returns in @port. */
GSocketListener   *make_listener     (guint16     *port);

/* One end of a connection: a thread accepts or connects, then runs the
 * handshake. */
typedef struct {
  FerryIdentity     *identity;
  gboolean           is_server;
  const char        *expected_account;
  const char        *expected_device;
  GSocketListener   *listener;
  guint16            port;

  GSocketConnection *connection;
  GIOStream         *tls;
  GError            *error;
} Side;

/* The thread of one Side (@data). */
gpointer           side_thread       (gpointer    data);

/* Connects @client to @server over loopback TCP, each in its own thread,
 * and waits for both handshakes to end. */
void               connect_pair      (Side       *server,
                                      Side       *client);

typedef struct {
  FerryIdentity *server_identity;
  FerryIdentity *client_identity;
  Side           server;
  Side           client;
} Fixture;

/* g_test_add() of @func on a Fixture: two identities, each side expecting
 * the other's. */
void               tls_test_add      (const char  *path,
                                      void       (*func) (Fixture *, gconstpointer));

/* connect_pair() of the fixture's sides; both handshakes succeed. */
void               connect_ok        (Fixture    *fixture);

gboolean           write_text        (GIOStream  *stream,
                                      const char *text);
/* Reads exactly @length bytes. */
char              *read_text         (GIOStream  *stream,
                                      gsize       length);
