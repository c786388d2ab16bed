/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tpm/keystore-private.h"

#include <string.h>

#include "tpm/seal.h"

#define SHA256_DIGEST_SIZE 32

static const char *const backend_names[] = {
  [LK_KEYSTORE_TPM2] = "tpm2",
  [LK_KEYSTORE_SOFTWARE] = "software",
  [LK_KEYSTORE_SECRET_SERVICE] = "secret-service",
};

/* Each backend's blobs start with their own magic, which is part of the
 * authenticated header, so a blob names the backend that can open it. No
 * single bit flip turns one into another. */
static const char *const blob_magics[] = {
  [LK_KEYSTORE_TPM2] = LK_TPM_SEAL_BLOB_MAGIC,
  [LK_KEYSTORE_SOFTWARE] = "LKSW",
  [LK_KEYSTORE_SECRET_SERVICE] = "LKSK",
};
G_STATIC_ASSERT (sizeof LK_TPM_SEAL_BLOB_MAGIC - 1 == LK_KEYSTORE_BLOB_MAGIC_SIZE);

/* Where the backends that keep their key in software store it. A backend
 * left out of the build (configure --disable-secret-service: an image has
 * a TPM and no keyring) keeps its name and blob magic, so that its config
 * and its blobs are refused by name. */
static const LkKeystoreStorage *const soft_storages[G_N_ELEMENTS (backend_names)] = {
  [LK_KEYSTORE_SOFTWARE] = &lk_keystore_file_storage,
#ifdef ENABLE_SECRET_SERVICE
  [LK_KEYSTORE_SECRET_SERVICE] = &lk_keystore_secret_service_storage,
#endif
};

gboolean
lk_keystore_backend_is_built (LkKeystoreBackend backend)
{
  g_return_val_if_fail (backend < G_N_ELEMENTS (backend_names), FALSE);

  return backend == LK_KEYSTORE_TPM2 || soft_storages[backend] != NULL;
}

const char *
lk_keystore_blob_magic (LkKeystoreBackend backend)
{
  g_return_val_if_fail (backend < G_N_ELEMENTS (blob_magics), NULL);

  return blob_magics[backend];
}

void
lk_keystore_init (LkKeystore          *self,
                  LkKeystoreBackend    backend,
                  const LkKeystoreOps *ops,
                  const char          *state_dir)
{
  g_atomic_ref_count_init (&self->ref_count);
  self->backend = backend;
  self->ops = ops;
  self->state_dir = g_strdup (state_dir);
  g_mutex_init (&self->lock);
}

LkKeystore *
lk_keystore_open (LkKeystoreBackend   backend,
                  const char         *state_dir,
                  const char         *tcti,
                  GError            **error)
{
  g_autoptr(LkKeystore) self = NULL;
  g_autofree char *dir = NULL;

  g_return_val_if_fail (backend < G_N_ELEMENTS (backend_names), NULL);
  g_return_val_if_fail (state_dir != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!lk_keystore_backend_is_built (backend))
    {
      g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_FAILED,
                   "This latchkey was built without the %s keystore (configure --disable-%s)",
                   backend_names[backend], backend_names[backend]);
      return NULL;
    }

  /* The secret-service items are named after it: one spelling only. */
  dir = g_canonicalize_filename (state_dir, NULL);
  if (backend == LK_KEYSTORE_TPM2)
    self = lk_keystore_tpm2_new (dir, tcti, error);
  else
    self = lk_keystore_soft_new (backend, dir, soft_storages[backend]);
  if (self == NULL)
    return NULL;

  if (!self->ops->load_device_key (self, &self->has_key, error))
    return NULL;
  return g_steal_pointer (&self);
}

LkKeystore *
lk_keystore_ref (LkKeystore *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
lk_keystore_unref (LkKeystore *self)
{
  g_return_if_fail (self != NULL);

  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;

  self->ops->finalize (self);
  g_mutex_clear (&self->lock);
  g_free (self->state_dir);
  g_free (self);
}

LkKeystoreBackend
lk_keystore_get_backend (LkKeystore *self)
{
  g_return_val_if_fail (self != NULL, LK_KEYSTORE_TPM2);

  return self->backend;
}

LkTpmContext *
lk_keystore_get_tpm_context (LkKeystore *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->backend == LK_KEYSTORE_TPM2 ? lk_keystore_tpm2_get_context (self) : NULL;
}

gboolean
lk_keystore_ensure_device_key (LkKeystore  *self,
                               gboolean    *ret_created,
                               GError     **error)
{
  g_autoptr(GMutexLocker) locker = NULL;
  gboolean created = FALSE;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  locker = g_mutex_locker_new (&self->lock);
  /* Looking again before creating: a key that appeared since the keystore
   * was opened, usable or not, must never be overwritten. */
  if (!self->has_key && !self->ops->load_device_key (self, &self->has_key, error))
    return FALSE;
  if (!self->has_key)
    {
      if (!self->ops->create_device_key (self, error))
        return FALSE;
      self->has_key = created = TRUE;
    }

  if (ret_created != NULL)
    *ret_created = created;
  return TRUE;
}

const char *
lk_keystore_get_algorithm (LkKeystore *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  /* Every backend makes ECDSA P-256 keys and signs SHA-256 digests. */
  return "ES256";
}

static gboolean
check_has_key (LkKeystore  *self,
               GError     **error)
{
  if (self->has_key)
    return TRUE;

  g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_NO_KEY,
               "The %s keystore has no device key yet", backend_names[self->backend]);
  return FALSE;
}

GBytes *
lk_keystore_sign_digest (LkKeystore            *self,
                         const guint8          *digest,
                         gsize                  digest_len,
                         LkTpmSignatureFormat   format,
                         GError               **error)
{
  g_autoptr(GMutexLocker) locker = NULL;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (digest != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* ECDSA would quietly sign a truncated or padded digest of any size. */
  if (digest_len != SHA256_DIGEST_SIZE)
    {
      g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_FAILED,
                   "Cannot sign a %" G_GSIZE_FORMAT "-byte digest: ECDSA-SHA256 "
                   "needs %u bytes", digest_len, SHA256_DIGEST_SIZE);
      return NULL;
    }

  locker = g_mutex_locker_new (&self->lock);
  if (!check_has_key (self, error))
    return NULL;
  return self->ops->sign_digest (self, digest, digest_len, format, error);
}

static gboolean
get_public_point (LkKeystore      *self,
                  LkTpmP256Point  *point,
                  GError         **error)
{
  g_autoptr(GMutexLocker) locker = NULL;

  locker = g_mutex_locker_new (&self->lock);
  if (!check_has_key (self, error))
    return FALSE;
  self->ops->get_public_point (self, point);
  return TRUE;
}

GBytes *
lk_keystore_get_public_der (LkKeystore  *self,
                            GError     **error)
{
  LkTpmP256Point point;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!get_public_point (self, &point, error))
    return NULL;
  return lk_tpm_p256_get_public_der (&point, error);
}

JsonObject *
lk_keystore_get_jwk (LkKeystore  *self,
                     GError     **error)
{
  LkTpmP256Point point;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!get_public_point (self, &point, error))
    return NULL;
  return lk_tpm_p256_get_jwk (&point);
}

char *
lk_keystore_get_jwk_thumbprint (LkKeystore  *self,
                                GError     **error)
{
  LkTpmP256Point point;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!get_public_point (self, &point, error))
    return NULL;
  return lk_tpm_p256_get_jwk_thumbprint (&point, error);
}

/* The key returned does not use the keystore's lock: GnuTLS signs with it
 * from glib-networking's handshake thread. */
gnutls_privkey_t
lk_keystore_get_gnutls_privkey (LkKeystore  *self,
                                GError     **error)
{
  g_autoptr(GMutexLocker) locker = NULL;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  locker = g_mutex_locker_new (&self->lock);
  if (!check_has_key (self, error))
    return NULL;
  return self->ops->get_gnutls_privkey (self, error);
}

GBytes *
lk_keystore_seal (LkKeystore  *self,
                  GBytes      *secret,
                  GError     **error)
{
  g_autoptr(GMutexLocker) locker = NULL;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (secret != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  locker = g_mutex_locker_new (&self->lock);
  return self->ops->seal (self, secret, error);
}

GBytes *
lk_keystore_unseal (LkKeystore  *self,
                    GBytes      *blob,
                    GError     **error)
{
  g_autoptr(GMutexLocker) locker = NULL;
  const guint8 *data;
  gsize len;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (blob != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  data = g_bytes_get_data (blob, &len);
  for (guint other = 0; other < G_N_ELEMENTS (blob_magics); other++)
    {
      if (other != self->backend && len >= LK_KEYSTORE_BLOB_MAGIC_SIZE &&
          memcmp (data, blob_magics[other], LK_KEYSTORE_BLOB_MAGIC_SIZE) == 0)
        {
          g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_WRONG_TPM,
                       "The blob was sealed by the %s keystore, not this %s one",
                       backend_names[other], backend_names[self->backend]);
          return NULL;
        }
    }

  locker = g_mutex_locker_new (&self->lock);
  return self->ops->unseal (self, blob, error);
}

gboolean
lk_keystore_set_seal_pcrs (LkKeystore    *self,
                           const guint8  *pcrs,
                           gsize          n_pcrs,
                           GError       **error)
{
  g_autoptr(GMutexLocker) locker = NULL;
  guint32 mask;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (pcrs != NULL || n_pcrs == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!lk_tpm_pcr_mask_from_list (pcrs, n_pcrs, &mask, error))
    return FALSE;
  /* No binding is what every backend does anyway. */
  if (self->ops->set_seal_pcrs == NULL && mask != 0)
    {
      g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_FAILED,
                   "The %s keystore cannot bind sealed secrets to PCRs: only the "
                   "tpm2 keystore can", backend_names[self->backend]);
      return FALSE;
    }

  locker = g_mutex_locker_new (&self->lock);
  if (self->ops->set_seal_pcrs != NULL)
    self->ops->set_seal_pcrs (self, mask);
  return TRUE;
}
