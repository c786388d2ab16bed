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
 * Blob, version 1 (no PCR policy):
 *   "LKSB" | version (1 byte) | TPM2B_NAME of the SRK |
 *   TPM2B_PUBLIC and TPM2B_PRIVATE of the sealed key | GCM nonce (12) |
 *   ciphertext | GCM tag (16)
 * Blob, version 2 (sealed to PCRs): the same with, after the SRK name, a
 *   TPML_PCR_SELECTION (one SHA-256 bank) and the TPM2B_DIGEST of those
 *   PCRs' values when sealed; the sealed key's authPolicy is PolicyPCR over
 *   both.
 * Everything before the ciphertext is the GCM associated data
 * (tpm/envelope.h). Blobs without a policy stay version 1, which every
 * latchkey reads. */
#define BLOB_MAGIC_SIZE (sizeof LK_TPM_SEAL_BLOB_MAGIC - 1)
#define BLOB_VERSION_PLAIN 1
#define BLOB_VERSION_PCRS 2

#define SHA256_SIZE 32
/* PCRs 0 to 23, one bit each. */
#define PCR_SELECT_SIZE 3

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

/* What a version 2 blob is sealed to. */
typedef struct {
  TPML_PCR_SELECTION selection;
  /* SHA-256 over the PCRs' values, in ascending order, when sealed. */
  TPM2B_DIGEST pcr_digest;
} PcrPolicy;

/**
 * lk_tpm_pcr_mask_from_list:
 * @pcrs: (array length=n_pcrs): PCR indices, in any order, repeats allowed
 * @ret_mask: (out): bit i set for PCR i
 *
 * Returns: %TRUE, or %FALSE with %LK_TPM_ERROR_FAILED for an index above
 *   %LK_TPM_PCR_MAX
 */
gboolean
lk_tpm_pcr_mask_from_list (const guint8  *pcrs,
                           gsize          n_pcrs,
                           guint32       *ret_mask,
                           GError       **error)
{
  guint32 mask = 0;

  g_return_val_if_fail (pcrs != NULL || n_pcrs == 0, FALSE);
  g_return_val_if_fail (ret_mask != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  for (gsize i = 0; i < n_pcrs; i++)
    {
      if (pcrs[i] > LK_TPM_PCR_MAX)
        {
          g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_FAILED,
                       "Cannot seal to PCR %u: a TPM has PCRs 0 to %u",
                       pcrs[i], LK_TPM_PCR_MAX);
          return FALSE;
        }
      mask |= 1u << pcrs[i];
    }
  *ret_mask = mask;
  return TRUE;
}

static TPML_PCR_SELECTION
selection_from_mask (guint32 mask)
{
  TPML_PCR_SELECTION selection = {
    .count = 1,
    .pcrSelections[0] = { .hash = TPM2_ALG_SHA256, .sizeofSelect = PCR_SELECT_SIZE },
  };

  for (guint i = 0; i < PCR_SELECT_SIZE; i++)
    selection.pcrSelections[0].pcrSelect[i] = (mask >> (8 * i)) & 0xff;
  return selection;
}

/* The SHA-256 PCRs @selection names; 0 if it names any other bank. */
static guint32
selection_mask (const TPML_PCR_SELECTION *selection)
{
  const TPMS_PCR_SELECTION *bank = &selection->pcrSelections[0];
  guint32 mask = 0;

  if (selection->count != 1 || bank->hash != TPM2_ALG_SHA256)
    return 0;
  for (guint i = 0; i < bank->sizeofSelect && i < PCR_SELECT_SIZE; i++)
    mask |= (guint32) bank->pcrSelect[i] << (8 * i);
  return mask;
}

/* "7, 16", for messages. */
static char *
describe_pcrs (const TPML_PCR_SELECTION *selection)
{
  guint32 mask = selection_mask (selection);
  GString *text = g_string_new (NULL);

  for (guint i = 0; i <= LK_TPM_PCR_MAX; i++)
    if ((mask & (1u << i)) != 0)
      g_string_append_printf (text, "%s%u", text->len > 0 ? ", " : "", i);
  return g_string_free (text, FALSE);
}

static gboolean
set_policy_error (const PcrPolicy  *pcrs,
                  TSS2_RC           rc,
                  GError          **error)
{
  g_autofree char *list = describe_pcrs (&pcrs->selection);

  g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_POLICY,
               "The secret is sealed to PCRs %s (SHA-256) whose values have changed "
               "since: this boot chain differs from the one it was sealed on (%s)",
               list, Tss2_RC_Decode (rc));
  return FALSE;
}

/* The authPolicy of a key sealed to @pcrs, as PolicyPCR extends a fresh
 * session's digest (TPM 2.0 Part 3, TPM2_PolicyPCR):
 * SHA-256 (0…0 || TPM_CC_PolicyPCR || pcrs || pcrDigest). */
static gboolean
pcr_policy_digest (const PcrPolicy  *pcrs,
                   TPM2B_DIGEST     *policy,
                   GError          **error)
{
  guint8 buffer[SHA256_SIZE + sizeof (TPM2_CC) + sizeof (TPML_PCR_SELECTION) +
                sizeof pcrs->pcr_digest.buffer] = { 0 };
  size_t len = SHA256_SIZE;

  if (Tss2_MU_TPM2_CC_Marshal (TPM2_CC_PolicyPCR, buffer, sizeof buffer, &len) != TSS2_RC_SUCCESS ||
      Tss2_MU_TPML_PCR_SELECTION_Marshal (&pcrs->selection, buffer, sizeof buffer,
                                          &len) != TSS2_RC_SUCCESS)
    {
      g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_FAILED,
                   "Cannot marshal the PCR selection");
      return FALSE;
    }
  memcpy (buffer + len, pcrs->pcr_digest.buffer, pcrs->pcr_digest.size);
  len += pcrs->pcr_digest.size;

  if (gnutls_hash_fast (GNUTLS_DIG_SHA256, buffer, len, policy->buffer) < 0)
    {
      g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_FAILED, "SHA-256 failed");
      return FALSE;
    }
  policy->size = SHA256_SIZE;
  return TRUE;
}

static gboolean
digest_equal (const TPM2B_DIGEST *a,
              const TPM2B_DIGEST *b)
{
  return a->size == b->size && memcmp (a->buffer, b->buffer, a->size) == 0;
}

/* @salt_key: the SRK, for a session that encrypts the first parameter on
 * the bus, so the AES key is never seen in clear between CPU and TPM; or
 * ESYS_TR_NONE for a trial session, which only computes a policy. */
static ESYS_TR
start_session (LkTpmContextLocker  *locker,
               ESYS_TR              salt_key,
               TPM2_SE              type,
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
               Esys_StartAuthSession (esys, salt_key, ESYS_TR_NONE, ESYS_TR_NONE,
                                      ESYS_TR_NONE, ESYS_TR_NONE, NULL,
                                      type, &symmetric, TPM2_ALG_SHA256, &session));
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

/* Flushes @handle: a TPM without a resource manager has three slots for
 * objects and three for sessions. A session ends by itself after one
 * successful command, but the TPM keeps it when the command fails. After
 * a failure (@ok FALSE) the flush only tries, and reports nothing.
 * Returns whether all went well. */
static gboolean
flush (LkTpmContextLocker  *locker,
       ESYS_TR              handle,
       gboolean             ok,
       const char          *what,
       GError             **error)
{
  ESYS_CONTEXT *esys = lk_tpm_context_get_esys (locker);
  gboolean flushed;
  TSS2_RC rc;

  /* A lost connection has already dropped the ESYS context. */
  if (esys == NULL)
    return ok;

  LK_TPM_CALL (rc, Esys_FlushContext (esys, handle));
  /* Checked even after a failure: a connection lost here must close the
   * context so that the next operation reconnects. */
  flushed = lk_tpm_context_check (locker, rc, what, ok ? error : NULL);
  return ok && flushed;
}

/* In a trial session it only extends the policy; in a real one the TPM
 * also compares the PCRs' current values with the recorded digest. */
static gboolean
policy_pcr (LkTpmContextLocker  *locker,
            ESYS_TR              session,
            const PcrPolicy     *pcrs,
            GError             **error)
{
  TSS2_RC rc;

  LK_TPM_CALL (rc,
               Esys_PolicyPCR (lk_tpm_context_get_esys (locker), session, ESYS_TR_NONE,
                               ESYS_TR_NONE, ESYS_TR_NONE, &pcrs->pcr_digest,
                               &pcrs->selection));
  if (lk_tpm_rc_code (rc) == TPM2_RC_VALUE)
    return set_policy_error (pcrs, rc, error);
  return lk_tpm_context_check (locker, rc, "Checking the PCR policy", error);
}

/* Hashes the current values of the PCRs of @pcrs->selection into
 * @pcrs->pcr_digest, in ascending order as PolicyPCR does. A TPM returns
 * at most eight PCRs per read. */
static gboolean
read_pcr_digest (LkTpmContextLocker  *locker,
                 PcrPolicy           *pcrs,
                 GError             **error)
{
  ESYS_CONTEXT *esys = lk_tpm_context_get_esys (locker);
  guint8 values[LK_TPM_PCR_MAX + 1][SHA256_SIZE];
  guint8 selected[sizeof values];
  gsize selected_len = 0;
  guint32 wanted = selection_mask (&pcrs->selection);
  guint32 first_counter = 0;
  TSS2_RC rc;

  for (guint round = 0; wanted != 0; round++)
    {
      TPML_PCR_SELECTION in = selection_from_mask (wanted);
      g_autofree TPML_PCR_SELECTION *out = NULL;
      g_autofree TPML_DIGEST *read = NULL;
      guint32 counter = 0;
      guint32 got;
      guint j = 0;

      LK_TPM_CALL (rc,
                   Esys_PCR_Read (esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                  &in, &counter, &out, &read));
      if (!lk_tpm_context_check (locker, rc, "Reading the PCRs", error))
        return FALSE;

      got = selection_mask (out) & wanted;
      if (got == 0)
        {
          g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_FAILED,
                       "The TPM has no active SHA-256 bank for the PCRs to seal to");
          return FALSE;
        }
      /* Values of two moments would make a digest of neither. */
      if (round > 0 && counter != first_counter)
        {
          g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_FAILED,
                       "The PCRs changed while they were read; seal again");
          return FALSE;
        }
      first_counter = counter;

      for (guint i = 0; i <= LK_TPM_PCR_MAX; i++)
        {
          if ((got & (1u << i)) == 0)
            continue;
          if (j >= read->count || read->digests[j].size != SHA256_SIZE)
            {
              g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_FAILED,
                           "The TPM returned malformed PCR values");
              return FALSE;
            }
          memcpy (values[i], read->digests[j++].buffer, SHA256_SIZE);
        }
      wanted &= ~got;
    }

  for (guint i = 0; i <= LK_TPM_PCR_MAX; i++)
    {
      if ((selection_mask (&pcrs->selection) & (1u << i)) == 0)
        continue;
      memcpy (selected + selected_len, values[i], SHA256_SIZE);
      selected_len += SHA256_SIZE;
    }
  if (gnutls_hash_fast (GNUTLS_DIG_SHA256, selected, selected_len, pcrs->pcr_digest.buffer) < 0)
    {
      g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_FAILED, "SHA-256 failed");
      return FALSE;
    }
  pcrs->pcr_digest.size = SHA256_SIZE;
  return TRUE;
}

/* The TPM's own PolicyPCR digest for @pcrs, from a trial session. */
static gboolean
trial_policy (LkTpmContextLocker  *locker,
              const PcrPolicy     *pcrs,
              TPM2B_DIGEST        *policy,
              GError             **error)
{
  g_autofree TPM2B_DIGEST *digest = NULL;
  ESYS_TR session;
  gboolean ok;
  TSS2_RC rc;

  session = start_session (locker, ESYS_TR_NONE, TPM2_SE_TRIAL, 0, error);
  if (session == ESYS_TR_NONE)
    return FALSE;

  ok = policy_pcr (locker, session, pcrs, error);
  if (ok)
    {
      LK_TPM_CALL (rc,
                   Esys_PolicyGetDigest (lk_tpm_context_get_esys (locker), session,
                                         ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                         &digest));
      ok = lk_tpm_context_check (locker, rc, "Computing the PCR policy", error);
    }
  /* No command ends a trial session: it is only ever flushed. */
  ok = flush (locker, session, ok, "Ending the trial session", error);
  if (ok)
    *policy = *digest;
  return ok;
}

/* Turns @template into that of a key only a PolicyPCR session over the
 * current values of the PCRs in @pcr_mask can unseal. */
static gboolean
bind_to_pcrs (LkTpmContextLocker  *locker,
              guint32              pcr_mask,
              PcrPolicy           *pcrs,
              TPM2B_PUBLIC        *template,
              GError             **error)
{
  TPM2B_DIGEST expected;

  pcrs->selection = selection_from_mask (pcr_mask);
  if (!read_pcr_digest (locker, pcrs, error) ||
      !trial_policy (locker, pcrs, &template->publicArea.authPolicy, error) ||
      !pcr_policy_digest (pcrs, &expected, error))
    return FALSE;

  /* Unsealing checks the blob's header against the policy computed as
   * here: a TPM that disagreed would make blobs that never open. */
  if (!digest_equal (&expected, &template->publicArea.authPolicy))
    {
      g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_FAILED,
                   "The TPM computes PolicyPCR digests unlike latchkey; refusing to "
                   "seal a secret that could not be unsealed");
      return FALSE;
    }

  /* Otherwise the key's empty password would open it without the policy. */
  template->publicArea.objectAttributes &= ~TPMA_OBJECT_USERWITHAUTH;
  return TRUE;
}

/**
 * lk_tpm_seal_to_pcrs:
 * @secret: any size
 * @pcr_mask: bit i set binds the secret to the SHA-256 PCR i (see
 *   lk_tpm_pcr_mask_from_list()); 0 binds it to none
 *
 * Encrypts @secret so that only this TPM (with its current owner
 * hierarchy) can decrypt it and, with @pcr_mask, only while those PCRs
 * hold the values they hold now. Two TPM commands without PCRs; seven with
 * up to eight PCRs (read, trial policy, then the same two).
 *
 * Returns: (transfer full): the sealed blob, or %NULL with @error set
 */
GBytes *
lk_tpm_seal_to_pcrs (LkTpmContext  *ctx,
                     GBytes        *secret,
                     guint32        pcr_mask,
                     GError       **error)
{
  const TPM2B_DATA no_outside_info = { 0 };
  const TPML_PCR_SELECTION no_creation_pcrs = { 0 };
  g_autoptr(LkTpmContextLocker) locker = NULL;
  g_autofree TPM2B_PRIVATE *priv = NULL;
  g_autofree TPM2B_PUBLIC *pub = NULL;
  TPM2B_SENSITIVE_CREATE sensitive = { 0 };
  TPM2B_PUBLIC template = sealed_template;
  PcrPolicy pcrs = { 0 };
  GBytes *blob = NULL;
  guint8 header[BLOB_MAGIC_SIZE + 1 + sizeof (TPM2B_NAME) + sizeof (PcrPolicy) +
                sizeof (TPM2B_PUBLIC) + sizeof (TPM2B_PRIVATE)];
  size_t header_len = 0;
  ESYS_TR srk;
  ESYS_TR session;
  TSS2_RC rc;

  g_return_val_if_fail (ctx != NULL, NULL);
  g_return_val_if_fail (secret != NULL, NULL);
  g_return_val_if_fail (pcr_mask >> (LK_TPM_PCR_MAX + 1) == 0, NULL);
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
  if (pcr_mask != 0 && !bind_to_pcrs (locker, pcr_mask, &pcrs, &template, error))
    goto out;
  session = start_session (locker, srk, TPM2_SE_HMAC, TPMA_SESSION_DECRYPT, error);
  if (session == ESYS_TR_NONE)
    goto out;

  LK_TPM_CALL_WITH_ROOM (locker, NULL, rc,
                         Esys_Create (lk_tpm_context_get_esys (locker), srk, session,
                                      ESYS_TR_NONE, ESYS_TR_NONE, &sensitive,
                                      &template, &no_outside_info, &no_creation_pcrs,
                                      &priv, &pub, NULL, NULL, NULL));
  if (!lk_tpm_context_check (locker, rc, "Sealing", error))
    {
      flush (locker, session, FALSE, "Ending the session", NULL);
      goto out;
    }

  memcpy (header, LK_TPM_SEAL_BLOB_MAGIC, BLOB_MAGIC_SIZE);
  header[BLOB_MAGIC_SIZE] = pcr_mask != 0 ? BLOB_VERSION_PCRS : BLOB_VERSION_PLAIN;
  header_len = BLOB_MAGIC_SIZE + 1;
  if (Tss2_MU_TPM2B_NAME_Marshal (lk_tpm_context_get_srk_name (locker), header,
                                  sizeof header, &header_len) != TSS2_RC_SUCCESS ||
      (pcr_mask != 0 &&
       (Tss2_MU_TPML_PCR_SELECTION_Marshal (&pcrs.selection, header, sizeof header,
                                            &header_len) != TSS2_RC_SUCCESS ||
        Tss2_MU_TPM2B_DIGEST_Marshal (&pcrs.pcr_digest, header, sizeof header,
                                      &header_len) != TSS2_RC_SUCCESS)) ||
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

/**
 * lk_tpm_seal:
 *
 * lk_tpm_seal_to_pcrs() without PCRs.
 */
GBytes *
lk_tpm_seal (LkTpmContext  *ctx,
             GBytes        *secret,
             GError       **error)
{
  return lk_tpm_seal_to_pcrs (ctx, secret, 0, error);
}

typedef struct {
  guint8 version;
  TPM2B_NAME srk_name;
  PcrPolicy pcrs;               /* version 2 */
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
  gboolean has_pcrs;
  TPM2B_DIGEST expected = { 0 };

  if (!lk_tpm_envelope_check_prefix (data, len, LK_TPM_SEAL_BLOB_MAGIC, BLOB_VERSION_PCRS,
                                     &blob->version, error))
    return FALSE;
  has_pcrs = blob->version == BLOB_VERSION_PCRS;

  /* A truncated envelope is refused here too, before any TPM work. */
  if (Tss2_MU_TPM2B_NAME_Unmarshal (data, len, &offset, &blob->srk_name) != TSS2_RC_SUCCESS ||
      (has_pcrs &&
       (Tss2_MU_TPML_PCR_SELECTION_Unmarshal (data, len, &offset,
                                              &blob->pcrs.selection) != TSS2_RC_SUCCESS ||
        Tss2_MU_TPM2B_DIGEST_Unmarshal (data, len, &offset,
                                        &blob->pcrs.pcr_digest) != TSS2_RC_SUCCESS)) ||
      Tss2_MU_TPM2B_PUBLIC_Unmarshal (data, len, &offset, &blob->pub) != TSS2_RC_SUCCESS ||
      Tss2_MU_TPM2B_PRIVATE_Unmarshal (data, len, &offset, &blob->priv) != TSS2_RC_SUCCESS ||
      len - offset < LK_TPM_ENVELOPE_NONCE_SIZE + LK_TPM_ENVELOPE_TAG_SIZE)
    {
      g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_BLOB_INVALID,
                   "The sealed blob is truncated or malformed");
      return FALSE;
    }
  blob->header_len = offset;

  /* The TPM authenticates the sealed key's public area, authPolicy
   * included, when it loads it. A header naming other PCRs than that
   * policy (or none, for a key with one) was altered: say so now, rather
   * than fail the policy as if the PCRs had changed. */
  if (has_pcrs && !pcr_policy_digest (&blob->pcrs, &expected, error))
    return FALSE;
  if (!digest_equal (&expected, &blob->pub.publicArea.authPolicy))
    {
      g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_BLOB_INVALID,
                   "The sealed blob was tampered with: its PCR list does not match "
                   "the sealed key's policy");
      return FALSE;
    }
  return TRUE;
}

/* Runs Unseal in a session that satisfies the sealed key's policy. */
static gboolean
unseal_in_session (LkTpmContextLocker     *locker,
                   const Blob             *blob,
                   ESYS_TR                 object,
                   ESYS_TR                 session,
                   TPM2B_SENSITIVE_DATA  **data,
                   GError                **error)
{
  TSS2_RC rc;

  if (blob->version == BLOB_VERSION_PCRS && !policy_pcr (locker, session, &blob->pcrs, error))
    return FALSE;

  LK_TPM_CALL (rc,
               Esys_Unseal (lk_tpm_context_get_esys (locker), object, session,
                            ESYS_TR_NONE, ESYS_TR_NONE, data));
  /* A PCR extended between PolicyPCR and Unseal. */
  if (lk_tpm_rc_code (rc) == TPM2_RC_PCR_CHANGED)
    return set_policy_error (&blob->pcrs, rc, error);
  return lk_tpm_context_check (locker, rc, "Unsealing", error);
}

/* Loads, unseals and flushes the sealed AES key. */
static gboolean
unseal_key (LkTpmContextLocker  *locker,
            const Blob          *blob,
            guint8               key[LK_TPM_ENVELOPE_KEY_SIZE],
            GError             **error)
{
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

  LK_TPM_CALL_WITH_ROOM (locker, NULL, rc,
                         Esys_Load (lk_tpm_context_get_esys (locker), srk, ESYS_TR_PASSWORD,
                                    ESYS_TR_NONE, ESYS_TR_NONE, &blob->priv, &blob->pub, &object));
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

  session = start_session (locker, srk,
                           blob->version == BLOB_VERSION_PCRS ? TPM2_SE_POLICY : TPM2_SE_HMAC,
                           TPMA_SESSION_ENCRYPT, error);
  if (session != ESYS_TR_NONE)
    {
      ok = unseal_in_session (locker, blob, object, session, &data, error);
      if (!ok)
        flush (locker, session, FALSE, "Ending the session", NULL);
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

  /* No resource manager on a raw TPM: a leaked object fills its slots. */
  return flush (locker, object, ok, "Flushing the sealed key", error);
}

/**
 * lk_tpm_unseal:
 * @blob: from lk_tpm_seal() or lk_tpm_seal_to_pcrs()
 *
 * Four TPM commands without PCRs, five with (PolicyPCR).
 *
 * Returns: (transfer full): the secret, zeroed when its last reference is
 *   dropped; or %NULL with @error set: %LK_TPM_ERROR_BLOB_INVALID,
 *   %LK_TPM_ERROR_BLOB_VERSION, %LK_TPM_ERROR_WRONG_TPM,
 *   %LK_TPM_ERROR_POLICY if the PCRs it is sealed to have changed, or a TPM
 *   failure
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
