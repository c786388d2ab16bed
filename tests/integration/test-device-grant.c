/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The device authorization grant's requests against a real OpenID provider,
 * approved, refused or left to expire by a user on their phone
 * (tests/oidc/approve.mjs): as a public client and with private_key_jwt,
 * with tokens bound to the TPM key by DPoP (with and without server
 * nonces) or not, and revocation.
 */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "error.h"
#include "oauth-device.h"
#include "oauth-test.h"

#define SCOPE "openid offline_access"

typedef struct {
  const char *device_code_ttl;
  const char *options;          /* more provider configuration, JSON members */
  const char *client_id;
  LkClientAuth client_auth;
  LkDPoPMode dpop;
} Params;

typedef struct {
  LkTestPeer *provider;
  LkKeystore *keystore;
  LkOAuthClient *client;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  const Params *params = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) jwk = NULL;
  g_autofree char *kid = NULL;
  g_autofree char *clients = NULL;

  f->keystore = lk_test_keystore ();
  jwk = lk_keystore_get_jwk (f->keystore, &error);
  g_assert_no_error (error);
  kid = lk_keystore_get_jwk_thumbprint (f->keystore, &error);
  g_assert_no_error (error);
  clients = lk_test_clients_json (jwk, kid);
  f->provider = lk_test_peer_start ("oidc", "oidc", clients, params->device_code_ttl,
                                    params->options ? params->options : "", NULL);
  f->client = lk_test_oauth_client (f->provider, f->keystore, params->client_id ? params->client_id : LK_TEST_CLIENT_ID,
                                    params->client_auth, params->dpop);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_object_unref (f->client);
  lk_keystore_unref (f->keystore);
  lk_test_peer_free (f->provider);
}

static LkDeviceAuthorization *
authorize (LkOAuthClient *client, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  lk_oauth_device_authorize_async (client, SCOPE, NULL, NULL, lk_test_on_result, &result);
  return lk_oauth_device_authorize_finish (lk_test_wait_result (&result), error);
}

static gboolean
poll_once (Fixture *f, LkDeviceAuthorization *authorization, LkDevicePoll *poll, LkTokenResponse **tokens,
           GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  lk_oauth_device_poll_async (f->client, authorization, NULL, lk_test_on_result, &result);
  return lk_oauth_device_poll_finish (lk_test_wait_result (&result), poll, tokens, error);
}

/* The tokens of a pairing the owner approves at once. */
static LkTokenResponse *
approved_tokens (Fixture *f)
{
  g_autoptr (LkDeviceAuthorization) authorization = NULL;
  g_autoptr (GError) error = NULL;
  LkTokenResponse *tokens = NULL;
  LkDevicePoll poll;

  authorization = authorize (f->client, &error);
  g_assert_no_error (error);
  g_assert_true (lk_test_approve (f->provider, authorization->verification_uri_complete, "alice", FALSE));
  g_assert_true (poll_once (f, authorization, &poll, &tokens, &error));
  g_assert_no_error (error);
  g_assert_cmpint (poll, ==, LK_DEVICE_POLL_GRANTED);
  return tokens;
}

static LkTokenResponse *
refresh (LkOAuthClient *client, const char *refresh_token, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GPtrArray) form = lk_oauth_form_new ();

  lk_oauth_form_add (form, "grant_type", "refresh_token");
  lk_oauth_form_add (form, "refresh_token", refresh_token);
  lk_oauth_token_request_async (client, form, NULL, lk_test_on_result, &result);
  return lk_oauth_token_request_finish (lk_test_wait_result (&result), NULL, error);
}

static void
test_approved (Fixture *f, gconstpointer data)
{
  g_autoptr (LkDeviceAuthorization) authorization = NULL;
  g_autoptr (LkTokenResponse) tokens = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *verification_uri = NULL;
  LkDevicePoll poll;

  authorization = authorize (f->client, &error);
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
  g_assert_false (lk_oauth_client_uses_dpop (f->client));
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

  authorization = authorize (f->client, &error);
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

  authorization = authorize (f->client, &error);
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
  g_autoptr (LkOAuthClient) stranger = lk_test_oauth_client (f->provider, f->keystore, "no-such-client",
                                                             LK_CLIENT_AUTH_NONE, LK_DPOP_NEVER);
  g_autoptr (LkDeviceAuthorization) authorization = NULL;
  g_autoptr (GError) error = NULL;

  authorization = authorize (stranger, &error);
  g_assert_null (authorization);
  g_assert_error (error, LK_ERROR, LK_ERROR_PROTOCOL);
  g_assert_cmpstr (error->message, ==, "device authorization response: HTTP status 401, error invalid_client");
}

/* The tokens are bound to the TPM key: the server says so, and only the key can use the refresh token. */
static void
test_dpop_bound (Fixture *f, gconstpointer data)
{
  g_autoptr (LkTokenResponse) tokens = approved_tokens (f);
  g_autoptr (LkTokenResponse) refreshed = NULL;
  g_autoptr (JsonObject) introspection = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (LkOAuthClient) without_proofs = NULL;
  g_autofree char *thumbprint = lk_keystore_get_jwk_thumbprint (f->keystore, &error);
  JsonObject *cnf;

  g_assert_true (lk_oauth_client_uses_dpop (f->client));
  g_assert_cmpstr (tokens->token_type, ==, "DPoP");
  introspection = lk_test_introspect (f->provider, tokens->access_token);
  g_assert_true (json_object_get_boolean_member (introspection, "active"));
  g_assert_cmpstr (json_object_get_string_member (introspection, "token_type"), ==, "DPoP");
  cnf = json_object_get_object_member (introspection, "cnf");
  g_assert_nonnull (cnf);
  g_assert_cmpstr (json_object_get_string_member (cnf, "jkt"), ==, thumbprint);

  /* Without a proof of the key, the bound refresh token is refused... */
  without_proofs = lk_test_oauth_client (f->provider, f->keystore, LK_TEST_CLIENT_ID, LK_CLIENT_AUTH_NONE,
                                         LK_DPOP_NEVER);
  g_assert_null (refresh (without_proofs, tokens->refresh_token, &error));
  g_assert_error (error, LK_ERROR, LK_ERROR_PROTOCOL);
  g_clear_error (&error);
  /* ...with one, it gives a bound token again (and a rotated refresh token). */
  refreshed = refresh (f->client, tokens->refresh_token, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (refreshed->token_type, ==, "DPoP");
  g_assert_cmpstr (refreshed->refresh_token, !=, tokens->refresh_token);
}

/* A server that wants nonces gets its nonce back, once asked. */
static void
test_dpop_nonce (Fixture *f, gconstpointer data)
{
  g_autoptr (LkTokenResponse) tokens = approved_tokens (f);
  g_autoptr (LkTokenResponse) refreshed = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_cmpstr (tokens->token_type, ==, "DPoP");
  refreshed = refresh (f->client, tokens->refresh_token, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (refreshed->token_type, ==, "DPoP");
}

/* A confidential client proving itself with the TPM key (RFC 7523), and an impostor with another key. */
static void
test_private_key_jwt (Fixture *f, gconstpointer data)
{
  g_autoptr (LkTokenResponse) tokens = approved_tokens (f);
  g_autoptr (LkKeystore) other_keystore = NULL;
  g_autoptr (LkOAuthClient) impostor = NULL;
  g_autoptr (LkDeviceAuthorization) authorization = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *other_dir = lk_test_path ("impostor");

  g_assert_cmpstr (tokens->token_type, ==, "Bearer");
  g_assert_nonnull (tokens->refresh_token);

  g_assert_cmpint (g_mkdir (other_dir, 0700), ==, 0);
  other_keystore = lk_keystore_open (LK_KEYSTORE_SOFTWARE, other_dir, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (lk_keystore_ensure_device_key (other_keystore, NULL, &error));
  impostor = lk_test_oauth_client (f->provider, other_keystore, LK_TEST_JWT_CLIENT_ID,
                                   LK_CLIENT_AUTH_PRIVATE_KEY_JWT, LK_DPOP_NEVER);
  authorization = authorize (impostor, &error);
  g_assert_null (authorization);
  g_assert_error (error, LK_ERROR, LK_ERROR_PROTOCOL);
  g_assert_cmpstr (error->message, ==, "device authorization response: HTTP status 401, error invalid_client");
}

/* RFC 7009: a revoked refresh token is worth nothing. */
static void
test_revoke (Fixture *f, gconstpointer data)
{
  g_autoptr (LkTokenResponse) tokens = approved_tokens (f);
  g_autoptr (LkTokenResponse) refreshed = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;

  lk_oauth_revoke_async (f->client, tokens->refresh_token, NULL, lk_test_on_result, &result);
  g_assert_true (lk_oauth_revoke_finish (lk_test_wait_result (&result), &error));
  g_assert_no_error (error);

  refreshed = refresh (f->client, tokens->refresh_token, &error);
  g_assert_null (refreshed);
  g_assert_error (error, LK_ERROR, LK_ERROR_PROTOCOL);
  g_assert_cmpstr (error->message, ==, "token response: HTTP status 400, error invalid_grant");
}

int
main (int argc, char **argv)
{
  static const Params plain = { "600", NULL, NULL, LK_CLIENT_AUTH_NONE, LK_DPOP_NEVER };
  static const Params short_lived = { "1", NULL, NULL, LK_CLIENT_AUTH_NONE, LK_DPOP_NEVER };
  static const Params dpop = { "600", NULL, NULL, LK_CLIENT_AUTH_NONE, LK_DPOP_AUTO };
  static const Params dpop_nonce = { "600", "\"dpopNonce\": true", NULL, LK_CLIENT_AUTH_NONE, LK_DPOP_AUTO };
  static const Params jwt = { "600", NULL, LK_TEST_JWT_CLIENT_ID, LK_CLIENT_AUTH_PRIVATE_KEY_JWT, LK_DPOP_NEVER };

  g_test_init (&argc, &argv, NULL);

#define ADD(name, params, func) g_test_add (name, Fixture, &params, fixture_setup, func, fixture_teardown)
  ADD ("/device-grant/approved", plain, test_approved);
  ADD ("/device-grant/denied", plain, test_denied);
  ADD ("/device-grant/expired", short_lived, test_expired);
  ADD ("/device-grant/unknown-client", plain, test_unknown_client);
  ADD ("/device-grant/dpop-bound", dpop, test_dpop_bound);
  ADD ("/device-grant/dpop-nonce", dpop_nonce, test_dpop_nonce);
  ADD ("/device-grant/private-key-jwt", jwt, test_private_key_jwt);
  ADD ("/device-grant/revoke", plain, test_revoke);
#undef ADD

  return g_test_run ();
}
