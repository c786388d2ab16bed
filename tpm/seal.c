/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "tpm/seal.h"

#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>

#include "tpm/context-private.h"
#include "tpm/envelope.h"

/* A sealed object holds at most 128 bytes, so the TPM seals a fresh
 * AES-256 key and the secret itself is encrypted with AES-256-GCM.
 *
 * Blob, version 1:
 *   "LKSB" | version (1 byte) | TPM2B_NAME of the SRK |
 *   TPM2B_PUBLIC and TPM2B_PRIVATE of the sealed key | GCM nonce (12) |
 *   ciphertext | GCM tag (16)
 * Everything before the ciphertext is the GCM associated data
 * (tpm/envelope.h). */
#define BLOB_MAGIC_SIZE (sizeof LK_TPM_SEAL_BLOB_MAGIC - 1)
#define BLOB_VERSION 1

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
  GBytes *blob = NULL;
  guint8 header[BLOB_MAGIC_SIZE + 1 + sizeof (TPM2B_NAME) +
                sizeof (TPM2B_PUBLIC) + sizeof (TPM2B_PRIVATE)];
  size_t header_len = 0;
  ESYS_TR srk;
  ESYS_TR session;
  TSS2_RC rc;

  g_return_val_if_fail (ctx != NULL, NULL);
  g_return_val_if_fail (secret != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  sensitive.sensitive.data.size = LK_TPM_ENVELOPE_KEY_SIZE;
  if (gnutls_rnd (GNUTLS_RND_KEY, sensitive.sensitive.data.buffer,
                  LK_TPM_ENVELOPE_KEY_SIZE) < 0)
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

  memcpy (header, LK_TPM_SEAL_BLOB_MAGIC, BLOB_MAGIC_SIZE);
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

  blob = lk_tpm_envelope_seal (sensitive.sensitive.data.buffer, header, header_len,
                               secret, error);

out:
  gnutls_memset (&sensitive, 0, sizeof sensitive);
  return blob;
}

typedef struct {
  TPM2B_NAME srk_name;
  TPM2B_PUBLIC pub;
  TPM2B_PRIVATE priv;
  gsize header_len;
} Blob;

static gboolean
parse_blob (const guint8  *data,
            gsize          len,
            Blob          *blob,
            GError       **error)
{
  size_t offset = BLOB_MAGIC_SIZE + 1;

  if (!lk_tpm_envelope_check_prefix (data, len, LK_TPM_SEAL_BLOB_MAGIC, BLOB_VERSION, error))
    return FALSE;

  /* A truncated envelope is refused here too, before any TPM work. */
  if (Tss2_MU_TPM2B_NAME_Unmarshal (data, len, &offset, &blob->srk_name) != TSS2_RC_SUCCESS ||
      Tss2_MU_TPM2B_PUBLIC_Unmarshal (data, len, &offset, &blob->pub) != TSS2_RC_SUCCESS ||
      Tss2_MU_TPM2B_PRIVATE_Unmarshal (data, len, &offset, &blob->priv) != TSS2_RC_SUCCESS ||
      len - offset < LK_TPM_ENVELOPE_NONCE_SIZE + LK_TPM_ENVELOPE_TAG_SIZE)
    {
      g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_BLOB_INVALID,
                   "The sealed blob is truncated or malformed");
      return FALSE;
    }

  blob->header_len = offset;
  return TRUE;
}

/* Loads, unseals and flushes the sealed AES key. */
static gboolean
unseal_key (LkTpmContextLocker  *locker,
            const Blob          *blob,
            guint8               key[LK_TPM_ENVELOPE_KEY_SIZE],
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

  if (ok && data->size != LK_TPM_ENVELOPE_KEY_SIZE)
    {
      g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_BLOB_INVALID,
                   "The sealed key has the wrong size");
      ok = FALSE;
    }
  if (ok)
    memcpy (key, data->buffer, LK_TPM_ENVELOPE_KEY_SIZE);
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
  guint8 key[LK_TPM_ENVELOPE_KEY_SIZE];
  GBytes *secret;
  const guint8 *data;
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

  secret = lk_tpm_envelope_open (key, data, len, parsed.header_len, error);
  gnutls_memset (key, 0, sizeof key);
  return secret;
}
