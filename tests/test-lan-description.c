/* test-lan-description.c: the lan transport's part of an offer, read
 * strictly (plugins/lan/ferry-lan-description.c)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <gio/gio.h>

#include "../plugins/lan/ferry-lan-description.h"

static void
test_addresses (void)
{
  static const struct {
    const char *text;
    const char *canonical;   /* NULL: refused */
  } cases[] = {
    { "192.0.2.1:65535", "192.0.2.1:65535" },
    { "127.0.0.1:4711", "127.0.0.1:4711" },
    { "[::1]:4711", "[::1]:4711" },
    { "[2001:db8::1]:1", "[2001:db8::1]:1" },
    { "[2001:DB8::1]:9", "[2001:db8::1]:9" },
    { "1.2.3.4:080", "1.2.3.4:80" },
    /* inet_aton() forms, which GLib's parser takes */
    { "127.1:80", NULL },
    { "0x7f.0.0.1:80", NULL },
    { "2130706433:80", NULL },
    { "01.2.3.4:80", NULL },
    /* ports: digits only, 1 to 65535, present */
    { "1.2.3.4:0", NULL },
    { "1.2.3.4:65536", NULL },
    { "1.2.3.4:http", NULL },
    { "1.2.3.4:+80", NULL },
    { "1.2.3.4: 80", NULL },
    { "1.2.3.4:-1", NULL },
    { "[::1]:000080", NULL },
    { "1.2.3.4:", NULL },
    { "1.2.3.4", NULL },
    { "[::1]", NULL },
    /* brackets around IPv6 and only around it */
    { "::1:80", NULL },
    { "[1.2.3.4]:80", NULL },
    { "[::1]x:80", NULL },
    { "[[::1]]:80", NULL },
    { "[::1:80", NULL },
    { "[fe80::1%lo]:80", NULL },
    /* no names, no unspecified or multicast addresses */
    { "localhost:80", NULL },
    { ":80", NULL },
    { "[]:80", NULL },
    { "0.0.0.0:1", NULL },
    { "[::]:5", NULL },
    { "224.0.0.1:5", NULL },
    { "[ff02::1]:5", NULL },
    { " 1.2.3.4:80", NULL },
    { "1.2.3.4:80 ", NULL },
    { "", NULL },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GInetSocketAddress) address = _ferry_lan_parse_address (cases[i].text);
      g_autofree char *text = address != NULL ? _ferry_lan_format_address (address) : NULL;

      g_test_message ("%s", cases[i].text);
      g_assert_cmpstr (text, ==, cases[i].canonical);
    }
  g_assert_null (_ferry_lan_parse_address (NULL));
}

static void
test_description (void)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GPtrArray) addresses = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *hex = NULL;
  guint8 token[LAN_TOKEN_SIZE];

  g_assert_true (json_parser_load_from_data (parser,
                 "{\"addresses\": [\"127.0.0.1:4711\", \"[::1]:4711\"],"
                 " \"token\": \"00112233445566778899aabbccddeeff\"}", -1, NULL));
  g_assert_true (_ferry_lan_parse_description (json_node_get_object (json_parser_get_root (parser)),
                                               &addresses, token, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (addresses->len, ==, 2);
  hex = _ferry_lan_format_token (token);
  g_assert_cmpstr (hex, ==, "00112233445566778899aabbccddeeff");

  /* One address in another form spoils the whole description. */
  g_assert_true (json_parser_load_from_data (parser,
                 "{\"addresses\": [\"127.0.0.1:4711\", \"127.1:4711\"],"
                 " \"token\": \"00112233445566778899aabbccddeeff\"}", -1, NULL));
  g_assert_false (_ferry_lan_parse_description (json_node_get_object (json_parser_get_root (parser)),
                                                &addresses, token, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/lan-description/addresses", test_addresses);
  g_test_add_func ("/lan-description/description", test_description);

  return g_test_run ();
}
