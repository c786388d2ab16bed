/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "tpm/keystore.h"
#include "tpm/p256.h"

G_BEGIN_DECLS

/* The device key's file in the state dir (tpm2 and software backends). */
#define LK_KEYSTORE_DEVICE_KEY_FILE "device-key.pem"

/* Every backend's sealed blobs start with a magic of this size. */
#define LK_KEYSTORE_BLOB_MAGIC_SIZE 4

typedef struct _LkKeystoreOps LkKeystoreOps;

/* The part common to all backends; each backend's struct embeds it first. */
struct _LkKeystore {
  gatomicrefcount ref_count;
  LkKeystoreBackend backend;
  const LkKeystoreOps *ops;
  char *state_dir;

  /* Every operation runs with lock held: the TPM serializes its commands
   * anyway and the software backends take microseconds, so one lock keeps
   * ensure_device_key() from racing a signature and spares each backend
   * locking of its own. */
  GMutex lock;
  gboolean has_key;
};

/* Called with the lock held; the ones that use the device key only once
 * has_key is set. */
struct _LkKeystoreOps {
  /* *ret_found is FALSE if there is no key yet; failing is for a key that
   * exists but cannot be used, or storage that cannot be read. */
  gboolean         (*load_device_key)    (LkKeystore            *self,
                                          gboolean              *ret_found,
                                          GError               **error);
  gboolean         (*create_device_key)  (LkKeystore            *self,
                                          GError               **error);
  GBytes          *(*sign_digest)        (LkKeystore            *self,
                                          const guint8          *digest,
                                          gsize                  digest_len,
                                          LkTpmSignatureFormat   format,
                                          GError               **error);
  void             (*get_public_point)   (LkKeystore            *self,
                                          LkTpmP256Point        *point);
  gnutls_privkey_t (*get_gnutls_privkey) (LkKeystore            *self,
                                          GError               **error);
  GBytes          *(*seal)               (LkKeystore            *self,
                                          GBytes                *secret,
                                          GError               **error);
  /* @blob carries no other backend's magic (lk_keystore_blob_magic()). */
  GBytes          *(*unseal)             (LkKeystore            *self,
                                          GBytes                *blob,
                                          GError               **error);
  /* NULL for a backend that cannot bind secrets to PCRs; @pcr_mask has
   * bit i set for PCR i, 0 for none. */
  void             (*set_seal_pcrs)      (LkKeystore            *self,
                                          guint32                pcr_mask);
  void             (*finalize)           (LkKeystore            *self);
};

void        lk_keystore_init       (LkKeystore           *self,
                                    LkKeystoreBackend     backend,
                                    const LkKeystoreOps  *ops,
                                    const char           *state_dir);
const char *lk_keystore_blob_magic (LkKeystoreBackend     backend);

LkTpmContext *lk_keystore_tpm2_get_context (LkKeystore *self);
LkKeystore *lk_keystore_tpm2_new   (const char           *state_dir,
                                    const char           *tcti,
                                    GError              **error);

/* The software and secret-service backends share their crypto
 * (tpm/keystore-soft.c) and differ only in where they keep two items. */
typedef enum {
  LK_KEYSTORE_ITEM_DEVICE_KEY,  /* PKCS#8 PEM */
  LK_KEYSTORE_ITEM_SEAL_KEY,    /* LK_TPM_AEAD_KEY_SIZE random bytes */
} LkKeystoreItem;

typedef struct {
  /* *ret_data is NULL if there is no such item; what is read is wiped
   * when freed. */
  gboolean (*load)     (LkKeystore      *self,
                        LkKeystoreItem   item,
                        GBytes         **ret_data,
                        GError         **error);
  /* Replaces the item in one step: a crash leaves the old one or the new. */
  gboolean (*store)    (LkKeystore      *self,
                        LkKeystoreItem   item,
                        GBytes          *data,
                        GError         **error);
  /* Names the item in messages, capitalized ("Key file /x/seal-key"). */
  char    *(*describe) (LkKeystore      *self,
                        LkKeystoreItem   item);
} LkKeystoreStorage;

LkKeystore *lk_keystore_soft_new   (LkKeystoreBackend         backend,
                                    const char               *state_dir,
                                    const LkKeystoreStorage  *storage);

extern const LkKeystoreStorage lk_keystore_file_storage;
extern const LkKeystoreStorage lk_keystore_secret_service_storage;

G_END_DECLS
