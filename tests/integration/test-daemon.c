/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <grp.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <gio/gunixsocketaddress.h>

#include "bus-open.h"
#include "latchkey-names.h"
#include "testlib.h"

/*
 * The daemon's identity on the TPM has tests of its own (test-identity);
 * here the software backend lets two daemons run at once, which a swtpm,
 * serving one client at a time, would not.
 */
#define BASIC_CONFIG "[Daemon]\nLogLevel=info\n[Device]\nKeyBackend=software\n"

/* Runs latchkeyd to completion, expecting it to fail at startup. */
static int
run_daemon_expecting_failure (const char *const *args, char **ret_stderr)
{
  return lk_test_run_built ("latchkeyd", args, NULL, ret_stderr);
}

static void
test_serves_device (void)
{
  _cleanup_ (sd_bus_flush_close_unrefp) sd_bus *bus = lk_test_bus ();
  g_autoptr (LkTestDaemon) daemon = lk_test_daemon_start (BASIC_CONFIG, NULL);
  g_autofree char *version = lk_test_device_property ("Version");
  g_autofree char *state = lk_test_device_property ("State");
  g_autofree char *backend = lk_test_device_property ("KeyBackend");
  g_autofree char *level = lk_test_device_property ("LogLevel");
  g_autofree char *algorithm = lk_test_device_property ("KeyAlgorithm");
  g_autofree char *thumbprint = lk_test_device_property ("KeyThumbprint");
  g_autofree char *log = NULL;

  g_assert_cmpstr (version, ==, PACKAGE_VERSION);
  g_assert_cmpstr (algorithm, ==, "ES256");
  /* base64url of a SHA-256 digest, unpadded. */
  g_assert_cmpuint (strlen (thumbprint), ==, 43);
  g_assert_cmpuint (strspn (thumbprint, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), ==, 43);
  g_assert_cmpstr (state, ==, "unprovisioned");
  g_assert_cmpstr (backend, ==, "software");
  g_assert_cmpstr (level, ==, "info");

  /* Nobody ships the software backend by accident. */
  log = lk_test_daemon_log (daemon);
  g_assert_nonnull (strstr (log, ": warning: identity: KeyBackend=software keeps the device key in a file"));

  g_assert_cmpint (lk_test_daemon_stop (daemon), ==, 0);
  g_assert_false (lk_test_name_has_owner (bus, LK_BUS_NAME));
}

static void
test_second_instance_refused (void)
{
  g_autoptr (LkTestDaemon) daemon = lk_test_daemon_start (BASIC_CONFIG, NULL);
  g_autofree char *config = lk_test_write_file ("second.conf", BASIC_CONFIG);
  g_autofree char *config_arg = g_strdup_printf ("--config=%s", config);
  const char *state_dir = lk_test_env ("LATCHKEY_TEST_STATE_DIR");
  g_autofree char *state_arg = g_strdup_printf ("--state-dir=%s", state_dir);
  g_autofree char *other_state = lk_test_path ("other-state");
  g_autofree char *other_state_arg = g_strdup_printf ("--state-dir=%s", other_state);
  g_autofree char *expected = NULL;
  g_autofree char *err = NULL;

  /* On the same state dir: refused before it touches keys or the bus. */
  {
    const char *args[] = { config_arg, state_arg, NULL };
    g_assert_cmpint (run_daemon_expecting_failure (args, &err), ==, 1);
    expected = g_strdup_printf ("latchkeyd: state directory %s is in use by another latchkeyd\n", state_dir);
    g_assert_cmpstr (err, ==, expected);
  }
  g_clear_pointer (&err, g_free);

  /* With a state dir of its own: the bus name is taken. */
  {
    const char *args[] = { config_arg, other_state_arg, NULL };
    g_assert_cmpint (g_mkdir (other_state, 0700), ==, 0);
    g_assert_cmpint (run_daemon_expecting_failure (args, &err), ==, 1);
    /* After the log lines of loading its key. */
    g_assert_true (g_str_has_suffix (err, "\nlatchkeyd: io.latchkey.Agent1 is already owned on the system bus: "
                                          "is another latchkeyd running?\n"));
  }

  /* The first one is untouched. */
  g_assert_cmpint (lk_test_daemon_stop (daemon), ==, 0);
}

/* Reads one datagram from @socket, waiting up to ten seconds. */
static char *
receive_notification (GSocket *socket)
{
  g_autoptr (GError) error = NULL;
  char buffer[4096];
  gssize n;

  g_socket_set_timeout (socket, 10);
  n = g_socket_receive (socket, buffer, sizeof buffer - 1, NULL, &error);
  g_assert_no_error (error);
  buffer[n] = '\0';
  return g_strdup (buffer);
}

static void
test_notifies_systemd (void)
{
  g_autofree char *path = lk_test_path ("notify");
  g_autoptr (GSocketAddress) address = g_unix_socket_address_new (path);
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocket) socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_DATAGRAM,
                                             G_SOCKET_PROTOCOL_DEFAULT, &error);
  g_autoptr (LkTestDaemon) daemon = NULL;
  g_autofree char *ready = NULL, *stopping = NULL;

  g_assert_no_error (error);
  g_socket_bind (socket, address, FALSE, &error);
  g_assert_no_error (error);

  /* As systemd does for Type=notify: the daemon finds the socket in its environment. */
  g_setenv ("NOTIFY_SOCKET", path, TRUE);
  daemon = lk_test_daemon_start (BASIC_CONFIG, NULL);
  g_unsetenv ("NOTIFY_SOCKET");

  ready = receive_notification (socket);
  g_assert_cmpstr (ready, ==, "READY=1\nSTATUS=Serving");
  g_subprocess_send_signal (daemon->process, SIGTERM);
  stopping = receive_notification (socket);
  g_assert_cmpstr (stopping, ==, "STOPPING=1");
  g_assert_cmpint (lk_test_wait (daemon->process), ==, 0);
}

static void
test_sigint_exits_cleanly (void)
{
  _cleanup_ (sd_bus_flush_close_unrefp) sd_bus *bus = lk_test_bus ();
  g_autoptr (LkTestDaemon) daemon = lk_test_daemon_start (BASIC_CONFIG, NULL);
  g_autofree char *log = NULL;

  g_subprocess_send_signal (daemon->process, SIGINT);
  g_assert_cmpint (lk_test_wait (daemon->process), ==, 0);
  g_assert_false (lk_test_name_has_owner (bus, LK_BUS_NAME));
  log = lk_test_daemon_log (daemon);
  g_assert_nonnull (strstr (log, ": info: daemon: stopping on signal\n"));
}

static void
test_bad_config (void)
{
  g_autofree char *state_arg = g_strdup_printf ("--state-dir=%s", lk_test_env ("LATCHKEY_TEST_STATE_DIR"));
  g_autofree char *bad = lk_test_write_file ("bad.conf", "[Daemon]\nLogLevel=loud\n");
  g_autofree char *bad_arg = g_strdup_printf ("--config=%s", bad);
  g_autofree char *absent = lk_test_path ("absent.conf");
  g_autofree char *absent_arg = g_strdup_printf ("--config=%s", absent);
  g_autofree char *expected = NULL;
  g_autofree char *err = NULL;
  _cleanup_ (sd_bus_flush_close_unrefp) sd_bus *bus = lk_test_bus ();

  {
    const char *args[] = { bad_arg, state_arg, NULL };
    g_assert_cmpint (run_daemon_expecting_failure (args, &err), ==, EX_CONFIG);
    expected = g_strdup_printf ("latchkeyd: %s: [Daemon] LogLevel: “loud” is not one of: "
                                "warning, notice, info, debug\n", bad);
    g_assert_cmpstr (err, ==, expected);
  }
  g_clear_pointer (&err, g_free);
  g_clear_pointer (&expected, g_free);
  {
    const char *args[] = { absent_arg, state_arg, NULL };
    g_assert_cmpint (run_daemon_expecting_failure (args, &err), ==, EX_CONFIG);
    expected = g_strdup_printf ("latchkeyd: %s: cannot read configuration: Failed to open file “%s”: "
                                "No such file or directory\n", absent, absent);
    g_assert_cmpstr (err, ==, expected);
  }
  g_clear_pointer (&err, g_free);
  {
    g_autofree char *unknown_group = lk_test_write_file ("group.conf", "[Daemon]\nAdminGroup=no-such-group-lk\n");
    g_autofree char *arg = g_strdup_printf ("--config=%s", unknown_group);
    const char *args[] = { arg, state_arg, NULL };
    g_assert_cmpint (run_daemon_expecting_failure (args, &err), ==, EX_CONFIG);
    g_assert_cmpstr (err, ==, "latchkeyd: admin group “no-such-group-lk”: no such group\n");
  }
  /* It never got as far as the bus. */
  g_assert_false (lk_test_name_has_owner (bus, LK_BUS_NAME));
}

static void
test_bad_state_dir (void)
{
  g_autofree char *config = lk_test_write_file ("ok.conf", BASIC_CONFIG);
  g_autofree char *config_arg = g_strdup_printf ("--config=%s", config);
  g_autofree char *missing = lk_test_path ("no-state");
  g_autofree char *open_dir = lk_test_path ("open-state");
  g_autofree char *expected = NULL;
  g_autofree char *err = NULL;

  {
    g_autofree char *arg = g_strdup_printf ("--state-dir=%s", missing);
    const char *args[] = { config_arg, arg, NULL };
    g_assert_cmpint (run_daemon_expecting_failure (args, &err), ==, EX_CONFIG);
    expected = g_strdup_printf ("latchkeyd: state directory %s: No such file or directory\n", missing);
    g_assert_cmpstr (err, ==, expected);
  }
  g_clear_pointer (&err, g_free);
  g_clear_pointer (&expected, g_free);
  {
    g_autofree char *arg = g_strdup_printf ("--state-dir=%s", open_dir);
    const char *args[] = { config_arg, arg, NULL };
    g_assert_cmpint (g_mkdir (open_dir, 0755), ==, 0);
    g_assert_cmpint (g_chmod (open_dir, 0755), ==, 0);
    g_assert_cmpint (run_daemon_expecting_failure (args, &err), ==, EX_CONFIG);
    expected = g_strdup_printf ("latchkeyd: state directory %s: mode 0755 gives access to other users "
                                "(expected 0700)\n", open_dir);
    g_assert_cmpstr (err, ==, expected);
  }
  g_clear_pointer (&err, g_free);
  g_clear_pointer (&expected, g_free);
  {
    /* A state dir the daemon's user cannot write: read-only to its owner. */
    g_autofree char *arg = g_strdup_printf ("--state-dir=%s", open_dir);
    const char *args[] = { config_arg, arg, NULL };
    g_assert_cmpint (g_chmod (open_dir, 0500), ==, 0);
    if (geteuid () == 0)
      {
        /*
         * Root writes through modes: run the daemon as nobody, who owns
         * nothing here, from a copy nobody can execute wherever the tree is.
         */
        g_autofree char *built = lk_test_built ("latchkeyd");
        g_autofree char *daemon_path = lk_test_path ("latchkeyd");
        g_autoptr (GFile) from = g_file_new_for_path (built);
        g_autoptr (GFile) to = g_file_new_for_path (daemon_path);
        g_autoptr (GError) error = NULL;
        g_autofree char *nobody_config = lk_test_write_file ("nobody.conf", BASIC_CONFIG);
        g_autofree char *nobody_config_arg = g_strdup_printf ("--config=%s", nobody_config);
        g_autofree char *nobody_state = lk_test_path ("nobody-state");
        g_autofree char *nobody_state_arg = g_strdup_printf ("--state-dir=%s", nobody_state);
        const char *argv[] = { "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                               daemon_path, nobody_config_arg, nobody_state_arg, NULL };

        g_file_copy (from, to, G_FILE_COPY_NONE, NULL, NULL, NULL, &error);
        g_assert_no_error (error);
        g_assert_cmpint (g_chmod (daemon_path, 0755), ==, 0);
        g_assert_cmpint (g_chmod (nobody_config, 0644), ==, 0);
        g_assert_cmpint (g_mkdir (nobody_state, 0700), ==, 0);
        g_assert_cmpint (lk_test_run (argv, NULL, &err), ==, EX_CONFIG);
        expected = g_strdup_printf ("latchkeyd: state directory %s: Permission denied\n", nobody_state);
      }
    else
      {
        g_assert_cmpint (run_daemon_expecting_failure (args, &err), ==, EX_CONFIG);
        expected = g_strdup_printf ("latchkeyd: state directory %s is not writable: Permission denied\n",
                                    open_dir);
      }
    g_assert_cmpstr (err, ==, expected);
  }
}

static void
test_access_denied (void)
{
  g_autoptr (LkTestDaemon) daemon = lk_test_daemon_start (BASIC_CONFIG, NULL);
  /* Root is an admin; anybody else without the admin group is not. */
  int caller = geteuid () == 0 ? 65534 : -1;
  unsigned denied_uid = geteuid () == 0 ? 65534 : geteuid ();
  g_autofree char *result = lk_test_call (caller, LK_DEVICE_INTERFACE, "SetLogLevel", "debug");
  g_autofree char *log = NULL;
  g_autofree char *expected_log = NULL;
  g_autofree char *level = NULL;

  g_assert_cmpstr (result, ==, "error org.freedesktop.DBus.Error.AccessDenied: "
                               "io.latchkey.Agent1.Device.SetLogLevel: access denied");

  /* Logged with who asked, and the daemon keeps serving. */
  log = lk_test_daemon_log (daemon);
  expected_log = g_strdup_printf (": warning: authz: denied io.latchkey.Agent1.Device.SetLogLevel to uid %u pid ",
                                  denied_uid);
  g_assert_nonnull (strstr (log, expected_log));
  g_assert_nonnull (strstr (log, "(permission not held)"));
  level = lk_test_device_property ("LogLevel");
  g_assert_cmpstr (level, ==, "info");

  /* An unknown method is an error, never a silent success. */
  g_free (result);
  result = lk_test_call (caller, LK_DEVICE_INTERFACE, "NoSuchMethod", NULL);
  g_assert_true (g_str_has_prefix (result, "error org.freedesktop.DBus.Error.UnknownMethod: "));

  g_assert_cmpint (lk_test_daemon_stop (daemon), ==, 0);
}

static void
test_admin_sets_log_level (void)
{
  g_autofree char *config = NULL;
  g_autoptr (LkTestDaemon) daemon = NULL;
  g_autofree char *result = NULL;
  g_autofree char *level = NULL;
  g_autofree char *log = NULL;
  struct group *gr = getgrgid (getegid ());

  /* A non-root tester is an admin through its own primary group. */
  g_assert_nonnull (gr);
  config = g_strdup_printf ("[Daemon]\nLogLevel=warning\nAdminGroup=%s\n[Device]\nKeyBackend=software\n",
                            gr->gr_name);
  daemon = lk_test_daemon_start (config, NULL);

  result = lk_test_call (-1, LK_DEVICE_INTERFACE, "SetLogLevel", "loud");
  g_assert_cmpstr (result, ==, "error org.freedesktop.DBus.Error.InvalidArgs: "
                               "unknown log level “loud” (expected one of: warning, notice, info, debug)");
  g_free (result);

  result = lk_test_call (-1, LK_DEVICE_INTERFACE, "SetLogLevel", "debug");
  g_assert_cmpstr (result, ==, "ok");
  level = lk_test_device_property ("LogLevel");
  g_assert_cmpstr (level, ==, "debug");

  log = lk_test_daemon_log (daemon);
  g_assert_nonnull (strstr (log, ": notice: device: log level set to debug by uid "));
  g_assert_cmpint (lk_test_daemon_stop (daemon), ==, 0);
}

static void
test_usage (void)
{
  const char *args[] = { "--no-such-option", NULL };
  const char *extra[] = { "surplus", NULL };
  g_autofree char *err = NULL;

  g_assert_cmpint (run_daemon_expecting_failure (args, &err), ==, EX_USAGE);
  g_assert_cmpstr (err, ==, "latchkeyd: Unknown option --no-such-option\n");
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_daemon_expecting_failure (extra, &err), ==, EX_USAGE);
  g_assert_cmpstr (err, ==, "latchkeyd: unexpected argument “surplus”\n");
}

static void
test_bus_option (void)
{
  _cleanup_ (sd_bus_flush_close_unrefp) sd_bus *bus = lk_test_bus ();
  g_autofree char *address = g_strdup_printf ("--bus=%s", lk_test_env ("DBUS_SYSTEM_BUS_ADDRESS"));
  g_autoptr (LkTestDaemon) daemon = NULL;
  g_autofree char *config = lk_test_write_file ("bus.conf", BASIC_CONFIG);
  g_autofree char *config_arg = g_strdup_printf ("--config=%s", config);
  g_autofree char *state_arg = g_strdup_printf ("--state-dir=%s", lk_test_env ("LATCHKEY_TEST_STATE_DIR"));
  g_autofree char *missing = lk_test_path ("no-bus-here");
  g_autofree char *missing_arg = g_strdup_printf ("--bus=unix:path=%s", missing);
  g_autofree char *expected = NULL;
  g_autofree char *err = NULL;

  /* An explicit address serves there. */
  daemon = lk_test_daemon_start (BASIC_CONFIG, address, NULL);
  g_assert_true (lk_test_name_has_owner (bus, LK_BUS_NAME));
  g_assert_cmpint (lk_test_daemon_stop (daemon), ==, 0);

  /* An unreachable one is named in the error. */
  {
    const char *args[] = { config_arg, state_arg, missing_arg, NULL };
    g_assert_cmpint (run_daemon_expecting_failure (args, &err), ==, 1);
    expected = g_strdup_printf ("\nlatchkeyd: cannot connect to the unix:path=%s: No such file or directory\n",
                                missing);
    g_assert_true (g_str_has_suffix (err, expected));
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/daemon/serves-device", test_serves_device);
  g_test_add_func ("/daemon/second-instance-refused", test_second_instance_refused);
  g_test_add_func ("/daemon/notifies-systemd", test_notifies_systemd);
  g_test_add_func ("/daemon/sigint-exits-cleanly", test_sigint_exits_cleanly);
  g_test_add_func ("/daemon/bad-config", test_bad_config);
  g_test_add_func ("/daemon/bad-state-dir", test_bad_state_dir);
  g_test_add_func ("/daemon/access-denied", test_access_denied);
  g_test_add_func ("/daemon/admin-sets-log-level", test_admin_sets_log_level);
  g_test_add_func ("/daemon/usage", test_usage);
  g_test_add_func ("/daemon/bus-option", test_bus_option);

  return g_test_run ();
}
