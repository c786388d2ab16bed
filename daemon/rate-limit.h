/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

/*
 * Token buckets, one per key (an app): @burst requests at once, refilled
 * at @per_minute a minute. Buckets that are full again are forgotten, so
 * the table holds only the callers that are busy now.
 */
typedef struct _LkRateLimiter LkRateLimiter;

LkRateLimiter *lk_rate_limiter_new (guint per_minute, guint burst);
void lk_rate_limiter_free (LkRateLimiter *limiter);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LkRateLimiter, lk_rate_limiter_free)

/*
 * Takes one request from @key's bucket at @now (monotonic µs). FALSE when
 * it is empty; then @ret_first_refusal (nullable) says whether this is the
 * first refusal since the bucket last gave, which is worth an audit event
 * where each further one is not.
 */
gboolean lk_rate_limiter_take (LkRateLimiter *limiter, const char *key, gint64 now, gboolean *ret_first_refusal);
