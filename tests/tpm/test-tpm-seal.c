/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <tss2/tss2_mu.h>

#include "tests/tpm/tpm-test-util.h"
#include "tpm/seal.h"

typedef struct {
  LkTpmContext *ctx;
} Fixture;

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  (void) data;
  fixture->ctx = lk_tpm_context_new (lk_test_tcti (), &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  (void) data;
  g_clear_pointer (&fixture->ctx, lk_tpm_context_unref);
}

static GBytes *
seal (Fixture *fixture,
      GBytes  *secret)
{
  g_autoptr(GError) error = NULL;
  GBytes *blob = lk_tpm_seal (fixture->ctx, secret, &error);

  g_assert_no_error (error);
  return blob;
}

static void
assert_unseal_fails (Fixture      *fixture,
                     const guint8 *data,
                     gsize         len,
                     gint          code)
{
  g_autoptr(GBytes) blob = g_bytes_new (data, len);
  g_autoptr(GBytes) secret = NULL;
  g_autoptr(GError) error = NULL;

  secret = lk_tpm_unseal (fixture->ctx, blob, &error);
  g_assert_null (secret);
  g_assert_error (error, LK_TPM_ERROR, code);
}

static void
test_round_trip (Fixture       *fixture,
                 gconstpointer  data)
{
  const gsize sizes[] = { 0, 1, 32, 128, 129, 4096, 1024 * 1024 };

  (void) data;
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autoptr(GBytes) secret = lk_test_random_bytes (sizes[i]);
      g_autoptr(GBytes) blob = seal (fixture, secret);
      g_autoptr(GBytes) again = seal (fixture, secret);
      g_autoptr(GBytes) unsealed = NULL;
      g_autoptr(GError) error = NULL;

      /* A fresh key and nonce every time. */
      g_assert_false (g_bytes_equal (blob, again));

      unsealed = lk_tpm_unseal (fixture->ctx, blob, &error);
      g_assert_no_error (error);
      g_assert_true (g_bytes_equal (secret, unsealed));
    }
}

static void
test_command_count (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(GBytes) secret = lk_test_random_bytes (64);
  g_autoptr(GBytes) blob = seal (fixture, secret);
  g_autoptr(GError) error = NULL;
  guint64 before;

  (void) data;
  /* No leaked object or session may pile up on a TPM without a resource
   * manager: 20 rounds are far beyond its slots. */
  for (guint i = 0; i < 20; i++)
    {
      g_autoptr(GBytes) sealed = NULL;
      g_autoptr(GBytes) unsealed = NULL;

      before = lk_tpm_context_get_command_count (fixture->ctx);
      sealed = lk_tpm_seal (fixture->ctx, secret, &error);
      g_assert_no_error (error);
      /* StartAuthSession + Create. */
      g_assert_cmpuint (lk_tpm_context_get_command_count (fixture->ctx) - before, ==, 2);

      before = lk_tpm_context_get_command_count (fixture->ctx);
      unsealed = lk_tpm_unseal (fixture->ctx, blob, &error);
      g_assert_no_error (error);
      /* Load + StartAuthSession + Unseal + FlushContext. */
      g_assert_cmpuint (lk_tpm_context_get_command_count (fixture->ctx) - before, ==, 4);
      g_assert_true (g_bytes_equal (secret, unsealed));
    }
}

typedef struct {
  gsize public_at;
  gsize private_at;
  gsize nonce_at;
  gsize ciphertext_at;
} Layout;

static Layout
blob_layout (GBytes *blob)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (blob, &len);
  size_t offset = 5;
  /* tss2-mu refuses to unmarshal into a non-empty TPM2B. */
  TPM2B_NAME name = { 0 };
  TPM2B_PUBLIC pub = { 0 };
  TPM2B_PRIVATE priv = { 0 };
  Layout layout;

  g_assert_cmpint (Tss2_MU_TPM2B_NAME_Unmarshal (data, len, &offset, &name), ==, 0);
  layout.public_at = offset;
  g_assert_cmpint (Tss2_MU_TPM2B_PUBLIC_Unmarshal (data, len, &offset, &pub), ==, 0);
  layout.private_at = offset;
  g_assert_cmpint (Tss2_MU_TPM2B_PRIVATE_Unmarshal (data, len, &offset, &priv), ==, 0);
  layout.nonce_at = offset;
  layout.ciphertext_at = offset + 12;
  return layout;
}

static void
test_tampered (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GBytes) secret = lk_test_random_bytes (100);
  g_autoptr(GBytes) blob = seal (fixture, secret);
  Layout layout = blob_layout (blob);
  gsize len;
  const guint8 *original = g_bytes_get_data (blob, &len);
  const gsize positions[] = {
    0,                            /* magic */
    layout.public_at + 6,         /* sealed object's attributes */
    layout.private_at + 10,       /* sealed object's integrity HMAC */
    layout.private_at + 40,       /* sealed object's encrypted data */
    layout.nonce_at,              /* GCM nonce (associated data) */
    layout.ciphertext_at + 50,    /* ciphertext */
    len - 1,                      /* GCM tag */
  };

  (void) data;
  for (guint i = 0; i < G_N_ELEMENTS (positions); i++)
    {
      g_autofree guint8 *copy = g_memdup2 (original, len);

      copy[positions[i]] ^= 0x01;
      assert_unseal_fails (fixture, copy, len, LK_TPM_ERROR_BLOB_INVALID);
    }

  /* The original still opens: nothing above touched the TPM's state. */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) unsealed = lk_tpm_unseal (fixture->ctx, blob, &error);

    g_assert_no_error (error);
    g_assert_true (g_bytes_equal (secret, unsealed));
  }
}

static void
test_truncated (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GBytes) secret = lk_test_random_bytes (100);
  g_autoptr(GBytes) blob = seal (fixture, secret);
  Layout layout = blob_layout (blob);
  gsize len;
  const guint8 *original = g_bytes_get_data (blob, &len);
  const gsize lengths[] = {
    0, 3, 5, 20, layout.public_at + 10, layout.private_at + 3,
    layout.nonce_at + 4, layout.ciphertext_at + 15, len - 1,
  };

  (void) data;
  for (guint i = 0; i < G_N_ELEMENTS (lengths); i++)
    assert_unseal_fails (fixture, original, lengths[i], LK_TPM_ERROR_BLOB_INVALID);
}

static void
test_version (Fixture       *fixture,
              gconstpointer  data)
{
  g_autoptr(GBytes) secret = lk_test_random_bytes (10);
  g_autoptr(GBytes) blob = seal (fixture, secret);
  gsize len = g_bytes_get_size (blob);
  g_autofree guint8 *copy = g_memdup2 (g_bytes_get_data (blob, NULL), len);

  (void) data;
  g_assert_cmpuint (copy[4], ==, 1);
  copy[4] = 2;
  assert_unseal_fails (fixture, copy, len, LK_TPM_ERROR_BLOB_VERSION);
}

static void
test_other_tpm (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(LkTestSwtpm) other = lk_test_swtpm_new ();
  g_autoptr(GBytes) secret = lk_test_random_bytes (100);
  g_autoptr(GBytes) blob = NULL;

  (void) data;
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(LkTpmContext) other_ctx = lk_tpm_context_new (lk_test_swtpm_get_tcti (other), &error);

    g_assert_no_error (error);
    blob = lk_tpm_seal (other_ctx, secret, &error);
    g_assert_no_error (error);
  }

  assert_unseal_fails (fixture, g_bytes_get_data (blob, NULL), g_bytes_get_size (blob),
                       LK_TPM_ERROR_WRONG_TPM);
}

int
main (int argc, char **argv)
{
  lk_test_init (&argc, &argv);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/tpm/seal/round-trip", test_round_trip);
  ADD ("/tpm/seal/command-count", test_command_count);
  ADD ("/tpm/seal/tampered", test_tampered);
  ADD ("/tpm/seal/truncated", test_truncated);
  ADD ("/tpm/seal/version", test_version);
  ADD ("/tpm/seal/other-tpm", test_other_tpm);
#undef ADD

  return g_test_run ();
}
