/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The pairing state machine against a real OpenID provider, with the owner
 * approving or refusing on their phone (tests/oidc/approve.mjs).
 */
#include "config.h"

#include <string.h>

#include "error.h"
#include "oauth-test.h"
#include "pairing.h"


typedef struct {
  LkTestPeer *provider;
  LkKeystore *keystore;
  LkPairing *pairing;
  GPtrArray *states;   /* every state "changed" announced, in order */
  LkTokenResponse *tokens;   /* what the pairing kept */
  gboolean refuse;           /* whether keeping them fails */
} Fixture;

static void
on_changed (LkPairing *pairing, gpointer user_data)
{
  Fixture *f = user_data;

  g_ptr_array_add (f->states, (gpointer) lk_pairing_state_to_string (lk_pairing_get_state (pairing)));
}

static gboolean
keep (const LkTokenResponse *tokens, gpointer user_data, GError **error)
{
  Fixture *f = user_data;

  if (f->refuse)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_STATE_DIR, "the state dir is full");
      return FALSE;
    }
  g_assert_null (f->tokens);
  f->tokens = g_new0 (LkTokenResponse, 1);
  f->tokens->refresh_token = g_strdup (tokens->refresh_token);
  return TRUE;
}

static const LkPairingConfig pairing_config = {
  .scope = "openid offline_access",
  .max_attempts_per_hour = 3,
  /* The provider names no interval; one second keeps the tests short. */
  .default_interval = 1,
};

/* @data: the device code lifetime the provider gives, as a string. */
static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr (LkOAuthClient) client = NULL;

  f->keystore = lk_test_keystore ();
  f->provider = lk_test_peer_start ("oidc", "oidc", LK_TEST_CLIENTS, data, NULL);
  client = lk_test_oauth_client (f->provider, f->keystore, LK_TEST_CLIENT_ID, LK_CLIENT_AUTH_NONE, LK_DPOP_NEVER);
  f->pairing = lk_pairing_new (client, &pairing_config, keep, f);
  f->states = g_ptr_array_new ();
  g_signal_connect (f->pairing, "changed", G_CALLBACK (on_changed), f);
}

/* Drops @pairing and lets its cancelled requests, which hold it, finish. */
static void
drop_pairing (LkPairing *pairing)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  g_object_add_weak_pointer (G_OBJECT (pairing), (gpointer *) &pairing);
  g_object_unref (pairing);
  while (pairing != NULL)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  drop_pairing (f->pairing);
  g_ptr_array_unref (f->states);
  lk_token_response_free (f->tokens);
  lk_keystore_unref (f->keystore);
  lk_test_peer_free (f->provider);
}

/* Runs the main loop until the pairing is in @state, or fails the test after a minute. */
static void
run_until (Fixture *f, LkPairingState state)
{
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  while (lk_pairing_get_state (f->pairing) != state)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
}

static char *
states (Fixture *f)
{
  g_ptr_array_add (f->states, NULL);
  return g_strjoinv (" ", (char **) f->states->pdata);
}

static void
test_approved (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *seen = NULL;
  const LkDeviceAuthorization *code;

  g_assert_true (lk_pairing_start (f->pairing, &error));
  g_assert_no_error (error);
  run_until (f, LK_PAIRING_WAITING);
  code = lk_pairing_get_authorization (f->pairing);
  g_assert_nonnull (code);
  g_assert_cmpint (lk_pairing_get_expires_at (f->pairing), >, g_get_real_time () / G_USEC_PER_SEC);

  /* Polls answered "pending" leave the state alone. */
  g_usleep (1500 * 1000);
  g_assert_true (lk_test_approve (f->provider, code->verification_uri_complete, "alice", FALSE));
  run_until (f, LK_PAIRING_APPROVED);

  g_assert_null (lk_pairing_get_authorization (f->pairing));
  g_assert_null (lk_pairing_get_failure (f->pairing));
  g_assert_nonnull (f->tokens->refresh_token);
  seen = states (f);
  g_assert_cmpstr (seen, ==, "starting waiting approved");
}

/* Tokens that cannot be kept are no pairing: it fails, saying why. */
static void
test_cannot_keep (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *seen = NULL;

  f->refuse = TRUE;
  g_assert_true (lk_pairing_start (f->pairing, &error));
  run_until (f, LK_PAIRING_WAITING);
  g_assert_true (lk_test_approve (f->provider, lk_pairing_get_authorization (f->pairing)->verification_uri_complete,
                                  "alice", FALSE));
  run_until (f, LK_PAIRING_FAILED);
  g_assert_error (lk_pairing_get_failure (f->pairing), LK_ERROR, LK_ERROR_STATE_DIR);
  g_assert_cmpstr (lk_pairing_get_failure (f->pairing)->message, ==, "the state dir is full");
  seen = states (f);
  g_assert_cmpstr (seen, ==, "starting waiting failed");
}

static void
test_denied (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (lk_pairing_start (f->pairing, &error));
  run_until (f, LK_PAIRING_WAITING);
  g_assert_true (lk_test_approve (f->provider, lk_pairing_get_authorization (f->pairing)->verification_uri_complete,
                                  "alice", TRUE));
  run_until (f, LK_PAIRING_DENIED);
  g_assert_error (lk_pairing_get_failure (f->pairing), LK_ERROR, LK_ERROR_DENIED);
  g_assert_null (f->tokens);
}

static void
test_expired (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *seen = NULL;

  g_assert_true (lk_pairing_start (f->pairing, &error));
  run_until (f, LK_PAIRING_EXPIRED);
  g_assert_error (lk_pairing_get_failure (f->pairing), LK_ERROR, LK_ERROR_EXPIRED);
  g_assert_cmpstr (lk_pairing_get_failure (f->pairing)->message, ==, "the code expired before it was approved");
  seen = states (f);
  g_assert_cmpstr (seen, ==, "starting waiting expired");
}

static void
test_cancel_and_busy (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *seen = NULL;

  g_assert_false (lk_pairing_cancel (f->pairing, &error));
  g_assert_error (error, LK_ERROR, LK_ERROR_FAILED);
  g_assert_cmpstr (error->message, ==, "no pairing is under way (it is idle)");
  g_clear_error (&error);

  g_assert_true (lk_pairing_start (f->pairing, &error));
  /* One pairing at a time. */
  g_assert_false (lk_pairing_start (f->pairing, &error));
  g_assert_error (error, LK_ERROR, LK_ERROR_BUSY);
  g_assert_cmpstr (error->message, ==, "a pairing is already starting");
  g_clear_error (&error);

  run_until (f, LK_PAIRING_WAITING);
  g_assert_false (lk_pairing_start (f->pairing, &error));
  g_assert_error (error, LK_ERROR, LK_ERROR_BUSY);
  g_assert_cmpstr (error->message, ==, "a pairing is already waiting");
  g_clear_error (&error);

  g_assert_true (lk_pairing_cancel (f->pairing, &error));
  g_assert_cmpint (lk_pairing_get_state (f->pairing), ==, LK_PAIRING_CANCELLED);
  g_assert_error (lk_pairing_get_failure (f->pairing), LK_ERROR, LK_ERROR_CANCELLED);
  g_assert_null (lk_pairing_get_authorization (f->pairing));

  /* Nothing polls any more: the state stays as it is. */
  for (int i = 0; i < 30; i++)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (100 * 1000);
    }
  seen = states (f);
  g_assert_cmpstr (seen, ==, "starting waiting cancelled");
}

static void
test_hourly_cap (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  for (int i = 0; i < 3; i++)
    {
      g_assert_true (lk_pairing_start (f->pairing, &error));
      g_assert_no_error (error);
      g_assert_true (lk_pairing_cancel (f->pairing, &error));
    }
  g_assert_false (lk_pairing_start (f->pairing, &error));
  g_assert_error (error, LK_ERROR, LK_ERROR_RATE_LIMITED);
  g_assert_cmpstr (error->message, ==, "3 pairings were started in the last hour, the most allowed");
  g_assert_cmpint (lk_pairing_get_state (f->pairing), ==, LK_PAIRING_CANCELLED);
}

static void
test_server_unreachable (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LkPairing) pairing = NULL;
  g_autoptr (LkKeystore) keystore = lk_test_keystore ();
  g_autoptr (LkOAuthClient) client = NULL;
  LkOAuthClientConfig client_config = {
    .issuer = "https://127.0.0.1:1",
    .client_id = LK_TEST_CLIENT_ID,
  };

  client = lk_oauth_client_new (&client_config, keystore, &error);
  g_assert_no_error (error);
  pairing = lk_pairing_new (client, &pairing_config, NULL, NULL);
  g_assert_true (lk_pairing_start (pairing, &error));
  while (lk_pairing_get_state (pairing) == LK_PAIRING_STARTING)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpint (lk_pairing_get_state (pairing), ==, LK_PAIRING_FAILED);
  g_assert_error (lk_pairing_get_failure (pairing), LK_ERROR, LK_ERROR_NETWORK);
  drop_pairing (g_steal_pointer (&pairing));
}

/* What the pairing logged about failed polls, in order. */
static GPtrArray *poll_failures;

static GLogWriterOutput
record_poll_failures (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  for (gsize i = 0; i < n_fields; i++)
    if (g_str_equal (fields[i].key, "MESSAGE") && g_str_has_prefix (fields[i].value, "polling failed, again in "))
      {
        const char *message = fields[i].value;

        /* Up to the reason, which names the unreachable server. */
        g_ptr_array_add (poll_failures, g_strndup (message, strcspn (message, ":")));
      }
  return g_log_writer_default (level, fields, n_fields, user_data);
}

/* The server goes away while the owner decides: polls back off exponentially, and the code stays out. */
static void
test_network_backoff (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  g_assert_true (lk_pairing_start (f->pairing, &error));
  run_until (f, LK_PAIRING_WAITING);
  g_clear_pointer (&f->provider, lk_test_peer_free);

  while (poll_failures->len < 3)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
  /* The interval is 1 s here: 2, 4, 8 s, doubling up to 5 minutes. */
  g_assert_cmpstr (g_ptr_array_index (poll_failures, 0), ==, "polling failed, again in 2 s");
  g_assert_cmpstr (g_ptr_array_index (poll_failures, 1), ==, "polling failed, again in 4 s");
  g_assert_cmpstr (g_ptr_array_index (poll_failures, 2), ==, "polling failed, again in 8 s");
  g_assert_cmpint (lk_pairing_get_state (f->pairing), ==, LK_PAIRING_WAITING);
  g_assert_nonnull (lk_pairing_get_authorization (f->pairing));
  g_assert_true (lk_pairing_cancel (f->pairing, &error));
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  poll_failures = g_ptr_array_new_with_free_func (g_free);
  g_log_set_writer_func (record_poll_failures, NULL, NULL);
  /* A failed poll is a warning the daemon logs and lives on from, not a test failure. */
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);

#define ADD(name, ttl, func) g_test_add (name, Fixture, ttl, fixture_setup, func, fixture_teardown)
  ADD ("/pairing/approved", "600", test_approved);
  ADD ("/pairing/cannot-keep", "600", test_cannot_keep);
  ADD ("/pairing/denied", "600", test_denied);
  ADD ("/pairing/expired", "2", test_expired);
  ADD ("/pairing/cancel-and-busy", "600", test_cancel_and_busy);
  ADD ("/pairing/hourly-cap", "600", test_hourly_cap);
  ADD ("/pairing/network-backoff", "600", test_network_backoff);
#undef ADD
  g_test_add_func ("/pairing/server-unreachable", test_server_unreachable);

  status = g_test_run ();
  g_ptr_array_unref (poll_failures);
  return status;
}
