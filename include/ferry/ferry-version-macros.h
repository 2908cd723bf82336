/* ferry-version-macros.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(FERRY_INSIDE) && !defined(FERRY_COMPILATION)
# error "Only <ferry/ferry.h> can be included directly."
#endif

#include <glib.h>

/**
 * FERRY_MAJOR_VERSION:
 *
 * The major version of the Ferry headers this code is compiled against.
 */
#define FERRY_MAJOR_VERSION 0

/**
 * FERRY_MINOR_VERSION:
 *
 * The minor version of the Ferry headers this code is compiled against.
 */
#define FERRY_MINOR_VERSION 1

/**
 * FERRY_MICRO_VERSION:
 *
 * The micro version of the Ferry headers this code is compiled against.
 */
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

/**
 * FERRY_DEPRECATED:
 *
 * Marks a symbol as deprecated: code that calls it gets a compiler
 * warning, unless it defines `FERRY_DISABLE_DEPRECATION_WARNINGS`.
 */
/**
 * FERRY_DEPRECATED_FOR:
 * @f: the symbol to use instead
 *
 * Marks a symbol as deprecated in favour of @f: code that calls it gets a
 * compiler warning naming @f, unless it defines
 * `FERRY_DISABLE_DEPRECATION_WARNINGS`.
 */
#ifdef FERRY_DISABLE_DEPRECATION_WARNINGS
# define FERRY_DEPRECATED _FERRY_EXTERN
# define FERRY_DEPRECATED_FOR(f) _FERRY_EXTERN
#else
# define FERRY_DEPRECATED G_DEPRECATED _FERRY_EXTERN
# define FERRY_DEPRECATED_FOR(f) G_DEPRECATED_FOR (f) _FERRY_EXTERN
#endif
