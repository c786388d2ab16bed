/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Counts TPM commands and times the TPM layer's hot paths. On swtpm the
 * times only compare runs; a real TPM is ~100x slower per command, so the
 * command counts are what predicts production latency. */
#include <stdio.h>
#include <stdlib.h>

#include <glib/gstdio.h>

#include "tpm/key.h"
#include "tpm/seal.h"

#define SIGN_MAX_COMMANDS 1
#define LOAD_MAX_COMMANDS 4

typedef struct {
  const char *name;
  guint iterations;
  guint64 commands;
  gint64 usec;
} Result;

static void
report (const Result *r)
{
  printf ("%-16s %6u runs  %5.2f TPM commands/op  %8.3f ms/op\n",
          r->name, r->iterations, (double) r->commands / r->iterations,
          (double) r->usec / r->iterations / 1000.0);
}

static void
check (gboolean ok, const GError *error)
{
  if (!ok)
    {
      fprintf (stderr, "bench-tpm: %s\n", error != NULL ? error->message : "failed");
      exit (1);
    }
}

int
main (int argc, char **argv)
{
  const char *tcti = g_getenv ("LATCHKEY_TEST_TCTI");
  guint iterations = argc > 1 ? (guint) g_ascii_strtoull (argv[1], NULL, 10) : 100;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GBytes) secret = NULL;
  g_autoptr(GBytes) blob = NULL;
  Result load = { "load identity", iterations, 0, 0 };
  Result sign = { "sign", iterations, 0, 0 };
  Result seal = { "seal (1 KiB)", iterations, 0, 0 };
  Result unseal = { "unseal (1 KiB)", iterations, 0, 0 };
  guint8 digest[32] = { 0 };
  guint8 plain[1024] = { 0 };
  gboolean ok;

  check (tcti != NULL && iterations > 0, NULL);
  dir = g_dir_make_tmp ("lk-bench-XXXXXX", &error);
  check (dir != NULL, error);
  path = g_build_filename (dir, "key.pem", NULL);
  secret = g_bytes_new (plain, sizeof plain);

  {
    g_autoptr(LkTpmContext) ctx = lk_tpm_context_new (tcti, &error);
    g_autoptr(LkTpmKey) key = NULL;

    check (ctx != NULL, error);
    key = lk_tpm_key_create (ctx, &error);
    check (key != NULL, error);
    check (lk_tpm_key_save (key, path, &error), error);
  }

  /* Daemon start-up with an existing identity: open, SRK, key. */
  for (guint i = 0; i < iterations; i++)
    {
      gint64 start = g_get_monotonic_time ();
      g_autoptr(LkTpmContext) ctx = lk_tpm_context_new (tcti, &error);
      g_autoptr(LkTpmKey) key = NULL;

      check (ctx != NULL, error);
      key = lk_tpm_key_load (ctx, path, &error);
      check (key != NULL, error);
      load.usec += g_get_monotonic_time () - start;
      load.commands += lk_tpm_context_get_command_count (ctx);
    }

  {
    g_autoptr(LkTpmContext) ctx = lk_tpm_context_new (tcti, &error);
    g_autoptr(LkTpmKey) key = NULL;
    guint64 before;
    gint64 start;

    check (ctx != NULL, error);
    key = lk_tpm_key_load (ctx, path, &error);
    check (key != NULL, error);

    before = lk_tpm_context_get_command_count (ctx);
    start = g_get_monotonic_time ();
    for (guint i = 0; i < iterations; i++)
      {
        g_autoptr(GBytes) signature = NULL;

        digest[0] = (guint8) i;
        signature = lk_tpm_key_sign_digest (key, digest, sizeof digest,
                                            LK_TPM_SIGNATURE_DER, &error);
        check (signature != NULL, error);
      }
    sign.usec = g_get_monotonic_time () - start;
    sign.commands = lk_tpm_context_get_command_count (ctx) - before;

    before = lk_tpm_context_get_command_count (ctx);
    start = g_get_monotonic_time ();
    for (guint i = 0; i < iterations; i++)
      {
        g_clear_pointer (&blob, g_bytes_unref);
        blob = lk_tpm_seal (ctx, secret, &error);
        check (blob != NULL, error);
      }
    seal.usec = g_get_monotonic_time () - start;
    seal.commands = lk_tpm_context_get_command_count (ctx) - before;

    before = lk_tpm_context_get_command_count (ctx);
    start = g_get_monotonic_time ();
    for (guint i = 0; i < iterations; i++)
      {
        g_autoptr(GBytes) unsealed = lk_tpm_unseal (ctx, blob, &error);

        check (unsealed != NULL, error);
      }
    unseal.usec = g_get_monotonic_time () - start;
    unseal.commands = lk_tpm_context_get_command_count (ctx) - before;
  }

  g_unlink (path);
  g_rmdir (dir);

  report (&load);
  report (&sign);
  report (&seal);
  report (&unseal);

  ok = sign.commands == SIGN_MAX_COMMANDS * (guint64) iterations &&
       load.commands <= LOAD_MAX_COMMANDS * (guint64) iterations;
  printf ("targets (sign = %d, load identity <= %d commands): %s\n",
          SIGN_MAX_COMMANDS, LOAD_MAX_COMMANDS, ok ? "met" : "MISSED");
  return ok ? 0 : 1;
}
