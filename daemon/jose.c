/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <gnutls/crypto.h>
#include <string.h>

#include "error.h"
#include "jose.h"
#include "tpm/p256.h"

static char *
encode_object (JsonObject *object)
{
  g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), object);
  g_autofree char *text = json_to_string (node, FALSE);

  return lk_tpm_base64url_encode ((const guint8 *) text, strlen (text));
}

char *
lk_jose_sign (LkKeystore *keystore, JsonObject *header, JsonObject *claims, GError **error)
{
  g_autofree char *header64 = NULL;
  g_autofree char *claims64 = NULL;
  g_autofree char *input = NULL;
  g_autofree char *signature64 = NULL;
  g_autoptr (GBytes) signature = NULL;
  guint8 digest[32];
  gsize length;
  const guint8 *raw;
  int r;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  json_object_set_string_member (header, "alg", lk_keystore_get_algorithm (keystore));
  header64 = encode_object (header);
  claims64 = encode_object (claims);
  input = g_strconcat (header64, ".", claims64, NULL);

  r = gnutls_hash_fast (GNUTLS_DIG_SHA256, input, strlen (input), digest);
  if (r < 0)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_FAILED, "cannot hash a JWS: %s", gnutls_strerror (r));
      return NULL;
    }
  /* ES256 signatures are r || s (RFC 7518 §3.4), not DER. */
  signature = lk_keystore_sign_digest (keystore, digest, sizeof digest, LK_TPM_SIGNATURE_RAW, error);
  if (signature == NULL)
    return NULL;
  raw = g_bytes_get_data (signature, &length);
  signature64 = lk_tpm_base64url_encode (raw, length);
  return g_strconcat (input, ".", signature64, NULL);
}

char *
lk_jose_random_id (void)
{
  guint8 id[16];

  /* GNUTLS_RND_NONCE: unpredictable, and never the same twice. */
  if (gnutls_rnd (GNUTLS_RND_NONCE, id, sizeof id) < 0)
    g_error ("the random generator failed");
  return lk_tpm_base64url_encode (id, sizeof id);
}

char *
lk_jose_sha256_base64url (const char *text)
{
  guint8 digest[32];

  if (gnutls_hash_fast (GNUTLS_DIG_SHA256, text, strlen (text), digest) < 0)
    g_error ("SHA-256 failed");
  return lk_tpm_base64url_encode (digest, sizeof digest);
}
