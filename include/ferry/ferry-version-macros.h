/* ferry-version-macros.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(FERRY_INSIDE) && !defined(FERRY_COMPILATION)
# error "Only <ferry/ferry.h> can be included directly."
#endif

#include <glib.h>

#define FERRY_MAJOR_VERSION 0
#define FERRY_MINOR_VERSION 1
#define FERRY_MICRO_VERSION 0

#ifndef _FERRY_EXTERN
# define _FERRY_EXTERN __attribute__((visibility("default"))) extern
#endif

/**
 * FERRY_AVAILABLE_IN_ALL:
 *
 * Marks a symbol as part of the public API since the first release.
 */
#define FERRY_AVAILABLE_IN_ALL _FERRY_EXTERN
