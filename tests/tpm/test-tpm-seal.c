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
  return lk_test_seal (fixture->ctx, secret, 0);
}

static GBytes *
seal_to (Fixture       *fixture,
         GBytes        *secret,
         const guint8  *pcrs,
         gsize          n_pcrs)
{
  g_autoptr(GError) error = NULL;
  guint32 mask = 0;

  g_assert_true (lk_tpm_pcr_mask_from_list (pcrs, n_pcrs, &mask, &error));
  g_assert_no_error (error);
  return lk_test_seal (fixture->ctx, secret, mask);
}

static void
assert_unseals_to (Fixture *fixture,
                   GBytes  *blob,
                   GBytes  *secret)
{
  lk_test_assert_unseals_to (fixture->ctx, blob, secret);
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

      /* A fresh key and nonce every time. */
      g_assert_false (g_bytes_equal (blob, again));
      /* Without PCRs, the format every latchkey reads. */
      g_assert_cmpuint (((const guint8 *) g_bytes_get_data (blob, NULL))[4], ==, 1);
      assert_unseals_to (fixture, blob, secret);
    }
}

typedef struct {
  const guint8 *pcrs;
  gsize n_pcrs;
  guint64 seal_commands;
  guint64 unseal_commands;
} CommandCount;

static void
test_command_count (Fixture       *fixture,
                    gconstpointer  data)
{
  static const guint8 boot[] = { 7, 16 };
  static const guint8 all[] = {
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23
  };
  const CommandCount counts[] = {
    /* StartAuthSession + Create; Load + StartAuthSession + Unseal +
     * FlushContext. */
    { NULL, 0, 2, 4 },
    /* PCR_Read + trial StartAuthSession, PolicyPCR, PolicyGetDigest,
     * FlushContext, then the same; PolicyPCR too. */
    { boot, G_N_ELEMENTS (boot), 7, 5 },
    /* A TPM returns eight PCRs per read. */
    { all, G_N_ELEMENTS (all), 9, 5 },
  };
  g_autoptr(GBytes) secret = lk_test_random_bytes (64);

  (void) data;
  for (guint c = 0; c < G_N_ELEMENTS (counts); c++)
    {
      g_autoptr(GBytes) blob = seal_to (fixture, secret, counts[c].pcrs, counts[c].n_pcrs);

      /* No leaked object or session may pile up on a TPM without a
       * resource manager: 20 rounds are far beyond its slots. */
      for (guint i = 0; i < 20; i++)
        {
          g_autoptr(GBytes) sealed = NULL;
          guint64 before;

          before = lk_tpm_context_get_command_count (fixture->ctx);
          sealed = seal_to (fixture, secret, counts[c].pcrs, counts[c].n_pcrs);
          g_assert_cmpuint (lk_tpm_context_get_command_count (fixture->ctx) - before, ==,
                            counts[c].seal_commands);

          before = lk_tpm_context_get_command_count (fixture->ctx);
          assert_unseals_to (fixture, blob, secret);
          g_assert_cmpuint (lk_tpm_context_get_command_count (fixture->ctx) - before, ==,
                            counts[c].unseal_commands);
        }
    }
}

typedef struct {
  gsize selection_at;           /* version 2 */
  gsize pcr_digest_at;          /* version 2 */
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
  TPML_PCR_SELECTION selection = { 0 };
  TPM2B_DIGEST pcr_digest = { 0 };
  TPM2B_PUBLIC pub = { 0 };
  TPM2B_PRIVATE priv = { 0 };
  Layout layout = { 0 };

  g_assert_cmpint (Tss2_MU_TPM2B_NAME_Unmarshal (data, len, &offset, &name), ==, 0);
  if (data[4] == 2)
    {
      layout.selection_at = offset;
      g_assert_cmpint (Tss2_MU_TPML_PCR_SELECTION_Unmarshal (data, len, &offset, &selection),
                       ==, 0);
      layout.pcr_digest_at = offset;
      g_assert_cmpint (Tss2_MU_TPM2B_DIGEST_Unmarshal (data, len, &offset, &pcr_digest), ==, 0);
    }
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
  assert_unseals_to (fixture, blob, secret);
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
  copy[4] = 3;
  assert_unseal_fails (fixture, copy, len, LK_TPM_ERROR_BLOB_VERSION);
  copy[4] = 0;
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

static const guint8 boot_pcrs[] = { 7, 16 };

static void
test_pcr_round_trip (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autoptr(GBytes) secret = lk_test_random_bytes (300);
  g_autoptr(GBytes) blob = seal_to (fixture, secret, boot_pcrs, G_N_ELEMENTS (boot_pcrs));
  g_autoptr(GBytes) again = seal_to (fixture, secret, boot_pcrs, G_N_ELEMENTS (boot_pcrs));
  g_autoptr(GBytes) plain = seal (fixture, secret);
  Layout layout = blob_layout (blob);
  const guint8 *bytes = g_bytes_get_data (blob, NULL);

  (void) data;
  g_assert_false (g_bytes_equal (blob, again));
  g_assert_cmpuint (bytes[4], ==, 2);
  /* One SHA-256 bank, PCRs 7 and 16: count 1, TPM_ALG_SHA256, 3 bytes. */
  g_assert_cmpmem (bytes + layout.selection_at, 10,
                   ((const guint8[]) { 0, 0, 0, 1, 0x00, 0x0b, 3, 0x80, 0x00, 0x01 }), 10);
  assert_unseals_to (fixture, blob, secret);
  assert_unseals_to (fixture, again, secret);
  /* Blobs of both kinds, from one context. */
  assert_unseals_to (fixture, plain, secret);
}

static void
pcr_tool (Fixture            *fixture,
          const char * const *argv)
{
  g_autoptr(GError) error = NULL;

  /* swtpm serves one connection at a time. */
  g_clear_pointer (&fixture->ctx, lk_tpm_context_unref);
  g_free (lk_test_tpm_tool_ok (argv));
  fixture->ctx = lk_tpm_context_new (lk_test_tcti (), &error);
  g_assert_no_error (error);
}

static void
test_pcr_changed (Fixture       *fixture,
                  gconstpointer  data)
{
  static const guint8 pcr7[] = { 7 };
  const char *extend[] = { "tpm2_pcrextend", LK_TEST_PCR16_EXTEND, NULL };
  const char *reset[] = { "tpm2_pcrreset", "16", NULL };
  g_autoptr(GBytes) secret = lk_test_random_bytes (100);
  g_autoptr(GBytes) bound = seal_to (fixture, secret, boot_pcrs, G_N_ELEMENTS (boot_pcrs));
  g_autoptr(GBytes) bound_to_7 = seal_to (fixture, secret, pcr7, G_N_ELEMENTS (pcr7));
  g_autoptr(GBytes) plain = seal (fixture, secret);

  (void) data;
  pcr_tool (fixture, extend);

  /* Again and again: a failed policy leaves no session behind. */
  for (guint i = 0; i < 5; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) unsealed = lk_tpm_unseal (fixture->ctx, bound, &error);

      g_assert_null (unsealed);
      g_assert_error (error, LK_TPM_ERROR, LK_TPM_ERROR_POLICY);
      g_assert_nonnull (strstr (error->message, "sealed to PCRs 7, 16 (SHA-256) whose "
                                                "values have changed since"));
    }

  /* Only the PCRs a blob is bound to count, and blobs without a policy
   * do not care. */
  assert_unseals_to (fixture, bound_to_7, secret);
  assert_unseals_to (fixture, plain, secret);

  /* Sealing again binds to the new values. */
  {
    g_autoptr(GBytes) rebound = seal_to (fixture, secret, boot_pcrs, G_N_ELEMENTS (boot_pcrs));

    assert_unseals_to (fixture, rebound, secret);
  }

  /* The same values again open the first blob: nothing else kept it shut. */
  pcr_tool (fixture, reset);
  assert_unseals_to (fixture, bound, secret);
}

static void
test_pcr_tampered (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(GBytes) secret = lk_test_random_bytes (100);
  g_autoptr(GBytes) blob = seal_to (fixture, secret, boot_pcrs, G_N_ELEMENTS (boot_pcrs));
  g_autoptr(GBytes) plain = seal (fixture, secret);
  Layout layout = blob_layout (blob);
  gsize len;
  const guint8 *original = g_bytes_get_data (blob, &len);
  const struct {
    gsize at;
    guint8 flip;
  } changes[] = {
    { 4, 0x03 },                            /* version 2 → 1 */
    { layout.selection_at + 5, 0x01 },      /* SHA-256 → SHA-1 bank */
    { layout.selection_at + 7, 0x80 },      /* PCR 7 dropped */
    { layout.selection_at + 9, 0x03 },      /* PCR 16 → 17 */
    { layout.selection_at + 8, 0x01 },      /* PCR 8 added */
    { layout.pcr_digest_at + 2, 0x01 },     /* PCR values */
    { layout.pcr_digest_at + 33, 0x80 },
  };
  g_autofree guint8 *upgraded = g_memdup2 (g_bytes_get_data (plain, NULL),
                                           g_bytes_get_size (plain));

  guint64 before = lk_tpm_context_get_command_count (fixture->ctx);

  (void) data;
  for (guint i = 0; i < G_N_ELEMENTS (changes); i++)
    {
      g_autofree guint8 *copy = g_memdup2 (original, len);

      copy[changes[i].at] ^= changes[i].flip;
      assert_unseal_fails (fixture, copy, len, LK_TPM_ERROR_BLOB_INVALID);
    }
  for (gsize cut = layout.selection_at; cut < layout.public_at + 4; cut += 3)
    assert_unseal_fails (fixture, original, cut, LK_TPM_ERROR_BLOB_INVALID);

  /* A blob without a policy claimed to have one. */
  upgraded[4] = 2;
  assert_unseal_fails (fixture, upgraded, g_bytes_get_size (plain), LK_TPM_ERROR_BLOB_INVALID);

  /* All refused from the header alone: an altered PCR list never reaches
   * PolicyPCR, where it would look like changed PCRs. */
  g_assert_cmpuint (lk_tpm_context_get_command_count (fixture->ctx), ==, before);

  assert_unseals_to (fixture, blob, secret);
}

static void
test_pcr_index (void)
{
  static const guint8 valid[] = { 23, 0, 7, 7 };
  static const guint8 invalid[] = { 7, 24 };
  g_autoptr(GError) error = NULL;
  guint32 mask = 0;

  g_assert_true (lk_tpm_pcr_mask_from_list (NULL, 0, &mask, &error));
  g_assert_cmphex (mask, ==, 0);
  g_assert_true (lk_tpm_pcr_mask_from_list (valid, G_N_ELEMENTS (valid), &mask, &error));
  g_assert_no_error (error);
  g_assert_cmphex (mask, ==, 0x800081);

  g_assert_false (lk_tpm_pcr_mask_from_list (invalid, G_N_ELEMENTS (invalid), &mask, &error));
  g_assert_error (error, LK_TPM_ERROR, LK_TPM_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "PCR 24"));
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
  ADD ("/tpm/seal/pcr/round-trip", test_pcr_round_trip);
  ADD ("/tpm/seal/pcr/changed", test_pcr_changed);
  ADD ("/tpm/seal/pcr/tampered", test_pcr_tampered);
#undef ADD
  g_test_add_func ("/tpm/seal/pcr/index", test_pcr_index);

  return g_test_run ();
}
