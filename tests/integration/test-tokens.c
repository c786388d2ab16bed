/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Tokens for local apps through the real daemon, against a real OpenID
 * provider with two APIs (RFC 8707 resources): each app, told apart by its
 * systemd unit or its uid as the bus sees it, gets tokens narrowed to what
 * it asked and its policy allows, bound to the TPM key, cached, shared by
 * identical requests, rate-limited, and gone with the pairing.
 */
#include "config.h"

#include <signal.h>
#include <string.h>

#include <glib/gstdio.h>

#include "oauth-test.h"

#define WEATHER "https://api.example.com/weather"
#define CAMERA "https://api.example.com/camera"
#define SCOPES "openid offline_access weather.read forecast.read camera.view"
#define NOBODY "65534"

typedef struct {
  LkTestPeer *provider;
  LkTestDaemon *daemon;
  char *policy_dir;
} Fixture;

static void
write_policy (Fixture *f, const char *name, const char *contents)
{
  g_autofree char *path = g_build_filename (f->policy_dir, name, NULL);
  g_autoptr (GError) error = NULL;

  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
}

/* @data: more daemon configuration, or NULL. */
static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autofree char *pairing = NULL;
  g_autofree char *config = NULL;
  g_autofree char *clients = lk_test_clients_json (NULL, NULL);

  f->provider = lk_test_peer_start ("oidc", "oidc", clients, "600",
                                    "\"resources\": {\"" WEATHER "\": \"weather.read forecast.read\", "
                                    "\"" CAMERA "\": \"camera.view\"}", NULL);
  f->policy_dir = lk_test_path ("apps.d");
  g_assert_cmpint (g_mkdir (f->policy_dir, 0755), ==, 0);
  write_policy (f, "weather.conf", "[App]\nUnit=weather.service\nScopes=weather.read forecast.read\n"
                                   "Resources=" WEATHER "\n");
  write_policy (f, "camera.conf", "[App]\nUser=" NOBODY "\nScopes=camera.view\nResources=" CAMERA "\n"
                                  "RequireDPoP=true\n");
  write_policy (f, "profile.conf", "[App]\nUnit=profile.service\nScopes=openid\n");
  write_policy (f, "broken.conf", "[App]\nUnit=broken.service\nScopes=weather.read\nColour=blue\n");

  pairing = lk_test_provider_config (f->provider);
  config = g_strdup_printf ("[Daemon]\nLogLevel=debug\n%sScopes=" SCOPES "\nResources=" WEATHER " " CAMERA "\n"
                            "[Tokens]\nPolicyDirectory=%s\n%s",
                            pairing, f->policy_dir, data ? (const char *) data : "");
  f->daemon = lk_test_daemon_start (config, NULL);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_autoptr (GDir) dir = g_dir_open (f->policy_dir, 0, NULL);
  const char *name;

  /* A clean stop, also where the test did not ask for one: the daemon frees what it holds in the TPM. */
  if (g_subprocess_get_identifier (f->daemon->process) != NULL)
    g_assert_cmpint (lk_test_daemon_stop (f->daemon), ==, 0);
  lk_test_daemon_free (f->daemon);
  lk_test_peer_free (f->provider);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (f->policy_dir, name, NULL);

      g_assert_cmpint (g_unlink (path), ==, 0);
    }
  g_assert_cmpint (g_rmdir (f->policy_dir), ==, 0);
  g_free (f->policy_dir);
}

static void
pair (Fixture *f)
{
  const char *args[] = { "pair", "--no-wait", NULL };
  g_autofree char *uri = NULL;

  g_assert_cmpint (lk_test_run_built ("latchkeyctl", args, NULL, NULL), ==, 0);
  lk_test_wait_property (LK_PAIRING_INTERFACE, "State", "waiting");
  uri = lk_test_property (LK_PAIRING_INTERFACE, "VerificationUriComplete");
  g_assert_true (lk_test_approve (f->provider, uri, "alice", FALSE));
  lk_test_wait_property (LK_DEVICE_INTERFACE, "State", "paired");
}

/*
 * Runs tests/app-client as an app in @unit (nullable) with @uid (nullable:
 * root) with @args (NULL-terminated): its one line of output.
 */
static char *
app (const char *unit, const char *uid, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *out = NULL;
  const char *arg;
  va_list args;

  g_ptr_array_add (argv, lk_test_built ("tests/app-client"));
  if (unit != NULL)
    {
      g_ptr_array_add (argv, g_strdup ("--unit"));
      g_ptr_array_add (argv, g_strdup (unit));
    }
  if (uid != NULL)
    {
      g_ptr_array_add (argv, g_strdup ("--uid"));
      g_ptr_array_add (argv, g_strdup (uid));
    }
  va_start (args, uid);
  while ((arg = va_arg (args, const char *)) != NULL)
    g_ptr_array_add (argv, g_strdup (arg));
  va_end (args);
  g_ptr_array_add (argv, NULL);
  g_assert_cmpint (lk_test_run ((const char *const *) argv->pdata, &out, NULL), ==, 0);
  return g_strchomp (g_steal_pointer (&out));
}

/* The token of an "ok TOKEN TYPE EXPIRES_AT" answer, checking the type. */
static char *
token_of (const char *answer, const char *type)
{
  g_auto (GStrv) words = g_strsplit (answer, " ", -1);

  g_assert_cmpuint (g_strv_length (words), ==, 4);
  g_assert_cmpstr (words[0], ==, "ok");
  g_assert_cmpstr (words[2], ==, type);
  g_assert_cmpint (g_ascii_strtoll (words[3], NULL, 10), >, g_get_real_time () / G_USEC_PER_SEC);
  return g_strdup (words[1]);
}

static void
assert_log_has (Fixture *f, const char *text)
{
  g_autofree char *log = lk_test_daemon_log (f->daemon);

  if (strstr (log, text) == NULL)
    g_error ("the log has no “%s”:\n%s", text, log);
}

static guint
count_in_log (Fixture *f, const char *text)
{
  g_autofree char *log = lk_test_daemon_log (f->daemon);
  guint n = 0;

  for (const char *p = strstr (log, text); p != NULL; p = strstr (p + 1, text))
    n++;
  return n;
}

/* Each app gets what it asked, narrowed, for its API, bound to the TPM key; then from the cache. */
static void
test_narrowed (Fixture *f, gconstpointer data)
{
  g_autofree char *answer = NULL, *again = NULL, *token = NULL, *thumbprint = NULL, *log = NULL;
  g_autoptr (JsonObject) introspection = NULL;

  pair (f);
  thumbprint = lk_test_device_property ("KeyThumbprint");
  answer = app ("weather.service", NULL, "token", WEATHER, "weather.read", NULL);
  token = token_of (answer, "DPoP");

  introspection = lk_test_introspect (f->provider, token);
  g_assert_true (json_object_get_boolean_member (introspection, "active"));
  g_assert_cmpstr (json_object_get_string_member (introspection, "scope"), ==, "weather.read");
  g_assert_cmpstr (json_object_get_string_member (introspection, "aud"), ==, WEATHER);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (introspection, "cnf"), "jkt"), ==,
                   thumbprint);

  again = app ("weather.service", NULL, "token", WEATHER, "weather.read", NULL);
  g_assert_cmpstr (again, ==, answer);
  assert_log_has (f, "token for app weather (uid 0 pid ");
  assert_log_has (f, " unit weather.service): scope \"weather.read\", resource " WEATHER ", expires in ");
  g_assert_cmpuint (count_in_log (f, ", new\n"), ==, 1);
  g_assert_cmpuint (count_in_log (f, ", from the cache\n"), ==, 1);

  g_assert_cmpint (lk_test_daemon_stop (f->daemon), ==, 0);
  log = lk_test_daemon_log (f->daemon);
  g_assert_null (strstr (log, token));
}

/* Deny by default: no policy, a scope or a resource the policy does not allow; a broken policy is reported. */
static void
test_denied (Fixture *f, gconstpointer data)
{
  g_autofree char *stranger = NULL, *scope = NULL, *resource = NULL, *broken = NULL;

  pair (f);
  stranger = app (NULL, "2", "token", "", "openid", NULL);
  g_assert_cmpstr (stranger, ==, "error org.freedesktop.DBus.Error.AccessDenied: no app policy matches this caller");
  scope = app ("weather.service", NULL, "token", WEATHER, "weather.read", "camera.view", NULL);
  g_assert_cmpstr (scope, ==, "error org.freedesktop.DBus.Error.AccessDenied: "
                              "the policy of app weather does not allow scope camera.view");
  resource = app ("weather.service", NULL, "token", CAMERA, "weather.read", NULL);
  g_assert_cmpstr (resource, ==, "error org.freedesktop.DBus.Error.AccessDenied: "
                                 "the policy of app weather does not allow resource " CAMERA);
  /* The broken file's unit is no app: its policy was never applied. */
  broken = app ("broken.service", NULL, "token", WEATHER, "weather.read", NULL);
  g_assert_cmpstr (broken, ==, "error org.freedesktop.DBus.Error.AccessDenied: no app policy matches this caller");
  assert_log_has (f, ": warning: tokens: app policy ignored: ");
  assert_log_has (f, ": warning: tokens: token refused to uid 2 pid ");
}

static void
test_not_paired (Fixture *f, gconstpointer data)
{
  g_autofree char *answer = app ("weather.service", NULL, "token", WEATHER, "weather.read", NULL);

  g_assert_cmpstr (answer, ==, "error io.latchkey.Agent1.Error.NotPaired: the device is not paired with an owner");
}

/* Past its burst, an app is refused, with one audit event for the run of refusals. */
static void
test_rate_limited (Fixture *f, gconstpointer data)
{
  g_autofree char *fourth = NULL, *fifth = NULL;

  pair (f);
  for (int i = 0; i < 3; i++)
    {
      g_autofree char *answer = app ("weather.service", NULL, "token", WEATHER, "weather.read", NULL);

      g_assert_true (g_str_has_prefix (answer, "ok "));
    }
  fourth = app ("weather.service", NULL, "token", WEATHER, "weather.read", NULL);
  g_assert_cmpstr (fourth, ==, "error io.latchkey.Agent1.Error.RateLimited: "
                               "app weather asks for tokens more often than 1 a minute");
  fifth = app ("weather.service", NULL, "token", WEATHER, "weather.read", NULL);
  g_assert_cmpstr (fifth, ==, fourth);
  g_assert_cmpuint (count_in_log (f, "asks for tokens more often than 1 a minute"), ==, 1);
}

/* The decoded claims of the compact JWS @jwt. */
static JsonObject *
jwt_part (const char *jwt, guint part)
{
  g_auto (GStrv) parts = g_strsplit (jwt, ".", -1);
  g_autoptr (GString) b64 = g_string_new (parts[part]);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autofree guchar *json = NULL;
  gsize length;

  g_strdelimit (b64->str, "-", '+');
  g_strdelimit (b64->str, "_", '/');
  while (b64->len % 4)
    g_string_append_c (b64, '=');
  json = g_base64_decode (b64->str, &length);
  g_assert_true (json_parser_load_from_data (parser, (const char *) json, (gssize) length, NULL));
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

/* RFC 9449 §4.2's ath of @token. */
static char *
sha256_base64url (const char *token)
{
  g_autoptr (GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  guint8 digest[32];
  gsize length = sizeof digest;
  char *b64;

  g_checksum_update (checksum, (const guchar *) token, -1);
  g_checksum_get_digest (checksum, digest, &length);
  b64 = g_base64_encode (digest, length);
  g_strdelimit (b64, "+", '-');
  g_strdelimit (b64, "/", '_');
  *strchrnul (b64, '=') = '\0';
  return b64;
}

/*
 * A DPoP-bound token is usable only with proofs the TPM key signs; the
 * daemon makes them for the app it gave the token to, and no other. The
 * provider's userinfo endpoint, a DPoP resource server, accepts them.
 */
static void
test_proof (Fixture *f, gconstpointer data)
{
  g_autofree char *answer = NULL, *token = NULL, *proof_answer = NULL, *stolen = NULL, *bad = NULL;
  g_autofree char *camera = NULL, *camera_token = NULL;
  g_autofree char *me = g_strconcat (lk_test_peer_get (f->provider, "OIDC_ISSUER"), "/me", NULL);
  g_autofree char *authorization = NULL, *dpop = NULL, *out = NULL, *ath = NULL;
  g_autoptr (JsonObject) claims = NULL;
  const char *proof;

  pair (f);
  answer = app ("profile.service", NULL, "token", "", "openid", NULL);
  token = token_of (answer, "DPoP");
  proof_answer = app ("profile.service", NULL, "proof", "GET", me, token, NULL);
  g_assert_true (g_str_has_prefix (proof_answer, "ok "));
  proof = proof_answer + 3;
  claims = jwt_part (proof, 1);
  g_assert_cmpstr (json_object_get_string_member (claims, "htm"), ==, "GET");
  g_assert_cmpstr (json_object_get_string_member (claims, "htu"), ==, me);
  ath = sha256_base64url (token);
  g_assert_cmpstr (json_object_get_string_member (claims, "ath"), ==, ath);

  authorization = g_strconcat ("Authorization: DPoP ", token, NULL);
  dpop = g_strconcat ("DPoP: ", proof, NULL);
  {
    const char *curl[] = { "curl", "-sS", "--fail", "--cacert", lk_test_peer_get (f->provider, "OIDC_CA"),
                           "-H", authorization, "-H", dpop, me, NULL };

    g_assert_cmpint (lk_test_run (curl, &out, NULL), ==, 0);
    g_assert_nonnull (strstr (out, "\"sub\":\"alice\""));
  }

  /* The camera app's token is the camera app's: another app cannot have proofs for it. */
  camera = app (NULL, NOBODY, "token", CAMERA, "camera.view", NULL);
  camera_token = token_of (camera, "DPoP");
  stolen = app ("profile.service", NULL, "proof", "GET", CAMERA "/live", camera_token, NULL);
  g_assert_cmpstr (stolen, ==, "error org.freedesktop.DBus.Error.AccessDenied: not a valid token given to this app");
  bad = app (NULL, NOBODY, "proof", "GET", "not a url", camera_token, NULL);
  g_assert_cmpstr (bad, ==, "error org.freedesktop.DBus.Error.InvalidArgs: a proof needs an HTTP method and an "
                            "http(s) URL");
}

/* Unpairing forgets every app token: none is handed out, none gets a proof. */
static void
test_unpair_forgets (Fixture *f, gconstpointer data)
{
  const char *unpair[] = { "unpair", NULL };
  g_autofree char *answer = NULL, *token = NULL, *after = NULL, *proof = NULL;

  pair (f);
  answer = app ("weather.service", NULL, "token", WEATHER, "weather.read", NULL);
  token = token_of (answer, "DPoP");
  g_assert_cmpint (lk_test_run_built ("latchkeyctl", unpair, NULL, NULL), ==, 0);
  after = app ("weather.service", NULL, "token", WEATHER, "weather.read", NULL);
  g_assert_cmpstr (after, ==, "error io.latchkey.Agent1.Error.NotPaired: the device is not paired with an owner");
  proof = app ("weather.service", NULL, "proof", "GET", WEATHER, token, NULL);
  g_assert_cmpstr (proof, ==, "error org.freedesktop.DBus.Error.AccessDenied: not a valid token given to this app");
}

/* Identical requests made at once share one request to the server, and one token. */
static void
test_concurrent (Fixture *f, gconstpointer data)
{
  g_autofree char *app_client = lk_test_built ("tests/app-client");
  const char *argv[] = { app_client, "--unit", "weather.service", "token", WEATHER, "forecast.read",
                         "weather.read", NULL };
  GSubprocess *clients[6];
  g_autofree char *first = NULL;

  pair (f);
  for (guint i = 0; i < G_N_ELEMENTS (clients); i++)
    {
      g_autoptr (GError) error = NULL;

      clients[i] = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
      g_assert_no_error (error);
    }
  for (guint i = 0; i < G_N_ELEMENTS (clients); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *out = NULL;

      g_subprocess_communicate_utf8 (clients[i], NULL, NULL, &out, NULL, &error);
      g_assert_no_error (error);
      g_assert_true (g_str_has_prefix (out, "ok "));
      if (first == NULL)
        first = g_steal_pointer (&out);
      else
        g_assert_cmpstr (out, ==, first);
      g_object_unref (clients[i]);
    }
  g_assert_cmpuint (count_in_log (f, ", new\n"), ==, 1);
}

/* A new policy applies on SIGHUP, and through ReloadPolicy, which lists the broken files. */
static void
test_reload (Fixture *f, gconstpointer data)
{
  g_autofree char *before = NULL, *after = NULL, *reload = NULL;

  pair (f);
  before = app ("radio.service", NULL, "token", WEATHER, "forecast.read", NULL);
  g_assert_cmpstr (before, ==, "error org.freedesktop.DBus.Error.AccessDenied: no app policy matches this caller");
  write_policy (f, "radio.conf", "[App]\nUnit=radio.service\nScopes=forecast.read\nResources=" WEATHER "\n");
  g_subprocess_send_signal (f->daemon->process, SIGHUP);
  lk_test_wait_log (f->daemon, "info: tokens: 4 app policies from ");
  after = app ("radio.service", NULL, "token", WEATHER, "forecast.read", NULL);
  g_assert_true (g_str_has_prefix (after, "ok "));

  reload = lk_test_call (-1, LK_TOKENS_INTERFACE, "ReloadPolicy", NULL);
  g_assert_cmpstr (reload, ==, "ok");
  g_clear_pointer (&reload, g_free);
  reload = lk_test_call (65534, LK_TOKENS_INTERFACE, "ReloadPolicy", NULL);
  g_assert_true (g_str_has_prefix (reload, "error org.freedesktop.DBus.Error.AccessDenied: "));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, config, func) g_test_add (name, Fixture, config, fixture_setup, func, fixture_teardown)
  ADD ("/tokens/narrowed", NULL, test_narrowed);
  ADD ("/tokens/denied", NULL, test_denied);
  ADD ("/tokens/not-paired", NULL, test_not_paired);
  ADD ("/tokens/rate-limited", "RateLimit=1\nRateBurst=3\n", test_rate_limited);
  ADD ("/tokens/proof", NULL, test_proof);
  ADD ("/tokens/unpair-forgets", NULL, test_unpair_forgets);
  ADD ("/tokens/concurrent", NULL, test_concurrent);
  ADD ("/tokens/reload", NULL, test_reload);
#undef ADD

  return g_test_run ();
}
