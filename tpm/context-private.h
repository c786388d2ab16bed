/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <tss2/tss2_esys.h>

#include "tpm/context.h"

G_BEGIN_DECLS

/* A locked context: the ESYS context is only touched through one of these,
 * since GnuTLS signs from glib-networking's handshake thread. */
typedef struct _LkTpmContext LkTpmContextLocker;

LkTpmContextLocker *lk_tpm_context_lock        (LkTpmContext        *self,
                                                GError             **error);
LkTpmContextLocker *lk_tpm_context_lock_connected (LkTpmContext    *self);
void                lk_tpm_context_unlock      (LkTpmContextLocker  *locker);

ESYS_CONTEXT       *lk_tpm_context_get_esys    (LkTpmContextLocker  *locker);
guint               lk_tpm_context_get_generation (LkTpmContextLocker *locker);
ESYS_TR             lk_tpm_context_get_srk     (LkTpmContextLocker  *locker,
                                                GError             **error);
const TPM2B_NAME   *lk_tpm_context_get_srk_name (LkTpmContextLocker *locker);

gboolean            lk_tpm_context_retry       (TSS2_RC              rc,
                                                guint               *attempt);
gboolean            lk_tpm_context_check       (LkTpmContextLocker  *locker,
                                                TSS2_RC              rc,
                                                const char          *what,
                                                GError             **error);

TSS2_RC             lk_tpm_rc_code             (TSS2_RC              rc);

/*
 * Objects kept loaded between commands (keys, which are used often) are
 * resident: the context flushes them when a command needs their room,
 * and their owner loads them again at its next use. A TPM holds as few as
 * three transient objects, and one of them is taken for the length of a
 * command by a persistent parent such as the SRK; the kernel's resource
 * manager (tpmrm) gives each connection three as well.
 */
typedef void (*LkTpmEvictFunc) (gpointer owner, LkTpmContextLocker *locker);

void                lk_tpm_context_add_resident    (LkTpmContextLocker  *locker,
                                                    gpointer             owner,
                                                    LkTpmEvictFunc       evict_func);
void                lk_tpm_context_remove_resident (LkTpmContextLocker  *locker,
                                                    gpointer             owner);
gboolean            lk_tpm_context_make_room       (LkTpmContextLocker  *locker,
                                                    TSS2_RC              rc,
                                                    gconstpointer        keep);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LkTpmContextLocker, lk_tpm_context_unlock)

/* Runs an ESYS call, retrying while the TPM asks for it (bounded). Used
 * with the context locked: other threads wait rather than interleave. */
#define LK_TPM_CALL(rc, call)                                           \
  G_STMT_START {                                                        \
    guint lk_tpm_attempt_ = 0;                                          \
    do                                                                  \
      (rc) = (call);                                                    \
    while (lk_tpm_context_retry ((rc), &lk_tpm_attempt_));              \
  } G_STMT_END

/* LK_TPM_CALL for a command that needs an object slot (Load, Create):
 * when the TPM has none left, resident objects other than @keep are
 * flushed and the command is sent again. */
#define LK_TPM_CALL_WITH_ROOM(locker, keep, rc, call)                   \
  G_STMT_START {                                                        \
    do                                                                  \
      LK_TPM_CALL (rc, call);                                           \
    while (lk_tpm_context_make_room ((locker), (rc), (keep)));          \
  } G_STMT_END

G_END_DECLS
