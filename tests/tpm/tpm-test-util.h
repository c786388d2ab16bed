/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "tpm/context.h"
#include "tpm/p256.h"

G_BEGIN_DECLS

/* The swtpm the test harness started for this program. */
void        lk_test_init              (int          *argc,
                                       char       ***argv);
const char *lk_test_tcti              (void);

/* Kills the harness's swtpm (SIGKILL, like a crash) and starts it again
 * with the same ports and state; the pid file is kept current so the
 * harness stops the new process. */
void        lk_test_swtpm_kill        (void);
void        lk_test_swtpm_restart     (void);

/* A second, private swtpm (another TPM) on free ports. */
typedef struct _LkTestSwtpm LkTestSwtpm;
LkTestSwtpm *lk_test_swtpm_new        (void);
const char  *lk_test_swtpm_get_tcti   (LkTestSwtpm *self);
void         lk_test_swtpm_free       (LkTestSwtpm *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LkTestSwtpm, lk_test_swtpm_free)

guint16     lk_test_free_port         (void);
void        lk_test_wait_for_port     (guint16       port);
char       *lk_test_run               (const char * const *argv,
                                       const char * const *extra_env,
                                       GError      **error);
/* An extend of the debug PCR 16, which tpm2_pcrreset undoes, for
 * tpm2_pcrextend: what a changed boot chain does to the PCRs it measures. */
#define LK_TEST_PCR16_EXTEND \
  "16:sha256=0092087ccf2ff37567618cb0c74afceed45a64592aafef83aed1bb3c7324dd16"

/* lk_tpm_seal_to_pcrs() and lk_tpm_unseal(), which must succeed. */
GBytes     *lk_test_seal              (LkTpmContext *ctx,
                                       GBytes       *secret,
                                       guint32       pcr_mask);
void        lk_test_assert_unseals_to (LkTpmContext *ctx,
                                       GBytes       *blob,
                                       GBytes       *secret);

/* Runs a tpm2-tools command, or openssl with the tpm2 provider, on the
 * harness's swtpm. swtpm serves one connection at a time: close every
 * TPM context first. */
char       *lk_test_tpm_tool          (const char * const *argv,
                                       GError      **error);
/* The same, which must succeed; returns its output. */
char       *lk_test_tpm_tool_ok       (const char * const *argv);
char       *lk_test_make_tmp_dir      (void);
void        lk_test_remove_tree       (const char   *path);

/* Checks of what the TPM layer and the keystores make, by GnuTLS alone. */
GBytes     *lk_test_random_bytes      (gsize                  len);
char       *lk_test_pem_wrap          (const char            *label,
                                       const guint8          *der,
                                       gsize                  len);
void        lk_test_assert_signature_valid (GBytes               *spki,
                                            const guint8          digest[32],
                                            GBytes               *signature,
                                            LkTpmSignatureFormat  format);
void        lk_test_assert_jwk_matches (JsonObject           *jwk,
                                        const char           *thumbprint,
                                        GBytes               *spki);

G_END_DECLS
