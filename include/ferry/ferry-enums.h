/* ferry-enums.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(FERRY_INSIDE) && !defined(FERRY_COMPILATION)
# error "Only <ferry/ferry.h> can be included directly."
#endif

#include <glib.h>

G_BEGIN_DECLS

/**
 * FerryRank:
 * @FERRY_RANK_NONE: never chosen automatically
 * @FERRY_RANK_MARGINAL: a last resort
 * @FERRY_RANK_SECONDARY: a fallback
 * @FERRY_RANK_PRIMARY: the preferred choice
 *
 * Ranks order features of the same kind: the negotiation tries transports of
 * a higher rank first. Any value in between is allowed.
 */
typedef enum {
  FERRY_RANK_NONE = 0,
  FERRY_RANK_MARGINAL = 64,
  FERRY_RANK_SECONDARY = 128,
  FERRY_RANK_PRIMARY = 256,
} FerryRank;

/**
 * FerryTransferState:
 * @FERRY_TRANSFER_STATE_CREATED: the transfer exists but nothing was sent yet
 * @FERRY_TRANSFER_STATE_AWAITING_PEER: waiting for the peer to connect and accept
 * @FERRY_TRANSFER_STATE_AWAITING_HOST: an incoming transfer waits for the local user to accept it
 * @FERRY_TRANSFER_STATE_ONGOING: data is flowing
 * @FERRY_TRANSFER_STATE_FINISHED: every file arrived and its SHA3-256 was verified
 * @FERRY_TRANSFER_STATE_CANCELLED: one side cancelled or rejected the transfer
 * @FERRY_TRANSFER_STATE_ERROR: the transfer failed; see #FerryTransfer:error
 * @FERRY_TRANSFER_STATE_UNJOINABLE_PEER: no transport could reach the peer
 * @FERRY_TRANSFER_STATE_TIMEOUT_EXPIRED: the peer did not answer the offer in time
 *
 * The life cycle of a transfer, after Jami's data transfer states.
 */
typedef enum {
  FERRY_TRANSFER_STATE_CREATED,
  FERRY_TRANSFER_STATE_AWAITING_PEER,
  FERRY_TRANSFER_STATE_AWAITING_HOST,
  FERRY_TRANSFER_STATE_ONGOING,
  FERRY_TRANSFER_STATE_FINISHED,
  FERRY_TRANSFER_STATE_CANCELLED,
  FERRY_TRANSFER_STATE_ERROR,
  FERRY_TRANSFER_STATE_UNJOINABLE_PEER,
  FERRY_TRANSFER_STATE_TIMEOUT_EXPIRED,
} FerryTransferState;

/**
 * FerryTransferDirection:
 * @FERRY_TRANSFER_DIRECTION_OUTGOING: this device sends
 * @FERRY_TRANSFER_DIRECTION_INCOMING: this device receives
 *
 * Which way the files go.
 */
typedef enum {
  FERRY_TRANSFER_DIRECTION_OUTGOING,
  FERRY_TRANSFER_DIRECTION_INCOMING,
} FerryTransferDirection;

/**
 * FerryChainSegmentKind:
 * @FERRY_CHAIN_SEGMENT_SIGNALING: the signaling that carried the offer
 *   and the answer
 * @FERRY_CHAIN_SEGMENT_TRANSPORT: the transport that carries the bytes
 * @FERRY_CHAIN_SEGMENT_CHANNEL: the secure channel over the transport
 *   (TLS 1.3)
 *
 * What a [class@Ferry.ChainSegment] of a transfer's chain is.
 */
typedef enum {
  FERRY_CHAIN_SEGMENT_SIGNALING,
  FERRY_CHAIN_SEGMENT_TRANSPORT,
  FERRY_CHAIN_SEGMENT_CHANNEL,
} FerryChainSegmentKind;

G_END_DECLS
