/* ferry-error.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ferry-error.h"

G_DEFINE_QUARK (ferry-error-quark, ferry_error)
