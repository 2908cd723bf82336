/* test-frame.c: framing of the session protocol
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <gio/gio.h>

#include "ferry-error.h"
#include "ferry-frame-private.h"
#include "ferry-session-protocol-private.h"

static void
test_header_round_trip (void)
{
  static const struct {
    FerryFrameType type;
    guint32 length;
  } cases[] = {
    { FERRY_FRAME_CONTROL, 0 },
    { FERRY_FRAME_CONTROL, 1 },
    { FERRY_FRAME_CONTROL, 0x1234 },
    { FERRY_FRAME_CONTROL, FERRY_FRAME_MAX_CONTROL },
    { FERRY_FRAME_DATA, 0 },
    { FERRY_FRAME_DATA, 256 * 1024 },
    { FERRY_FRAME_DATA, 0x0a0b0c },
    { FERRY_FRAME_DATA, FERRY_FRAME_MAX_DATA },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      guint8 header[FERRY_FRAME_HEADER_SIZE];
      FerryFrameType type = 0;
      guint32 length = 0;
      g_autoptr(GError) error = NULL;

      _ferry_frame_write_header (header, cases[i].type, cases[i].length);
      g_assert_cmpuint (header[0], ==, cases[i].type);
      /* big-endian on the wire */
      g_assert_cmpuint (((guint32) header[1] << 24 | (guint32) header[2] << 16 |
                         (guint32) header[3] << 8 | header[4]), ==, cases[i].length);

      g_assert_true (_ferry_frame_parse_header (header, &type, &length, &error));
      g_assert_no_error (error);
      g_assert_cmpint (type, ==, cases[i].type);
      g_assert_cmpuint (length, ==, cases[i].length);
    }
}

static void
test_header_wire_bytes (void)
{
  guint8 header[FERRY_FRAME_HEADER_SIZE];
  static const guint8 expected[] = { 2, 0x01, 0x02, 0x03, 0x04 };

  _ferry_frame_write_header (header, FERRY_FRAME_DATA, 0x01020304);
  g_assert_cmpmem (header, sizeof header, expected, sizeof expected);
}

static void
assert_header_rejected (guint8  type,
                        guint32 length)
{
  guint8 header[FERRY_FRAME_HEADER_SIZE] = {
    type, length >> 24, length >> 16, length >> 8, length
  };
  FerryFrameType out_type = 0;
  guint32 out_length = 0;
  g_autoptr(GError) error = NULL;

  g_assert_false (_ferry_frame_parse_header (header, &out_type, &out_length, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL);
}

static void
test_header_oversized (void)
{
  assert_header_rejected (FERRY_FRAME_CONTROL, FERRY_FRAME_MAX_CONTROL + 1);
  assert_header_rejected (FERRY_FRAME_CONTROL, G_MAXUINT32);
  assert_header_rejected (FERRY_FRAME_DATA, FERRY_FRAME_MAX_DATA + 1);
  assert_header_rejected (FERRY_FRAME_DATA, G_MAXUINT32);
  assert_header_rejected (FERRY_FRAME_DATA, 0x80000000);
}

static void
test_header_unknown_type (void)
{
  assert_header_rejected (0, 10);
  assert_header_rejected (3, 10);
  assert_header_rejected (0xff, 0);
}

static void
assert_control_rejected (const char *payload,
                         gssize      length)
{
  g_autoptr(GError) error = NULL;
  JsonObject *object;

  if (length < 0)
    length = strlen (payload);

  object = _ferry_frame_parse_control ((const guint8 *) payload, length, &error);
  g_assert_null (object);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL);
  g_test_message ("rejected: %s", error->message);
}

static void
test_control_bad_json (void)
{
  assert_control_rejected ("", 0);
  assert_control_rejected ("{", -1);
  assert_control_rejected ("{\"type\":", -1);
  assert_control_rejected ("{\"type\":\"x\",}", -1);
  assert_control_rejected ("{\"type\":\"x\"} trailing", -1);
  assert_control_rejected ("var a = {\"type\":\"x\"}", -1);
  assert_control_rejected ("\xff\xfe{}", -1);
  assert_control_rejected ("{\"type\":\"a\xc3\"}", -1);
  /* an embedded NUL byte */
  assert_control_rejected ("{\"type\":\"a\0b\"}", 14);
}

/* The parser's message quotes the peer's bytes: a terminal escape in a
 * broken frame never reaches the message an application shows (found by
 * fuzz-reply). */
static void
test_control_bad_json_message (void)
{
  const char *frames[] = {
    "{\"type\":\"accept\",\"offsets\a{\"type\":1}",
    "{\"type\":\"x\",\"k\x1b]0;owned\a\x1b[2J{",
    "{\"type\":\"x\",\"k\xe2\x80\xae\xc2\x9b{",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (frames); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonObject) object = _ferry_frame_parse_control ((const guint8 *) frames[i],
                                                                 strlen (frames[i]), &error);

      g_assert_null (object);
      g_assert_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL);
      g_test_message ("%s", error->message);
      for (const char *p = error->message; *p != '\0'; p = g_utf8_next_char (p))
        {
          gunichar c = g_utf8_get_char (p);

          g_assert_cmpuint (c, >=, 0x20);
          g_assert_false (c >= 0x7f && c <= 0x9f);
          g_assert_false (c >= 0x202a && c <= 0x202e);
        }
    }
}

/* json-glib takes octal escapes in strings, so a string of a frame need
 * not be UTF-8: a reason ending in a lead byte must not make the cleaning
 * step past its end (found by fuzz-reply; AddressSanitizer sees the
 * over-read). */
static void
test_reason_not_utf8 (void)
{
  const char *frames[] = {
    "{\"type\":\"cancel\",\"reason\":\"bad \\360\"}",
    "{\"type\":\"error\",\"code\":\"io\",\"reason\":\"\\202ue \\033[2J\"}",
    "{\"type\":\"\\377\\360\"}",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (frames); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonObject) object = _ferry_frame_parse_control ((const guint8 *) frames[i],
                                                                 strlen (frames[i]), &error);

      if (object == NULL)
        continue;   /* a json-glib that refuses the escape: nothing to clean */
      _ferry_protocol_set_peer_error (object, &error);
      g_assert_nonnull (error);
      g_test_message ("%s", error->message);
      g_assert_true (g_utf8_validate (error->message, -1, NULL));
      for (const char *p = error->message; *p != '\0'; p = g_utf8_next_char (p))
        g_assert_cmpuint (g_utf8_get_char (p), >=, 0x20);
    }
}

static void
test_control_not_object (void)
{
  assert_control_rejected ("[]", -1);
  assert_control_rejected ("[{\"type\":\"x\"}]", -1);
  assert_control_rejected ("\"type\"", -1);
  assert_control_rejected ("42", -1);
  assert_control_rejected ("null", -1);
  assert_control_rejected ("true", -1);
}

static void
test_control_missing_type (void)
{
  assert_control_rejected ("{}", -1);
  assert_control_rejected ("{\"kind\":\"header\"}", -1);
  assert_control_rejected ("{\"type\":1}", -1);
  assert_control_rejected ("{\"type\":null}", -1);
  assert_control_rejected ("{\"type\":[\"x\"]}", -1);
  assert_control_rejected ("{\"type\":{\"a\":1}}", -1);
}

static void
test_control_deep_nesting (void)
{
  g_autoptr(GString) text = g_string_new ("{\"type\":\"x\",\"a\":");

  for (guint i = 0; i < 30000; i++)
    g_string_append_c (text, '[');
  for (guint i = 0; i < 30000; i++)
    g_string_append_c (text, ']');
  g_string_append_c (text, '}');

  g_assert_cmpuint (text->len, <=, FERRY_FRAME_MAX_CONTROL);
  assert_control_rejected (text->str, text->len);
}

static void
test_control_oversized (void)
{
  gsize length = FERRY_FRAME_MAX_CONTROL + 1;
  g_autofree char *text = g_malloc (length);

  memset (text, ' ', length);
  memcpy (text, "{\"type\":\"x\"}", 12);
  assert_control_rejected (text, length);
}

static void
test_control_ok (void)
{
  static const char text[] = "{\"type\":\"end\",\"index\":3,\"sha3-256\":\"ab\",\"x\":[1,{\"y\":\"[[[\"}]}GARBAGE";
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) object = NULL;

  /* not NUL-terminated: parse exactly the given length */
  object = _ferry_frame_parse_control ((const guint8 *) text, strlen (text) - 7, &error);
  g_assert_no_error (error);
  g_assert_nonnull (object);
  g_assert_cmpstr (json_object_get_string_member (object, "type"), ==, "end");
  g_assert_cmpint (json_object_get_int_member (object, "index"), ==, 3);
}

/* A control frame written to a real socket comes out as one frame. */
static void
test_control_over_socket (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketListener) listener = g_socket_listener_new ();
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) effective = NULL;
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) a = NULL;
  g_autoptr(GSocketConnection) b = NULL;
  g_autoptr(JsonObject) object = json_object_new ();
  g_autoptr(JsonObject) parsed = NULL;
  guint8 header[FERRY_FRAME_HEADER_SIZE];
  g_autofree guint8 *payload = NULL;
  FerryFrameType type;
  guint32 length;
  gsize got = 0;
  g_autofree char *name = NULL;

  g_socket_client_set_enable_proxy (client, FALSE);
  g_socket_listener_add_address (listener, address, G_SOCKET_TYPE_STREAM,
                                 G_SOCKET_PROTOCOL_TCP, NULL, &effective, &error);
  g_assert_no_error (error);
  a = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (effective), NULL, &error);
  g_assert_no_error (error);
  b = g_socket_listener_accept (listener, NULL, NULL, &error);
  g_assert_no_error (error);

  /* non-ASCII and characters JSON must escape */
  name = g_strdup ("Grüße \"quoted\"\n.txt");
  json_object_set_string_member (object, "type", "header");
  json_object_set_string_member (object, "name", name);
  json_object_set_int_member (object, "size", G_GINT64_CONSTANT (1) << 50);

  g_assert_true (_ferry_frame_write_control (g_io_stream_get_output_stream (G_IO_STREAM (a)),
                                             object, NULL, &error));
  g_assert_no_error (error);

  g_assert_true (g_input_stream_read_all (g_io_stream_get_input_stream (G_IO_STREAM (b)),
                                          header, sizeof header, &got, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (got, ==, sizeof header);
  g_assert_true (_ferry_frame_parse_header (header, &type, &length, &error));
  g_assert_no_error (error);
  g_assert_cmpint (type, ==, FERRY_FRAME_CONTROL);

  payload = g_malloc (length);
  g_assert_true (g_input_stream_read_all (g_io_stream_get_input_stream (G_IO_STREAM (b)),
                                          payload, length, &got, NULL, &error));
  g_assert_cmpuint (got, ==, length);
  parsed = _ferry_frame_parse_control (payload, length, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (parsed, "type"), ==, "header");
  g_assert_cmpstr (json_object_get_string_member (parsed, "name"), ==, name);
  g_assert_cmpint (json_object_get_int_member (parsed, "size"), ==, G_GINT64_CONSTANT (1) << 50);
}

static void
test_control_too_large_to_write (void)
{
  g_autoptr(GOutputStream) out = g_memory_output_stream_new_resizable ();
  g_autoptr(JsonObject) object = json_object_new ();
  g_autofree char *big = g_malloc (FERRY_FRAME_MAX_CONTROL + 1);
  g_autoptr(GError) error = NULL;

  memset (big, 'a', FERRY_FRAME_MAX_CONTROL);
  big[FERRY_FRAME_MAX_CONTROL] = '\0';
  json_object_set_string_member (object, "type", "header");
  json_object_set_string_member (object, "pad", big);

  g_assert_false (_ferry_frame_write_control (out, object, NULL, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_PROTOCOL);
  /* nothing went out */
  g_assert_cmpuint (g_memory_output_stream_get_data_size (G_MEMORY_OUTPUT_STREAM (out)), ==, 0);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/frame/header/round-trip", test_header_round_trip);
  g_test_add_func ("/frame/header/wire-bytes", test_header_wire_bytes);
  g_test_add_func ("/frame/header/oversized", test_header_oversized);
  g_test_add_func ("/frame/header/unknown-type", test_header_unknown_type);
  g_test_add_func ("/frame/control/bad-json", test_control_bad_json);
  g_test_add_func ("/frame/control/bad-json-message", test_control_bad_json_message);
  g_test_add_func ("/frame/control/reason-not-utf8", test_reason_not_utf8);
  g_test_add_func ("/frame/control/not-object", test_control_not_object);
  g_test_add_func ("/frame/control/missing-type", test_control_missing_type);
  g_test_add_func ("/frame/control/deep-nesting", test_control_deep_nesting);
  g_test_add_func ("/frame/control/oversized", test_control_oversized);
  g_test_add_func ("/frame/control/ok", test_control_ok);
  g_test_add_func ("/frame/control/over-socket", test_control_over_socket);
  g_test_add_func ("/frame/control/too-large-to-write", test_control_too_large_to_write);

  return g_test_run ();
}
