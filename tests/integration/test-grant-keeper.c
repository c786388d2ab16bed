/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The owner's grant kept alive against a real OpenID provider that rotates
 * refresh tokens at every use: refreshes in one queue, each rotated token
 * sealed before use, background refresh before expiry, and a replayed
 * refresh token ending the grant.
 */
#include "config.h"

#include "error.h"
#include "grant-keeper.h"
#include "oauth-device.h"
#include "oauth-test.h"

typedef struct {
  LkTestPeer *provider;
  LkKeystore *keystore;
  LkOAuthClient *client;
  LkTokenResponse *tokens;      /* of the pairing */
  const char *state_dir;
  guint changes;
  GError *revoked;
} Fixture;

/* @data: more provider configuration (JSON members), or NULL. */
static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr (LkDeviceAuthorization) authorization = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;
  LkDevicePoll poll;

  f->state_dir = lk_test_env ("LATCHKEY_TEST_STATE_DIR");
  f->keystore = lk_test_keystore ();
  f->provider = lk_test_peer_start ("oidc", "oidc", LK_TEST_CLIENTS, "600", data ? data : "", NULL);
  f->client = lk_test_oauth_client (f->provider, f->keystore, LK_TEST_CLIENT_ID, LK_CLIENT_AUTH_NONE, LK_DPOP_AUTO);

  lk_oauth_device_authorize_async (f->client, "openid offline_access", NULL, NULL, lk_test_on_result, &result);
  authorization = lk_oauth_device_authorize_finish (lk_test_wait_result (&result), &error);
  g_assert_no_error (error);
  g_clear_object (&result);
  g_assert_true (lk_test_approve (f->provider, authorization->verification_uri_complete, "alice", FALSE));
  lk_oauth_device_poll_async (f->client, authorization, NULL, lk_test_on_result, &result);
  g_assert_true (lk_oauth_device_poll_finish (lk_test_wait_result (&result), &poll, &f->tokens, &error));
  g_assert_no_error (error);
  g_assert_cmpint (poll, ==, LK_DEVICE_POLL_GRANTED);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_clear_error (&f->revoked);
  lk_token_response_free (f->tokens);
  g_object_unref (f->client);
  lk_keystore_unref (f->keystore);
  lk_test_peer_free (f->provider);
}

static void
on_changed (LkGrantKeeper *keeper, gpointer user_data)
{
  Fixture *f = user_data;

  f->changes++;
}

static void
on_revoked (LkGrantKeeper *keeper, const GError *reason, gpointer user_data)
{
  Fixture *f = user_data;

  g_assert_null (f->revoked);
  f->revoked = g_error_copy (reason);
}

/* A keeper of the pairing's grant, stored as the daemon stores it, whose refresh token is @refresh_token. */
static LkGrantKeeper *
keeper_new (Fixture *f, const char *refresh_token, guint margin)
{
  g_autoptr (GError) error = NULL;
  LkGrant *grant = lk_grant_new (lk_oauth_client_get_issuer (f->client), refresh_token, f->tokens->id_token, &error);
  LkGrantKeeper *keeper;

  g_assert_no_error (error);
  g_assert_true (lk_grant_store (grant, f->keystore, f->state_dir, &error));
  g_assert_no_error (error);
  keeper = lk_grant_keeper_new (f->client, f->keystore, f->state_dir, grant, margin);
  g_signal_connect (keeper, "changed", G_CALLBACK (on_changed), f);
  g_signal_connect (keeper, "revoked", G_CALLBACK (on_revoked), f);
  return keeper;
}

static void
drop_keeper (LkGrantKeeper *keeper)
{
  g_signal_handlers_disconnect_matched (keeper, G_SIGNAL_MATCH_FUNC, 0, 0, NULL, on_changed, NULL);
  g_signal_handlers_disconnect_matched (keeper, G_SIGNAL_MATCH_FUNC, 0, 0, NULL, on_revoked, NULL);
  lk_grant_keeper_stop (keeper);
  g_object_unref (keeper);
}

static LkTokenResponse *
refresh (LkGrantKeeper *keeper, const char *scope, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  lk_grant_keeper_refresh_async (keeper, scope, NULL, NULL, lk_test_on_result, &result);
  return lk_grant_keeper_refresh_finish (keeper, lk_test_wait_result (&result), error);
}

/* The refresh token sealed in the state dir now. */
static char *
stored_refresh_token (Fixture *f)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LkGrant) grant = lk_grant_load (f->keystore, f->state_dir, &error);

  g_assert_no_error (error);
  g_assert_nonnull (grant);
  return g_strdup (grant->refresh_token);
}

/* Each use rotates the refresh token; the new one is on disk before the caller has its tokens. */
static void
test_rotation_persisted (Fixture *f, gconstpointer data)
{
  LkGrantKeeper *keeper = keeper_new (f, f->tokens->refresh_token, 60);
  g_autoptr (LkTokenResponse) tokens = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;

  tokens = refresh (keeper, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (tokens->token_type, ==, "DPoP");
  first = stored_refresh_token (f);
  g_assert_cmpstr (first, !=, f->tokens->refresh_token);
  g_assert_cmpstr (first, ==, lk_grant_keeper_get_grant (keeper)->refresh_token);

  g_clear_pointer (&tokens, lk_token_response_free);
  tokens = refresh (keeper, NULL, &error);
  g_assert_no_error (error);
  second = stored_refresh_token (f);
  g_assert_cmpstr (second, !=, first);
  g_assert_cmpstr (second, ==, lk_grant_keeper_get_grant (keeper)->refresh_token);
  g_assert_null (f->revoked);
  drop_keeper (keeper);
}

typedef struct {
  GAsyncResult *results[3];
} Concurrent;

/*
 * Requests made at once take turns: had two used one refresh token, the
 * provider would have seen a replay and revoked the grant. Each may be
 * narrowed to a subset of the grant's scopes.
 */
static void
test_queue (Fixture *f, gconstpointer data)
{
  static const char *const scopes[] = { NULL, "openid", "offline_access" };
  LkGrantKeeper *keeper = keeper_new (f, f->tokens->refresh_token, 60);
  Concurrent concurrent = { 0 };

  for (guint i = 0; i < G_N_ELEMENTS (scopes); i++)
    lk_grant_keeper_refresh_async (keeper, scopes[i], NULL, NULL, lk_test_on_result, &concurrent.results[i]);
  for (guint i = 0; i < G_N_ELEMENTS (scopes); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (LkTokenResponse) tokens = NULL;

      tokens = lk_grant_keeper_refresh_finish (keeper, lk_test_wait_result (&concurrent.results[i]), &error);
      g_assert_no_error (error);
      g_assert_cmpstr (tokens->scope, ==, scopes[i] ? scopes[i] : "openid offline_access");
      g_object_unref (concurrent.results[i]);
    }
  g_assert_null (f->revoked);
  drop_keeper (keeper);
}

/* Runs the main loop until @f has seen @changes changes of the owner's token, for at most a minute. */
static void
wait_changes (Fixture *f, guint changes)
{
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  while (f->changes < changes && f->revoked == NULL)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
  g_assert_null (f->revoked);
}

/* Started from the pairing's tokens, the keeper refreshes them before they expire, again and again. */
static void
test_background (Fixture *f, gconstpointer data)
{
  LkGrantKeeper *keeper = keeper_new (f, f->tokens->refresh_token, 2);
  gint64 first_expiry;

  g_assert_cmpuint (f->tokens->expires_in, ==, 4);
  lk_grant_keeper_start (keeper, f->tokens);
  g_assert_cmpuint (f->changes, ==, 1);
  first_expiry = lk_grant_keeper_get_expires_at (keeper);

  wait_changes (f, 2);
  g_assert_cmpint (g_get_real_time () / G_USEC_PER_SEC, <, first_expiry);
  g_assert_cmpint (lk_grant_keeper_get_expires_at (keeper), >, first_expiry);
  wait_changes (f, 3);
  drop_keeper (keeper);
}

/* A replayed refresh token makes the provider revoke the grant: every keeper of it learns so. */
static void
test_replay_revokes (Fixture *f, gconstpointer data)
{
  LkGrantKeeper *keeper = keeper_new (f, f->tokens->refresh_token, 60);
  LkGrantKeeper *replayer = NULL;
  g_autoptr (LkTokenResponse) tokens = NULL;
  g_autoptr (GError) error = NULL;

  tokens = refresh (keeper, NULL, &error);
  g_assert_no_error (error);

  replayer = keeper_new (f, f->tokens->refresh_token, 60);
  g_assert_null (refresh (replayer, NULL, &error));
  g_assert_error (error, LK_ERROR, LK_ERROR_REVOKED);
  g_assert_cmpstr (error->message, ==, "the authorization server no longer honours the owner's grant "
                                       "(invalid_grant): it was revoked, or its refresh token replayed");
  g_assert_error (f->revoked, LK_ERROR, LK_ERROR_REVOKED);
  g_clear_error (&error);
  g_clear_error (&f->revoked);

  /* The grant is gone for the rightful keeper too... */
  g_assert_null (refresh (keeper, NULL, &error));
  g_assert_error (error, LK_ERROR, LK_ERROR_REVOKED);
  g_assert_error (f->revoked, LK_ERROR, LK_ERROR_REVOKED);
  g_clear_error (&error);
  /* ...which asks no more. */
  g_assert_null (refresh (keeper, NULL, &error));
  g_assert_error (error, LK_ERROR, LK_ERROR_REVOKED);
  g_assert_cmpstr (error->message, ==, "the owner's grant was revoked");
  drop_keeper (replayer);
  drop_keeper (keeper);
}

/* An unreachable server is no revocation: the request fails, the grant stays. */
static void
test_server_down (Fixture *f, gconstpointer data)
{
  LkGrantKeeper *keeper = keeper_new (f, f->tokens->refresh_token, 60);
  g_autoptr (GError) error = NULL;

  g_clear_pointer (&f->provider, lk_test_peer_free);
  g_assert_null (refresh (keeper, NULL, &error));
  g_assert_error (error, LK_ERROR, LK_ERROR_NETWORK);
  g_assert_null (f->revoked);
  g_assert_cmpstr (lk_grant_keeper_get_grant (keeper)->refresh_token, ==, f->tokens->refresh_token);
  drop_keeper (keeper);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, options, func) g_test_add (name, Fixture, options, fixture_setup, func, fixture_teardown)
  ADD ("/grant-keeper/rotation-persisted", NULL, test_rotation_persisted);
  ADD ("/grant-keeper/queue", NULL, test_queue);
  ADD ("/grant-keeper/background", "\"accessTokenTtl\": 4", test_background);
  ADD ("/grant-keeper/replay-revokes", NULL, test_replay_revokes);
  ADD ("/grant-keeper/server-down", NULL, test_server_down);
#undef ADD

  return g_test_run ();
}
