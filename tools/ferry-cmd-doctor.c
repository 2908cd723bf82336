/* ferry-cmd-doctor.c: `ferry doctor`: why will this device not connect?
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Checks, one after the other, what a transfer needs from the network:
 * the interfaces Ferry would use and whether a local-broadcast multicast
 * leaves and comes back on each; each OpenDHT proxy (reachable, round
 * trip, a put and a get of a test value); each STUN server (the address
 * it sees) and from those the NAT's mapping behaviour; each TURN server
 * (a relay granted, or its exact refusal); whether outbound UDP works at
 * all. Then a one-line verdict. The engine is opened for its
 * configuration only: nothing is announced.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include <glib/gi18n.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "ferry-tool.h"
#include "ferry-doctor.h"
#include "ferry-stun.h"

#define DEFAULT_GROUP "239.255.71.71"

gpointer
tool_doctor_options (FerryTool    *tool,
                     GOptionGroup *group)
{
  const GOptionEntry entries[] = {
    { "timeout", 't', 0, G_OPTION_ARG_CALLBACK, tool_option_timeout,
      N_("Seconds each check may take (default: 2)"), N_("SECS") },
    G_OPTION_ENTRY_NULL
  };

  g_option_group_add_entries (group, entries);
  return NULL;
}

int
tool_doctor_check (FerryTool *tool,
                   gpointer   state)
{
  if (isnan (tool->timeout))
    tool->timeout = 2;
  return EXIT_OK;
}

static void
interface_check_free (InterfaceCheck *check)
{
  g_free (check->name);
  g_free (check->address);
  g_free (check->error);
  g_free (check);
}

static void
proxy_check_free (ProxyCheck *check)
{
  g_free (check->url);
  g_free (check->error);
  g_free (check);
}

static void
stun_check_free (StunCheck *check)
{
  g_free (check->server);
  g_free (check->ip);
  g_free (check->mapped);
  g_free (check->other);
  g_free (check->other_ip);
  g_free (check->error);
  g_free (check);
}

static void
turn_check_free (TurnCheck *check)
{
  g_free (check->server);
  g_free (check->relayed);
  g_free (check->mapped);
  g_free (check->reason);
  g_free (check->error);
  g_free (check);
}

static void
doctor_clear (Doctor *doctor)
{
  g_clear_pointer (&doctor->interfaces, g_ptr_array_unref);
  g_clear_pointer (&doctor->proxies, g_ptr_array_unref);
  g_clear_pointer (&doctor->stuns, g_ptr_array_unref);
  g_clear_pointer (&doctor->turns, g_ptr_array_unref);
  g_clear_pointer (&doctor->public_address, g_free);
  g_clear_pointer (&doctor->verdict, g_free);
}

/* Interfaces and multicast {{{1 */

/* The IPv4 interfaces that are up, as the engine chooses them: those
 * named, or every one but loopback. */
static void
list_interfaces (Doctor *doctor)
{
  g_autoptr(GListModel) interfaces =
    ferry_network_interface_list (ferry_engine_get_interfaces (doctor->tool->engine));

  for (guint i = 0; i < g_list_model_get_n_items (interfaces); i++)
    {
      g_autoptr(FerryNetworkInterface) iface = g_list_model_get_item (interfaces, i);
      GPtrArray *addresses = ferry_network_interface_get_addresses (iface);

      for (guint j = 0; j < addresses->len; j++)
        {
          GInetAddress *address = g_ptr_array_index (addresses, j);
          InterfaceCheck *check;

          if (g_inet_address_get_family (address) != G_SOCKET_FAMILY_IPV4)
            continue;
          check = g_new0 (InterfaceCheck, 1);
          check->name = g_strdup (ferry_network_interface_get_name (iface));
          check->address = g_inet_address_to_string (address);
          g_ptr_array_add (doctor->interfaces, check);
        }
    }
}

/* Waits for a datagram holding @token on @socket until @deadline. */
static gboolean
receive_token (GSocket    *socket,
               const char *token,
               gint64      deadline)
{
  char buffer[256];

  while (g_get_monotonic_time () < deadline)
    {
      gssize n;

      if (!g_socket_condition_timed_wait (socket, G_IO_IN, deadline - g_get_monotonic_time (), NULL, NULL))
        break;
      n = g_socket_receive (socket, buffer, sizeof buffer - 1, NULL, NULL);
      if (n < 0)
        break;
      buffer[n] = '\0';
      if (g_str_equal (buffer, token))
        return TRUE;
    }
  return FALSE;
}

/* Sends a datagram to the local-broadcast group on @check's interface (on
 * a port of its own, so no device sees it) and waits for it to loop back. */
static gboolean
multicast_round_trip (Doctor          *doctor,
                      InterfaceCheck  *check,
                      GInetAddress    *group,
                      GError         **error)
{
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                            G_SOCKET_PROTOCOL_UDP, error);
  g_autoptr(GInetAddress) any = g_inet_address_new_any (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) local = g_inet_socket_address_new (any, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GSocketAddress) target = NULL;
  g_autofree char *token = NULL;
  struct in_addr ifaddr;
  guint32 nonce;

  if (socket == NULL || !g_socket_bind (socket, local, TRUE, error) ||
      (bound = g_socket_get_local_address (socket, error)) == NULL ||
      !g_socket_join_multicast_group (socket, group, FALSE, check->name, error))
    return FALSE;
  g_socket_set_multicast_loopback (socket, TRUE);
  g_socket_set_multicast_ttl (socket, 1);
  inet_pton (AF_INET, check->address, &ifaddr);
  if (setsockopt (g_socket_get_fd (socket), IPPROTO_IP, IP_MULTICAST_IF, &ifaddr, sizeof ifaddr) != 0)
    {
      int saved_errno = errno;
      g_set_error_literal (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), g_strerror (saved_errno));
      return FALSE;
    }

  gnutls_rnd (GNUTLS_RND_NONCE, &nonce, sizeof nonce);
  token = g_strdup_printf ("ferry-doctor %08x", nonce);
  target = g_inet_socket_address_new (group, g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));
  if (g_socket_send_to (socket, target, token, strlen (token), NULL, error) < 0)
    return FALSE;
  if (!receive_token (socket, token, g_get_monotonic_time () + doctor->timeout_ms * G_TIME_SPAN_MILLISECOND))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                   _("sent, but it did not come back within %u ms"), doctor->timeout_ms);
      return FALSE;
    }
  return TRUE;
}

static void
check_interfaces (Doctor *doctor)
{
  g_autofree char *group_text = ferry_engine_dup_plugin_setting (doctor->tool->engine,
                                                                 "local-broadcast", "group");
  g_autoptr(GInetAddress) group = g_inet_address_new_from_string (group_text ? group_text : DEFAULT_GROUP);

  list_interfaces (doctor);
  for (guint i = 0; i < doctor->interfaces->len; i++)
    {
      InterfaceCheck *check = g_ptr_array_index (doctor->interfaces, i);
      g_autoptr(GError) error = NULL;

      if (group == NULL)
        check->error = g_strdup_printf (_("invalid [local-broadcast] group “%s”"), group_text);
      else if (multicast_round_trip (doctor, check, group, &error))
        check->multicast = TRUE;
      else
        check->error = g_strdup (error->message);
    }
}

/* STUN and NAT mapping {{{1 */

static void
add_stun_server (GPtrArray  *servers,
                 const char *server)
{
  if (server[0] != '\0' && !g_ptr_array_find_with_equal_func (servers, server, g_str_equal, NULL))
    g_ptr_array_add (servers, g_strdup (server));
}

/* [ice] stun-server, then the TURN servers (which answer STUN too) */
static GPtrArray *
stun_servers (Doctor *doctor)
{
  g_autofree char *value = ferry_engine_dup_stun_server (doctor->tool->engine);
  g_auto(GStrv) parts = g_strsplit_set (value ? value : "", ",; \t", -1);
  GPtrArray *servers = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; parts[i] != NULL; i++)
    add_stun_server (servers, parts[i]);
  for (guint i = 0; i < doctor->turn_urls->len; i++)
    {
      g_autoptr(TurnServer) turn = turn_server_parse (g_ptr_array_index (doctor->turn_urls, i), NULL);

      if (turn != NULL && !turn->tcp)
        add_stun_server (servers, turn->host);
    }
  return servers;
}

static StunCheck *
ask_stun (Doctor         *doctor,
          GSocket        *socket,
          const char     *name,
          GSocketAddress *address)
{
  StunCheck *check = g_new0 (StunCheck, 1);
  g_autoptr(GError) error = NULL;
  StunResult result = { 0 };

  check->server = g_strdup (name);
  if (address != NULL)
    check->ip = g_inet_address_to_string (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address)));
  if (address == NULL)
    check->error = g_strdup (_("cannot resolve it"));
  else if (!stun_binding (socket, address, doctor->timeout_ms, &result, &error))
    check->error = g_strdup (error->message);
  else if (result.error_code != 0 || result.mapped == NULL)
    check->error = g_strdup_printf (_("refused: %u %s"), result.error_code,
                                    result.error_reason ? result.error_reason : "");
  else
    {
      check->answered = TRUE;
      check->rtt_ms = result.rtt_us / 1000;
      check->mapped = stun_address_to_string (result.mapped);
      if (result.other != NULL)
        {
          check->other = stun_address_to_string (result.other);
          check->other_ip = g_inet_address_to_string (g_inet_socket_address_get_address (
                                                        G_INET_SOCKET_ADDRESS (result.other)));
        }
      doctor->udp_works = TRUE;
    }
  stun_result_clear (&result);
  return check;
}

/* Whether @mapped is one of this host's own addresses with @port: no NAT */
static gboolean
is_own_address (const char *mapped,
                guint16     port)
{
  g_autoptr(GListModel) interfaces = ferry_network_interface_list_all ();

  for (guint i = 0; i < g_list_model_get_n_items (interfaces); i++)
    {
      g_autoptr(FerryNetworkInterface) iface = g_list_model_get_item (interfaces, i);
      GPtrArray *addresses = ferry_network_interface_get_addresses (iface);

      for (guint j = 0; j < addresses->len; j++)
        {
          GInetAddress *address = g_ptr_array_index (addresses, j);
          g_autofree char *text = NULL;
          g_autofree char *with_port = NULL;

          if (g_inet_address_get_family (address) != G_SOCKET_FAMILY_IPV4)
            continue;
          text = g_inet_address_to_string (address);
          with_port = g_strdup_printf ("%s:%u", text, port);
          if (g_str_equal (with_port, mapped))
            return TRUE;
        }
    }
  return FALSE;
}

/* Whether the servers that answered have at least two IP addresses: the
 * same mapping from one IP (other ports) does not rule out a NAT that maps
 * per destination address. */
static gboolean
answered_from_two_ips (Doctor *doctor)
{
  const char *first = NULL;

  for (guint i = 0; i < doctor->stuns->len; i++)
    {
      StunCheck *check = g_ptr_array_index (doctor->stuns, i);

      if (!check->answered)
        continue;
      if (first == NULL)
        first = check->ip;
      else if (!g_str_equal (first, check->ip))
        return TRUE;
    }
  return FALSE;
}

/* From the addresses one socket got from several servers (or from the
 * other address of an RFC 5780 server): two mappings that differ prove a
 * mapping per destination; the same one proves independence only from
 * two server IPs. */
static void
judge_mapping (Doctor  *doctor,
               guint16  port)
{
  const char *first = NULL;
  gboolean same = TRUE;

  for (guint i = 0; i < doctor->stuns->len; i++)
    {
      StunCheck *check = g_ptr_array_index (doctor->stuns, i);

      if (!check->answered)
        continue;
      if (first == NULL)
        first = check->mapped;
      else if (!g_str_equal (first, check->mapped))
        same = FALSE;
    }
  if (first != NULL)
    doctor->public_address = g_strdup (first);
  if (first != NULL && same && is_own_address (first, port))
    doctor->mapping = "none";
  else if (!same)
    doctor->mapping = "endpoint-dependent";
  else if (answered_from_two_ips (doctor))
    doctor->mapping = "endpoint-independent";
  else
    doctor->mapping = "unknown";
}

static void
check_stun (Doctor *doctor)
{
  g_autoptr(GPtrArray) servers = stun_servers (doctor);
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                            G_SOCKET_PROTOCOL_UDP, NULL);
  g_autoptr(GInetAddress) any = g_inet_address_new_any (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) local = g_inet_socket_address_new (any, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  StunCheck *other_of = NULL;

  doctor->mapping = "unknown";
  if (servers->len == 0 || socket == NULL || !g_socket_bind (socket, local, FALSE, NULL) ||
      (bound = g_socket_get_local_address (socket, NULL)) == NULL)
    return;

  for (guint i = 0; i < servers->len; i++)
    {
      const char *name = g_ptr_array_index (servers, i);
      g_autoptr(GSocketAddress) address = stun_resolve (name, 3478, NULL);
      StunCheck *check = ask_stun (doctor, socket, name, address);

      g_ptr_array_add (doctor->stuns, check);
      if (other_of == NULL && check->other != NULL && !g_str_equal (check->other_ip, check->ip))
        other_of = check;
    }
  /* Servers on one IP (or one server): the other address an RFC 5780
   * server names, on another IP, tells the mapping. */
  if (!answered_from_two_ips (doctor) && other_of != NULL)
    {
      g_autofree char *name = g_strdup (other_of->other);
      g_autoptr(GSocketAddress) address = stun_resolve (name, 3478, NULL);

      g_ptr_array_add (doctor->stuns, ask_stun (doctor, socket, name, address));
    }
  judge_mapping (doctor, g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));
}

/* TURN {{{1 */

static void
check_turn (Doctor *doctor)
{
  for (guint i = 0; i < doctor->turn_urls->len; i++)
    {
      TurnCheck *check = g_new0 (TurnCheck, 1);
      g_autoptr(GError) error = NULL;
      g_autoptr(TurnServer) server = turn_server_parse (g_ptr_array_index (doctor->turn_urls, i), &error);
      StunResult result = { 0 };

      g_ptr_array_add (doctor->turns, check);
      if (server == NULL)
        {
          check->server = g_strdup ("?");
          check->error = g_strdup (error->message);
          continue;
        }
      check->server = g_strdup (server->display);
      check->tcp = server->tcp;
      if (!turn_allocate (server, doctor->timeout_ms, &result, &error))
        check->error = g_strdup (error->message);
      else
        {
          check->answered = TRUE;
          doctor->udp_works |= !server->tcp;
          check->code = result.error_code;
          check->reason = g_strdup (result.error_reason);
          check->ok = result.error_code == 0 && result.relayed != NULL;
          check->relayed = result.relayed ? stun_address_to_string (result.relayed) : NULL;
          check->mapped = result.mapped ? stun_address_to_string (result.mapped) : NULL;
        }
      stun_result_clear (&result);
    }
}

static void
read_turn_urls (Doctor *doctor)
{
  g_auto(GStrv) urls = ferry_engine_dup_turn_servers (doctor->tool->engine);

  doctor->turn_urls = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; urls != NULL && urls[i] != NULL; i++)
    if (*g_strstrip (urls[i]) != '\0')
      g_ptr_array_add (doctor->turn_urls, g_strdup (urls[i]));
}

/* Running {{{1 */

int
tool_doctor_run (FerryTool *tool,
                 gpointer   state)
{
  Doctor doctor = { 0 };
  int code;

  if ((code = tool_open_engine (tool)) != EXIT_OK)
    return code;

  doctor.tool = tool;
  doctor.timeout_ms = (guint) (tool->timeout * 1000);
  doctor.interfaces = g_ptr_array_new_with_free_func ((GDestroyNotify) interface_check_free);
  doctor.proxies = g_ptr_array_new_with_free_func ((GDestroyNotify) proxy_check_free);
  doctor.stuns = g_ptr_array_new_with_free_func ((GDestroyNotify) stun_check_free);
  doctor.turns = g_ptr_array_new_with_free_func ((GDestroyNotify) turn_check_free);
  read_turn_urls (&doctor);

  check_interfaces (&doctor);
  doctor_check_dht (&doctor);
  check_stun (&doctor);
  check_turn (&doctor);
  doctor_judge (&doctor);

  if (tool->json)
    doctor_print_json (&doctor);
  else
    doctor_print_text (&doctor);

  g_clear_pointer (&doctor.turn_urls, g_ptr_array_unref);
  doctor_clear (&doctor);
  return EXIT_OK;
}

/* vim: set foldmethod=marker: */
