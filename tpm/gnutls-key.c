/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "tpm/gnutls-key.h"

#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/urls.h>
#include <gnutls/x509.h>

#define URL_KEY_SUFFIX ";type=private"
#define URL_CERT_SUFFIX ";type=cert"

static gboolean
sign_algorithm_supported (unsigned algorithm)
{
  /* TLS 1.3 names the curve, TLS 1.2 and X.509 do not: accepting only one
   * makes TLS 1.3 silently send no certificate. */
  return algorithm == GNUTLS_SIGN_ECDSA_SECP256R1_SHA256 ||
         algorithm == GNUTLS_SIGN_ECDSA_SHA256;
}

static int
privkey_info (gnutls_privkey_t  pkey,
              unsigned int      flags,
              void             *user_data)
{
  (void) pkey;
  (void) user_data;

  if (flags & GNUTLS_PRIVKEY_INFO_PK_ALGO)
    return GNUTLS_PK_ECDSA;
  if (flags & GNUTLS_PRIVKEY_INFO_PK_ALGO_BITS)
    return 256;
  if (flags & GNUTLS_PRIVKEY_INFO_SIGN_ALGO)
    return GNUTLS_SIGN_ECDSA_SHA256;
  if (flags & GNUTLS_PRIVKEY_INFO_HAVE_SIGN_ALGO)
    return sign_algorithm_supported (GNUTLS_FLAGS_TO_SIGN_ALGO (flags));
  return GNUTLS_E_UNKNOWN_PK_ALGORITHM;
}

/* Runs on whichever thread does the handshake; the key locks the TPM. */
static int
privkey_sign_hash (gnutls_privkey_t         pkey,
                   gnutls_sign_algorithm_t  algorithm,
                   void                    *user_data,
                   unsigned int             flags,
                   const gnutls_datum_t    *hash,
                   gnutls_datum_t          *signature)
{
  LkTpmKey *key = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) der = NULL;
  const void *data;
  gsize len;

  (void) pkey;
  (void) flags;

  if (!sign_algorithm_supported (algorithm))
    return GNUTLS_E_UNSUPPORTED_SIGNATURE_ALGORITHM;

  der = lk_tpm_key_sign_digest (key, hash->data, hash->size,
                                LK_TPM_SIGNATURE_DER, &error);
  if (der == NULL)
    {
      /* GnuTLS keeps only the code: log the cause or it is lost. */
      g_warning ("TPM signature for GnuTLS failed: %s", error->message);
      return GNUTLS_E_PK_SIGN_FAILED;
    }

  data = g_bytes_get_data (der, &len);
  signature->data = gnutls_malloc (len);
  if (signature->data == NULL)
    return GNUTLS_E_MEMORY_ERROR;
  memcpy (signature->data, data, len);
  signature->size = (unsigned) len;
  return 0;
}

static void
privkey_deinit (gnutls_privkey_t  pkey,
                void             *user_data)
{
  (void) pkey;
  lk_tpm_key_unref (user_data);
}

static int
privkey_import (gnutls_privkey_t  pkey,
                LkTpmKey         *key)
{
  int rc;

  rc = gnutls_privkey_import_ext4 (pkey, lk_tpm_key_ref (key), NULL,
                                   privkey_sign_hash, NULL, privkey_deinit,
                                   privkey_info,
                                   GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE);
  if (rc < 0)
    lk_tpm_key_unref (key);
  return rc;
}

/**
 * lk_tpm_gnutls_privkey_new:
 *
 * Wraps @key as a GnuTLS private key for CSRs, TLS and signatures; it holds
 * a reference on @key.
 *
 * Returns: (transfer full): the key, to free with gnutls_privkey_deinit()
 */
gnutls_privkey_t
lk_tpm_gnutls_privkey_new (LkTpmKey  *key,
                           GError   **error)
{
  gnutls_privkey_t pkey = NULL;
  int rc;

  g_return_val_if_fail (key != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  rc = gnutls_privkey_init (&pkey);
  if (rc == 0)
    rc = privkey_import (pkey, key);
  if (rc < 0)
    {
      gnutls_privkey_deinit (pkey);
      g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_FAILED,
                   "Cannot wrap the TPM key for GnuTLS: %s", gnutls_strerror (rc));
      return NULL;
    }
  return pkey;
}

typedef struct {
  LkTpmKey *key;
  GBytes *cert_der;
} Published;

static void
published_free (Published *published)
{
  lk_tpm_key_unref (published->key);
  g_clear_pointer (&published->cert_der, g_bytes_unref);
  g_free (published);
}

/* glib-networking imports the URL again for every handshake and drops it
 * afterwards: the loaded keys live here, not in the per-import state. */
static GMutex published_lock;
static GHashTable *published_table;

static Published *
lookup_url (const char *url,
            const char *suffix,
            gboolean    want_cert)
{
  const char *name = url + strlen (LK_TPM_GNUTLS_URL_SCHEME);
  g_autofree char *key = NULL;
  Published *published;

  if (!g_str_has_prefix (url, LK_TPM_GNUTLS_URL_SCHEME) ||
      !g_str_has_suffix (name, suffix))
    return NULL;
  key = g_strndup (name, strlen (name) - strlen (suffix));

  published = published_table != NULL ? g_hash_table_lookup (published_table, key) : NULL;
  if (published == NULL || (want_cert && published->cert_der == NULL))
    return NULL;
  return published;
}

static int
url_import_key (gnutls_privkey_t  pkey,
                const char       *url,
                unsigned          flags)
{
  Published *published;
  int rc = GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE;

  (void) flags;
  g_mutex_lock (&published_lock);
  published = lookup_url (url, URL_KEY_SUFFIX, FALSE);
  if (published != NULL)
    rc = privkey_import (pkey, published->key);
  g_mutex_unlock (&published_lock);
  return rc;
}

static int
url_import_crt (gnutls_x509_crt_t  crt,
                const char        *url,
                unsigned           flags)
{
  Published *published;
  gnutls_datum_t der;
  gsize len;
  int rc = GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE;

  (void) flags;
  g_mutex_lock (&published_lock);
  published = lookup_url (url, URL_CERT_SUFFIX, TRUE);
  if (published != NULL)
    {
      der.data = (unsigned char *) g_bytes_get_data (published->cert_der, &len);
      der.size = (unsigned) len;
      rc = gnutls_x509_crt_import (crt, &der, GNUTLS_X509_FMT_DER);
    }
  g_mutex_unlock (&published_lock);
  return rc;
}

/* GnuTLS keeps the pointer until gnutls_global_deinit(). */
static const gnutls_custom_url_st url_scheme = {
  .name = LK_TPM_GNUTLS_URL_SCHEME,
  .name_size = sizeof LK_TPM_GNUTLS_URL_SCHEME - 1,
  .import_key = url_import_key,
  .import_crt = url_import_crt,
};

/**
 * lk_tpm_gnutls_register_url_scheme:
 *
 * Teaches GnuTLS the `latchkey-tpm:` URLs. Call it at start-up, before any
 * thread may run a handshake: GnuTLS's registration is not thread-safe.
 * Calling it again is harmless.
 */
gboolean
lk_tpm_gnutls_register_url_scheme (GError **error)
{
  static gsize registered = 0;
  static int rc;

  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* GnuTLS refuses a second registration of the same scheme. */
  if (g_once_init_enter (&registered))
    {
      rc = gnutls_register_custom_url (&url_scheme);
      g_once_init_leave (&registered, 1);
    }

  if (rc < 0)
    {
      g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_FAILED,
                   "Cannot register the %s URL scheme with GnuTLS: %s",
                   LK_TPM_GNUTLS_URL_SCHEME, gnutls_strerror (rc));
      return FALSE;
    }
  return TRUE;
}

static GBytes *
cert_public_key (GBytes  *cert_der,
                 GError **error)
{
  gnutls_x509_crt_t crt = NULL;
  gnutls_pubkey_t pubkey = NULL;
  gnutls_datum_t der;
  gnutls_datum_t spki = { NULL, 0 };
  GBytes *bytes = NULL;
  gsize len;
  int rc;

  der.data = (unsigned char *) g_bytes_get_data (cert_der, &len);
  der.size = (unsigned) len;

  rc = gnutls_x509_crt_init (&crt);
  if (rc == 0)
    rc = gnutls_x509_crt_import (crt, &der, GNUTLS_X509_FMT_DER);
  if (rc == 0)
    rc = gnutls_pubkey_init (&pubkey);
  if (rc == 0)
    rc = gnutls_pubkey_import_x509 (pubkey, crt, 0);
  if (rc == 0)
    rc = gnutls_pubkey_export2 (pubkey, GNUTLS_X509_FMT_DER, &spki);

  if (rc < 0)
    g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_FAILED,
                 "Cannot read the certificate's public key: %s", gnutls_strerror (rc));
  else
    bytes = g_bytes_new (spki.data, spki.size);

  gnutls_free (spki.data);
  gnutls_pubkey_deinit (pubkey);
  gnutls_x509_crt_deinit (crt);
  return bytes;
}

static gboolean
name_is_valid (const char *name)
{
  if (*name == '\0')
    return FALSE;
  for (; *name != '\0'; name++)
    if (!g_ascii_isalnum (*name) && *name != '-' && *name != '_')
      return FALSE;
  return TRUE;
}

/**
 * lk_tpm_gnutls_publish:
 * @name: letters, digits, `-` and `_`
 * @cert_der: (nullable): the certificate of @key, DER
 *
 * Makes @key (and @cert_der) reachable through lk_tpm_gnutls_key_url()
 * and lk_tpm_gnutls_cert_url(), replacing what @name held. The certificate
 * is checked against the key here, since glib-networking ignores a key it
 * cannot use and goes on without a client certificate.
 */
gboolean
lk_tpm_gnutls_publish (const char  *name,
                       LkTpmKey    *key,
                       GBytes      *cert_der,
                       GError     **error)
{
  Published *published;

  g_return_val_if_fail (name != NULL && name_is_valid (name), FALSE);
  g_return_val_if_fail (key != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (cert_der != NULL)
    {
      g_autoptr(GBytes) cert_spki = cert_public_key (cert_der, error);
      g_autoptr(GBytes) key_spki = NULL;

      if (cert_spki == NULL)
        return FALSE;
      key_spki = lk_tpm_key_get_public_der (key, error);
      if (key_spki == NULL)
        return FALSE;
      if (!g_bytes_equal (cert_spki, key_spki))
        {
          g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_FAILED,
                       "The certificate published as “%s” is not for its TPM key",
                       name);
          return FALSE;
        }
    }

  published = g_new0 (Published, 1);
  published->key = lk_tpm_key_ref (key);
  published->cert_der = cert_der != NULL ? g_bytes_ref (cert_der) : NULL;

  g_mutex_lock (&published_lock);
  if (published_table == NULL)
    published_table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                             (GDestroyNotify) published_free);
  g_hash_table_replace (published_table, g_strdup (name), published);
  g_mutex_unlock (&published_lock);
  return TRUE;
}

void
lk_tpm_gnutls_withdraw (const char *name)
{
  g_return_if_fail (name != NULL);

  g_mutex_lock (&published_lock);
  if (published_table != NULL)
    g_hash_table_remove (published_table, name);
  g_mutex_unlock (&published_lock);
}

char *
lk_tpm_gnutls_key_url (const char *name)
{
  g_return_val_if_fail (name != NULL && name_is_valid (name), NULL);

  return g_strconcat (LK_TPM_GNUTLS_URL_SCHEME, name, URL_KEY_SUFFIX, NULL);
}

char *
lk_tpm_gnutls_cert_url (const char *name)
{
  g_return_val_if_fail (name != NULL && name_is_valid (name), NULL);

  return g_strconcat (LK_TPM_GNUTLS_URL_SCHEME, name, URL_CERT_SUFFIX, NULL);
}
