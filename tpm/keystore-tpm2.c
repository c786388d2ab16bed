/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "tpm/keystore-private.h"

#include "tpm/gnutls-key.h"
#include "tpm/seal.h"

/* The production backend: a thin adapter over the TPM layer. */

typedef struct {
  LkKeystore parent;
  LkTpmContext *ctx;
  char *key_path;
  LkTpmKey *key;
  guint32 seal_pcrs;
} Tpm2Keystore;

static gboolean
tpm2_load_device_key (LkKeystore  *keystore,
                      gboolean    *ret_found,
                      GError     **error)
{
  Tpm2Keystore *self = (Tpm2Keystore *) keystore;
  g_autoptr(GError) local_error = NULL;

  self->key = lk_tpm_key_load (self->ctx, self->key_path, &local_error);
  if (self->key == NULL && !g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  *ret_found = self->key != NULL;
  return TRUE;
}

static gboolean
tpm2_create_device_key (LkKeystore  *keystore,
                        GError     **error)
{
  Tpm2Keystore *self = (Tpm2Keystore *) keystore;
  g_autoptr(LkTpmKey) key = NULL;

  key = lk_tpm_key_create (self->ctx, error);
  if (key == NULL || !lk_tpm_key_save (key, self->key_path, error))
    return FALSE;

  self->key = g_steal_pointer (&key);
  return TRUE;
}

static GBytes *
tpm2_sign_digest (LkKeystore            *keystore,
                  const guint8          *digest,
                  gsize                  digest_len,
                  LkTpmSignatureFormat   format,
                  GError               **error)
{
  Tpm2Keystore *self = (Tpm2Keystore *) keystore;

  return lk_tpm_key_sign_digest (self->key, digest, digest_len, format, error);
}

static void
tpm2_get_public_point (LkKeystore     *keystore,
                       LkTpmP256Point *point)
{
  Tpm2Keystore *self = (Tpm2Keystore *) keystore;

  lk_tpm_key_get_public_point (self->key, point);
}

static gnutls_privkey_t
tpm2_get_gnutls_privkey (LkKeystore  *keystore,
                         GError     **error)
{
  Tpm2Keystore *self = (Tpm2Keystore *) keystore;

  return lk_tpm_gnutls_privkey_new (self->key, error);
}

static GBytes *
tpm2_seal (LkKeystore  *keystore,
           GBytes      *secret,
           GError     **error)
{
  Tpm2Keystore *self = (Tpm2Keystore *) keystore;

  return lk_tpm_seal_to_pcrs (self->ctx, secret, self->seal_pcrs, error);
}

static GBytes *
tpm2_unseal (LkKeystore  *keystore,
             GBytes      *blob,
             GError     **error)
{
  Tpm2Keystore *self = (Tpm2Keystore *) keystore;

  return lk_tpm_unseal (self->ctx, blob, error);
}

static void
tpm2_set_seal_pcrs (LkKeystore *keystore,
                    guint32     pcr_mask)
{
  Tpm2Keystore *self = (Tpm2Keystore *) keystore;

  self->seal_pcrs = pcr_mask;
}

static void
tpm2_finalize (LkKeystore *keystore)
{
  Tpm2Keystore *self = (Tpm2Keystore *) keystore;

  /* The key first: it flushes its TPM object through the context. */
  g_clear_pointer (&self->key, lk_tpm_key_unref);
  lk_tpm_context_unref (self->ctx);
  g_free (self->key_path);
}

static const LkKeystoreOps tpm2_ops = {
  .load_device_key = tpm2_load_device_key,
  .create_device_key = tpm2_create_device_key,
  .sign_digest = tpm2_sign_digest,
  .get_public_point = tpm2_get_public_point,
  .get_gnutls_privkey = tpm2_get_gnutls_privkey,
  .seal = tpm2_seal,
  .unseal = tpm2_unseal,
  .set_seal_pcrs = tpm2_set_seal_pcrs,
  .finalize = tpm2_finalize,
};

LkKeystore *
lk_keystore_tpm2_new (const char  *state_dir,
                      const char  *tcti,
                      GError     **error)
{
  LkTpmContext *ctx;
  Tpm2Keystore *self;

  ctx = lk_tpm_context_new (tcti, error);
  if (ctx == NULL)
    return NULL;

  self = g_new0 (Tpm2Keystore, 1);
  lk_keystore_init (&self->parent, LK_KEYSTORE_TPM2, &tpm2_ops, state_dir);
  self->ctx = ctx;
  self->key_path = g_build_filename (state_dir, LK_KEYSTORE_DEVICE_KEY_FILE, NULL);
  return &self->parent;
}

LkTpmContext *
lk_keystore_tpm2_get_context (LkKeystore *keystore)
{
  return ((Tpm2Keystore *) keystore)->ctx;
}
