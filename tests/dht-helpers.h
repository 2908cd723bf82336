/* dht-helpers.h: a private OpenDHT network on loopback for tests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

#define FERRY_TEST_DHT_NODES 2

typedef struct _FerryTestDht FerryTestDht;

/* Whether `dhtnode` can be run. */
gboolean      ferry_test_dht_available   (void);

/* Starts FERRY_TEST_DHT_NODES `dhtnode` processes on loopback ports,
 * bootstrapped to each other on a random network id (never the public
 * network), each with a proxy, and waits until a value put through the
 * first proxy reads back through the last. Their output goes to files in
 * @dir. The nodes die with the calling process. */
FerryTestDht *ferry_test_dht_start       (const char    *dir,
                                          GError       **error);

/* "http://127.0.0.1:PORT" of node @index's proxy. */
const char   *ferry_test_dht_proxy       (FerryTestDht  *dht,
                                          guint          index);

/* SIGKILL to node @index (it dies the way a crashed proxy does). */
void          ferry_test_dht_kill        (FerryTestDht  *dht,
                                          guint          index);

/* Starts node @index again on the same ports, and waits until the network
 * works through it. */
gboolean      ferry_test_dht_restart     (FerryTestDht  *dht,
                                          guint          index,
                                          GError       **error);

/* Stops every node (by pid) and frees @dht. */
void          ferry_test_dht_stop        (FerryTestDht  *dht);

/* A TCP port on 127.0.0.1 that was free a moment ago (nothing listens). */
guint16       ferry_test_dht_free_tcp_port (void);

/* The key the dht plugin derives for a device's inbox or an account. */
char         *ferry_test_dht_inbox_key   (const char    *device_id);
char         *ferry_test_dht_account_key (const char    *account_id);

/* POST {"data": base64 (@data), "id": random, "type": @type} to
 * @proxy/key/@key, synchronously. */
gboolean      ferry_test_dht_put         (SoupSession   *session,
                                          const char    *proxy,
                                          const char    *key,
                                          GBytes        *data,
                                          guint          type,
                                          GError       **error);

/* The same with @data_b64 sent as it is (e.g. not valid base64). */
gboolean      ferry_test_dht_put_raw     (SoupSession   *session,
                                          const char    *proxy,
                                          const char    *key,
                                          const char    *data_b64,
                                          guint          type,
                                          GError       **error);

/* GET @proxy/key/@key: the decoded data of each value. */
GPtrArray    *ferry_test_dht_get         (SoupSession   *session,
                                          const char    *proxy,
                                          const char    *key,
                                          GError       **error);

G_END_DECLS
