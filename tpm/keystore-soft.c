/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "tpm/keystore-private.h"

#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#include "tpm/envelope.h"
#include "tpm/secret-bytes.h"

/* The keystores without a TPM: a GnuTLS ECDSA P-256 key and AES-256-GCM
 * under one random sealing key, both kept by a LkKeystoreStorage (files,
 * or the user's keyring).
 *
 * Blob, version 1:
 *   magic (the backend's, 4) | version (1 byte) | sealing key id (8) |
 *   GCM nonce (12) | ciphertext | GCM tag (16)
 * The key id plays the part of the TPM blob's SRK name: a blob of another
 * keystore of the same backend is told apart from a damaged one. */
#define BLOB_VERSION 1
#define KEY_ID_SIZE 8
#define HEADER_SIZE (LK_KEYSTORE_BLOB_MAGIC_SIZE + 1 + KEY_ID_SIZE)
#define KEY_ID_LABEL "latchkey sealing key id"

G_DEFINE_AUTO_CLEANUP_FREE_FUNC (gnutls_privkey_t, gnutls_privkey_deinit, NULL)
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (gnutls_pubkey_t, gnutls_pubkey_deinit, NULL)
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (gnutls_x509_privkey_t, gnutls_x509_privkey_deinit, NULL)

typedef struct {
  LkKeystore parent;
  const LkKeystoreStorage *storage;

  gnutls_privkey_t key;
  LkTpmP256Point point;

  /* Loaded on first use; wiped when freed. */
  GBytes *seal_key;
  guint8 seal_key_id[KEY_ID_SIZE];
} SoftKeystore;

G_GNUC_PRINTF (5, 6) static gboolean
set_item_error (SoftKeystore    *self,
                LkKeystoreItem   item,
                LkTpmError       code,
                GError         **error,
                const char      *format,
                ...)
{
  g_autofree char *what = self->storage->describe (&self->parent, item);
  g_autofree char *reason = NULL;
  va_list args;

  va_start (args, format);
  reason = g_strdup_vprintf (format, args);
  va_end (args);

  g_set_error (error, LK_TPM_ERROR, code, "%s %s", what, reason);
  return FALSE;
}

/* Wraps @x509, which it takes, as an abstract key. */
static int
privkey_take_x509 (gnutls_x509_privkey_t  x509,
                   gnutls_privkey_t      *ret_key)
{
  gnutls_privkey_t key = NULL;
  int rc;

  rc = gnutls_privkey_init (&key);
  if (rc == 0)
    rc = gnutls_privkey_import_x509 (key, x509, GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE);
  if (rc < 0)
    {
      gnutls_privkey_deinit (key);
      gnutls_x509_privkey_deinit (x509);
      return rc;
    }
  *ret_key = key;
  return 0;
}

static gboolean
read_public_point (SoftKeystore      *self,
                   gnutls_privkey_t   key,
                   LkTpmP256Point    *point,
                   GError           **error)
{
  g_auto(gnutls_pubkey_t) pubkey = NULL;
  gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
  gnutls_datum_t x = { NULL, 0 };
  gnutls_datum_t y = { NULL, 0 };
  gboolean fits;
  int rc;

  rc = gnutls_pubkey_init (&pubkey);
  if (rc == 0)
    rc = gnutls_pubkey_import_privkey (pubkey, key, 0, 0);
  if (rc == 0)
    rc = gnutls_pubkey_export_ecc_raw2 (pubkey, &curve, &x, &y, GNUTLS_EXPORT_FLAG_NO_LZ);
  if (rc < 0)
    return set_item_error (self, LK_KEYSTORE_ITEM_DEVICE_KEY, LK_TPM_ERROR_FAILED, error,
                           "has no readable public key: %s", gnutls_strerror (rc));

  fits = lk_tpm_p256_point_set (point, x.data, x.size, y.data, y.size);
  gnutls_free (x.data);
  gnutls_free (y.data);
  if (curve != GNUTLS_ECC_CURVE_SECP256R1 || !fits)
    return set_item_error (self, LK_KEYSTORE_ITEM_DEVICE_KEY, LK_TPM_ERROR_KEY_UNSUPPORTED,
                           error, "holds a key on curve %s; latchkey keys are P-256",
                           gnutls_ecc_curve_get_name (curve));
  return TRUE;
}

/* Takes the device key from its PKCS#8 PEM, as stored. */
static gboolean
adopt_device_key (SoftKeystore  *self,
                  GBytes        *pem,
                  GError       **error)
{
  const LkKeystoreItem item = LK_KEYSTORE_ITEM_DEVICE_KEY;
  gsize len;
  const gnutls_datum_t datum = {
    (unsigned char *) g_bytes_get_data (pem, &len), (unsigned) len
  };
  g_auto(gnutls_x509_privkey_t) x509 = NULL;
  g_auto(gnutls_privkey_t) key = NULL;
  gnutls_datum_t der = { NULL, 0 };
  LkTpmP256Point point;
  int rc;

  if (len > G_MAXUINT)
    return set_item_error (self, item, LK_TPM_ERROR_KEY_FILE_CORRUPT, error,
                           "is corrupt: too large");

  rc = gnutls_x509_privkey_init (&x509);
  if (rc == 0)
    rc = gnutls_x509_privkey_import_pkcs8 (x509, &datum, GNUTLS_X509_FMT_PEM, NULL,
                                           GNUTLS_PKCS_PLAIN);
  /* A TPM key where a software key is expected (a state dir that changed
   * keystore) is intact, only not ours to use. */
  if (rc < 0 && gnutls_pem_base64_decode2 ("TSS2 PRIVATE KEY", &datum, &der) == 0)
    {
      gnutls_free (der.data);
      return set_item_error (self, item, LK_TPM_ERROR_KEY_UNSUPPORTED, error,
                             "holds a TPM key (PEM “TSS2 PRIVATE KEY”), not a software one");
    }
  if (rc < 0)
    return set_item_error (self, item, LK_TPM_ERROR_KEY_FILE_CORRUPT, error,
                           "is corrupt: no valid unencrypted “PRIVATE KEY” PEM block (%s)",
                           gnutls_strerror (rc));

  if (gnutls_x509_privkey_get_pk_algorithm (x509) != GNUTLS_PK_ECDSA)
    return set_item_error (self, item, LK_TPM_ERROR_KEY_UNSUPPORTED, error,
                           "holds a %s key; latchkey keys are ECDSA P-256",
                           gnutls_pk_get_name ((gnutls_pk_algorithm_t)
                                               gnutls_x509_privkey_get_pk_algorithm (x509)));

  /* A damaged private scalar or public point can still parse. */
  rc = gnutls_x509_privkey_verify_params (x509);
  if (rc < 0)
    return set_item_error (self, item, LK_TPM_ERROR_KEY_FILE_CORRUPT, error,
                           "is corrupt: its private and public parts do not match (%s)",
                           gnutls_strerror (rc));

  rc = privkey_take_x509 (g_steal_pointer (&x509), &key);
  if (rc < 0)
    return set_item_error (self, item, LK_TPM_ERROR_FAILED, error,
                           "cannot be used: %s", gnutls_strerror (rc));
  if (!read_public_point (self, key, &point, error))
    return FALSE;

  self->key = g_steal_pointer (&key);
  self->point = point;
  return TRUE;
}

static gboolean
soft_load_device_key (LkKeystore  *keystore,
                      gboolean    *ret_found,
                      GError     **error)
{
  SoftKeystore *self = (SoftKeystore *) keystore;
  g_autoptr(GBytes) pem = NULL;

  if (!self->storage->load (keystore, LK_KEYSTORE_ITEM_DEVICE_KEY, &pem, error))
    return FALSE;
  if (pem != NULL && !adopt_device_key (self, pem, error))
    return FALSE;

  *ret_found = pem != NULL;
  return TRUE;
}

static gboolean
soft_create_device_key (LkKeystore  *keystore,
                        GError     **error)
{
  SoftKeystore *self = (SoftKeystore *) keystore;
  g_auto(gnutls_privkey_t) key = NULL;
  g_auto(gnutls_x509_privkey_t) x509 = NULL;
  gnutls_datum_t exported = { NULL, 0 };
  g_autoptr(GBytes) pem = NULL;
  int rc;

  rc = gnutls_privkey_init (&key);
  if (rc == 0)
    rc = gnutls_privkey_generate2 (key, GNUTLS_PK_ECDSA,
                                   GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1),
                                   0, NULL, 0);
  if (rc == 0)
    rc = gnutls_privkey_export_x509 (key, &x509);
  if (rc == 0)
    rc = gnutls_x509_privkey_export2_pkcs8 (x509, GNUTLS_X509_FMT_PEM, NULL,
                                            GNUTLS_PKCS_PLAIN, &exported);
  if (rc < 0)
    {
      g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_FAILED,
                   "Cannot generate an ECDSA P-256 key: %s", gnutls_strerror (rc));
      return FALSE;
    }
  pem = lk_tpm_secret_bytes_new (exported.data, exported.size);
  gnutls_memset (exported.data, 0, exported.size);
  gnutls_free (exported.data);

  /* The key in use is the one read back from what was stored: what signs
   * now is what loads at the next start. */
  return self->storage->store (keystore, LK_KEYSTORE_ITEM_DEVICE_KEY, pem, error) &&
         adopt_device_key (self, pem, error);
}

static GBytes *
soft_sign_digest (LkKeystore            *keystore,
                  const guint8          *digest,
                  gsize                  digest_len,
                  LkTpmSignatureFormat   format,
                  GError               **error)
{
  SoftKeystore *self = (SoftKeystore *) keystore;
  const gnutls_datum_t hash = { (unsigned char *) digest, (unsigned) digest_len };
  gnutls_datum_t der = { NULL, 0 };
  gnutls_datum_t r = { NULL, 0 };
  gnutls_datum_t s = { NULL, 0 };
  GBytes *signature = NULL;
  int rc;

  rc = gnutls_privkey_sign_hash2 (self->key, GNUTLS_SIGN_ECDSA_SHA256, 0, &hash, &der);
  if (rc == 0)
    rc = gnutls_decode_rs_value (&der, &r, &s);
  if (rc < 0)
    g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_FAILED,
                 "Signing failed: %s", gnutls_strerror (rc));
  else
    signature = lk_tpm_p256_signature_new (r.data, r.size, s.data, s.size, format, error);

  gnutls_free (der.data);
  gnutls_free (r.data);
  gnutls_free (s.data);
  return signature;
}

static void
soft_get_public_point (LkKeystore     *keystore,
                       LkTpmP256Point *point)
{
  SoftKeystore *self = (SoftKeystore *) keystore;

  *point = self->point;
}

/* A copy, so that GnuTLS may use it on any thread, outside our lock. */
static gnutls_privkey_t
soft_get_gnutls_privkey (LkKeystore  *keystore,
                         GError     **error)
{
  SoftKeystore *self = (SoftKeystore *) keystore;
  gnutls_x509_privkey_t x509 = NULL;
  gnutls_privkey_t copy = NULL;
  int rc;

  rc = gnutls_privkey_export_x509 (self->key, &x509);
  if (rc == 0)
    rc = privkey_take_x509 (x509, &copy);
  if (rc < 0)
    {
      g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_FAILED,
                   "Cannot copy the device key for GnuTLS: %s", gnutls_strerror (rc));
      return NULL;
    }
  return copy;
}

/* Loads the sealing key, or with @create makes one when there is none. */
static gboolean
ensure_seal_key (SoftKeystore  *self,
                 gboolean       create,
                 GError       **error)
{
  const LkKeystoreItem item = LK_KEYSTORE_ITEM_SEAL_KEY;
  g_autoptr(GBytes) key = NULL;
  guint8 mac[32];
  int rc;

  if (self->seal_key != NULL)
    return TRUE;

  if (!self->storage->load (&self->parent, item, &key, error))
    return FALSE;
  if (key == NULL && !create)
    return set_item_error (self, item, LK_TPM_ERROR_WRONG_TPM, error,
                           "does not exist: the blob was sealed by another keystore");
  if (key == NULL)
    {
      guint8 *random = g_malloc (LK_TPM_ENVELOPE_KEY_SIZE);

      key = lk_tpm_secret_bytes_take (random, LK_TPM_ENVELOPE_KEY_SIZE);
      if (gnutls_rnd (GNUTLS_RND_KEY, random, LK_TPM_ENVELOPE_KEY_SIZE) < 0)
        {
          g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_FAILED,
                       "The random number generator failed");
          return FALSE;
        }
      if (!self->storage->store (&self->parent, item, key, error))
        return FALSE;
    }
  if (g_bytes_get_size (key) != LK_TPM_ENVELOPE_KEY_SIZE)
    return set_item_error (self, item, LK_TPM_ERROR_KEY_FILE_CORRUPT, error,
                           "is corrupt: %" G_GSIZE_FORMAT " bytes instead of %u",
                           g_bytes_get_size (key), LK_TPM_ENVELOPE_KEY_SIZE);

  /* A MAC rather than a hash of the key: the id gives nothing away. */
  rc = gnutls_hmac_fast (GNUTLS_MAC_SHA256, g_bytes_get_data (key, NULL),
                         LK_TPM_ENVELOPE_KEY_SIZE, KEY_ID_LABEL, strlen (KEY_ID_LABEL), mac);
  if (rc < 0)
    {
      g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_FAILED,
                   "Cannot compute the sealing key's id: %s", gnutls_strerror (rc));
      return FALSE;
    }
  memcpy (self->seal_key_id, mac, KEY_ID_SIZE);
  self->seal_key = g_steal_pointer (&key);
  return TRUE;
}

static GBytes *
soft_seal (LkKeystore  *keystore,
           GBytes      *secret,
           GError     **error)
{
  SoftKeystore *self = (SoftKeystore *) keystore;
  guint8 header[HEADER_SIZE];

  if (!ensure_seal_key (self, TRUE, error))
    return NULL;

  memcpy (header, lk_keystore_blob_magic (keystore->backend), LK_KEYSTORE_BLOB_MAGIC_SIZE);
  header[LK_KEYSTORE_BLOB_MAGIC_SIZE] = BLOB_VERSION;
  memcpy (header + LK_KEYSTORE_BLOB_MAGIC_SIZE + 1, self->seal_key_id, KEY_ID_SIZE);
  return lk_tpm_envelope_seal (g_bytes_get_data (self->seal_key, NULL), header,
                               sizeof header, secret, error);
}

static GBytes *
soft_unseal (LkKeystore  *keystore,
             GBytes      *blob,
             GError     **error)
{
  SoftKeystore *self = (SoftKeystore *) keystore;
  const guint8 *data;
  gsize len;

  data = g_bytes_get_data (blob, &len);
  if (!lk_tpm_envelope_check_prefix (data, len, lk_keystore_blob_magic (keystore->backend),
                                     BLOB_VERSION, NULL, error))
    return NULL;
  if (len < HEADER_SIZE)
    {
      g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_BLOB_INVALID,
                   "The sealed blob is truncated");
      return NULL;
    }

  if (!ensure_seal_key (self, FALSE, error))
    return NULL;
  if (memcmp (data + LK_KEYSTORE_BLOB_MAGIC_SIZE + 1, self->seal_key_id, KEY_ID_SIZE) != 0)
    {
      g_set_error (error, LK_TPM_ERROR, LK_TPM_ERROR_WRONG_TPM,
                   "The blob was sealed by another keystore of this backend, "
                   "under another sealing key");
      return NULL;
    }
  return lk_tpm_envelope_open (g_bytes_get_data (self->seal_key, NULL), data, len,
                               HEADER_SIZE, error);
}

static void
soft_finalize (LkKeystore *keystore)
{
  SoftKeystore *self = (SoftKeystore *) keystore;

  /* GnuTLS zeroes the key's parameters as it frees them. */
  g_clear_pointer (&self->key, gnutls_privkey_deinit);
  g_clear_pointer (&self->seal_key, g_bytes_unref);
}

static const LkKeystoreOps soft_ops = {
  .load_device_key = soft_load_device_key,
  .create_device_key = soft_create_device_key,
  .sign_digest = soft_sign_digest,
  .get_public_point = soft_get_public_point,
  .get_gnutls_privkey = soft_get_gnutls_privkey,
  .seal = soft_seal,
  .unseal = soft_unseal,
  .finalize = soft_finalize,
};

LkKeystore *
lk_keystore_soft_new (LkKeystoreBackend         backend,
                      const char               *state_dir,
                      const LkKeystoreStorage  *storage)
{
  SoftKeystore *self = g_new0 (SoftKeystore, 1);

  lk_keystore_init (&self->parent, backend, &soft_ops, state_dir);
  self->storage = storage;
  return &self->parent;
}
