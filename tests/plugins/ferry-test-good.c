/* ferry-test-good.c: a plugin that loads, with one transport and one
 * signaling feature
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <ferry/ferry.h>

#define TEST_TYPE_GOOD_TRANSPORT (test_good_transport_get_type ())
G_DECLARE_FINAL_TYPE (TestGoodTransport, test_good_transport, TEST, GOOD_TRANSPORT, FerryTransport)

struct _TestGoodTransport
{
  FerryTransport parent_instance;
};

G_DEFINE_FINAL_TYPE (TestGoodTransport, test_good_transport, FERRY_TYPE_TRANSPORT)

static char **
test_good_transport_dup_listen_addresses (FerryTransport *transport)
{
  char *addresses[] = { (char *) "test:good", NULL };

  return g_strdupv (addresses);
}

static void
test_good_transport_class_init (TestGoodTransportClass *klass)
{
  FerryTransportClass *transport_class = FERRY_TRANSPORT_CLASS (klass);

  transport_class->dup_listen_addresses = test_good_transport_dup_listen_addresses;
}

static void
test_good_transport_init (TestGoodTransport *self)
{
}

#define TEST_TYPE_GOOD_SIGNALING (test_good_signaling_get_type ())
G_DECLARE_FINAL_TYPE (TestGoodSignaling, test_good_signaling, TEST, GOOD_SIGNALING, FerrySignaling)

struct _TestGoodSignaling
{
  FerrySignaling parent_instance;
};

G_DEFINE_FINAL_TYPE (TestGoodSignaling, test_good_signaling, FERRY_TYPE_SIGNALING)

static void
test_good_signaling_class_init (TestGoodSignalingClass *klass)
{
}

static void
test_good_signaling_init (TestGoodSignaling *self)
{
}

static gboolean
register_features (FerryPlugin  *plugin,
                   GError      **error)
{
  ferry_plugin_add_feature (plugin, "test-good-transport",
                            TEST_TYPE_GOOD_TRANSPORT, FERRY_RANK_PRIMARY);
  ferry_plugin_add_feature (plugin, "test-good-signaling",
                            TEST_TYPE_GOOD_SIGNALING, FERRY_RANK_SECONDARY);

  return TRUE;
}

FERRY_PLUGIN_DEFINE (good, "good",
                     "A test plugin that loads",
                     "1.2.3", "LGPL-2.1-or-later",
                     register_features)
