/* fuzz-frame.c: session frames from a peer (core/ferry-frame.c)
 *
 * The first 5 bytes are a frame header, the rest a control payload.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ferry-frame-private.h"
#include "fuzz-common.h"

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
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) object = NULL;
  FerryFrameType type;
  guint32 length;

  if (size < FERRY_FRAME_HEADER_SIZE)
    return 0;

  if (_ferry_frame_parse_header (data, &type, &length, &error))
    g_assert (type == FERRY_FRAME_CONTROL || type == FERRY_FRAME_DATA);
  else
    g_assert (error != NULL);
  g_clear_error (&error);

  object = _ferry_frame_parse_control (data + FERRY_FRAME_HEADER_SIZE,
                                       size - FERRY_FRAME_HEADER_SIZE, &error);
  g_assert ((object == NULL) == (error != NULL));
  if (object != NULL)
    g_assert (json_object_get_string_member (object, "type") != NULL);

  return 0;
}
