/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "tpm/context.h"

G_BEGIN_DECLS

GBytes *lk_tpm_seal   (LkTpmContext  *ctx,
                       GBytes        *secret,
                       GError       **error);
GBytes *lk_tpm_unseal (LkTpmContext  *ctx,
                       GBytes        *blob,
                       GError       **error);

G_END_DECLS
