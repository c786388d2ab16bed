/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "tests/tpm/tpm-test-util.h"
#include "tpm/key.h"

typedef struct {
  LkTpmContext *ctx;
  char *dir;
  char *path;
} Fixture;

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  (void) data;
  fixture->ctx = lk_tpm_context_new (lk_test_tcti (), &error);
  g_assert_no_error (error);
  fixture->dir = lk_test_make_tmp_dir ();
  fixture->path = g_build_filename (fixture->dir, "device-key.pem", NULL);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  (void) data;
  g_clear_pointer (&fixture->ctx, lk_tpm_context_unref);
  lk_test_remove_tree (fixture->dir);
  g_free (fixture->dir);
  g_free (fixture->path);
}

static LkTpmKey *
create_saved_key (Fixture *fixture)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LkTpmKey) key = lk_tpm_key_create (fixture->ctx, &error);

  g_assert_no_error (error);
  g_assert_true (lk_tpm_key_save (key, fixture->path, &error));
  g_assert_no_error (error);
  return g_steal_pointer (&key);
}

static void
sha256 (const char *text,
        guint8      digest[32])
{
  g_assert_cmpint (gnutls_hash_fast (GNUTLS_DIG_SHA256, text, strlen (text), digest), ==, 0);
}

static void
assert_signature_valid (LkTpmKey             *key,
                        const guint8          digest[32],
                        GBytes               *signature,
                        LkTpmSignatureFormat  format)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) spki = lk_tpm_key_get_public_der (key, &error);

  g_assert_no_error (error);
  lk_test_assert_signature_valid (spki, digest, signature, format);
}

static void
test_round_trip (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LkTpmKey) key = create_saved_key (fixture);
  g_autoptr(LkTpmKey) loaded = NULL;
  g_autofree char *pem = lk_tpm_key_get_public_pem (key, &error);
  g_autofree char *thumbprint = lk_tpm_key_get_jwk_thumbprint (key, &error);
  g_autofree char *loaded_pem = NULL;
  g_autofree char *loaded_thumbprint = NULL;
  g_autofree char *contents = NULL;
  g_autoptr(GDir) dir = NULL;
  GStatBuf st;
  guint64 before;

  (void) data;
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (pem, "-----BEGIN PUBLIC KEY-----"));

  g_assert_cmpint (g_stat (fixture->path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_file_get_contents (fixture->path, &contents, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (contents, "-----BEGIN TSS2 PRIVATE KEY-----\n"));
  /* No temporary file is left behind. */
  dir = g_dir_open (fixture->dir, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_dir_read_name (dir), ==, "device-key.pem");
  g_assert_null (g_dir_read_name (dir));

  /* swtpm serves one connection at a time. */
  g_clear_pointer (&key, lk_tpm_key_unref);
  g_clear_pointer (&fixture->ctx, lk_tpm_context_unref);
  fixture->ctx = lk_tpm_context_new (lk_test_tcti (), &error);
  g_assert_no_error (error);

  /* An existing identity starts with SRK open + read + key load. */
  before = lk_tpm_context_get_command_count (fixture->ctx);
  loaded = lk_tpm_key_load (fixture->ctx, fixture->path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (lk_tpm_context_get_command_count (fixture->ctx) - before, <=, 4);

  loaded_pem = lk_tpm_key_get_public_pem (loaded, &error);
  loaded_thumbprint = lk_tpm_key_get_jwk_thumbprint (loaded, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (pem, ==, loaded_pem);
  g_assert_cmpstr (thumbprint, ==, loaded_thumbprint);
}

static void
test_sign (Fixture       *fixture,
           gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LkTpmKey) key = create_saved_key (fixture);
  g_autoptr(GBytes) der = NULL;
  g_autoptr(GBytes) raw = NULL;
  guint8 digest[32];
  guint64 before;

  (void) data;
  sha256 ("latchkey", digest);

  before = lk_tpm_context_get_command_count (fixture->ctx);
  der = lk_tpm_key_sign_digest (key, digest, sizeof digest, LK_TPM_SIGNATURE_DER, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (lk_tpm_context_get_command_count (fixture->ctx) - before, ==, 1);
  assert_signature_valid (key, digest, der, LK_TPM_SIGNATURE_DER);

  /* JWS form: fixed-size r || s. */
  raw = lk_tpm_key_sign_digest (key, digest, sizeof digest, LK_TPM_SIGNATURE_RAW, &error);
  g_assert_no_error (error);
  assert_signature_valid (key, digest, raw, LK_TPM_SIGNATURE_RAW);

  g_assert_null (lk_tpm_key_sign_digest (key, digest, 20, LK_TPM_SIGNATURE_DER, &error));
  g_assert_error (error, LK_TPM_ERROR, LK_TPM_ERROR_FAILED);
}

static void
test_jwk (Fixture       *fixture,
          gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LkTpmKey) key = create_saved_key (fixture);
  g_autoptr(JsonObject) jwk = lk_tpm_key_get_jwk (key);
  g_autoptr(GBytes) spki = lk_tpm_key_get_public_der (key, &error);
  g_autofree char *thumbprint = lk_tpm_key_get_jwk_thumbprint (key, &error);

  (void) data;
  g_assert_no_error (error);
  lk_test_assert_jwk_matches (jwk, thumbprint, spki);
}

static void
assert_load_fails (Fixture    *fixture,
                   const char *contents,
                   gssize      length,
                   gint        code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LkTpmKey) key = NULL;
  g_autofree char *after = NULL;
  gsize after_len = 0;
  gsize len = length < 0 ? strlen (contents) : (gsize) length;

  g_file_set_contents (fixture->path, contents, (gssize) len, &error);
  g_assert_no_error (error);

  key = lk_tpm_key_load (fixture->ctx, fixture->path, &error);
  g_assert_null (key);
  g_assert_error (error, LK_TPM_ERROR, code);
  g_assert_nonnull (strstr (error->message, fixture->path));

  /* The damaged file is evidence: never rewritten or removed. */
  g_file_get_contents (fixture->path, &after, &after_len, NULL);
  g_assert_cmpmem (after, after_len, contents, len);
}

static void
test_corrupt (Fixture       *fixture,
              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *good = NULL;
  g_autofree char *truncated_der = NULL;
  g_autofree char *bad_area = NULL;
  gnutls_datum_t pem, der;
  gsize good_len;

  (void) data;
  lk_tpm_key_unref (create_saved_key (fixture));
  g_file_get_contents (fixture->path, &good, &good_len, &error);
  g_assert_no_error (error);
  pem = (gnutls_datum_t) { (unsigned char *) good, (unsigned) good_len };
  g_assert_cmpint (gnutls_pem_base64_decode2 ("TSS2 PRIVATE KEY", &pem, &der), ==, 0);

  truncated_der = lk_test_pem_wrap ("TSS2 PRIVATE KEY", der.data, der.size - 7);
  /* The TPM2B size of the public area: SEQUENCE header (3), type OID (8),
   * emptyAuth (5), parent (7), pubkey OCTET STRING header (2). */
  g_assert_cmpuint (der.data[23], ==, 0x04);
  der.data[25] ^= 0x40;
  bad_area = lk_test_pem_wrap ("TSS2 PRIVATE KEY", der.data, der.size);
  gnutls_free (der.data);

  assert_load_fails (fixture, "", 0, LK_TPM_ERROR_KEY_FILE_CORRUPT);
  assert_load_fails (fixture, "not a key\n", -1, LK_TPM_ERROR_KEY_FILE_CORRUPT);
  assert_load_fails (fixture, good, (gssize) good_len / 2, LK_TPM_ERROR_KEY_FILE_CORRUPT);
  assert_load_fails (fixture,
                     "-----BEGIN TSS2 PRIVATE KEY-----\n@@@@\n-----END TSS2 PRIVATE KEY-----\n",
                     -1, LK_TPM_ERROR_KEY_FILE_CORRUPT);
  assert_load_fails (fixture, truncated_der, -1, LK_TPM_ERROR_KEY_FILE_CORRUPT);
  assert_load_fails (fixture, bad_area, -1, LK_TPM_ERROR_KEY_FILE_CORRUPT);

  g_assert_null (lk_tpm_key_load (fixture->ctx, "/nonexistent/key.pem", &error));
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
}

static void
test_other_tpm (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LkTestSwtpm) other = lk_test_swtpm_new ();
  g_autoptr(LkTpmKey) key = NULL;

  (void) data;
  {
    g_autoptr(LkTpmContext) other_ctx = lk_tpm_context_new (lk_test_swtpm_get_tcti (other), &error);
    g_autoptr(LkTpmKey) foreign = NULL;

    g_assert_no_error (error);
    foreign = lk_tpm_key_create (other_ctx, &error);
    g_assert_no_error (error);
    g_assert_true (lk_tpm_key_save (foreign, fixture->path, &error));
    g_assert_no_error (error);
  }

  key = lk_tpm_key_load (fixture->ctx, fixture->path, &error);
  g_assert_null (key);
  g_assert_error (error, LK_TPM_ERROR, LK_TPM_ERROR_WRONG_TPM);
  g_assert_nonnull (strstr (error->message, fixture->path));
}

static void
test_lost_connection (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LkTpmKey) key = create_saved_key (fixture);
  g_autoptr(GBytes) signature = NULL;
  guint8 digest[32];

  (void) data;
  sha256 ("before", digest);
  signature = lk_tpm_key_sign_digest (key, digest, 32, LK_TPM_SIGNATURE_DER, &error);
  g_assert_no_error (error);
  g_clear_pointer (&signature, g_bytes_unref);

  /* Crash in the middle of use: the failing call names the TCTI. */
  lk_test_swtpm_kill ();
  signature = lk_tpm_key_sign_digest (key, digest, 32, LK_TPM_SIGNATURE_DER, &error);
  g_assert_null (signature);
  g_assert_error (error, LK_TPM_ERROR, LK_TPM_ERROR_UNREACHABLE);
  g_assert_nonnull (strstr (error->message, lk_test_tcti ()));
  g_clear_error (&error);

  /* While it is down, every call fails cleanly. */
  signature = lk_tpm_key_sign_digest (key, digest, 32, LK_TPM_SIGNATURE_DER, &error);
  g_assert_error (error, LK_TPM_ERROR, LK_TPM_ERROR_UNREACHABLE);
  g_clear_error (&error);

  /* Back up (transient objects gone): the next call reconnects and
   * reloads the key. */
  lk_test_swtpm_restart ();
  signature = lk_tpm_key_sign_digest (key, digest, 32, LK_TPM_SIGNATURE_DER, &error);
  g_assert_no_error (error);
  assert_signature_valid (key, digest, signature, LK_TPM_SIGNATURE_DER);
}

typedef struct {
  LkTpmKey *key;
  guint signatures;
} ThreadData;

static gpointer
sign_in_thread (gpointer user_data)
{
  ThreadData *data = user_data;
  guint8 digest[32];

  sha256 ("threads", digest);
  for (guint i = 0; i < data->signatures; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) signature = lk_tpm_key_sign_digest (data->key, digest, 32,
                                                            LK_TPM_SIGNATURE_DER, &error);
      g_assert_no_error (error);
      g_assert_nonnull (signature);
    }
  return NULL;
}

static void
test_threads (Fixture       *fixture,
              gconstpointer  data)
{
  g_autoptr(LkTpmKey) key = create_saved_key (fixture);
  ThreadData thread_data = { key, 10 };
  GThread *threads[4];
  guint64 before;

  (void) data;
  before = lk_tpm_context_get_command_count (fixture->ctx);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("signer", sign_in_thread, &thread_data);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    g_thread_join (threads[i]);
  g_assert_cmpuint (lk_tpm_context_get_command_count (fixture->ctx) - before, ==,
                    G_N_ELEMENTS (threads) * thread_data.signatures);
}

static void
test_flush (Fixture       *fixture,
            gconstpointer  data)
{
  (void) data;
  lk_tpm_key_unref (create_saved_key (fixture));
  /* swtpm has no resource manager and only three object slots: a key that
   * was not flushed on unref would make the fourth load fail. */
  for (guint i = 0; i < 8; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(LkTpmKey) key = lk_tpm_key_load (fixture->ctx, fixture->path, &error);

      g_assert_no_error (error);
      g_assert_nonnull (key);
    }
}

/*
 * Keys stay loaded between uses, but the TPM has room for three objects,
 * one of which a Load under the persistent SRK takes for itself: a third
 * key, and the objects sealing loads, need the room of resident keys,
 * which are loaded again when they are next used.
 */
static void
test_room (Fixture       *fixture,
           gconstpointer  data)
{
  g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func ((GDestroyNotify) lk_tpm_key_unref);
  g_autoptr(GBytes) secret = lk_test_random_bytes (48);
  g_autoptr(GBytes) blob = NULL;
  guint8 digest[32];

  (void) data;
  sha256 ("room", digest);
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(GError) error = NULL;

      g_ptr_array_add (keys, lk_tpm_key_create (fixture->ctx, &error));
      g_assert_no_error (error);
    }
  for (guint round = 0; round < 2; round++)
    {
      for (guint i = 0; i < keys->len; i++)
        {
          g_autoptr(GError) error = NULL;
          g_autoptr(GBytes) signature = NULL;
          guint64 before;

          signature = lk_tpm_key_sign_digest (keys->pdata[i], digest, sizeof digest, LK_TPM_SIGNATURE_DER, &error);
          g_assert_no_error (error);
          assert_signature_valid (keys->pdata[i], digest, signature, LK_TPM_SIGNATURE_DER);
          /* A key just used is still loaded. */
          g_clear_pointer (&signature, g_bytes_unref);
          before = lk_tpm_context_get_command_count (fixture->ctx);
          signature = lk_tpm_key_sign_digest (keys->pdata[i], digest, sizeof digest, LK_TPM_SIGNATURE_DER, &error);
          g_assert_no_error (error);
          g_assert_cmpuint (lk_tpm_context_get_command_count (fixture->ctx) - before, ==, 1);
        }
      blob = lk_test_seal (fixture->ctx, secret, 0);
      lk_test_assert_unseals_to (fixture->ctx, blob, secret);
      g_clear_pointer (&blob, g_bytes_unref);
    }
}

static void
test_openssl_interop (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LkTpmKey) key = create_saved_key (fixture);
  g_autofree char *pem = lk_tpm_key_get_public_pem (key, &error);
  const char *argv[] = {
    "openssl", "pkey", "-provider", "tpm2", "-provider", "default",
    "-in", fixture->path, "-pubout", NULL
  };
  g_autofree char *out = NULL;

  (void) data;
  g_assert_no_error (error);
  g_clear_pointer (&key, lk_tpm_key_unref);
  g_clear_pointer (&fixture->ctx, lk_tpm_context_unref);

  out = lk_test_tpm_tool (argv, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (out, ==, pem);
}

int
main (int argc, char **argv)
{
  lk_test_init (&argc, &argv);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/tpm/key/round-trip", test_round_trip);
  ADD ("/tpm/key/sign", test_sign);
  ADD ("/tpm/key/jwk", test_jwk);
  ADD ("/tpm/key/corrupt-file", test_corrupt);
  ADD ("/tpm/key/other-tpm", test_other_tpm);
  ADD ("/tpm/key/lost-connection", test_lost_connection);
  ADD ("/tpm/key/threads", test_threads);
  ADD ("/tpm/key/flush", test_flush);
  ADD ("/tpm/key/room", test_room);
  ADD ("/tpm/key/openssl-interop", test_openssl_interop);
#undef ADD

  return g_test_run ();
}
