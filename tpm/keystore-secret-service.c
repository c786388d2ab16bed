/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "tpm/keystore-private.h"

#include <libsecret/secret.h>

#include "tpm/secret-bytes.h"

/* The secret-service backend's storage: items in the user's default
 * keyring, found by their kind and by the state dir of the daemon that
 * owns them, so that two daemons of one user do not share keys. */

static const SecretSchema schema = {
  "io.latchkey.Agent1.Secret", SECRET_SCHEMA_NONE,
  {
    { "kind", SECRET_SCHEMA_ATTRIBUTE_STRING },
    { "instance", SECRET_SCHEMA_ATTRIBUTE_STRING },
    { NULL, 0 },
  },
};

static const struct {
  const char *kind;
  const char *label;
  const char *content_type;
} items[] = {
  [LK_KEYSTORE_ITEM_DEVICE_KEY] = { "device-key", "latchkey device key", "text/plain" },
  [LK_KEYSTORE_ITEM_SEAL_KEY] = { "seal-key", "latchkey sealing key", "application/octet-stream" },
};

static GHashTable *
item_attributes (LkKeystore     *self,
                 LkKeystoreItem  item)
{
  GHashTable *attributes = g_hash_table_new (g_str_hash, g_str_equal);

  g_hash_table_insert (attributes, "kind", (gpointer) items[item].kind);
  g_hash_table_insert (attributes, "instance", self->state_dir);
  return attributes;
}

static char *
keyring_describe (LkKeystore     *self,
                  LkKeystoreItem  item)
{
  return g_strdup_printf ("Keyring item “%s” (kind=%s, instance=%s)",
                          items[item].label, items[item].kind, self->state_dir);
}

static gboolean
set_locked_error (LkKeystore      *self,
                  LkKeystoreItem   item,
                  GError         **error)
{
  g_autofree char *what = keyring_describe (self, item);

  g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_KEYRING,
               "%s is in a locked keyring: unlock it (log in to the desktop "
               "session) and try again", what);
  return FALSE;
}

static gboolean
set_keyring_error (LkKeystore      *self,
                   LkKeystoreItem   item,
                   const GError    *cause,
                   GError         **error)
{
  g_autofree char *what = NULL;

  if (g_error_matches (cause, SECRET_ERROR, SECRET_ERROR_IS_LOCKED))
    return set_locked_error (self, item, error);

  what = keyring_describe (self, item);
  g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_KEYRING,
               "%s: cannot use the keyring (Secret Service on the session bus): %s",
               what, cause->message);
  return FALSE;
}

static SecretService *
get_service (LkKeystore      *self,
             LkKeystoreItem   item,
             GError         **error)
{
  g_autoptr(GError) local_error = NULL;
  SecretService *service;

  service = secret_service_get_sync (SECRET_SERVICE_OPEN_SESSION, NULL, &local_error);
  if (service == NULL)
    set_keyring_error (self, item, local_error, error);
  return service;
}

/* The SecretService calls rather than secret_password_*(): in libsecret
 * 0.20 those leak a little on every lookup or search that finds an item. */
static gboolean
keyring_load (LkKeystore      *self,
              LkKeystoreItem   item,
              GBytes         **ret_data,
              GError         **error)
{
  g_autoptr(GHashTable) attributes = item_attributes (self, item);
  g_autoptr(GError) local_error = NULL;
  g_autoptr(SecretService) service = NULL;
  g_autolist(SecretItem) found = NULL;
  g_autoptr(SecretValue) value = NULL;
  SecretItem *secret_item;
  const char *data;
  gsize len;

  service = get_service (self, item, error);
  if (service == NULL)
    return FALSE;
  found = secret_service_search_sync (service, &schema, attributes,
                                      SECRET_SEARCH_LOAD_SECRETS, NULL, &local_error);
  if (local_error != NULL)
    return set_keyring_error (self, item, local_error, error);
  if (found == NULL)
    {
      *ret_data = NULL;
      return TRUE;
    }

  /* As libsecret's lookups do: gnome-keyring marks locked a keyring it
   * opens without asking anyone (no password), and otherwise the desktop
   * asks the user. */
  secret_item = found->data;
  if (secret_item_get_locked (secret_item) &&
      (secret_service_unlock_sync (service, found, NULL, NULL, NULL) != 1 ||
       !secret_item_load_secret_sync (secret_item, NULL, NULL)))
    return set_locked_error (self, item, error);

  value = secret_item_get_secret (secret_item);
  /* An item without a secret is no item. */
  if (value == NULL)
    {
      *ret_data = NULL;
      return TRUE;
    }
  data = secret_value_get (value, &len);
  *ret_data = lk_tpm_secret_bytes_new (data, len);
  return TRUE;
}

static gboolean
keyring_store (LkKeystore      *self,
               LkKeystoreItem   item,
               GBytes          *data,
               GError         **error)
{
  g_autoptr(GHashTable) attributes = item_attributes (self, item);
  g_autoptr(GError) local_error = NULL;
  g_autoptr(SecretService) service = NULL;
  g_autoptr(SecretValue) value = NULL;
  g_autofree char *label = NULL;
  gsize len;
  const char *bytes = g_bytes_get_data (data, &len);

  service = get_service (self, item, error);
  if (service == NULL)
    return FALSE;
  label = g_strdup_printf ("%s (%s)", items[item].label, self->state_dir);
  value = secret_value_new (bytes, (gssize) len, items[item].content_type);
  /* The Secret Service replaces an item with the same attributes in one
   * step. */
  if (!secret_service_store_sync (service, &schema, attributes, SECRET_COLLECTION_DEFAULT,
                                  label, value, NULL, &local_error))
    return set_keyring_error (self, item, local_error, error);
  return TRUE;
}

const LkKeystoreStorage lk_keystore_secret_service_storage = {
  .load = keyring_load,
  .store = keyring_store,
  .describe = keyring_describe,
};
