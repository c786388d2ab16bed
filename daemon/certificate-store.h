/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "certificate.h"
#include "tpm/key.h"

/*
 * The enrolled identity in the state dir: the certificate chain
 * (identity.pem) and its TPM key (identity-key.pem, a TSS2 PRIVATE KEY).
 * A renewal's new key waits in identity-key.next.pem until its
 * certificate is verified; writing identity.pem is the commit, and the
 * new key then takes the old one's name. Each step is atomic, so a crash
 * at any point leaves a chain whose key is one of the two files: loading
 * finishes what was begun, or drops the new key when its certificate was
 * never written.
 */

#define LK_IDENTITY_CERT_FILE "identity.pem"
#define LK_IDENTITY_KEY_FILE "identity-key.pem"
#define LK_IDENTITY_NEXT_KEY_FILE "identity-key.next.pem"

typedef struct {
  LkCertificate *cert;
  LkTpmKey *key;
} LkIdentity;

void lk_identity_free (LkIdentity *identity);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LkIdentity, lk_identity_free)

/* The stored identity; NULL without error when there is none. */
LkIdentity *lk_identity_load (LkTpmContext *ctx, const char *state_dir, GError **error);

/* A new TPM key, stored as the next key. */
LkTpmKey *lk_identity_new_key (LkTpmContext *ctx, const char *state_dir, GError **error);

/* Stores @cert (issued for the next key) and makes the next key the current one. */
gboolean lk_identity_commit (const char *state_dir, const LkCertificate *cert, GError **error);

/* Whether identity.pem still holds @chain_pem (NULL: that there is no such file). */
gboolean lk_identity_file_is (const char *state_dir, const char *chain_pem);
