/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "dpop.h"
#include "error.h"
#include "jose.h"

char *
lk_dpop_proof_new (LkKeystore *keystore,
                   const char *method,
                   const char *url,
                   const char *nonce,
                   const char *access_token,
                   GError **error)
{
  g_autoptr (JsonObject) header = json_object_new ();
  g_autoptr (JsonObject) claims = json_object_new ();
  g_autoptr (GUri) uri = NULL;
  g_autoptr (GUri) target = NULL;
  g_autofree char *htu = NULL;
  g_autofree char *jti = lk_jose_random_id ();
  JsonObject *jwk;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  uri = g_uri_parse (url, G_URI_FLAGS_ENCODED, NULL);
  if (uri == NULL)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_FAILED, "cannot make a DPoP proof for a malformed URL");
      return NULL;
    }
  target = g_uri_build (G_URI_FLAGS_ENCODED, g_uri_get_scheme (uri), NULL, g_uri_get_host (uri),
                        g_uri_get_port (uri), g_uri_get_path (uri), NULL, NULL);
  jwk = lk_keystore_get_jwk (keystore, error);
  if (jwk == NULL)
    return NULL;

  json_object_set_string_member (header, "typ", "dpop+jwt");
  json_object_set_object_member (header, "jwk", jwk);
  htu = g_uri_to_string (target);
  json_object_set_string_member (claims, "jti", jti);
  json_object_set_string_member (claims, "htm", method);
  json_object_set_string_member (claims, "htu", htu);
  json_object_set_int_member (claims, "iat", g_get_real_time () / G_USEC_PER_SEC);
  if (nonce != NULL)
    json_object_set_string_member (claims, "nonce", nonce);
  if (access_token != NULL)
    {
      g_autofree char *ath = lk_jose_sha256_base64url (access_token);

      json_object_set_string_member (claims, "ath", ath);
    }
  return lk_jose_sign (keystore, header, claims, error);
}
