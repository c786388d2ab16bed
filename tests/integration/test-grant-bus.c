/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The owner's grant through the real daemon: refreshed before it expires,
 * rotated refresh tokens surviving restarts, a replayed or revoked refresh
 * token unpairing the device, and Unpair revoking at the server, or
 * reporting that it could not.
 */
#include "config.h"

#include <string.h>

#include "grant.h"
#include "testlib.h"

typedef struct {
  LkTestPeer *provider;
  char *config;
  char *grant_path;
} Fixture;

/* @data: more provider configuration (JSON members), or NULL. */
static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autofree char *pairing = NULL;

  f->provider = lk_test_peer_start ("oidc", "oidc", LK_TEST_CLIENTS, "600", data ? data : "", NULL);
  pairing = lk_test_provider_config (f->provider);
  f->config = g_strconcat ("[Daemon]\nLogLevel=debug\n", pairing, "RefreshMargin=2\n", NULL);
  f->grant_path = g_build_filename (lk_test_env ("LATCHKEY_TEST_STATE_DIR"), "grant.sealed", NULL);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  lk_test_peer_free (f->provider);
  g_free (f->config);
  g_free (f->grant_path);
}

/* A copy of the sealed grant. */
static GBytes *
copy_grant (Fixture *f)
{
  g_autoptr (GError) error = NULL;
  char *contents = NULL;
  gsize length;

  g_file_get_contents (f->grant_path, &contents, &length, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (contents, length);
}

/* Puts back an old copy of the sealed grant, as private as the daemon keeps it. */
static void
restore_grant (Fixture *f, GBytes *copy)
{
  g_autoptr (GError) error = NULL;
  gsize length;
  const char *contents = g_bytes_get_data (copy, &length);

  g_file_set_contents_full (f->grant_path, contents, (gssize) length, G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error);
  g_assert_no_error (error);
}

/* The owner's refresh token, read back as the daemon does (once it is stopped: the TPM serves one client). */
static char *
stored_refresh_token (void)
{
  const char *state_dir = lk_test_env ("LATCHKEY_TEST_STATE_DIR");
  g_autoptr (GError) error = NULL;
  g_autoptr (LkKeystore) keystore = lk_keystore_open (LK_KEYSTORE_TPM2, state_dir,
                                                      lk_test_env ("LATCHKEY_TEST_TCTI"), &error);
  g_autoptr (LkGrant) grant = NULL;

  g_assert_no_error (error);
  grant = lk_grant_load (keystore, state_dir, &error);
  g_assert_no_error (error);
  g_assert_nonnull (grant);
  return g_strdup (grant->refresh_token);
}

/* The access token is refreshed before it expires, again and again, and the refresh token rotated each time. */
static void
test_refresh_before_expiry (Fixture *f, gconstpointer data)
{
  g_autoptr (LkTestDaemon) daemon = lk_test_daemon_start (f->config, NULL);
  g_autofree char *log = NULL;
  g_autofree char *refresh_token = NULL;
  gint64 first, second;

  lk_test_pair (f->provider, "alice");
  first = lk_test_token_expires_at ();
  g_assert_cmpint (first, >, 0);
  second = lk_test_wait_refreshed (first);
  /* Refreshed a margin before the first token expired, not after. */
  g_assert_cmpint (g_get_real_time () / G_USEC_PER_SEC, <, first);
  lk_test_wait_refreshed (second);

  g_assert_cmpint (lk_test_daemon_stop (daemon), ==, 0);
  log = lk_test_daemon_log (daemon);
  g_assert_nonnull (strstr (log, ": info: grant: the owner's DPoP token is valid for 4 s; next refresh in "));
  refresh_token = stored_refresh_token ();
  g_assert_null (strstr (log, refresh_token));
}

/* A restart keeps the pairing with the last rotated refresh token, which the server still honours. */
static void
test_rotation_survives_restart (Fixture *f, gconstpointer data)
{
  g_autofree char *log = NULL;

  {
    g_autoptr (LkTestDaemon) daemon = lk_test_daemon_start (f->config, NULL);

    lk_test_pair (f->provider, "alice");
    lk_test_wait_refreshed (lk_test_token_expires_at ());
    g_assert_cmpint (lk_test_daemon_stop (daemon), ==, 0);
  }
  {
    g_autoptr (LkTestDaemon) daemon = lk_test_daemon_start (f->config, NULL);
    g_autofree char *state = lk_test_device_property ("State");

    g_assert_cmpstr (state, ==, "paired");
    /* The first refresh after a restart is at once, with the rotated token. */
    lk_test_wait_refreshed (0);
    lk_test_wait_refreshed (lk_test_token_expires_at ());
    g_assert_cmpint (lk_test_daemon_stop (daemon), ==, 0);
    log = lk_test_daemon_log (daemon);
  }
  g_assert_null (strstr (log, "invalid_grant"));
  g_assert_null (strstr (log, "warning"));
}

/* An old copy of the grant put back (a replayed refresh token) is refused, and unpairs the device. */
static void
test_replay_unpairs (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) spent = NULL;
  g_autofree char *log = NULL;

  {
    g_autoptr (LkTestDaemon) daemon = lk_test_daemon_start (f->config, NULL);

    lk_test_pair (f->provider, "alice");
    spent = copy_grant (f);
    g_assert_cmpint (lk_test_daemon_stop (daemon), ==, 0);
  }
  {
    /* Restarting spends that refresh token: rotation replaces it. */
    g_autoptr (LkTestDaemon) daemon = lk_test_daemon_start (f->config, NULL);

    lk_test_wait_refreshed (0);
    g_assert_cmpint (lk_test_daemon_stop (daemon), ==, 0);
  }
  restore_grant (f, spent);
  {
    g_autoptr (LkTestDaemon) daemon = lk_test_daemon_start (f->config, NULL);
    g_autofree char *owner = NULL;

    lk_test_wait_property (LK_DEVICE_INTERFACE, "State", "unprovisioned");
    owner = lk_test_property (LK_PAIRING_INTERFACE, "Owner");
    g_assert_cmpstr (owner, ==, "");
    g_assert_cmpint (lk_test_token_expires_at (), ==, 0);
    g_assert_false (g_file_test (f->grant_path, G_FILE_TEST_EXISTS));
    g_assert_cmpint (lk_test_daemon_stop (daemon), ==, 0);
    log = lk_test_daemon_log (daemon);
  }
  g_assert_nonnull (strstr (log, ": warning: grant: the authorization server no longer honours the owner's grant "
                                 "(invalid_grant): it was revoked, or its refresh token replayed: the device is "
                                 "unpaired\n"));
}

/* Unpair revokes the refresh token at the server: a copy of the grant is worthless afterwards. */
static void
test_unpair_revokes (Fixture *f, gconstpointer data)
{
  const char *unpair[] = { "unpair", NULL };
  g_autoptr (GBytes) copy = NULL;
  g_autofree char *out = NULL;
  g_autofree char *log = NULL;

  {
    g_autoptr (LkTestDaemon) daemon = lk_test_daemon_start (f->config, NULL);

    lk_test_pair (f->provider, "alice");
    /* Taken once the first refresh is done, so the copy holds the current refresh token. */
    lk_test_wait_refreshed (0);
    copy = copy_grant (f);
    g_assert_cmpint (lk_test_run_built ("latchkeyctl", unpair, &out, NULL), ==, 0);
    g_assert_cmpstr (out, ==, "Unpaired: the owner's grant is deleted here and revoked at the authorization "
                              "server.\n");
    g_assert_false (g_file_test (f->grant_path, G_FILE_TEST_EXISTS));
    g_assert_cmpint (lk_test_daemon_stop (daemon), ==, 0);
    log = lk_test_daemon_log (daemon);
    g_assert_nonnull (strstr (log, ": notice: pairing: unpaired: the owner's grant is deleted and revoked at https://"));
  }
  restore_grant (f, copy);
  {
    g_autoptr (LkTestDaemon) daemon = lk_test_daemon_start (f->config, NULL);

    lk_test_wait_property (LK_DEVICE_INTERFACE, "State", "unprovisioned");
    g_assert_false (g_file_test (f->grant_path, G_FILE_TEST_EXISTS));
    g_assert_cmpint (lk_test_daemon_stop (daemon), ==, 0);
  }
}

/* Offline, Unpair still forgets the grant here, and says the server was not told. */
static void
test_unpair_offline (Fixture *f, gconstpointer data)
{
  g_autoptr (LkTestDaemon) daemon = lk_test_daemon_start (f->config, NULL);
  const char *unpair[] = { "unpair", NULL };
  g_autofree char *out = NULL;
  g_autofree char *state = NULL;
  g_autofree char *log = NULL;

  lk_test_pair (f->provider, "alice");
  g_clear_pointer (&f->provider, lk_test_peer_free);
  g_assert_cmpint (lk_test_run_built ("latchkeyctl", unpair, &out, NULL), ==, 0);
  g_assert_cmpstr (out, ==, "Unpaired: the owner's grant is deleted here, but the authorization server did not "
                            "revoke it (see latchkeyd's log).\n");
  state = lk_test_device_property ("State");
  g_assert_cmpstr (state, ==, "unprovisioned");
  g_assert_false (g_file_test (f->grant_path, G_FILE_TEST_EXISTS));
  g_assert_cmpint (lk_test_daemon_stop (daemon), ==, 0);
  log = lk_test_daemon_log (daemon);
  g_assert_nonnull (strstr (log, ": warning: pairing: unpaired: the owner's grant is deleted, but https://"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, options, func) g_test_add (name, Fixture, options, fixture_setup, func, fixture_teardown)
  ADD ("/grant-bus/refresh-before-expiry", "\"accessTokenTtl\": 4", test_refresh_before_expiry);
  ADD ("/grant-bus/rotation-survives-restart", "\"accessTokenTtl\": 4", test_rotation_survives_restart);
  ADD ("/grant-bus/replay-unpairs", NULL, test_replay_unpairs);
  ADD ("/grant-bus/unpair-revokes", NULL, test_unpair_revokes);
  ADD ("/grant-bus/unpair-offline", NULL, test_unpair_offline);
#undef ADD

  return g_test_run ();
}
