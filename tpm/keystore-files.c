/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "tpm/keystore-private.h"

#include "tpm/atomic-file.h"
#include "tpm/secret-bytes.h"

/* The software backend's storage: files of mode 0600 in the state dir. */

static const char *const file_names[] = {
  [LK_KEYSTORE_ITEM_DEVICE_KEY] = LK_KEYSTORE_DEVICE_KEY_FILE,
  [LK_KEYSTORE_ITEM_SEAL_KEY] = "seal-key",
};

static char *
item_path (LkKeystore     *self,
           LkKeystoreItem  item)
{
  return g_build_filename (self->state_dir, file_names[item], NULL);
}

static gboolean
files_load (LkKeystore      *self,
            LkKeystoreItem   item,
            GBytes         **ret_data,
            GError         **error)
{
  g_autofree char *path = item_path (self, item);
  g_autoptr(GError) local_error = NULL;
  char *contents = NULL;
  gsize len = 0;

  if (!g_file_get_contents (path, &contents, &len, &local_error))
    {
      if (!g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      *ret_data = NULL;
      return TRUE;
    }

  *ret_data = lk_tpm_secret_bytes_take (contents, len);
  return TRUE;
}

static gboolean
files_store (LkKeystore      *self,
             LkKeystoreItem   item,
             GBytes          *data,
             GError         **error)
{
  g_autofree char *path = item_path (self, item);
  gsize len;
  const guint8 *bytes = g_bytes_get_data (data, &len);

  return lk_tpm_write_file_atomic (path, bytes, len, error);
}

static char *
files_describe (LkKeystore     *self,
                LkKeystoreItem  item)
{
  g_autofree char *path = item_path (self, item);

  return g_strdup_printf ("Key file %s", path);
}

const LkKeystoreStorage lk_keystore_file_storage = {
  .load = files_load,
  .store = files_store,
  .describe = files_describe,
};
