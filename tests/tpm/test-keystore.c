/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <libsecret/secret.h>

#include "tests/tpm/tpm-test-util.h"
#include "tpm/keystore.h"

/* Every backend against its real peer: swtpm (tpm2), the file system
 * (software), gnome-keyring on a private session bus (secret-service). */

#define SCHEMA_NAME "io.latchkey.Agent1.Secret"

static const char *const backend_names[] = {
  [LK_KEYSTORE_TPM2] = "tpm2",
  [LK_KEYSTORE_SOFTWARE] = "software",
  [LK_KEYSTORE_SECRET_SERVICE] = "secret-service",
};

/* --- the keyring peer -------------------------------------------------- */

typedef struct {
  GSubprocess *process;
} KeyringPeer;

/* Starts `tests/peer keyring` in $LATCHKEY_TEST_DIR/NAME and points this
 * process's session bus at it. The peer stops the keyring when its stdin
 * closes: at keyring_peer_stop(), or when this process dies. */
static KeyringPeer *
keyring_peer_start (const char *name)
{
  g_autofree char *script = g_test_build_filename (G_TEST_DIST, "tests", "peer", NULL);
  g_autofree char *dir = g_build_filename (g_getenv ("LATCHKEY_TEST_DIR"), name, NULL);
  const char *argv[] = { "bash", script, "keyring", dir, NULL };
  g_autoptr(GDataInputStream) out = NULL;
  g_autoptr(GDBusConnection) bus = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *address = NULL;
  KeyringPeer *peer = g_new0 (KeyringPeer, 1);
  char *line;

  peer->process = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDIN_PIPE |
                                           G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
  g_assert_no_error (error);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (peer->process));
  while ((line = g_data_input_stream_read_line (out, NULL, NULL, &error)) != NULL &&
         strcmp (line, "READY") != 0)
    {
      if (g_str_has_prefix (line, "KEYRING_BUS_ADDRESS="))
        address = g_strdup (line + strlen ("KEYRING_BUS_ADDRESS="));
      g_free (line);
    }
  g_assert_no_error (error);
  g_assert_nonnull (line);
  g_free (line);
  g_assert_nonnull (address);

  g_setenv ("DBUS_SESSION_BUS_ADDRESS", address, TRUE);
  /* The keyring stops before this process does: outliving the session bus
   * must not end it. */
  bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  g_assert_no_error (error);
  g_dbus_connection_set_exit_on_close (bus, FALSE);
  return peer;
}

static void
keyring_peer_stop (KeyringPeer *peer)
{
  g_autoptr(GError) error = NULL;

  g_output_stream_close (g_subprocess_get_stdin_pipe (peer->process), NULL, &error);
  g_assert_no_error (error);
  g_subprocess_wait_check (peer->process, NULL, &error);
  g_assert_no_error (error);
  g_object_unref (peer->process);
  g_free (peer);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KeyringPeer, keyring_peer_stop)

/* Runs secret-tool on the test's keyring; its output, NULs made dots. */
static char *
secret_tool (const char * const  *argv,
             GBytes              *input)
{
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GBytes) out = NULL;
  g_autoptr(GError) error = NULL;
  const char *data;
  char *text;
  gsize len;

  process = g_subprocess_newv (argv, (input != NULL ? G_SUBPROCESS_FLAGS_STDIN_PIPE : 0) |
                                     G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                     G_SUBPROCESS_FLAGS_STDERR_MERGE, &error);
  g_assert_no_error (error);
  g_subprocess_communicate (process, input, NULL, &out, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_successful (process));

  data = g_bytes_get_data (out, &len);
  text = g_malloc (len + 1);
  for (gsize i = 0; i < len; i++)
    text[i] = data[i] != '\0' ? data[i] : '.';
  text[len] = '\0';
  return text;
}

static guint
count_matches (const char *haystack,
               const char *needle)
{
  guint n = 0;

  for (const char *p = strstr (haystack, needle); p != NULL; p = strstr (p + 1, needle))
    n++;
  return n;
}

/* --- fixture ------------------------------------------------------------- */

typedef struct {
  LkKeystoreBackend backend;
  char *dir;
  LkKeystore *keystore;
} Fixture;

static LkKeystore *
open_keystore (LkKeystoreBackend  backend,
               const char        *dir)
{
  g_autoptr(GError) error = NULL;
  LkKeystore *keystore = lk_keystore_open (backend, dir, lk_test_tcti (), &error);

  g_assert_no_error (error);
  g_assert_nonnull (keystore);
  return keystore;
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  fixture->backend = GPOINTER_TO_INT (data);
  fixture->dir = lk_test_make_tmp_dir ();
  fixture->keystore = open_keystore (fixture->backend, fixture->dir);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  (void) data;
  g_clear_pointer (&fixture->keystore, lk_keystore_unref);
  lk_test_remove_tree (fixture->dir);
  g_free (fixture->dir);
}

/* swtpm serves one connection at a time: close before opening again. */
static void
reopen (Fixture *fixture)
{
  g_clear_pointer (&fixture->keystore, lk_keystore_unref);
  fixture->keystore = open_keystore (fixture->backend, fixture->dir);
}

static void
ensure_key (LkKeystore *keystore,
            gboolean    expect_created)
{
  g_autoptr(GError) error = NULL;
  gboolean created = !expect_created;

  g_assert_true (lk_keystore_ensure_device_key (keystore, &created, &error));
  g_assert_no_error (error);
  g_assert_cmpint (created, ==, expect_created);
}

static char *
thumbprint (LkKeystore *keystore)
{
  g_autoptr(GError) error = NULL;
  char *text = lk_keystore_get_jwk_thumbprint (keystore, &error);

  g_assert_no_error (error);
  return text;
}

static GBytes *
public_der (LkKeystore *keystore)
{
  g_autoptr(GError) error = NULL;
  GBytes *spki = lk_keystore_get_public_der (keystore, &error);

  g_assert_no_error (error);
  g_assert_nonnull (spki);
  return spki;
}

static GBytes *
seal (LkKeystore *keystore,
      GBytes     *secret)
{
  g_autoptr(GError) error = NULL;
  GBytes *blob = lk_keystore_seal (keystore, secret, &error);

  g_assert_no_error (error);
  g_assert_nonnull (blob);
  return blob;
}

static void
assert_unseals_to (LkKeystore *keystore,
                   GBytes     *blob,
                   GBytes     *secret)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) unsealed = lk_keystore_unseal (keystore, blob, &error);

  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (unsealed, secret));
}

static void
assert_unseal_fails (LkKeystore   *keystore,
                     const guint8 *data,
                     gsize         len,
                     gint          code)
{
  g_autoptr(GBytes) blob = g_bytes_new (data, len);
  g_autoptr(GBytes) secret = NULL;
  g_autoptr(GError) error = NULL;

  secret = lk_keystore_unseal (keystore, blob, &error);
  g_assert_null (secret);
  g_assert_error (error, LK_TPM_ERROR, code);
}

/* Where the device key and the sealing key are kept, per backend. */
static const char *
item_kind (gboolean seal_key)
{
  return seal_key ? "seal-key" : "device-key";
}

static char *
item_path (Fixture  *fixture,
           gboolean  seal_key)
{
  return g_build_filename (fixture->dir, seal_key ? "seal-key" : "device-key.pem", NULL);
}

/* What the item holds, read by the peer's own tools, or NULL if none. */
static GBytes *
read_item (Fixture  *fixture,
           gboolean  seal_key)
{
  g_autofree char *path = item_path (fixture, seal_key);
  char *contents = NULL;
  gsize len = 0;

  if (fixture->backend == LK_KEYSTORE_SECRET_SERVICE)
    {
      const char *argv[] = {
        "secret-tool", "lookup", "kind", item_kind (seal_key), "instance", fixture->dir, NULL
      };
      char *out = secret_tool (argv, NULL);

      return g_bytes_new_take (out, strlen (out));
    }

  if (!g_file_get_contents (path, &contents, &len, NULL))
    return NULL;
  return g_bytes_new_take (contents, len);
}

/* Puts @contents where the keystore looks for the item, behind its back. */
static void
plant_item (Fixture      *fixture,
            gboolean      seal_key,
            const guint8 *contents,
            gsize         len)
{
  g_autofree char *path = item_path (fixture, seal_key);
  g_autoptr(GError) error = NULL;

  if (fixture->backend == LK_KEYSTORE_SECRET_SERVICE)
    {
      const char *argv[] = {
        "secret-tool", "store", "--label=planted", "xdg:schema", SCHEMA_NAME,
        "kind", item_kind (seal_key), "instance", fixture->dir, NULL
      };
      g_autoptr(GBytes) input = g_bytes_new (contents, len);

      g_free (secret_tool (argv, input));
      return;
    }

  g_file_set_contents (path, (const char *) contents, (gssize) len, &error);
  g_assert_no_error (error);
}

static void
assert_private_file (Fixture    *fixture,
                     const char *name)
{
  g_autofree char *path = g_build_filename (fixture->dir, name, NULL);
  GStatBuf st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0600);
}

/* The state dir holds exactly @names: no temporary file is left behind. */
static void
assert_dir_holds (Fixture            *fixture,
                  const char * const *names)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) dir = g_dir_open (fixture->dir, 0, &error);
  g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  g_assert_no_error (error);
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (found, g_strdup (name));
  g_assert_cmpuint (found->len, ==, g_strv_length ((char **) names));
  for (guint i = 0; names[i] != NULL; i++)
    g_assert_true (g_ptr_array_find_with_equal_func (found, names[i], g_str_equal, NULL));
}

/* --- tests ---------------------------------------------------------------- */

static void
test_device_key (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *first = NULL;
  g_autofree char *again = NULL;
  g_autoptr(GBytes) spki = NULL;
  g_autoptr(GBytes) spki_again = NULL;
  g_autoptr(GBytes) stored = NULL;
  const guint8 digest[32] = { 0 };

  (void) data;
  g_assert_cmpint (lk_keystore_get_backend (fixture->keystore), ==, fixture->backend);
  g_assert_cmpstr (lk_keystore_get_algorithm (fixture->keystore), ==, "ES256");

  /* Nothing to use before the key exists. */
  g_assert_null (lk_keystore_get_jwk_thumbprint (fixture->keystore, &error));
  g_assert_error (error, LK_TPM_ERROR, LK_TPM_ERROR_NO_KEY);
  g_clear_error (&error);
  g_assert_null (lk_keystore_sign_digest (fixture->keystore, digest, sizeof digest,
                                          LK_TPM_SIGNATURE_DER, &error));
  g_assert_error (error, LK_TPM_ERROR, LK_TPM_ERROR_NO_KEY);
  g_clear_error (&error);

  ensure_key (fixture->keystore, TRUE);
  ensure_key (fixture->keystore, FALSE);
  first = thumbprint (fixture->keystore);
  spki = public_der (fixture->keystore);

  stored = read_item (fixture, FALSE);
  g_assert_nonnull (stored);
  switch (fixture->backend)
    {
    case LK_KEYSTORE_TPM2:
      g_assert_true (g_str_has_prefix (g_bytes_get_data (stored, NULL),
                                       "-----BEGIN TSS2 PRIVATE KEY-----\n"));
      break;
    case LK_KEYSTORE_SOFTWARE:
    case LK_KEYSTORE_SECRET_SERVICE:
      g_assert_true (g_str_has_prefix (g_bytes_get_data (stored, NULL),
                                       "-----BEGIN PRIVATE KEY-----\n"));
      break;
    }
  if (fixture->backend == LK_KEYSTORE_SECRET_SERVICE)
    {
      assert_dir_holds (fixture, (const char * const[]) { NULL });
    }
  else
    {
      assert_dir_holds (fixture, (const char * const[]) { "device-key.pem", NULL });
      assert_private_file (fixture, "device-key.pem");
    }

  /* The next start finds the same identity. */
  reopen (fixture);
  ensure_key (fixture->keystore, FALSE);
  again = thumbprint (fixture->keystore);
  g_assert_cmpstr (first, ==, again);
  spki_again = public_der (fixture->keystore);
  g_assert_true (g_bytes_equal (spki, spki_again));
}

static GBytes *
sign (LkKeystore           *keystore,
      const guint8          digest[32],
      LkTpmSignatureFormat  format)
{
  g_autoptr(GError) error = NULL;
  GBytes *signature = lk_keystore_sign_digest (keystore, digest, 32, format, &error);

  g_assert_no_error (error);
  g_assert_nonnull (signature);
  return signature;
}

static void
test_sign (Fixture       *fixture,
           gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) spki = NULL;
  g_autoptr(GBytes) der = NULL;
  g_autoptr(GBytes) raw = NULL;
  g_autoptr(GBytes) from_gnutls = NULL;
  gnutls_privkey_t privkey;
  guint8 digest[32];
  const gnutls_datum_t hash = { digest, sizeof digest };
  gnutls_datum_t signature;

  (void) data;
  ensure_key (fixture->keystore, TRUE);
  spki = public_der (fixture->keystore);
  g_assert_cmpint (gnutls_hash_fast (GNUTLS_DIG_SHA256, "latchkey", 8, digest), ==, 0);

  der = sign (fixture->keystore, digest, LK_TPM_SIGNATURE_DER);
  lk_test_assert_signature_valid (spki, digest, der, LK_TPM_SIGNATURE_DER);
  raw = sign (fixture->keystore, digest, LK_TPM_SIGNATURE_RAW);
  lk_test_assert_signature_valid (spki, digest, raw, LK_TPM_SIGNATURE_RAW);

  /* The same key through GnuTLS (CSRs, TLS). */
  privkey = lk_keystore_get_gnutls_privkey (fixture->keystore, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gnutls_privkey_sign_hash2 (privkey, GNUTLS_SIGN_ECDSA_SHA256, 0,
                                              &hash, &signature), ==, 0);
  gnutls_privkey_deinit (privkey);
  from_gnutls = g_bytes_new (signature.data, signature.size);
  gnutls_free (signature.data);
  lk_test_assert_signature_valid (spki, digest, from_gnutls, LK_TPM_SIGNATURE_DER);

  g_assert_null (lk_keystore_sign_digest (fixture->keystore, digest, 20,
                                          LK_TPM_SIGNATURE_DER, &error));
  g_assert_error (error, LK_TPM_ERROR, LK_TPM_ERROR_FAILED);
}

static void
test_jwk (Fixture       *fixture,
          gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) jwk = NULL;
  g_autoptr(GBytes) spki = NULL;
  g_autofree char *jkt = NULL;

  (void) data;
  ensure_key (fixture->keystore, TRUE);
  jwk = lk_keystore_get_jwk (fixture->keystore, &error);
  g_assert_no_error (error);
  spki = public_der (fixture->keystore);
  jkt = thumbprint (fixture->keystore);
  /* The TPM key's form exactly (tests/tpm/test-tpm-key.c checks the same). */
  lk_test_assert_jwk_matches (jwk, jkt, spki);
}

static void
test_seal (Fixture       *fixture,
           gconstpointer  data)
{
  const gsize sizes[] = { 0, 1, 100 * 1024 };
  g_autoptr(GPtrArray) secrets = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr(GPtrArray) blobs = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);

  (void) data;
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      GBytes *secret = lk_test_random_bytes (sizes[i]);
      GBytes *blob = seal (fixture->keystore, secret);
      g_autoptr(GBytes) again = seal (fixture->keystore, secret);

      /* A fresh nonce (and, for the TPM, key) every time. */
      g_assert_false (g_bytes_equal (blob, again));
      assert_unseals_to (fixture->keystore, blob, secret);
      assert_unseals_to (fixture->keystore, again, secret);
      g_ptr_array_add (secrets, secret);
      g_ptr_array_add (blobs, blob);
    }

  if (fixture->backend == LK_KEYSTORE_SOFTWARE)
    {
      assert_dir_holds (fixture, (const char * const[]) { "seal-key", NULL });
      assert_private_file (fixture, "seal-key");
    }
  if (fixture->backend == LK_KEYSTORE_SECRET_SERVICE)
    {
      g_autoptr(GBytes) seal_key = read_item (fixture, TRUE);

      g_assert_cmpuint (g_bytes_get_size (seal_key), ==, 32);
    }

  /* Blobs outlive the process that sealed them. */
  reopen (fixture);
  for (guint i = 0; i < blobs->len; i++)
    assert_unseals_to (fixture->keystore, blobs->pdata[i], secrets->pdata[i]);
}

/* The envelope's tail, whatever the backend: nonce, ciphertext, tag. */
typedef struct {
  gsize nonce_at;
  gsize ciphertext_at;
  gsize len;
} Layout;

static Layout
blob_layout (GBytes *blob,
             gsize   secret_len)
{
  Layout layout;

  layout.len = g_bytes_get_size (blob);
  layout.ciphertext_at = layout.len - 16 - secret_len;
  layout.nonce_at = layout.ciphertext_at - 12;
  return layout;
}

static void
test_tampered (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GBytes) secret = lk_test_random_bytes (100);
  g_autoptr(GBytes) blob = seal (fixture->keystore, secret);
  Layout layout = blob_layout (blob, 100);
  const guint8 *original = g_bytes_get_data (blob, NULL);
  const gsize flips[] = {
    0,                            /* magic */
    layout.nonce_at,              /* GCM nonce (associated data) */
    layout.ciphertext_at + 50,    /* ciphertext */
    layout.len - 1,               /* GCM tag */
  };
  const gsize lengths[] = {
    0, 3, 4, 5, 12, layout.nonce_at + 4, layout.ciphertext_at + 15, layout.len - 1,
  };
  g_autofree guint8 *copy = NULL;

  (void) data;
  for (guint i = 0; i < G_N_ELEMENTS (flips); i++)
    {
      g_autofree guint8 *flipped = g_memdup2 (original, layout.len);

      flipped[flips[i]] ^= 0x01;
      assert_unseal_fails (fixture->keystore, flipped, layout.len, LK_TPM_ERROR_BLOB_INVALID);
    }

  for (guint i = 0; i < G_N_ELEMENTS (lengths); i++)
    assert_unseal_fails (fixture->keystore, original, lengths[i], LK_TPM_ERROR_BLOB_INVALID);

  /* Every backend's version byte follows its 4-byte magic; none knows
   * version 255. */
  copy = g_memdup2 (original, layout.len);
  g_assert_cmpuint (copy[4], ==, 1);
  copy[4] = 0xff;
  assert_unseal_fails (fixture->keystore, copy, layout.len, LK_TPM_ERROR_BLOB_VERSION);

  /* The original still opens: nothing above changed any state. */
  assert_unseals_to (fixture->keystore, blob, secret);
}

static GBytes *
seal_elsewhere (LkKeystoreBackend  backend,
                GBytes            *secret)
{
  g_autofree char *dir = lk_test_make_tmp_dir ();
  g_autoptr(LkKeystore) keystore = open_keystore (backend, dir);
  GBytes *blob = seal (keystore, secret);

  g_clear_pointer (&keystore, lk_keystore_unref);
  lk_test_remove_tree (dir);
  return blob;
}

static void
test_other_keystore (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autoptr(GBytes) secret = lk_test_random_bytes (100);

  (void) data;
  for (guint other = 0; other < G_N_ELEMENTS (backend_names); other++)
    {
      g_autoptr(GBytes) blob = NULL;

      /* swtpm serves one connection, the fixture's. */
      if (other == fixture->backend || other == LK_KEYSTORE_TPM2)
        continue;
      blob = seal_elsewhere (other, secret);
      assert_unseal_fails (fixture->keystore, g_bytes_get_data (blob, NULL),
                           g_bytes_get_size (blob), LK_TPM_ERROR_WRONG_TPM);
    }

  if (fixture->backend != LK_KEYSTORE_TPM2)
    {
      g_autoptr(GBytes) tpm_blob = NULL;
      g_autoptr(GBytes) sibling_blob = seal_elsewhere (fixture->backend, secret);
      g_autoptr(GBytes) own_blob = NULL;

      /* A keystore of the same backend but another state dir: refused
       * before this one has a sealing key and after. */
      assert_unseal_fails (fixture->keystore, g_bytes_get_data (sibling_blob, NULL),
                           g_bytes_get_size (sibling_blob), LK_TPM_ERROR_WRONG_TPM);
      own_blob = seal (fixture->keystore, secret);
      assert_unseal_fails (fixture->keystore, g_bytes_get_data (sibling_blob, NULL),
                           g_bytes_get_size (sibling_blob), LK_TPM_ERROR_WRONG_TPM);

      g_clear_pointer (&fixture->keystore, lk_keystore_unref);
      tpm_blob = seal_elsewhere (LK_KEYSTORE_TPM2, secret);
      fixture->keystore = open_keystore (fixture->backend, fixture->dir);
      assert_unseal_fails (fixture->keystore, g_bytes_get_data (tpm_blob, NULL),
                           g_bytes_get_size (tpm_blob), LK_TPM_ERROR_WRONG_TPM);
      assert_unseals_to (fixture->keystore, own_blob, secret);
    }
}

static void
assert_open_fails (Fixture    *fixture,
                   gint        code,
                   const char *named)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LkKeystore) keystore = lk_keystore_open (fixture->backend, fixture->dir,
                                                     lk_test_tcti (), &error);

  g_assert_null (keystore);
  g_assert_error (error, LK_TPM_ERROR, code);
  g_assert_nonnull (strstr (error->message, named));
}

/* The damaged item is evidence: never rewritten or removed. */
static void
assert_item_untouched (Fixture      *fixture,
                       gboolean      seal_key,
                       const guint8 *contents,
                       gsize         len)
{
  g_autoptr(GBytes) after = read_item (fixture, seal_key);
  gsize after_len;
  const guint8 *after_data = g_bytes_get_data (after, &after_len);

  g_assert_cmpmem (after_data, after_len, contents, len);
}

static void
assert_key_refused (Fixture    *fixture,
                    const char *contents,
                    gint        code)
{
  g_autofree char *named = fixture->backend == LK_KEYSTORE_SECRET_SERVICE ?
    g_strdup_printf ("kind=device-key, instance=%s", fixture->dir) :
    item_path (fixture, FALSE);

  plant_item (fixture, FALSE, (const guint8 *) contents, strlen (contents));
  assert_open_fails (fixture, code, named);
  assert_item_untouched (fixture, FALSE, (const guint8 *) contents, strlen (contents));
}

/* A well-formed PKCS#8 key latchkey does not use. */
static char *
foreign_key_pem (gnutls_pk_algorithm_t algorithm,
                 unsigned int          bits)
{
  gnutls_x509_privkey_t key;
  gnutls_datum_t pem;
  char *text;

  g_assert_cmpint (gnutls_x509_privkey_init (&key), ==, 0);
  g_assert_cmpint (gnutls_x509_privkey_generate (key, algorithm, bits, 0), ==, 0);
  g_assert_cmpint (gnutls_x509_privkey_export2_pkcs8 (key, GNUTLS_X509_FMT_PEM, NULL,
                                                      GNUTLS_PKCS_PLAIN, &pem), ==, 0);
  text = g_strndup ((const char *) pem.data, pem.size);
  gnutls_free (pem.data);
  gnutls_x509_privkey_deinit (key);
  return text;
}

static void
test_corrupt_key (Fixture       *fixture,
                  gconstpointer  data)
{
  const char *label = fixture->backend == LK_KEYSTORE_TPM2 ? "TSS2 PRIVATE KEY" : "PRIVATE KEY";
  g_autoptr(GBytes) good = NULL;
  g_autofree char *good_text = NULL;
  g_autofree char *half = NULL;
  g_autofree char *damaged = NULL;
  g_autoptr(GError) error = NULL;
  gnutls_datum_t pem, der;

  (void) data;
  ensure_key (fixture->keystore, TRUE);
  good = read_item (fixture, FALSE);
  good_text = g_strndup (g_bytes_get_data (good, NULL), g_bytes_get_size (good));
  half = g_strndup (good_text, strlen (good_text) / 2);
  pem = (gnutls_datum_t) { (unsigned char *) good_text, (unsigned) strlen (good_text) };
  g_assert_cmpint (gnutls_pem_base64_decode2 (label, &pem, &der), ==, 0);
  /* Near the end: the wrapped private area of a TPM key, which the TPM
   * then refuses as another TPM's; the public point of a PKCS#8 key. */
  der.data[der.size - 5] ^= 0x40;
  damaged = lk_test_pem_wrap (label, der.data, der.size);
  gnutls_free (der.data);
  g_clear_pointer (&fixture->keystore, lk_keystore_unref);

  assert_key_refused (fixture, "not a key\n", LK_TPM_ERROR_KEY_FILE_CORRUPT);
  assert_key_refused (fixture, half, LK_TPM_ERROR_KEY_FILE_CORRUPT);
  assert_key_refused (fixture, damaged, fixture->backend == LK_KEYSTORE_TPM2 ?
                              LK_TPM_ERROR_WRONG_TPM : LK_TPM_ERROR_KEY_FILE_CORRUPT);
  if (fixture->backend == LK_KEYSTORE_TPM2)
    {
      /* The software keystore's key, in a state dir that changed keystore. */
      g_autofree char *software =
        foreign_key_pem (GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1));

      assert_key_refused (fixture, software, LK_TPM_ERROR_KEY_UNSUPPORTED);
    }
  else
    {
      g_autofree char *rsa = foreign_key_pem (GNUTLS_PK_RSA, 2048);
      g_autofree char *p384 =
        foreign_key_pem (GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP384R1));
      g_autofree char *tpm = lk_test_pem_wrap ("TSS2 PRIVATE KEY", (const guint8 *) "tpm", 3);

      assert_key_refused (fixture, rsa, LK_TPM_ERROR_KEY_UNSUPPORTED);
      assert_key_refused (fixture, p384, LK_TPM_ERROR_KEY_UNSUPPORTED);
      assert_key_refused (fixture, tpm, LK_TPM_ERROR_KEY_UNSUPPORTED);
    }

  /* A key that appears after the keystore was opened is not overwritten
   * either. */
  if (fixture->backend == LK_KEYSTORE_SECRET_SERVICE)
    {
      const char *argv[] = {
        "secret-tool", "clear", "kind", "device-key", "instance", fixture->dir, NULL
      };

      g_free (secret_tool (argv, NULL));
    }
  else
    {
      g_autofree char *path = item_path (fixture, FALSE);

      g_assert_cmpint (g_unlink (path), ==, 0);
    }
  fixture->keystore = open_keystore (fixture->backend, fixture->dir);
  plant_item (fixture, FALSE, (const guint8 *) half, strlen (half));
  g_assert_false (lk_keystore_ensure_device_key (fixture->keystore, NULL, &error));
  g_assert_error (error, LK_TPM_ERROR, LK_TPM_ERROR_KEY_FILE_CORRUPT);
  assert_item_untouched (fixture, FALSE, (const guint8 *) half, strlen (half));
}

static void
test_corrupt_seal_key (Fixture       *fixture,
                       gconstpointer  data)
{
  const guint8 short_key[5] = { 1, 2, 3, 4, 5 };
  g_autoptr(GBytes) secret = lk_test_random_bytes (10);
  g_autoptr(GBytes) blob = NULL;
  g_autoptr(GError) error = NULL;

  (void) data;
  plant_item (fixture, TRUE, short_key, sizeof short_key);
  blob = lk_keystore_seal (fixture->keystore, secret, &error);
  g_assert_null (blob);
  g_assert_error (error, LK_TPM_ERROR, LK_TPM_ERROR_KEY_FILE_CORRUPT);
  g_assert_nonnull (strstr (error->message, fixture->dir));
  assert_item_untouched (fixture, TRUE, short_key, sizeof short_key);
}

static void
assert_set_pcrs_fails (LkKeystore   *keystore,
                       const guint8 *pcrs,
                       gsize         n_pcrs,
                       const char   *reason)
{
  g_autoptr(GError) error = NULL;

  g_assert_false (lk_keystore_set_seal_pcrs (keystore, pcrs, n_pcrs, &error));
  g_assert_error (error, LK_TPM_ERROR, LK_TPM_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, reason));
}

/* swtpm serves one connection at a time: the keystore is closed while
 * tpm2-tools run. */
static void
pcr_tool_then_reopen (Fixture            *fixture,
                      const char * const *argv)
{
  g_clear_pointer (&fixture->keystore, lk_keystore_unref);
  g_free (lk_test_tpm_tool_ok (argv));
  fixture->keystore = open_keystore (fixture->backend, fixture->dir);
}

static void
test_seal_pcrs (Fixture       *fixture,
                gconstpointer  data)
{
  static const guint8 boot[] = { 7, 16 };
  static const guint8 pcr24[] = { 24 };
  const char *extend[] = { "tpm2_pcrextend", LK_TEST_PCR16_EXTEND, NULL };
  const char *reset[] = { "tpm2_pcrreset", "16", NULL };
  g_autoptr(GBytes) secret = lk_test_random_bytes (64);
  g_autoptr(GBytes) plain = NULL;
  g_autoptr(GBytes) bound = NULL;
  g_autoptr(GBytes) unbound = NULL;
  g_autoptr(GError) error = NULL;

  (void) data;
  /* Off by default, and "off" is something every backend can be. */
  g_assert_true (lk_keystore_set_seal_pcrs (fixture->keystore, NULL, 0, &error));
  g_assert_no_error (error);
  assert_set_pcrs_fails (fixture->keystore, pcr24, G_N_ELEMENTS (pcr24), "PCR 24");
  plain = seal (fixture->keystore, secret);

  if (fixture->backend != LK_KEYSTORE_TPM2)
    {
      assert_set_pcrs_fails (fixture->keystore, boot, G_N_ELEMENTS (boot),
                             backend_names[fixture->backend]);
      /* Refused, and nothing changed. */
      assert_unseals_to (fixture->keystore, plain, secret);
      unbound = seal (fixture->keystore, secret);
      assert_unseals_to (fixture->keystore, unbound, secret);
      return;
    }

  g_assert_true (lk_keystore_set_seal_pcrs (fixture->keystore, boot, G_N_ELEMENTS (boot),
                                            &error));
  g_assert_no_error (error);
  bound = seal (fixture->keystore, secret);
  g_assert_cmpuint (((const guint8 *) g_bytes_get_data (bound, NULL))[4], ==, 2);
  assert_unseals_to (fixture->keystore, bound, secret);
  g_assert_true (lk_keystore_set_seal_pcrs (fixture->keystore, NULL, 0, &error));
  unbound = seal (fixture->keystore, secret);
  g_assert_cmpuint (((const guint8 *) g_bytes_get_data (unbound, NULL))[4], ==, 1);

  /* Another boot chain: only the bound blob stays shut. */
  pcr_tool_then_reopen (fixture, extend);
  assert_unseal_fails (fixture->keystore, g_bytes_get_data (bound, NULL),
                       g_bytes_get_size (bound), LK_TPM_ERROR_POLICY);
  assert_unseals_to (fixture->keystore, plain, secret);
  assert_unseals_to (fixture->keystore, unbound, secret);

  pcr_tool_then_reopen (fixture, reset);
  assert_unseals_to (fixture->keystore, bound, secret);
}

typedef struct {
  LkKeystore *keystore;
  GBytes *spki;
} ThreadData;

static gpointer
use_in_thread (gpointer user_data)
{
  ThreadData *data = user_data;
  g_autoptr(GBytes) secret = lk_test_random_bytes (64);
  guint8 digest[32] = { 0x4c };

  for (guint i = 0; i < 10; i++)
    {
      g_autoptr(GBytes) signature = sign (data->keystore, digest, LK_TPM_SIGNATURE_DER);
      g_autoptr(GBytes) blob = seal (data->keystore, secret);

      lk_test_assert_signature_valid (data->spki, digest, signature, LK_TPM_SIGNATURE_DER);
      assert_unseals_to (data->keystore, blob, secret);
    }
  return NULL;
}

static void
test_threads (Fixture       *fixture,
              gconstpointer  data)
{
  g_autoptr(GBytes) spki = NULL;
  ThreadData thread_data;
  GThread *threads[4];

  (void) data;
  ensure_key (fixture->keystore, TRUE);
  spki = public_der (fixture->keystore);
  thread_data = (ThreadData) { fixture->keystore, spki };
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("keystore-user", use_in_thread, &thread_data);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    g_thread_join (threads[i]);
}

/* --- secret-service only ----------------------------------------------- */

static void
test_keyring_items (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autofree char *other_dir = lk_test_make_tmp_dir ();
  g_autoptr(LkKeystore) other = open_keystore (LK_KEYSTORE_SECRET_SERVICE, other_dir);
  g_autoptr(GBytes) secret = lk_test_random_bytes (10);
  g_autoptr(GBytes) blob = NULL;
  g_autofree char *mine = NULL;
  g_autofree char *theirs = NULL;
  g_autofree char *items = NULL;
  const char *argv[] = { "secret-tool", "search", "--all", "instance", fixture->dir, NULL };

  (void) data;
  ensure_key (fixture->keystore, TRUE);
  blob = seal (fixture->keystore, secret);
  items = secret_tool (argv, NULL);
  g_assert_cmpuint (count_matches (items, "attribute.instance = "), ==, 2);
  g_assert_cmpuint (count_matches (items, "attribute.kind = device-key"), ==, 1);
  g_assert_cmpuint (count_matches (items, "attribute.kind = seal-key"), ==, 1);
  g_assert_cmpuint (count_matches (items, "schema = " SCHEMA_NAME), ==, 2);

  /* Two daemons of one user keep apart. */
  ensure_key (other, TRUE);
  mine = thumbprint (fixture->keystore);
  theirs = thumbprint (other);
  g_assert_cmpstr (mine, !=, theirs);
  g_clear_pointer (&other, lk_keystore_unref);
  lk_test_remove_tree (other_dir);
}

static void
test_keyring_unreachable (void)
{
  if (g_test_subprocess ())
    {
      g_autofree char *nowhere = g_build_filename (g_getenv ("LATCHKEY_TEST_DIR"),
                                                   "no-session-bus", NULL);
      g_autofree char *address = g_strconcat ("unix:path=", nowhere, NULL);
      g_autofree char *dir = lk_test_make_tmp_dir ();
      g_autoptr(GError) error = NULL;
      g_autoptr(LkKeystore) keystore = NULL;

      g_setenv ("DBUS_SESSION_BUS_ADDRESS", address, TRUE);
      keystore = lk_keystore_open (LK_KEYSTORE_SECRET_SERVICE, dir, NULL, &error);
      g_assert_null (keystore);
      g_assert_error (error, LK_TPM_ERROR, LK_TPM_ERROR_KEYRING);
      g_assert_nonnull (strstr (error->message, "Secret Service"));
      lk_test_remove_tree (dir);
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

static void
lock_default_keyring (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SecretService) service = NULL;
  g_autoptr(SecretCollection) collection = NULL;
  GList objects = { 0 };

  service = secret_service_get_sync (SECRET_SERVICE_NONE, NULL, &error);
  g_assert_no_error (error);
  collection = secret_collection_for_alias_sync (service, SECRET_COLLECTION_DEFAULT,
                                                 SECRET_COLLECTION_NONE, NULL, &error);
  g_assert_no_error (error);
  objects.data = collection;
  g_assert_cmpint (secret_service_lock_sync (service, &objects, NULL, NULL, &error), ==, 1);
  g_assert_no_error (error);
}

static void
test_keyring_locked (void)
{
  if (g_test_subprocess ())
    {
      /* A keyring of its own: the others' must stay unlocked. */
      KeyringPeer *peer = keyring_peer_start ("keyring-locked");
      g_autofree char *dir = lk_test_make_tmp_dir ();
      g_autofree char *new_dir = lk_test_make_tmp_dir ();
      g_autoptr(LkKeystore) keystore = open_keystore (LK_KEYSTORE_SECRET_SERVICE, dir);
      g_autoptr(LkKeystore) fresh = NULL;
      g_autoptr(GError) error = NULL;

      ensure_key (keystore, TRUE);
      g_clear_pointer (&keystore, lk_keystore_unref);
      lock_default_keyring ();

      /* An existing key is found, and said to be locked. */
      keystore = lk_keystore_open (LK_KEYSTORE_SECRET_SERVICE, dir, NULL, &error);
      g_assert_null (keystore);
      g_assert_error (error, LK_TPM_ERROR, LK_TPM_ERROR_KEYRING);
      g_assert_nonnull (strstr (error->message, "locked"));
      g_clear_error (&error);

      /* A new one cannot be stored. */
      fresh = open_keystore (LK_KEYSTORE_SECRET_SERVICE, new_dir);
      g_assert_false (lk_keystore_ensure_device_key (fresh, NULL, &error));
      g_assert_error (error, LK_TPM_ERROR, LK_TPM_ERROR_KEYRING);
      g_assert_nonnull (strstr (error->message, "locked"));

      g_clear_pointer (&fresh, lk_keystore_unref);
      keyring_peer_stop (peer);
      lk_test_remove_tree (dir);
      lk_test_remove_tree (new_dir);
      /* libsecret 0.20.5 leaks a little when a locked keyring refuses it
       * (its unlock and store error paths), which nothing we hold can
       * free: this child alone ends without the sanitizers' leak check. */
      _exit (0);
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

int
main (int argc, char **argv)
{
  g_autoptr(KeyringPeer) keyring = NULL;

  lk_test_init (&argc, &argv);
  /* Subprocess tests bring their own session bus, or none. */
  if (!g_test_subprocess ())
    keyring = keyring_peer_start ("keyring");

  for (LkKeystoreBackend backend = 0; backend < G_N_ELEMENTS (backend_names); backend++)
    {
#define ADD(name, func) \
      G_STMT_START { \
        g_autofree char *path = g_strdup_printf ("/keystore/%s/%s", backend_names[backend], name); \
        g_test_add (path, Fixture, GINT_TO_POINTER (backend), fixture_set_up, func, \
                    fixture_tear_down); \
      } G_STMT_END
      ADD ("device-key", test_device_key);
      ADD ("sign", test_sign);
      ADD ("jwk", test_jwk);
      ADD ("seal", test_seal);
      ADD ("seal-pcrs", test_seal_pcrs);
      ADD ("tampered", test_tampered);
      ADD ("other-keystore", test_other_keystore);
      ADD ("corrupt-key", test_corrupt_key);
      if (backend != LK_KEYSTORE_TPM2)
        ADD ("corrupt-seal-key", test_corrupt_seal_key);
      ADD ("threads", test_threads);
    }
  g_test_add ("/keystore/secret-service/items", Fixture,
              GINT_TO_POINTER (LK_KEYSTORE_SECRET_SERVICE), fixture_set_up,
              test_keyring_items, fixture_tear_down);
#undef ADD
  g_test_add_func ("/keystore/secret-service/unreachable", test_keyring_unreachable);
  g_test_add_func ("/keystore/secret-service/locked", test_keyring_locked);

  return g_test_run ();
}
