/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "renewal.h"

gint64
lk_renewal_time (gint64 not_before, gint64 not_after, guint percent, guint jitter_percent)
{
  gint64 lifetime = MAX (not_after - not_before, 0);
  gint64 jitter = lifetime * jitter_percent / 100;
  gint64 at = not_before + lifetime * percent / 100;

  if (jitter > 0)
    at += (gint64) (g_random_double () * (double) jitter);
  return MIN (at, not_before + lifetime * 95 / 100);
}

guint
lk_renewal_backoff (guint failures, guint first, guint max)
{
  guint64 delay = first;

  for (guint i = 1; i < failures && delay < max; i++)
    delay *= 2;
  return (guint) MIN (delay, (guint64) max);
}
