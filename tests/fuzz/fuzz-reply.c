/* fuzz-reply.c: the accept, end and verdict messages of a transfer, and
 * the frames that end it (core/session/ferry-session-protocol.c)
 *
 * Byte 0 picks the parser and its arguments: bits 0-1 the parser (accept,
 * end, verdict, accept again), bit 2 whether a resume is allowed, bits
 * 3-7 the number of files (accept) or the index expected (end). Byte 1
 * seeds the sizes of the files. The rest is the payload of the frame.
 * Whatever is refused must say why in text the tool can print: no
 * control character, no bidi override, a bounded length.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "ferry-error.h"
#include "ferry-frame-private.h"
#include "ferry-session-protocol-private.h"
#include "fuzz-common.h"

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  fuzz_init_logging ();
  return 0;
}

/* An error the peer caused: shown as it is to the user. */
static void
assert_printable_error (const GError *error)
{
  const char *p;

  g_assert (error != NULL);
  g_assert (error->domain == FERRY_ERROR);
  g_assert (g_utf8_validate (error->message, -1, NULL));
  /* the format, a name of ours, and at most 200 characters of the peer's */
  g_assert (g_utf8_strlen (error->message, -1) < 600);
  for (p = error->message; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      g_assert (c >= 0x20 && !(c >= 0x7f && c <= 0x9f));
      g_assert (!(c >= 0x202a && c <= 0x202e) && !(c >= 0x2066 && c <= 0x2069));
    }
}

static GBytes *
serialise (JsonObject *object)
{
  g_autoptr(JsonNode) root = json_node_init_object (json_node_alloc (), object);
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  gsize length = 0;
  char *text;

  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, &length);
  return g_bytes_new_take (text, length);
}

static void
fuzz_accept (const guint8 *payload,
             gsize         length,
             guint         n_files,
             gboolean      allow_resume,
             guint8        seed)
{
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func ((GDestroyNotify) _ferry_session_file_free);
  g_autoptr(GError) error = NULL;
  g_autofree guint64 *offsets = NULL;

  for (guint i = 0; i < n_files; i++)
    {
      /* zero, small, and beyond 2^53 (JSON numbers as doubles) */
      guint64 size = (seed >> (i % 8)) & 1 ? (G_GUINT64_CONSTANT (1) << 53) + i : (guint64) seed * i;

      g_ptr_array_add (files, _ferry_session_file_new ("f", size, "application/octet-stream"));
    }

  offsets = _ferry_protocol_parse_accept (payload, length, files, allow_resume, &error);
  if (offsets == NULL)
    {
      assert_printable_error (error);
      return;
    }
  g_assert (error == NULL);
  for (guint i = 0; i < n_files; i++)
    {
      FerrySessionFile *file = g_ptr_array_index (files, i);

      g_assert (offsets[i] <= file->size);
      g_assert (allow_resume || offsets[i] == 0);
    }

  /* the receiver's own accept says the same */
  {
    g_autoptr(JsonObject) built = _ferry_protocol_build_accept (offsets, n_files);
    g_autoptr(GBytes) wire = serialise (built);
    g_autofree guint64 *again = _ferry_protocol_parse_accept (g_bytes_get_data (wire, NULL),
                                                             g_bytes_get_size (wire),
                                                             files, allow_resume, &error);

    g_assert (again != NULL);
    for (guint i = 0; i < n_files; i++)
      g_assert (again[i] == offsets[i]);
  }
}

static void
fuzz_end (const guint8 *payload,
          gsize         length,
          guint         index)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *digest = _ferry_protocol_parse_end (payload, length, index, "f", &error);

  if (digest == NULL)
    {
      assert_printable_error (error);
      return;
    }
  g_assert (error == NULL);
  g_assert (_ferry_protocol_is_valid_digest (digest));

  {
    g_autoptr(JsonObject) built = _ferry_protocol_build_end (index, digest);
    g_autoptr(GBytes) wire = serialise (built);
    g_autofree char *again = _ferry_protocol_parse_end (g_bytes_get_data (wire, NULL),
                                                       g_bytes_get_size (wire), index, "f", &error);

    g_assert (again != NULL && g_str_equal (again, digest));
  }
}

static void
fuzz_verdict (const guint8 *payload,
              gsize         length)
{
  g_autoptr(GError) error = NULL;

  if (_ferry_protocol_parse_verdict (payload, length, &error))
    g_assert (error == NULL);
  else
    assert_printable_error (error);
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  guint selector;
  guint count;
  gboolean allow_resume;

  if (size < 2)
    return 0;
  selector = data[0] & 3;
  allow_resume = (data[0] & 4) != 0;
  count = data[0] >> 3;

  switch (selector)
    {
    case 0:
    case 3:
      fuzz_accept (data + 2, size - 2, count, allow_resume, data[1]);
      break;
    case 1:
      fuzz_end (data + 2, size - 2, count);
      break;
    default:
      fuzz_verdict (data + 2, size - 2);
      break;
    }

  /* A frame that ends the transfer, whatever it says, becomes a clean
   * error: what every reader of the session does with it. */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonObject) frame = _ferry_frame_parse_control (data + 2, size - 2, &error);

    if (frame != NULL)
      {
        _ferry_protocol_set_peer_error (frame, &error);
        assert_printable_error (error);
      }
  }
  return 0;
}
