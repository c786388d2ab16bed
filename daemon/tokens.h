/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "app-policy.h"
#include "authz.h"
#include "grant-keeper.h"
#include "token-cache.h"

/*
 * Tokens for local apps. A caller is matched to its app's policy by what
 * the bus says of it (uid, systemd unit); it gets tokens for a subset of
 * the scopes and resources the policy allows, obtained from the owner's
 * refresh token asking for just that subset (RFC 6749 §6, RFC 8707), so
 * that a leaked app token is worth only that app's rights. Tokens are
 * cached per (app, scopes, resource) in memory; identical requests made
 * at once share one request to the server. Every issuance and denial is
 * an audit event; no token ever is.
 */

typedef struct _LkTokens LkTokens;

typedef struct {
  const char *policy_dir;     /* apps.d */
  guint cache_margin;         /* seconds before expiry a cached token is no longer served */
  guint rate_per_minute;      /* per app */
  guint rate_burst;
} LkTokensConfig;

/* @keystore signs the apps' DPoP proofs; it is kept. */
LkTokens *lk_tokens_new (const LkTokensConfig *config, LkKeystore *keystore);
LkTokens *lk_tokens_ref (LkTokens *tokens);
void lk_tokens_unref (LkTokens *tokens);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LkTokens, lk_tokens_unref)

/*
 * (Re)reads the policy directory. A broken policy file is reported in
 * @ret_problems (GErrors naming the file) and ignored; the valid ones
 * apply. @ret_count: how many apps have a policy now.
 */
gboolean lk_tokens_reload (LkTokens *tokens, guint *ret_count, GPtrArray **ret_problems, GError **error);

/* Where tokens come from: the owner's grant, or NULL when not paired (the cache is then wiped). */
void lk_tokens_set_keeper (LkTokens *tokens, LkGrantKeeper *keeper);

/*
 * A token for @caller with @scopes (non-empty, NULL-terminated) and
 * @resource (nullable). Fails with LK_ERROR_ACCESS_DENIED (no policy, or a
 * scope or resource it does not allow, named), LK_ERROR_RATE_LIMITED,
 * LK_ERROR_NOT_PAIRED, or what the server said.
 */
void lk_tokens_get_async (LkTokens *tokens,
                          const LkCaller *caller,
                          const char *const *scopes,
                          const char *resource,
                          GAsyncReadyCallback callback,
                          gpointer user_data);
LkCachedToken *lk_tokens_get_finish (GAsyncResult *result, GError **error);

/*
 * A DPoP proof (RFC 9449) for @caller's request @method @url with
 * @access_token, which must be one its app was given and still valid;
 * with the resource server's @nonce (nullable) when it asked for one.
 */
char *lk_tokens_create_proof (LkTokens *tokens,
                              const LkCaller *caller,
                              const char *method,
                              const char *url,
                              const char *access_token,
                              const char *nonce,
                              GError **error);

/* The app policy in force for @caller; NULL when none matches. */
const LkAppPolicy *lk_tokens_match_policy (LkTokens *tokens, const LkCaller *caller);
