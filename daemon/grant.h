/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "tpm/keystore.h"

/*
 * The owner's grant: what a pairing leaves behind. The refresh token is the
 * device's long-lived credential: it is sealed by the key store (the TPM)
 * and kept in grant.sealed in the state dir, written atomically; access
 * tokens never reach the disk. The owner is the approving user, as the ID
 * token names them.
 */
typedef struct {
  char *issuer;
  char *owner_subject;   /* the ID token's sub */
  char *owner_name;      /* name, else preferred_username, else sub */
  char *refresh_token;   /* secret */
} LkGrant;

void lk_grant_free (LkGrant *grant);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LkGrant, lk_grant_free)

/*
 * A grant from a token response: the owner is read from @id_token, which
 * came straight from the token endpoint over verified TLS (OpenID Connect
 * Core §3.1.3.7), so its signature adds nothing here.
 */
LkGrant *lk_grant_new (const char *issuer, const char *refresh_token, const char *id_token, GError **error);

gboolean lk_grant_store (const LkGrant *grant, LkKeystore *keystore, const char *state_dir, GError **error);
/* The stored grant; NULL without error when there is none. */
LkGrant *lk_grant_load (LkKeystore *keystore, const char *state_dir, GError **error);
gboolean lk_grant_wipe (const char *state_dir, GError **error);
