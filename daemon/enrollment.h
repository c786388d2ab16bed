/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "certificate.h"
#include "daemon-config.h"
#include "tpm/context.h"

/*
 * The device certificate's life: enrollment at first start with the
 * bootstrap credential, renewal at [Enrollment] RenewAtPercent of the
 * lifetime (plus jitter) for a new TPM key each time, retries with capped
 * exponential backoff, and the expired state. One operation at a time;
 * the "changed" signal follows every change of state, certificate or
 * failure.
 */

typedef enum {
  LK_CERT_UNENROLLED,   /* no certificate yet */
  LK_CERT_ENROLLING,
  LK_CERT_ENROLLED,     /* valid */
  LK_CERT_RENEWING,
  LK_CERT_EXPIRED,
} LkCertState;

const char *lk_cert_state_to_string (LkCertState state);

#define LK_TYPE_ENROLLMENT (lk_enrollment_get_type ())
G_DECLARE_FINAL_TYPE (LkEnrollment, lk_enrollment, LK, ENROLLMENT, GObject)

/* Loads the stored identity (finishing a renewal a crash interrupted). @config outlives it. */
LkEnrollment *lk_enrollment_new (const LkConfig *config, LkTpmContext *ctx, const char *state_dir, GError **error);

/* Enrolls now when there is no certificate, else schedules its renewal. */
void lk_enrollment_start (LkEnrollment *self);
/* Cancels what is under way and every timer. */
void lk_enrollment_stop (LkEnrollment *self);

/*
 * Enrolls (with the bootstrap credential, replacing any certificate) or,
 * with @renew, renews now. A request of the same kind as the one under
 * way joins it; of the other kind it fails with LK_ERROR_BUSY.
 */
void lk_enrollment_run_async (LkEnrollment *self, gboolean renew, GAsyncReadyCallback callback, gpointer user_data);
gboolean lk_enrollment_run_finish (GAsyncResult *result, GError **error);

LkCertState lk_enrollment_get_state (LkEnrollment *self);
/* The current certificate, NULL when unenrolled. */
const LkCertificate *lk_enrollment_get_certificate (LkEnrollment *self);
/* Why the last attempt failed; NULL after a success. */
const char *lk_enrollment_get_failure (LkEnrollment *self);
/* When the next renewal or retry is due (unix seconds), 0 when none is. */
gint64 lk_enrollment_get_next_attempt (LkEnrollment *self);
