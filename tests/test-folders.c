/* test-folders.c: folders and texts through the session protocol, over
 * real loopback TCP, and a hostile sender writing its own headers
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "ferry-error.h"
#include "ferry-frame-private.h"
#include "ferry-history-private.h"
#include "ferry-session-private.h"
#include "ferry-session-protocol-private.h"
#include "test-utils.h"

#define TIMEOUT_SECONDS 120

static FerrySessionGroup *test_group;

static FerrySession *
test_session_new (GIOStream *stream)
{
  FerrySession *session = _ferry_session_new (stream);

  _ferry_session_set_group (session, test_group);
  return session;
}

typedef struct {
  char  *base;
  char  *src;
  char  *down;
  char  *outside;
  GFile *down_file;
} Fixture;

static void
fixture_setup (Fixture       *fx,
               gconstpointer  data)
{
  fx->base = g_dir_make_tmp ("ferry-folders-XXXXXX", NULL);
  fx->src = g_build_filename (fx->base, "src", NULL);
  fx->down = g_build_filename (fx->base, "down", NULL);
  fx->outside = g_build_filename (fx->base, "outside", NULL);
  g_mkdir (fx->src, 0700);
  g_mkdir (fx->down, 0700);
  g_mkdir (fx->outside, 0700);
  fx->down_file = g_file_new_for_path (fx->down);
  test_group = _ferry_session_group_new ();
}

static void
fixture_teardown (Fixture       *fx,
                  gconstpointer  data)
{
  /* every session thread is gone before the next test */
  g_assert_true (_ferry_session_group_wait (test_group, G_MAXINT64, NULL));
  g_clear_pointer (&test_group, _ferry_session_group_unref);
  ferry_test_remove_tree (fx->base);
  g_free (fx->base);
  g_free (fx->src);
  g_free (fx->down);
  g_free (fx->outside);
  g_object_unref (fx->down_file);
}

/* ------------------------------------------------------------------ */
/* A transfer between two sessions                                      */

typedef struct {
  gboolean  header_done;
  gboolean  receive_done;
  gboolean  send_done;
  gboolean  received;
  gboolean  sent;
  GError   *header_error;
  GError   *receive_error;
  GError   *send_error;
  GPtrArray *files;
  FerrySession *receiver;
  GFile    *directory;
} Run;

static void
send_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Run *run = user_data;

  run->sent = _ferry_session_send_finish (FERRY_SESSION (source), result, &run->send_error);
  run->send_done = TRUE;
}

static void
receive_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Run *run = user_data;

  run->received = _ferry_session_receive_finish (FERRY_SESSION (source), result, &run->receive_error);
  run->receive_done = TRUE;
}

static void
header_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Run *run = user_data;

  run->files = _ferry_session_read_header_finish (FERRY_SESSION (source), result, NULL,
                                                  &run->header_error);
  run->header_done = TRUE;
  if (run->files != NULL)
    _ferry_session_receive_async (run->receiver, run->directory, NULL, receive_cb, run);
  else
    run->receive_done = TRUE;
}

static void
run_clear (Run *run)
{
  g_clear_error (&run->header_error);
  g_clear_error (&run->receive_error);
  g_clear_error (&run->send_error);
  g_clear_pointer (&run->files, g_ptr_array_unref);
  g_clear_object (&run->receiver);
  memset (run, 0, sizeof *run);
}

/* Sends @files (and @dirs, @text) from one session to another that
 * receives into @directory. */
static void
run_transfer (Run        *run,
              GPtrArray  *files,
              GPtrArray  *dirs,
              const char *text,
              GFile      *directory)
{
  g_autoptr(GIOStream) a = NULL;
  g_autoptr(GIOStream) b = NULL;
  g_autoptr(FerrySession) sender = NULL;

  ferry_test_socket_pair (&a, &b);
  sender = test_session_new (a);
  run->receiver = test_session_new (b);
  run->directory = directory;
  _ferry_session_set_directories (sender, dirs);
  _ferry_session_set_text (sender, text);
  _ferry_session_read_header_async (run->receiver, NULL, header_cb, run);
  _ferry_session_send_async (sender, "0123456789abcdef", files, NULL, send_cb, run);
  ferry_test_wait_flag (&run->send_done, TIMEOUT_SECONDS * 1000);
  ferry_test_wait_flag (&run->receive_done, TIMEOUT_SECONDS * 1000);
}

static void
write_file (const char *path,
            const char *content,
            gsize       length)
{
  g_autofree char *dir = g_path_get_dirname (path);

  g_mkdir_with_parents (dir, 0755);
  g_assert_true (g_file_set_contents (path, content, length, NULL));
}

static FerrySessionFile *
source_file (Fixture    *fx,
             const char *dir,
             const char *name)
{
  g_autofree char *path = g_build_filename (fx->src, dir, name, NULL);
  g_autofree char *content = NULL;
  gsize length = 0;
  FerrySessionFile *file;

  g_assert_true (g_file_get_contents (path, &content, &length, NULL));
  file = _ferry_session_file_new (name, length, "application/octet-stream");
  file->source = g_file_new_for_path (path);
  file->dir = g_strdup (dir);
  return file;
}

static FerrySessionDir *
dir_new (const char *path,
         gint64      mtime)
{
  FerrySessionDir *dir = g_new0 (FerrySessionDir, 1);

  dir->path = g_strdup (path);
  dir->mtime = mtime;
  return dir;
}

static void
assert_same_file (const char *a,
                  const char *b)
{
  g_autofree char *ca = NULL;
  g_autofree char *cb = NULL;
  gsize la = 0, lb = 0;

  g_assert_true (g_file_get_contents (a, &ca, &la, NULL));
  g_assert_true (g_file_get_contents (b, &cb, &lb, NULL));
  g_assert_cmpmem (ca, la, cb, lb);
}

/* Nested and empty directories, unicode and hostile names, an
 * executable, times, and more than a thousand small files. */
static void
test_tree (Fixture       *fx,
           gconstpointer  data)
{
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func ((GDestroyNotify) _ferry_session_file_free);
  g_autoptr(GPtrArray) dirs = g_ptr_array_new_with_free_func ((GDestroyNotify) _ferry_session_dir_free);
  const char *names[] = { "a.txt", "héllo wörld ✓.txt", "-rf", "new\nline", "\u202eevil.txt" };
  g_autofree char *exe = NULL;
  g_autofree char *got = NULL;
  FerrySessionFile *script;
  Run run = { 0, };
  struct stat st;

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *path = g_build_filename (fx->src, "album/sub", names[i], NULL);

      write_file (path, names[i], strlen (names[i]));
      g_ptr_array_add (files, source_file (fx, "album/sub", names[i]));
    }
  exe = g_build_filename (fx->src, "album", "run.sh", NULL);
  write_file (exe, "#!/bin/sh\n", 10);
  script = source_file (fx, "album", "run.sh");
  script->executable = TRUE;
  script->mtime = 1577836800;  /* 2020-01-01 */
  g_ptr_array_add (files, script);
  for (guint i = 0; i < 1200; i++)
    {
      g_autofree char *dir = g_strdup_printf ("album/many/d%02u", i % 12);
      g_autofree char *name = g_strdup_printf ("f%04u", i);
      g_autofree char *path = g_build_filename (fx->src, dir, name, NULL);

      write_file (path, name, strlen (name));
      g_ptr_array_add (files, source_file (fx, dir, name));
    }
  g_ptr_array_add (dirs, dir_new ("album", 0));
  g_ptr_array_add (dirs, dir_new ("album/empty", 0));
  g_ptr_array_add (dirs, dir_new ("album/empty/deeper", 1577836800));

  run_transfer (&run, files, dirs, NULL, fx->down_file);
  g_assert_no_error (run.header_error);
  g_assert_no_error (run.receive_error);
  g_assert_no_error (run.send_error);
  g_assert_true (run.sent && run.received);

  /* control characters are sanitised like file names */
  got = g_build_filename (fx->down, "album/sub/new_line", NULL);
  g_assert_true (g_file_test (got, G_FILE_TEST_IS_REGULAR));
  g_clear_pointer (&got, g_free);
  got = g_build_filename (fx->down, "album/sub/héllo wörld ✓.txt", NULL);
  assert_same_file (got, ((FerrySessionFile *) g_ptr_array_index (files, 1))->source ?
                    g_file_peek_path (((FerrySessionFile *) g_ptr_array_index (files, 1))->source) : NULL);
  g_clear_pointer (&got, g_free);
  got = g_build_filename (fx->down, "album/run.sh", NULL);
  g_assert_cmpint (g_stat (got, &st), ==, 0);
  g_assert_true (st.st_mode & 0100);
  g_assert_cmpint (st.st_mtime, ==, 1577836800);
  g_clear_pointer (&got, g_free);
  got = g_build_filename (fx->down, "album/empty/deeper", NULL);
  g_assert_true (g_file_test (got, G_FILE_TEST_IS_DIR));
  g_assert_cmpint (g_stat (got, &st), ==, 0);
  g_assert_cmpint (st.st_mtime, ==, 1577836800);
  g_clear_pointer (&got, g_free);
  for (guint i = 0; i < 12; i++)
    {
      g_autofree char *dir = g_strdup_printf ("%s/album/many/d%02u", fx->down, i);

      g_assert_cmpuint (ferry_test_count_entries (dir), ==, 100);
    }
  /* the receiver's files tell where each one landed */
  for (guint i = 0; i < run.files->len; i++)
    {
      FerrySessionFile *sent = g_ptr_array_index (files, i);
      g_autoptr(GPtrArray) shared = g_ptr_array_ref (_ferry_session_get_files (run.receiver));
      FerrySessionFile *received = g_ptr_array_index (shared, i);

      g_assert_nonnull (received->destination);
      if (i >= G_N_ELEMENTS (names))
        assert_same_file (g_file_peek_path (sent->source), g_file_peek_path (received->destination));
    }
  run_clear (&run);

  /* the same folder again: a new top-level name, like files */
  run_transfer (&run, files, dirs, NULL, fx->down_file);
  g_assert_no_error (run.header_error);
  g_assert_no_error (run.send_error);
  g_assert_no_error (run.receive_error);
  got = g_build_filename (fx->down, "album (1)/run.sh", NULL);
  g_assert_true (g_file_test (got, G_FILE_TEST_IS_REGULAR));
  run_clear (&run);
}

/* The receiver has "album" as a link to a folder elsewhere: the folder
 * lands under a new name, nothing is written through the link. */
static void
test_symlinked_component (Fixture       *fx,
                          gconstpointer  data)
{
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func ((GDestroyNotify) _ferry_session_file_free);
  g_autofree char *link = g_build_filename (fx->down, "album", NULL);
  g_autofree char *path = g_build_filename (fx->src, "album/sub/x", NULL);
  g_autofree char *got = NULL;
  Run run = { 0, };

  g_assert_cmpint (symlink (fx->outside, link), ==, 0);
  write_file (path, "x", 1);
  g_ptr_array_add (files, source_file (fx, "album/sub", "x"));
  run_transfer (&run, files, NULL, NULL, fx->down_file);
  g_assert_no_error (run.receive_error);
  g_assert_cmpuint (ferry_test_count_entries (fx->outside), ==, 0);
  got = g_build_filename (fx->down, "album (1)/sub/x", NULL);
  g_assert_true (g_file_test (got, G_FILE_TEST_IS_REGULAR));
  run_clear (&run);
}

/* Sends @text alone: the receiver gets it whole, and no file. */
static void
check_text (Fixture    *fx,
            const char *text)
{
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func ((GDestroyNotify) _ferry_session_file_free);
  Run run = { 0, };

  run_transfer (&run, files, NULL, text, fx->down_file);
  g_assert_no_error (run.receive_error);
  g_assert_no_error (run.send_error);
  g_assert_cmpstr (_ferry_session_get_text (run.receiver), ==, text);
  g_assert_cmpuint (run.files->len, ==, 0);
  g_assert_cmpuint (ferry_test_count_entries (fx->down), ==, 0);
  run_clear (&run);
}

/* A text: accepted like files, never written. */
static void
test_text (Fixture       *fx,
           gconstpointer  data)
{
  g_autoptr(GString) text = g_string_new (NULL);

  /* more than one frame holds */
  while (text->len < 60 * 1024)
    g_string_append (text, "ünïcödé words\n\t\"quoted\" \\ ");
  check_text (fx, text->str);
}

/* An empty text is still a text: the header carries it, and the
 * receiver does not take the offer for one of nothing. */
static void
test_empty_text (Fixture       *fx,
                 gconstpointer  data)
{
  check_text (fx, "");
}

/* ------------------------------------------------------------------ */
/* A hostile sender writes its own header                               */

typedef struct {
  GOutputStream *out;
  GPtrArray     *frames;   /* char *: control frames to write */
  GSocket       *socket;
} Writer;

static gpointer
writer_thread (gpointer data)
{
  Writer *writer = data;

  for (guint i = 0; i < writer->frames->len; i++)
    {
      const char *json = g_ptr_array_index (writer->frames, i);
      gsize length = strlen (json);
      guint8 header[5] = {
        1, (guint8) (length >> 24), (guint8) (length >> 16), (guint8) (length >> 8), (guint8) length
      };

      /* the receiver may hang up early: not an error here */
      if (!g_output_stream_write_all (writer->out, header, sizeof header, NULL, NULL, NULL) ||
          !g_output_stream_write_all (writer->out, json, length, NULL, NULL, NULL))
        break;
    }
  /* the end of the stream: the receiver, done with its reject, closes */
  g_socket_shutdown (writer->socket, FALSE, TRUE, NULL);
  return NULL;
}

/* The receiver refuses the header made of @frames with a protocol error
 * and writes nothing. */
static void
assert_refused (Fixture    *fx,
                GPtrArray  *frames,
                const char *expected)
{
  g_autoptr(GIOStream) a = NULL;
  g_autoptr(GIOStream) b = NULL;
  Writer writer = { NULL, frames, NULL };
  GThread *thread;
  Run run = { 0, };

  ferry_test_socket_pair (&a, &b);
  run.receiver = test_session_new (b);
  run.directory = fx->down_file;
  writer.out = g_io_stream_get_output_stream (a);
  writer.socket = g_socket_connection_get_socket (G_SOCKET_CONNECTION (a));
  thread = g_thread_new ("hostile", writer_thread, &writer);
  _ferry_session_read_header_async (run.receiver, NULL, header_cb, &run);
  ferry_test_wait_flag (&run.receive_done, TIMEOUT_SECONDS * 1000);
  g_thread_join (thread);
  g_io_stream_close (a, NULL, NULL);

  if (run.header_error == NULL)
    g_test_message ("accepted: %.200s", (char *) g_ptr_array_index (frames, 0));
  g_assert_error (run.header_error, FERRY_ERROR, FERRY_ERROR_PROTOCOL);
  if (g_test_verbose ())
    g_test_message ("refused: %s", run.header_error->message);
  g_assert_nonnull (strstr (run.header_error->message, expected));
  g_assert_cmpuint (ferry_test_count_entries (fx->down), ==, 0);
  g_assert_cmpuint (ferry_test_count_entries (fx->outside), ==, 0);
  run_clear (&run);
}

static GPtrArray *
one_frame (const char *files,
           const char *dirs)
{
  GPtrArray *frames = g_ptr_array_new_with_free_func (g_free);

  g_ptr_array_add (frames, g_strdup_printf ("{\"type\":\"header\",\"transfer\":\"0123456789abcdef\","
                                            "\"files\":[%s],\"dirs\":[%s]}", files, dirs ? dirs : ""));
  return frames;
}

static void
refuse (Fixture    *fx,
        const char *files,
        const char *dirs,
        const char *expected)
{
  g_autoptr(GPtrArray) frames = one_frame (files, dirs);

  assert_refused (fx, frames, expected);
}

static void
test_hostile_paths (Fixture       *fx,
                    gconstpointer  data)
{
  refuse (fx, "{\"name\":\"x\",\"size\":1,\"dir\":\"../outside\"}", NULL, "unsafe path");
  refuse (fx, "{\"name\":\"x\",\"size\":1,\"dir\":\"a/../../outside\"}", NULL, "unsafe path");
  refuse (fx, "{\"name\":\"x\",\"size\":1,\"dir\":\"/tmp\"}", NULL, "unsafe path");
  refuse (fx, "{\"name\":\"x\",\"size\":1,\"dir\":\"a//b\"}", NULL, "unsafe path");
  refuse (fx, "{\"name\":\"x\",\"size\":1,\"dir\":\"a/\"}", NULL, "unsafe path");
  refuse (fx, "{\"name\":\"x\",\"size\":1,\"dir\":\"a/.\"}", NULL, "unsafe path");
  refuse (fx, "{\"name\":\"x\",\"size\":1,\"dir\":\"a\\\\..\\\\b\"}", NULL, "unsafe path");
  refuse (fx, "{\"name\":\"../x\",\"size\":1,\"dir\":\"a\"}", NULL, "invalid path");
  refuse (fx, "{\"name\":\"..\",\"size\":1,\"dir\":\"a\"}", NULL, "invalid path");
  refuse (fx, "", "{\"path\":\"../up\"}", "unsafe path");
  refuse (fx, "", "{\"path\":\"\"}", "unsafe path");
  refuse (fx, "{\"name\":\"x\",\"size\":1,\"dir\":7}", NULL, "invalid folder");
}

static void
test_hostile_tree (Fixture       *fx,
                   gconstpointer  data)
{
  g_autoptr(GString) deep = g_string_new ("a");

  /* the same path twice */
  refuse (fx, "{\"name\":\"x\",\"size\":1,\"dir\":\"a\"},{\"name\":\"x\",\"size\":2,\"dir\":\"a\"}",
          NULL, "twice");
  /* twice once sanitised */
  refuse (fx, "{\"name\":\"x.\",\"size\":1,\"dir\":\"a\"},{\"name\":\"x\",\"size\":2,\"dir\":\"a\"}",
          NULL, "twice");
  refuse (fx, "", "{\"path\":\"a/b\"},{\"path\":\"a/b\"}", "twice");
  /* a file and a directory of the same name, either way round */
  refuse (fx, "{\"name\":\"b\",\"size\":1,\"dir\":\"a\"},{\"name\":\"x\",\"size\":1,\"dir\":\"a/b\"}",
          NULL, "both named");
  refuse (fx, "{\"name\":\"b\",\"size\":1,\"dir\":\"a\"}", "{\"path\":\"a/b\"}", "both named");
  /* too deep, too long */
  for (guint i = 0; i < 64; i++)
    g_string_append (deep, "/a");
  {
    g_autofree char *files = g_strdup_printf ("{\"name\":\"x\",\"size\":1,\"dir\":\"%s\"}", deep->str);

    refuse (fx, files, NULL, "deeper than");
  }
  {
    g_autofree char *lengthy = g_strnfill (5000, 'a');
    g_autofree char *files = g_strdup_printf ("{\"name\":\"x\",\"size\":1,\"dir\":\"%s\"}", lengthy);

    refuse (fx, files, NULL, "longer than");
  }
  /* nothing at all */
  refuse (fx, "", NULL, "neither files nor");
}

/* 100,001 entries over many frames: refused before anything is made. */
static void
test_hostile_count (Fixture       *fx,
                    gconstpointer  data)
{
  g_autoptr(GPtrArray) frames = g_ptr_array_new_with_free_func (g_free);
  guint n = 0;

  while (n <= 100000)
    {
      GString *frame = g_string_new (frames->len == 0
                                     ? "{\"type\":\"header\",\"transfer\":\"0123456789abcdef\",\"more\":true,\"files\":[],\"dirs\":["
                                     : "{\"type\":\"header-more\",\"more\":true,\"files\":[],\"dirs\":[");

      for (guint i = 0; i < 1000 && n <= 100000; i++, n++)
        g_string_append_printf (frame, "%s{\"path\":\"d/%u\"}", i ? "," : "", n);
      g_string_append (frame, "]}");
      g_ptr_array_add (frames, g_string_free (frame, FALSE));
    }
  assert_refused (fx, frames, "more than 100000");
}

/* Paths of ~4 KiB, 16 to a frame, until the frames hold more than the
 * header may: refused at the frame that goes over, whatever the count. */
static void
test_hostile_bytes (Fixture       *fx,
                    gconstpointer  data)
{
  g_autoptr(GPtrArray) frames = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GString) dir = g_string_new (NULL);
  gsize total = 0;
  guint n = 0;

  for (guint i = 0; i < 19; i++)
    {
      g_autofree char *component = g_strnfill (200, 'a' + i);

      g_string_append_printf (dir, "%s%s", i ? "/" : "", component);
    }
  /* the frame that goes over the bound ends the header: without the
   * bound, the header would be taken */
  while (total <= FERRY_PROTOCOL_MAX_HEADER_BYTES)
    {
      GString *frame = g_string_new (frames->len == 0
                                     ? "{\"type\":\"header\",\"transfer\":\"0123456789abcdef\",\"files\":["
                                     : "{\"type\":\"header-more\",\"files\":[");

      for (guint i = 0; i < 16; i++, n++)
        g_string_append_printf (frame, "%s{\"name\":\"%u\",\"size\":1,\"dir\":\"%s\"}",
                                i ? "," : "", n, dir->str);
      total += frame->len + strlen ("],\"more\":true}");
      g_string_append (frame, total <= FERRY_PROTOCOL_MAX_HEADER_BYTES ? "],\"more\":true}" : "]}");
      g_assert_cmpuint (frame->len, <=, FERRY_FRAME_MAX_CONTROL);
      g_ptr_array_add (frames, g_string_free (frame, FALSE));
    }
  g_test_message ("%u entries of %" G_GSIZE_FORMAT " bytes, %" G_GSIZE_FORMAT " bytes in %u frames",
                  n, dir->len, total, frames->len);
  g_assert_cmpuint (n, <, FERRY_PROTOCOL_MAX_FILES / 10);
  assert_refused (fx, frames, "larger than 32 MiB");
}

/* What a real large folder needs: files with paths of 60 bytes, as the
 * sender builds the header. Every entry costs the same, so 10,000 of them
 * (quick under a sanitizer too) tell what 100,000 take: under two thirds
 * of the bound. */
static void
test_large_header (Fixture       *fx,
                   gconstpointer  data)
{
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func ((GDestroyNotify) _ferry_session_file_free);
  g_autoptr(GPtrArray) objects = NULL;
  g_autoptr(FerryProtocolHeader) header = NULL;
  g_autoptr(GError) error = NULL;
  guint64 total = 0;
  gsize paths = 0;

  for (guint i = 0; i < FERRY_PROTOCOL_MAX_FILES / 10; i++)
    {
      g_autofree char *name = g_strdup_printf ("IMG_20240615_%06u_HDR.jpg", i);
      FerrySessionFile *file = _ferry_session_file_new (name, 3000000, "image/jpeg");

      file->dir = g_strdup_printf ("Pictures/2024 summer trip/day %02u", i / 100);
      file->mtime = 1718400000 + i;
      paths += strlen (file->dir) + 1 + strlen (file->name);
      g_ptr_array_add (files, file);
    }
  objects = _ferry_protocol_build_header ("0123456789abcdef", files, NULL, NULL);
  for (guint i = 0; i < objects->len; i++)
    {
      g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), g_ptr_array_index (objects, i));
      g_autofree char *text = json_to_string (node, FALSE);

      total += strlen (text);
      if (i == 0)
        header = _ferry_protocol_parse_header ((const guint8 *) text, strlen (text), &error);
      else
        _ferry_protocol_parse_header_more (header, (const guint8 *) text, strlen (text), &error);
      g_assert_no_error (error);
    }
  g_test_message ("%u files, %" G_GSIZE_FORMAT " bytes of paths: header of %" G_GUINT64_FORMAT
                  " bytes in %u frames", files->len, paths, total, objects->len);
  g_assert_cmpuint (paths / files->len, >=, 60);
  g_assert_cmpuint (total * 10, <, FERRY_PROTOCOL_MAX_HEADER_BYTES / 3 * 2);
  g_assert_false (header->more);
  _ferry_protocol_header_check (header, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (header->files->len, ==, files->len);
}

/* A text longer than 64 KiB, over several frames. */
static void
test_hostile_text (Fixture       *fx,
                   gconstpointer  data)
{
  g_autoptr(GPtrArray) frames = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *piece = g_strnfill (30000, 'w');

  g_ptr_array_add (frames, g_strdup_printf ("{\"type\":\"header\",\"transfer\":\"0123456789abcdef\","
                                            "\"more\":true,\"files\":[],\"text\":\"%s\"}", piece));
  g_ptr_array_add (frames, g_strdup_printf ("{\"type\":\"header-more\",\"more\":true,\"files\":[],\"text\":\"%s\"}", piece));
  g_ptr_array_add (frames, g_strdup_printf ("{\"type\":\"header-more\",\"files\":[],\"text\":\"%s\"}", piece));
  assert_refused (fx, frames, "longer than");
  g_ptr_array_set_size (frames, 0);
  g_ptr_array_add (frames, g_strdup ("{\"type\":\"header\",\"transfer\":\"0123456789abcdef\","
                                     "\"files\":[{\"name\":\"x\",\"size\":1}],\"text\":\"and files\"}"));
  assert_refused (fx, frames, "neither files nor");
}

/* Header frames that add nothing, over and over: refused at the first. */
static void
test_hostile_empty_frames (Fixture       *fx,
                           gconstpointer  data)
{
  g_autoptr(GPtrArray) frames = g_ptr_array_new_with_free_func (g_free);

  g_ptr_array_add (frames, g_strdup ("{\"type\":\"header\",\"transfer\":\"0123456789abcdef\",\"more\":true,"
                                     "\"files\":[{\"name\":\"x\",\"size\":1}]}"));
  for (guint i = 0; i < 3; i++)
    g_ptr_array_add (frames, g_strdup ("{\"type\":\"header-more\",\"more\":true,\"files\":[],\"dirs\":[]}"));
  g_ptr_array_add (frames, g_strdup ("{\"type\":\"header-more\",\"files\":[{\"name\":\"y\",\"size\":1}]}"));
  assert_refused (fx, frames, "adds nothing");
}

/* ------------------------------------------------------------------ */
/* The history's upkeep: .part files kept in folders                    */

static void
touch (const char *base,
       const char *relative)
{
  g_autofree char *path = g_build_filename (base, relative, NULL);

  write_file (path, "0123", 4);
}

static void
make_dirs (const char *base,
           const char *relative)
{
  g_autofree char *path = g_build_filename (base, relative, NULL);

  g_assert_cmpint (g_mkdir_with_parents (path, 0755), ==, 0);
}

static gboolean
exists_in (const char *base,
           const char *relative)
{
  g_autofree char *path = g_build_filename (base, relative, NULL);

  return g_file_test (path, G_FILE_TEST_EXISTS) || g_file_test (path, G_FILE_TEST_IS_SYMLINK);
}

/* An interrupted folder transfer, 40 days old: its .part files go, in
 * folders too, and so do the folders it created once empty; nothing is
 * reached through a link, nor outside the download folder. */
static void
test_expire_parts (Fixture       *fx,
                   gconstpointer  data)
{
  g_autofree char *home = g_build_filename (fx->base, "home", NULL);
  g_autofree char *history = g_build_filename (home, "history", NULL);
  g_autofree char *record_path = g_build_filename (history, "0123456789abcdef.json", NULL);
  g_autofree char *link = g_build_filename (fx->down, "link", NULL);
  g_autofree char *record = NULL;
  g_autoptr(JsonObject) saved = NULL;
  gint64 day = 24LL * 3600 * 1000;
  gint64 now = 100 * day;

  touch (fx->down, "album/sub/a.bin.part");
  make_dirs (fx->down, "album/empty/deeper");
  touch (fx->down, "photos/2024/b.jpg.part");
  touch (fx->down, "photos/2024/c.jpg");         /* verified: stays */
  touch (fx->down, "other/z.bin.part");           /* a folder the record does not claim */
  make_dirs (fx->down, "other/empty");
  touch (fx->outside, "sub/evil.bin.part");
  touch (fx->outside, "x.bin.part");
  g_assert_cmpint (symlink (fx->outside, link), ==, 0);

  record = g_strdup_printf ("{\"id\":\"0123456789abcdef\",\"direction\":\"incoming\","
                            "\"created\":%" G_GINT64_FORMAT ",\"updated\":%" G_GINT64_FORMAT ","
                            "\"state\":\"error\",\"directory\":\"%s\","
                            "\"folders\":[\"album\",\"photos\",\"link\",\"..\",\"a/..\"],"
                            "\"files\":[{\"name\":\"a.bin\",\"size\":9,\"part\":\"album/sub/a.bin.part\"},"
                            "{\"name\":\"b.jpg\",\"size\":9,\"part\":\"photos/2024/b.jpg.part\"},"
                            "{\"name\":\"c.jpg\",\"size\":4,\"done\":\"photos/2024/c.jpg\"},"
                            "{\"name\":\"z.bin\",\"size\":9,\"part\":\"other/z.bin.part\"},"
                            "{\"name\":\"evil.bin\",\"size\":9,\"part\":\"link/sub/evil.bin.part\"},"
                            "{\"name\":\"x.bin\",\"size\":9,\"part\":\"../outside/x.bin.part\"},"
                            "{\"name\":\"y.bin\",\"size\":9,\"part\":\"album/../../outside/x.bin.part\"}]}",
                            now - 40 * day, now - 40 * day, fx->down);
  g_assert_cmpint (g_mkdir_with_parents (history, 0700), ==, 0);
  g_assert_true (g_file_set_contents (record_path, record, -1, NULL));

  _ferry_history_maintain (home, now, 0, 0, 30 * day);

  /* the .part files, in folders too */
  g_assert_false (exists_in (fx->down, "album/sub/a.bin.part"));
  g_assert_false (exists_in (fx->down, "photos/2024/b.jpg.part"));
  g_assert_false (exists_in (fx->down, "other/z.bin.part"));
  /* the folders the transfer created, once empty; a verified file and
   * its folders stay */
  g_assert_false (exists_in (fx->down, "album"));
  g_assert_true (exists_in (fx->down, "photos/2024/c.jpg"));
  /* a folder the record does not say it created stays, empty or not */
  g_assert_true (exists_in (fx->down, "other/empty"));
  /* nothing through a link, nothing outside */
  g_assert_true (exists_in (fx->down, "link"));
  g_assert_true (exists_in (fx->outside, "sub/evil.bin.part"));
  g_assert_true (exists_in (fx->outside, "x.bin.part"));
  g_assert_true (exists_in (fx->base, "outside"));

  /* and the record forgets them */
  saved = _ferry_history_load (home, "0123456789abcdef", NULL);
  g_assert_nonnull (saved);
  g_assert_false (json_object_has_member (saved, "folders"));
  for (guint i = 0; i < 7; i++)
    g_assert_false (json_object_has_member (json_array_get_object_element (json_object_get_array_member (saved, "files"), i),
                                            "part"));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/folders/tree", test_tree);
  ADD ("/folders/symlinked-component", test_symlinked_component);
  ADD ("/folders/text", test_text);
  ADD ("/folders/empty-text", test_empty_text);
  ADD ("/folders/hostile/paths", test_hostile_paths);
  ADD ("/folders/hostile/tree", test_hostile_tree);
  ADD ("/folders/hostile/count", test_hostile_count);
  ADD ("/folders/hostile/bytes", test_hostile_bytes);
  ADD ("/folders/large-header", test_large_header);
  ADD ("/folders/hostile/text", test_hostile_text);
  ADD ("/folders/hostile/empty-frames", test_hostile_empty_frames);
  ADD ("/folders/expire-parts", test_expire_parts);
#undef ADD

  return g_test_run ();
}
