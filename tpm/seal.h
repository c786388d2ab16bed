/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "tpm/context.h"

G_BEGIN_DECLS

/* How every blob of lk_tpm_seal() starts, whatever its version. */
#define LK_TPM_SEAL_BLOB_MAGIC "LKSB"

/* The highest PCR index of a PC client TPM (PCRs 0 to 23). */
#define LK_TPM_PCR_MAX 23

gboolean lk_tpm_pcr_mask_from_list (const guint8  *pcrs,
                                    gsize          n_pcrs,
                                    guint32       *ret_mask,
                                    GError       **error);

GBytes *lk_tpm_seal          (LkTpmContext  *ctx,
                              GBytes        *secret,
                              GError       **error);
GBytes *lk_tpm_seal_to_pcrs  (LkTpmContext  *ctx,
                              GBytes        *secret,
                              guint32        pcr_mask,
                              GError       **error);
GBytes *lk_tpm_unseal        (LkTpmContext  *ctx,
                              GBytes        *blob,
                              GError       **error);

G_END_DECLS
