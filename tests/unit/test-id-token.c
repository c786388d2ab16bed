/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The ID token check with real signatures: keys made and tokens signed
 * here by GnuTLS (ES256 and RS256), a JWK Set built from the public keys;
 * every forged, misdirected or stale token is refused with its reason, and
 * so is every JWK Set that does not hold keys as RFC 7517/7518 write them.
 */
#include "config.h"

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <string.h>

#include "error.h"
#include "id-token.h"

#define ISSUER "https://id.example.org"
#define CLIENT "latchkey-test"
#define NOW G_GINT64_CONSTANT (1800000000)

static char *
b64url (const guchar *data, gsize size)
{
  g_autofree char *b64 = g_base64_encode (data, size);
  GString *out = g_string_new (NULL);

  for (const char *p = b64; *p != '\0' && *p != '='; p++)
    g_string_append_c (out, *p == '+' ? '-' : *p == '/' ? '_' : *p);
  return g_string_free (out, FALSE);
}

static char *
b64url_text (const char *text)
{
  return b64url ((const guchar *) text, strlen (text));
}

/* @value with leading zeros up to @size bytes, base64url-encoded. */
static char *
b64url_padded (const gnutls_datum_t *value, gsize size)
{
  g_autofree guchar *padded = g_malloc0 (size);

  g_assert_cmpuint (value->size, <=, size);
  memcpy (padded + size - value->size, value->data, value->size);
  return b64url (padded, size);
}

typedef struct {
  gnutls_privkey_t ec, rsa, other;
  LkJwks *jwks;
} Fixture;

static void
add_jwk (JsonBuilder *builder, gnutls_privkey_t key, const char *kid)
{
  gnutls_datum_t a = { NULL, 0 }, b = { NULL, 0 };
  g_autofree char *ta = NULL, *tb = NULL;
  gboolean ec = gnutls_privkey_get_pk_algorithm (key, NULL) == GNUTLS_PK_ECDSA;

  if (ec)
    g_assert_cmpint (gnutls_privkey_export_ecc_raw2 (key, NULL, &a, &b, NULL, GNUTLS_EXPORT_FLAG_NO_LZ), ==, 0);
  else
    g_assert_cmpint (gnutls_privkey_export_rsa_raw2 (key, &a, &b, NULL, NULL, NULL, NULL, NULL, NULL,
                                                     GNUTLS_EXPORT_FLAG_NO_LZ), ==, 0);
  if (ec)
    {
      /* RFC 7518 §6.2.1.2: a coordinate is the curve's full 32 bytes, leading zeros kept. */
      ta = b64url_padded (&a, 32);
      tb = b64url_padded (&b, 32);
    }
  else
    {
      ta = b64url (a.data, a.size);
      tb = b64url (b.data, b.size);
    }
  gnutls_free (a.data);
  gnutls_free (b.data);
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "kty");
  json_builder_add_string_value (builder, ec ? "EC" : "RSA");
  json_builder_set_member_name (builder, "kid");
  json_builder_add_string_value (builder, kid);
  if (ec)
    {
      json_builder_set_member_name (builder, "crv");
      json_builder_add_string_value (builder, "P-256");
    }
  json_builder_set_member_name (builder, ec ? "x" : "n");
  json_builder_add_string_value (builder, ta);
  json_builder_set_member_name (builder, ec ? "y" : "e");
  json_builder_add_string_value (builder, tb);
  json_builder_end_object (builder);
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (GError) error = NULL;

  gnutls_privkey_init (&f->ec);
  gnutls_privkey_init (&f->rsa);
  gnutls_privkey_init (&f->other);
  g_assert_cmpint (gnutls_privkey_generate (f->ec, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1), 0), ==, 0);
  g_assert_cmpint (gnutls_privkey_generate (f->rsa, GNUTLS_PK_RSA, 2048, 0), ==, 0);
  g_assert_cmpint (gnutls_privkey_generate (f->other, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1), 0), ==, 0);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "keys");
  json_builder_begin_array (builder);
  add_jwk (builder, f->ec, "ec-1");
  add_jwk (builder, f->rsa, "rsa-1");
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  f->jwks = lk_jwks_new ();
  g_assert_true (lk_jwks_load (f->jwks, json_node_get_object (root), &error));
  g_assert_no_error (error);
  g_assert_cmpuint (lk_jwks_count (f->jwks), ==, 2);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  gnutls_privkey_deinit (f->ec);
  gnutls_privkey_deinit (f->rsa);
  gnutls_privkey_deinit (f->other);
  lk_jwks_free (f->jwks);
}

/* A compact JWS of @payload by @key, as a provider would sign it. */
static char *
sign (gnutls_privkey_t key, const char *alg, const char *kid, const char *payload)
{
  gboolean ec = g_str_equal (alg, "ES256");
  g_autofree char *header = g_strdup_printf ("{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"JWT\"}", alg, kid);
  g_autofree char *h = b64url_text (header), *p = b64url_text (payload), *s = NULL;
  g_autofree char *input = g_strdup_printf ("%s.%s", h, p);
  gnutls_datum_t data = { (unsigned char *) input, strlen (input) }, sig = { NULL, 0 };

  g_assert_cmpint (gnutls_privkey_sign_data2 (key, ec ? GNUTLS_SIGN_ECDSA_SHA256 : GNUTLS_SIGN_RSA_SHA256, 0,
                                              &data, &sig), ==, 0);
  if (ec)
    {
      gnutls_datum_t r, t;
      guchar raw[64] = { 0 };
      gsize r_skip = 0, t_skip = 0;

      g_assert_cmpint (gnutls_decode_rs_value (&sig, &r, &t), ==, 0);
      /* JWS wants r and s as 32 bytes each, without DER's sign byte. */
      while (r.size - r_skip > 32 && r.data[r_skip] == 0)
        r_skip++;
      while (t.size - t_skip > 32 && t.data[t_skip] == 0)
        t_skip++;
      memcpy (raw + 32 - (r.size - r_skip), r.data + r_skip, r.size - r_skip);
      memcpy (raw + 64 - (t.size - t_skip), t.data + t_skip, t.size - t_skip);
      gnutls_free (r.data);
      gnutls_free (t.data);
      s = b64url (raw, 64);
    }
  else
    s = b64url (sig.data, sig.size);
  gnutls_free (sig.data);
  return g_strdup_printf ("%s.%s", input, s);
}

/* sign() of claims it then frees. */
static char *
sign_claims (gnutls_privkey_t key, const char *alg, const char *kid, char *payload)
{
  g_autofree char *owned = payload;

  return sign (key, alg, kid, owned);
}

static char *
claims (const char *aud, gint64 exp, gint64 iat, const char *extra)
{
  return g_strdup_printf ("{\"iss\":\"" ISSUER "\",\"sub\":\"alice\",\"aud\":%s,\"exp\":%" G_GINT64_FORMAT
                          ",\"iat\":%" G_GINT64_FORMAT ",\"email\":\"alice@example.org\"%s}",
                          aud, exp, iat, extra ? extra : "");
}

/* Verifies @token as of NOW; returns the error message, or "ok". */
static char *
check (Fixture *f, const char *token)
{
  LkIdTokenCheck c = { .issuer = ISSUER, .client_id = CLIENT, .now = NOW, .clock_skew = 60 };
  g_autoptr (LkJwt) jwt = NULL;
  g_autoptr (JsonObject) result = NULL;
  g_autoptr (GError) error = NULL;

  jwt = lk_jwt_parse (token, &error);
  if (jwt != NULL)
    result = lk_id_token_verify (jwt, f->jwks, &c, &error);
  if (result == NULL)
    {
      g_assert_error (error, LK_ERROR, LK_ERROR_PROTOCOL);
      return g_strdup (error->message);
    }
  g_assert_cmpstr (json_object_get_string_member (result, "email"), ==, "alice@example.org");
  return g_strdup ("ok");
}

#define ASSERT_CHECK(f, token, expected) \
  G_STMT_START { g_autofree char *t_ = (token); g_autofree char *m_ = check ((f), t_); \
                 g_assert_cmpstr (m_, ==, (expected)); } G_STMT_END

static void
test_valid (Fixture *f, gconstpointer data)
{
  g_autofree char *c = claims ("\"" CLIENT "\"", NOW + 300, NOW - 5, NULL);
  g_autofree char *multi = claims ("[\"" CLIENT "\",\"other\"]", NOW + 300, NOW, ",\"azp\":\"" CLIENT "\"");

  ASSERT_CHECK (f, sign (f->ec, "ES256", "ec-1", c), "ok");
  ASSERT_CHECK (f, sign (f->rsa, "RS256", "rsa-1", c), "ok");
  ASSERT_CHECK (f, sign (f->ec, "ES256", "ec-1", multi), "ok");
  /* Within the clock skew either way. */
  ASSERT_CHECK (f, sign_claims (f->ec, "ES256", "ec-1", claims ("\"" CLIENT "\"", NOW - 30, NOW + 30, NULL)), "ok");
}

static void
test_bad_signature (Fixture *f, gconstpointer data)
{
  g_autofree char *c = claims ("\"" CLIENT "\"", NOW + 300, NOW, NULL);
  g_autofree char *good = sign (f->ec, "ES256", "ec-1", c);
  g_autofree char *other_payload = b64url_text ("{\"iss\":\"" ISSUER "\",\"sub\":\"mallory\"}");
  g_auto (GStrv) parts = g_strsplit (good, ".", -1);

  /* Signed by a key that is not the provider's, under its kid. */
  ASSERT_CHECK (f, sign (f->other, "ES256", "ec-1", c), "ID token: the signature does not verify");
  /* The provider's signature over other claims. */
  ASSERT_CHECK (f, g_strdup_printf ("%s.%s.%s", parts[0], other_payload, parts[2]),
                "ID token: the signature does not verify");
  /* An RSA signature under an EC key's kid finds no RSA key of that name. */
  ASSERT_CHECK (f, sign (f->rsa, "RS256", "ec-1", c), "ID token: signed by key “ec-1”, which is not the provider's");
  ASSERT_CHECK (f, sign (f->ec, "ES256", "ec-2", c), "ID token: signed by key “ec-2”, which is not the provider's");
  /* No signature at all. */
  {
    g_autofree char *h = b64url_text ("{\"alg\":\"none\"}"), *p = b64url_text (c);

    ASSERT_CHECK (f, g_strdup_printf ("%s.%s.", h, p), "ID token: signature algorithm “none” is not accepted");
  }
  ASSERT_CHECK (f, g_strdup ("a.b"), "ID token: not a compact JWS");
}

static void
test_claims (Fixture *f, gconstpointer data)
{
  ASSERT_CHECK (f, sign_claims (f->ec, "ES256", "ec-1", claims ("\"someone-else\"", NOW + 300, NOW, NULL)),
                "ID token: not for " CLIENT " (aud)");
  ASSERT_CHECK (f, sign_claims (f->ec, "ES256", "ec-1", claims ("[\"" CLIENT "\",\"other\"]", NOW + 300, NOW, NULL)),
                "ID token: not authorized for " CLIENT " (azp)");
  ASSERT_CHECK (f, sign_claims (f->ec, "ES256", "ec-1", claims ("\"" CLIENT "\"", NOW + 300, NOW, ",\"azp\":\"other\"")),
                "ID token: not authorized for " CLIENT " (azp)");
  ASSERT_CHECK (f, sign_claims (f->ec, "ES256", "ec-1", claims ("\"" CLIENT "\"", NOW - 61, NOW - 400, NULL)),
                "ID token: expired 61 s ago");
  ASSERT_CHECK (f, sign_claims (f->rsa, "RS256", "rsa-1", claims ("\"" CLIENT "\"", NOW + 900, NOW + 120, NULL)),
                "ID token: issued 120 s in the future");
  {
    g_autofree char *c = g_strdup_printf ("{\"iss\":\"https://evil.example\",\"sub\":\"alice\",\"aud\":\"" CLIENT
                                          "\",\"exp\":%" G_GINT64_FORMAT ",\"iat\":%" G_GINT64_FORMAT "}",
                                          NOW + 300, NOW);

    ASSERT_CHECK (f, sign (f->ec, "ES256", "ec-1", c), "ID token: not issued by " ISSUER " (iss)");
  }
}

/* Loads the JWK Set @text into the fixture's; returns the error message, or "ok". */
static char *
load (Fixture *f, const char *text)
{
  g_autoptr (JsonNode) root = json_from_string (text, NULL);
  g_autoptr (GError) error = NULL;

  g_assert_nonnull (root);
  if (lk_jwks_load (f->jwks, json_node_get_object (root), &error))
    return g_strdup ("ok");
  g_assert_error (error, LK_ERROR, LK_ERROR_PROTOCOL);
  return g_strdup (error->message);
}

#define ASSERT_LOAD(f, text, expected) \
  G_STMT_START { g_autofree char *t_ = (text); g_autofree char *m_ = load ((f), t_); \
                 g_assert_cmpstr (m_, ==, (expected)); } G_STMT_END

static void
test_jwks_refused (Fixture *f, gconstpointer data)
{
  guchar bytes[256];
  g_autofree char *b32 = NULL, *b31 = NULL, *b128 = NULL;
  g_autofree char *c = claims ("\"" CLIENT "\"", NOW + 300, NOW, NULL);

  memset (bytes, 0xa5, sizeof bytes);
  b32 = b64url (bytes, 32);
  b31 = b64url (bytes, 31);
  b128 = b64url (bytes, 128);

  ASSERT_LOAD (f, g_strdup ("{\"keys\":{}}"), "JWK Set: no keys array");
  ASSERT_LOAD (f, g_strdup ("{\"keys\":[\"ec-1\"]}"), "JWK Set: key 0 is not an object");
  /* A coordinate without its leading zero byte, as a careless encoder writes it. */
  ASSERT_LOAD (f, g_strdup_printf ("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}]}",
                                   b31, b32),
               "JWK Set: key 0: JWK: a P-256 coordinate is not 32 bytes");
  ASSERT_LOAD (f, g_strdup_printf ("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\"}]}", b32),
               "JWK Set: key 0: JWK: no y");
  ASSERT_LOAD (f, g_strdup_printf ("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"a+b/\"}]}",
                                   b32),
               "JWK Set: key 0: JWK: y: not base64url: a character outside the alphabet");
  ASSERT_LOAD (f, g_strdup_printf ("{\"keys\":[{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}]}", b128),
               "JWK Set: key 0: JWK: an RSA key shorter than 2048 bits");
  /* A refused set leaves the keys of the last good one. */
  g_assert_cmpuint (lk_jwks_count (f->jwks), ==, 2);
  ASSERT_CHECK (f, sign (f->ec, "ES256", "ec-1", c), "ok");

  /* Keys of other kinds or for encryption are not for ID tokens: passed over, unread (this one's x is short). */
  ASSERT_LOAD (f, g_strdup_printf ("{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\"},"
                                   "{\"kty\":\"EC\",\"use\":\"enc\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}]}",
                                   b32, b31, b32),
               "ok");
  g_assert_cmpuint (lk_jwks_count (f->jwks), ==, 0);
  ASSERT_CHECK (f, sign (f->ec, "ES256", "ec-1", c), "ID token: signed by key “ec-1”, which is not the provider's");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/id-token/valid", Fixture, NULL, fixture_set_up, test_valid, fixture_tear_down);
  g_test_add ("/id-token/bad-signature", Fixture, NULL, fixture_set_up, test_bad_signature, fixture_tear_down);
  g_test_add ("/id-token/claims", Fixture, NULL, fixture_set_up, test_claims, fixture_tear_down);
  g_test_add ("/id-token/jwks-refused", Fixture, NULL, fixture_set_up, test_jwks_refused, fixture_tear_down);
  return g_test_run ();
}
