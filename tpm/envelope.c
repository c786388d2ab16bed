/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "tpm/envelope.h"

#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "tpm/error.h"
#include "tpm/secret-bytes.h"

static gboolean
aead_crypt (gboolean        encrypt,
            const guint8   *key,
            const guint8   *nonce,
            const guint8   *ad,
            gsize           ad_len,
            const guint8   *in,
            gsize           in_len,
            guint8         *out,
            gsize          *out_len,
            GError        **error)
{
  const gnutls_datum_t key_datum = { (unsigned char *) key, LK_TPM_ENVELOPE_KEY_SIZE };
  gnutls_aead_cipher_hd_t cipher;
  size_t len = *out_len;
  int rc;

  rc = gnutls_aead_cipher_init (&cipher, GNUTLS_CIPHER_AES_256_GCM, &key_datum);
  if (rc < 0)
    {
      g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_FAILED,
                   "Cannot set up AES-256-GCM: %s", gnutls_strerror (rc));
      return FALSE;
    }

  if (encrypt)
    rc = gnutls_aead_cipher_encrypt (cipher, nonce, LK_TPM_ENVELOPE_NONCE_SIZE, ad, ad_len,
                                     LK_TPM_ENVELOPE_TAG_SIZE, in, in_len, out, &len);
  else
    rc = gnutls_aead_cipher_decrypt (cipher, nonce, LK_TPM_ENVELOPE_NONCE_SIZE, ad, ad_len,
                                     LK_TPM_ENVELOPE_TAG_SIZE, in, in_len, out, &len);
  gnutls_aead_cipher_deinit (cipher);

  if (rc == GNUTLS_E_DECRYPTION_FAILED)
    {
      g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_BLOB_INVALID,
                   "The sealed blob was tampered with: authentication failed");
      return FALSE;
    }
  if (rc < 0)
    {
      g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_FAILED,
                   "AES-256-GCM failed: %s", gnutls_strerror (rc));
      return FALSE;
    }
  *out_len = len;
  return TRUE;
}

/**
 * lk_tpm_envelope_check_prefix:
 * @magic: 4 characters
 * @max_version: the newest version the caller reads; versions start at 1
 * @ret_version: (out) (optional): the blob's version
 *
 * Returns: %TRUE if @blob starts with @magic and a version from 1 to
 *   @max_version; otherwise %FALSE with %LK_TPM_ERROR_BLOB_INVALID or
 *   %LK_TPM_ERROR_BLOB_VERSION
 */
gboolean
lk_tpm_envelope_check_prefix (const guint8  *blob,
                              gsize          blob_len,
                              const char    *magic,
                              guint8         max_version,
                              guint8        *ret_version,
                              GError       **error)
{
  gsize magic_len;
  guint8 version;

  g_return_val_if_fail (blob != NULL || blob_len == 0, FALSE);
  g_return_val_if_fail (magic != NULL, FALSE);
  g_return_val_if_fail (max_version >= 1, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  magic_len = strlen (magic);
  if (blob_len < magic_len + 1 || memcmp (blob, magic, magic_len) != 0)
    {
      g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_BLOB_INVALID,
                   "Not a latchkey sealed blob");
      return FALSE;
    }
  version = blob[magic_len];
  if (version < 1 || version > max_version)
    {
      g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_BLOB_VERSION,
                   "Sealed blob version %u is not supported (expected 1 to %u)",
                   version, max_version);
      return FALSE;
    }
  if (ret_version != NULL)
    *ret_version = version;
  return TRUE;
}

/**
 * lk_tpm_envelope_seal:
 * @key: %LK_TPM_ENVELOPE_KEY_SIZE bytes; the nonce is random, so one key may
 *   seal many blobs (GCM's bound for random nonces, 2^32 blobs, is far off)
 * @header: copied in front of the nonce
 *
 * Returns: (transfer full): the blob, or %NULL with @error set
 */
GBytes *
lk_tpm_envelope_seal (const guint8  *key,
                      const guint8  *header,
                      gsize          header_len,
                      GBytes        *secret,
                      GError       **error)
{
  g_autoptr(GByteArray) blob = NULL;
  guint8 nonce[LK_TPM_ENVELOPE_NONCE_SIZE];
  gsize ad_len = header_len + sizeof nonce;
  const guint8 *plain;
  gsize plain_len;
  gsize sealed_len;

  g_return_val_if_fail (key != NULL, NULL);
  g_return_val_if_fail (header != NULL, NULL);
  g_return_val_if_fail (secret != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (gnutls_rnd (GNUTLS_RND_NONCE, nonce, sizeof nonce) < 0)
    {
      g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_FAILED,
                   "The random number generator failed");
      return NULL;
    }

  plain = g_bytes_get_data (secret, &plain_len);
  sealed_len = plain_len + LK_TPM_ENVELOPE_TAG_SIZE;
  blob = g_byte_array_sized_new (ad_len + sealed_len);
  g_byte_array_append (blob, header, header_len);
  g_byte_array_append (blob, nonce, sizeof nonce);
  g_byte_array_set_size (blob, ad_len + sealed_len);

  if (!aead_crypt (TRUE, key, nonce, blob->data, ad_len, plain, plain_len,
                   blob->data + ad_len, &sealed_len, error))
    return NULL;
  return g_byte_array_free_to_bytes (g_steal_pointer (&blob));
}

/**
 * lk_tpm_envelope_open:
 * @blob: from lk_tpm_envelope_seal(), whose header the caller has parsed
 * @header_len: where the nonce starts
 *
 * Returns: (transfer full): the secret, zeroed when its last reference is
 *   dropped; or %NULL with @error set (%LK_TPM_ERROR_BLOB_INVALID if the
 *   blob is truncated or does not authenticate)
 */
GBytes *
lk_tpm_envelope_open (const guint8  *key,
                      const guint8  *blob,
                      gsize          blob_len,
                      gsize          header_len,
                      GError       **error)
{
  gsize ad_len = header_len + LK_TPM_ENVELOPE_NONCE_SIZE;
  gsize sealed_len;
  gsize plain_len;
  guint8 *plain;

  g_return_val_if_fail (key != NULL, NULL);
  g_return_val_if_fail (blob != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (blob_len < ad_len + LK_TPM_ENVELOPE_TAG_SIZE)
    {
      g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_BLOB_INVALID,
                   "The sealed blob is truncated");
      return NULL;
    }

  sealed_len = blob_len - ad_len;
  plain_len = sealed_len - LK_TPM_ENVELOPE_TAG_SIZE;
  /* One spare byte: g_malloc (0) would return NULL for an empty secret. */
  plain = g_malloc (plain_len + 1);
  if (!aead_crypt (FALSE, key, blob + header_len, blob, ad_len,
                   blob + ad_len, sealed_len, plain, &plain_len, error))
    {
      gnutls_memset (plain, 0, sealed_len - LK_TPM_ENVELOPE_TAG_SIZE);
      g_free (plain);
      return NULL;
    }
  return lk_tpm_secret_bytes_take (plain, plain_len);
}
