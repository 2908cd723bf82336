/* ferry.h: the umbrella header of libferry
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#define FERRY_INSIDE
# include "ferry-version-macros.h"
# include "ferry-enums.h"
# include "ferry-enum-types.h"
# include "ferry-error.h"
# include "ferry-identity.h"
# include "ferry-plugin.h"
# include "ferry-registry.h"
# include "ferry-peer.h"
# include "ferry-chain.h"
# include "ferry-transfer.h"
# include "ferry-signaling.h"
# include "ferry-transport.h"
# include "ferry-history-record.h"
# include "ferry-engine.h"
# include "ferry-network-interface.h"
# include "ferry-plugin-context.h"
# include "ferry-account.h"
# include "ferry-account-device.h"
#undef FERRY_INSIDE
