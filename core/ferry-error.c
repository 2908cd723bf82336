/* ferry-error.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ferry-error.h"
#include "ferry-i18n-private.h"

/* Every error of the library is in this domain: the catalogue of its
 * messages is bound on the way (ferry-i18n.c). */
GQuark
ferry_error_quark (void)
{
  _ferry_i18n_init ();
  return g_quark_from_static_string ("ferry-error-quark");
}
