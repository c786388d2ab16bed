/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "error.h"
#include "tpm/secret-bytes.h"
#include "oauth-device.h"

/* OAuth responses are a few KiB; ID tokens with many claims stay well below. */
#define RESPONSE_MAX_SIZE (64 * 1024)
#define DEVICE_CODE_GRANT "urn:ietf:params:oauth:grant-type:device_code"

void
lk_device_authorization_free (LkDeviceAuthorization *authorization)
{
  if (authorization == NULL)
    return;
  lk_tpm_secret_string_free (authorization->device_code);
  g_free (authorization->user_code);
  g_free (authorization->verification_uri);
  g_free (authorization->verification_uri_complete);
  g_free (authorization);
}

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

/* A member that must be a string when present; @required says whether it must be. */
static gboolean
read_string (JsonObject *object, const char *member, gboolean required, const char *what,
             char **ret_value, GError **error)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL)
    {
      if (!required)
        return TRUE;
      g_set_error (error, LK_ERROR, LK_ERROR_PROTOCOL, "%s: no %s", what, member);
      return FALSE;
    }
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING
      || *json_node_get_string (node) == '\0')
    {
      g_set_error (error, LK_ERROR, LK_ERROR_PROTOCOL, "%s: %s is not a non-empty string", what, member);
      return FALSE;
    }
  *ret_value = g_strdup (json_node_get_string (node));
  return TRUE;
}

/* A member that must be a positive integer of at most @max when present. */
static gboolean
read_uint (JsonObject *object, const char *member, gboolean required, guint max, const char *what,
           guint *ret_value, GError **error)
{
  JsonNode *node = json_object_get_member (object, member);
  gint64 value;

  if (node == NULL)
    {
      if (!required)
        return TRUE;
      g_set_error (error, LK_ERROR, LK_ERROR_PROTOCOL, "%s: no %s", what, member);
      return FALSE;
    }
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64
      || (value = json_node_get_int (node)) <= 0 || value > max)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_PROTOCOL, "%s: %s is not an integer between 1 and %u", what,
                   member, max);
      return FALSE;
    }
  *ret_value = (guint) value;
  return TRUE;
}

static gboolean
check_https (const char *url, const char *member, const char *what, GError **error)
{
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);

  if (uri == NULL || g_strcmp0 (g_uri_get_scheme (uri), "https") != 0 || g_uri_get_host (uri) == NULL)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_PROTOCOL, "%s: %s is not an https URL", what, member);
      return FALSE;
    }
  return TRUE;
}

/* The user code is shown on the screen and in a terminal: printable ASCII only. */
static gboolean
check_user_code (const char *code, const char *what, GError **error)
{
  gsize length = strlen (code);

  for (gsize i = 0; i < length; i++)
    if (!g_ascii_isprint (code[i]))
      length = 0;
  if (length == 0 || length > 64)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_PROTOCOL, "%s: user_code is not 1 to 64 printable characters",
                   what);
      return FALSE;
    }
  return TRUE;
}

static LkDeviceAuthorization *
parse_authorization (JsonObject *object, const char *what, GError **error)
{
  g_autoptr (LkDeviceAuthorization) authorization = g_new0 (LkDeviceAuthorization, 1);

  if (!read_string (object, "device_code", TRUE, what, &authorization->device_code, error)
      || !read_string (object, "user_code", TRUE, what, &authorization->user_code, error)
      || !read_string (object, "verification_uri", TRUE, what, &authorization->verification_uri, error)
      || !read_string (object, "verification_uri_complete", FALSE, what,
                       &authorization->verification_uri_complete, error)
      || !read_uint (object, "expires_in", TRUE, 24 * 3600, what, &authorization->expires_in, error)
      || !read_uint (object, "interval", FALSE, 3600, what, &authorization->interval, error)
      || !check_user_code (authorization->user_code, what, error)
      || !check_https (authorization->verification_uri, "verification_uri", what, error)
      || (authorization->verification_uri_complete != NULL
          && !check_https (authorization->verification_uri_complete, "verification_uri_complete", what, error)))
    return NULL;
  return g_steal_pointer (&authorization);
}

/*
 * Posts @form (owned) to @url in a task for @callback, tagged @source_tag,
 * whose response goes to @on_response.
 */
static void
post_form (LkHttp *http,
           const char *url,
           char *form,
           gpointer source_tag,
           GCancellable *cancellable,
           GAsyncReadyCallback callback,
           gpointer user_data,
           GAsyncReadyCallback on_response)
{
  g_autoptr (SoupMessage) message = soup_message_new_from_encoded_form (SOUP_METHOD_POST, url, form);
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, http, NULL);
  soup_message_headers_append (soup_message_get_request_headers (message), "Accept", "application/json");
  lk_http_send_async (http, message, RESPONSE_MAX_SIZE, cancellable, on_response, task);
}

static void
on_authorized (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  LkHttp *http = g_task_get_task_data (task);
  g_autoptr (LkHttpResponse) response = NULL;
  g_autoptr (JsonObject) object = NULL;
  LkDeviceAuthorization *authorization;
  const char *what = "device authorization response";
  GError *error = NULL;

  response = lk_http_send_finish (http, result, &error);
  if (response != NULL && response->status != SOUP_STATUS_OK)
    {
      g_autoptr (JsonObject) body = lk_http_response_json_object (response, what, NULL);
      const char *code = body ? json_object_get_string_member_with_default (body, "error", NULL) : NULL;

      g_task_return_new_error (task, LK_ERROR, LK_ERROR_PROTOCOL, "%s: HTTP status %u%s%s", what,
                               response->status, code ? ", error " : "", code ? code : "");
      return;
    }
  if (response != NULL)
    object = lk_http_response_json_object (response, what, &error);
  authorization = object ? parse_authorization (object, what, &error) : NULL;
  if (authorization == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_return_pointer (task, authorization, (GDestroyNotify) lk_device_authorization_free);
}

void
lk_oauth_device_authorize_async (LkHttp *http,
                                 const LkOAuthServer *server,
                                 const char *client_id,
                                 const char *scope,
                                 GCancellable *cancellable,
                                 GAsyncReadyCallback callback,
                                 gpointer user_data)
{
  post_form (http, server->device_authorization_endpoint,
             soup_form_encode ("client_id", client_id, "scope", scope, NULL), lk_oauth_device_authorize_async,
             cancellable, callback, user_data, on_authorized);
}

LkDeviceAuthorization *
lk_oauth_device_authorize_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

typedef struct {
  LkDevicePoll poll;
  LkTokenResponse *tokens;
} PollOutcome;

static void
poll_outcome_free (PollOutcome *outcome)
{
  lk_token_response_free (outcome->tokens);
  g_free (outcome);
}

static LkTokenResponse *
parse_tokens (JsonObject *object, const char *what, GError **error)
{
  g_autoptr (LkTokenResponse) tokens = g_new0 (LkTokenResponse, 1);

  if (!read_string (object, "access_token", TRUE, what, &tokens->access_token, error)
      || !read_string (object, "token_type", TRUE, what, &tokens->token_type, error)
      || !read_string (object, "refresh_token", FALSE, what, &tokens->refresh_token, error)
      || !read_string (object, "id_token", FALSE, what, &tokens->id_token, error)
      || !read_string (object, "scope", FALSE, what, &tokens->scope, error)
      || !read_uint (object, "expires_in", FALSE, G_MAXINT32, what, &tokens->expires_in, error))
    return NULL;
  return g_steal_pointer (&tokens);
}

/*
 * RFC 6749 §5.2 error codes are plain ASCII words. Only the code is kept:
 * the description is the server's free text and could echo a secret back.
 */
static const char *
error_code (JsonObject *object)
{
  const char *code = json_object_get_string_member_with_default (object, "error", NULL);

  if (code == NULL || strlen (code) > 64 || strspn (code, "abcdefghijklmnopqrstuvwxyz_") != strlen (code))
    return NULL;
  return code;
}

static void
on_polled (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  LkHttp *http = g_task_get_task_data (task);
  g_autoptr (LkHttpResponse) response = NULL;
  g_autoptr (JsonObject) object = NULL;
  const char *what = "token response";
  PollOutcome *outcome;
  GError *error = NULL;
  const char *code;

  response = lk_http_send_finish (http, result, &error);
  if (response != NULL)
    object = lk_http_response_json_object (response, what, &error);
  if (object == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  outcome = g_new0 (PollOutcome, 1);
  if (response->status == SOUP_STATUS_OK)
    {
      outcome->tokens = parse_tokens (object, what, &error);
      if (outcome->tokens == NULL)
        {
          poll_outcome_free (outcome);
          g_task_return_error (task, error);
          return;
        }
      outcome->poll = LK_DEVICE_POLL_GRANTED;
      g_task_return_pointer (task, outcome, (GDestroyNotify) poll_outcome_free);
      return;
    }

  code = error_code (object);
  if (g_strcmp0 (code, "authorization_pending") == 0)
    outcome->poll = LK_DEVICE_POLL_PENDING;
  else if (g_strcmp0 (code, "slow_down") == 0)
    outcome->poll = LK_DEVICE_POLL_SLOW_DOWN;
  else
    {
      poll_outcome_free (outcome);
      if (g_strcmp0 (code, "access_denied") == 0)
        g_task_return_new_error (task, LK_ERROR, LK_ERROR_DENIED, "the owner denied the request");
      else if (g_strcmp0 (code, "expired_token") == 0)
        g_task_return_new_error (task, LK_ERROR, LK_ERROR_EXPIRED, "the code expired before it was approved");
      else
        g_task_return_new_error (task, LK_ERROR, LK_ERROR_PROTOCOL, "%s: HTTP status %u, error %s", what,
                                 response->status, code ? code : "missing or malformed");
      return;
    }
  g_task_return_pointer (task, outcome, (GDestroyNotify) poll_outcome_free);
}

void
lk_oauth_device_poll_async (LkHttp *http,
                            const LkOAuthServer *server,
                            const char *client_id,
                            const LkDeviceAuthorization *authorization,
                            GCancellable *cancellable,
                            GAsyncReadyCallback callback,
                            gpointer user_data)
{
  post_form (http, server->token_endpoint,
             soup_form_encode ("grant_type", DEVICE_CODE_GRANT, "device_code", authorization->device_code,
                               "client_id", client_id, NULL),
             lk_oauth_device_poll_async, cancellable, callback, user_data, on_polled);
}

gboolean
lk_oauth_device_poll_finish (GAsyncResult *result,
                             LkDevicePoll *ret_poll,
                             LkTokenResponse **ret_tokens,
                             GError **error)
{
  PollOutcome *outcome;

  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  outcome = g_task_propagate_pointer (G_TASK (result), error);
  if (outcome == NULL)
    return FALSE;
  *ret_poll = outcome->poll;
  *ret_tokens = g_steal_pointer (&outcome->tokens);
  poll_outcome_free (outcome);
  return TRUE;
}
