/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "tpm/context.h"
#include "tpm/p256.h"

G_BEGIN_DECLS

typedef struct _LkTpmKey LkTpmKey;

LkTpmKey     *lk_tpm_key_create              (LkTpmContext          *ctx,
                                              GError               **error);
LkTpmKey     *lk_tpm_key_load                (LkTpmContext          *ctx,
                                              const char            *path,
                                              GError               **error);
gboolean      lk_tpm_key_save                (LkTpmKey              *self,
                                              const char            *path,
                                              GError               **error);
LkTpmKey     *lk_tpm_key_ref                 (LkTpmKey              *self);
void          lk_tpm_key_unref               (LkTpmKey              *self);

LkTpmContext *lk_tpm_key_get_context         (LkTpmKey              *self);
/* Flushes the key from the TPM until its next use loads it again: a TPM
 * holds only a few objects, and creating a key needs room for two. */
void          lk_tpm_key_unload              (LkTpmKey              *self);

GBytes       *lk_tpm_key_sign_digest         (LkTpmKey              *self,
                                              const guint8          *digest,
                                              gsize                  digest_len,
                                              LkTpmSignatureFormat   format,
                                              GError               **error);

void          lk_tpm_key_get_public_point    (LkTpmKey              *self,
                                              LkTpmP256Point        *point);
GBytes       *lk_tpm_key_get_public_der      (LkTpmKey              *self,
                                              GError               **error);
char         *lk_tpm_key_get_public_pem      (LkTpmKey              *self,
                                              GError               **error);
JsonObject   *lk_tpm_key_get_jwk             (LkTpmKey              *self);
char         *lk_tpm_key_get_jwk_thumbprint  (LkTpmKey              *self,
                                              GError               **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LkTpmKey, lk_tpm_key_unref)

G_END_DECLS
