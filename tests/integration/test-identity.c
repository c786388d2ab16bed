/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The daemon's device identity on a real TPM (the test's swtpm): created
 * once, kept across restarts, never overwritten when damaged.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

#include "bus-open.h"
#include "latchkey-names.h"
#include "testlib.h"

#define KEY_FILE "device-key.pem"

static char *
key_path (void)
{
  return g_build_filename (lk_test_env ("LATCHKEY_TEST_STATE_DIR"), KEY_FILE, NULL);
}

static void
test_created_once_then_kept (void)
{
  g_autofree char *path = key_path ();
  g_autofree char *first = NULL, *second = NULL, *pem = NULL, *log = NULL;
  g_autoptr (GError) error = NULL;
  struct stat st;

  {
    g_autoptr (LkTestDaemon) daemon = lk_test_daemon_start ("", NULL);
    first = lk_test_device_property ("KeyThumbprint");
    log = lk_test_daemon_log (daemon);
    g_assert_nonnull (strstr (log, ": info: identity: created device key "));
    g_assert_nonnull (strstr (log, "(ES256, tpm2 backend)"));
    g_assert_cmpint (lk_test_daemon_stop (daemon), ==, 0);
  }

  /* The key file is the interoperable TSS2 format, readable by us alone. */
  g_assert_cmpint (stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0600);
  g_file_get_contents (path, &pem, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (pem, "-----BEGIN TSS2 PRIVATE KEY-----\n"));

  g_clear_pointer (&log, g_free);
  {
    g_autoptr (LkTestDaemon) daemon = lk_test_daemon_start ("", NULL);
    second = lk_test_device_property ("KeyThumbprint");
    log = lk_test_daemon_log (daemon);
    g_assert_nonnull (strstr (log, ": info: identity: loaded device key "));
    g_assert_cmpint (lk_test_daemon_stop (daemon), ==, 0);
  }
  g_assert_cmpstr (first, ==, second);
}

static void
test_sealed_to_pcrs (void)
{
  g_autoptr (LkTestDaemon) daemon = lk_test_daemon_start ("[Device]\nSealPcrs=7\n", NULL);
  g_autofree char *log = lk_test_daemon_log (daemon);

  g_assert_nonnull (strstr (log, ": info: identity: secrets are sealed to PCRs 7: changing them makes "
                                 "sealed secrets unrecoverable\n"));
  g_assert_cmpint (lk_test_daemon_stop (daemon), ==, 0);
}

static void
test_corrupt_key_file_kept (void)
{
  g_autofree char *path = key_path ();
  g_autofree char *config = lk_test_write_file_with_tpm ("latchkey.conf", "");
  g_autofree char *config_arg = g_strdup_printf ("--config=%s", config);
  g_autofree char *state_arg = g_strdup_printf ("--state-dir=%s", lk_test_env ("LATCHKEY_TEST_STATE_DIR"));
  const char *args[] = { config_arg, state_arg, NULL };
  const char *garbage = "-----BEGIN TSS2 PRIVATE KEY-----\nbm90IGEga2V5\n-----END TSS2 PRIVATE KEY-----\n";
  g_autofree char *err = NULL, *after = NULL;
  g_autoptr (GError) error = NULL;

  g_unlink (path);
  g_file_set_contents_full (path, garbage, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error);
  g_assert_no_error (error);

  g_assert_cmpint (lk_test_run_built ("latchkeyd", args, NULL, &err), ==, 1);
  g_assert_true (g_str_has_prefix (err, "latchkeyd: device key: "));
  g_assert_nonnull (strstr (err, path));

  /* Kept for whoever investigates: never replaced by a new identity. */
  g_file_get_contents (path, &after, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (after, ==, garbage);
}

static void
test_tpm_unreachable (void)
{
  /* Nothing listens on port 1 of the loopback. */
  g_autofree char *config = lk_test_write_file ("latchkey.conf", "[Device]\nTcti=swtpm:host=127.0.0.1,port=1\n");
  g_autofree char *config_arg = g_strdup_printf ("--config=%s", config);
  g_autofree char *state_arg = g_strdup_printf ("--state-dir=%s", lk_test_env ("LATCHKEY_TEST_STATE_DIR"));
  const char *args[] = { config_arg, state_arg, NULL };
  g_autofree char *path = key_path ();
  g_autofree char *err = NULL;

  /* Without a key the daemon must reach the TPM to make one. */
  g_unlink (path);
  g_assert_cmpint (lk_test_run_built ("latchkeyd", args, NULL, &err), ==, 1);
  g_assert_true (g_str_has_prefix (err, "latchkeyd: device key: "));
  g_assert_nonnull (strstr (err, "swtpm:host=127.0.0.1,port=1"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/identity/created-once-then-kept", test_created_once_then_kept);
  g_test_add_func ("/identity/sealed-to-pcrs", test_sealed_to_pcrs);
  g_test_add_func ("/identity/corrupt-key-file-kept", test_corrupt_key_file_kept);
  g_test_add_func ("/identity/tpm-unreachable", test_tpm_unreachable);

  return g_test_run ();
}
