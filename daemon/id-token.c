/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "base64url.h"
#include "error.h"
#include "id-token.h"
#include "json-members.h"

/* An ID token is small; a huge one is a hostile one. */
#define JWT_MAX_LENGTH (16 * 1024)

struct _LkJwt {
  char *alg;
  char *kid;
  JsonObject *claims;
  char *signing_input;   /* header.payload, as signed */
  GBytes *signature;
};

void
lk_jwt_free (LkJwt *jwt)
{
  if (jwt == NULL)
    return;
  g_free (jwt->alg);
  g_free (jwt->kid);
  g_clear_pointer (&jwt->claims, json_object_unref);
  g_free (jwt->signing_input);
  g_clear_pointer (&jwt->signature, g_bytes_unref);
  g_free (jwt);
}

static JsonObject *
decode_json_part (const char *part, const char *what, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GBytes) bytes = lk_base64url_decode (part, strlen (part), error);
  gsize size;
  const char *data;

  if (bytes == NULL)
    {
      g_prefix_error (error, "ID token: %s: ", what);
      return NULL;
    }
  data = g_bytes_get_data (bytes, &size);
  if (size == 0 || !json_parser_load_from_data (parser, data, (gssize) size, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error (error, LK_ERROR, LK_ERROR_PROTOCOL, "ID token: the %s is not a JSON object", what);
      return NULL;
    }
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

LkJwt *
lk_jwt_parse (const char *compact, GError **error)
{
  g_autoptr (LkJwt) jwt = g_new0 (LkJwt, 1);
  g_autoptr (JsonObject) header = NULL;
  g_auto (GStrv) parts = NULL;
  const char *alg;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (strlen (compact) > JWT_MAX_LENGTH)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_PROTOCOL, "ID token: longer than %u bytes", JWT_MAX_LENGTH);
      return NULL;
    }
  parts = g_strsplit (compact, ".", -1);
  if (g_strv_length (parts) != 3)
    {
      g_set_error_literal (error, LK_ERROR, LK_ERROR_PROTOCOL, "ID token: not a compact JWS");
      return NULL;
    }
  header = decode_json_part (parts[0], "header", error);
  if (header == NULL)
    return NULL;
  jwt->claims = decode_json_part (parts[1], "payload", error);
  if (jwt->claims == NULL)
    return NULL;
  jwt->signature = lk_base64url_decode (parts[2], strlen (parts[2]), error);
  if (jwt->signature == NULL)
    {
      g_prefix_error (error, "ID token: signature: ");
      return NULL;
    }
  alg = lk_json_get_string (header, "alg");
  if (alg == NULL)
    {
      g_set_error_literal (error, LK_ERROR, LK_ERROR_PROTOCOL, "ID token: no alg");
      return NULL;
    }
  /* Critical extensions we cannot know of must be refused (RFC 7515 §4.1.11). */
  if (json_object_has_member (header, "crit"))
    {
      g_set_error_literal (error, LK_ERROR, LK_ERROR_PROTOCOL, "ID token: critical header extensions");
      return NULL;
    }
  jwt->alg = g_strdup (alg);
  jwt->kid = g_strdup (lk_json_get_string (header, "kid"));
  jwt->signing_input = g_strdup_printf ("%s.%s", parts[0], parts[1]);
  return g_steal_pointer (&jwt);
}

const char *
lk_jwt_get_kid (LkJwt *jwt)
{
  return jwt->kid;
}

/* The key type and GnuTLS algorithm of a JWS alg we accept; FALSE for any other. */
static gboolean
alg_info (const char *alg, const char **ret_kty, gnutls_sign_algorithm_t *ret_sign)
{
  if (g_strcmp0 (alg, "ES256") == 0)
    {
      *ret_kty = "EC";
      *ret_sign = GNUTLS_SIGN_ECDSA_SHA256;
      return TRUE;
    }
  if (g_strcmp0 (alg, "RS256") == 0)
    {
      *ret_kty = "RSA";
      *ret_sign = GNUTLS_SIGN_RSA_SHA256;
      return TRUE;
    }
  return FALSE;
}

gboolean
lk_jwt_key_known (LkJwt *jwt, LkJwks *jwks)
{
  gnutls_sign_algorithm_t sign;
  const char *kty;

  return alg_info (jwt->alg, &kty, &sign) && lk_jwks_lookup (jwks, jwt->kid, kty) != NULL;
}

static gboolean
verify_signature (LkJwt *jwt, LkJwks *jwks, GError **error)
{
  gnutls_datum_t data = { (unsigned char *) jwt->signing_input, strlen (jwt->signing_input) };
  gnutls_datum_t signature = { NULL, 0 };
  gnutls_datum_t der = { NULL, 0 };
  gnutls_sign_algorithm_t sign;
  gnutls_pubkey_t key;
  const char *kty;
  gsize size;
  int ret;

  if (!alg_info (jwt->alg, &kty, &sign))
    {
      g_set_error (error, LK_ERROR, LK_ERROR_PROTOCOL, "ID token: signature algorithm “%s” is not accepted", jwt->alg);
      return FALSE;
    }
  key = lk_jwks_lookup (jwks, jwt->kid, kty);
  if (key == NULL)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_PROTOCOL, "ID token: signed by key “%s”, which is not the provider's",
                   jwt->kid ? jwt->kid : "(no kid)");
      return FALSE;
    }

  signature.data = (unsigned char *) g_bytes_get_data (jwt->signature, &size);
  signature.size = size;
  if (sign == GNUTLS_SIGN_ECDSA_SHA256)
    {
      /* JWS writes r and s side by side (RFC 7518 §3.4); GnuTLS reads DER. */
      gnutls_datum_t r = { signature.data, 32 }, s = { signature.data + 32, 32 };

      if (size != 64)
        {
          g_set_error_literal (error, LK_ERROR, LK_ERROR_PROTOCOL, "ID token: an ES256 signature is not 64 bytes");
          return FALSE;
        }
      ret = gnutls_encode_rs_value (&der, &r, &s);
      if (ret < 0)
        {
          g_set_error (error, LK_ERROR, LK_ERROR_FAILED, "ID token: %s", gnutls_strerror (ret));
          return FALSE;
        }
      ret = gnutls_pubkey_verify_data2 (key, sign, 0, &data, &der);
      gnutls_free (der.data);
    }
  else
    ret = gnutls_pubkey_verify_data2 (key, sign, 0, &data, &signature);
  if (ret < 0)
    {
      g_set_error_literal (error, LK_ERROR, LK_ERROR_PROTOCOL, "ID token: the signature does not verify");
      return FALSE;
    }
  return TRUE;
}

/* A NumericDate claim (RFC 7519 §2): an integer or a number of seconds. */
static gboolean
read_time (JsonObject *claims, const char *name, gint64 *ret_time, GError **error)
{
  JsonNode *node = json_object_get_member (claims, name);
  GType type;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    {
      g_set_error (error, LK_ERROR, LK_ERROR_PROTOCOL, "ID token: no %s", name);
      return FALSE;
    }
  type = json_node_get_value_type (node);
  if (type == G_TYPE_INT64)
    *ret_time = json_node_get_int (node);
  else if (type == G_TYPE_DOUBLE && json_node_get_double (node) > 0 && json_node_get_double (node) < 1e11)
    *ret_time = (gint64) json_node_get_double (node);
  else
    {
      g_set_error (error, LK_ERROR, LK_ERROR_PROTOCOL, "ID token: %s is not a time", name);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_audience (JsonObject *claims, const char *client_id, GError **error)
{
  JsonNode *aud = json_object_get_member (claims, "aud");
  JsonNode *azp = json_object_get_member (claims, "azp");
  gboolean found = FALSE;
  guint count = 0;

  if (aud != NULL && JSON_NODE_HOLDS_VALUE (aud) && json_node_get_value_type (aud) == G_TYPE_STRING)
    {
      found = g_str_equal (json_node_get_string (aud), client_id);
      count = 1;
    }
  else if (aud != NULL && JSON_NODE_HOLDS_ARRAY (aud))
    {
      JsonArray *array = json_node_get_array (aud);

      count = json_array_get_length (array);
      for (guint i = 0; i < count; i++)
        {
          JsonNode *element = json_array_get_element (array, i);

          if (JSON_NODE_HOLDS_VALUE (element) && json_node_get_value_type (element) == G_TYPE_STRING
              && g_str_equal (json_node_get_string (element), client_id))
            found = TRUE;
        }
    }
  if (!found)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_PROTOCOL, "ID token: not for %s (aud)", client_id);
      return FALSE;
    }
  /* Core §3.1.3.7 (4, 5): with other audiences, azp must name us; when present, it must anyway. */
  if ((count > 1 || azp != NULL) && g_strcmp0 (lk_json_get_string (claims, "azp"), client_id) != 0)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_PROTOCOL, "ID token: not authorized for %s (azp)", client_id);
      return FALSE;
    }
  return TRUE;
}

JsonObject *
lk_id_token_verify (LkJwt *jwt, LkJwks *jwks, const LkIdTokenCheck *check, GError **error)
{
  const char *sub;
  gint64 exp, iat;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!verify_signature (jwt, jwks, error))
    return NULL;
  if (g_strcmp0 (lk_json_get_string (jwt->claims, "iss"), check->issuer) != 0)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_PROTOCOL, "ID token: not issued by %s (iss)", check->issuer);
      return NULL;
    }
  if (!check_audience (jwt->claims, check->client_id, error))
    return NULL;
  if (!read_time (jwt->claims, "exp", &exp, error) || !read_time (jwt->claims, "iat", &iat, error))
    return NULL;
  if (exp + check->clock_skew <= check->now)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_PROTOCOL, "ID token: expired %" G_GINT64_FORMAT " s ago",
                   check->now - exp);
      return NULL;
    }
  if (iat > check->now + check->clock_skew)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_PROTOCOL, "ID token: issued %" G_GINT64_FORMAT " s in the future",
                   iat - check->now);
      return NULL;
    }
  sub = lk_json_get_string (jwt->claims, "sub");
  if (sub == NULL || *sub == '\0')
    {
      g_set_error_literal (error, LK_ERROR, LK_ERROR_PROTOCOL, "ID token: no sub");
      return NULL;
    }
  return json_object_ref (jwt->claims);
}
