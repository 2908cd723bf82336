/* test-account.c: linking devices (export, import) and revoking them
 *
 * Real files, real gnutls and nettle; engines in one process with the
 * real plugins on loopback.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "ferry.h"
#include "test-utils.h"

#define PASSPHRASE "correct horse battery staple"

typedef struct {
  FerryEngine   *engine;
  char          *home;
  char          *download;
  guint          requests;
  FerryTransfer *incoming;
} Device;

typedef struct {
  char   *dir;
  guint16 port;
} Fixture;

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  fixture->dir = ferry_test_make_dir ("account");
  fixture->port = ferry_test_free_udp_port ();
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  g_free (fixture->dir);
}

static char *
make_home (Fixture    *fixture,
           const char *name)
{
  char *home = g_build_filename (fixture->dir, name, NULL);
  g_autofree char *conf = g_build_filename (home, "ferry.conf", NULL);
  g_autofree char *text = g_strdup_printf ("[core]\nname=%s\n[local-broadcast]\nport=%u\n", name, fixture->port);

  g_assert_cmpint (g_mkdir_with_parents (home, 0700), ==, 0);
  g_assert_true (g_file_set_contents (conf, text, -1, NULL));
  return home;
}

static char *
identity_account (const char *home)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FerryIdentity) identity = ferry_identity_new (home, NULL, &error);

  g_assert_no_error (error);
  return g_strdup (ferry_identity_get_account_id (identity));
}

static void
transfer_requested_cb (FerryEngine   *engine,
                       FerryTransfer *transfer,
                       Device        *device)
{
  g_autoptr(GFile) dir = g_file_new_for_path (device->download);

  device->requests++;
  g_set_object (&device->incoming, transfer);
  ferry_transfer_accept (transfer, dir);
}

static void
device_start (Device *device)
{
  const char *lo[] = { "lo", NULL };
  const char *signalings[] = { "local-broadcast", NULL };
  const char *transports[] = { "lan", NULL };
  g_autoptr(GError) error = NULL;

  device->engine = ferry_engine_new (device->home, NULL, &error);
  g_assert_no_error (error);
  ferry_engine_set_interfaces (device->engine, lo);
  ferry_engine_set_signalings (device->engine, signalings);
  ferry_engine_set_transports (device->engine, transports);
  g_assert_true (ferry_engine_start (device->engine, &error));
  g_assert_no_error (error);
  g_signal_connect (device->engine, "transfer-requested", G_CALLBACK (transfer_requested_cb), device);
}

static void
device_stop (Device *device)
{
  if (device->engine == NULL)
    return;
  ferry_engine_stop (device->engine);
  g_clear_object (&device->engine);
}

static void
device_init (Device     *device,
             Fixture    *fixture,
             const char *name)
{
  g_autofree char *download = g_strconcat (name, "-download", NULL);

  memset (device, 0, sizeof *device);
  device->home = make_home (fixture, name);
  device->download = g_build_filename (fixture->dir, download, NULL);
  g_assert_cmpint (g_mkdir_with_parents (device->download, 0700), ==, 0);
}

static void
device_clear (Device *device)
{
  device_stop (device);
  g_clear_object (&device->incoming);
  g_free (device->home);
  g_free (device->download);
}

static const char *
device_id (Device *device)
{
  return ferry_identity_get_device_id (ferry_engine_get_identity (device->engine));
}

static void
test_export_import (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autofree char *a = make_home (fixture, "a");
  g_autofree char *b = g_build_filename (fixture->dir, "b", NULL);
  g_autofree char *c = make_home (fixture, "c");
  g_autofree char *export = g_build_filename (fixture->dir, "account.export", NULL);
  g_autofree char *tampered = g_build_filename (fixture->dir, "tampered.export", NULL);
  g_autofree char *account = identity_account (a);
  g_autofree char *text = NULL;
  g_autofree char *b_key = g_build_filename (b, "account.key", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(FerryIdentity) ia = NULL;
  g_autoptr(FerryIdentity) ib = NULL;
  GStatBuf st;
  gsize len;

  /* A short passphrase is refused. */
  g_assert_false (ferry_account_export (a, export, "short", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  g_assert_true (ferry_account_export (a, export, PASSPHRASE, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_stat (export, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_true (g_file_get_contents (export, &text, &len, NULL));
  /* The key is not in the clear. */
  g_assert_null (strstr (text, "PRIVATE KEY"));
  g_assert_nonnull (strstr (text, account));

  /* A wrong passphrase leaves the new home untouched. */
  g_assert_false (ferry_account_import (b, export, "not the passphrase", &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_IDENTITY);
  g_clear_error (&error);
  g_assert_false (g_file_test (b_key, G_FILE_TEST_EXISTS));

  /* So does an altered file. */
  {
    char *p = strstr (text, "\"ciphertext\" : \"");

    g_assert_nonnull (p);
    p += strlen ("\"ciphertext\" : \"") + 10;
    *p = *p == 'A' ? 'B' : 'A';
    g_assert_true (g_file_set_contents (tampered, text, len, NULL));
  }
  g_assert_false (ferry_account_import (b, tampered, PASSPHRASE, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_IDENTITY);
  g_clear_error (&error);
  g_assert_false (g_file_test (b_key, G_FILE_TEST_EXISTS));

  /* A home with an identity of its own is not overwritten. */
  g_free (identity_account (c));
  g_assert_false (ferry_account_import (c, export, PASSPHRASE, &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_IDENTITY);
  g_clear_error (&error);

  /* The right one: a new device of the same account. */
  g_assert_true (ferry_account_import (b, export, PASSPHRASE, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_stat (b_key, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  ia = ferry_identity_new (a, NULL, &error);
  g_assert_no_error (error);
  ib = ferry_identity_new (b, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (ferry_identity_get_account_id (ib), ==, account);
  g_assert_cmpstr (ferry_identity_get_device_id (ib), !=, ferry_identity_get_device_id (ia));
}

typedef struct {
  FerryPeer *peer;
  guint      n;
} DevicesWait;

static gboolean
peer_has_devices (gpointer user_data)
{
  DevicesWait *wait = user_data;

  return g_list_model_get_n_items (ferry_peer_get_devices (wait->peer)) >= wait->n;
}

static FerryPeer *
find_account (FerryEngine *engine,
              const char  *account,
              guint        n_devices)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *prefix = g_strndup (account, 16);
  DevicesWait wait;
  FerryPeer *peer;

  peer = ferry_test_find_peer (engine, prefix, 10000, NULL, &error);
  g_assert_no_error (error);
  wait.peer = peer;
  wait.n = n_devices;
  ferry_test_wait_until (peer_has_devices, &wait, 10000, "the account's devices");
  return peer;
}

static gboolean
all_subs_done (gpointer user_data)
{
  GListModel *subs = ferry_transfer_get_sub_transfers (FERRY_TRANSFER (user_data));

  for (guint i = 0; i < g_list_model_get_n_items (subs); i++)
    {
      g_autoptr(FerryTransfer) sub = g_list_model_get_item (subs, i);

      if (!ferry_transfer_is_done (sub))
        return FALSE;
    }
  return g_list_model_get_n_items (subs) > 0;
}

static FerryTransfer *
send_note (Device     *from,
           FerryPeer  *peer,
           const char *path)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GError) error = NULL;
  FerryTransfer *transfer = ferry_engine_send (from->engine, peer, &file, 1, &error);

  g_assert_no_error (error);
  return transfer;
}

/* Homes a (the account), b and c (imported), and s (someone else). */
static void
link_devices (Fixture *fixture,
              Device  *a,
              Device  *b,
              Device  *c,
              Device  *s)
{
  g_autofree char *export = g_build_filename (fixture->dir, "account.export", NULL);
  g_autoptr(GError) error = NULL;

  device_init (a, fixture, "a");
  device_init (b, fixture, "b");
  device_init (c, fixture, "c");
  device_init (s, fixture, "s");
  g_free (identity_account (a->home));
  g_assert_true (ferry_account_export (a->home, export, PASSPHRASE, &error));
  g_assert_no_error (error);
  g_assert_true (ferry_account_import (b->home, export, PASSPHRASE, &error));
  g_assert_no_error (error);
  if (c != NULL)
    {
      g_assert_true (ferry_account_import (c->home, export, PASSPHRASE, &error));
      g_assert_no_error (error);
    }
  device_start (a);
  device_start (b);
  if (c != NULL)
    device_start (c);
  device_start (s);
}

static void
test_imported_device_receives (Fixture       *fixture,
                               gconstpointer  data)
{
  Device a, b, c, s;
  g_autofree char *note = g_build_filename (fixture->dir, "note.txt", NULL);
  g_autoptr(FerryPeer) peer = NULL;
  g_autoptr(FerryTransfer) transfer = NULL;
  const char *account;

  link_devices (fixture, &a, &b, &c, &s);
  account = ferry_identity_get_account_id (ferry_engine_get_identity (a.engine));
  g_assert_cmpstr (ferry_identity_get_account_id (ferry_engine_get_identity (b.engine)), ==, account);

  g_assert_true (g_file_set_contents (note, "to every device\n", -1, NULL));
  peer = find_account (s.engine, account, 3);
  transfer = send_note (&s, peer, note);
  ferry_test_wait_until (all_subs_done, transfer, 30000, "every device to end");
  g_assert_cmpint (ferry_transfer_get_state (transfer), ==, FERRY_TRANSFER_STATE_FINISHED);
  g_assert_cmpuint (g_list_model_get_n_items (ferry_transfer_get_sub_transfers (transfer)), ==, 3);
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(FerryTransfer) sub = g_list_model_get_item (ferry_transfer_get_sub_transfers (transfer), i);

      g_assert_cmpint (ferry_transfer_get_state (sub), ==, FERRY_TRANSFER_STATE_FINISHED);
    }
  g_assert_cmpuint (a.requests, ==, 1);
  g_assert_cmpuint (b.requests, ==, 1);
  g_assert_cmpuint (c.requests, ==, 1);

  /* Each device of the account knows the others. */
  {
    g_autoptr(GPtrArray) known = ferry_account_list_devices (a.home);
    gboolean seen_b = FALSE;

    g_assert_true (json_object_get_boolean_member (g_ptr_array_index (known, 0), "this"));
    for (guint i = 0; i < known->len; i++)
      if (g_str_equal (json_object_get_string_member (g_ptr_array_index (known, i), "device"), device_id (&b)))
        seen_b = TRUE;
    g_assert_true (seen_b);
  }

  device_clear (&a);
  device_clear (&b);
  device_clear (&c);
  device_clear (&s);
}

typedef struct {
  const char *home;
  const char *device;
} RevokedWait;

static gboolean
is_revoked_in (gpointer user_data)
{
  RevokedWait *wait = user_data;
  g_auto(GStrv) revoked = ferry_account_list_revoked (wait->home);

  return g_strv_contains ((const char * const *) revoked, wait->device);
}

static gboolean
transfer_done (gpointer user_data)
{
  return ferry_transfer_is_done (FERRY_TRANSFER (user_data));
}

static void
test_revoked_device_refused (Fixture       *fixture,
                             gconstpointer  data)
{
  Device a, b, c, s;
  g_autofree char *note = g_build_filename (fixture->dir, "note.txt", NULL);
  g_autofree char *revoked_id = NULL;
  g_autoptr(FerryPeer) peer = NULL;
  g_autoptr(FerryPeer) back = NULL;
  g_autoptr(FerryTransfer) transfer = NULL;
  g_autoptr(FerryTransfer) attempt = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *account = NULL;
  RevokedWait wait;

  link_devices (fixture, &a, &b, &c, &s);
  account = g_strdup (ferry_identity_get_account_id (ferry_engine_get_identity (a.engine)));
  revoked_id = g_strdup (device_id (&c));
  g_assert_true (g_file_set_contents (note, "not for c\n", -1, NULL));
  /* Everybody has met everybody. */
  peer = find_account (s.engine, account, 3);
  g_clear_object (&peer);
  back = find_account (c.engine, ferry_identity_get_account_id (ferry_engine_get_identity (s.engine)), 1);

  /* A device of the account cannot revoke itself; a malformed id is refused. */
  g_assert_false (ferry_account_revoke_device (c.home, revoked_id, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (ferry_account_revoke_device (a.home, "c0ffee", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* a revokes c; a's engine, started again, hands the revocation on. */
  device_stop (&a);
  g_assert_true (ferry_account_revoke_device (a.home, revoked_id, &error));
  g_assert_no_error (error);
  device_start (&a);

  wait.device = revoked_id;
  wait.home = s.home;
  ferry_test_wait_until (is_revoked_in, &wait, 15000, "the peer to learn of the revocation");
  wait.home = b.home;
  ferry_test_wait_until (is_revoked_in, &wait, 15000, "the account's device to learn of it");
  {
    g_autoptr(GPtrArray) known = ferry_account_list_devices (b.home);
    gboolean listed = FALSE;

    for (guint i = 0; i < known->len; i++)
      if (g_str_equal (json_object_get_string_member (g_ptr_array_index (known, i), "device"), revoked_id))
        listed = json_object_get_boolean_member (g_ptr_array_index (known, i), "revoked");
    g_assert_true (listed);
  }

  /* s sends to the account: the revoked device is left out. */
  peer = find_account (s.engine, account, 3);
  transfer = send_note (&s, peer, note);
  ferry_test_wait_until (all_subs_done, transfer, 30000, "every device to end");
  g_assert_cmpint (ferry_transfer_get_state (transfer), ==, FERRY_TRANSFER_STATE_FINISHED);
  g_assert_cmpuint (g_list_model_get_n_items (ferry_transfer_get_sub_transfers (transfer)), ==, 2);
  g_assert_cmpuint (c.requests, ==, 0);
  g_assert_cmpuint (a.requests + b.requests, ==, 2);

  /* The revoked device cannot send to s any more: s does not answer it. */
  attempt = send_note (&c, back, note);
  ferry_test_wait_until (transfer_done, attempt, 30000, "the revoked device's attempt to end");
  g_assert_cmpint (ferry_transfer_get_state (attempt), ==, FERRY_TRANSFER_STATE_UNJOINABLE_PEER);
  g_assert_cmpuint (s.requests, ==, 0);

  device_clear (&a);
  device_clear (&b);
  device_clear (&c);
  device_clear (&s);
}

static gboolean
stored_revocation (const char *home,
                   const char *account,
                   const char *device)
{
  g_autofree char *path = g_build_filename (home, "revocations.json", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonArray *list;

  g_assert_true (json_parser_load_from_file (parser, path, NULL));
  list = json_node_get_array (json_parser_get_root (parser));
  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      JsonObject *entry = json_array_get_object_element (list, i);

      if (g_str_equal (json_object_get_string_member (entry, "account"), account) &&
          g_str_equal (json_object_get_string_member (entry, "device"), device))
        return TRUE;
    }
  return FALSE;
}

/* A store filled with other accounts' revocations (any peer can hand
 * over thousands signed by its own key, of any device id) still takes
 * this account's own ones, also of a device another account "revoked". */
static void
test_revocations_full (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autofree char *a = make_home (fixture, "a");
  g_autofree char *path = g_build_filename (a, "revocations.json", NULL);
  g_autofree char *account = identity_account (a);
  g_autofree char *victim = g_strnfill (64, 'e');
  g_autofree char *claimed = g_strdup_printf ("%064x", 5u);
  g_autoptr(GString) text = g_string_new ("[");
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < 4096; i++)
    g_string_append_printf (text, "%s{\"account\":\"%064x\",\"device\":\"%064x\",\"time\":1,"
                            "\"signature\":\"AAAA\"}", i ? "," : "", 1u, i);
  g_string_append (text, "]");
  g_assert_true (g_file_set_contents (path, text->str, -1, NULL));

  g_assert_true (ferry_account_revoke_device (a, victim, &error));
  g_assert_no_error (error);
  g_assert_true (stored_revocation (a, account, victim));
  g_assert_true (ferry_account_revoke_device (a, claimed, &error));
  g_assert_no_error (error);
  g_assert_true (stored_revocation (a, account, claimed));
}

/* A revocation binds the devices of the account that signed it only: a
 * stranger cannot make its peers refuse somebody else's device. */
static void
test_foreign_revocation_ignored (Fixture       *fixture,
                                 gconstpointer  data)
{
  Device a, s, t;
  g_autofree char *note = g_build_filename (fixture->dir, "note.txt", NULL);
  g_autofree char *victim = NULL;
  g_autoptr(FerryPeer) peer = NULL;
  g_autoptr(FerryTransfer) transfer = NULL;
  g_autoptr(GError) error = NULL;
  RevokedWait wait;

  device_init (&a, fixture, "a");
  device_init (&s, fixture, "s");
  device_init (&t, fixture, "t");
  g_free (identity_account (s.home));
  device_start (&a);
  device_start (&t);
  victim = g_strdup (device_id (&a));
  g_assert_true (g_file_set_contents (note, "for t\n", -1, NULL));

  /* s's account "revokes" a's device, and s tells t. */
  g_assert_true (ferry_account_revoke_device (s.home, victim, &error));
  g_assert_no_error (error);
  device_start (&s);
  wait.home = t.home;
  wait.device = victim;
  ferry_test_wait_until (is_revoked_in, &wait, 15000, "t to hear of the revocation");

  /* t still takes a's transfers. */
  peer = find_account (a.engine, ferry_identity_get_account_id (ferry_engine_get_identity (t.engine)), 1);
  transfer = send_note (&a, peer, note);
  ferry_test_wait_until (all_subs_done, transfer, 30000, "the transfer to end");
  g_assert_cmpint (ferry_transfer_get_state (transfer), ==, FERRY_TRANSFER_STATE_FINISHED);
  g_assert_cmpuint (t.requests, ==, 1);

  device_clear (&a);
  device_clear (&s);
  device_clear (&t);
}

/* Files that are not exports (found by fuzzing: an empty file made
 * json-glib return no root, and the import a critical): a clean error. */
static void
test_import_junk (Fixture       *fixture,
                  gconstpointer  data)
{
  const char *junk[] = { "", " \n", "[]", "42", "{}", "{\"format\": 1}", "\"text\"" };
  g_autofree char *home = g_build_filename (fixture->dir, "junk-home", NULL);
  g_autofree char *path = g_build_filename (fixture->dir, "junk.json", NULL);

  for (guint i = 0; i < G_N_ELEMENTS (junk); i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_true (g_file_set_contents (path, junk[i], -1, NULL));
      g_assert_false (ferry_account_import (home, path, PASSPHRASE, &error));
      g_assert_error (error, FERRY_ERROR, FERRY_ERROR_IDENTITY);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add ("/account/export-import", Fixture, NULL, fixture_set_up, test_export_import, fixture_tear_down);
  g_test_add ("/account/import-junk", Fixture, NULL, fixture_set_up, test_import_junk, fixture_tear_down);
  g_test_add ("/account/imported-device-receives", Fixture, NULL, fixture_set_up,
              test_imported_device_receives, fixture_tear_down);
  g_test_add ("/account/revoked-device-refused", Fixture, NULL, fixture_set_up,
              test_revoked_device_refused, fixture_tear_down);
  g_test_add ("/account/revocations-full", Fixture, NULL, fixture_set_up,
              test_revocations_full, fixture_tear_down);
  g_test_add ("/account/foreign-revocation-ignored", Fixture, NULL, fixture_set_up,
              test_foreign_revocation_ignored, fixture_tear_down);

  return g_test_run ();
}
