/* ferry-ice-transport.c: direct connections through NATs with ICE
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The `ice` transport: libnice agents per connection attempt with UDP
 * (carrying QUIC) and TCP (RFC 6544, as a byte stream) candidates, host
 * and server-reflexive through an optional STUN server ([ice] stun-server
 * or `ferry --stun HOST:PORT`). With [ice] relay, the UDP agent gathers
 * relayed candidates from the engine's TURN servers too, and a stream that
 * started on the relay moves to a direct pair that succeeds later
 * (ferry-nice-path.c). The work is done in ../nice-common.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "ferry-nice-common.h"

const char ferry_nice_type_prefix[] = "Ice";

#define FERRY_TYPE_ICE_TRANSPORT (ferry_ice_transport_get_type ())
G_DECLARE_FINAL_TYPE (FerryIceTransport, ferry_ice_transport, FERRY, ICE_TRANSPORT, FerryTransport)

/**
 * FerryIceTransport:
 *
 * The `ice` transport: a direct path between two devices found with ICE
 * (RFC 5245, TCP candidates per RFC 6544), through NATs that allow one.
 */
struct _FerryIceTransport
{
  FerryTransport parent_instance;
};

G_DEFINE_FINAL_TYPE (FerryIceTransport, ferry_ice_transport, FERRY_TYPE_TRANSPORT)

static void
ferry_ice_transport_class_init (FerryIceTransportClass *klass)
{
  _ferry_nice_transport_class_init (FERRY_TRANSPORT_CLASS (klass), "ice", FALSE);
}

static void
ferry_ice_transport_init (FerryIceTransport *self)
{
  _ferry_nice_transport_init (FERRY_TRANSPORT (self));
}

static gboolean
ice_register_features (FerryPlugin  *plugin,
                       GError      **error)
{
  ferry_plugin_add_feature (plugin, "ice", FERRY_TYPE_ICE_TRANSPORT, FERRY_RANK_SECONDARY);
  return TRUE;
}

FERRY_PLUGIN_DEFINE (ice, "ice",
                     "Direct connections through NATs with ICE (libnice)",
                     PACKAGE_VERSION, "LGPL-2.1-or-later",
                     ice_register_features)
