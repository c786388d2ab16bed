/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

/*
 * The apps' access tokens, in memory only: one per (app, scopes,
 * resource), served until a margin before it expires, wiped (zeroed) when
 * dropped. Never written anywhere.
 */

typedef struct {
  char *app;           /* the policy it was issued under */
  char *token;         /* secret */
  char *token_type;    /* "Bearer" or "DPoP" */
  gint64 expires_at;   /* unix seconds */
} LkCachedToken;

void lk_cached_token_free (LkCachedToken *token);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LkCachedToken, lk_cached_token_free)
LkCachedToken *lk_cached_token_copy (const LkCachedToken *token);

typedef struct _LkTokenCache LkTokenCache;

/* Tokens are served until @margin seconds before they expire. */
LkTokenCache *lk_token_cache_new (guint margin);
void lk_token_cache_free (LkTokenCache *cache);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LkTokenCache, lk_token_cache_free)

/* The key of a request: @scopes sorted and without repeats, so that their order does not matter. */
char *lk_token_cache_key (const char *app, const char *const *scopes, const char *resource);

/* The token for @key, if it is good for more than the margin at @now (unix seconds). */
const LkCachedToken *lk_token_cache_lookup (LkTokenCache *cache, const char *key, gint64 now);

/* Keeps @token (taken) for @key, dropping what has expired. */
void lk_token_cache_insert (LkTokenCache *cache, const char *key, LkCachedToken *token, gint64 now);

/* The unexpired token whose value is @token, whichever its key: for proofs of tokens an app holds. */
const LkCachedToken *lk_token_cache_find (LkTokenCache *cache, const char *token, gint64 now);

/* Forgets every token: the grant they came from is gone. */
void lk_token_cache_clear (LkTokenCache *cache);
