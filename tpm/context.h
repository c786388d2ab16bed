/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "tpm/error.h"

G_BEGIN_DECLS

/* Not abrmd: its D-Bus activation deadlocks early boot. */
#define LK_TPM_DEFAULT_TCTI "device:/dev/tpmrm0"

/* The shared SRK handle (TCG provisioning guidance). */
#define LK_TPM_SRK_HANDLE 0x81000001u

typedef struct _LkTpmContext LkTpmContext;

LkTpmContext *lk_tpm_context_new               (const char    *tcti,
                                                GError       **error);
LkTpmContext *lk_tpm_context_ref               (LkTpmContext  *self);
void          lk_tpm_context_unref             (LkTpmContext  *self);

const char   *lk_tpm_context_get_tcti          (LkTpmContext  *self);
guint64       lk_tpm_context_get_command_count (LkTpmContext  *self);

gboolean      lk_tpm_context_ensure_srk        (LkTpmContext  *self,
                                                GError       **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LkTpmContext, lk_tpm_context_unref)

G_END_DECLS
