/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Pairing through the daemon: an admin starts it over D-Bus, the owner
 * approves on their phone, the grant is sealed by the TPM and survives a
 * restart, and unpairing forgets it.
 */
#include "config.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testlib.h"

#define CLIENT_ID "latchkey-test"
#define CLIENTS "[{\"client_id\": \"" CLIENT_ID "\", \"token_endpoint_auth_method\": \"none\", " \
  "\"grant_types\": [\"urn:ietf:params:oauth:grant-type:device_code\", \"refresh_token\"], " \
  "\"response_types\": [], \"redirect_uris\": []}]"

static char *
call_pairing (int uid, const char *member)
{
  g_autofree char *helper = lk_test_built ("tests/bus-call");
  g_autofree char *uid_str = g_strdup_printf ("%d", uid);
  g_autofree char *out = NULL;
  const char *as_other[] = { helper, "--uid", uid_str, LK_PAIRING_INTERFACE, member, NULL };
  const char *as_self[] = { helper, LK_PAIRING_INTERFACE, member, NULL };

  g_assert_cmpint (lk_test_run (uid >= 0 ? as_other : as_self, &out, NULL), ==, 0);
  return g_strchomp (g_steal_pointer (&out));
}

static void
test_pair_restart_unpair (void)
{
  g_autoptr (LkTestPeer) provider = lk_test_peer_start ("oidc", "oidc", CLIENTS, NULL);
  g_autofree char *config = g_strdup_printf ("[Pairing]\nIssuer=%s\nClientId=" CLIENT_ID "\nTrustAnchors=%s\n",
                                             lk_test_peer_get (provider, "OIDC_ISSUER"),
                                             lk_test_peer_get (provider, "OIDC_CA"));
  g_autofree char *grant = g_build_filename (lk_test_env ("LATCHKEY_TEST_STATE_DIR"), "grant.sealed", NULL);
  g_autofree char *result = NULL, *uri = NULL, *owner = NULL, *sealed = NULL, *log = NULL;
  g_autoptr (GError) error = NULL;
  struct stat st;

  {
    g_autoptr (LkTestDaemon) daemon = lk_test_daemon_start (config, NULL);

    /* Starting a pairing is for admins; root is one, nobody is not. */
    if (geteuid () == 0)
      {
        result = call_pairing (65534, "Start");
        g_assert_cmpstr (result, ==, "error org.freedesktop.DBus.Error.AccessDenied: "
                                     "io.latchkey.Agent1.Pairing.Start: access denied");
        g_clear_pointer (&result, g_free);
      }

    result = call_pairing (-1, "Start");
    g_assert_cmpstr (result, ==, "ok");
    lk_test_wait_property (LK_PAIRING_INTERFACE, "State", "waiting");
    g_clear_pointer (&result, g_free);
    result = call_pairing (-1, "Start");
    g_assert_cmpstr (result, ==, "error io.latchkey.Agent1.Error.Busy: a pairing is already waiting");

    uri = lk_test_property (LK_PAIRING_INTERFACE, "VerificationUriComplete");
    g_assert_true (lk_test_approve (provider, uri, "alice", FALSE));
    lk_test_wait_property (LK_DEVICE_INTERFACE, "State", "paired");
    lk_test_wait_property (LK_PAIRING_INTERFACE, "State", "approved");
    owner = lk_test_property (LK_PAIRING_INTERFACE, "Owner");
    g_assert_cmpstr (owner, ==, "alice");

    /* The grant is sealed by the TPM, readable by the daemon's user alone. */
    g_assert_cmpint (stat (grant, &st), ==, 0);
    g_assert_cmpint (st.st_mode & 07777, ==, 0600);
    g_file_get_contents (grant, &sealed, NULL, &error);
    g_assert_no_error (error);
    g_assert_true (g_str_has_prefix (sealed, "LKSB"));

    log = lk_test_daemon_log (daemon);
    g_assert_nonnull (strstr (log, ": info: pairing: paired with alice at "));
    g_assert_cmpint (lk_test_daemon_stop (daemon), ==, 0);
  }

  /* A restart keeps the pairing without asking anyone. */
  {
    g_autoptr (LkTestDaemon) daemon = lk_test_daemon_start (config, NULL);
    g_autofree char *state = lk_test_device_property ("State");
    g_autofree char *still = lk_test_property (LK_PAIRING_INTERFACE, "Owner");

    g_assert_cmpstr (state, ==, "paired");
    g_assert_cmpstr (still, ==, "alice");

    g_clear_pointer (&result, g_free);
    result = call_pairing (-1, "Unpair");
    g_assert_cmpstr (result, ==, "ok");
    lk_test_wait_property (LK_DEVICE_INTERFACE, "State", "unprovisioned");
    g_assert_false (g_file_test (grant, G_FILE_TEST_EXISTS));
    g_assert_cmpint (lk_test_daemon_stop (daemon), ==, 0);
  }
}

static void
test_not_configured (void)
{
  g_autoptr (LkTestDaemon) daemon = lk_test_daemon_start ("", NULL);
  g_autofree char *result = call_pairing (-1, "Start");
  g_autofree char *state = lk_test_property (LK_PAIRING_INTERFACE, "State");

  g_assert_cmpstr (result, ==, "error io.latchkey.Agent1.Error.Failed: pairing is not configured ([Pairing] Issuer)");
  g_assert_cmpstr (state, ==, "idle");
  g_assert_cmpint (lk_test_daemon_stop (daemon), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/pairing-bus/pair-restart-unpair", test_pair_restart_unpair);
  g_test_add_func ("/pairing-bus/not-configured", test_not_configured);

  return g_test_run ();
}
