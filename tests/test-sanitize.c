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
  g_assert_false (g_str_has_suffix (name, ".part"));

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

/* ".part" marks the receiver's unfinished files: no received name ends so. */
static void
test_sanitize_part_suffix (void)
{
  check ("x.part", "x_part");
  check ("a.part.part", "a.part_part");
  check ("dir/x.part", "x_part");
  check (".part", "part");
  check ("x.part.", "x_part");
  check ("x.partial", "x.partial");
  check ("x.part1.rar", "x.part1.rar");
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

/* Display names from peers: bounded, printable, never empty. */
static void
check_name (const char *in,
            const char *expected)
{
  g_autofree char *out = _ferry_sanitize_display_name (in, -1);

  g_assert_cmpstr (out, ==, expected);
}

static void
test_display_name (void)
{
  g_autoptr(GString) long_name = g_string_new (NULL);
  g_autofree char *out = NULL;
  const char *p;
  guint chars = 0;

  check_name ("Alice's laptop", "Alice's laptop");
  check_name ("  Ünïcödé  名前 🙂 ", "Ünïcödé 名前 🙂");
  /* Terminal escapes: ESC, BEL and CSI lose their control bytes. */
  check_name ("\033]0;pwned\007\033[2J\033[31mBob", "]0;pwned[2J[31mBob");
  check_name ("a\xc2\x9b" "31mb", "a31mb");                  /* C1 CSI */
  check_name ("x\x7fy", "xy");                                 /* DEL */
  check_name ("evil\xe2\x80\xaegnp.exe", "evilgnp.exe");     /* RLO */
  check_name ("a\xe2\x81\xa6" "b\xe2\x81\xa9" "c", "abc");     /* LRI, PDI */
  check_name ("zero\xe2\x80\x8bwidth", "zerowidth");         /* ZWSP */
  check_name ("line\none\r\n\ttwo", "line one two");
  check_name ("para\xe2\x80\xa9graph", "para graph");
  check_name ("bad\xff\xfeutf8", "bad\xef\xbf\xbd\xef\xbf\xbdutf8");
  check_name ("", NULL);
  check_name ("   \t\n ", NULL);
  check_name ("\033\007\x7f\xe2\x80\xae", NULL);
  g_assert_null (_ferry_sanitize_display_name (NULL, -1));

  /* 40 KB of name: at most 64 characters and 256 bytes come out. */
  for (guint i = 0; i < 10000; i++)
    g_string_append (long_name, "\xf0\x9f\x98\x80");
  out = _ferry_sanitize_display_name (long_name->str, -1);
  g_assert_nonnull (out);
  g_assert_true (g_utf8_validate (out, -1, NULL));
  for (p = out; *p != '\0'; p = g_utf8_next_char (p))
    chars++;
  g_assert_cmpuint (chars, ==, FERRY_DISPLAY_NAME_MAX_CHARS);
  g_assert_cmpuint (strlen (out), <=, FERRY_DISPLAY_NAME_MAX_BYTES);
  g_clear_pointer (&out, g_free);

  g_string_assign (long_name, "");
  for (guint i = 0; i < 200; i++)
    g_string_append (long_name, "a\xcc\x81\xcc\x81\xcc\x81");   /* combining marks */
  out = _ferry_sanitize_display_name (long_name->str, -1);
  g_assert_cmpuint (strlen (out), <=, FERRY_DISPLAY_NAME_MAX_BYTES);
  g_assert_true (g_utf8_validate (out, -1, NULL));
  g_assert_cmpuint (g_utf8_strlen (out, -1), <=, FERRY_DISPLAY_NAME_MAX_CHARS);
}

/* Random bytes: whatever comes out is bounded and printable. */
static void
test_display_name_fuzz (void)
{
  GRand *rand = g_rand_new_with_seed (12);

  for (guint round = 0; round < 2000; round++)
    {
      guint8 raw[512];
      guint len = g_rand_int_range (rand, 0, sizeof raw);
      g_autofree char *out = NULL;

      for (guint i = 0; i < len; i++)
        raw[i] = (guint8) g_rand_int_range (rand, 0, 256);
      out = _ferry_sanitize_display_name ((const char *) raw, len);
      if (out == NULL)
        continue;
      g_assert_true (g_utf8_validate (out, -1, NULL));
      g_assert_cmpuint (strlen (out), <=, FERRY_DISPLAY_NAME_MAX_BYTES);
      g_assert_cmpuint (g_utf8_strlen (out, -1), <=, FERRY_DISPLAY_NAME_MAX_CHARS);
      g_assert_cmpint (out[0], !=, ' ');
      g_assert_cmpint (out[strlen (out) - 1], !=, ' ');
      for (const char *p = out; *p != '\0'; p = g_utf8_next_char (p))
        {
          gunichar c = g_utf8_get_char (p);

          g_assert_cmpuint (c, >=, 0x20);
          g_assert_false (c >= 0x7f && c <= 0x9f);
          g_assert_false (c >= 0x202a && c <= 0x202e);
          g_assert_false (c >= 0x2066 && c <= 0x2069);
        }
    }
  g_rand_free (rand);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/sanitize/plain", test_sanitize_plain);
  g_test_add_func ("/sanitize/paths", test_sanitize_paths);
  g_test_add_func ("/sanitize/dots-spaces", test_sanitize_dots_spaces);
  g_test_add_func ("/sanitize/part-suffix", test_sanitize_part_suffix);
  g_test_add_func ("/sanitize/controls", test_sanitize_controls);
  g_test_add_func ("/sanitize/bidi", test_sanitize_bidi);
  g_test_add_func ("/sanitize/invalid-utf8", test_sanitize_invalid_utf8);
  g_test_add_func ("/sanitize/long", test_sanitize_long);
  g_test_add_func ("/sanitize/fuzz", test_sanitize_fuzz);
  g_test_add_func ("/sanitize/variant", test_variant);
  g_test_add_func ("/sanitize/display-name", test_display_name);
  g_test_add_func ("/sanitize/display-name-fuzz", test_display_name_fuzz);

  return g_test_run ();
}
