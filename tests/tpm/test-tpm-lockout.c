/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <glib/gstdio.h>

#include "tests/tpm/tpm-test-util.h"
#include "tpm/key.h"
#include "tpm/keystore.h"
#include "tpm/seal.h"

/* Dictionary-attack lockout on the harness's swtpm, brought about as an
 * attacker (or a confused program) would: a wrong password for a
 * DA-protected object. latchkey's objects are noDA and the hierarchies it
 * authorizes have no DA protection, so it keeps working; a key made
 * elsewhere without noDA is refused, which latchkey reports as
 * LK_TPM_ERROR_LOCKOUT. Lockout outlives connections: this program has
 * its TPM to itself, and every test ends by clearing it. */

#define SRK_HANDLE_STR "0x81000001"

typedef struct {
  char *dir;
} Fixture;

/* TPM2_PT_PERMANENT's inLockout, as tpm2_getcap prints it. */
static gboolean
in_lockout (void)
{
  const char *argv[] = { "tpm2_getcap", "properties-variable", NULL };
  g_autofree char *out = lk_test_tpm_tool_ok (argv);
  const char *field = strstr (out, "inLockout:");

  g_assert_nonnull (field);
  return g_ascii_strtoull (field + strlen ("inLockout:"), NULL, 10) == 1;
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LkTpmContext) ctx = lk_tpm_context_new (lk_test_tcti (), &error);

  (void) data;
  /* The parent of every object below. */
  g_assert_no_error (error);
  g_assert_true (lk_tpm_context_ensure_srk (ctx, &error));
  g_assert_no_error (error);
  fixture->dir = lk_test_make_tmp_dir ();
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  const char *clear[] = { "tpm2_dictionarylockout", "--clear-lockout", NULL };

  (void) data;
  g_free (lk_test_tpm_tool_ok (clear));
  g_assert_false (in_lockout ());
  lk_test_remove_tree (fixture->dir);
  g_free (fixture->dir);
}

/* One wrong password with a threshold of one: locked out for 1000 s, far
 * longer than the test. Call with no TPM context open. */
static void
engage_lockout (Fixture *fixture)
{
  g_autofree char *secret = g_build_filename (fixture->dir, "da-secret", NULL);
  g_autofree char *pub = g_build_filename (fixture->dir, "da.pub", NULL);
  g_autofree char *priv = g_build_filename (fixture->dir, "da.priv", NULL);
  g_autofree char *loaded = g_build_filename (fixture->dir, "da.ctx", NULL);
  const char *setup[] = {
    "tpm2_dictionarylockout", "--setup-parameters", "--max-tries=1",
    "--recovery-time=1000", "--lockout-recovery-time=1000", NULL
  };
  /* No noda: wrong passwords for it count. */
  const char *create[] = {
    "tpm2_create", "-C", SRK_HANDLE_STR, "-p", "right", "-i", secret,
    "-u", pub, "-r", priv, "-a", "fixedtpm|fixedparent|userwithauth", NULL
  };
  const char *load[] = {
    "tpm2_load", "-C", SRK_HANDLE_STR, "-u", pub, "-r", priv, "-c", loaded, NULL
  };
  const char *unseal[] = { "tpm2_unseal", "-c", loaded, "-p", "wrong", NULL };
  /* tpm2-tools leave their objects loaded; a raw swtpm has three slots. */
  const char *flush[] = { "tpm2_flushcontext", "-t", NULL };
  g_autoptr(GError) error = NULL;

  g_file_set_contents (secret, "guarded by a password", -1, &error);
  g_assert_no_error (error);
  g_free (lk_test_tpm_tool_ok (setup));
  g_free (lk_test_tpm_tool_ok (create));
  g_free (lk_test_tpm_tool_ok (load));
  g_assert_false (in_lockout ());

  g_assert_null (lk_test_tpm_tool (unseal, &error));
  g_assert_error (error, G_SPAWN_ERROR, G_SPAWN_ERROR_FAILED);
  g_free (lk_test_tpm_tool_ok (flush));
  g_assert_true (in_lockout ());
}

static LkTpmContext *
open_context (void)
{
  g_autoptr(GError) error = NULL;
  LkTpmContext *ctx = lk_tpm_context_new (lk_test_tcti (), &error);

  g_assert_no_error (error);
  return ctx;
}

static LkTpmKey *
load_key (LkTpmContext *ctx,
          const char   *path)
{
  g_autoptr(GError) error = NULL;
  LkTpmKey *key = lk_tpm_key_load (ctx, path, &error);

  g_assert_no_error (error);
  return key;
}

static const guint8 digest[32] = { 0x4c, 0x4b };

static void
assert_signs (LkTpmKey *key)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) spki = lk_tpm_key_get_public_der (key, &error);
  g_autoptr(GBytes) signature = NULL;

  g_assert_no_error (error);
  signature = lk_tpm_key_sign_digest (key, digest, sizeof digest, LK_TPM_SIGNATURE_DER,
                                      &error);
  g_assert_no_error (error);
  lk_test_assert_signature_valid (spki, digest, signature, LK_TPM_SIGNATURE_DER);
}

#define PCR_7 (1u << 7)

static void
test_noda_unaffected (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autofree char *path = g_build_filename (fixture->dir, "device-key.pem", NULL);
  g_autoptr(GBytes) secret = lk_test_random_bytes (64);
  g_autoptr(GBytes) blob = NULL;
  g_autoptr(GBytes) pcr_blob = NULL;

  (void) data;
  /* An identity and secrets from before the lockout... */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(LkTpmContext) ctx = open_context ();
    g_autoptr(LkTpmKey) key = lk_tpm_key_create (ctx, &error);

    g_assert_no_error (error);
    g_assert_true (lk_tpm_key_save (key, path, &error));
    g_assert_no_error (error);
    blob = lk_test_seal (ctx, secret, 0);
    pcr_blob = lk_test_seal (ctx, secret, PCR_7);
  }

  engage_lockout (fixture);

  /* ...are all usable during it, and new ones are made as before. */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(LkTpmContext) ctx = open_context ();
    g_autoptr(LkTpmKey) key = load_key (ctx, path);
    g_autoptr(LkTpmKey) fresh = NULL;
    g_autoptr(GBytes) new_blob = NULL;
    g_autoptr(GBytes) new_pcr_blob = NULL;

    assert_signs (key);
    lk_test_assert_unseals_to (ctx, blob, secret);
    lk_test_assert_unseals_to (ctx, pcr_blob, secret);

    new_blob = lk_test_seal (ctx, secret, 0);
    new_pcr_blob = lk_test_seal (ctx, secret, PCR_7);
    lk_test_assert_unseals_to (ctx, new_blob, secret);
    lk_test_assert_unseals_to (ctx, new_pcr_blob, secret);

    fresh = lk_tpm_key_create (ctx, &error);
    g_assert_no_error (error);
    assert_signs (fresh);
  }

  /* None of it needed the lockout lifted. */
  g_assert_true (in_lockout ());
}

static void
assert_sign_locked_out (LkTpmKey *key)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) signature = NULL;

  signature = lk_tpm_key_sign_digest (key, digest, sizeof digest, LK_TPM_SIGNATURE_DER,
                                      &error);
  g_assert_null (signature);
  g_assert_error (error, LK_TPM_ERROR, LK_TPM_ERROR_LOCKOUT);
  g_assert_nonnull (strstr (error->message, "Signing: the TPM is in dictionary-attack lockout"));
}

static void
test_foreign_key_reported (Fixture       *fixture,
                           gconstpointer  data)
{
  g_autofree char *state_dir = g_build_filename (fixture->dir, "state", NULL);
  g_autofree char *path = g_build_filename (state_dir, "device-key.pem", NULL);
  /* tpm2-openssl makes keys latchkey loads (under our SRK, empty
   * password) but without noDA. */
  const char *genpkey[] = {
    "openssl", "genpkey", "-provider", "tpm2", "-provider", "default",
    "-algorithm", "EC", "-pkeyopt", "group:P-256",
    "-pkeyopt", "parent:" SRK_HANDLE_STR, "-out", path, NULL
  };
  const char *clear[] = { "tpm2_dictionarylockout", "--clear-lockout", NULL };
  g_autoptr(GBytes) secret = lk_test_random_bytes (64);

  (void) data;
  g_assert_cmpint (g_mkdir (state_dir, 0700), ==, 0);
  g_free (lk_test_tpm_tool_ok (genpkey));
  /* A good key: the lockout, and nothing else, is what refuses it below. */
  {
    g_autoptr(LkTpmContext) ctx = open_context ();
    g_autoptr(LkTpmKey) key = load_key (ctx, path);

    assert_signs (key);
  }

  engage_lockout (fixture);

  /* Loading authorizes the SRK, which is noDA; signing authorizes the
   * key itself. */
  {
    g_autoptr(LkTpmContext) ctx = open_context ();
    g_autoptr(LkTpmKey) key = load_key (ctx, path);
    guint64 before = lk_tpm_context_get_command_count (ctx);

    assert_sign_locked_out (key);
    /* One refused Sign: a lockout is not a reason to retry. */
    g_assert_cmpuint (lk_tpm_context_get_command_count (ctx) - before, ==, 1);
  }

  /* The same through the keystore, as the daemon meets it; its sealing
   * does not depend on the device key. */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(LkKeystore) keystore = lk_keystore_open (LK_KEYSTORE_TPM2, state_dir,
                                                       lk_test_tcti (), &error);
    g_autoptr(GBytes) signature = NULL;
    g_autoptr(GBytes) blob = NULL;
    g_autoptr(GBytes) unsealed = NULL;
    gboolean created = TRUE;

    g_assert_no_error (error);
    g_assert_true (lk_keystore_ensure_device_key (keystore, &created, &error));
    g_assert_no_error (error);
    g_assert_false (created);
    signature = lk_keystore_sign_digest (keystore, digest, sizeof digest,
                                         LK_TPM_SIGNATURE_RAW, &error);
    g_assert_null (signature);
    g_assert_error (error, LK_TPM_ERROR, LK_TPM_ERROR_LOCKOUT);
    g_clear_error (&error);

    blob = lk_keystore_seal (keystore, secret, &error);
    g_assert_no_error (error);
    unsealed = lk_keystore_unseal (keystore, blob, &error);
    g_assert_no_error (error);
    g_assert_true (g_bytes_equal (unsealed, secret));
  }

  /* Cleared, the same key signs again. */
  g_free (lk_test_tpm_tool_ok (clear));
  {
    g_autoptr(LkTpmContext) ctx = open_context ();
    g_autoptr(LkTpmKey) key = load_key (ctx, path);

    assert_signs (key);
  }
}

int
main (int argc, char **argv)
{
  lk_test_init (&argc, &argv);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/tpm/lockout/noda-unaffected", test_noda_unaffected);
  ADD ("/tpm/lockout/foreign-key-reported", test_foreign_key_reported);
#undef ADD

  return g_test_run ();
}
