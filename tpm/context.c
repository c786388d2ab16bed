/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "tpm/context-private.h"

#include <string.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

/* ESYS already resubmits RETRY/YIELDED/TESTING at once, five times; a TPM
 * still running its self tests needs time, so back off on top of that. */
#define RETRY_MAX 4
#define RETRY_FIRST_DELAY_US (20 * 1000)

/* tpmrm's three objects a connection, less the one a command may load. */
#define RESIDENT_MAX 2

typedef struct {
  gpointer owner;
  LkTpmEvictFunc evict;
} Resident;

/* Wraps the real TCTI so that every command sent to the TPM is counted,
 * including those ESYS issues on its own (ReadPublic in TR_FromTPMPublic). */
typedef struct {
  TSS2_TCTI_CONTEXT_COMMON_V2 common;
  TSS2_TCTI_CONTEXT *inner;
  LkTpmContext *owner;
} CountingTcti;

struct _LkTpmContext {
  gatomicrefcount ref_count;
  char *tcti;
  gsize commands;       /* atomic */

  GMutex lock;
  /* Everything below is guarded by lock. */
  TSS2_TCTI_CONTEXT *tcti_ctx;
  CountingTcti counting;
  ESYS_CONTEXT *esys;
  /* Bumped on every reconnection: ESYS_TR handles of an older generation
   * belong to a finalized ESYS context and their TPM objects are gone. */
  guint generation;
  ESYS_TR srk;
  TPM2B_NAME srk_name;
  GQueue resident;      /* of Resident, the most recently loaded first */
};

#define COUNTING_TCTI_MAGIC G_GUINT64_CONSTANT (0x6c6b74706d636e74)

static TSS2_TCTI_CONTEXT *
counting_inner (TSS2_TCTI_CONTEXT *tcti)
{
  return ((CountingTcti *) tcti)->inner;
}

static TSS2_RC
counting_transmit (TSS2_TCTI_CONTEXT *tcti,
                   size_t             size,
                   const uint8_t     *command)
{
  CountingTcti *self = (CountingTcti *) tcti;
  TSS2_RC rc = Tss2_Tcti_Transmit (self->inner, size, command);

  if (rc == TSS2_RC_SUCCESS)
    g_atomic_pointer_add (&self->owner->commands, 1);
  return rc;
}

static TSS2_RC
counting_receive (TSS2_TCTI_CONTEXT *tcti,
                  size_t            *size,
                  uint8_t           *response,
                  int32_t            timeout)
{
  return Tss2_Tcti_Receive (counting_inner (tcti), size, response, timeout);
}

static TSS2_RC
counting_cancel (TSS2_TCTI_CONTEXT *tcti)
{
  return Tss2_Tcti_Cancel (counting_inner (tcti));
}

static TSS2_RC
counting_get_poll_handles (TSS2_TCTI_CONTEXT      *tcti,
                           TSS2_TCTI_POLL_HANDLE  *handles,
                           size_t                 *num_handles)
{
  return Tss2_Tcti_GetPollHandles (counting_inner (tcti), handles, num_handles);
}

static TSS2_RC
counting_set_locality (TSS2_TCTI_CONTEXT *tcti,
                       uint8_t            locality)
{
  return Tss2_Tcti_SetLocality (counting_inner (tcti), locality);
}

static TSS2_RC
counting_make_sticky (TSS2_TCTI_CONTEXT *tcti,
                      TPM2_HANDLE       *handle,
                      uint8_t            sticky)
{
  return Tss2_Tcti_MakeSticky (counting_inner (tcti), handle, sticky);
}

TSS2_RC
lk_tpm_rc_code (TSS2_RC rc)
{
  TSS2_RC layer = rc & TSS2_RC_LAYER_MASK;
  TSS2_RC tpm_rc = rc & ~TSS2_RC_LAYER_MASK;

  if (layer != TSS2_TPM_RC_LAYER && layer != TSS2_RESMGR_TPM_RC_LAYER)
    return rc;

  /* Format-one codes carry the number of the faulty handle, parameter or
   * session; callers care about the error itself. */
  if (tpm_rc & TPM2_RC_FMT1)
    return tpm_rc & ~(TPM2_RC_N_MASK | TPM2_RC_P);
  return tpm_rc;
}

static gboolean
rc_is_transient (TSS2_RC rc)
{
  TSS2_RC code = lk_tpm_rc_code (rc);

  return code == TPM2_RC_RETRY || code == TPM2_RC_YIELDED || code == TPM2_RC_TESTING;
}

static gboolean
rc_is_connection_lost (TSS2_RC rc)
{
  switch (rc & TSS2_RC_LAYER_MASK)
    {
    case TSS2_TCTI_RC_LAYER:
      return TRUE;
    case TSS2_SYS_RC_LAYER:
      /* A peer that died mid-response leaves a short or garbled reply. */
      return rc == TSS2_SYS_RC_MALFORMED_RESPONSE ||
             rc == TSS2_SYS_RC_INSUFFICIENT_RESPONSE;
    case TSS2_ESAPI_RC_LAYER:
      return rc == TSS2_ESYS_RC_IO_ERROR ||
             rc == TSS2_ESYS_RC_MALFORMED_RESPONSE ||
             rc == TSS2_ESYS_RC_INSUFFICIENT_RESPONSE;
    default:
      return FALSE;
    }
}

static void
disconnect (LkTpmContext *self)
{
  /* Their objects go with the connection: nothing left to flush. */
  g_queue_clear_full (&self->resident, g_free);
  if (self->esys != NULL)
    Esys_Finalize (&self->esys);
  if (self->tcti_ctx != NULL)
    Tss2_TctiLdr_Finalize (&self->tcti_ctx);
  self->srk = ESYS_TR_NONE;
  memset (&self->srk_name, 0, sizeof self->srk_name);
}

static gboolean
connect (LkTpmContext  *self,
         GError       **error)
{
  TSS2_RC rc;

  rc = Tss2_TctiLdr_Initialize (self->tcti, &self->tcti_ctx);
  if (rc != TSS2_RC_SUCCESS)
    {
      self->tcti_ctx = NULL;
      g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_UNREACHABLE,
                   "Cannot reach the TPM through TCTI “%s”: %s",
                   self->tcti, Tss2_RC_Decode (rc));
      return FALSE;
    }

  self->counting = (CountingTcti) {
    .common = {
      .v1 = {
        .magic = COUNTING_TCTI_MAGIC,
        .version = 2,
        .transmit = counting_transmit,
        .receive = counting_receive,
        /* The inner TCTI belongs to the loader, which finalizes it. */
        .finalize = NULL,
        .cancel = counting_cancel,
        .getPollHandles = counting_get_poll_handles,
        .setLocality = counting_set_locality,
      },
      .makeSticky = counting_make_sticky,
    },
    .inner = self->tcti_ctx,
    .owner = self,
  };

  rc = Esys_Initialize (&self->esys, (TSS2_TCTI_CONTEXT *) &self->counting, NULL);
  if (rc != TSS2_RC_SUCCESS)
    {
      self->esys = NULL;
      disconnect (self);
      g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_UNREACHABLE,
                   "Cannot open the TPM through TCTI “%s”: %s",
                   self->tcti, Tss2_RC_Decode (rc));
      return FALSE;
    }

  self->generation++;
  return TRUE;
}

/**
 * lk_tpm_context_new:
 * @tcti: (nullable): a TCTI configuration string such as
 *   `swtpm:host=127.0.0.1,port=2321`, or %NULL for %LK_TPM_DEFAULT_TCTI
 * @error: return location for a #GError
 *
 * Opens the TPM. The connection stays open; if it is lost, the failing
 * operation reports %LK_TPM_ERROR_UNREACHABLE and the next one reconnects.
 *
 * Returns: (transfer full): the context, or %NULL with @error set
 */
LkTpmContext *
lk_tpm_context_new (const char  *tcti,
                    GError     **error)
{
  g_autoptr(LkTpmContext) self = NULL;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = g_new0 (LkTpmContext, 1);
  g_atomic_ref_count_init (&self->ref_count);
  g_mutex_init (&self->lock);
  self->tcti = g_strdup (tcti != NULL ? tcti : LK_TPM_DEFAULT_TCTI);
  self->srk = ESYS_TR_NONE;

  if (!connect (self, error))
    return NULL;

  return g_steal_pointer (&self);
}

LkTpmContext *
lk_tpm_context_ref (LkTpmContext *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
lk_tpm_context_unref (LkTpmContext *self)
{
  g_return_if_fail (self != NULL);

  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;

  disconnect (self);
  g_mutex_clear (&self->lock);
  g_free (self->tcti);
  g_free (self);
}

const char *
lk_tpm_context_get_tcti (LkTpmContext *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->tcti;
}

/**
 * lk_tpm_context_get_command_count:
 *
 * Returns: how many commands were sent to the TPM through this context,
 *   across reconnections.
 */
guint64
lk_tpm_context_get_command_count (LkTpmContext *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return (guint64) g_atomic_pointer_get (&self->commands);
}

LkTpmContextLocker *
lk_tpm_context_lock (LkTpmContext  *self,
                     GError       **error)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_mutex_lock (&self->lock);
  if (self->esys == NULL && !connect (self, error))
    {
      g_mutex_unlock (&self->lock);
      return NULL;
    }
  return self;
}

/**
 * lk_tpm_context_lock_connected:
 *
 * Locks the context only if it is connected, for clean-ups that make no
 * sense on a new connection (flushing objects of the old one).
 *
 * Returns: (nullable): the locker, or %NULL if disconnected
 */
LkTpmContextLocker *
lk_tpm_context_lock_connected (LkTpmContext *self)
{
  g_mutex_lock (&self->lock);
  if (self->esys == NULL)
    {
      g_mutex_unlock (&self->lock);
      return NULL;
    }
  return self;
}

void
lk_tpm_context_unlock (LkTpmContextLocker *locker)
{
  g_mutex_unlock (&locker->lock);
}

ESYS_CONTEXT *
lk_tpm_context_get_esys (LkTpmContextLocker *locker)
{
  return locker->esys;
}

guint
lk_tpm_context_get_generation (LkTpmContextLocker *locker)
{
  return locker->generation;
}

/**
 * lk_tpm_context_retry:
 * @attempt: (inout): the caller's attempt counter, starting at 0
 *
 * Returns: %TRUE if @rc asks for the command to be sent again; it has then
 *   waited for a growing delay.
 */
gboolean
lk_tpm_context_retry (TSS2_RC  rc,
                      guint   *attempt)
{
  if (!rc_is_transient (rc) || *attempt >= RETRY_MAX)
    return FALSE;

  g_usleep ((gulong) RETRY_FIRST_DELAY_US << *attempt);
  (*attempt)++;
  return TRUE;
}

static void
evict (LkTpmContextLocker *locker, GList *link)
{
  Resident *resident = link->data;

  g_queue_delete_link (&locker->resident, link);
  resident->evict (resident->owner, locker);
  g_free (resident);
}

/**
 * lk_tpm_context_add_resident:
 * @owner: what holds the object, which must not be resident already
 * @evict_func: flushes @owner's object and forgets its handle
 *
 * Records a newly loaded object as resident, flushing the least recently
 * loaded ones beyond what a connection may keep.
 */
void
lk_tpm_context_add_resident (LkTpmContextLocker *locker,
                             gpointer            owner,
                             LkTpmEvictFunc      evict_func)
{
  Resident *resident = g_new (Resident, 1);

  resident->owner = owner;
  resident->evict = evict_func;
  g_queue_push_head (&locker->resident, resident);
  while (locker->resident.length > RESIDENT_MAX)
    evict (locker, locker->resident.tail);
}

/* Forgets @owner's object, which its owner flushed itself. */
void
lk_tpm_context_remove_resident (LkTpmContextLocker *locker,
                                gpointer            owner)
{
  for (GList *link = locker->resident.head; link != NULL; link = link->next)
    if (((Resident *) link->data)->owner == owner)
      {
        g_free (link->data);
        g_queue_delete_link (&locker->resident, link);
        return;
      }
}

/**
 * lk_tpm_context_make_room:
 * @keep: (nullable): the owner of a resident object the next command uses
 *
 * Returns: %TRUE if @rc says the TPM has no room for another object and
 *   resident objects other than @keep were flushed: the command may be
 *   sent again.
 */
gboolean
lk_tpm_context_make_room (LkTpmContextLocker *locker,
                          TSS2_RC             rc,
                          gconstpointer       keep)
{
  gboolean evicted = FALSE;
  GList *link = locker->resident.head;

  if (lk_tpm_rc_code (rc) != TPM2_RC_OBJECT_MEMORY)
    return FALSE;
  while (link != NULL)
    {
      GList *next = link->next;

      if (((Resident *) link->data)->owner != keep)
        {
          evict (locker, link);
          evicted = TRUE;
        }
      link = next;
    }
  return evicted;
}

/**
 * lk_tpm_context_check:
 * @what: the operation, for the message ("Loading the key")
 *
 * Turns a TSS return code into a #GError. A lost connection closes the ESYS
 * context so that the next lk_tpm_context_lock() reconnects.
 *
 * Returns: %TRUE if @rc is success
 */
gboolean
lk_tpm_context_check (LkTpmContextLocker  *locker,
                      TSS2_RC              rc,
                      const char          *what,
                      GError             **error)
{
  if (rc == TSS2_RC_SUCCESS)
    return TRUE;

  if (rc_is_connection_lost (rc))
    {
      disconnect (locker);
      g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_UNREACHABLE,
                   "%s: lost the TPM at TCTI “%s”: %s",
                   what, locker->tcti, Tss2_RC_Decode (rc));
    }
  else if (lk_tpm_rc_code (rc) == TPM2_RC_LOCKOUT)
    {
      /* latchkey makes its objects noDA: this one was made elsewhere. */
      g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_LOCKOUT,
                   "%s: the TPM is in dictionary-attack lockout after too many wrong "
                   "authorization values, and refuses objects not exempt from it "
                   "(noDA) until its recovery time has passed or the lockout is "
                   "cleared (tpm2_dictionarylockout --clear-lockout): %s",
                   what, Tss2_RC_Decode (rc));
    }
  else
    {
      g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_FAILED,
                   "%s: %s", what, Tss2_RC_Decode (rc));
    }
  return FALSE;
}

static const TPM2B_PUBLIC srk_template = {
  .publicArea = {
    .type = TPM2_ALG_ECC,
    .nameAlg = TPM2_ALG_SHA256,
    .objectAttributes = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT |
                        TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                        TPMA_OBJECT_SENSITIVEDATAORIGIN |
                        TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA,
    .parameters.eccDetail = {
      .symmetric = {
        .algorithm = TPM2_ALG_AES,
        .keyBits.aes = 128,
        .mode.aes = TPM2_ALG_CFB,
      },
      .scheme.scheme = TPM2_ALG_NULL,
      .curveID = TPM2_ECC_NIST_P256,
      .kdf.scheme = TPM2_ALG_NULL,
    },
  },
};

/* Keys and sealed objects made under another kind of parent would not load
 * elsewhere, and a signing key there means the handle is someone else's. */
static gboolean
srk_public_is_storage_key (const TPMT_PUBLIC *pub)
{
  const TPMS_ECC_PARMS *ecc = &pub->parameters.eccDetail;
  TPMA_OBJECT needed = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT |
                       TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                       TPMA_OBJECT_USERWITHAUTH;

  return pub->type == TPM2_ALG_ECC &&
         ecc->curveID == TPM2_ECC_NIST_P256 &&
         (pub->objectAttributes & needed) == needed &&
         (pub->objectAttributes & TPMA_OBJECT_SIGN_ENCRYPT) == 0 &&
         ecc->symmetric.algorithm == TPM2_ALG_AES &&
         ecc->symmetric.keyBits.aes == 128 &&
         ecc->symmetric.mode.aes == TPM2_ALG_CFB;
}

static gboolean
create_srk (LkTpmContextLocker  *locker,
            GError             **error)
{
  const TPM2B_SENSITIVE_CREATE empty_sensitive = { 0 };
  const TPM2B_DATA no_outside_info = { 0 };
  const TPML_PCR_SELECTION no_pcrs = { 0 };
  ESYS_TR primary = ESYS_TR_NONE;
  ESYS_TR persistent = ESYS_TR_NONE;
  TSS2_RC rc;

  LK_TPM_CALL_WITH_ROOM (locker, NULL, rc,
                         Esys_CreatePrimary (locker->esys, ESYS_TR_RH_OWNER,
                                             ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                                             &empty_sensitive, &srk_template,
                                             &no_outside_info, &no_pcrs, &primary,
                                             NULL, NULL, NULL, NULL));
  if (!lk_tpm_context_check (locker, rc, "Creating the storage root key", error))
    return FALSE;

  LK_TPM_CALL (rc,
               Esys_EvictControl (locker->esys, ESYS_TR_RH_OWNER, primary,
                                  ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                                  LK_TPM_SRK_HANDLE, &persistent));
  if (!lk_tpm_context_check (locker, rc, "Persisting the storage root key", error))
    {
      if (locker->esys != NULL)
        Esys_FlushContext (locker->esys, primary);
      return FALSE;
    }

  LK_TPM_CALL (rc, Esys_FlushContext (locker->esys, primary));
  if (!lk_tpm_context_check (locker, rc, "Flushing the storage root key", error))
    return FALSE;

  locker->srk = persistent;
  return TRUE;
}

/**
 * lk_tpm_context_get_srk:
 *
 * Resolves the SRK once per connection, creating and persisting it if
 * absent. An occupied handle is never evicted: it may hold another
 * program's keys' parent.
 *
 * Returns: the SRK handle, or %ESYS_TR_NONE with @error set
 */
ESYS_TR
lk_tpm_context_get_srk (LkTpmContextLocker  *locker,
                        GError             **error)
{
  g_autofree TPM2B_PUBLIC *pub = NULL;
  g_autofree TPM2B_NAME *name = NULL;
  ESYS_TR srk = ESYS_TR_NONE;
  TSS2_RC rc;

  g_return_val_if_fail (error == NULL || *error == NULL, ESYS_TR_NONE);

  if (locker->srk != ESYS_TR_NONE)
    return locker->srk;

  LK_TPM_CALL (rc,
               Esys_TR_FromTPMPublic (locker->esys, LK_TPM_SRK_HANDLE,
                                      ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                      &srk));
  if (lk_tpm_rc_code (rc) == TPM2_RC_HANDLE)
    {
      if (!create_srk (locker, error))
        return ESYS_TR_NONE;
      srk = locker->srk;
    }
  else if (!lk_tpm_context_check (locker, rc, "Opening the storage root key", error))
    {
      return ESYS_TR_NONE;
    }

  LK_TPM_CALL (rc,
               Esys_ReadPublic (locker->esys, srk, ESYS_TR_NONE, ESYS_TR_NONE,
                                ESYS_TR_NONE, &pub, &name, NULL));
  if (!lk_tpm_context_check (locker, rc, "Reading the storage root key", error))
    {
      if (locker->esys != NULL)
        Esys_TR_Close (locker->esys, &srk);
      locker->srk = ESYS_TR_NONE;
      return ESYS_TR_NONE;
    }

  if (!srk_public_is_storage_key (&pub->publicArea))
    {
      Esys_TR_Close (locker->esys, &srk);
      locker->srk = ESYS_TR_NONE;
      g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_SRK_OCCUPIED,
                   "TPM handle 0x%08x holds an object that is not an ECC "
                   "P-256 storage key; refusing to use or evict it",
                   LK_TPM_SRK_HANDLE);
      return ESYS_TR_NONE;
    }

  locker->srk = srk;
  locker->srk_name = *name;
  return srk;
}

/**
 * lk_tpm_context_get_srk_name:
 *
 * Returns: the TPM name of the SRK, which differs between TPMs (and after
 *   the owner hierarchy is cleared); valid after lk_tpm_context_get_srk()
 */
const TPM2B_NAME *
lk_tpm_context_get_srk_name (LkTpmContextLocker *locker)
{
  return &locker->srk_name;
}

/**
 * lk_tpm_context_ensure_srk:
 *
 * Makes sure the persistent SRK exists and is a storage key, creating it if
 * the handle is free.
 */
gboolean
lk_tpm_context_ensure_srk (LkTpmContext  *self,
                           GError       **error)
{
  g_autoptr(LkTpmContextLocker) locker = NULL;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  locker = lk_tpm_context_lock (self, error);
  if (locker == NULL)
    return FALSE;

  return lk_tpm_context_get_srk (locker, error) != ESYS_TR_NONE;
}
