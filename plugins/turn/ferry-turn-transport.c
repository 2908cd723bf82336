/* ferry-turn-transport.c: a TURN relay when nothing direct works
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The `turn` transport: a libnice agent carrying QUIC per connection
 * attempt over a pair that ends on the offerer's relayed address (the
 * offerer's agent is force-relay; the answerer reaches that relay from any
 * of its own candidates), against the TURN servers of [turn] servers or
 * `ferry --turn turn:USER:PASS@HOST:PORT[?transport=udp|tcp]`. Without a
 * server it stays inactive. The work is done in ../nice-common.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "ferry-nice-common.h"

const char ferry_nice_type_prefix[] = "Turn";

#define FERRY_TYPE_TURN_TRANSPORT (ferry_turn_transport_get_type ())
G_DECLARE_FINAL_TYPE (FerryTurnTransport, ferry_turn_transport, FERRY, TURN_TRANSPORT, FerryTransport)

/**
 * FerryTurnTransport:
 *
 * The `turn` transport: a path relayed by a TURN server, the last resort
 * when no direct path works.
 */
struct _FerryTurnTransport
{
  FerryTransport parent_instance;
};

G_DEFINE_FINAL_TYPE (FerryTurnTransport, ferry_turn_transport, FERRY_TYPE_TRANSPORT)

static void
ferry_turn_transport_class_init (FerryTurnTransportClass *klass)
{
  _ferry_nice_transport_class_init (FERRY_TRANSPORT_CLASS (klass), "turn", TRUE);
}

static void
ferry_turn_transport_init (FerryTurnTransport *self)
{
  _ferry_nice_transport_init (FERRY_TRANSPORT (self));
}

static gboolean
turn_register_features (FerryPlugin  *plugin,
                       GError      **error)
{
  ferry_plugin_add_feature (plugin, "turn", FERRY_TYPE_TURN_TRANSPORT, FERRY_RANK_MARGINAL);
  return TRUE;
}

FERRY_PLUGIN_DEFINE (turn, "turn",
                     "Relayed connections through a TURN server (libnice)",
                     PACKAGE_VERSION, "LGPL-2.1-or-later",
                     turn_register_features)
