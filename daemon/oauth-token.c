/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "error.h"
#include "json-members.h"
#include "oauth-token.h"
#include "tpm/secret-bytes.h"

void
lk_token_response_free (LkTokenResponse *tokens)
{
  if (tokens == NULL)
    return;
  lk_tpm_secret_string_free (tokens->access_token);
  lk_tpm_secret_string_free (tokens->refresh_token);
  lk_tpm_secret_string_free (tokens->id_token);
  g_free (tokens->token_type);
  g_free (tokens->scope);
  g_free (tokens);
}

static LkTokenResponse *
parse_tokens (JsonObject *object, const char *what, GError **error)
{
  g_autoptr (LkTokenResponse) tokens = g_new0 (LkTokenResponse, 1);

  if (!lk_json_read_string (object, "access_token", TRUE, what, &tokens->access_token, error)
      || !lk_json_read_string (object, "token_type", TRUE, what, &tokens->token_type, error)
      || !lk_json_read_string (object, "refresh_token", FALSE, what, &tokens->refresh_token, error)
      || !lk_json_read_string (object, "id_token", FALSE, what, &tokens->id_token, error)
      || !lk_json_read_string (object, "scope", FALSE, what, &tokens->scope, error)
      || !lk_json_read_uint (object, "expires_in", FALSE, G_MAXINT32, what, &tokens->expires_in, error))
    return NULL;
  return g_steal_pointer (&tokens);
}

typedef struct {
  LkTokenResponse *tokens;
  guint status;
  char *error_code;
} TokenOutcome;

static void
token_outcome_free (TokenOutcome *outcome)
{
  lk_token_response_free (outcome->tokens);
  g_free (outcome->error_code);
  g_free (outcome);
}

static void
on_token_response (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (LkHttpResponse) response = NULL;
  g_autoptr (JsonObject) object = NULL;
  const char *what = "token response";
  TokenOutcome *outcome;
  GError *error = NULL;

  response = lk_oauth_client_post_finish (LK_OAUTH_CLIENT (source), result, &error);
  if (response == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  /* The server is in trouble, not the grant: worth asking again later. */
  if (SOUP_STATUS_IS_SERVER_ERROR (response->status))
    {
      g_task_return_new_error (task, LK_ERROR, LK_ERROR_NETWORK, "%s: HTTP status %u", what, response->status);
      return;
    }

  outcome = g_new0 (TokenOutcome, 1);
  outcome->status = response->status;
  if (response->status == SOUP_STATUS_OK)
    {
      object = lk_http_response_json_object (response, what, &error);
      outcome->tokens = object ? parse_tokens (object, what, &error) : NULL;
      if (outcome->tokens == NULL)
        {
          token_outcome_free (outcome);
          g_task_return_error (task, error);
          return;
        }
      g_task_return_pointer (task, outcome, (GDestroyNotify) token_outcome_free);
      return;
    }

  object = lk_http_response_json_object (response, what, NULL);
  outcome->error_code = g_strdup (object ? lk_oauth_error_code (object) : NULL);
  g_task_return_pointer (task, outcome, (GDestroyNotify) token_outcome_free);
}

void
lk_oauth_token_request_async (LkOAuthClient *client,
                              GPtrArray *form,
                              GCancellable *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_source_tag (task, lk_oauth_token_request_async);
  lk_oauth_client_post_async (client, LK_OAUTH_TOKEN_ENDPOINT, form, cancellable, on_token_response, task);
}

LkTokenResponse *
lk_oauth_token_request_finish (GAsyncResult *result, char **ret_error_code, GError **error)
{
  TokenOutcome *outcome;
  LkTokenResponse *tokens;

  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  outcome = g_task_propagate_pointer (G_TASK (result), error);
  if (outcome == NULL)
    return NULL;
  tokens = g_steal_pointer (&outcome->tokens);
  if (tokens == NULL)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_PROTOCOL, "token response: HTTP status %u, error %s",
                   outcome->status,
                   outcome->error_code ? outcome->error_code : "missing or malformed");
      if (ret_error_code != NULL)
        *ret_error_code = g_steal_pointer (&outcome->error_code);
    }
  token_outcome_free (outcome);
  return tokens;
}

static void
on_revoked (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (LkHttpResponse) response = NULL;
  g_autoptr (JsonObject) object = NULL;
  GError *error = NULL;

  response = lk_oauth_client_post_finish (LK_OAUTH_CLIENT (source), result, &error);
  if (response == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  /* §2.2: 200 whether or not the token was still valid; nothing else is success. */
  if (response->status != SOUP_STATUS_OK)
    {
      const char *code = NULL;

      object = lk_http_response_json_object (response, "revocation response", NULL);
      if (object != NULL)
        code = lk_oauth_error_code (object);
      g_task_return_new_error (task, LK_ERROR, LK_ERROR_PROTOCOL, "revocation response: HTTP status %u%s%s",
                               response->status, code ? ", error " : "", code ? code : "");
      return;
    }
  g_task_return_boolean (task, TRUE);
}

void
lk_oauth_revoke_async (LkOAuthClient *client,
                       const char *refresh_token,
                       GCancellable *cancellable,
                       GAsyncReadyCallback callback,
                       gpointer user_data)
{
  g_autoptr (GPtrArray) form = lk_oauth_form_new ();
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_source_tag (task, lk_oauth_revoke_async);
  lk_oauth_form_add (form, "token", refresh_token);
  lk_oauth_form_add (form, "token_type_hint", "refresh_token");
  lk_oauth_client_post_async (client, LK_OAUTH_REVOCATION_ENDPOINT, form, cancellable, on_revoked, task);
}

gboolean
lk_oauth_revoke_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
