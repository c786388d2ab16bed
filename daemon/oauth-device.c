/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "error.h"
#include "json-members.h"
#include "oauth-device.h"
#include "tpm/secret-bytes.h"

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

  if (!lk_json_read_string (object, "device_code", TRUE, what, &authorization->device_code, error)
      || !lk_json_read_string (object, "user_code", TRUE, what, &authorization->user_code, error)
      || !lk_json_read_string (object, "verification_uri", TRUE, what, &authorization->verification_uri, error)
      || !lk_json_read_string (object, "verification_uri_complete", FALSE, what,
                       &authorization->verification_uri_complete, error)
      || !lk_json_read_uint (object, "expires_in", TRUE, 24 * 3600, what, &authorization->expires_in, error)
      || !lk_json_read_uint (object, "interval", FALSE, 3600, what, &authorization->interval, error)
      || !check_user_code (authorization->user_code, what, error)
      || !check_https (authorization->verification_uri, "verification_uri", what, error)
      || (authorization->verification_uri_complete != NULL
          && !check_https (authorization->verification_uri_complete, "verification_uri_complete", what, error)))
    return NULL;
  return g_steal_pointer (&authorization);
}

static void
on_authorized (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (LkHttpResponse) response = NULL;
  g_autoptr (JsonObject) object = NULL;
  LkDeviceAuthorization *authorization;
  const char *what = "device authorization response";
  GError *error = NULL;

  response = lk_oauth_client_post_finish (LK_OAUTH_CLIENT (source), result, &error);
  if (response != NULL && response->status != SOUP_STATUS_OK)
    {
      g_autoptr (JsonObject) body = lk_http_response_json_object (response, what, NULL);
      const char *code = body ? lk_oauth_error_code (body) : NULL;

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
lk_oauth_device_authorize_async (LkOAuthClient *client,
                                 const char *scope,
                                 const char *const *resources,
                                 GCancellable *cancellable,
                                 GAsyncReadyCallback callback,
                                 gpointer user_data)
{
  g_autoptr (GPtrArray) form = lk_oauth_form_new ();
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_source_tag (task, lk_oauth_device_authorize_async);
  lk_oauth_form_add (form, "scope", scope);
  for (gsize i = 0; resources != NULL && resources[i] != NULL; i++)
    lk_oauth_form_add (form, "resource", resources[i]);
  lk_oauth_client_post_async (client, LK_OAUTH_DEVICE_AUTHORIZATION_ENDPOINT, form, cancellable, on_authorized,
                              task);
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

static void
on_polled (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autofree char *code = NULL;
  GError *error = NULL;
  PollOutcome *outcome = g_new0 (PollOutcome, 1);

  outcome->tokens = lk_oauth_token_request_finish (result, &code, &error);
  if (outcome->tokens != NULL)
    outcome->poll = LK_DEVICE_POLL_GRANTED;
  else if (g_strcmp0 (code, "authorization_pending") == 0)
    outcome->poll = LK_DEVICE_POLL_PENDING;
  else if (g_strcmp0 (code, "slow_down") == 0)
    outcome->poll = LK_DEVICE_POLL_SLOW_DOWN;
  else
    {
      poll_outcome_free (outcome);
      if (g_strcmp0 (code, "access_denied") == 0)
        {
          g_clear_error (&error);
          g_set_error (&error, LK_ERROR, LK_ERROR_DENIED, "the owner denied the request");
        }
      else if (g_strcmp0 (code, "expired_token") == 0)
        {
          g_clear_error (&error);
          g_set_error (&error, LK_ERROR, LK_ERROR_EXPIRED, "the code expired before it was approved");
        }
      g_task_return_error (task, error);
      return;
    }
  g_clear_error (&error);
  g_task_return_pointer (task, outcome, (GDestroyNotify) poll_outcome_free);
}

void
lk_oauth_device_poll_async (LkOAuthClient *client,
                            const LkDeviceAuthorization *authorization,
                            GCancellable *cancellable,
                            GAsyncReadyCallback callback,
                            gpointer user_data)
{
  g_autoptr (GPtrArray) form = lk_oauth_form_new ();
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_source_tag (task, lk_oauth_device_poll_async);
  lk_oauth_form_add (form, "grant_type", DEVICE_CODE_GRANT);
  lk_oauth_form_add (form, "device_code", authorization->device_code);
  lk_oauth_token_request_async (client, form, cancellable, on_polled, task);
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
