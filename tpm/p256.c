/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "tpm/p256.h"

#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>

#include "tpm/error.h"

/* Drops the leading zeros of a big-endian integer (DER's sign byte, or a
 * TPM's or GnuTLS's own padding). */
static void
strip_leading_zeros (const guint8 **value,
                     gsize         *len)
{
  while (*len > 0 && **value == 0)
    {
      (*value)++;
      (*len)--;
    }
}

/* Right-aligns a big-endian integer into a coordinate-sized field. */
static gboolean
copy_padded (guint8        out[LK_TPM_P256_COORD_SIZE],
             const guint8 *in,
             gsize         in_len)
{
  strip_leading_zeros (&in, &in_len);
  if (in_len > LK_TPM_P256_COORD_SIZE)
    return FALSE;
  memset (out, 0, LK_TPM_P256_COORD_SIZE - in_len);
  if (in_len > 0)
    memcpy (out + LK_TPM_P256_COORD_SIZE - in_len, in, in_len);
  return TRUE;
}

/**
 * lk_tpm_p256_point_set:
 * @x: big-endian, with or without leading zeros
 * @y: likewise
 *
 * Returns: %FALSE if a coordinate does not fit P-256
 */
gboolean
lk_tpm_p256_point_set (LkTpmP256Point *point,
                       const guint8   *x,
                       gsize           x_len,
                       const guint8   *y,
                       gsize           y_len)
{
  g_return_val_if_fail (point != NULL, FALSE);

  return copy_padded (point->x, x, x_len) && copy_padded (point->y, y, y_len);
}

static gnutls_pubkey_t
make_pubkey (const LkTpmP256Point  *point,
             GError               **error)
{
  const gnutls_datum_t x = { (unsigned char *) point->x, sizeof point->x };
  const gnutls_datum_t y = { (unsigned char *) point->y, sizeof point->y };
  gnutls_pubkey_t pubkey = NULL;
  int rc;

  rc = gnutls_pubkey_init (&pubkey);
  if (rc == 0)
    rc = gnutls_pubkey_import_ecc_raw (pubkey, GNUTLS_ECC_CURVE_SECP256R1, &x, &y);
  if (rc < 0)
    {
      gnutls_pubkey_deinit (pubkey);
      g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_FAILED,
                   "Cannot build the public key: %s", gnutls_strerror (rc));
      return NULL;
    }
  return pubkey;
}

/**
 * lk_tpm_p256_export_public:
 * @out: (out): the SubjectPublicKeyInfo, to free with gnutls_free()
 */
gboolean
lk_tpm_p256_export_public (const LkTpmP256Point   *point,
                           gnutls_x509_crt_fmt_t   format,
                           gnutls_datum_t         *out,
                           GError                **error)
{
  gnutls_pubkey_t pubkey;
  int rc;

  g_return_val_if_fail (point != NULL, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  pubkey = make_pubkey (point, error);
  if (pubkey == NULL)
    return FALSE;

  rc = gnutls_pubkey_export2 (pubkey, format, out);
  gnutls_pubkey_deinit (pubkey);
  if (rc < 0)
    {
      g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_FAILED,
                   "Cannot export the public key: %s", gnutls_strerror (rc));
      return FALSE;
    }
  return TRUE;
}

/**
 * lk_tpm_p256_get_public_der:
 *
 * Returns: (transfer full): the DER SubjectPublicKeyInfo
 */
GBytes *
lk_tpm_p256_get_public_der (const LkTpmP256Point  *point,
                            GError               **error)
{
  gnutls_datum_t der = { NULL, 0 };
  GBytes *bytes;

  g_return_val_if_fail (point != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!lk_tpm_p256_export_public (point, GNUTLS_X509_FMT_DER, &der, error))
    return NULL;
  bytes = g_bytes_new (der.data, der.size);
  gnutls_free (der.data);
  return bytes;
}

char *
lk_tpm_base64url_encode (const guint8 *data,
                         gsize         len)
{
  char *text = g_base64_encode (data, len);
  char *p;

  for (p = text; *p != '\0'; p++)
    {
      if (*p == '+')
        *p = '-';
      else if (*p == '/')
        *p = '_';
      else if (*p == '=')
        {
          *p = '\0';
          break;
        }
    }
  return text;
}

/**
 * lk_tpm_p256_get_jwk:
 *
 * Returns: (transfer full): the public key as an RFC 7518 EC JWK
 */
JsonObject *
lk_tpm_p256_get_jwk (const LkTpmP256Point *point)
{
  g_autofree char *x64 = NULL;
  g_autofree char *y64 = NULL;
  JsonObject *jwk;

  g_return_val_if_fail (point != NULL, NULL);

  x64 = lk_tpm_base64url_encode (point->x, sizeof point->x);
  y64 = lk_tpm_base64url_encode (point->y, sizeof point->y);
  jwk = json_object_new ();
  json_object_set_string_member (jwk, "kty", "EC");
  json_object_set_string_member (jwk, "crv", "P-256");
  json_object_set_string_member (jwk, "x", x64);
  json_object_set_string_member (jwk, "y", y64);
  return jwk;
}

/**
 * lk_tpm_p256_get_jwk_thumbprint:
 *
 * Returns: (transfer full): the RFC 7638 SHA-256 thumbprint, base64url
 *   encoded (the `jkt` of DPoP-bound tokens)
 */
char *
lk_tpm_p256_get_jwk_thumbprint (const LkTpmP256Point  *point,
                                GError               **error)
{
  g_autofree char *x64 = NULL;
  g_autofree char *y64 = NULL;
  g_autofree char *canonical = NULL;
  guint8 hash[32];
  int rc;

  g_return_val_if_fail (point != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  x64 = lk_tpm_base64url_encode (point->x, sizeof point->x);
  y64 = lk_tpm_base64url_encode (point->y, sizeof point->y);
  /* RFC 7638 §3.2: required members only, sorted, no whitespace. base64url
   * needs no JSON escaping, so printing is exact. */
  canonical = g_strdup_printf ("{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
                               x64, y64);

  rc = gnutls_hash_fast (GNUTLS_DIG_SHA256, canonical, strlen (canonical), hash);
  if (rc < 0)
    {
      g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_FAILED,
                   "Cannot hash the JWK: %s", gnutls_strerror (rc));
      return NULL;
    }
  return lk_tpm_base64url_encode (hash, sizeof hash);
}

/**
 * lk_tpm_p256_signature_new:
 * @r: big-endian, with or without leading zeros
 * @s: likewise
 *
 * Returns: (transfer full): the ECDSA signature in @format, or %NULL with
 *   @error set if r or s does not fit P-256
 */
GBytes *
lk_tpm_p256_signature_new (const guint8          *r,
                           gsize                  r_len,
                           const guint8          *s,
                           gsize                  s_len,
                           LkTpmSignatureFormat   format,
                           GError               **error)
{
  guint8 raw[2 * LK_TPM_P256_COORD_SIZE];
  gnutls_datum_t r_datum;
  gnutls_datum_t s_datum;
  gnutls_datum_t der = { NULL, 0 };
  GBytes *bytes;
  int rc;

  g_return_val_if_fail (r != NULL && s != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!copy_padded (raw, r, r_len) || !copy_padded (raw + LK_TPM_P256_COORD_SIZE, s, s_len))
    {
      g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_FAILED,
                   "Malformed ECDSA signature: r or s is longer than 32 bytes");
      return NULL;
    }
  if (format == LK_TPM_SIGNATURE_RAW)
    return g_bytes_new (raw, sizeof raw);

  /* DER integers are minimal: hand GnuTLS the values without padding. */
  strip_leading_zeros (&r, &r_len);
  strip_leading_zeros (&s, &s_len);
  r_datum = (gnutls_datum_t) { (unsigned char *) r, (unsigned) r_len };
  s_datum = (gnutls_datum_t) { (unsigned char *) s, (unsigned) s_len };
  rc = gnutls_encode_rs_value (&der, &r_datum, &s_datum);
  if (rc < 0)
    {
      g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_FAILED,
                   "Cannot encode the signature: %s", gnutls_strerror (rc));
      return NULL;
    }
  bytes = g_bytes_new (der.data, der.size);
  gnutls_free (der.data);
  return bytes;
}
