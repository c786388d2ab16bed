/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Console login end to end: pam_latchkey.so in a PAM application under
 * pam_wrapper, the daemon on the test's bus, the real OpenID provider, and
 * the phone (approve.mjs) approving as one person or another.
 */
#include "config.h"

#include <signal.h>
#include <string.h>

#include "testlib.h"

#define LOGIN_CONFIG \
  "[Login]\nClaim=email\nScopes=email\nAllow.alice=alice@example.org\nAllow.bob=bob@example.org\n" \
  "OwnerUsers=technician\nMaxFailures=2\nFailureWindow=600\nLockoutDuration=600\n"

/* A PAM service dir: "login" and "login-quick" (timeout=2) use the module; "other" denies. */
static char *
service_dir (void)
{
  g_autofree char *module = lk_test_built ("pam/.libs/pam_latchkey.so");
  g_autofree char *dir = lk_test_path ("pam.d");
  g_autofree char *login = g_strdup_printf ("auth required %s timeout=60 services=login,login-quick,cron\n"
                                            "account required %s\n", module, module);
  g_autofree char *quick = g_strdup_printf ("auth required %s timeout=2 services=login-quick\n", module);
  g_autofree char *cron = g_strdup_printf ("auth required %s\n", module);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_free (lk_test_write_file ("pam.d/login", login));
  g_free (lk_test_write_file ("pam.d/login-quick", quick));
  g_free (lk_test_write_file ("pam.d/cron", cron));
  g_free (lk_test_write_file ("pam.d/other", "auth required pam_deny.so\naccount required pam_deny.so\n"));
  return g_steal_pointer (&dir);
}

static GSubprocess *
spawn_client (const char *const *args)
{
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autofree char *dir = service_dir ();
  g_autofree char *client = lk_test_built ("tests/pam-client");
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  GSubprocess *process;

  g_subprocess_launcher_setenv (launcher, "LD_PRELOAD", "libpam_wrapper.so", TRUE);
  g_subprocess_launcher_setenv (launcher, "PAM_WRAPPER", "1", TRUE);
  /* pam_wrapper reads this name (uid_wrapper's) to load libpam without RTLD_DEEPBIND, which ASan refuses. */
  g_subprocess_launcher_setenv (launcher, "UID_WRAPPER_DISABLE_DEEPBIND", "1", TRUE);
  g_subprocess_launcher_setenv (launcher, "PAM_WRAPPER_SERVICE_DIR", dir, TRUE);
  g_ptr_array_add (argv, client);
  for (gsize i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);
  process = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, &error);
  g_assert_no_error (error);
  return process;
}

/*
 * Logs in with @args; when @login is not NULL, the phone approves as @login
 * (refuses with @abort) once the code is shown. Returns all the client said.
 */
static char *
pam_login (LkTestPeer *provider, const char *login, gboolean abort, const char *const *args)
{
  g_autoptr (GSubprocess) process = spawn_client (args);
  g_autoptr (GDataInputStream) in = g_data_input_stream_new (g_subprocess_get_stdout_pipe (process));
  g_autoptr (GString) out = g_string_new (NULL);
  char *line;

  while ((line = g_data_input_stream_read_line_utf8 (in, NULL, NULL, NULL)) != NULL)
    {
      const char *open = strstr (line, ", open ");

      g_string_append_printf (out, "%s\n", line);
      if (login != NULL && g_str_has_prefix (line, "info: To log in as ") && open != NULL)
        {
          g_auto (GStrv) words = g_strsplit (open + strlen (", open "), " ", -1);
          const char *code = strstr (line, "enter the code ") + strlen ("enter the code ");
          g_autofree char *user_code = g_strndup (code, strcspn (code, ","));
          g_autofree char *uri = g_strdup_printf ("%s?user_code=%s", words[0], user_code);

          g_assert_true (lk_test_approve (provider, uri, login, abort));
        }
      g_free (line);
    }
  g_assert_cmpint (lk_test_wait (process), ==, 0);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

#define ARGS(...) ((const char *const[]) { __VA_ARGS__, NULL })

/* The client's last line and its error messages, without the code it showed. */
static char *
outcome (const char *out)
{
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  g_autoptr (GString) kept = g_string_new (NULL);

  for (gsize i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], "error: ") || g_str_has_prefix (lines[i], "authenticate: ")
        || g_str_has_prefix (lines[i], "account: "))
      g_string_append_printf (kept, "%s\n", lines[i]);
  return g_string_free (g_steal_pointer (&kept), FALSE);
}

#define ASSERT_LOGIN(provider, login, abort, args, expected) \
  G_STMT_START { g_autofree char *o_ = pam_login ((provider), (login), (abort), (args)); \
                 g_autofree char *r_ = outcome (o_); g_assert_cmpstr (r_, ==, (expected)); } G_STMT_END

/* How often the daemon fetched the provider's keys so far. */
static guint
key_fetches (LkTestDaemon *daemon)
{
  g_autofree char *log = lk_test_daemon_log (daemon);
  g_auto (GStrv) parts = g_strsplit (log, "debug: login: fetching the provider's keys from ", -1);

  return g_strv_length (parts) - 1;
}

static void
test_login (void)
{
  g_autoptr (LkTestPeer) provider = lk_test_peer_start ("oidc", "oidc", LK_TEST_CLIENTS, NULL);
  g_autofree char *pairing = lk_test_provider_config (provider);
  g_autofree char *config = g_strconcat ("[Daemon]\nLogLevel=debug\n", pairing, LOGIN_CONFIG, NULL);
  g_autoptr (LkTestDaemon) daemon = lk_test_daemon_start (config, NULL);
  g_autofree char *log = NULL;
  gint64 start;

  /* Where the module does not run, it asks no one: the daemon hears of none of these. */
  ASSERT_LOGIN (provider, NULL, FALSE, ARGS ("login", "alice", "--tty", "tty1", "--rhost", "203.0.113.9"),
                "authenticate: PAM_AUTHINFO_UNAVAIL\n");
  ASSERT_LOGIN (provider, NULL, FALSE, ARGS ("login", "alice"), "authenticate: PAM_AUTHINFO_UNAVAIL\n");
  ASSERT_LOGIN (provider, NULL, FALSE, ARGS ("login", "alice", "--tty", "tty1", "--no-conv"),
                "authenticate: PAM_AUTHINFO_UNAVAIL\n");
  ASSERT_LOGIN (provider, NULL, FALSE, ARGS ("cron", "alice", "--tty", "tty1"), "authenticate: PAM_AUTHINFO_UNAVAIL\n");
  log = lk_test_daemon_log (daemon);
  g_assert_null (strstr (log, "login: "));
  g_clear_pointer (&log, g_free);

  /* Before pairing, there is no one to approve. */
  ASSERT_LOGIN (provider, NULL, FALSE, ARGS ("login", "alice", "--tty", "tty1"),
                "error: latchkey: the device is not paired\nauthenticate: PAM_AUTHINFO_UNAVAIL\n");

  lk_test_pair (provider, "owner");

  /* Alice approves her own login; the account check agrees. */
  start = g_get_monotonic_time ();
  ASSERT_LOGIN (provider, "alice", FALSE, ARGS ("login", "alice", "--tty", "tty1", "--account"),
                "authenticate: PAM_SUCCESS\naccount: PAM_SUCCESS\n");
  g_test_message ("an approved login took %.1f s", (g_get_monotonic_time () - start) / 1e6);
  lk_test_wait_log (daemon, "as alice approved for alice@example.org (sub alice)");

  /* The owner may log in as the technician; no one may log in as root. */
  ASSERT_LOGIN (provider, "owner", FALSE, ARGS ("login", "technician", "--tty", "tty1"), "authenticate: PAM_SUCCESS\n");
  lk_test_wait_log (daemon, "as technician approved for owner@example.org (sub owner), the owner");
  ASSERT_LOGIN (provider, NULL, FALSE, ARGS ("login", "root", "--tty", "tty1"),
                "error: latchkey: no one may log in as root with latchkey\nauthenticate: PAM_USER_UNKNOWN\n");

  /* Refused on the phone. */
  ASSERT_LOGIN (provider, "alice", TRUE, ARGS ("login", "alice", "--tty", "tty1"),
                "error: latchkey: the login was refused on the phone\nauthenticate: PAM_AUTH_ERR\n");

  /* A valid identity, not bob's: refused, and twice locks bob out. */
  ASSERT_LOGIN (provider, "alice", FALSE, ARGS ("login", "bob", "--tty", "tty1"),
                "error: latchkey: alice@example.org (sub alice) may not log in as bob\nauthenticate: PAM_AUTH_ERR\n");
  ASSERT_LOGIN (provider, "mallory", FALSE, ARGS ("login", "bob", "--tty", "tty1"),
                "error: latchkey: mallory@example.org (sub mallory) may not log in as bob\n"
                "authenticate: PAM_AUTH_ERR\n");
  lk_test_wait_log (daemon, "bob is locked out of latchkey logins for 600 s after 2 failed logins within 600 s");
  {
    g_autofree char *o = pam_login (provider, NULL, FALSE, ARGS ("login", "bob", "--tty", "tty1"));

    g_assert_nonnull (strstr (o, "error: latchkey: too many failed logins as bob: try again in "));
    g_assert_true (g_str_has_suffix (o, "authenticate: PAM_AUTH_ERR\n"));
    g_assert_null (strstr (o, "info: "));
  }

  /* No approval within the module's timeout: the login is cancelled, the stack decides. */
  ASSERT_LOGIN (provider, NULL, FALSE, ARGS ("login-quick", "alice", "--tty", "tty1"),
                "error: latchkey: the login was not approved within 2 s\nauthenticate: PAM_AUTHINFO_UNAVAIL\n");
  lk_test_wait_log (daemon, "as alice refused: the login was cancelled");

  /* Neither tokens nor codes are ever logged. */
  log = lk_test_daemon_log (daemon);
  g_assert_null (strstr (log, "eyJ"));
  /* The provider's keys were fetched when the first ID token named a key not yet known, and kept. */
  g_assert_cmpuint (key_fetches (daemon), ==, 1);

  g_assert_cmpint (lk_test_daemon_stop (daemon), ==, 0);
  ASSERT_LOGIN (provider, NULL, FALSE, ARGS ("login", "alice", "--tty", "tty1"),
                "error: latchkey: the latchkey daemon is not running\nauthenticate: PAM_AUTHINFO_UNAVAIL\n");
}

/*
 * Has @provider sign ID tokens with a new EC key from now on, published
 * beside the others unless @publish is FALSE. Returns the key's kid.
 */
static char *
rotate_keys (LkTestPeer *provider, gboolean publish)
{
  g_autofree char *url = g_strconcat (lk_test_peer_get (provider, "OIDC_ISSUER"), "/test/rotate-keys",
                                      publish ? "" : "?publish=false", NULL);
  const char *argv[] = { "curl", "-sS", "--fail", "-X", "POST", "--cacert", lk_test_peer_get (provider, "OIDC_CA"),
                         url, NULL };
  char *kid = NULL;

  g_assert_cmpint (lk_test_run (argv, &kid, NULL), ==, 0);
  return g_strchomp (kid);
}

/*
 * The provider rotates its signing key during the daemon's run: the first
 * ID token signed by the new key has the daemon fetch the keys again, and
 * only that one; one signed by a key the provider does not publish is
 * refused all the same.
 */
static void
test_key_rotation (void)
{
  /* ES256 ID tokens: signed by the provider's first EC key, the one rotate_keys() replaces. */
  g_autoptr (LkTestPeer) provider = lk_test_peer_start ("oidc", "oidc",
                                                        "[{" LK_TEST_CLIENT_MEMBERS ", "
                                                        "\"id_token_signed_response_alg\": \"ES256\"}]",
                                                        "600", "\"accessTokenTtl\": 4", NULL);
  g_autofree char *pairing = lk_test_provider_config (provider);
  g_autofree char *config = g_strconcat ("[Daemon]\nLogLevel=debug\n", pairing, LOGIN_CONFIG, NULL);
  g_autoptr (LkTestDaemon) daemon = lk_test_daemon_start (config, NULL);
  g_autofree char *unpublished = NULL, *refused = NULL;

  lk_test_pair (provider, "owner");
  ASSERT_LOGIN (provider, "alice", FALSE, ARGS ("login", "alice", "--tty", "tty1"), "authenticate: PAM_SUCCESS\n");
  g_assert_cmpuint (key_fetches (daemon), ==, 1);

  g_free (rotate_keys (provider, TRUE));
  /* The provider kept its state: the pairing's refresh token is honoured, twice for one sent after the swap. */
  lk_test_wait_refreshed (lk_test_wait_refreshed (lk_test_token_expires_at ()));
  ASSERT_LOGIN (provider, "alice", FALSE, ARGS ("login", "alice", "--tty", "tty1"), "authenticate: PAM_SUCCESS\n");
  g_assert_cmpuint (key_fetches (daemon), ==, 2);
  /* The keys fetched again are kept too. */
  ASSERT_LOGIN (provider, "alice", FALSE, ARGS ("login", "alice", "--tty", "tty1"), "authenticate: PAM_SUCCESS\n");
  g_assert_cmpuint (key_fetches (daemon), ==, 2);

  unpublished = rotate_keys (provider, FALSE);
  refused = g_strdup_printf ("error: latchkey: ID token: signed by key “%s”, which is not the provider's\n"
                             "authenticate: PAM_AUTH_ERR\n", unpublished);
  ASSERT_LOGIN (provider, "alice", FALSE, ARGS ("login", "alice", "--tty", "tty1"), refused);
  /* The daemon looked again before refusing. */
  g_assert_cmpuint (key_fetches (daemon), ==, 3);
}

/* A login's code that lives 6 s expires before anyone approves it. */
static void
test_expired (void)
{
  g_autoptr (LkTestPeer) provider = lk_test_peer_start ("oidc", "oidc", LK_TEST_CLIENTS, "600",
                                                        "\"loginCodeTtl\": 6", NULL);
  g_autofree char *pairing = lk_test_provider_config (provider);
  g_autofree char *config = g_strconcat (pairing, LOGIN_CONFIG, NULL);
  g_autoptr (LkTestDaemon) daemon = lk_test_daemon_start (config, NULL);

  lk_test_pair (provider, "owner");
  ASSERT_LOGIN (provider, NULL, FALSE, ARGS ("login", "alice", "--tty", "tty1"),
                "error: latchkey: the code expired before the login was approved\nauthenticate: PAM_AUTH_ERR\n");
  lk_test_wait_log (daemon, "as alice refused: the code expired before the login was approved");
}

/* The daemon stops while the module waits for the phone: it gives up at once, and the stack decides. */
static void
test_daemon_stops (void)
{
  g_autoptr (LkTestPeer) provider = lk_test_peer_start ("oidc", "oidc", LK_TEST_CLIENTS, NULL);
  g_autofree char *pairing = lk_test_provider_config (provider);
  g_autofree char *config = g_strconcat (pairing, LOGIN_CONFIG, NULL);
  g_autoptr (LkTestDaemon) daemon = lk_test_daemon_start (config, NULL);
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GDataInputStream) in = NULL;
  g_autoptr (GString) out = g_string_new (NULL);
  g_autofree char *result = NULL;
  char *line;

  lk_test_pair (provider, "owner");
  process = spawn_client (ARGS ("login", "alice", "--tty", "tty1"));
  in = g_data_input_stream_new (g_subprocess_get_stdout_pipe (process));
  while ((line = g_data_input_stream_read_line_utf8 (in, NULL, NULL, NULL)) != NULL)
    {
      g_string_append_printf (out, "%s\n", line);
      /* The code is out: the module now waits. */
      if (g_str_has_prefix (line, "info: To log in as "))
        g_assert_cmpint (lk_test_daemon_stop (daemon), ==, 0);
      g_free (line);
    }
  g_assert_cmpint (lk_test_wait (process), ==, 0);
  result = outcome (out->str);
  g_assert_cmpstr (result, ==, "error: latchkey: the latchkey daemon stopped during the login\n"
                               "authenticate: PAM_AUTHINFO_UNAVAIL\n");
}

/*
 * A household changes who may log in, and the daemon is reloaded (SIGHUP,
 * as systemctl reload sends): the new lists hold from then on, without a
 * restart; a file with a mistake changes nothing; without [Login], no one
 * may log in.
 */
static void
test_reload (void)
{
  g_autoptr (LkTestPeer) provider = lk_test_peer_start ("oidc", "oidc", LK_TEST_CLIENTS, NULL);
  g_autofree char *pairing = lk_test_provider_config (provider);
  g_autofree char *config = g_strconcat (pairing, LOGIN_CONFIG, NULL);
  g_autoptr (LkTestDaemon) daemon = lk_test_daemon_start (config, NULL);
  g_autofree char *name = g_path_get_basename (daemon->config_path);
  g_autofree char *changed = g_strconcat (pairing, "[Login]\nClaim=email\nScopes=email\nAllow.bob=bob@example.org\n"
                                          "Allow.carol=carol@example.org\nOwnerUsers=technician\n", NULL);
  g_autofree char *mistaken = g_strconcat (changed, "Alow.dave=dave@example.org\n", NULL);
  g_autofree char *kept = NULL;

  lk_test_pair (provider, "owner");
  ASSERT_LOGIN (provider, NULL, FALSE, ARGS ("login", "carol", "--tty", "tty1"),
                "error: latchkey: no one may log in as carol with latchkey\nauthenticate: PAM_USER_UNKNOWN\n");

  /* carol joins, alice leaves. */
  g_free (lk_test_write_file_with_tpm (name, changed));
  g_subprocess_send_signal (daemon->process, SIGHUP);
  lk_test_wait_log (daemon, "info: login: reread who may log in: local users bob carol technician\n");
  ASSERT_LOGIN (provider, "carol", FALSE, ARGS ("login", "carol", "--tty", "tty1"), "authenticate: PAM_SUCCESS\n");
  ASSERT_LOGIN (provider, NULL, FALSE, ARGS ("login", "alice", "--tty", "tty1"),
                "error: latchkey: no one may log in as alice with latchkey\nauthenticate: PAM_USER_UNKNOWN\n");

  /* A mistyped key: the whole file is refused, and the lists stay. */
  g_free (lk_test_write_file_with_tpm (name, mistaken));
  g_subprocess_send_signal (daemon->process, SIGHUP);
  kept = g_strdup_printf ("warning: login: who may log in is kept as it was: %s: [Login] Alow.dave: unknown key\n",
                          daemon->config_path);
  lk_test_wait_log (daemon, kept);
  ASSERT_LOGIN (provider, NULL, FALSE, ARGS ("login", "alice", "--tty", "tty1"),
                "error: latchkey: no one may log in as alice with latchkey\nauthenticate: PAM_USER_UNKNOWN\n");
  ASSERT_LOGIN (provider, "carol", FALSE, ARGS ("login", "carol", "--tty", "tty1"), "authenticate: PAM_SUCCESS\n");

  /* [Login] taken out: no one may log in from then on, though the Login interface stays until a restart. */
  g_free (lk_test_write_file_with_tpm (name, pairing));
  g_subprocess_send_signal (daemon->process, SIGHUP);
  lk_test_wait_log (daemon, "info: login: reread who may log in: local users none\n");
  ASSERT_LOGIN (provider, NULL, FALSE, ARGS ("login", "carol", "--tty", "tty1"),
                "error: latchkey: no one may log in as carol with latchkey\nauthenticate: PAM_USER_UNKNOWN\n");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/login/pam", test_login);
  g_test_add_func ("/login/key-rotation", test_key_rotation);
  g_test_add_func ("/login/expired", test_expired);
  g_test_add_func ("/login/daemon-stops", test_daemon_stops);
  g_test_add_func ("/login/reload", test_reload);
  return g_test_run ();
}
