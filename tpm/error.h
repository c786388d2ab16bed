/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define LK_TPM_ERROR (lk_tpm_error_quark ())

/**
 * LkTpmError:
 * @LK_TPM_ERROR_FAILED: the TPM or the TSS refused the operation.
 * @LK_TPM_ERROR_UNREACHABLE: the TPM cannot be reached through its TCTI; the
 *   next operation reconnects.
 * @LK_TPM_ERROR_LOCKOUT: the TPM is in dictionary-attack lockout.
 * @LK_TPM_ERROR_KEY_FILE_CORRUPT: a key file cannot be parsed.
 * @LK_TPM_ERROR_KEY_UNSUPPORTED: a well-formed key file latchkey cannot use
 *   (policy, password, other parent or algorithm).
 * @LK_TPM_ERROR_SRK_OCCUPIED: the storage root key handle holds an object
 *   that is not a storage root key.
 * @LK_TPM_ERROR_BLOB_INVALID: a sealed blob is malformed, truncated or
 *   tampered with.
 * @LK_TPM_ERROR_BLOB_VERSION: a sealed blob has a version latchkey does not
 *   know.
 * @LK_TPM_ERROR_WRONG_TPM: a sealed blob or key belongs to another TPM (or
 *   to this TPM before its owner hierarchy was cleared), or a sealed blob
 *   to another keystore (backend, or sealing key).
 * @LK_TPM_ERROR_KEYRING: the keyring (Secret Service) cannot be reached on
 *   the session bus, or is locked.
 * @LK_TPM_ERROR_NO_KEY: the keystore has no device key yet.
 * @LK_TPM_ERROR_POLICY: a sealed blob is bound to PCR values that have
 *   changed since it was sealed (another boot chain); it stays sealed.
 */
typedef enum {
  LK_TPM_ERROR_FAILED,
  LK_TPM_ERROR_UNREACHABLE,
  LK_TPM_ERROR_LOCKOUT,
  LK_TPM_ERROR_KEY_FILE_CORRUPT,
  LK_TPM_ERROR_KEY_UNSUPPORTED,
  LK_TPM_ERROR_SRK_OCCUPIED,
  LK_TPM_ERROR_BLOB_INVALID,
  LK_TPM_ERROR_BLOB_VERSION,
  LK_TPM_ERROR_WRONG_TPM,
  LK_TPM_ERROR_KEYRING,
  LK_TPM_ERROR_NO_KEY,
  LK_TPM_ERROR_POLICY,
} LkTpmError;

GQuark lk_tpm_error_quark (void);

G_END_DECLS
