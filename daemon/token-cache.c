/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "token-cache.h"
#include "tpm/secret-bytes.h"

struct _LkTokenCache {
  guint margin;
  GHashTable *tokens;   /* key → LkCachedToken */
};

void
lk_cached_token_free (LkCachedToken *token)
{
  if (token == NULL)
    return;
  g_free (token->app);
  lk_tpm_secret_string_free (token->token);
  g_free (token->token_type);
  g_free (token);
}

LkCachedToken *
lk_cached_token_copy (const LkCachedToken *token)
{
  LkCachedToken *copy = g_new0 (LkCachedToken, 1);

  copy->app = g_strdup (token->app);
  copy->token = g_strdup (token->token);
  copy->token_type = g_strdup (token->token_type);
  copy->expires_at = token->expires_at;
  return copy;
}

LkTokenCache *
lk_token_cache_new (guint margin)
{
  LkTokenCache *cache = g_new0 (LkTokenCache, 1);

  cache->margin = margin;
  cache->tokens = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) lk_cached_token_free);
  return cache;
}

void
lk_token_cache_free (LkTokenCache *cache)
{
  if (cache == NULL)
    return;
  g_hash_table_unref (cache->tokens);
  g_free (cache);
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

char *
lk_token_cache_key (const char *app, const char *const *scopes, const char *resource)
{
  g_autoptr (GPtrArray) sorted = g_ptr_array_new ();
  GString *key = g_string_new (app);

  for (gsize i = 0; scopes[i] != NULL; i++)
    g_ptr_array_add (sorted, (gpointer) scopes[i]);
  g_ptr_array_sort (sorted, compare_strings);
  /* Scope tokens and app names hold no newline: it cannot be forged into another key. */
  for (guint i = 0; i < sorted->len; i++)
    if (i == 0 || strcmp (sorted->pdata[i], sorted->pdata[i - 1]) != 0)
      g_string_append_printf (key, "\n%s", (const char *) sorted->pdata[i]);
  g_string_append_printf (key, "\n\n%s", resource ? resource : "");
  return g_string_free (key, FALSE);
}

const LkCachedToken *
lk_token_cache_lookup (LkTokenCache *cache, const char *key, gint64 now)
{
  const LkCachedToken *token = g_hash_table_lookup (cache->tokens, key);

  if (token == NULL || token->expires_at - (gint64) cache->margin <= now)
    return NULL;
  return token;
}

void
lk_token_cache_insert (LkTokenCache *cache, const char *key, LkCachedToken *token, gint64 now)
{
  GHashTableIter iter;
  LkCachedToken *old;

  g_hash_table_iter_init (&iter, cache->tokens);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &old))
    if (old->expires_at <= now)
      g_hash_table_iter_remove (&iter);
  g_hash_table_replace (cache->tokens, g_strdup (key), token);
}

const LkCachedToken *
lk_token_cache_find (LkTokenCache *cache, const char *token, gint64 now)
{
  GHashTableIter iter;
  LkCachedToken *cached;

  g_hash_table_iter_init (&iter, cache->tokens);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &cached))
    if (cached->expires_at > now && g_strcmp0 (cached->token, token) == 0)
      return cached;
  return NULL;
}

void
lk_token_cache_clear (LkTokenCache *cache)
{
  g_hash_table_remove_all (cache->tokens);
}
