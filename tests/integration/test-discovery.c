/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Authorization server discovery against a real OpenID provider, and
 * against a hostile server answering what no provider should.
 */
#include "config.h"

#include <string.h>

#include "error.h"
#include "oauth-discovery.h"
#include "testlib.h"

typedef struct {
  LkTestPeer *provider;
  const char *issuer;
  const char *ca;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->provider = lk_test_peer_start ("oidc", "oidc", NULL);
  f->issuer = lk_test_peer_get (f->provider, "OIDC_ISSUER");
  f->ca = lk_test_peer_get (f->provider, "OIDC_CA");
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  lk_test_peer_free (f->provider);
}

/* Runs a discovery of @issuer trusting @ca to completion. */
static LkOAuthServer *
discover (const char *ca, const char *issuer, GError **error)
{
  g_autoptr (LkHttp) http = lk_http_new (ca, error);
  g_autoptr (GAsyncResult) result = NULL;

  g_assert_nonnull (http);
  lk_oauth_discover_async (http, issuer, NULL, lk_test_on_result, &result);
  return lk_oauth_discover_finish (lk_test_wait_result (&result), error);
}

static void
test_discovers_provider (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LkOAuthServer) server = discover (f->ca, f->issuer, &error);
  g_autofree char *device = g_strconcat (f->issuer, "/device/auth", NULL);
  g_autofree char *token = g_strconcat (f->issuer, "/token", NULL);
  g_autofree char *revocation = g_strconcat (f->issuer, "/token/revocation", NULL);

  g_assert_no_error (error);
  g_assert_cmpstr (server->issuer, ==, f->issuer);
  g_assert_cmpstr (server->device_authorization_endpoint, ==, device);
  g_assert_cmpstr (server->token_endpoint, ==, token);
  g_assert_cmpstr (server->revocation_endpoint, ==, revocation);
  g_assert_nonnull (server->jwks_uri);
  g_assert_nonnull (server->dpop_signing_alg_values_supported);
  g_assert_true (g_strv_contains ((const char *const *) server->dpop_signing_alg_values_supported, "ES256"));
}

static void
test_untrusted_certificate (Fixture *f, gconstpointer data)
{
  /* A CA of its own, which did not sign the provider's certificate. */
  g_autoptr (LkTestPeer) other = lk_test_peer_start ("oidc", "other-oidc", NULL);
  const char *other_ca = lk_test_peer_get (other, "OIDC_CA");
  g_autoptr (GError) error = NULL;
  g_autoptr (LkOAuthServer) server = discover (other_ca, f->issuer, &error);
  g_autofree char *trusted = g_strdup_printf ("(trusted: %s)", other_ca);

  g_assert_null (server);
  g_assert_error (error, LK_ERROR, LK_ERROR_NETWORK);
  g_assert_true (g_str_has_prefix (error->message, f->issuer));
  g_assert_nonnull (strstr (error->message, ": TLS: "));
  g_assert_true (g_str_has_suffix (error->message, trusted));
}

static void
test_unreachable (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LkOAuthServer) server = discover (f->ca, "https://127.0.0.1:1", &error);

  g_assert_null (server);
  g_assert_error (error, LK_ERROR, LK_ERROR_NETWORK);
  g_assert_true (g_str_has_prefix (error->message,
                                   "https://127.0.0.1:1/.well-known/oauth-authorization-server: "));
}

static void
test_bad_issuer (void)
{
  const char *bad[] = { "http://127.0.0.1:8080", "https://example.com/?tenant=1", "https://example.com/#x",
                        "https://user@example.com", "not a url" };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *rfc8414 = NULL, *openid = NULL;
      g_autofree char *expected = g_strdup_printf ("issuer “%s” is not an https URL without query, "
                                                   "fragment or user", bad[i]);
      g_autoptr (GError) error = NULL;

      g_assert_false (lk_oauth_discovery_urls (bad[i], &rfc8414, &openid, &error));
      g_assert_error (error, LK_ERROR, LK_ERROR_CONFIG);
      g_assert_cmpstr (error->message, ==, expected);
    }
}

static void
test_discovery_urls (void)
{
  g_autofree char *rfc8414 = NULL, *openid = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (lk_oauth_discovery_urls ("https://id.example.com:8443/tenant/", &rfc8414, &openid, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (rfc8414, ==, "https://id.example.com:8443/.well-known/oauth-authorization-server/tenant");
  g_assert_cmpstr (openid, ==, "https://id.example.com:8443/tenant/.well-known/openid-configuration");
  g_clear_pointer (&rfc8414, g_free);
  g_clear_pointer (&openid, g_free);

  g_assert_true (lk_oauth_discovery_urls ("https://id.example.com", &rfc8414, &openid, &error));
  g_assert_cmpstr (rfc8414, ==, "https://id.example.com/.well-known/oauth-authorization-server");
  g_assert_cmpstr (openid, ==, "https://id.example.com/.well-known/openid-configuration");
}

/* Discovers the hostile server's @name case; ISSUER in @expected stands for its issuer URL. */
static void
assert_hostile (LkTestPeer *hostile, const char *name, const char *expected)
{
  g_autofree char *issuer = g_strdup_printf ("%s/%s", lk_test_peer_get (hostile, "HOSTILE_URL"), name);
  g_auto (GStrv) parts = g_strsplit (expected, "ISSUER", -1);
  g_autofree char *message = g_strjoinv (issuer, parts);
  g_autoptr (GError) error = NULL;
  g_autoptr (LkOAuthServer) server = discover (lk_test_peer_get (hostile, "HOSTILE_CA"), issuer, &error);

  g_assert_null (server);
  g_assert_error (error, LK_ERROR, LK_ERROR_PROTOCOL);
  g_assert_cmpstr (error->message, ==, message);
}

static void
test_hostile_documents (void)
{
  g_autoptr (LkTestPeer) hostile = lk_test_peer_start ("hostile", "hostile", NULL);

#define METADATA "metadata at ISSUER/.well-known/openid-configuration: "
  assert_hostile (hostile, "notjson", METADATA "malformed JSON");
  assert_hostile (hostile, "array", METADATA "not a JSON object");
  assert_hostile (hostile, "html", METADATA "content type is text/html, not application/json");
  /* Well-formed, but speaking for another issuer (RFC 8414 §3.3). */
  assert_hostile (hostile, "impostor", METADATA "issuer is “https://id.example.com”, expected “ISSUER”");
  assert_hostile (hostile, "plainhttp", METADATA "token_endpoint is not an https URL");
#undef METADATA
  assert_hostile (hostile, "huge",
                  "ISSUER/.well-known/openid-configuration: the response is larger than 65536 bytes");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/discovery/urls", test_discovery_urls);
  g_test_add_func ("/discovery/bad-issuer", test_bad_issuer);
#define ADD(name, func) g_test_add (name, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/discovery/provider", test_discovers_provider);
  ADD ("/discovery/untrusted-certificate", test_untrusted_certificate);
  ADD ("/discovery/unreachable", test_unreachable);
#undef ADD
  g_test_add_func ("/discovery/hostile-documents", test_hostile_documents);

  return g_test_run ();
}
