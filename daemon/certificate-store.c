/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

#include "certificate-store.h"
#include "error.h"
#include "tpm/atomic-file.h"

void
lk_identity_free (LkIdentity *identity)
{
  if (identity == NULL)
    return;
  lk_certificate_free (identity->cert);
  g_clear_pointer (&identity->key, lk_tpm_key_unref);
  g_free (identity);
}

/* @name's key when its public key is @spki_der; NULL without error when there is no such file or it is another key's. */
static LkTpmKey *
load_matching_key (LkTpmContext *ctx, const char *path, GBytes *spki_der, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autoptr (LkTpmKey) key = lk_tpm_key_load (ctx, path, &local_error);
  g_autoptr (GBytes) spki = NULL;

  if (key == NULL)
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return NULL;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  spki = lk_tpm_key_get_public_der (key, error);
  if (spki == NULL)
    return NULL;
  return g_bytes_equal (spki, spki_der) ? g_steal_pointer (&key) : NULL;
}

static gboolean
rename_next_key (const char *state_dir, GError **error)
{
  g_autofree char *next = g_build_filename (state_dir, LK_IDENTITY_NEXT_KEY_FILE, NULL);
  g_autofree char *current = g_build_filename (state_dir, LK_IDENTITY_KEY_FILE, NULL);

  if (g_rename (next, current) < 0)
    {
      int saved_errno = errno;

      g_set_error (error, LK_ERROR, LK_ERROR_STATE_DIR, "cannot rename %s to %s: %s", next, current,
                   g_strerror (saved_errno));
      return FALSE;
    }
  return TRUE;
}

LkIdentity *
lk_identity_load (LkTpmContext *ctx, const char *state_dir, GError **error)
{
  g_autofree char *cert_path = g_build_filename (state_dir, LK_IDENTITY_CERT_FILE, NULL);
  g_autofree char *key_path = g_build_filename (state_dir, LK_IDENTITY_KEY_FILE, NULL);
  g_autofree char *next_path = g_build_filename (state_dir, LK_IDENTITY_NEXT_KEY_FILE, NULL);
  g_autoptr (LkIdentity) identity = g_new0 (LkIdentity, 1);
  g_autoptr (GError) local_error = NULL;
  g_autofree char *pem = NULL;
  gsize length;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!g_file_get_contents (cert_path, &pem, &length, &local_error))
    {
      if (!g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        {
          g_set_error (error, LK_ERROR, LK_ERROR_STATE_DIR, "%s", local_error->message);
          return NULL;
        }
      /* A first enrollment that never got its certificate. */
      (void) g_unlink (next_path);
      return NULL;
    }
  identity->cert = lk_certificate_from_pem (pem, length, cert_path, error);
  if (identity->cert == NULL)
    return NULL;

  identity->key = load_matching_key (ctx, key_path, identity->cert->spki_der, error);
  if (identity->key == NULL && error != NULL && *error != NULL)
    return NULL;
  if (identity->key != NULL)
    {
      /* A renewal whose certificate never came: its key is useless. */
      (void) g_unlink (next_path);
      return g_steal_pointer (&identity);
    }
  /* The certificate was committed, the key not yet renamed: finish. */
  identity->key = load_matching_key (ctx, next_path, identity->cert->spki_der, error);
  if (identity->key == NULL)
    {
      if (error == NULL || *error == NULL)
        g_set_error (error, LK_ERROR, LK_ERROR_STATE_DIR, "%s: no key in %s for its certificate (%s)", cert_path,
                     state_dir, identity->cert->subject);
      return NULL;
    }
  if (!rename_next_key (state_dir, error))
    return NULL;
  return g_steal_pointer (&identity);
}

LkTpmKey *
lk_identity_new_key (LkTpmContext *ctx, const char *state_dir, GError **error)
{
  g_autofree char *path = g_build_filename (state_dir, LK_IDENTITY_NEXT_KEY_FILE, NULL);
  g_autoptr (LkTpmKey) key = lk_tpm_key_create (ctx, error);

  if (key == NULL || !lk_tpm_key_save (key, path, error))
    return NULL;
  return g_steal_pointer (&key);
}

gboolean
lk_identity_commit (const char *state_dir, const LkCertificate *cert, GError **error)
{
  g_autofree char *path = g_build_filename (state_dir, LK_IDENTITY_CERT_FILE, NULL);

  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!lk_tpm_write_file_atomic (path, (const guint8 *) cert->chain_pem, strlen (cert->chain_pem), error))
    return FALSE;
  return rename_next_key (state_dir, error);
}

gboolean
lk_identity_file_is (const char *state_dir, const char *chain_pem)
{
  g_autofree char *path = g_build_filename (state_dir, LK_IDENTITY_CERT_FILE, NULL);
  g_autofree char *pem = NULL;

  if (!g_file_get_contents (path, &pem, NULL, NULL))
    return chain_pem == NULL;
  return g_strcmp0 (pem, chain_pem) == 0;
}
