/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "config-schema.h"
#include "daemon-config.h"
#include "error.h"

typedef struct {
  char *dir;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  f->dir = g_dir_make_tmp ("test-config-XXXXXX", &error);
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_autoptr (GFile) dir = g_file_new_for_path (f->dir);
  g_autoptr (GFileEnumerator) children = g_file_enumerate_children (dir, G_FILE_ATTRIBUTE_STANDARD_NAME,
                                                                    G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS,
                                                                    NULL, NULL);
  GFile *child;

  while (g_file_enumerator_iterate (children, NULL, &child, NULL, NULL) && child != NULL)
    g_file_delete (child, NULL, NULL);
  g_rmdir (f->dir);
  g_free (f->dir);
}

static char *
write_config (Fixture *f, const char *contents)
{
  g_autoptr (GError) error = NULL;
  char *path = g_build_filename (f->dir, "latchkey.conf", NULL);

  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
  return path;
}

/* Loads @contents and asserts it fails with exactly @expected (after "PATH"). */
static void
assert_config_error (Fixture *f, const char *contents, const char *expected)
{
  g_autofree char *path = write_config (f, contents);
  g_autofree char *message = g_strconcat (path, expected, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (LkConfig) config = lk_config_load (path, &error);

  g_assert_null (config);
  g_assert_error (error, LK_ERROR, LK_ERROR_CONFIG);
  g_assert_cmpstr (error->message, ==, message);
}

static void
test_defaults (Fixture *f, gconstpointer data)
{
  g_autofree char *path = write_config (f, "# nothing set\n");
  g_autoptr (GError) error = NULL;
  g_autoptr (LkConfig) config = lk_config_load (path, &error);

  g_assert_no_error (error);
  g_assert_cmpint (config->log_level, ==, LK_LOG_INFO);
  g_assert_null (config->admin_group);
  g_assert_cmpint (config->key_backend, ==, LK_KEYSTORE_TPM2);
  g_assert_cmpint (config->pairing_client_auth, ==, LK_CLIENT_AUTH_NONE);
  g_assert_cmpint (config->pairing_dpop, ==, LK_DPOP_AUTO);
  g_assert_cmpuint (config->refresh_margin, ==, 60);
  g_assert_cmpuint (g_strv_length (config->pairing_resources), ==, 0);
  g_assert_cmpstr (config->policy_dir, ==, SYSCONFDIR "/latchkey/apps.d");
  g_assert_cmpuint (config->cache_margin, ==, 30);
  g_assert_cmpuint (config->rate_per_minute, ==, 120);
  g_assert_cmpuint (config->rate_burst, ==, 20);
}

static void
test_values (Fixture *f, gconstpointer data)
{
  g_autofree char *path = write_config (f,
                                        "[Daemon]\nLogLevel=debug\nAdminGroup=wheel\n"
                                        "[Device]\nKeyBackend=software\n"
                                        "[Pairing]\nClientAuthentication=private_key_jwt\nDPoP=always\n"
                                        "RefreshMargin=0\nResources=https://a.example/x  https://b.example\n"
                                        "[Tokens]\nPolicyDirectory=/srv/apps\nCacheMargin=5\nRateLimit=7\n"
                                        "RateBurst=2\n");
  g_autoptr (GError) error = NULL;
  g_autoptr (LkConfig) config = lk_config_load (path, &error);

  g_assert_no_error (error);
  g_assert_cmpint (config->log_level, ==, LK_LOG_DEBUG);
  g_assert_cmpstr (config->admin_group, ==, "wheel");
  g_assert_cmpint (config->key_backend, ==, LK_KEYSTORE_SOFTWARE);
  g_assert_cmpstr (lk_key_backend_to_string (config->key_backend), ==, "software");
  g_assert_cmpint (config->pairing_client_auth, ==, LK_CLIENT_AUTH_PRIVATE_KEY_JWT);
  g_assert_cmpint (config->pairing_dpop, ==, LK_DPOP_ALWAYS);
  g_assert_cmpuint (config->refresh_margin, ==, 0);
  g_assert_cmpuint (g_strv_length (config->pairing_resources), ==, 2);
  g_assert_cmpstr (config->pairing_resources[0], ==, "https://a.example/x");
  g_assert_cmpstr (config->pairing_resources[1], ==, "https://b.example");
  g_assert_cmpstr (config->policy_dir, ==, "/srv/apps");
  g_assert_cmpuint (config->cache_margin, ==, 5);
  g_assert_cmpuint (config->rate_per_minute, ==, 7);
  g_assert_cmpuint (config->rate_burst, ==, 2);
}

/* configure --disable-secret-service: the backend is refused by name, and
 * the cross build (scripts/cross-build-aarch64) runs this test so. */
static void
test_backend_not_built (Fixture *f, gconstpointer data)
{
  g_autofree char *path = write_config (f, "[Device]\nKeyBackend=secret-service\n");
  g_autoptr (GError) error = NULL;
  g_autoptr (LkConfig) config = lk_config_load (path, &error);

  if (lk_keystore_backend_is_built (LK_KEYSTORE_SECRET_SERVICE))
    {
      g_assert_no_error (error);
      g_assert_cmpint (config->key_backend, ==, LK_KEYSTORE_SECRET_SERVICE);
    }
  else
    {
      assert_config_error (f, "[Device]\nKeyBackend=secret-service\n",
                           ": [Device] KeyBackend: this latchkeyd was built without the "
                           "secret-service keystore (configure --disable-secret-service)");
    }
  g_assert_true (lk_keystore_backend_is_built (LK_KEYSTORE_TPM2));
  g_assert_true (lk_keystore_backend_is_built (LK_KEYSTORE_SOFTWARE));
}

static void
test_seal_pcrs (Fixture *f, gconstpointer data)
{
  g_autofree char *path = write_config (f, "[Device]\nSealPcrs=7, 16\n");
  g_autoptr (GError) error = NULL;
  g_autoptr (LkConfig) config = lk_config_load (path, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (config->seal_pcrs->len, ==, 2);
  g_assert_cmpuint (config->seal_pcrs->data[0], ==, 7);
  g_assert_cmpuint (config->seal_pcrs->data[1], ==, 16);
  g_clear_pointer (&config, lk_config_free);

  g_free (path);
  path = write_config (f, "[Device]\nSealPcrs=\n");
  config = lk_config_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (config->seal_pcrs->len, ==, 0);
  g_clear_pointer (&config, lk_config_free);

  assert_config_error (f, "[Device]\nSealPcrs=7,24\n", ": [Device] SealPcrs: “24” is not an integer between 0 and 23");
  assert_config_error (f, "[Device]\nSealPcrs=7,,16\n", ": [Device] SealPcrs: “” is not an integer between 0 and 23");
  assert_config_error (f, "[Device]\nKeyBackend=software\nSealPcrs=7\n", ": [Device] SealPcrs: needs KeyBackend=tpm2");
}

static void
test_missing (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->dir, "absent.conf", NULL);
  g_autofree char *expected = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (LkConfig) config = lk_config_load (path, &error);

  g_assert_null (config);
  g_assert_error (error, LK_ERROR, LK_ERROR_CONFIG);
  expected = g_strdup_printf ("%s: cannot read configuration: Failed to open file “%s”: "
                              "No such file or directory", path, path);
  g_assert_cmpstr (error->message, ==, expected);
}

static void
test_unreadable (Fixture *f, gconstpointer data)
{
  g_autofree char *path = write_config (f, "[Daemon]\n");
  g_autoptr (GError) error = NULL;
  g_autoptr (LkConfig) config = NULL;

  /* Root reads through file modes; a directory is unreadable as a file for anyone. */
  if (geteuid () == 0)
    {
      g_unlink (path);
      g_assert_cmpint (g_mkdir (path, 0700), ==, 0);
    }
  else
    g_assert_cmpint (g_chmod (path, 0), ==, 0);

  config = lk_config_load (path, &error);
  g_assert_null (config);
  g_assert_error (error, LK_ERROR, LK_ERROR_CONFIG);
  g_assert_true (g_str_has_prefix (error->message, path));
  g_assert_nonnull (strstr (error->message, ": cannot read configuration: "));
  g_assert_nonnull (strstr (error->message, geteuid () == 0 ? "Is a directory" : "Permission denied"));
  if (geteuid () == 0)
    g_rmdir (path);
}

static void
test_malformed (Fixture *f, gconstpointer data)
{
  assert_config_error (f, "[Daemon]\nLogLevel=info\n\nthis is not a key\n",
                       ":4: Key file contains line “this is not a key” which is not a key-value pair, "
                       "group, or comment");
  assert_config_error (f, "LogLevel=info\n",
                       ":1: Key file does not start with a group");
}

static void
test_unknown_group (Fixture *f, gconstpointer data)
{
  assert_config_error (f, "[Daemon]\n[Deamon]\nLogLevel=info\n", ": [Deamon]: unknown group");
}

static void
test_unknown_key (Fixture *f, gconstpointer data)
{
  assert_config_error (f, "[Daemon]\nLogLevl=info\n", ": [Daemon] LogLevl: unknown key");
}

static void
test_bad_choice (Fixture *f, gconstpointer data)
{
  assert_config_error (f, "[Daemon]\nLogLevel=loud\n",
                       ": [Daemon] LogLevel: “loud” is not one of: warning, notice, info, debug");
  assert_config_error (f, "[Device]\nKeyBackend=hsm\n",
                       ": [Device] KeyBackend: “hsm” is not one of: tpm2, software, secret-service");
  assert_config_error (f, "[Pairing]\nClientAuthentication=client_secret_basic\n",
                       ": [Pairing] ClientAuthentication: “client_secret_basic” is not one of: none, "
                       "private_key_jwt");
  assert_config_error (f, "[Pairing]\nDPoP=yes\n", ": [Pairing] DPoP: “yes” is not one of: auto, always, never");
  assert_config_error (f, "[Pairing]\nResources=https://api.example.com http://api.example.com\n",
                       ": [Pairing] Resources: “http://api.example.com” is not an https URI without a fragment");
  assert_config_error (f, "[Pairing]\nResources=https://api.example.com/#top\n",
                       ": [Pairing] Resources: “https://api.example.com/#top” is not an https URI without a fragment");
  assert_config_error (f, "[Tokens]\nRateLimit=0\n", ": [Tokens] RateLimit: “0” is not an integer between 1 and 100000");
  assert_config_error (f, "[Pairing]\nRefreshMargin=3601\n",
                       ": [Pairing] RefreshMargin: “3601” is not an integer between 0 and 3600");
}

static void
test_empty_string (Fixture *f, gconstpointer data)
{
  assert_config_error (f, "[Daemon]\nAdminGroup=\n", ": [Daemon] AdminGroup: empty value");
}

static void
test_nul_byte (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->dir, "latchkey.conf", NULL);
  g_autofree char *expected = g_strconcat (path, ": file contains a NUL byte", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (LkConfig) config = NULL;

  g_file_set_contents (path, "[Daemon]\0\n", 10, &error);
  g_assert_no_error (error);
  config = lk_config_load (path, &error);
  g_assert_null (config);
  g_assert_error (error, LK_ERROR, LK_ERROR_CONFIG);
  g_assert_cmpstr (error->message, ==, expected);
}

/* The schema's types, through a table of the test's own. */
static const char *const colours[] = { "red", "green", NULL };
static const LkConfigKey typed_schema[] = {
  { "T", "Name",   LK_CONFIG_STRING },
  { "T", "Flag",   LK_CONFIG_BOOLEAN },
  { "T", "Count",  LK_CONFIG_UINT, NULL, 1, 10 },
  { "T", "Colour", LK_CONFIG_CHOICE, colours },
};

/* Like assert_config_error(), against the test's own schema. */
static void
assert_typed_error (Fixture *f, const char *contents, const char *expected)
{
  g_autofree char *path = write_config (f, contents);
  g_autoptr (GError) error = NULL;
  g_autoptr (GKeyFile) kf = lk_config_schema_load (path, typed_schema, G_N_ELEMENTS (typed_schema), &error);

  g_assert_null (kf);
  g_assert_error (error, LK_ERROR, LK_ERROR_CONFIG);
  g_assert_true (g_str_has_prefix (error->message, path));
  g_assert_cmpstr (error->message + strlen (path), ==, expected);
}

static void
test_wrong_types (Fixture *f, gconstpointer data)
{
  g_autofree char *path = write_config (f, "[T]\nName=x\nFlag=true\nCount=10\nColour=green\n");
  g_autoptr (GError) error = NULL;
  g_autoptr (GKeyFile) kf = lk_config_schema_load (path, typed_schema, G_N_ELEMENTS (typed_schema), &error);

  g_assert_no_error (error);
  g_assert_nonnull (kf);

  assert_typed_error (f, "[T]\nFlag=maybe\n", ": [T] Flag: “maybe” is not a boolean (expected true or false)");
  assert_typed_error (f, "[T]\nCount=ten\n", ": [T] Count: “ten” is not an integer between 1 and 10");
  assert_typed_error (f, "[T]\nCount=11\n", ": [T] Count: “11” is not an integer between 1 and 10");
  assert_typed_error (f, "[T]\nCount=-1\n", ": [T] Count: “-1” is not an integer between 1 and 10");
  assert_typed_error (f, "[T]\nColour=blue\n", ": [T] Colour: “blue” is not one of: red, green");
}

static void
test_enrollment (Fixture *f, gconstpointer data)
{
  g_autofree char *credentials = g_build_filename (f->dir, "creds", NULL);
  g_autofree char *key_path = g_build_filename (credentials, "factory-key", NULL);
  g_autofree char *path = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (LkConfig) config = NULL;

  g_setenv ("CREDENTIALS_DIRECTORY", credentials, TRUE);
  path = write_config (f, "[Enrollment]\nUrl=https://est.example.com/.well-known/est\nLabel=displays\n"
                          "TrustAnchors=/etc/est-ca.pem\nSubject=CN=%H,O=Fleet\n"
                          "BootstrapCertificate=/etc/factory.pem\nBootstrapKey=credential:factory-key\n"
                          "RenewAtPercent=50\nRenewJitterPercent=0\nRetryFirst=2\nRetryMax=60\n");
  config = lk_config_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (config->est_url, ==, "https://est.example.com/.well-known/est");
  g_assert_cmpstr (config->est_label, ==, "displays");
  g_assert_cmpstr (config->est_trust_anchors, ==, "/etc/est-ca.pem");
  g_assert_true (g_str_has_prefix (config->est_subject, "CN="));
  g_assert_true (g_str_has_suffix (config->est_subject, ",O=Fleet"));
  g_assert_cmpstr (config->est_subject + 3, !=, "%H,O=Fleet");
  g_assert_cmpstr (config->bootstrap_cert, ==, "/etc/factory.pem");
  g_assert_cmpstr (config->bootstrap_key, ==, key_path);
  g_assert_null (config->bootstrap_user);
  g_assert_cmpuint (config->renew_percent, ==, 50);
  g_assert_cmpuint (config->renew_jitter_percent, ==, 0);
  g_assert_cmpuint (config->retry_first, ==, 2);
  g_assert_cmpuint (config->retry_max, ==, 60);
  g_clear_pointer (&config, lk_config_free);

  /* Defaults. */
  g_free (path);
  path = write_config (f, "[Enrollment]\nUrl=https://est.example.com/.well-known/est\nTrustAnchors=/a.pem\n"
                          "BootstrapUser=device\nBootstrapPassword=/run/pw\n");
  config = lk_config_load (path, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (config->est_subject, "CN="));
  g_assert_cmpuint (config->renew_percent, ==, 67);
  g_assert_cmpuint (config->renew_jitter_percent, ==, 5);
  g_assert_cmpuint (config->retry_first, ==, 30);
  g_assert_cmpuint (config->retry_max, ==, 3600);

  assert_config_error (f, "[Enrollment]\nUrl=https://e.example/.well-known/est\n",
                       ": [Enrollment] TrustAnchors: needed with Url");
  assert_config_error (f, "[Enrollment]\nUrl=http://e.example/.well-known/est\nTrustAnchors=/a\n",
                       ": [Enrollment] Url: “http://e.example/.well-known/est” is not an https URL");
  assert_config_error (f, "[Enrollment]\nTrustAnchors=/a\n", ": [Enrollment] Url: needed in [Enrollment]");
  assert_config_error (f, "[Enrollment]\nUrl=https://e.example/est\nTrustAnchors=/a\nLabel=a/b\n",
                       ": [Enrollment] Label: “a/b” is not a path segment");
  assert_config_error (f, "[Enrollment]\nUrl=https://e.example/est\nTrustAnchors=/a\nBootstrapKey=/k\n",
                       ": [Enrollment] BootstrapCertificate and BootstrapKey go together");
  assert_config_error (f, "[Enrollment]\nUrl=https://e.example/est\nTrustAnchors=/a\nBootstrapUser=u\n",
                       ": [Enrollment] BootstrapUser and BootstrapPassword go together");
  assert_config_error (f, "[Enrollment]\nUrl=https://e.example/est\nTrustAnchors=/a\nRetryFirst=10\nRetryMax=5\n",
                       ": [Enrollment] RetryFirst: more than RetryMax");
  assert_config_error (f, "[Enrollment]\nUrl=https://e.example/est\nTrustAnchors=/a\nRenewAtPercent=95\n",
                       ": [Enrollment] RenewAtPercent: “95” is not an integer between 10 and 90");
  assert_config_error (f, "[Device]\nKeyBackend=software\n[Enrollment]\nUrl=https://e.example/est\n"
                          "TrustAnchors=/a\n", ": [Enrollment] needs KeyBackend=tpm2");
  assert_config_error (f, "[Enrollment]\nUrl=https://e.example/est\nTrustAnchors=/a\n"
                          "BootstrapPassword=credential:../pw\nBootstrapUser=u\n",
                       ": [Enrollment] BootstrapPassword: not a credential name");
  g_unsetenv ("CREDENTIALS_DIRECTORY");
  assert_config_error (f, "[Enrollment]\nUrl=https://e.example/est\nTrustAnchors=/a\n"
                          "BootstrapPassword=credential:pw\nBootstrapUser=u\n",
                       ": [Enrollment] BootstrapPassword: names a credential, but $CREDENTIALS_DIRECTORY is not set");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, func) g_test_add (name, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/config/defaults", test_defaults);
  ADD ("/config/values", test_values);
  ADD ("/config/seal-pcrs", test_seal_pcrs);
  ADD ("/config/missing", test_missing);
  ADD ("/config/unreadable", test_unreadable);
  ADD ("/config/malformed", test_malformed);
  ADD ("/config/unknown-group", test_unknown_group);
  ADD ("/config/unknown-key", test_unknown_key);
  ADD ("/config/bad-choice", test_bad_choice);
  ADD ("/config/backend-not-built", test_backend_not_built);
  ADD ("/config/empty-string", test_empty_string);
  ADD ("/config/nul-byte", test_nul_byte);
  ADD ("/config/wrong-types", test_wrong_types);
  ADD ("/config/enrollment", test_enrollment);
#undef ADD

  return g_test_run ();
}
