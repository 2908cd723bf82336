/* ferry-stun.c: just enough STUN (RFC 5389, RFC 5780) and TURN (RFC 5766)
 * for `ferry doctor` to ask servers what they see
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Binding requests tell this device's address as a server sees it (and,
 * from an RFC 5780 server, another address of that server to ask again);
 * an Allocate with long-term credentials tells whether a TURN server
 * grants a relay, or its exact refusal. Blocking sockets with timeouts:
 * the doctor asks one thing at a time. Servers' answers are checked
 * (magic cookie, transaction id, lengths) before any attribute is read.
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "ferry-stun.h"

#define MAGIC_COOKIE       0x2112a442u
#define HEADER_SIZE        20
#define MAX_MESSAGE        1500

#define BINDING_REQUEST    0x0001
#define ALLOCATE_REQUEST   0x0003
#define REFRESH_REQUEST    0x0004
#define CLASS_MASK         0x0110
#define CLASS_SUCCESS      0x0100
#define CLASS_ERROR        0x0110

#define ATTR_MAPPED_ADDRESS       0x0001
#define ATTR_USERNAME             0x0006
#define ATTR_MESSAGE_INTEGRITY    0x0008
#define ATTR_ERROR_CODE           0x0009
#define ATTR_LIFETIME             0x000d
#define ATTR_REALM                0x0014
#define ATTR_NONCE                0x0015
#define ATTR_XOR_RELAYED_ADDRESS  0x0016
#define ATTR_REQUESTED_TRANSPORT  0x0019
#define ATTR_XOR_MAPPED_ADDRESS   0x0020
#define ATTR_OTHER_ADDRESS        0x802c

#define PROTOCOL_UDP       17

void
stun_result_clear (StunResult *result)
{
  g_clear_object (&result->mapped);
  g_clear_object (&result->other);
  g_clear_object (&result->relayed);
  g_clear_pointer (&result->error_reason, g_free);
  g_clear_pointer (&result->realm, g_free);
  g_clear_pointer (&result->nonce, g_free);
  memset (result, 0, sizeof *result);
}

char *
stun_address_to_string (GSocketAddress *address)
{
  GInetSocketAddress *inet = G_INET_SOCKET_ADDRESS (address);
  g_autofree char *ip = g_inet_address_to_string (g_inet_socket_address_get_address (inet));

  if (strchr (ip, ':') != NULL)
    return g_strdup_printf ("[%s]:%u", ip, g_inet_socket_address_get_port (inet));
  return g_strdup_printf ("%s:%u", ip, g_inet_socket_address_get_port (inet));
}

/* HOST:PORT, [V6]:PORT or HOST (then @default_port), “stun:” allowed in
 * front: the first IPv4 address it names. */
GSocketAddress *
stun_resolve (const char  *host_port,
              guint16      default_port,
              GError     **error)
{
  g_autoptr(GSocketConnectable) connectable = NULL;
  g_autoptr(GSocketAddressEnumerator) addresses = NULL;
  g_autoptr(GError) local_error = NULL;
  GSocketAddress *address;

  if (g_str_has_prefix (host_port, "stun:"))
    host_port += strlen ("stun:");
  connectable = g_network_address_parse (host_port, default_port, error);
  if (connectable == NULL)
    return NULL;
  addresses = g_socket_connectable_enumerate (connectable);
  while ((address = g_socket_address_enumerator_next (addresses, NULL, &local_error)) != NULL)
    {
      if (g_socket_address_get_family (address) == G_SOCKET_FAMILY_IPV4)
        return address;
      g_object_unref (address);
    }
  if (local_error != NULL)
    g_propagate_error (error, g_steal_pointer (&local_error));
  else
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                 _("“%s” has no IPv4 address"), host_port);
  return NULL;
}

/* Messages {{{1 */

static GByteArray *
message_new (guint16  type,
             guint8   tid[12])
{
  GByteArray *message = g_byte_array_sized_new (256);
  guint8 header[HEADER_SIZE] = { type >> 8, type & 0xff, 0, 0,
                                 MAGIC_COOKIE >> 24, (MAGIC_COOKIE >> 16) & 0xff,
                                 (MAGIC_COOKIE >> 8) & 0xff, MAGIC_COOKIE & 0xff };

  gnutls_rnd (GNUTLS_RND_NONCE, tid, 12);
  memcpy (header + 8, tid, 12);
  g_byte_array_append (message, header, sizeof header);
  return message;
}

static void
set_length (GByteArray *message,
            gsize       length)
{
  message->data[2] = (length >> 8) & 0xff;
  message->data[3] = length & 0xff;
}

static void
add_attribute (GByteArray   *message,
               guint16       type,
               const void   *value,
               gsize         length)
{
  guint8 head[4] = { type >> 8, type & 0xff, (length >> 8) & 0xff, length & 0xff };
  static const guint8 zeros[3] = { 0 };

  g_byte_array_append (message, head, sizeof head);
  g_byte_array_append (message, value, length);
  if (length % 4 != 0)
    g_byte_array_append (message, zeros, 4 - length % 4);
  set_length (message, message->len - HEADER_SIZE);
}

static void
add_string (GByteArray *message,
            guint16     type,
            const char *value)
{
  add_attribute (message, type, value, strlen (value));
}

/* MESSAGE-INTEGRITY with the long-term key MD5(user:realm:password) */
static void
add_integrity (GByteArray *message,
               const char *username,
               const char *realm,
               const char *password)
{
  g_autofree char *credentials = g_strdup_printf ("%s:%s:%s", username, realm, password);
  guint8 key[16], digest[20];
  gsize key_len = sizeof key, digest_len = sizeof digest;
  g_autoptr(GChecksum) md5 = g_checksum_new (G_CHECKSUM_MD5);
  g_autoptr(GHmac) hmac = NULL;

  g_checksum_update (md5, (const guchar *) credentials, -1);
  g_checksum_get_digest (md5, key, &key_len);
  /* The length covers the integrity attribute, which is not hashed. */
  set_length (message, message->len - HEADER_SIZE + 4 + sizeof digest);
  hmac = g_hmac_new (G_CHECKSUM_SHA1, key, key_len);
  g_hmac_update (hmac, message->data, message->len);
  g_hmac_get_digest (hmac, digest, &digest_len);
  add_attribute (message, ATTR_MESSAGE_INTEGRITY, digest, sizeof digest);
  memset (credentials, 0, strlen (credentials));
}

static GSocketAddress *
parse_address (const guint8 *value,
               gsize         length,
               gboolean      xored,
               const guint8 *header)
{
  guint8 bytes[16];
  guint16 port;
  gsize size;

  if (length < 8 || (value[1] != 1 && value[1] != 2))
    return NULL;
  size = value[1] == 1 ? 4 : 16;
  if (length < 4 + size)
    return NULL;
  port = (value[2] << 8) | value[3];
  memcpy (bytes, value + 4, size);
  if (xored)
    {
      port ^= MAGIC_COOKIE >> 16;
      /* The cookie, then the transaction id: bytes 4..19 of the header. */
      for (gsize i = 0; i < size; i++)
        bytes[i] ^= header[4 + i];
    }
  {
    g_autoptr(GInetAddress) ip = g_inet_address_new_from_bytes (bytes, size == 4 ? G_SOCKET_FAMILY_IPV4
                                                                                 : G_SOCKET_FAMILY_IPV6);
    return g_inet_socket_address_new (ip, port);
  }
}

static void
read_attribute (StunResult   *result,
                guint16       type,
                const guint8 *value,
                gsize         length,
                const guint8 *header)
{
  switch (type)
    {
    case ATTR_XOR_MAPPED_ADDRESS:
      g_clear_object (&result->mapped);
      result->mapped = parse_address (value, length, TRUE, header);
      break;
    case ATTR_MAPPED_ADDRESS:
      if (result->mapped == NULL)
        result->mapped = parse_address (value, length, FALSE, header);
      break;
    case ATTR_OTHER_ADDRESS:
      g_clear_object (&result->other);
      result->other = parse_address (value, length, FALSE, header);
      break;
    case ATTR_XOR_RELAYED_ADDRESS:
      g_clear_object (&result->relayed);
      result->relayed = parse_address (value, length, TRUE, header);
      break;
    case ATTR_ERROR_CODE:
      if (length >= 4)
        {
          result->error_code = (value[2] & 0x7) * 100 + value[3] % 100;
          g_free (result->error_reason);
          result->error_reason = g_utf8_make_valid ((const char *) value + 4, MIN (length - 4, 128));
        }
      break;
    case ATTR_REALM:
      g_free (result->realm);
      result->realm = g_strndup ((const char *) value, MIN (length, 763));
      break;
    case ATTR_NONCE:
      g_free (result->nonce);
      result->nonce = g_strndup ((const char *) value, MIN (length, 763));
      break;
    default:
      break;
    }
}

/* Whether @data is a response to the request with @tid; fills @result. */
static gboolean
parse_response (const guint8 *data,
                gsize         size,
                const guint8  tid[12],
                StunResult   *result)
{
  guint16 type, length;
  gsize offset = HEADER_SIZE;

  if (size < HEADER_SIZE || (data[0] & 0xc0) != 0)
    return FALSE;
  type = (data[0] << 8) | data[1];
  length = (data[2] << 8) | data[3];
  if (HEADER_SIZE + (gsize) length > size || length % 4 != 0 ||
      ((guint32) data[4] << 24 | data[5] << 16 | data[6] << 8 | data[7]) != MAGIC_COOKIE ||
      memcmp (data + 8, tid, 12) != 0)
    return FALSE;
  if ((type & CLASS_MASK) != CLASS_SUCCESS && (type & CLASS_MASK) != CLASS_ERROR)
    return FALSE;

  while (offset + 4 <= HEADER_SIZE + (gsize) length)
    {
      guint16 attr = (data[offset] << 8) | data[offset + 1];
      guint16 attr_len = (data[offset + 2] << 8) | data[offset + 3];

      if (offset + 4 + attr_len > HEADER_SIZE + (gsize) length)
        break;
      read_attribute (result, attr, data + offset + 4, attr_len, data);
      offset += 4 + ((attr_len + 3) & ~3u);
    }
  result->answered = TRUE;
  if ((type & CLASS_MASK) == CLASS_SUCCESS)
    result->error_code = 0;
  return TRUE;
}

/* Exchanges {{{1 */

/* UDP: sends @message, again after 0.5, 1 and 2 s, until an answer or
 * @timeout_ms. */
static gboolean
exchange_udp (GSocket        *socket,
              GSocketAddress *server,
              GByteArray     *message,
              guint           timeout_ms,
              StunResult     *result,
              GError        **error)
{
  gint64 start = g_get_monotonic_time ();
  gint64 deadline = start + timeout_ms * G_TIME_SPAN_MILLISECOND;
  gint64 next_send = start, interval = 500 * G_TIME_SPAN_MILLISECOND;
  guint8 buffer[MAX_MESSAGE];

  while (g_get_monotonic_time () < deadline)
    {
      gint64 now = g_get_monotonic_time ();
      gssize n;

      if (now >= next_send)
        {
          if (g_socket_send_to (socket, server, (const char *) message->data, message->len,
                                NULL, error) < 0)
            return FALSE;
          next_send = now + interval;
          interval *= 2;
        }
      if (!g_socket_condition_timed_wait (socket, G_IO_IN, MIN (next_send, deadline) - now, NULL, NULL))
        continue;
      n = g_socket_receive (socket, (char *) buffer, sizeof buffer, NULL, NULL);
      if (n > 0 && parse_response (buffer, n, message->data + 8, result))
        {
          result->rtt_us = g_get_monotonic_time () - start;
          return TRUE;
        }
    }
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, _("no answer within %u ms"), timeout_ms);
  return FALSE;
}

/* TCP (RFC 5766 §2.1): messages back to back on the stream. */
static gboolean
exchange_tcp (GSocketConnection *connection,
              GByteArray        *message,
              StunResult        *result,
              GError           **error)
{
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  gint64 start = g_get_monotonic_time ();
  guint8 buffer[MAX_MESSAGE];
  gsize length;

  if (!g_output_stream_write_all (out, message->data, message->len, NULL, NULL, error) ||
      !g_input_stream_read_all (in, buffer, HEADER_SIZE, &length, NULL, error))
    return FALSE;
  length = (buffer[2] << 8) | buffer[3];
  if (HEADER_SIZE + length > sizeof buffer ||
      !g_input_stream_read_all (in, buffer + HEADER_SIZE, length, &length, NULL, error) ||
      !parse_response (buffer, HEADER_SIZE + length, message->data + 8, result))
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, _("not a STUN answer"));
      return FALSE;
    }
  result->rtt_us = g_get_monotonic_time () - start;
  return TRUE;
}

/**
 * stun_binding:
 * @socket: a bound UDP socket: the mapping asked about is its own
 * @server: the STUN server
 *
 * Returns: whether @server answered; @result says what it saw
 */
gboolean
stun_binding (GSocket         *socket,
              GSocketAddress  *server,
              guint            timeout_ms,
              StunResult      *result,
              GError         **error)
{
  guint8 tid[12];
  g_autoptr(GByteArray) message = message_new (BINDING_REQUEST, tid);

  return exchange_udp (socket, server, message, timeout_ms, result, error);
}

/* TURN {{{1 */

void
turn_server_free (TurnServer *server)
{
  if (server == NULL)
    return;
  if (server->password != NULL)
    memset (server->password, 0, strlen (server->password));
  g_free (server->host);
  g_free (server->username);
  g_free (server->password);
  g_free (server->display);
  g_free (server);
}

/* turn:USER:PASS@HOST:PORT[?transport=udp|tcp], USER and PASS %-escaped */
TurnServer *
turn_server_parse (const char  *url,
                   GError     **error)
{
  g_autoptr(TurnServer) server = g_new0 (TurnServer, 1);
  const char *at = strrchr (url, '@');
  const char *query = at ? strchr (at, '?') : NULL;
  g_autofree char *userinfo = NULL;
  g_autofree char *hostport = NULL;
  char *colon;

  if (!g_str_has_prefix (url, "turn:") || at == NULL)
    goto invalid;
  userinfo = g_strndup (url + strlen ("turn:"), at - url - strlen ("turn:"));
  colon = strchr (userinfo, ':');
  if (colon == NULL)
    goto invalid;
  *colon = '\0';
  server->username = g_uri_unescape_string (userinfo, NULL);
  server->password = g_uri_unescape_string (colon + 1, NULL);
  if (query != NULL && !g_str_equal (query, "?transport=udp") && !g_str_equal (query, "?transport=tcp"))
    goto invalid;
  server->tcp = query != NULL && g_str_equal (query, "?transport=tcp");
  hostport = query ? g_strndup (at + 1, query - at - 1) : g_strdup (at + 1);
  if (server->username == NULL || server->password == NULL || hostport[0] == '\0')
    goto invalid;
  server->host = g_strdup (hostport);
  server->display = g_strdup_printf ("%s (%s)", hostport, server->tcp ? "tcp" : "udp");
  return g_steal_pointer (&server);

invalid:
  /* Never echo a password back: the part after the '@' only. */
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
               _("Invalid TURN server “%s”: expected turn:USER:PASS@HOST:PORT[?transport=udp|tcp]"),
               at ? at + 1 : "…");
  return NULL;
}

typedef struct {
  GSocket           *udp;
  GSocketAddress    *address;
  GSocketConnection *tcp;
  guint              timeout_ms;
} Channel;

static void
channel_close (Channel *channel)
{
  if (channel->tcp != NULL)
    g_io_stream_close (G_IO_STREAM (channel->tcp), NULL, NULL);
  g_clear_object (&channel->tcp);
  g_clear_object (&channel->udp);
  g_clear_object (&channel->address);
}

static gboolean
channel_open (Channel     *channel,
              TurnServer  *server,
              guint        timeout_ms,
              GError     **error)
{
  channel->timeout_ms = timeout_ms;
  channel->address = stun_resolve (server->host, 3478, error);
  if (channel->address == NULL)
    return FALSE;

  if (server->tcp)
    {
      g_autoptr(GSocketClient) client = g_socket_client_new ();
      guint seconds = MAX (1, (timeout_ms + 999) / 1000);

      g_socket_client_set_timeout (client, seconds);
      channel->tcp = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (channel->address), NULL, error);
      return channel->tcp != NULL;
    }

  channel->udp = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, error);
  if (channel->udp == NULL)
    return FALSE;
  {
    g_autoptr(GInetAddress) any = g_inet_address_new_any (G_SOCKET_FAMILY_IPV4);
    g_autoptr(GSocketAddress) local = g_inet_socket_address_new (any, 0);

    return g_socket_bind (channel->udp, local, FALSE, error);
  }
}

static gboolean
channel_exchange (Channel     *channel,
                  GByteArray  *message,
                  StunResult  *result,
                  GError     **error)
{
  if (channel->tcp != NULL)
    return exchange_tcp (channel->tcp, message, result, error);
  return exchange_udp (channel->udp, channel->address, message, channel->timeout_ms, result, error);
}

/* An Allocate for a UDP relay; with @realm, authenticated. */
static GByteArray *
allocate_request (TurnServer *server,
                  const char *realm,
                  const char *nonce)
{
  static const guint8 transport[4] = { PROTOCOL_UDP, 0, 0, 0 };
  guint8 tid[12];
  GByteArray *message = message_new (ALLOCATE_REQUEST, tid);

  add_attribute (message, ATTR_REQUESTED_TRANSPORT, transport, sizeof transport);
  if (realm != NULL)
    {
      add_string (message, ATTR_USERNAME, server->username);
      add_string (message, ATTR_REALM, realm);
      add_string (message, ATTR_NONCE, nonce);
      add_integrity (message, server->username, realm, server->password);
    }
  return message;
}

/* Gives the allocation back at once (a Refresh with lifetime 0). */
static void
release (Channel    *channel,
         TurnServer *server,
         const char *realm,
         const char *nonce)
{
  static const guint8 zero[4] = { 0 };
  guint8 tid[12];
  g_autoptr(GByteArray) message = message_new (REFRESH_REQUEST, tid);
  StunResult ignored = { 0 };

  add_attribute (message, ATTR_LIFETIME, zero, sizeof zero);
  add_string (message, ATTR_USERNAME, server->username);
  add_string (message, ATTR_REALM, realm);
  add_string (message, ATTR_NONCE, nonce);
  add_integrity (message, server->username, realm, server->password);
  channel->timeout_ms = MIN (channel->timeout_ms, 1000);
  channel_exchange (channel, message, &ignored, NULL);
  stun_result_clear (&ignored);
}

/**
 * turn_allocate:
 * @server: the TURN server and its credentials
 *
 * Asks @server for a UDP relay (first without credentials, then with them
 * after its 401, once more after a 438 stale nonce), and gives it back.
 *
 * Returns: whether @server answered; @result holds the relayed address, or
 *   the error code and reason of its refusal
 */
gboolean
turn_allocate (TurnServer  *server,
               guint        timeout_ms,
               StunResult  *result,
               GError     **error)
{
  Channel channel = { 0 };
  g_autoptr(GByteArray) request = NULL;
  gboolean answered = FALSE;

  if (!channel_open (&channel, server, timeout_ms, error))
    goto out;
  request = allocate_request (server, NULL, NULL);
  answered = channel_exchange (&channel, request, result, error);
  for (guint attempt = 0; answered && attempt < 2 && result->realm != NULL && result->nonce != NULL &&
       (result->error_code == 401 || result->error_code == 438); attempt++)
    {
      g_autofree char *realm = g_strdup (result->realm);
      g_autofree char *nonce = g_strdup (result->nonce);
      gboolean stale = result->error_code == 438;

      if (attempt > 0 && !stale)
        break;
      stun_result_clear (result);
      g_byte_array_unref (request);
      request = allocate_request (server, realm, nonce);
      answered = channel_exchange (&channel, request, result, error);
      if (answered && result->error_code == 0 && result->relayed != NULL)
        release (&channel, server, realm, nonce);
      if (answered && result->realm == NULL)
        result->realm = g_steal_pointer (&realm);
    }

out:
  channel_close (&channel);
  return answered;
}
