/* ferry-stun.h: just enough STUN (RFC 5389, RFC 5780) and TURN (RFC 5766)
 * for `ferry doctor` to ask servers what they see
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* What a server answered to one request */
typedef struct {
  gboolean        answered;      /* a response came back */
  gint64          rtt_us;
  GSocketAddress *mapped;        /* (XOR-)MAPPED-ADDRESS: this socket, as seen */
  GSocketAddress *other;         /* OTHER-ADDRESS (RFC 5780), if given */
  GSocketAddress *relayed;       /* XOR-RELAYED-ADDRESS (TURN) */
  guint           error_code;    /* ERROR-CODE, 0 when none */
  char           *error_reason;  /* its reason phrase */
  char           *realm;
  char           *nonce;
} StunResult;

/* A TURN server of a turn:USER:PASS@HOST:PORT[?transport=udp|tcp] URL */
typedef struct {
  char     *host;
  guint16   port;
  char     *username;
  char     *password;
  gboolean  tcp;
  char     *display;               /* HOST:PORT (udp|tcp), no credentials */
} TurnServer;

void            stun_result_clear      (StunResult       *result);
GSocketAddress *stun_resolve           (const char       *host_port,
                                        guint16           default_port,
                                        GError          **error);
gboolean        stun_binding           (GSocket          *socket,
                                        GSocketAddress   *server,
                                        guint             timeout_ms,
                                        StunResult       *result,
                                        GError          **error);
TurnServer     *turn_server_parse      (const char       *url,
                                        GError          **error);
void            turn_server_free       (TurnServer       *server);
gboolean        turn_allocate          (TurnServer       *server,
                                        guint             timeout_ms,
                                        StunResult       *result,
                                        GError          **error);
char           *stun_address_to_string (GSocketAddress   *address);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TurnServer, turn_server_free)

G_END_DECLS
