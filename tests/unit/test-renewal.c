/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* When certificates are renewed and failures retried: the arithmetic alone. */
#include "config.h"

#include "renewal.h"

static void
test_time (void)
{
  /* Two thirds of a 3000 s lifetime, without jitter. */
  g_assert_cmpint (lk_renewal_time (1000, 4000, 67, 0), ==, 1000 + 2010);
  /* Jitter adds up to its share of the lifetime, never more. */
  for (guint i = 0; i < 1000; i++)
    {
      gint64 at = lk_renewal_time (0, 10000, 50, 10);

      g_assert_cmpint (at, >=, 5000);
      g_assert_cmpint (at, <=, 6000);
    }
  /* Never later than 95% of the lifetime, whatever the configuration. */
  g_assert_cmpint (lk_renewal_time (0, 10000, 90, 20), <=, 9500);
  g_assert_cmpint (lk_renewal_time (0, 100, 90, 0), ==, 90);
  /* A certificate already past its end is renewed at once. */
  g_assert_cmpint (lk_renewal_time (500, 400, 67, 5), ==, 500);
}

static void
test_backoff (void)
{
  g_assert_cmpuint (lk_renewal_backoff (1, 30, 3600), ==, 30);
  g_assert_cmpuint (lk_renewal_backoff (2, 30, 3600), ==, 60);
  g_assert_cmpuint (lk_renewal_backoff (5, 30, 3600), ==, 480);
  g_assert_cmpuint (lk_renewal_backoff (8, 30, 3600), ==, 3600);
  g_assert_cmpuint (lk_renewal_backoff (1000, 30, 3600), ==, 3600);
  g_assert_cmpuint (lk_renewal_backoff (3, 1, 2), ==, 2);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/renewal/time", test_time);
  g_test_add_func ("/renewal/backoff", test_backoff);
  return g_test_run ();
}
