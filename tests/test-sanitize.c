/* test-sanitize.c: hostile file names offered by a peer
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <glib.h>

#include "ferry-sanitize-private.h"

/* What every sanitised name must satisfy, whatever went in. */
static void
assert_safe_name (const char *name)
{
  const char *p;

  g_assert_nonnull (name);
  g_assert_cmpuint (strlen (name), >, 0);
  g_assert_cmpuint (strlen (name), <=, 200);
  g_assert_true (g_utf8_validate (name, -1, NULL));
  g_assert_null (strchr (name, '/'));
  g_assert_null (strchr (name, '\\'));
  g_assert_cmpstr (name, !=, ".");
  g_assert_cmpstr (name, !=, "..");
  g_assert_cmpint (name[0], !=, '.');
  g_assert_cmpint (name[0], !=, ' ');
  g_assert_cmpint (name[strlen (name) - 1], !=, '.');
  g_assert_cmpint (name[strlen (name) - 1], !=, ' ');

  for (p = name; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      g_assert_cmpuint (c, >=, 0x20);
      g_assert_false (c >= 0x7f && c <= 0x9f);
      g_assert_false (c >= 0x202a && c <= 0x202e);
      g_assert_false (c >= 0x2066 && c <= 0x2069);
    }
}

static void
check (const char *in,
       const char *expected)
{
  g_autofree char *out = _ferry_sanitize_filename (in);
  g_autofree char *escaped_in = in ? g_strescape (in, NULL) : g_strdup ("(null)");
  g_autofree char *escaped_out = g_strescape (out, NULL);

  g_test_message ("“%s” → “%s”", escaped_in, escaped_out);
  assert_safe_name (out);
  g_assert_cmpstr (out, ==, expected);
}

static void
test_sanitize_plain (void)
{
  check ("report.pdf", "report.pdf");
  check ("Résumé 2024.odt", "Résumé 2024.odt");
  check ("-rf", "-rf");
  check ("a b", "a b");
  check ("日本語.txt", "日本語.txt");
}

static void
test_sanitize_paths (void)
{
  check ("../../etc/passwd", "passwd");
  check ("/abs", "abs");
  check ("/etc/", "file");
  check ("a\\b", "b");
  check ("..\\..\\windows\\system32", "system32");
  check ("dir/../../x.txt", "x.txt");
  check ("..", "file");
  check (".", "file");
  check ("", "file");
  check (NULL, "file");
  check ("/", "file");
  check ("...", "file");
  check ("foo/..", "file");
}

static void
test_sanitize_dots_spaces (void)
{
  check (".hidden", "hidden");
  check ("..hidden", "hidden");
  check ("  . name . ", "name");
  check ("trailing.", "trailing");
  check ("trailing ...", "trailing");
}

static void
test_sanitize_controls (void)
{
  check ("a\nb", "a_b");
  check ("\tx", "_x");
  check ("bell\007", "bell_");
  check ("del\177", "del_");
  check ("c1\xc2\x85x", "c1_x");      /* U+0085 NEXT LINE */
  check ("c1\xc2\x9b[0m", "c1_[0m");  /* U+009B CSI */
  check ("\033[31mred", "_[31mred");
}

static void
test_sanitize_bidi (void)
{
  /* "invoice<RLO>fdp.exe" shows as "invoiceexe.pdf" */
  check ("invoice\xe2\x80\xae" "fdp.exe", "invoice_fdp.exe");
  check ("\xe2\x80\xaa" "a\xe2\x80\xac", "_a_");
  check ("x\xe2\x81\xa6y\xe2\x81\xa9", "x_y_");
  check ("x\xe2\x80\x8fy", "x_y");
}

static void
test_sanitize_invalid_utf8 (void)
{
  g_autofree char *out = _ferry_sanitize_filename ("bad\xff\xfe name\xc3.txt");

  assert_safe_name (out);
  g_assert_true (g_str_has_prefix (out, "bad"));
  g_assert_true (g_str_has_suffix (out, ".txt"));
  g_assert_nonnull (strstr (out, "\xef\xbf\xbd")); /* U+FFFD */

  g_clear_pointer (&out, g_free);
  out = _ferry_sanitize_filename ("\xc0\xaf..\xc0\xaf" "etc");
  assert_safe_name (out);
  g_assert_true (g_str_has_suffix (out, "etc"));
}

static void
test_sanitize_long (void)
{
  g_autoptr(GString) in = g_string_new (NULL);
  g_autofree char *out = NULL;
  g_autofree char *out2 = NULL;
  g_autofree char *out3 = NULL;

  /* 300 three-byte characters and a short extension */
  for (guint i = 0; i < 300; i++)
    g_string_append (in, "€");
  g_string_append (in, ".tar.gz");
  out = _ferry_sanitize_filename (in->str);
  assert_safe_name (out);
  g_assert_true (g_str_has_suffix (out, ".tar.gz"));
  g_assert_cmpuint (strlen (out), <=, 200);
  g_assert_cmpuint (strlen (out), >=, 195);
  g_assert_true (g_str_has_prefix (out, "€€€"));

  /* no extension: cut on a character boundary */
  g_string_truncate (in, 0);
  g_string_append_c (in, 'a');
  for (guint i = 0; i < 300; i++)
    g_string_append (in, "€");
  out2 = _ferry_sanitize_filename (in->str);
  assert_safe_name (out2);
  g_assert_cmpuint (strlen (out2), ==, 199);

  /* a long "extension" is not kept as one */
  g_string_truncate (in, 0);
  g_string_append (in, "x.");
  for (guint i = 0; i < 400; i++)
    g_string_append_c (in, 'y');
  out3 = _ferry_sanitize_filename (in->str);
  assert_safe_name (out3);
  g_assert_cmpuint (strlen (out3), ==, 200);
  g_assert_true (g_str_has_prefix (out3, "x.yyy"));
}

static void
test_sanitize_fuzz (void)
{
  GRand *rand = g_rand_new_with_seed (1234);

  for (guint i = 0; i < 20000; i++)
    {
      char buf[64];
      guint len = g_rand_int_range (rand, 0, sizeof buf);
      g_autofree char *out = NULL;
      g_autofree char *variant = NULL;

      for (guint j = 0; j < len; j++)
        {
          static const char alphabet[] = "./\\ ab\n\xe2\x80\xae\xff\xc3";
          buf[j] = g_rand_boolean (rand)
                   ? alphabet[g_rand_int_range (rand, 0, sizeof alphabet - 1)]
                   : (char) g_rand_int_range (rand, 1, 256);
        }
      buf[len] = '\0';

      out = _ferry_sanitize_filename (buf);
      assert_safe_name (out);
      variant = _ferry_filename_variant (out, 7);
      g_assert_true (g_utf8_validate (variant, -1, NULL));
      g_assert_null (strchr (variant, '/'));
      g_assert_cmpuint (strlen (variant), <=, 200 + 4);
    }

  g_rand_free (rand);
}

static void
check_variant (const char *name,
               guint       n,
               const char *expected)
{
  g_autofree char *out = _ferry_filename_variant (name, n);

  g_assert_cmpstr (out, ==, expected);
}

static void
test_variant (void)
{
  check_variant ("a.txt", 0, "a.txt");
  check_variant ("a.txt", 1, "a (1).txt");
  check_variant ("a.txt", 12, "a (12).txt");
  check_variant ("noext", 1, "noext (1)");
  check_variant ("archive.tar.gz", 2, "archive (2).tar.gz");
  check_variant ("photo.JPG", 1, "photo (1).JPG");
  check_variant ("report v1.2 final", 1, "report v1.2 final (1)");
  check_variant ("hidden", 3, "hidden (3)");
  check_variant ("x.", 1, "x. (1)");
  check_variant (".tar.gz", 1, ".tar (1).gz");
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/sanitize/plain", test_sanitize_plain);
  g_test_add_func ("/sanitize/paths", test_sanitize_paths);
  g_test_add_func ("/sanitize/dots-spaces", test_sanitize_dots_spaces);
  g_test_add_func ("/sanitize/controls", test_sanitize_controls);
  g_test_add_func ("/sanitize/bidi", test_sanitize_bidi);
  g_test_add_func ("/sanitize/invalid-utf8", test_sanitize_invalid_utf8);
  g_test_add_func ("/sanitize/long", test_sanitize_long);
  g_test_add_func ("/sanitize/fuzz", test_sanitize_fuzz);
  g_test_add_func ("/sanitize/variant", test_variant);

  return g_test_run ();
}
