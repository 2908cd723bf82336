/* test-faults.c: the receiver on a small volume, and facing a hostile
 * sender
 *
 * The volume is a tmpfs of a few hundred KiB mounted in a mount namespace
 * of the test's own (root only: elsewhere the test is skipped, and fails
 * under FERRY_TEST_NO_SKIP=1), so nothing outside the test sees it.
 *
 * The hostile sender is this test itself, speaking the protocol with the
 * library's own pieces to an unmodified `ferry receive --json` (the
 * binary named by $FERRY_TOOL) on loopback: it asks for the receiver's
 * announcement (local-broadcast), sends it a signed and sealed offer with
 * a lan description of its own listener, takes the receiver's connection
 * and token, runs TLS, and writes a header of its own.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#ifndef _GNU_SOURCE
# define _GNU_SOURCE 1   /* unshare */
#endif

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include <json-glib/json-glib.h>

#include "ferry-envelope-private.h"
#include "ferry-error.h"
#include "ferry-frame-private.h"
#include "ferry-identity-private.h"
#include "../core/negotiation/ferry-offer-private.h"
#include "ferry-part-file-private.h"
#include "ferry-session-private.h"
#include "ferry-tls-private.h"
#include "test-utils.h"

#define IO_TIMEOUT_S 60

#define KIB 1024

/* Mounts a tmpfs of @size_kib KiB on a fresh folder, seen by this thread
 * only; returns the folder, or NULL after a skip. */
static char *
small_volume (guint size_kib)
{
  g_autofree char *dir = ferry_test_make_dir ("volume");
  g_autofree char *options = g_strdup_printf ("size=%uk,mode=0700", size_kib);

  if (unshare (CLONE_NEWNS) != 0)
    {
      g_autofree char *reason = g_strdup_printf ("no mount namespace of our own: %s",
                                                 g_strerror (errno));

      ferry_test_skip_or_fail (reason);
      return NULL;
    }
  /* what is mounted here stays here */
  g_assert_cmpint (mount ("none", "/", NULL, MS_REC | MS_PRIVATE, NULL), ==, 0);
  if (mount ("ferry-test", dir, "tmpfs", MS_NOSUID | MS_NODEV, options) != 0)
    {
      g_autofree char *reason = g_strdup_printf ("cannot mount a tmpfs: %s", g_strerror (errno));

      ferry_test_skip_or_fail (reason);
      return NULL;
    }
  return g_steal_pointer (&dir);
}

static guint64
available_bytes (int dirfd)
{
  struct statvfs st;

  g_assert_cmpint (fstatvfs (dirfd, &st), ==, 0);
  return (guint64) st.f_bavail * st.f_frsize;
}

/* Fills the volume up to @left free bytes, in one file. */
static void
fill_up_to (int     dirfd,
            guint64 left)
{
  guint64 available = available_bytes (dirfd);
  g_autofree guint8 *zeros = g_malloc0 (64 * KIB);
  int fd = openat (dirfd, "filler", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

  g_assert_cmpint (fd, >=, 0);
  while (available > left)
    {
      gsize n = MIN ((guint64) 64 * KIB, available - left);

      g_assert_cmpint (write (fd, zeros, n), ==, (gssize) n);
      available = available_bytes (dirfd);
    }
  g_assert_cmpint (close (fd), ==, 0);
}

/* A 1 KiB file fits on a 512 KiB volume; what does not fit is refused
 * with the figures that make the refusal true. */
static void
test_small_volume (void)
{
  g_autofree char *dir = small_volume (512);
  g_autoptr(GError) error = NULL;
  guint64 margin;
  guint64 available;
  int dirfd;

  if (dir == NULL)
    return;
  dirfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  g_assert_cmpint (dirfd, >=, 0);

  /* a 16 MiB margin would refuse it: the volume is smaller than that */
  g_assert_true (_ferry_part_file_check_space (dirfd, KIB, &error));
  g_assert_no_error (error);

  margin = _ferry_part_file_space_margin (512 * KIB);
  g_assert_cmpuint (margin, >=, 4 * KIB);
  g_assert_cmpuint (margin, <, 512 * KIB / 4);
  g_assert_cmpuint (_ferry_part_file_space_margin (G_GUINT64_CONSTANT (1) << 40), ==, 16 * 1024 * KIB);

  /* Nearly full: 1 KiB still fits above the margin, 100 KiB does not. */
  fill_up_to (dirfd, margin + 64 * KIB);
  available = available_bytes (dirfd);
  g_assert_true (_ferry_part_file_check_space (dirfd, KIB, &error));
  g_assert_no_error (error);
  g_assert_false (_ferry_part_file_check_space (dirfd, 100 * KIB, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_NO_SPACE);
  g_test_message ("%s", error->message);
  {
    g_autofree char *needed_str = g_format_size (100 * KIB);
    g_autofree char *margin_str = g_format_size (margin);
    g_autofree char *available_str = g_format_size (available);

    /* needed + kept free > available: the message holds all three */
    g_assert_cmpuint (100 * KIB + margin, >, available);
    g_assert_nonnull (strstr (error->message, needed_str));
    g_assert_nonnull (strstr (error->message, margin_str));
    g_assert_nonnull (strstr (error->message, available_str));
  }
  g_clear_error (&error);

  /* more than there is at all */
  g_assert_false (_ferry_part_file_check_space (dirfd, 1024 * KIB, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_NO_SPACE);

  g_assert_cmpint (unlinkat (dirfd, "filler", 0), ==, 0);
  g_assert_cmpint (close (dirfd), ==, 0);
  g_assert_cmpint (umount (dir), ==, 0);
  g_rmdir (dir);
}

/* ------------------------------------------------------------------ */
/* A hostile sender                                                     */

typedef struct {
  GSubprocess      *process;
  GDataInputStream *out;
  GPtrArray        *events;   /* JsonObject */
} Receiver;

/* Reads the receiver's events up to one of type @event (or its end). */
static JsonObject *
receiver_wait_event (Receiver   *receiver,
                     const char *event)
{
  for (;;)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonParser) parser = json_parser_new ();
      g_autofree char *line = g_data_input_stream_read_line_utf8 (receiver->out, NULL, NULL, &error);
      JsonObject *object;

      g_assert_no_error (error);
      if (line == NULL)
        return NULL;
      g_test_message ("receiver: %s", line);
      if (!json_parser_load_from_data (parser, line, -1, NULL) ||
          !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
        continue;
      object = json_node_get_object (json_parser_get_root (parser));
      g_ptr_array_add (receiver->events, json_object_ref (object));
      if (g_strcmp0 (json_object_get_string_member_with_default (object, "event", NULL), event) == 0)
        return object;
    }
}

static GSocket *
udp_socket (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any_port = g_inet_socket_address_new (loopback, 0);
  GSocket *socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                  G_SOCKET_PROTOCOL_UDP, &error);

  g_assert_no_error (error);
  g_assert_true (g_socket_bind (socket, any_port, FALSE, &error));
  g_assert_no_error (error);
  g_socket_set_timeout (socket, IO_TIMEOUT_S);
  return socket;
}

/* Asks for the receiver's announcement; returns it checked, with where
 * its messages go in @route. */
static FerryEnvelope *
query_announcement (GSocket         *socket,
                    FerryIdentity   *identity,
                    guint16          port,
                    GSocketAddress **route)
{
  /* the receiver listens to its group, here on loopback only */
  g_autoptr(GInetAddress) group_address = g_inet_address_new_from_string ("239.255.71.71");
  g_autoptr(GSocketAddress) group = g_inet_socket_address_new (group_address, port);
  g_autoptr(GError) error = NULL;
  g_autofree char *buffer = g_malloc (65536);
  struct in_addr interface = { .s_addr = htonl (INADDR_LOOPBACK) };

  g_assert_cmpint (setsockopt (g_socket_get_fd (socket), IPPROTO_IP, IP_MULTICAST_IF,
                               &interface, sizeof interface), ==, 0);

  for (guint attempt = 0; ; attempt++)
    {
      g_autoptr(GBytes) wire = NULL;
      FerryEnvelope *envelope;
      gssize n;

      /* a receiver that just started may have no announcement yet */
      g_assert_cmpint (g_socket_send_to (socket, group, "Q", 1, NULL, &error), ==, 1);
      g_assert_no_error (error);
      if (!g_socket_condition_timed_wait (socket, G_IO_IN, G_USEC_PER_SEC, NULL, NULL))
        {
          g_assert_cmpuint (attempt, <, IO_TIMEOUT_S);
          continue;
        }
      n = g_socket_receive_from (socket, route, buffer, 65536, NULL, &error);
      g_assert_no_error (error);
      if (n < 2 || buffer[0] != 'A')
        {
          g_clear_object (route);
          continue;
        }
      wire = g_bytes_new (buffer + 1, n - 1);
      envelope = _ferry_envelope_receive (identity, wire, NULL, &error);
      g_assert_no_error (error);
      g_assert_true (envelope->has_x25519);
      return envelope;
    }
}

/* The offer of one small file, with a lan description of @listener. */
static GBytes *
hostile_offer (FerryIdentity *identity,
               FerryEnvelope *to,
               const char    *transfer_id,
               guint16        listen_port,
               const guint8  *token)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) body = json_object_new ();
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func ((GDestroyNotify) _ferry_session_file_free);
  JsonObject *params = json_object_new ();
  JsonArray *addresses = json_array_new ();
  JsonObject *lan = json_object_new ();
  JsonArray *transports = json_array_new ();
  g_autoptr(GBytes) plain = NULL;
  g_autofree char *address = g_strdup_printf ("127.0.0.1:%u", listen_port);
  g_autofree char *token_hex = NULL;
  GString *hex = g_string_new (NULL);
  GBytes *sealed;

  g_ptr_array_add (files, _ferry_session_file_new ("f.txt", 3, "text/plain"));
  for (guint i = 0; i < 16; i++)
    g_string_append_printf (hex, "%02x", token[i]);
  token_hex = g_string_free (hex, FALSE);
  json_array_add_string_element (addresses, address);
  json_object_set_array_member (params, "addresses", addresses);
  json_object_set_string_member (params, "token", token_hex);
  json_object_set_string_member (lan, "name", "lan");
  json_object_set_object_member (lan, "params", params);
  json_array_add_object_element (transports, lan);
  json_object_set_string_member (body, "transfer", transfer_id);
  json_object_set_array_member (body, "transports", transports);
  g_assert_true (_ferry_offer_describe_files (body, transfer_id, files, NULL, NULL, &error));
  g_assert_no_error (error);

  plain = _ferry_envelope_build (identity, "offer", to->from_device, body, &error);
  g_assert_no_error (error);
  sealed = _ferry_envelope_seal (identity, to->from_device, to->x25519, plain, &error);
  g_assert_no_error (error);
  return sealed;
}

/* Takes the receiver's connection, checks its token, runs TLS as the
 * offerer (the client) does. */
static GIOStream *
take_connection (GSocketListener *listener,
                 FerryIdentity   *identity,
                 FerryEnvelope   *receiver,
                 const guint8    *token)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketConnection) connection = NULL;
  guint8 got[16];
  gsize n = 0;
  GIOStream *tls;

  connection = g_socket_listener_accept (listener, NULL, NULL, &error);
  g_assert_no_error (error);
  g_socket_set_timeout (g_socket_connection_get_socket (connection), IO_TIMEOUT_S);
  g_assert_true (g_input_stream_read_all (g_io_stream_get_input_stream (G_IO_STREAM (connection)),
                                          got, sizeof got, &n, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (got, n, token, 16);
  tls = _ferry_tls_handshake (G_IO_STREAM (connection), identity, FALSE,
                              receiver->from_account, receiver->from_device, NULL, &error);
  g_assert_no_error (error);
  return tls;
}

/* Listens on a free loopback port; returns it. */
static guint16
listen_loopback (GSocketListener *listener)
{
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any_port = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) effective = NULL;
  g_autoptr(GError) error = NULL;

  g_socket_listener_add_address (listener, any_port, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                                 NULL, &effective, &error);
  g_assert_no_error (error);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
}

/* Reads one control frame from the receiver. */
static JsonObject *
read_control (GIOStream *stream)
{
  GInputStream *in = g_io_stream_get_input_stream (stream);
  guint8 frame_header[FERRY_FRAME_HEADER_SIZE];
  g_autofree guint8 *payload = NULL;
  g_autoptr(GError) error = NULL;
  FerryFrameType type;
  guint32 length;
  gsize n = 0;
  JsonObject *object;

  g_assert_true (g_input_stream_read_all (in, frame_header, sizeof frame_header, &n, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (_ferry_frame_parse_header (frame_header, &type, &length, &error));
  g_assert_cmpint (type, ==, FERRY_FRAME_CONTROL);
  payload = g_malloc (MAX (length, 1));
  g_assert_true (g_input_stream_read_all (in, payload, length, &n, NULL, &error));
  g_assert_no_error (error);
  object = _ferry_frame_parse_control (payload, length, &error);
  g_assert_no_error (error);
  return object;
}

/* Starts `ferry receive --json --yes --once` with a home of its own in
 * @dir, on local-broadcast port @port; returns once it is ready. */
static void
receiver_start (Receiver   *receiver,
                const char *dir,
                guint16     port,
                const char *download)
{
  g_autofree char *home = g_build_filename (dir, "receiver", NULL);
  g_autofree char *conf_path = g_build_filename (home, "ferry.conf", NULL);
  g_autofree char *conf = g_strdup_printf ("[core]\nname=receiver\n[local-broadcast]\nport=%u\n", port);
  g_autoptr(GError) error = NULL;
  const char *tool = g_getenv ("FERRY_TOOL");

  g_assert_nonnull (tool);
  g_assert_cmpint (g_mkdir_with_parents (home, 0700), ==, 0);
  g_assert_true (g_file_set_contents (conf_path, conf, -1, NULL));
  receiver->events = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  receiver->process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, tool,
                                        "--home", home, "--interface", "lo", "--json", "receive",
                                        "--yes", "--once", "--dir", download, NULL);
  g_assert_no_error (error);
  receiver->out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (receiver->process));
  g_assert_nonnull (receiver_wait_event (receiver, "ready"));
}

/* A header the receiver refuses (a folder reaching out of the download
 * folder) ends the transfer with an "error" event that says why. */
static void
test_hostile_header_event (void)
{
  g_autofree char *dir = ferry_test_make_dir ("hostile");
  g_autofree char *download = g_build_filename (dir, "download", NULL);
  g_autofree char *own = g_build_filename (dir, "sender", NULL);
  g_autofree char *listing = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(FerryIdentity) identity = NULL;
  g_autoptr(GSocket) udp = udp_socket ();
  g_autoptr(GSocketAddress) route = NULL;
  g_autoptr(GSocketListener) listener = g_socket_listener_new ();
  g_autoptr(GIOStream) tls = NULL;
  g_autoptr(FerryEnvelope) announcement = NULL;
  g_autoptr(GBytes) offer = NULL;
  g_autoptr(GByteArray) datagram = g_byte_array_new ();
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(JsonObject) reply = NULL;
  const char *transfer_id = "0123456789abcdef0123456789abcdef";
  const guint8 token[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
  guint16 port = ferry_test_free_udp_port ();
  guint16 listen_port;
  Receiver receiver = { NULL, };
  JsonObject *event;

  g_assert_cmpint (g_mkdir_with_parents (download, 0700), ==, 0);
  identity = ferry_identity_new (own, NULL, &error);
  g_assert_no_error (error);
  receiver_start (&receiver, dir, port, download);

  listen_port = listen_loopback (listener);

  announcement = query_announcement (udp, identity, port, &route);
  offer = hostile_offer (identity, announcement, transfer_id, listen_port, token);
  g_byte_array_append (datagram, (const guint8 *) "M", 1);
  g_byte_array_append (datagram, g_bytes_get_data (offer, NULL), g_bytes_get_size (offer));
  g_assert_cmpint (g_socket_send_to (udp, route, (const char *) datagram->data, datagram->len,
                                     NULL, &error), ==, (gssize) datagram->len);
  g_assert_no_error (error);

  /* --yes: it accepts, answers and connects; then our own header */
  tls = take_connection (listener, identity, announcement, token);
  {
    const char *header = "{\"type\":\"header\",\"transfer\":\"0123456789abcdef0123456789abcdef\","
                         "\"files\":[{\"name\":\"f.txt\",\"size\":3,\"mime\":\"text/plain\","
                         "\"dir\":\"../outside\"}]}";

    g_assert_true (json_parser_load_from_data (parser, header, -1, NULL));
    g_assert_true (_ferry_frame_write_control (g_io_stream_get_output_stream (tls),
                                               json_node_get_object (json_parser_get_root (parser)),
                                               NULL, &error));
    g_assert_no_error (error);
  }
  /* the sender is told, then hangs up */
  reply = read_control (tls);
  g_assert_cmpstr (json_object_get_string_member (reply, "type"), ==, "reject");
  g_assert_cmpstr (json_object_get_string_member (reply, "code"), ==, "protocol");
  g_io_stream_close (tls, NULL, NULL);

  event = receiver_wait_event (&receiver, "error");
  g_assert_nonnull (event);
  g_assert_cmpstr (json_object_get_string_member (event, "transfer"), ==, transfer_id);
  g_assert_cmpstr (json_object_get_string_member (event, "code"), ==, "protocol");
  g_assert_nonnull (strstr (json_object_get_string_member (event, "message"), "../outside"));
  g_assert_true (g_subprocess_wait_check (receiver.process, NULL, &error) == FALSE);
  g_assert_cmpint (g_subprocess_get_exit_status (receiver.process), ==, 1);
  g_clear_error (&error);

  listing = ferry_test_list_dir (download);
  g_assert_cmpstr (listing, ==, "");
  g_object_unref (receiver.out);
  g_object_unref (receiver.process);
  g_ptr_array_unref (receiver.events);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/faults/space/small-volume", test_small_volume);
  g_test_add_func ("/faults/hostile-header-event", test_hostile_header_event);

  return g_test_run ();
}
