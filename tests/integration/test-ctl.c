/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <json-glib/json-glib.h>
#include <glib/gstdio.h>
#include <sysexits.h>

#include "bus-open.h"
#include "latchkey-names.h"
#include "testlib.h"

static int
run_ctl (const char *const *args, char **ret_out, char **ret_err)
{
  return lk_test_run_built ("latchkeyctl", args, ret_out, ret_err);
}

static void
test_status_human (void)
{
  /* A key file belongs to one backend: this one gets a state dir of its own. */
  g_autofree char *state = lk_test_path ("software-state");
  g_autofree char *state_arg = g_strdup_printf ("--state-dir=%s", state);
  g_autoptr (LkTestDaemon) daemon = NULL;
  g_autofree char *thumbprint = NULL;
  const char *args[] = { "status", NULL };
  g_autofree char *out = NULL, *err = NULL, *expected = NULL;

  g_assert_cmpint (g_mkdir (state, 0700), ==, 0);
  daemon = lk_test_daemon_start ("[Device]\nKeyBackend=software\n", state_arg, NULL);
  thumbprint = lk_test_device_property ("KeyThumbprint");
  g_assert_cmpint (run_ctl (args, &out, &err), ==, 0);
  g_assert_cmpstr (err, ==, "");
  expected = g_strdup_printf ("latchkeyd on the system bus\n"
                              "  Version         " PACKAGE_VERSION "\n"
                              "  State           unprovisioned\n"
                              "  Key backend     software\n"
                              "  Key algorithm   ES256\n"
                              "  Key thumbprint  %s\n"
                              "  Log level       info\n", thumbprint);
  g_assert_cmpstr (out, ==, expected);
  g_assert_cmpint (lk_test_daemon_stop (daemon), ==, 0);
}

static void
test_status_json (void)
{
  g_autoptr (LkTestDaemon) daemon = lk_test_daemon_start ("[Daemon]\nLogLevel=notice\n", NULL);
  g_autofree char *thumbprint = lk_test_device_property ("KeyThumbprint");
  const char *args[] = { "status", "--json", NULL };
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  JsonObject *object;

  g_assert_cmpint (run_ctl (args, &out, &err), ==, 0);
  g_assert_cmpstr (err, ==, "");
  json_parser_load_from_data (parser, out, -1, &error);
  g_assert_no_error (error);
  object = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (object, "version"), ==, PACKAGE_VERSION);
  g_assert_cmpstr (json_object_get_string_member (object, "state"), ==, "unprovisioned");
  g_assert_cmpstr (json_object_get_string_member (object, "key_backend"), ==, "tpm2");
  g_assert_cmpstr (json_object_get_string_member (object, "key_algorithm"), ==, "ES256");
  g_assert_cmpstr (json_object_get_string_member (object, "key_thumbprint"), ==, thumbprint);
  g_assert_cmpstr (json_object_get_string_member (object, "log_level"), ==, "notice");
  g_assert_cmpuint (json_object_get_size (object), ==, 6);
  g_assert_cmpint (lk_test_daemon_stop (daemon), ==, 0);
}

static void
test_daemon_not_running (void)
{
  const char *args[] = { "status", NULL };
  g_autofree char *out = NULL, *err = NULL;

  g_assert_cmpint (run_ctl (args, &out, &err), ==, EX_UNAVAILABLE);
  g_assert_cmpstr (out, ==, "");
  g_assert_cmpstr (err, ==, "latchkeyctl: latchkeyd is not running on the system bus "
                            "(no owner of io.latchkey.Agent1)\n");
}

static void
test_bus_unreachable (void)
{
  g_autofree char *socket = lk_test_path ("no-bus");
  g_autofree char *bus_arg = g_strdup_printf ("--bus=unix:path=%s", socket);
  const char *args[] = { bus_arg, "status", NULL };
  g_autofree char *out = NULL, *err = NULL, *expected = NULL;

  g_assert_cmpint (run_ctl (args, &out, &err), ==, EX_UNAVAILABLE);
  expected = g_strdup_printf ("latchkeyctl: cannot connect to the unix:path=%s: No such file or directory\n",
                              socket);
  g_assert_cmpstr (err, ==, expected);
}

static void
test_usage (void)
{
  const char *none[] = { NULL };
  const char *unknown[] = { "frobnicate", NULL };
  const char *bad_option[] = { "status", "--yaml", NULL };
  g_autofree char *err = NULL;

  g_assert_cmpint (run_ctl (none, NULL, &err), ==, EX_USAGE);
  g_assert_cmpstr (err, ==, "latchkeyctl: no command given (try --help)\n");
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_ctl (unknown, NULL, &err), ==, EX_USAGE);
  g_assert_cmpstr (err, ==, "latchkeyctl: unknown command “frobnicate” (try --help)\n");
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_ctl (bad_option, NULL, &err), ==, EX_USAGE);
  g_assert_cmpstr (err, ==, "latchkeyctl status: Unknown option --yaml\n");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/ctl/status-human", test_status_human);
  g_test_add_func ("/ctl/status-json", test_status_json);
  g_test_add_func ("/ctl/daemon-not-running", test_daemon_not_running);
  g_test_add_func ("/ctl/bus-unreachable", test_bus_unreachable);
  g_test_add_func ("/ctl/usage", test_usage);

  return g_test_run ();
}
