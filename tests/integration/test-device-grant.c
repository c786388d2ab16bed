/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The device authorization grant's two requests against a real OpenID
 * provider, approved, refused or left to expire by a user on their phone
 * (tests/oidc/approve.mjs).
 */
#include "config.h"

#include <string.h>

#include "error.h"
#include "oauth-device.h"
#include "testlib.h"

#define SCOPE "openid offline_access"

typedef struct {
  LkTestPeer *provider;
  LkHttp *http;
  LkOAuthServer *server;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer ttl)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;

  f->provider = lk_test_peer_start ("oidc", "oidc", LK_TEST_CLIENTS, ttl, NULL);
  f->http = lk_http_new (lk_test_peer_get (f->provider, "OIDC_CA"), &error);
  g_assert_no_error (error);
  lk_oauth_discover_async (f->http, lk_test_peer_get (f->provider, "OIDC_ISSUER"), NULL, lk_test_on_result, &result);
  f->server = lk_oauth_discover_finish (lk_test_wait_result (&result), &error);
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  lk_oauth_server_free (f->server);
  lk_http_free (f->http);
  lk_test_peer_free (f->provider);
}

static LkDeviceAuthorization *
authorize (Fixture *f, const char *client_id, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  lk_oauth_device_authorize_async (f->http, f->server, client_id, SCOPE, NULL, lk_test_on_result, &result);
  return lk_oauth_device_authorize_finish (lk_test_wait_result (&result), error);
}

static gboolean
poll_once (Fixture *f, LkDeviceAuthorization *authorization, LkDevicePoll *poll, LkTokenResponse **tokens,
           GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  lk_oauth_device_poll_async (f->http, f->server, LK_TEST_CLIENT_ID, authorization, NULL, lk_test_on_result, &result);
  return lk_oauth_device_poll_finish (lk_test_wait_result (&result), poll, tokens, error);
}

static void
test_approved (Fixture *f, gconstpointer data)
{
  g_autoptr (LkDeviceAuthorization) authorization = NULL;
  g_autoptr (LkTokenResponse) tokens = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *verification_uri = NULL;
  LkDevicePoll poll;

  authorization = authorize (f, LK_TEST_CLIENT_ID, &error);
  g_assert_no_error (error);
  verification_uri = g_strconcat (lk_test_peer_get (f->provider, "OIDC_ISSUER"), "/device", NULL);
  g_assert_cmpstr (authorization->verification_uri, ==, verification_uri);
  g_assert_true (g_str_has_prefix (authorization->verification_uri_complete, verification_uri));
  g_assert_nonnull (strstr (authorization->verification_uri_complete, authorization->user_code));
  g_assert_cmpuint (authorization->expires_in, ==, 600);
  /* The provider sends no interval: the caller applies RFC 8628's default. */
  g_assert_cmpuint (authorization->interval, ==, 0);

  g_assert_true (poll_once (f, authorization, &poll, &tokens, &error));
  g_assert_no_error (error);
  g_assert_cmpint (poll, ==, LK_DEVICE_POLL_PENDING);
  g_assert_null (tokens);

  g_assert_true (lk_test_approve (f->provider, authorization->verification_uri_complete, "alice", FALSE));

  g_assert_true (poll_once (f, authorization, &poll, &tokens, &error));
  g_assert_no_error (error);
  g_assert_cmpint (poll, ==, LK_DEVICE_POLL_GRANTED);
  g_assert_cmpstr (tokens->token_type, ==, "Bearer");
  g_assert_cmpuint (strlen (tokens->access_token), >, 20);
  g_assert_nonnull (tokens->refresh_token);
  g_assert_true (g_str_has_prefix (tokens->id_token, "eyJ"));
  g_assert_cmpuint (tokens->expires_in, >, 0);

  /* A device code is good for one grant. */
  g_clear_pointer (&tokens, lk_token_response_free);
  g_assert_false (poll_once (f, authorization, &poll, &tokens, &error));
  g_assert_error (error, LK_ERROR, LK_ERROR_PROTOCOL);
  g_assert_cmpstr (error->message, ==, "token response: HTTP status 400, error invalid_grant");
}

static void
test_denied (Fixture *f, gconstpointer data)
{
  g_autoptr (LkDeviceAuthorization) authorization = NULL;
  g_autoptr (LkTokenResponse) tokens = NULL;
  g_autoptr (GError) error = NULL;
  LkDevicePoll poll;

  authorization = authorize (f, LK_TEST_CLIENT_ID, &error);
  g_assert_no_error (error);
  g_assert_true (lk_test_approve (f->provider, authorization->verification_uri_complete, "alice", TRUE));

  g_assert_false (poll_once (f, authorization, &poll, &tokens, &error));
  g_assert_error (error, LK_ERROR, LK_ERROR_DENIED);
  g_assert_cmpstr (error->message, ==, "the owner denied the request");
  g_assert_null (tokens);
}

static void
test_expired (Fixture *f, gconstpointer data)
{
  g_autoptr (LkDeviceAuthorization) authorization = NULL;
  g_autoptr (LkTokenResponse) tokens = NULL;
  g_autoptr (GError) error = NULL;
  LkDevicePoll poll;

  authorization = authorize (f, LK_TEST_CLIENT_ID, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (authorization->expires_in, ==, 1);
  g_usleep (2 * G_USEC_PER_SEC);

  g_assert_false (poll_once (f, authorization, &poll, &tokens, &error));
  g_assert_error (error, LK_ERROR, LK_ERROR_EXPIRED);
  g_assert_cmpstr (error->message, ==, "the code expired before it was approved");
}

static void
test_unknown_client (Fixture *f, gconstpointer data)
{
  g_autoptr (LkDeviceAuthorization) authorization = NULL;
  g_autoptr (GError) error = NULL;

  authorization = authorize (f, "no-such-client", &error);
  g_assert_null (authorization);
  g_assert_error (error, LK_ERROR, LK_ERROR_PROTOCOL);
  g_assert_cmpstr (error->message, ==, "device authorization response: HTTP status 401, error invalid_client");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, ttl, func) g_test_add (name, Fixture, ttl, fixture_setup, func, fixture_teardown)
  ADD ("/device-grant/approved", "600", test_approved);
  ADD ("/device-grant/denied", "600", test_denied);
  ADD ("/device-grant/expired", "1", test_expired);
  ADD ("/device-grant/unknown-client", "600", test_unknown_client);
#undef ADD

  return g_test_run ();
}
