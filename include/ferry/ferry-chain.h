/* ferry-chain.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(FERRY_INSIDE) && !defined(FERRY_COMPILATION)
# error "Only <ferry/ferry.h> can be included directly."
#endif

#include <gio/gio.h>
#include "ferry-version-macros.h"
#include "ferry-enums.h"

G_BEGIN_DECLS

#define FERRY_TYPE_CHAIN_SEGMENT (ferry_chain_segment_get_type ())

FERRY_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (FerryChainSegment, ferry_chain_segment, FERRY, CHAIN_SEGMENT, GObject)

FERRY_AVAILABLE_IN_ALL
FerryChainSegmentKind  ferry_chain_segment_get_kind      (FerryChainSegment *self);
FERRY_AVAILABLE_IN_ALL
const char            *ferry_chain_segment_get_name      (FerryChainSegment *self);
FERRY_AVAILABLE_IN_ALL
const char            *ferry_chain_segment_get_details   (FerryChainSegment *self);
FERRY_AVAILABLE_IN_ALL
const char * const    *ferry_chain_segment_get_addresses (FerryChainSegment *self);
FERRY_AVAILABLE_IN_ALL
guint64                ferry_chain_segment_get_bytes     (FerryChainSegment *self);
FERRY_AVAILABLE_IN_ALL
char                  *ferry_chain_segment_to_string     (FerryChainSegment *self);

G_END_DECLS
