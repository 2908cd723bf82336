/* fuzz-dht-value.c: values read from the DHT (plugins/dht/ferry-dht-value.c)
 *
 * The input is one line of a get or a listen, read as a message and as an
 * announcement of a fixed account.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "ferry-dht-value.h"
#include "fuzz-common.h"

#define ACCOUNT "0000000000000000000000000000000000000000000000000000000000000000"

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  fuzz_init_logging ();
  return 0;
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  const char *value = NULL;
  const char *reason = NULL;
  const char kinds[] = { DHT_KIND_MESSAGE, DHT_KIND_ANNOUNCEMENT };

  switch (_ferry_dht_value_parse (parser, (const char *) data, size, &value, &reason))
    {
    case DHT_VALUE_IGNORE:
      return 0;
    case DHT_VALUE_DROP:
      g_assert (reason != NULL);
      return 0;
    case DHT_VALUE_OK:
      break;
    }
  g_assert (value != NULL && strlen (value) <= DHT_MAX_DATA_BASE64);

  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    {
      g_autofree char *sender = NULL;
      g_autoptr(GBytes) payload = NULL;

      reason = NULL;
      if (_ferry_dht_value_decode (value, kinds[i], ACCOUNT, &sender, &payload, &reason) == DHT_VALUE_OK)
        {
          g_assert (_ferry_dht_is_lower_hex (sender, DHT_DEVICE_ID_SIZE));
          g_assert (payload != NULL && g_bytes_get_size (payload) > 0);
        }
      else
        g_assert (reason != NULL && sender == NULL && payload == NULL);
    }
  return 0;
}
