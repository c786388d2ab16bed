/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "tests/tpm/tpm-test-util.h"
#include "tpm/context.h"

#define SRK_HANDLE_STR "0x81000001"

/* swtpm serves one connection at a time: contexts are closed before any
 * tpm2-tools command runs. */
static void
tools_may_fail (const char * const *argv)
{
  g_free (lk_test_tpm_tool (argv, NULL));
}

static void
test_srk_created_then_reused (void)
{
  const char *evict[] = { "tpm2_evictcontrol", "-C", "o", "-c", SRK_HANDLE_STR, NULL };
  const char *readpublic[] = { "tpm2_readpublic", "-c", SRK_HANDLE_STR, NULL };
  g_autoptr(GError) error = NULL;
  g_autofree char *public = NULL;
  guint64 count;

  tools_may_fail (evict);

  {
    g_autoptr(LkTpmContext) ctx = lk_tpm_context_new (lk_test_tcti (), &error);

    g_assert_no_error (error);
    g_assert_cmpuint (lk_tpm_context_get_command_count (ctx), ==, 0);
    g_assert_true (lk_tpm_context_ensure_srk (ctx, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (lk_tpm_context_get_command_count (ctx), >, 2);
  }

  public = lk_test_tpm_tool_ok (readpublic);
  g_assert_nonnull (strstr (public, "NIST p256"));
  g_assert_nonnull (strstr (public, "restricted|decrypt"));

  {
    g_autoptr(LkTpmContext) ctx = lk_tpm_context_new (lk_test_tcti (), &error);

    g_assert_no_error (error);
    g_assert_true (lk_tpm_context_ensure_srk (ctx, &error));
    g_assert_no_error (error);
    count = lk_tpm_context_get_command_count (ctx);
    /* Open the handle and read its public area; nothing is created. */
    g_assert_cmpuint (count, ==, 2);
    g_assert_true (lk_tpm_context_ensure_srk (ctx, &error));
    g_assert_cmpuint (lk_tpm_context_get_command_count (ctx), ==, count);
  }
}

static void
test_srk_occupied (void)
{
  g_autofree char *dir = lk_test_make_tmp_dir ();
  g_autofree char *primary = g_build_filename (dir, "foreign.ctx", NULL);
  const char *evict[] = { "tpm2_evictcontrol", "-C", "o", "-c", SRK_HANDLE_STR, NULL };
  const char *create[] = {
    "tpm2_createprimary", "-C", "o", "-G", "ecc256:ecdsa-sha256", "-c", primary,
    "-a", "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign|noda", NULL
  };
  const char *persist[] = { "tpm2_evictcontrol", "-C", "o", "-c", primary, SRK_HANDLE_STR, NULL };
  const char *readpublic[] = { "tpm2_readpublic", "-c", SRK_HANDLE_STR, NULL };
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autofree char *out = NULL;
  g_autoptr(GError) error = NULL;

  tools_may_fail (evict);
  g_free (lk_test_tpm_tool_ok (create));
  g_free (lk_test_tpm_tool_ok (persist));
  before = lk_test_tpm_tool_ok (readpublic);

  {
    g_autoptr(LkTpmContext) ctx = lk_tpm_context_new (lk_test_tcti (), &error);

    g_assert_no_error (error);
    g_assert_false (lk_tpm_context_ensure_srk (ctx, &error));
    g_assert_error (error, LK_TPM_ERROR, LK_TPM_ERROR_SRK_OCCUPIED);
    g_assert_nonnull (strstr (error->message, "0x81000001"));
  }

  /* The foreign object is still there, untouched. */
  after = lk_test_tpm_tool_ok (readpublic);
  g_assert_cmpstr (before, ==, after);

  out = lk_test_tpm_tool_ok (evict);
  lk_test_remove_tree (dir);
}

static void
test_unreachable (void)
{
  g_autofree char *tcti = g_strdup_printf ("swtpm:host=127.0.0.1,port=%u",
                                           lk_test_free_port ());
  g_autoptr(LkTpmContext) ctx = NULL;
  g_autoptr(GError) error = NULL;

  ctx = lk_tpm_context_new (tcti, &error);
  g_assert_null (ctx);
  g_assert_error (error, LK_TPM_ERROR, LK_TPM_ERROR_UNREACHABLE);
  g_assert_nonnull (strstr (error->message, tcti));
}

static void
test_restart (void)
{
  g_autoptr(LkTpmContext) ctx = NULL;
  g_autoptr(GError) error = NULL;

  lk_test_swtpm_kill ();
  ctx = lk_tpm_context_new (lk_test_tcti (), &error);
  g_assert_null (ctx);
  g_assert_error (error, LK_TPM_ERROR, LK_TPM_ERROR_UNREACHABLE);
  g_assert_nonnull (strstr (error->message, lk_test_tcti ()));
  g_clear_error (&error);

  lk_test_swtpm_restart ();
  ctx = lk_tpm_context_new (lk_test_tcti (), &error);
  g_assert_no_error (error);
  g_assert_true (lk_tpm_context_ensure_srk (ctx, &error));
  g_assert_no_error (error);
}

int
main (int argc, char **argv)
{
  lk_test_init (&argc, &argv);

  g_test_add_func ("/tpm/context/srk-created-then-reused", test_srk_created_then_reused);
  g_test_add_func ("/tpm/context/srk-occupied", test_srk_occupied);
  g_test_add_func ("/tpm/context/unreachable", test_unreachable);
  g_test_add_func ("/tpm/context/restart", test_restart);

  return g_test_run ();
}
