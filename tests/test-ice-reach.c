/* test-ice-reach.c: what the candidates say a direct pair can do
 *
 * The judgement that lets a relayed attempt skip its grace when a direct
 * pair cannot connect (plugins/nice-common/ferry-nice-reach.c), on
 * candidates made up for each case.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ferry-nice-core-private.h"

/* The library wants it from the plugin that links it. */
const char ferry_nice_type_prefix[] = "Test";

static GSList *
candidates (const char *first,
            ...)
{
  GSList *list = NULL;
  va_list args;

  /* Pairs of type ('h'ost, 's'rflx, 'r'elay) and address. */
  va_start (args, first);
  for (const char *type = first; type != NULL; type = va_arg (args, const char *))
    {
      const char *address = va_arg (args, const char *);
      NiceCandidate *candidate = nice_candidate_new (type[0] == 'h' ? NICE_CANDIDATE_TYPE_HOST
                                                     : type[0] == 's' ? NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE
                                                     : NICE_CANDIDATE_TYPE_RELAYED);

      g_assert_true (nice_address_set_from_string (&candidate->addr, address));
      list = g_slist_append (list, candidate);
    }
  va_end (args);
  return list;
}

static GPtrArray *
networks (const char *first,
          ...)
{
  GPtrArray *array = g_ptr_array_new_with_free_func (g_object_unref);
  va_list args;

  va_start (args, first);
  for (const char *text = first; text != NULL; text = va_arg (args, const char *))
    {
      GInetAddressMask *mask = g_inet_address_mask_new_from_string (text, NULL);

      g_assert_nonnull (mask);
      g_ptr_array_add (array, mask);
    }
  va_end (args);
  return array;
}

static gboolean
possible (GPtrArray *nets,
          GSList    *local,
          GSList    *remote)
{
  gboolean result = _ferry_nice_direct_possible (nets, local, remote);

  _ferry_nice_free_candidates (local);
  _ferry_nice_free_candidates (remote);
  return result;
}

static void
test_direct_possible (void)
{
  g_autoptr(GPtrArray) nets = networks ("10.0.0.0/8", "127.0.0.0/8", "fe80::/64", NULL);

  /* Private host addresses elsewhere on both sides: no way through. */
  g_assert_false (possible (nets, candidates ("h", "10.1.2.3", NULL),
                            candidates ("h", "192.168.7.5", "h", "100.64.1.1", "h", "fd00::5", NULL)));
  /* A reflexive or relayed candidate: a mapping to punch, a relay. */
  g_assert_true (possible (nets, candidates ("h", "10.1.2.3", NULL),
                           candidates ("h", "192.168.7.5", "s", "203.0.113.9", NULL)));
  g_assert_true (possible (nets, candidates ("h", "10.1.2.3", NULL),
                           candidates ("r", "203.0.113.9", NULL)));
  /* The peer on one of our networks, or public. */
  g_assert_true (possible (nets, candidates ("h", "10.1.2.3", NULL),
                           candidates ("h", "192.168.7.5", "h", "10.9.9.9", NULL)));
  g_assert_true (possible (nets, candidates ("h", "10.1.2.3", NULL),
                           candidates ("h", "198.51.100.7", NULL)));
  g_assert_true (possible (nets, candidates ("h", "10.1.2.3", NULL),
                           candidates ("h", "127.0.0.1", NULL)));
  /* We are public: the peer may reach us. */
  g_assert_true (possible (nets, candidates ("h", "10.1.2.3", "h", "198.51.100.1", NULL),
                           candidates ("h", "192.168.7.5", NULL)));
  /* Nothing to judge by. */
  g_assert_true (possible (nets, candidates ("h", "10.1.2.3", NULL), NULL));
}

static void
test_private (void)
{
  const struct { const char *address; gboolean private; } cases[] = {
    { "10.0.0.1", TRUE }, { "172.16.0.1", TRUE }, { "172.32.0.1", FALSE },
    { "192.168.1.1", TRUE }, { "100.64.0.1", TRUE }, { "100.128.0.1", FALSE },
    { "169.254.1.1", TRUE }, { "127.0.0.1", TRUE }, { "8.8.8.8", FALSE },
    { "fd12::1", TRUE }, { "fe80::1", TRUE }, { "::1", TRUE }, { "2001:db8::1", FALSE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GInetAddress) address = g_inet_address_new_from_string (cases[i].address);

      g_test_message ("%s", cases[i].address);
      g_assert_cmpint (_ferry_nice_address_is_private (address), ==, cases[i].private);
    }
}

static void
test_local_networks (void)
{
  g_autoptr(GPtrArray) nets = _ferry_nice_local_networks ();
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  gboolean found = FALSE;

  /* The loopback interface, with its /8. */
  for (guint i = 0; i < nets->len; i++)
    found |= g_inet_address_mask_matches (g_ptr_array_index (nets, i), lo) &&
             g_inet_address_mask_get_length (g_ptr_array_index (nets, i)) == 8;
  g_assert_true (found);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/ice-reach/direct-possible", test_direct_possible);
  g_test_add_func ("/ice-reach/private", test_private);
  g_test_add_func ("/ice-reach/local-networks", test_local_networks);

  return g_test_run ();
}
