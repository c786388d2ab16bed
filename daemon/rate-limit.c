/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "rate-limit.h"

typedef struct {
  double tokens;
  gint64 updated;      /* monotonic µs */
  gboolean refusing;
} Bucket;

struct _LkRateLimiter {
  double per_usec;
  double burst;
  GHashTable *buckets;   /* key → Bucket */
};

LkRateLimiter *
lk_rate_limiter_new (guint per_minute, guint burst)
{
  LkRateLimiter *limiter = g_new0 (LkRateLimiter, 1);

  limiter->per_usec = per_minute / (60.0 * G_USEC_PER_SEC);
  limiter->burst = MAX (burst, 1);
  limiter->buckets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return limiter;
}

void
lk_rate_limiter_free (LkRateLimiter *limiter)
{
  if (limiter == NULL)
    return;
  g_hash_table_unref (limiter->buckets);
  g_free (limiter);
}

/* Drops the buckets that have refilled: they would give as a new one does. */
static void
forget_full (LkRateLimiter *limiter, gint64 now)
{
  GHashTableIter iter;
  Bucket *bucket;

  g_hash_table_iter_init (&iter, limiter->buckets);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &bucket))
    if (bucket->tokens + (now - bucket->updated) * limiter->per_usec >= limiter->burst)
      g_hash_table_iter_remove (&iter);
}

gboolean
lk_rate_limiter_take (LkRateLimiter *limiter, const char *key, gint64 now, gboolean *ret_first_refusal)
{
  Bucket *bucket;

  /* Bounded by the callers busy at once, whatever the number of callers over time. */
  if (g_hash_table_size (limiter->buckets) >= 256)
    forget_full (limiter, now);
  bucket = g_hash_table_lookup (limiter->buckets, key);
  if (bucket == NULL)
    {
      bucket = g_new0 (Bucket, 1);
      bucket->tokens = limiter->burst;
      bucket->updated = now;
      g_hash_table_insert (limiter->buckets, g_strdup (key), bucket);
    }
  bucket->tokens = MIN (limiter->burst, bucket->tokens + (now - bucket->updated) * limiter->per_usec);
  bucket->updated = now;
  if (bucket->tokens < 1)
    {
      if (ret_first_refusal != NULL)
        *ret_first_refusal = !bucket->refusing;
      bucket->refusing = TRUE;
      return FALSE;
    }
  bucket->tokens -= 1;
  bucket->refusing = FALSE;
  return TRUE;
}
