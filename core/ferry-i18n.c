/* ferry-i18n.c: the library's message catalogue, bound by the library
 *
 * An application that uses Ferry has its own text domain, or none: the
 * library's messages come from the "ferry" catalogue wherever the
 * application's come from, so the library binds that catalogue itself,
 * once, before its first message can be needed (as GTK and libsoup bind
 * theirs).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "ferry-i18n-private.h"

/* Binds GETTEXT_PACKAGE to LOCALEDIR, or to $FERRY_LOCALEDIR when set (a
 * build tree's catalogues, in tests), with UTF-8 output whatever the
 * locale's charset: GLib and GTK expect UTF-8 strings. */
void
_ferry_i18n_init (void)
{
  static gsize bound = 0;

  if (g_once_init_enter (&bound))
    {
      const char *dir = g_getenv ("FERRY_LOCALEDIR");

      bindtextdomain (GETTEXT_PACKAGE, dir != NULL && *dir != '\0' ? dir : LOCALEDIR);
      bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
      g_once_init_leave (&bound, 1);
    }
}
