/* ferry-chain-private.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "ferry-chain.h"

G_BEGIN_DECLS

GPtrArray *_ferry_chain_parse             (const char        *chain,
                                           const char        *route);
char      *_ferry_chain_to_string         (GListModel        *segments);
void       _ferry_chain_segment_set_bytes (FerryChainSegment *self,
                                           guint64            bytes);
void       _ferry_chain_segment_close     (FerryChainSegment *self,
                                           guint64            bytes);
FerryChainSegment *
           _ferry_chain_segment_new_path  (const char        *text,
                                           guint64            start);
char      *_ferry_chain_add_path          (GListStore        *segments,
                                           const char        *transport,
                                           guint64            switched,
                                           guint64            bytes);

G_END_DECLS
