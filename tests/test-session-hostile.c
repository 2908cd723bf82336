/* test-session-hostile.c: hostile peers against the session protocol,
 * over real loopback TCP: a sender writing hand-made frames (bad sizes,
 * hashes, names, frames and messages, cut streams) against our receiver,
 * and a receiver answering wrongly against our sender. Each case says the
 * error our side ends with, the messages the peer got and, for a hostile
 * sender, what the download folder holds afterwards.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ferry-error.h"
#include "test-session-common.h"

/* ------------------------------------------------------------------ */
/* A hostile sender, against our receiver                               */

typedef struct {
  const char *name;
  PeerScript  script;
  gboolean    header_ok;       /* read_header succeeds */
  int         code;            /* FERRY_ERROR code of the receiver, -1: success */
  const char *peer_sees;       /* messages the peer got, in order */
  const char *peer_code;       /* "code" of the last one */
  const char *listing;         /* the download folder afterwards */
} HostileCase;

static void
test_hostile_sender (Fixture       *fx,
                     gconstpointer  data)
{
  const HostileCase *hc = data;
  g_autoptr(GIOStream) ours = NULL;
  g_autoptr(GIOStream) theirs = NULL;
  g_autofree char *seen = NULL;
  g_autofree char *listing = NULL;
  g_autofree char *last_code = NULL;
  Run run = { 0 };
  Peer *peer;
  GError *error;

  run.fx = fx;
  ferry_test_socket_pair (&ours, &theirs);
  run.receiver = test_session_new (ours);
  g_signal_connect (run.receiver, "progress", G_CALLBACK (recv_progress_cb), &run);
  peer = peer_start (theirs, hc->script, hc);

  _ferry_session_read_header_async (run.receiver, NULL, hostile_header_cb, &run);
  ferry_test_wait_flag (&run.header_done, TIMEOUT_SECONDS * 1000);

  if (hc->header_ok)
    {
      g_assert_no_error (run.header_error);
      for (guint i = 0; i < run.recv_files->len; i++)
        run.total += ((FerrySessionFile *) g_ptr_array_index (run.recv_files, i))->size;
      _ferry_session_receive_async (run.receiver, fx->down_file, NULL, receive_cb, &run);
      ferry_test_wait_flag (&run.recv_done, TIMEOUT_SECONDS * 1000);
      error = run.recv_error;
    }
  else
    {
      g_assert_null (run.recv_files);
      error = run.header_error;
    }

  if (hc->code >= 0)
    {
      g_assert_nonnull (error);
      g_test_message ("receiver: %s", error->message);
      g_assert_error (error, FERRY_ERROR, hc->code);
    }
  else
    g_assert_no_error (error);

  last_code = g_strdup (peer->last_code);
  seen = peer_join (peer);
  g_assert_cmpstr (seen, ==, hc->peer_sees);
  if (hc->peer_code != NULL)
    g_assert_cmpstr (last_code, ==, hc->peer_code);

  listing = ferry_test_list_dir (fx->down);
  g_assert_cmpstr (listing, ==, hc->listing);

  run_clear (&run);
}

static void
script_hash_mismatch (Peer *peer)
{
  peer_write_control (peer, HEADER_ONE ("bad.bin", 10));
  peer_expect (peer, "accept");
  peer_write_data (peer, ten_bytes, 10);
  peer_write_control (peer, "{\"type\":\"end\",\"index\":0,\"sha3-256\":"
                      "\"0000000000000000000000000000000000000000000000000000000000000000\"}");
}

static void
script_good_then_mismatch (Peer *peer)
{
  g_autofree char *hash = sha3_hex (ten_bytes, 10);
  g_autofree char *end = g_strdup_printf ("{\"type\":\"end\",\"index\":0,\"sha3-256\":\"%s\"}", hash);

  peer_write_control (peer, "{\"type\":\"header\",\"transfer\":\"cafebabe00\",\"files\":["
                      "{\"name\":\"good\",\"size\":10},{\"name\":\"bad\",\"size\":10}]}");
  peer_expect (peer, "accept");
  peer_write_data (peer, ten_bytes, 10);
  peer_write_control (peer, end);
  peer_write_data (peer, "abcdefghij", 10);
  /* the hash of the first file, not of this one */
  g_free (end);
  end = g_strdup_printf ("{\"type\":\"end\",\"index\":1,\"sha3-256\":\"%s\"}", hash);
  peer_write_control (peer, end);
}

static void
script_too_much_data (Peer *peer)
{
  guint8 twenty[20] = { 0 };

  peer_write_control (peer, HEADER_ONE ("much.bin", 10));
  peer_expect (peer, "accept");
  peer_write_data (peer, twenty, 20);
}

static void
script_too_much_data_split (Peer *peer)
{
  peer_write_control (peer, HEADER_ONE ("much.bin", 10));
  peer_expect (peer, "accept");
  peer_write_data (peer, ten_bytes, 6);
  peer_write_data (peer, ten_bytes, 6);
}

static void
script_oversized_data_frame (Peer *peer)
{
  /* announces 2 MiB in one frame: the limit is 1 MiB */
  static const guint8 header[5] = { 2, 0x00, 0x20, 0x00, 0x00 };

  peer_write_control (peer, HEADER_ONE ("big.bin", 10000000));
  peer_expect (peer, "accept");
  peer_write_raw (peer, header, sizeof header);
  peer_write_raw (peer, ten_bytes, sizeof ten_bytes);
}

static void
script_oversized_control_frame (Peer *peer)
{
  static const guint8 header[5] = { 1, 0x7f, 0xff, 0xff, 0xff };

  peer_write_raw (peer, header, sizeof header);
  peer_write_raw (peer, "{\"type\":", 8);
}

static void
script_unknown_frame_type (Peer *peer)
{
  peer_write_frame (peer, 7, "{}", 2);
}

static void
script_malformed_json (Peer *peer)
{
  peer_write_control (peer, "{\"type\":\"header\",\"transfer\":\"cafebabe00\",\"files\":[{\"name\":");
}

static void
script_data_first (Peer *peer)
{
  peer_write_data (peer, ten_bytes, 10);
}

static void
script_header_string (const char *header,
                      Peer       *peer)
{
  peer_write_control (peer, header);
}

static void
script_bad_transfer_id (Peer *peer)
{
  script_header_string ("{\"type\":\"header\",\"transfer\":\"../etc\",\"files\":[{\"name\":\"a\",\"size\":1}]}", peer);
}

static void
script_uppercase_transfer_id (Peer *peer)
{
  script_header_string ("{\"type\":\"header\",\"transfer\":\"CAFEBABE00\",\"files\":[{\"name\":\"a\",\"size\":1}]}", peer);
}

static void
script_negative_size (Peer *peer)
{
  script_header_string (HEADER_ONE ("a", -1), peer);
}

static void
script_huge_size (Peer *peer)
{
  /* 2^50 + 1 */
  script_header_string (HEADER_ONE ("a", 1125899906842625), peer);
}

static void
script_float_size (Peer *peer)
{
  script_header_string (HEADER_ONE ("a", 1.5), peer);
}

static void
script_string_size (Peer *peer)
{
  script_header_string ("{\"type\":\"header\",\"transfer\":\"cafebabe00\",\"files\":[{\"name\":\"a\",\"size\":\"1\"}]}", peer);
}

static void
script_no_name (Peer *peer)
{
  script_header_string ("{\"type\":\"header\",\"transfer\":\"cafebabe00\",\"files\":[{\"size\":1}]}", peer);
}

static void
script_no_files (Peer *peer)
{
  script_header_string ("{\"type\":\"header\",\"transfer\":\"cafebabe00\",\"files\":[]}", peer);
}

static void
script_files_not_array (Peer *peer)
{
  script_header_string ("{\"type\":\"header\",\"transfer\":\"cafebabe00\",\"files\":{\"name\":\"a\"}}", peer);
}

static void
script_too_many_files (Peer *peer)
{
  g_autoptr(GString) header = g_string_new ("{\"type\":\"header\",\"transfer\":\"cafebabe00\",\"files\":[");

  for (guint i = 0; i < 10001; i++)
    g_string_append (header, i == 0 ? "0" : ",0");
  g_string_append (header, "]}");
  g_assert_cmpuint (header->len, <=, 65536);
  peer_write_control (peer, header->str);
}

static void
script_wrong_message (Peer *peer)
{
  script_header_string ("{\"type\":\"accept\"}", peer);
}

static void
script_cancel_instead_of_header (Peer *peer)
{
  script_header_string ("{\"type\":\"cancel\",\"reason\":\"oops\"}", peer);
}

static void
script_truncated_in_file (Peer *peer)
{
  g_autofree guint8 *chunk = g_malloc0 (100 * 1024);

  peer_write_control (peer, HEADER_ONE ("cut.bin", 1048576));
  peer_expect (peer, "accept");
  peer_write_data (peer, chunk, 100 * 1024);
  g_io_stream_close (peer->stream, NULL, NULL);
}

static void
script_truncated_in_frame (Peer *peer)
{
  static const guint8 header[5] = { 2, 0x00, 0x04, 0x00, 0x00 };
  g_autofree guint8 *chunk = g_malloc0 (1000);

  peer_write_control (peer, HEADER_ONE ("cut.bin", 1048576));
  peer_expect (peer, "accept");
  peer_write_raw (peer, header, sizeof header);
  peer_write_raw (peer, chunk, 1000);
  g_io_stream_close (peer->stream, NULL, NULL);
}

static void
script_truncated_in_header (Peer *peer)
{
  peer_write_raw (peer, "\001\000\000", 3);
  g_io_stream_close (peer->stream, NULL, NULL);
}

static void
script_no_space (Peer *peer)
{
  /* 2^50 bytes: no disk has that */
  peer_write_control (peer, HEADER_ONE ("galaxy.tar", 1125899906842624));
}

static void
script_unexpected_in_data (Peer *peer)
{
  peer_write_control (peer, HEADER_ONE ("odd.bin", 10));
  peer_expect (peer, "accept");
  peer_write_data (peer, ten_bytes, 5);
  peer_write_control (peer, "{\"type\":\"header\",\"transfer\":\"cafebabe00\",\"files\":[]}");
}

static void
script_bad_control_in_data (Peer *peer)
{
  peer_write_control (peer, HEADER_ONE ("odd.bin", 10));
  peer_expect (peer, "accept");
  peer_write_data (peer, ten_bytes, 5);
  peer_write_control (peer, "not json at all");
}

static void
script_cancel_in_data (Peer *peer)
{
  peer_write_control (peer, HEADER_ONE ("half.bin", 10));
  peer_expect (peer, "accept");
  peer_write_data (peer, ten_bytes, 5);
  peer_write_control (peer, "{\"type\":\"cancel\",\"reason\":\"bye\\u202e\\nnow\"}");
}

static void
script_end_early (Peer *peer)
{
  g_autofree char *hash = sha3_hex (ten_bytes, 5);
  g_autofree char *end = g_strdup_printf ("{\"type\":\"end\",\"index\":0,\"sha3-256\":\"%s\"}", hash);

  peer_write_control (peer, HEADER_ONE ("short.bin", 10));
  peer_expect (peer, "accept");
  peer_write_data (peer, ten_bytes, 5);
  peer_write_control (peer, end);
}

static void
script_end_wrong_index (Peer *peer)
{
  g_autofree char *hash = sha3_hex (ten_bytes, 10);
  g_autofree char *end = g_strdup_printf ("{\"type\":\"end\",\"index\":3,\"sha3-256\":\"%s\"}", hash);

  peer_write_control (peer, HEADER_ONE ("index.bin", 10));
  peer_expect (peer, "accept");
  peer_write_data (peer, ten_bytes, 10);
  peer_write_control (peer, end);
}

static void
script_end_bad_hash_format (Peer *peer)
{
  peer_write_control (peer, HEADER_ONE ("index.bin", 10));
  peer_expect (peer, "accept");
  peer_write_data (peer, ten_bytes, 10);
  peer_write_control (peer, "{\"type\":\"end\",\"index\":0,\"sha3-256\":\"../../../../etc/passwd\"}");
}

/* Names that try to escape: the files land inside, under safe names. */
static void
script_escaping_names (Peer *peer)
{
  static const char *names[] = {
    "../../escape.txt", "/etc/passwd", "..", "sub/../../x", ".hidden", "a\\\\..\\\\b",
    "\\u202egnp.exe", "ctl\\u0007z", "", "../down",
  };
  g_autofree char *hash = sha3_hex (ten_bytes, 10);
  g_autoptr(GString) header = g_string_new ("{\"type\":\"header\",\"transfer\":\"cafebabe00\",\"files\":[");

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    g_string_append_printf (header, "%s{\"name\":\"%s\",\"size\":10}", i ? "," : "", names[i]);
  g_string_append (header, "]}");

  peer_write_control (peer, header->str);
  peer_expect (peer, "accept");
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *end = g_strdup_printf ("{\"type\":\"end\",\"index\":%u,\"sha3-256\":\"%s\"}",
                                              i, hash);

      /* in pieces of 3 + 7 bytes: frames need not match buffers */
      peer_write_data (peer, ten_bytes, 3);
      peer_write_data (peer, ten_bytes + 3, 7);
      peer_write_control (peer, end);
    }
}

static const HostileCase hostile_cases[] = {
  { "hash-mismatch", script_hash_mismatch, TRUE, FERRY_ERROR_HASH_MISMATCH,
    "accept,error", "hash-mismatch", "" },
  { "good-then-mismatch", script_good_then_mismatch, TRUE, FERRY_ERROR_HASH_MISMATCH,
    "accept,error", "hash-mismatch", "good" },
  { "too-much-data", script_too_much_data, TRUE, FERRY_ERROR_PROTOCOL,
    "accept,error", "protocol", "" },
  { "too-much-data-split", script_too_much_data_split, TRUE, FERRY_ERROR_PROTOCOL,
    "accept,error", "protocol", "" },
  { "oversized-data-frame", script_oversized_data_frame, TRUE, FERRY_ERROR_PROTOCOL,
    "accept,error", "protocol", "" },
  { "oversized-control-frame", script_oversized_control_frame, FALSE, FERRY_ERROR_PROTOCOL,
    "reject", "protocol", "" },
  { "unknown-frame-type", script_unknown_frame_type, FALSE, FERRY_ERROR_PROTOCOL,
    "reject", "protocol", "" },
  { "malformed-json", script_malformed_json, FALSE, FERRY_ERROR_PROTOCOL,
    "reject", "protocol", "" },
  { "data-first", script_data_first, FALSE, FERRY_ERROR_PROTOCOL,
    "reject", "protocol", "" },
  { "bad-transfer-id", script_bad_transfer_id, FALSE, FERRY_ERROR_PROTOCOL,
    "reject", "protocol", "" },
  { "uppercase-transfer-id", script_uppercase_transfer_id, FALSE, FERRY_ERROR_PROTOCOL,
    "reject", "protocol", "" },
  { "negative-size", script_negative_size, FALSE, FERRY_ERROR_PROTOCOL,
    "reject", "protocol", "" },
  { "huge-size", script_huge_size, FALSE, FERRY_ERROR_PROTOCOL,
    "reject", "protocol", "" },
  { "float-size", script_float_size, FALSE, FERRY_ERROR_PROTOCOL,
    "reject", "protocol", "" },
  { "string-size", script_string_size, FALSE, FERRY_ERROR_PROTOCOL,
    "reject", "protocol", "" },
  { "no-name", script_no_name, FALSE, FERRY_ERROR_PROTOCOL,
    "reject", "protocol", "" },
  { "no-files", script_no_files, FALSE, FERRY_ERROR_PROTOCOL,
    "reject", "protocol", "" },
  { "files-not-array", script_files_not_array, FALSE, FERRY_ERROR_PROTOCOL,
    "reject", "protocol", "" },
  { "too-many-files", script_too_many_files, FALSE, FERRY_ERROR_PROTOCOL,
    "reject", "protocol", "" },
  { "wrong-message", script_wrong_message, FALSE, FERRY_ERROR_PROTOCOL,
    "reject", "protocol", "" },
  { "cancel-instead-of-header", script_cancel_instead_of_header, FALSE, FERRY_ERROR_CANCELLED_BY_PEER,
    "", NULL, "" },
  { "truncated-in-file", script_truncated_in_file, TRUE, FERRY_ERROR_PEER_VANISHED,
    "accept", NULL, "" },
  { "truncated-in-frame", script_truncated_in_frame, TRUE, FERRY_ERROR_PEER_VANISHED,
    "accept", NULL, "" },
  { "truncated-in-header", script_truncated_in_header, FALSE, FERRY_ERROR_PEER_VANISHED,
    "", NULL, "" },
  { "no-space", script_no_space, TRUE, FERRY_ERROR_NO_SPACE,
    "reject", "no-space", "" },
  { "unexpected-in-data", script_unexpected_in_data, TRUE, FERRY_ERROR_PROTOCOL,
    "accept,error", "protocol", "" },
  { "bad-control-in-data", script_bad_control_in_data, TRUE, FERRY_ERROR_PROTOCOL,
    "accept,error", "protocol", "" },
  { "cancel-in-data", script_cancel_in_data, TRUE, FERRY_ERROR_CANCELLED_BY_PEER,
    "accept", NULL, "" },
  { "end-early", script_end_early, TRUE, FERRY_ERROR_PROTOCOL,
    "accept,error", "protocol", "" },
  { "end-wrong-index", script_end_wrong_index, TRUE, FERRY_ERROR_PROTOCOL,
    "accept,error", "protocol", "" },
  { "end-bad-hash-format", script_end_bad_hash_format, TRUE, FERRY_ERROR_PROTOCOL,
    "accept,error", "protocol", "" },
  { "escaping-names", script_escaping_names, TRUE, -1,
    "accept,verified", NULL,
    "_gnp.exe|b|ctl_z|down|escape.txt|file|file (1)|hidden|passwd|x" },
};

/* ------------------------------------------------------------------ */
/* A hostile receiver, against our sender                               */

typedef struct {
  const char *name;
  PeerScript  script;
  int         code;            /* FERRY_ERROR code of the sender */
  const char *peer_sees;
  goffset     size;            /* of the file sent; 10 unless given */
} HostileReceiverCase;

/* Reads the data of one 10-byte file and its end. */
static void
receiver_read_file (Peer *peer)
{
  g_autofree char *data = peer_read (peer);
  g_autofree char *end = NULL;

  g_assert_cmpstr (data, ==, "data");
  end = peer_read (peer);
  g_assert_cmpstr (end, ==, "end");
}

static void
rscript_reply_garbage (Peer *peer)
{
  peer_expect (peer, "header");
  peer_write_control (peer, "{\"type\":\"verified\"}");
}

static void
rscript_reply_data (Peer *peer)
{
  peer_expect (peer, "header");
  peer_write_data (peer, ten_bytes, 10);
}

static void
rscript_resume (Peer *peer)
{
  peer_expect (peer, "header");
  peer_write_control (peer, "{\"type\":\"accept\",\"offsets\":[5]}");
}

static void
rscript_report_mismatch (Peer *peer)
{
  peer_expect (peer, "header");
  peer_write_control (peer, "{\"type\":\"accept\",\"offsets\":[0]}");
  receiver_read_file (peer);
  peer_write_control (peer, "{\"type\":\"error\",\"code\":\"hash-mismatch\",\"reason\":\"bad bits\"}");
}

static void
rscript_verified_early (Peer *peer)
{
  peer_expect (peer, "header");
  peer_write_control (peer, "{\"type\":\"accept\"}");
  peer_write_control (peer, "{\"type\":\"verified\"}");
}

static void
rscript_vanish_after_accept (Peer *peer)
{
  peer_expect (peer, "header");
  peer_write_control (peer, "{\"type\":\"accept\"}");
  receiver_read_file (peer);
  g_io_stream_close (peer->stream, NULL, NULL);
}

static void
rscript_unknown_final (Peer *peer)
{
  peer_expect (peer, "header");
  peer_write_control (peer, "{\"type\":\"accept\"}");
  receiver_read_file (peer);
  peer_write_control (peer, "{\"type\":\"party\"}");
}

static const HostileReceiverCase hostile_receiver_cases[] = {
  { "reply-garbage", rscript_reply_garbage, FERRY_ERROR_PROTOCOL, "header,cancel" },
  { "reply-data", rscript_reply_data, FERRY_ERROR_PROTOCOL, "header,cancel" },
  { "resume", rscript_resume, FERRY_ERROR_PROTOCOL, "header,cancel" },
  { "report-mismatch", rscript_report_mismatch, FERRY_ERROR_HASH_MISMATCH, "header" },
  /* a file long enough that the early "verified" comes before the end */
  { "verified-early", rscript_verified_early, FERRY_ERROR_PROTOCOL, "header,cancel", 64 * MIB },
  { "vanish-after-accept", rscript_vanish_after_accept, FERRY_ERROR_PEER_VANISHED, "header" },
  { "unknown-final", rscript_unknown_final, FERRY_ERROR_PROTOCOL, "header,cancel" },
};

static void
test_hostile_receiver (Fixture       *fx,
                       gconstpointer  data)
{
  const HostileReceiverCase *hc = data;
  g_autoptr(GIOStream) ours = NULL;
  g_autoptr(GIOStream) theirs = NULL;
  g_autoptr(GPtrArray) files = file_list ();
  g_autofree char *path = g_build_filename (fx->src, "ten", NULL);
  g_autofree char *seen = NULL;
  Run run = { 0 };
  Peer *peer;

  if (hc->size > 0)
    write_sparse_file (path, hc->size);
  else
    g_assert_true (g_file_set_contents (path, (const char *) ten_bytes, 10, NULL));
  g_ptr_array_add (files, source_file (fx, "ten"));

  ferry_test_socket_pair (&ours, &theirs);
  run.sender = test_session_new (ours);
  peer = peer_start (theirs, hc->script, hc);

  _ferry_session_send_async (run.sender, "0123456789abcdef", files, NULL, send_cb, &run);
  ferry_test_wait_flag (&run.send_done, TIMEOUT_SECONDS * 1000);

  g_assert_nonnull (run.send_error);
  g_test_message ("sender: %s", run.send_error->message);
  g_assert_error (run.send_error, FERRY_ERROR, hc->code);

  seen = peer_join (peer);
  g_assert_cmpstr (seen, ==, hc->peer_sees);

  run_clear (&run);
}

int
main (int    argc,
      char **argv)
{
  session_test_init (&argc, &argv);

  for (gsize i = 0; i < G_N_ELEMENTS (hostile_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/session/hostile-sender/%s", hostile_cases[i].name);

      session_test_add (path, test_hostile_sender, &hostile_cases[i]);
    }

  for (gsize i = 0; i < G_N_ELEMENTS (hostile_receiver_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/session/hostile-receiver/%s",
                                               hostile_receiver_cases[i].name);

      session_test_add (path, test_hostile_receiver, &hostile_receiver_cases[i]);
    }

  return g_test_run ();
}
