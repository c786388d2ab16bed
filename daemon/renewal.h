/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

/*
 * When to renew, and when to try again: pure arithmetic, so that the
 * schedule is tested apart from the network.
 */

/*
 * When a certificate valid from @not_before to @not_after is renewed:
 * @percent of its lifetime, plus a random part of up to @jitter_percent of
 * it so that a fleet enrolled at once does not renew at once; never later
 * than 95% of the lifetime, so that failures have time to be retried.
 */
gint64 lk_renewal_time (gint64 not_before, gint64 not_after, guint percent, guint jitter_percent);

/* The wait before retry number @failures (1 for the first): @first doubling, capped at @max. */
guint lk_renewal_backoff (guint failures, guint first, guint max);
