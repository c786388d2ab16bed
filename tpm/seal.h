/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "tpm/context.h"

G_BEGIN_DECLS

/* How every blob of lk_tpm_seal() starts, whatever its version. */
#define LK_TPM_SEAL_BLOB_MAGIC "LKSB"

GBytes *lk_tpm_seal   (LkTpmContext  *ctx,
                       GBytes        *secret,
                       GError       **error);
GBytes *lk_tpm_unseal (LkTpmContext  *ctx,
                       GBytes        *blob,
                       GError       **error);

G_END_DECLS
