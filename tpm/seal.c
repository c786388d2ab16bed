/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "tpm/seal.h"

#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>

#include "tpm/context-private.h"

/* A sealed object holds at most 128 bytes, so the TPM seals a fresh
 * AES-256 key and the secret itself is encrypted with AES-256-GCM.
 *
 * Blob, version 1:
 *   "LKSB" | version (1 byte) | TPM2B_NAME of the SRK |
 *   TPM2B_PUBLIC and TPM2B_PRIVATE of the sealed key | GCM nonce (12) |
 *   ciphertext | GCM tag (16)
 * Everything before the ciphertext is the GCM associated data. */
#define BLOB_MAGIC "LKSB"
#define BLOB_MAGIC_SIZE 4
#define BLOB_VERSION 1
#define AEAD_KEY_SIZE 32
#define AEAD_NONCE_SIZE 12
#define AEAD_TAG_SIZE 16

static const TPM2B_PUBLIC sealed_template = {
  .publicArea = {
    .type = TPM2_ALG_KEYEDHASH,
    .nameAlg = TPM2_ALG_SHA256,
    /* noDA: the object has no authorization value to guess. */
    .objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                        TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA,
    .parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL,
  },
};

static void
wipe_and_free (gpointer data)
{
  GBytes *secret = data;
  gsize len;
  gpointer bytes = (gpointer) g_bytes_get_data (secret, &len);

  gnutls_memset (bytes, 0, len);
  g_bytes_unref (secret);
}

/* Plaintext handed to the caller is zeroed when its last reference goes. */
static GBytes *
secret_bytes_take (guint8 *data,
                   gsize   len)
{
  GBytes *owner = g_bytes_new_take (data, len);

  return g_bytes_new_with_free_func (g_bytes_get_data (owner, NULL), len,
                                     wipe_and_free, owner);
}

/* A session salted with the SRK's key encrypts the first parameter on the
 * bus, so the AES key is never seen in clear between CPU and TPM. */
static ESYS_TR
start_salted_session (LkTpmContextLocker  *locker,
                      ESYS_TR              srk,
                      TPMA_SESSION         attributes,
                      GError             **error)
{
  const TPMT_SYM_DEF symmetric = {
    .algorithm = TPM2_ALG_AES,
    .keyBits.aes = 128,
    .mode.aes = TPM2_ALG_CFB,
  };
  ESYS_CONTEXT *esys = lk_tpm_context_get_esys (locker);
  ESYS_TR session = ESYS_TR_NONE;
  TSS2_RC rc;

  LK_TPM_CALL (rc,
               Esys_StartAuthSession (esys, srk, ESYS_TR_NONE, ESYS_TR_NONE,
                                      ESYS_TR_NONE, ESYS_TR_NONE, NULL,
                                      TPM2_SE_HMAC, &symmetric,
                                      TPM2_ALG_SHA256, &session));
  if (!lk_tpm_context_check (locker, rc, "Starting a TPM session", error))
    return ESYS_TR_NONE;

  /* Without continueSession the TPM ends the session after one command. */
  rc = Esys_TRSess_SetAttributes (esys, session, attributes, 0xff);
  if (!lk_tpm_context_check (locker, rc, "Setting up a TPM session", error))
    {
      Esys_FlushContext (esys, session);
      return ESYS_TR_NONE;
    }
  return session;
}

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
  const gnutls_datum_t key_datum = { (unsigned char *) key, AEAD_KEY_SIZE };
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
    rc = gnutls_aead_cipher_encrypt (cipher, nonce, AEAD_NONCE_SIZE, ad, ad_len,
                                     AEAD_TAG_SIZE, in, in_len, out, &len);
  else
    rc = gnutls_aead_cipher_decrypt (cipher, nonce, AEAD_NONCE_SIZE, ad, ad_len,
                                     AEAD_TAG_SIZE, in, in_len, out, &len);
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
 * lk_tpm_seal:
 * @secret: any size
 *
 * Encrypts @secret so that only this TPM (with its current owner
 * hierarchy) can decrypt it.
 *
 * Returns: (transfer full): the sealed blob, or %NULL with @error set
 */
GBytes *
lk_tpm_seal (LkTpmContext  *ctx,
             GBytes        *secret,
             GError       **error)
{
  const TPM2B_DATA no_outside_info = { 0 };
  const TPML_PCR_SELECTION no_pcrs = { 0 };
  g_autoptr(LkTpmContextLocker) locker = NULL;
  g_autofree TPM2B_PRIVATE *priv = NULL;
  g_autofree TPM2B_PUBLIC *pub = NULL;
  TPM2B_SENSITIVE_CREATE sensitive = { 0 };
  g_autoptr(GByteArray) blob = NULL;
  guint8 header[BLOB_MAGIC_SIZE + 1 + sizeof (TPM2B_NAME) +
                sizeof (TPM2B_PUBLIC) + sizeof (TPM2B_PRIVATE)];
  size_t header_len = 0;
  guint8 nonce[AEAD_NONCE_SIZE];
  const guint8 *plain;
  gsize plain_len;
  gsize sealed_len;
  ESYS_TR srk;
  ESYS_TR session;
  gboolean ok;
  TSS2_RC rc;

  g_return_val_if_fail (ctx != NULL, NULL);
  g_return_val_if_fail (secret != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  sensitive.sensitive.data.size = AEAD_KEY_SIZE;
  if (gnutls_rnd (GNUTLS_RND_KEY, sensitive.sensitive.data.buffer, AEAD_KEY_SIZE) < 0 ||
      gnutls_rnd (GNUTLS_RND_NONCE, nonce, sizeof nonce) < 0)
    {
      g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_FAILED,
                   "The random number generator failed");
      return NULL;
    }

  locker = lk_tpm_context_lock (ctx, error);
  if (locker == NULL)
    goto out;
  srk = lk_tpm_context_get_srk (locker, error);
  if (srk == ESYS_TR_NONE)
    goto out;
  session = start_salted_session (locker, srk, TPMA_SESSION_DECRYPT, error);
  if (session == ESYS_TR_NONE)
    goto out;

  LK_TPM_CALL (rc,
               Esys_Create (lk_tpm_context_get_esys (locker), srk, session,
                            ESYS_TR_NONE, ESYS_TR_NONE, &sensitive,
                            &sealed_template, &no_outside_info, &no_pcrs,
                            &priv, &pub, NULL, NULL, NULL));
  if (!lk_tpm_context_check (locker, rc, "Sealing", error))
    goto out;

  memcpy (header, BLOB_MAGIC, BLOB_MAGIC_SIZE);
  header[BLOB_MAGIC_SIZE] = BLOB_VERSION;
  header_len = BLOB_MAGIC_SIZE + 1;
  if (Tss2_MU_TPM2B_NAME_Marshal (lk_tpm_context_get_srk_name (locker), header,
                                  sizeof header, &header_len) != TSS2_RC_SUCCESS ||
      Tss2_MU_TPM2B_PUBLIC_Marshal (pub, header, sizeof header, &header_len) != TSS2_RC_SUCCESS ||
      Tss2_MU_TPM2B_PRIVATE_Marshal (priv, header, sizeof header, &header_len) != TSS2_RC_SUCCESS)
    {
      g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_FAILED,
                   "Cannot marshal the sealed key");
      goto out;
    }

  plain = g_bytes_get_data (secret, &plain_len);
  sealed_len = plain_len + AEAD_TAG_SIZE;
  blob = g_byte_array_sized_new (header_len + sizeof nonce + sealed_len);
  g_byte_array_append (blob, header, header_len);
  g_byte_array_append (blob, nonce, sizeof nonce);
  g_byte_array_set_size (blob, header_len + sizeof nonce + sealed_len);

  ok = aead_crypt (TRUE, sensitive.sensitive.data.buffer, nonce,
                   blob->data, header_len + sizeof nonce,
                   plain, plain_len, blob->data + header_len + sizeof nonce,
                   &sealed_len, error);
  if (!ok)
    g_clear_pointer (&blob, g_byte_array_unref);

out:
  gnutls_memset (&sensitive, 0, sizeof sensitive);
  if (blob == NULL)
    return NULL;
  return g_byte_array_free_to_bytes (g_steal_pointer (&blob));
}

typedef struct {
  const guint8 *aad;
  gsize aad_len;
  TPM2B_NAME srk_name;
  TPM2B_PUBLIC pub;
  TPM2B_PRIVATE priv;
  const guint8 *nonce;
  const guint8 *sealed;
  gsize sealed_len;
} Blob;

static gboolean
parse_blob (const guint8  *data,
            gsize          len,
            Blob          *blob,
            GError       **error)
{
  size_t offset = BLOB_MAGIC_SIZE + 1;

  if (len < BLOB_MAGIC_SIZE + 1 || memcmp (data, BLOB_MAGIC, BLOB_MAGIC_SIZE) != 0)
    {
      g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_BLOB_INVALID,
                   "Not a latchkey sealed blob");
      return FALSE;
    }
  if (data[BLOB_MAGIC_SIZE] != BLOB_VERSION)
    {
      g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_BLOB_VERSION,
                   "Sealed blob version %u is not supported (expected %u)",
                   data[BLOB_MAGIC_SIZE], BLOB_VERSION);
      return FALSE;
    }

  if (Tss2_MU_TPM2B_NAME_Unmarshal (data, len, &offset, &blob->srk_name) != TSS2_RC_SUCCESS ||
      Tss2_MU_TPM2B_PUBLIC_Unmarshal (data, len, &offset, &blob->pub) != TSS2_RC_SUCCESS ||
      Tss2_MU_TPM2B_PRIVATE_Unmarshal (data, len, &offset, &blob->priv) != TSS2_RC_SUCCESS ||
      len - offset < AEAD_NONCE_SIZE + AEAD_TAG_SIZE)
    {
      g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_BLOB_INVALID,
                   "The sealed blob is truncated or malformed");
      return FALSE;
    }

  blob->nonce = data + offset;
  blob->aad = data;
  blob->aad_len = offset + AEAD_NONCE_SIZE;
  blob->sealed = data + blob->aad_len;
  blob->sealed_len = len - blob->aad_len;
  return TRUE;
}

/* Loads, unseals and flushes the sealed AES key. */
static gboolean
unseal_key (LkTpmContextLocker  *locker,
            const Blob          *blob,
            guint8               key[AEAD_KEY_SIZE],
            GError             **error)
{
  ESYS_CONTEXT *esys = lk_tpm_context_get_esys (locker);
  const TPM2B_NAME *srk_name;
  TPM2B_SENSITIVE_DATA *data = NULL;
  ESYS_TR srk;
  ESYS_TR session;
  ESYS_TR object = ESYS_TR_NONE;
  gboolean ok = FALSE;
  TSS2_RC rc;

  srk = lk_tpm_context_get_srk (locker, error);
  if (srk == ESYS_TR_NONE)
    return FALSE;

  srk_name = lk_tpm_context_get_srk_name (locker);
  if (srk_name->size != blob->srk_name.size ||
      memcmp (srk_name->name, blob->srk_name.name, srk_name->size) != 0)
    {
      g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_WRONG_TPM,
                   "The blob was sealed by another TPM, or before this TPM "
                   "was cleared");
      return FALSE;
    }

  LK_TPM_CALL (rc,
               Esys_Load (esys, srk, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                          ESYS_TR_NONE, &blob->priv, &blob->pub, &object));
  if ((rc & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER &&
      (lk_tpm_rc_code (rc) & TPM2_RC_FMT1) != 0)
    {
      /* Same SRK, so the TPM rejecting the object means it was altered. */
      g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_BLOB_INVALID,
                   "The sealed blob was tampered with: the TPM refuses it (%s)",
                   Tss2_RC_Decode (rc));
      return FALSE;
    }
  if (!lk_tpm_context_check (locker, rc, "Loading the sealed key", error))
    return FALSE;

  session = start_salted_session (locker, srk, TPMA_SESSION_ENCRYPT, error);
  if (session != ESYS_TR_NONE)
    {
      LK_TPM_CALL (rc,
                   Esys_Unseal (esys, object, session, ESYS_TR_NONE,
                                ESYS_TR_NONE, &data));
      ok = lk_tpm_context_check (locker, rc, "Unsealing", error);
    }

  if (ok && data->size != AEAD_KEY_SIZE)
    {
      g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_BLOB_INVALID,
                   "The sealed key has the wrong size");
      ok = FALSE;
    }
  if (ok)
    memcpy (key, data->buffer, AEAD_KEY_SIZE);
  if (data != NULL)
    {
      gnutls_memset (data, 0, sizeof *data);
      Esys_Free (data);
    }

  /* No resource manager on a raw TPM: a leaked object fills its slots. A
   * lost connection has already dropped the ESYS context. */
  esys = lk_tpm_context_get_esys (locker);
  if (esys != NULL)
    {
      LK_TPM_CALL (rc, Esys_FlushContext (esys, object));
      if (ok && !lk_tpm_context_check (locker, rc, "Flushing the sealed key", error))
        ok = FALSE;
    }
  return ok;
}

/**
 * lk_tpm_unseal:
 * @blob: from lk_tpm_seal()
 *
 * Returns: (transfer full): the secret, zeroed when its last reference is
 *   dropped; or %NULL with @error set: %LK_TPM_ERROR_BLOB_INVALID,
 *   %LK_TPM_ERROR_BLOB_VERSION, %LK_TPM_ERROR_WRONG_TPM or a TPM failure
 */
GBytes *
lk_tpm_unseal (LkTpmContext  *ctx,
               GBytes        *blob,
               GError       **error)
{
  g_autoptr(LkTpmContextLocker) locker = NULL;
  Blob parsed = { 0 };
  guint8 key[AEAD_KEY_SIZE];
  const guint8 *data;
  guint8 *plain;
  gsize plain_len;
  gsize len;
  gboolean ok;

  g_return_val_if_fail (ctx != NULL, NULL);
  g_return_val_if_fail (blob != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  data = g_bytes_get_data (blob, &len);
  if (!parse_blob (data, len, &parsed, error))
    return NULL;

  locker = lk_tpm_context_lock (ctx, error);
  if (locker == NULL)
    return NULL;
  ok = unseal_key (locker, &parsed, key, error);
  g_clear_pointer (&locker, lk_tpm_context_unlock);
  if (!ok)
    return NULL;

  plain_len = parsed.sealed_len - AEAD_TAG_SIZE;
  /* One spare byte: g_malloc (0) would return NULL for an empty secret. */
  plain = g_malloc (plain_len + 1);
  ok = aead_crypt (FALSE, key, parsed.nonce, parsed.aad, parsed.aad_len,
                   parsed.sealed, parsed.sealed_len, plain, &plain_len, error);
  gnutls_memset (key, 0, sizeof key);
  if (!ok)
    {
      gnutls_memset (plain, 0, parsed.sealed_len - AEAD_TAG_SIZE);
      g_free (plain);
      return NULL;
    }
  return secret_bytes_take (plain, plain_len);
}
