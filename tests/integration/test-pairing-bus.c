/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Pairing through the daemon: an admin starts it over D-Bus, the owner
 * approves on their phone, the grant is sealed by the TPM and survives a
 * restart, and unpairing forgets it.
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bus-open.h"
#include "grant.h"
#include "testlib.h"


static int
on_properties_changed (sd_bus_message *m, void *userdata, sd_bus_error *error)
{
  char **state = userdata;
  const char *interface, *name, *value;

  if (sd_bus_message_read (m, "s", &interface) < 0 || !g_str_equal (interface, LK_DEVICE_INTERFACE)
      || sd_bus_message_enter_container (m, SD_BUS_TYPE_ARRAY, "{sv}") < 0)
    return 0;
  while (sd_bus_message_enter_container (m, SD_BUS_TYPE_DICT_ENTRY, "sv") > 0)
    {
      if (sd_bus_message_read (m, "s", &name) >= 0 && g_str_equal (name, "State")
          && sd_bus_message_read (m, "v", "s", &value) >= 0)
        *state = g_strdup (value);
      else
        sd_bus_message_skip (m, "v");
      sd_bus_message_exit_container (m);
    }
  return 0;
}

/* Processes @bus until on_properties_changed() filled @state. */
static void
wait_state_signal (sd_bus *bus, char **state)
{
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  while (*state == NULL)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      if (sd_bus_process (bus, NULL) == 0)
        sd_bus_wait (bus, 100 * 1000);
    }
}

static void
test_pair_restart_unpair (void)
{
  g_autoptr (LkTestPeer) provider = lk_test_peer_start ("oidc", "oidc", LK_TEST_CLIENTS, NULL);
  g_autofree char *config = lk_test_provider_config (provider);
  g_autofree char *grant = g_build_filename (lk_test_env ("LATCHKEY_TEST_STATE_DIR"), "grant.sealed", NULL);
  g_autofree char *result = NULL, *uri = NULL, *owner = NULL, *sealed = NULL, *log = NULL;
  g_autoptr (GError) error = NULL;
  struct stat st;

  {
    g_autoptr (LkTestDaemon) daemon = lk_test_daemon_start (config, NULL);

    /* Starting a pairing is for admins; root is one, nobody is not. */
    if (geteuid () == 0)
      {
        result = lk_test_call (65534, LK_PAIRING_INTERFACE, "Start", NULL);
        g_assert_cmpstr (result, ==, "error org.freedesktop.DBus.Error.AccessDenied: "
                                     "io.latchkey.Agent1.Pairing.Start: access denied");
        g_clear_pointer (&result, g_free);
      }

    result = lk_test_call (-1, LK_PAIRING_INTERFACE, "Start", NULL);
    g_assert_cmpstr (result, ==, "ok");
    lk_test_wait_property (LK_PAIRING_INTERFACE, "State", "waiting");
    g_clear_pointer (&result, g_free);
    result = lk_test_call (-1, LK_PAIRING_INTERFACE, "Start", NULL);
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

    g_assert_cmpint (lk_test_daemon_stop (daemon), ==, 0);
    log = lk_test_daemon_log (daemon);
    g_assert_nonnull (strstr (log, ": notice: pairing: pairing started by uid "));
    g_assert_nonnull (strstr (log, ": notice: pairing: paired with alice (sub alice) at "));
  }

  /* The refresh token, read back as the daemon would: never in its output, never in clear on disk. */
  {
    const char *state_dir = lk_test_env ("LATCHKEY_TEST_STATE_DIR");
    g_autoptr (LkKeystore) keystore = lk_keystore_open (LK_KEYSTORE_TPM2, state_dir,
                                                        lk_test_env ("LATCHKEY_TEST_TCTI"), &error);
    g_autoptr (LkGrant) kept = NULL;

    g_assert_no_error (error);
    kept = lk_grant_load (keystore, state_dir, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (kept->owner_subject, ==, "alice");
    g_assert_cmpuint (strlen (kept->refresh_token), >, 20);
    g_assert_null (strstr (log, kept->refresh_token));
    g_assert_null (memmem (sealed, st.st_size, kept->refresh_token, strlen (kept->refresh_token)));
  }

  /* A restart keeps the pairing without asking anyone. */
  {
    g_autoptr (LkTestDaemon) daemon = lk_test_daemon_start (config, NULL);
    _cleanup_ (sd_bus_flush_close_unrefp) sd_bus *bus = lk_test_bus ();
    _cleanup_ (sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
    g_autofree char *signalled = NULL;
    g_autofree char *state = lk_test_device_property ("State");
    g_autofree char *still = lk_test_property (LK_PAIRING_INTERFACE, "Owner");

    g_assert_cmpstr (state, ==, "paired");
    g_assert_cmpstr (still, ==, "alice");

    /* Clients learn it from the signal, without asking. */
    g_assert_cmpint (sd_bus_match_signal (bus, &slot, LK_BUS_NAME, LK_OBJECT_PATH,
                                          "org.freedesktop.DBus.Properties", "PropertiesChanged",
                                          on_properties_changed, &signalled), >=, 0);
    g_clear_pointer (&result, g_free);
    result = lk_test_call (-1, LK_PAIRING_INTERFACE, "Unpair", NULL);
    g_assert_cmpstr (result, ==, "ok");
    wait_state_signal (bus, &signalled);
    g_assert_cmpstr (signalled, ==, "unprovisioned");
    g_assert_false (g_file_test (grant, G_FILE_TEST_EXISTS));
    g_assert_cmpint (lk_test_daemon_stop (daemon), ==, 0);
  }
}

/* Runs `latchkeyctl pair ARGS` in the background, its output to collect later. */
static GSubprocess *
spawn_pair (const char *arg)
{
  g_autofree char *ctl = lk_test_built ("latchkeyctl");
  const char *argv[] = { ctl, "pair", arg, NULL };
  g_autoptr (GError) error = NULL;
  GSubprocess *process = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                                            &error);

  g_assert_no_error (error);
  return process;
}

static void
test_cli_pair_and_unpair (void)
{
  g_autoptr (LkTestPeer) provider = lk_test_peer_start ("oidc", "oidc", LK_TEST_CLIENTS, NULL);
  g_autofree char *config = lk_test_provider_config (provider);
  g_autoptr (LkTestDaemon) daemon = lk_test_daemon_start (config, NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GSubprocess) pair = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *out = NULL, *err = NULL, *uri = NULL;
  const char *unpair[] = { "unpair", NULL };
  JsonObject *object;

  /* Waiting until the owner answers, then the outcome as JSON. */
  pair = spawn_pair ("--json");
  lk_test_wait_property (LK_PAIRING_INTERFACE, "State", "waiting");
  uri = lk_test_property (LK_PAIRING_INTERFACE, "VerificationUriComplete");
  g_assert_true (lk_test_approve (provider, uri, "alice", FALSE));
  g_subprocess_communicate_utf8 (pair, NULL, NULL, &out, &err, &error);
  g_assert_no_error (error);
  g_assert_cmpint (lk_test_wait (pair), ==, 0);
  json_parser_load_from_data (parser, out, -1, &error);
  g_assert_no_error (error);
  object = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (object, "state"), ==, "approved");
  g_assert_cmpstr (json_object_get_string_member (object, "owner"), ==, "alice");

  g_clear_pointer (&out, g_free);
  g_assert_cmpint (lk_test_run_built ("latchkeyctl", unpair, &out, NULL), ==, 0);
  g_assert_cmpstr (out, ==, "Unpaired: the owner's grant is deleted here and revoked at the authorization "
                            "server.\n");

  /* Refused on the phone: the command fails and says why. */
  g_clear_object (&pair);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_clear_pointer (&uri, g_free);
  pair = spawn_pair ("--json");
  lk_test_wait_property (LK_PAIRING_INTERFACE, "State", "waiting");
  uri = lk_test_property (LK_PAIRING_INTERFACE, "VerificationUriComplete");
  g_assert_true (lk_test_approve (provider, uri, "alice", TRUE));
  g_subprocess_communicate_utf8 (pair, NULL, NULL, &out, &err, &error);
  g_assert_no_error (error);
  g_assert_cmpint (lk_test_wait (pair), ==, 1);
  g_assert_nonnull (strstr (out, "\"state\" : \"denied\""));
  g_assert_nonnull (strstr (out, "\"failure\" : \"the owner denied the request\""));

  g_assert_cmpint (lk_test_daemon_stop (daemon), ==, 0);
}

static void
test_cli_no_wait (void)
{
  g_autoptr (LkTestPeer) provider = lk_test_peer_start ("oidc", "oidc", LK_TEST_CLIENTS, NULL);
  g_autofree char *config = lk_test_provider_config (provider);
  g_autoptr (LkTestDaemon) daemon = lk_test_daemon_start (config, NULL);
  g_autofree char *out = NULL, *err = NULL, *code = NULL, *expected = NULL;
  const char *args[] = { "pair", "--no-wait", NULL };

  g_assert_cmpint (lk_test_run_built ("latchkeyctl", args, &out, &err), ==, 0);
  code = lk_test_property (LK_PAIRING_INTERFACE, "UserCode");
  expected = g_strdup_printf ("To pair this device, open %s/device on your phone and enter the code\n\n    %s\n\n"
                              "or scan:\n\n", lk_test_peer_get (provider, "OIDC_ISSUER"), code);
  g_assert_true (g_str_has_prefix (out, expected));
  /* The QR code: half blocks, one line per two modules. */
  g_assert_nonnull (strstr (out + strlen (expected), "▀"));

  /* A second pairing while one waits is refused. */
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (lk_test_run_built ("latchkeyctl", args, &out, &err), ==, 1);
  g_assert_cmpstr (err, ==, "latchkeyctl: pair: a pairing is already waiting (io.latchkey.Agent1.Error.Busy)\n");
  g_assert_cmpint (lk_test_daemon_stop (daemon), ==, 0);
}

static void
test_not_configured (void)
{
  g_autoptr (LkTestDaemon) daemon = lk_test_daemon_start ("", NULL);
  g_autofree char *result = lk_test_call (-1, LK_PAIRING_INTERFACE, "Start", NULL);
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
  g_test_add_func ("/pairing-bus/cli-pair-and-unpair", test_cli_pair_and_unpair);
  g_test_add_func ("/pairing-bus/cli-no-wait", test_cli_no_wait);
  g_test_add_func ("/pairing-bus/not-configured", test_not_configured);

  return g_test_run ();
}
