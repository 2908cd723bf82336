/* ferry-error.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(FERRY_INSIDE) && !defined(FERRY_COMPILATION)
# error "Only <ferry/ferry.h> can be included directly."
#endif

#include <glib.h>
#include "ferry-version-macros.h"

G_BEGIN_DECLS

/**
 * FERRY_ERROR:
 *
 * The error domain of Ferry.
 */
#define FERRY_ERROR (ferry_error_quark ())

/**
 * FerryError:
 * @FERRY_ERROR_FAILED: a generic failure
 * @FERRY_ERROR_NOT_A_PLUGIN: a module could not be opened as a plugin
 * @FERRY_ERROR_PLUGIN_ENTRY: a module has no plugin descriptor entry point
 * @FERRY_ERROR_PLUGIN_ABI: a plugin was built for an incompatible ABI
 * @FERRY_ERROR_PLUGIN_DUPLICATE: a plugin with the same name is already loaded
 * @FERRY_ERROR_PLUGIN_INIT: a plugin failed to register its features
 * @FERRY_ERROR_IDENTITY: the identity could not be created or loaded
 * @FERRY_ERROR_PEER_UNTRUSTED: the peer's certificate is not the expected device
 * @FERRY_ERROR_PEER_NOT_FOUND: no device matches the requested peer
 * @FERRY_ERROR_PEER_AMBIGUOUS: several peers match the requested name or prefix
 * @FERRY_ERROR_PROTOCOL: the peer sent something that breaks the protocol
 * @FERRY_ERROR_REJECTED: the peer rejected the transfer
 * @FERRY_ERROR_CANCELLED_BY_PEER: the peer cancelled the transfer
 * @FERRY_ERROR_HASH_MISMATCH: a received file does not match its SHA3-256
 * @FERRY_ERROR_NO_SPACE: not enough free space in the download folder
 * @FERRY_ERROR_TIMEOUT: the peer did not answer in time
 * @FERRY_ERROR_NO_TRANSPORT: no transport could connect to the peer
 * @FERRY_ERROR_PEER_VANISHED: the connection to the peer was lost
 * @FERRY_ERROR_BAD_MESSAGE: a signaling message was malformed, unsigned, replayed or stale
 * @FERRY_ERROR_CONFIG: the configuration is invalid
 *
 * Error codes in the %FERRY_ERROR domain.
 */
typedef enum {
  FERRY_ERROR_FAILED,
  FERRY_ERROR_NOT_A_PLUGIN,
  FERRY_ERROR_PLUGIN_ENTRY,
  FERRY_ERROR_PLUGIN_ABI,
  FERRY_ERROR_PLUGIN_DUPLICATE,
  FERRY_ERROR_PLUGIN_INIT,
  FERRY_ERROR_IDENTITY,
  FERRY_ERROR_PEER_UNTRUSTED,
  FERRY_ERROR_PEER_NOT_FOUND,
  FERRY_ERROR_PEER_AMBIGUOUS,
  FERRY_ERROR_PROTOCOL,
  FERRY_ERROR_REJECTED,
  FERRY_ERROR_CANCELLED_BY_PEER,
  FERRY_ERROR_HASH_MISMATCH,
  FERRY_ERROR_NO_SPACE,
  FERRY_ERROR_TIMEOUT,
  FERRY_ERROR_NO_TRANSPORT,
  FERRY_ERROR_PEER_VANISHED,
  FERRY_ERROR_BAD_MESSAGE,
  FERRY_ERROR_CONFIG,
} FerryError;

/**
 * ferry_error_quark:
 *
 * The error domain of Ferry; use %FERRY_ERROR.
 *
 * Returns: the #GQuark of the domain
 */
FERRY_AVAILABLE_IN_ALL
GQuark ferry_error_quark (void);

G_END_DECLS
