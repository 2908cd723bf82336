/* fuzz-lan-description.c: a peer's lan transport description
 * (plugins/lan/ferry-lan-description.c)
 *
 * The input is the description as JSON; when it is not an object, the
 * whole input is read as one address.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "ferry-lan-description.h"
#include "fuzz-common.h"

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  fuzz_init_logging ();
  return 0;
}

static void
check_address (GInetSocketAddress *address)
{
  g_autofree char *text = _ferry_lan_format_address (address);
  g_autoptr(GInetSocketAddress) again = _ferry_lan_parse_address (text);

  /* What is accepted is canonical: it reads back the same. */
  g_assert (again != NULL);
  g_assert (g_inet_socket_address_get_port (again) == g_inet_socket_address_get_port (address));
  g_assert (g_inet_address_equal (g_inet_socket_address_get_address (again),
                                  g_inet_socket_address_get_address (address)));
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GPtrArray) addresses = NULL;
  g_autoptr(GError) error = NULL;
  guint8 token[LAN_TOKEN_SIZE];
  JsonNode *root;

  if (!g_utf8_validate_len ((const char *) data, size, NULL))
    return 0;

  if (!json_parser_load_from_data (parser, (const char *) data, size, NULL) ||
      (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_autofree char *text = g_strndup ((const char *) data, size);
      g_autoptr(GInetSocketAddress) address = _ferry_lan_parse_address (text);

      if (address != NULL)
        check_address (address);
      return 0;
    }

  if (_ferry_lan_parse_description (json_node_get_object (root), &addresses, token, &error))
    {
      g_autofree char *hex = _ferry_lan_format_token (token);

      g_assert (addresses->len > 0 && addresses->len <= LAN_MAX_ADDRESSES);
      for (guint i = 0; i < addresses->len; i++)
        check_address (g_ptr_array_index (addresses, i));
      g_assert (strlen (hex) == 2 * LAN_TOKEN_SIZE);
    }
  else
    g_assert (error != NULL);
  return 0;
}
