/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Pairing approved in a real browser: the owner opens the verification
 * URL in headless Chromium and clicks through the provider's pages as a
 * person would (tests/oidc/browser-approve.mjs), so what the daemon shows
 * is checked against what a browser does with it, not only against a
 * scripted HTTP client.
 */
#include "config.h"

#include <string.h>

#include "grant.h"
#include "testlib.h"

/*
 * What the provider's secrets look like: device codes, access and refresh
 * tokens are 43 base64url characters, ID tokens are runs of them joined by
 * dots. The device's key thumbprint (RFC 7638) looks the same but is public.
 */
#define SECRET_LIKE "[A-Za-z0-9_-]{32,}"

static void
test_approve_in_browser (void)
{
  g_autoptr (LkTestPeer) provider = lk_test_peer_start ("oidc", "oidc", LK_TEST_CLIENTS, NULL);
  g_autofree char *pairing = lk_test_provider_config (provider);
  /* The most verbose log is where a secret would show first. */
  g_autofree char *config = g_strconcat ("[Daemon]\nLogLevel=debug\n", pairing, NULL);
  g_autoptr (LkTestDaemon) daemon = lk_test_daemon_start (config, NULL);
  const char *state_dir = lk_test_env ("LATCHKEY_TEST_STATE_DIR");
  const char *args[] = { "pair", "--no-wait", NULL };
  g_autofree char *code = NULL, *uri = NULL, *expected_uri = NULL, *owner = NULL, *thumbprint = NULL;
  g_autofree char *log = NULL;
  g_autoptr (LkKeystore) keystore = NULL;
  g_autoptr (LkGrant) kept = NULL;
  g_autoptr (GRegex) secret_like = NULL;
  g_autoptr (GMatchInfo) match = NULL;
  g_autoptr (GError) error = NULL;
  guint thumbprints = 0;
  gint64 started;

  g_assert_cmpint (lk_test_run_built ("latchkeyctl", args, NULL, NULL), ==, 0);
  lk_test_wait_property (LK_PAIRING_INTERFACE, "State", "waiting");
  code = lk_test_property (LK_PAIRING_INTERFACE, "UserCode");
  uri = lk_test_property (LK_PAIRING_INTERFACE, "VerificationUriComplete");
  expected_uri = g_strdup_printf ("%s/device?user_code=%s", lk_test_peer_get (provider, "OIDC_ISSUER"), code);
  g_assert_cmpstr (uri, ==, expected_uri);

  /* A login a person types, with characters a form must encode. */
  started = g_get_monotonic_time ();
  g_assert_true (lk_test_approve_with (provider, "browser-approve.mjs", uri, "carol+display@example.org", FALSE));
  g_test_message ("approved in Chromium in %.1f s", (g_get_monotonic_time () - started) / (double) G_USEC_PER_SEC);

  lk_test_wait_property (LK_DEVICE_INTERFACE, "State", "paired");
  lk_test_wait_property (LK_PAIRING_INTERFACE, "State", "approved");
  owner = lk_test_property (LK_PAIRING_INTERFACE, "Owner");
  g_assert_cmpstr (owner, ==, "carol+display@example.org");
  thumbprint = lk_test_device_property ("KeyThumbprint");

  g_assert_cmpint (lk_test_daemon_stop (daemon), ==, 0);
  log = lk_test_daemon_log (daemon);
  g_assert_nonnull (strstr (log, ": notice: pairing: paired with carol+display@example.org "
                                 "(sub carol+display@example.org) at "));

  /* The refresh token, read back as the daemon would, has the shape looked for below. */
  keystore = lk_keystore_open (LK_KEYSTORE_TPM2, state_dir, lk_test_env ("LATCHKEY_TEST_TCTI"), &error);
  g_assert_no_error (error);
  kept = lk_grant_load (keystore, state_dir, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (kept->owner_subject, ==, "carol+display@example.org");
  g_assert_true (g_regex_match_simple ("^" SECRET_LIKE "$", kept->refresh_token, 0, 0));

  /* Nothing in the log looks like a secret but the key's thumbprint: no device code, no token. */
  secret_like = g_regex_new (SECRET_LIKE, 0, 0, &error);
  g_assert_no_error (error);
  g_regex_match (secret_like, log, 0, &match);
  for (; g_match_info_matches (match); g_match_info_next (match, NULL))
    {
      g_autofree char *word = g_match_info_fetch (match, 0);

      g_assert_cmpstr (word, ==, thumbprint);
      thumbprints++;
    }
  /* The daemon names its key once, when it creates it: the check above did see the log. */
  g_assert_cmpuint (thumbprints, ==, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/pairing-browser/approve-in-browser", test_approve_in_browser);

  return g_test_run ();
}
