/* ferry-test-initfail.c: a plugin whose initialisation fails after it
 * added a feature
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <ferry/ferry.h>

#define TEST_TYPE_INITFAIL_TRANSPORT (test_initfail_transport_get_type ())
G_DECLARE_FINAL_TYPE (TestInitfailTransport, test_initfail_transport, TEST, INITFAIL_TRANSPORT, FerryTransport)

struct _TestInitfailTransport
{
  FerryTransport parent_instance;
};

G_DEFINE_FINAL_TYPE (TestInitfailTransport, test_initfail_transport, FERRY_TYPE_TRANSPORT)

static void
test_initfail_transport_class_init (TestInitfailTransportClass *klass)
{
}

static void
test_initfail_transport_init (TestInitfailTransport *self)
{
}

static gboolean
register_features (FerryPlugin  *plugin,
                   GError      **error)
{
  ferry_plugin_add_feature (plugin, "test-initfail-transport",
                            TEST_TYPE_INITFAIL_TRANSPORT, FERRY_RANK_MARGINAL);

  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                       "the test device is missing");
  return FALSE;
}

FERRY_PLUGIN_DEFINE (initfail, "initfail",
                     "A test plugin whose initialisation fails",
                     "1.0", "LGPL-2.1-or-later",
                     register_features)
