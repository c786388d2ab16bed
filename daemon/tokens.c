/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "app-policy.h"
#include "dpop.h"
#include "error.h"
#include "log.h"
#include "message-ids.h"
#include "rate-limit.h"
#include "tokens.h"

/* A server that does not say how long a token lives: it is served for this long, no longer. */
#define UNKNOWN_LIFETIME_SECONDS 300

struct _LkTokens {
  gatomicrefcount ref_count;
  char *policy_dir;
  LkAppPolicies *policies;
  LkTokenCache *cache;
  LkRateLimiter *limiter;
  guint rate_per_minute;
  LkKeystore *keystore;
  LkGrantKeeper *keeper;
  guint generation;         /* of the keeper: tokens of an older one are not kept */
  GHashTable *in_flight;    /* cache key → GPtrArray of GTasks waiting for the same request */
};

/* What one upstream request is for; the policy may be reloaded meanwhile. */
typedef struct {
  LkTokens *tokens;
  char *key;
  char *app;
  char *scope;
  char *resource;
  char *who;
  gboolean require_dpop;
  guint generation;
} Request;

static void
request_free (Request *request)
{
  lk_tokens_unref (request->tokens);
  g_free (request->key);
  g_free (request->app);
  g_free (request->scope);
  g_free (request->resource);
  g_free (request->who);
  g_free (request);
}

static gint64
now_seconds (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

/* How audit events name a caller. */
static char *
describe_caller (const LkCaller *caller)
{
  return g_strdup_printf ("uid %u pid %d unit %s", (unsigned) caller->uid, (int) caller->pid,
                          caller->unit ? caller->unit : "-");
}

static void
deny (GTask *task, const LkCaller *caller, LkError code, const char *format, ...) G_GNUC_PRINTF (4, 5);

/* Fails @task with @code and logs the denial as an audit event. */
static void
deny (GTask *task, const LkCaller *caller, LkError code, const char *format, ...)
{
  g_autofree char *who = describe_caller (caller);
  g_autofree char *reason = NULL;
  va_list args;

  va_start (args, format);
  reason = g_strdup_vprintf (format, args);
  va_end (args);
  lk_event (G_LOG_LEVEL_WARNING, "tokens", code == LK_ERROR_RATE_LIMITED ? LK_MESSAGE_TOKEN_RATE_LIMITED
                                                                        : LK_MESSAGE_TOKEN_DENIED,
            "token refused to %s: %s", who, reason);
  g_task_return_new_error (task, LK_ERROR, code, "%s", reason);
}

LkTokens *
lk_tokens_new (const LkTokensConfig *config, LkKeystore *keystore)
{
  LkTokens *tokens = g_new0 (LkTokens, 1);

  g_atomic_ref_count_init (&tokens->ref_count);
  tokens->policy_dir = g_strdup (config->policy_dir);
  tokens->cache = lk_token_cache_new (config->cache_margin);
  tokens->limiter = lk_rate_limiter_new (config->rate_per_minute, config->rate_burst);
  tokens->rate_per_minute = config->rate_per_minute;
  tokens->keystore = lk_keystore_ref (keystore);
  tokens->in_flight = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_ptr_array_unref);
  return tokens;
}

LkTokens *
lk_tokens_ref (LkTokens *tokens)
{
  g_atomic_ref_count_inc (&tokens->ref_count);
  return tokens;
}

void
lk_tokens_unref (LkTokens *tokens)
{
  if (tokens == NULL || !g_atomic_ref_count_dec (&tokens->ref_count))
    return;
  lk_tokens_set_keeper (tokens, NULL);
  g_hash_table_unref (tokens->in_flight);
  lk_app_policies_free (tokens->policies);
  lk_token_cache_free (tokens->cache);
  lk_rate_limiter_free (tokens->limiter);
  lk_keystore_unref (tokens->keystore);
  g_free (tokens->policy_dir);
  g_free (tokens);
}

gboolean
lk_tokens_reload (LkTokens *tokens, guint *ret_count, GPtrArray **ret_problems, GError **error)
{
  g_autoptr (GPtrArray) problems = NULL;
  LkAppPolicies *policies = lk_app_policies_load (tokens->policy_dir, &problems, error);

  if (policies == NULL)
    return FALSE;
  for (guint i = 0; problems != NULL && i < problems->len; i++)
    lk_event (G_LOG_LEVEL_WARNING, "tokens", LK_MESSAGE_POLICY_REJECTED, "app policy ignored: %s",
              ((GError *) problems->pdata[i])->message);
  lk_app_policies_free (tokens->policies);
  tokens->policies = policies;
  /* A token stays with the app it was given to; what it may get next follows the new policy. */
  lk_info ("tokens", "%u app policies from %s", lk_app_policies_count (policies), tokens->policy_dir);
  if (ret_count != NULL)
    *ret_count = lk_app_policies_count (policies);
  if (ret_problems != NULL)
    *ret_problems = g_steal_pointer (&problems);
  return TRUE;
}

void
lk_tokens_set_keeper (LkTokens *tokens, LkGrantKeeper *keeper)
{
  if (keeper == tokens->keeper)
    return;
  g_clear_object (&tokens->keeper);
  tokens->keeper = keeper ? g_object_ref (keeper) : NULL;
  tokens->generation++;
  /* The grant they came from is gone, or another one's. */
  lk_token_cache_clear (tokens->cache);
}

static void
log_issued (const char *who, const char *app, const char *scope, const char *resource, const LkCachedToken *token,
            gboolean cache_hit)
{
  lk_event (G_LOG_LEVEL_INFO, "tokens", LK_MESSAGE_TOKEN_ISSUED,
            "%s token for app %s (%s): scope \"%s\", resource %s, expires in %" G_GINT64_FORMAT " s, %s",
            token->token_type, app, who, scope, resource ? resource : "-", token->expires_at - now_seconds (),
            cache_hit ? "from the cache" : "new");
}

static void
on_refreshed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Request *request = user_data;
  LkTokens *tokens = request->tokens;
  g_autoptr (LkTokenResponse) response = NULL;
  g_autoptr (GPtrArray) waiting = NULL;
  g_autoptr (LkCachedToken) token = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *key = NULL;

  response = lk_grant_keeper_refresh_finish (LK_GRANT_KEEPER (source), result, &error);
  g_hash_table_steal_extended (tokens->in_flight, request->key, (gpointer *) &key, (gpointer *) &waiting);

  if (response != NULL && request->require_dpop && g_strcmp0 (response->token_type, "DPoP") != 0)
    g_set_error (&error, LK_ERROR, LK_ERROR_PROTOCOL,
                 "the server issued a %s token, but the policy of app %s requires DPoP", response->token_type,
                 request->app);
  if (error == NULL)
    {
      token = g_new0 (LkCachedToken, 1);
      token->app = g_strdup (request->app);
      token->token = g_strdup (response->access_token);
      token->token_type = g_strdup (response->token_type);
      token->expires_at = now_seconds () + (response->expires_in ? response->expires_in : UNKNOWN_LIFETIME_SECONDS);
      log_issued (request->who, request->app, request->scope, request->resource, token, FALSE);
      if (request->generation == tokens->generation)
        lk_token_cache_insert (tokens->cache, request->key, lk_cached_token_copy (token), now_seconds ());
    }
  else
    lk_warning ("tokens", "no token for app %s: %s", request->app, error->message);

  for (guint i = 0; waiting != NULL && i < waiting->len; i++)
    {
      GTask *task = waiting->pdata[i];

      if (error == NULL)
        g_task_return_pointer (task, lk_cached_token_copy (token), (GDestroyNotify) lk_cached_token_free);
      else
        g_task_return_error (task, g_error_copy (error));
    }
  request_free (request);
}

void
lk_tokens_get_async (LkTokens *tokens,
                     const LkCaller *caller,
                     const char *const *scopes,
                     const char *resource,
                     GAsyncReadyCallback callback,
                     gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, NULL, callback, user_data);
  const LkAppPolicy *policy = NULL;
  const LkCachedToken *cached;
  g_autofree char *key = NULL;
  g_autofree char *who = describe_caller (caller);
  g_autofree char *scope = NULL;
  const char *denied = NULL;
  gboolean first_refusal = FALSE;
  GPtrArray *waiting;
  Request *request;

  g_task_set_source_tag (task, lk_tokens_get_async);
  if (tokens->policies != NULL)
    policy = lk_app_policies_match (tokens->policies, caller->uid, caller->unit);
  if (policy == NULL)
    {
      deny (task, caller, LK_ERROR_ACCESS_DENIED, "no app policy matches this caller");
      return;
    }
  if (!lk_app_policy_allows_scopes (policy, scopes, &denied))
    {
      deny (task, caller, LK_ERROR_ACCESS_DENIED, "the policy of app %s does not allow scope %s", policy->name,
            denied);
      return;
    }
  if (!lk_app_policy_allows_resource (policy, resource))
    {
      deny (task, caller, LK_ERROR_ACCESS_DENIED, "the policy of app %s does not allow resource %s",
            policy->name, resource);
      return;
    }
  if (!lk_rate_limiter_take (tokens->limiter, policy->name, g_get_monotonic_time (), &first_refusal))
    {
      /* One event per burst of refusals: a looping app must not flood the journal. */
      if (first_refusal)
        deny (task, caller, LK_ERROR_RATE_LIMITED, "app %s asks for tokens more often than %u a minute",
              policy->name, tokens->rate_per_minute);
      else
        g_task_return_new_error (task, LK_ERROR, LK_ERROR_RATE_LIMITED,
                                 "app %s asks for tokens more often than %u a minute", policy->name,
                                 tokens->rate_per_minute);
      return;
    }
  if (tokens->keeper == NULL)
    {
      g_task_return_new_error (task, LK_ERROR, LK_ERROR_NOT_PAIRED, "the device is not paired with an owner");
      return;
    }

  key = lk_token_cache_key (policy->name, scopes, resource);
  scope = g_strjoinv (" ", (char **) scopes);
  cached = lk_token_cache_lookup (tokens->cache, key, now_seconds ());
  if (cached != NULL)
    {
      log_issued (who, policy->name, scope, resource, cached, TRUE);
      g_task_return_pointer (task, lk_cached_token_copy (cached), (GDestroyNotify) lk_cached_token_free);
      return;
    }

  waiting = g_hash_table_lookup (tokens->in_flight, key);
  if (waiting != NULL)
    {
      g_ptr_array_add (waiting, g_steal_pointer (&task));
      return;
    }
  waiting = g_ptr_array_new_with_free_func (g_object_unref);
  g_ptr_array_add (waiting, g_steal_pointer (&task));
  g_hash_table_insert (tokens->in_flight, g_strdup (key), waiting);

  request = g_new0 (Request, 1);
  /* Kept until the server answers, which may be after the daemon let go. */
  request->tokens = lk_tokens_ref (tokens);
  request->key = g_steal_pointer (&key);
  request->app = g_strdup (policy->name);
  request->scope = g_steal_pointer (&scope);
  request->resource = g_strdup (resource);
  request->who = g_steal_pointer (&who);
  request->require_dpop = policy->require_dpop;
  request->generation = tokens->generation;
  lk_grant_keeper_refresh_async (tokens->keeper, request->scope, resource, NULL, on_refreshed, request);
}

LkCachedToken *
lk_tokens_get_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* RFC 9110 §5.6.2: a method is a token. */
static gboolean
is_method (const char *method)
{
  gsize length = strlen (method);

  return length > 0 && length <= 32
         && strspn (method, "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
              == length;
}

static gboolean
is_http_url (const char *url)
{
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_ENCODED, NULL);

  return uri != NULL && g_uri_get_host (uri) != NULL && *g_uri_get_host (uri) != '\0'
         && (g_strcmp0 (g_uri_get_scheme (uri), "https") == 0 || g_strcmp0 (g_uri_get_scheme (uri), "http") == 0);
}

char *
lk_tokens_create_proof (LkTokens *tokens,
                        const LkCaller *caller,
                        const char *method,
                        const char *url,
                        const char *access_token,
                        const char *nonce,
                        GError **error)
{
  g_autofree char *who = describe_caller (caller);
  g_autofree char *bucket = NULL;
  const LkAppPolicy *policy = NULL;
  const LkCachedToken *token;
  gboolean first_refusal = FALSE;

  if (!is_method (method) || !is_http_url (url))
    {
      g_set_error (error, LK_ERROR, LK_ERROR_INVALID_ARGS, "a proof needs an HTTP method and an http(s) URL");
      return NULL;
    }
  if (tokens->policies != NULL)
    policy = lk_app_policies_match (tokens->policies, caller->uid, caller->unit);
  token = lk_token_cache_find (tokens->cache, access_token, now_seconds ());
  /* Never say whose a token is: only that it is not this caller's. */
  if (policy == NULL || token == NULL || g_strcmp0 (token->app, policy->name) != 0)
    {
      lk_event (G_LOG_LEVEL_WARNING, "tokens", LK_MESSAGE_TOKEN_DENIED,
                "proof refused to %s: not a valid token given to its app", who);
      g_set_error (error, LK_ERROR, LK_ERROR_ACCESS_DENIED, "not a valid token given to this app");
      return NULL;
    }
  bucket = g_strconcat (policy->name, "\nproofs", NULL);
  if (!lk_rate_limiter_take (tokens->limiter, bucket, g_get_monotonic_time (), &first_refusal))
    {
      if (first_refusal)
        lk_event (G_LOG_LEVEL_WARNING, "tokens", LK_MESSAGE_TOKEN_RATE_LIMITED,
                  "proof refused to %s: app %s asks for proofs more often than %u a minute", who, policy->name,
                  tokens->rate_per_minute);
      g_set_error (error, LK_ERROR, LK_ERROR_RATE_LIMITED, "app %s asks for proofs more often than %u a minute",
                   policy->name, tokens->rate_per_minute);
      return NULL;
    }
  return lk_dpop_proof_new (tokens->keystore, method, url, nonce, access_token, error);
}

const LkAppPolicy *
lk_tokens_match_policy (LkTokens *tokens, const LkCaller *caller)
{
  if (tokens->policies == NULL)
    return NULL;
  return lk_app_policies_match (tokens->policies, caller->uid, caller->unit);
}
