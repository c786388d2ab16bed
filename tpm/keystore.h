/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <gnutls/abstract.h>
#include <json-glib/json-glib.h>

#include "tpm/key.h"

G_BEGIN_DECLS

/*
 * Where the device's key and its sealed secrets live. The daemon talks to
 * one LkKeystore and does not care which backend is behind it:
 *
 *  - tpm2: the device key is a TPM key (a TSS2 PRIVATE KEY PEM in the
 *    state dir), secrets are sealed by the TPM (tpm/seal.c). Production.
 *  - software: the device key is a PKCS#8 PEM file and secrets are
 *    AES-256-GCM under a random key kept in a file, all mode 0600 in the
 *    state dir. For tests and machines without a TPM: never shipped.
 *  - secret-service: the device key and the sealing key live in the
 *    user's keyring (libsecret), for a daemon on a desktop session bus.
 *
 * Every backend's device key is ECDSA P-256, with the same JWK and
 * thumbprint forms as the TPM key's. Sealed blobs are versioned and name
 * their backend in their authenticated header: a blob of another backend,
 * or of another keystore of the same backend (another TPM, another sealing
 * key), is refused with LK_TPM_ERROR_WRONG_TPM.
 *
 * A keystore may be used from several threads; its calls take turns.
 */

typedef enum {
  LK_KEYSTORE_TPM2,
  LK_KEYSTORE_SOFTWARE,
  LK_KEYSTORE_SECRET_SERVICE,
} LkKeystoreBackend;

typedef struct _LkKeystore LkKeystore;

/* FALSE for a backend configure left out of this build. */
gboolean lk_keystore_backend_is_built (LkKeystoreBackend backend);

/*
 * Opens @backend. @state_dir holds the key files (tpm2, software), and
 * names the secret-service backend's keyring items so that two daemons do
 * not share them; @tcti is the TPM's (tpm2 only; NULL for
 * device:/dev/tpmrm0). Loads the device key when there is one; the first
 * call of lk_keystore_ensure_device_key() creates it otherwise. A device
 * key that exists but cannot be used fails the open (see below), as does
 * an unreachable TPM (LK_TPM_ERROR_UNREACHABLE) or keyring
 * (LK_TPM_ERROR_KEYRING, also for a locked one).
 */
LkKeystore *lk_keystore_open (LkKeystoreBackend backend,
                              const char *state_dir,
                              const char *tcti,
                              GError **error);
LkKeystore *lk_keystore_ref (LkKeystore *self);
void lk_keystore_unref (LkKeystore *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LkKeystore, lk_keystore_unref)

LkKeystoreBackend lk_keystore_get_backend (LkKeystore *self);

/*
 * The TPM behind a tpm2 keystore, for keys other than the device key (the
 * enrolled certificate's, rotated at each renewal); NULL for the other
 * backends. Not a new reference.
 */
LkTpmContext *lk_keystore_get_tpm_context (LkKeystore *self);

/*
 * Loads the device key, or creates and stores it (atomically) when there
 * is none; @ret_created (nullable) says which. A key that exists but
 * cannot be used is an error (LK_TPM_ERROR_KEY_FILE_CORRUPT naming the
 * file or keyring item, LK_TPM_ERROR_KEY_UNSUPPORTED, or
 * LK_TPM_ERROR_WRONG_TPM for another TPM's), and it is left as it is.
 * Until this succeeds, the calls that need the key fail with
 * LK_TPM_ERROR_NO_KEY.
 */
gboolean lk_keystore_ensure_device_key (LkKeystore *self, gboolean *ret_created, GError **error);

/* The device key's algorithm as JOSE names it ("ES256"). */
const char *lk_keystore_get_algorithm (LkKeystore *self);

/* Signs a SHA-256 digest (@digest_len 32) with the device key. */
GBytes *lk_keystore_sign_digest (LkKeystore *self,
                                 const guint8 *digest,
                                 gsize digest_len,
                                 LkTpmSignatureFormat format,
                                 GError **error);

GBytes *lk_keystore_get_public_der (LkKeystore *self, GError **error);
JsonObject *lk_keystore_get_jwk (LkKeystore *self, GError **error);
/* RFC 7638 thumbprint of the device key's JWK, base64url. */
char *lk_keystore_get_jwk_thumbprint (LkKeystore *self, GError **error);

/* The device key as a GnuTLS private key (CSRs, JWS, TLS), usable from any
 * thread; free it with gnutls_privkey_deinit(). */
gnutls_privkey_t lk_keystore_get_gnutls_privkey (LkKeystore *self, GError **error);

/* Secrets at rest, of any size; unsealed bytes are zeroed when freed.
 * Unsealing fails with LK_TPM_ERROR_BLOB_INVALID for a truncated or
 * altered blob, LK_TPM_ERROR_BLOB_VERSION for an unknown version and
 * LK_TPM_ERROR_WRONG_TPM for another keystore's. */
GBytes *lk_keystore_seal (LkKeystore *self, GBytes *secret, GError **error);
GBytes *lk_keystore_unseal (LkKeystore *self, GBytes *blob, GError **error);

/*
 * Binds each secret sealed from now on to the values the SHA-256 PCRs
 * @pcrs (0 to 23) hold when it is sealed: it unseals only while they hold
 * the same, and otherwise fails with LK_TPM_ERROR_POLICY. Empty (the
 * default) binds to none. Blobs sealed before keep their own binding, or
 * none. Only the tpm2 backend can bind: the others refuse a non-empty
 * list with LK_TPM_ERROR_FAILED, as every backend refuses an index above
 * 23.
 */
gboolean lk_keystore_set_seal_pcrs (LkKeystore *self,
                                    const guint8 *pcrs,
                                    gsize n_pcrs,
                                    GError **error);

G_END_DECLS
