/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "tpm/error.h"

G_DEFINE_QUARK (lk-tpm-error-quark, lk_tpm_error)
