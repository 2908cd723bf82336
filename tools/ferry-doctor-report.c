/* ferry-doctor-report.c: `ferry doctor`: the verdict, and the report in
 * text or JSON
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdio.h>

#include <glib/gi18n.h>

#include "ferry-doctor.h"
#include "ferry-escape.h"
#include "ferry-events.h"

#define ANY(array, Type, test) any_of (array, G_STRUCT_OFFSET (Type, test))

/* Whether the gboolean at @offset is TRUE in any element of @array */
static gboolean
any_of (GPtrArray *array,
        gsize      offset)
{
  for (guint i = 0; i < array->len; i++)
    if (G_STRUCT_MEMBER (gboolean, g_ptr_array_index (array, i), offset))
      return TRUE;
  return FALSE;
}

/* Whether a TURN server grants a relay (over TCP, if @tcp_only) and the
 * engine would use it (the `turn` transport is on). */
static gboolean
turn_ok (Doctor   *doctor,
         gboolean  tcp_only)
{
  if (!g_strv_contains (ferry_engine_get_transport_names (doctor->tool->engine), "turn"))
    return FALSE;
  for (guint i = 0; i < doctor->turns->len; i++)
    {
      TurnCheck *check = g_ptr_array_index (doctor->turns, i);

      if (check->ok && (!tcp_only || check->tcp))
        return TRUE;
    }
  return FALSE;
}

static void
set_verdict (Doctor     *doctor,
             const char *code,
             const char *text)
{
  doctor->verdict_code = code;
  doctor->verdict = g_strdup (text);
}

/* Whether the engine would try a direct path through a NAT: the `ice`
 * transport, with a STUN server for its reflexive candidates. */
static gboolean
ice_crosses_nats (Doctor *doctor)
{
  FerryEngine *engine = doctor->tool->engine;
  g_autofree char *stun = ferry_engine_dup_stun_server (engine);

  return g_strv_contains (ferry_engine_get_transport_names (engine), "ice") &&
         stun != NULL && *g_strstrip (stun) != '\0';
}

/* Beyond this network: from the NAT's mapping, the transports and the
 * relays that work. */
static void
judge_beyond (Doctor   *doctor,
              gboolean  relay)
{
  if (g_str_equal (doctor->mapping, "none"))
    set_verdict (doctor, "public", _("This device has a public address: direct connections will work."));
  else if (g_str_equal (doctor->mapping, "endpoint-independent") && !ice_crosses_nats (doctor))
    set_verdict (doctor, "direct-disabled", _("This NAT lets direct connections through, but Ferry will not try "
                                              "them: enable the ice transport with a STUN server (--stun "
                                              "HOST:PORT or [ice] stun-server)."));
  else if (g_str_equal (doctor->mapping, "endpoint-independent") && relay)
    set_verdict (doctor, "direct", _("Direct connections to devices behind most home routers will work; "
                                     "symmetric NAT peers will use the relay."));
  else if (g_str_equal (doctor->mapping, "endpoint-independent"))
    set_verdict (doctor, "direct-no-relay", _("Direct connections to devices behind most home routers will "
                                              "work; symmetric NAT peers need a TURN server."));
  else if (g_str_equal (doctor->mapping, "endpoint-dependent") && relay)
    set_verdict (doctor, "relay", _("This device is behind a symmetric NAT: transfers to devices behind "
                                    "other NATs will use the relay."));
  else if (g_str_equal (doctor->mapping, "endpoint-dependent"))
    set_verdict (doctor, "symmetric-no-relay", _("This device is behind a symmetric NAT and no TURN server "
                                                 "works: devices behind other NATs cannot be reached."));
  else if (relay)
    set_verdict (doctor, "relay-available", _("The NAT’s behaviour is unknown (a second STUN server would "
                                              "tell); the TURN relay works for any device."));
  else
    set_verdict (doctor, "unknown", _("Devices on this network can be reached; configure a STUN and a TURN "
                                      "server to check connections beyond it."));
}

void
doctor_judge (Doctor *doctor)
{
  /* The UDP TURN servers are asked as STUN servers too. */
  gboolean udp_servers = doctor->stuns->len > 0;
  gboolean multicast = ANY (doctor->interfaces, InterfaceCheck, multicast);
  gboolean dht = ANY (doctor->proxies, ProxyCheck, get);
  /* Something beyond this network answered, over UDP or TCP: when
   * nothing did, UDP is not known to be blocked (the way out may be). */
  gboolean beyond = doctor->udp_works || ANY (doctor->proxies, ProxyCheck, reachable) ||
                    ANY (doctor->turns, TurnCheck, answered);
  gboolean servers = udp_servers || doctor->proxies->len > 0 || doctor->turns->len > 0;

  doctor->udp = doctor->udp_works ? "works" : udp_servers && beyond ? "blocked" : "unknown";

  if (doctor->interfaces->len == 0)
    set_verdict (doctor, "offline", _("No network interface to use: Ferry cannot reach other devices."));
  else if (!multicast && !dht)
    set_verdict (doctor, "undiscoverable", _("No local multicast comes back and no DHT proxy works: other "
                                             "devices cannot find this one."));
  else if (servers && !beyond)
    set_verdict (doctor, "isolated", _("No server beyond this network answers (STUN, TURN or DHT proxy): only "
                                       "devices on this network can be reached; check the connection and the "
                                       "servers’ addresses."));
  else if (g_str_equal (doctor->udp, "blocked") && turn_ok (doctor, TRUE))
    set_verdict (doctor, "relay-tcp", _("Outbound UDP is blocked: transfers beyond this network will go "
                                        "through the TURN relay over TCP."));
  else if (g_str_equal (doctor->udp, "blocked"))
    set_verdict (doctor, "lan-only", _("Outbound UDP is blocked: only devices on this network can be "
                                       "reached."));
  else
    judge_beyond (doctor, turn_ok (doctor, FALSE));
}

/* Text {{{1 */

static void
print_interfaces (Doctor *doctor)
{
  g_print (_("Interfaces (local-broadcast multicast)\n"));
  if (doctor->interfaces->len == 0)
    g_print (_("  none: no IPv4 interface is up (or none of those named)\n"));
  for (guint i = 0; i < doctor->interfaces->len; i++)
    {
      InterfaceCheck *check = g_ptr_array_index (doctor->interfaces, i);

      if (check->multicast)
        g_print (_("  %-10s %-15s  multicast leaves and comes back\n"), check->name, check->address);
      else
        g_print (_("  %-10s %-15s  multicast fails: %s\n"), check->name, check->address, check->error);
    }
}

static void
print_proxies (Doctor *doctor)
{
  g_print (_("DHT proxies\n"));
  if (doctor->proxies->len == 0)
    g_print (_("  none configured (--dht-proxy URL or [dht] proxies)\n"));
  for (guint i = 0; i < doctor->proxies->len; i++)
    {
      ProxyCheck *check = g_ptr_array_index (doctor->proxies, i);
      g_autofree char *error = tool_escape (check->error, TOOL_MESSAGE_WIDTH);

      if (check->get)
        g_print (_("  %s  reachable (%lld ms), a test value put and read back\n"),
                 check->url, (long long) check->rtt_ms);
      else if (check->reachable)
        g_print (_("  %s  reachable (%lld ms), but %s\n"), check->url, (long long) check->rtt_ms, error);
      else
        g_print (_("  %s  unreachable: %s\n"), check->url, error);
    }
}

static void
print_stun (Doctor *doctor)
{
  g_print (_("STUN servers\n"));
  if (doctor->stuns->len == 0)
    g_print (_("  none configured (--stun HOST:PORT, [ice] stun-server, or a TURN server)\n"));
  for (guint i = 0; i < doctor->stuns->len; i++)
    {
      StunCheck *check = g_ptr_array_index (doctor->stuns, i);
      g_autofree char *error = tool_escape (check->error, TOOL_MESSAGE_WIDTH);

      if (check->answered)
        g_print (_("  %s  sees this device as %s (%lld ms)\n"),
                 check->server, check->mapped, (long long) check->rtt_ms);
      else
        g_print (_("  %s  %s\n"), check->server, error);
    }
  if (g_str_equal (doctor->mapping, "none"))
    g_print (_("  NAT: none, the address seen is this device’s own\n"));
  else if (g_str_equal (doctor->mapping, "endpoint-independent"))
    g_print (_("  NAT mapping: endpoint-independent (the same address for every server)\n"));
  else if (g_str_equal (doctor->mapping, "endpoint-dependent"))
    g_print (_("  NAT mapping: endpoint-dependent (symmetric: another address for each server)\n"));
  else
    g_print (_("  NAT mapping: unknown (it takes two STUN servers, or one with RFC 5780)\n"));
}

static void
print_turn (Doctor *doctor)
{
  g_print (_("TURN servers\n"));
  if (doctor->turns->len == 0)
    g_print (_("  none configured (--turn URL or [turn] servers)\n"));
  for (guint i = 0; i < doctor->turns->len; i++)
    {
      TurnCheck *check = g_ptr_array_index (doctor->turns, i);
      g_autofree char *reason = tool_escape (check->reason ? check->reason : "", TOOL_MESSAGE_WIDTH);
      g_autofree char *error = tool_escape (check->error, TOOL_MESSAGE_WIDTH);

      if (check->ok)
        g_print (_("  %s  allocation works: relayed address %s\n"), check->server, check->relayed);
      else if (check->answered)
        g_print (_("  %s  allocation refused: %u %s\n"), check->server, check->code, reason);
      else
        g_print (_("  %s  %s\n"), check->server, error);
    }
}

void
doctor_print_text (Doctor *doctor)
{
  print_interfaces (doctor);
  print_proxies (doctor);
  print_stun (doctor);
  print_turn (doctor);
  if (g_str_equal (doctor->udp, "works"))
    g_print (_("Outbound UDP: works\n"));
  else if (g_str_equal (doctor->udp, "blocked"))
    g_print (_("Outbound UDP: blocked (no server answered over UDP)\n"));
  else if (doctor->stuns->len > 0)
    g_print (_("Outbound UDP: unknown (no server beyond this network answered at all)\n"));
  else
    g_print (_("Outbound UDP: unknown (no STUN or TURN server to ask)\n"));
  g_print (_("Verdict: %s\n"), doctor->verdict);
  fflush (stdout);
}

/* JSON {{{1 */

static void
add_bool (JsonBuilder *builder,
          const char  *member,
          gboolean     value)
{
  json_builder_set_member_name (builder, member);
  json_builder_add_boolean_value (builder, value);
}

static void
add_interfaces (JsonBuilder *builder,
                Doctor      *doctor)
{
  json_builder_set_member_name (builder, "interfaces");
  json_builder_begin_array (builder);
  for (guint i = 0; i < doctor->interfaces->len; i++)
    {
      InterfaceCheck *check = g_ptr_array_index (doctor->interfaces, i);

      json_builder_begin_object (builder);
      tool_json_add_string (builder, "name", check->name);
      tool_json_add_string (builder, "address", check->address);
      add_bool (builder, "multicast", check->multicast);
      tool_json_add_string (builder, "error", check->error);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
}

static void
add_proxies (JsonBuilder *builder,
             Doctor      *doctor)
{
  json_builder_set_member_name (builder, "dht");
  json_builder_begin_array (builder);
  for (guint i = 0; i < doctor->proxies->len; i++)
    {
      ProxyCheck *check = g_ptr_array_index (doctor->proxies, i);

      json_builder_begin_object (builder);
      tool_json_add_string (builder, "proxy", check->url);
      add_bool (builder, "reachable", check->reachable);
      tool_json_add_int (builder, "rtt_ms", check->rtt_ms);
      add_bool (builder, "put", check->put);
      add_bool (builder, "get", check->get);
      tool_json_add_string (builder, "error", check->error);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
}

static void
add_stun (JsonBuilder *builder,
          Doctor      *doctor)
{
  json_builder_set_member_name (builder, "stun");
  json_builder_begin_array (builder);
  for (guint i = 0; i < doctor->stuns->len; i++)
    {
      StunCheck *check = g_ptr_array_index (doctor->stuns, i);

      json_builder_begin_object (builder);
      tool_json_add_string (builder, "server", check->server);
      add_bool (builder, "answered", check->answered);
      tool_json_add_int (builder, "rtt_ms", check->rtt_ms);
      tool_json_add_string (builder, "mapped", check->mapped);
      tool_json_add_string (builder, "other", check->other);
      tool_json_add_string (builder, "error", check->error);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "nat");
  json_builder_begin_object (builder);
  tool_json_add_string (builder, "mapping", doctor->mapping);
  tool_json_add_string (builder, "address", doctor->public_address);
  json_builder_end_object (builder);
}

static void
add_turn (JsonBuilder *builder,
          Doctor      *doctor)
{
  json_builder_set_member_name (builder, "turn");
  json_builder_begin_array (builder);
  for (guint i = 0; i < doctor->turns->len; i++)
    {
      TurnCheck *check = g_ptr_array_index (doctor->turns, i);

      json_builder_begin_object (builder);
      tool_json_add_string (builder, "server", check->server);
      add_bool (builder, "answered", check->answered);
      add_bool (builder, "allocation", check->ok);
      tool_json_add_string (builder, "relayed", check->relayed);
      tool_json_add_string (builder, "mapped", check->mapped);
      json_builder_set_member_name (builder, "code");
      if (check->code != 0)
        json_builder_add_int_value (builder, check->code);
      else
        json_builder_add_null_value (builder);
      tool_json_add_string (builder, "reason", check->reason);
      tool_json_add_string (builder, "error", check->error);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
}

void
doctor_print_json (Doctor *doctor)
{
  JsonBuilder *builder = tool_json_begin (doctor->tool, NULL);

  add_interfaces (builder, doctor);
  add_proxies (builder, doctor);
  add_stun (builder, doctor);
  add_turn (builder, doctor);
  tool_json_add_string (builder, "udp", doctor->udp);
  tool_json_add_string (builder, "verdict_code", doctor->verdict_code);
  tool_json_add_string (builder, "verdict", doctor->verdict);
  tool_json_end (builder);
}
