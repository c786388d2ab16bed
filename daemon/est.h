/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

/*
 * The EST protocol (RFC 7030) as a client: /cacerts, /simpleenroll and
 * /simplereenroll, each over HTTPS verified against the EST server's own
 * trust anchors (§3.6: nothing else is trusted, and there is no fallback).
 * It knows nothing of keys on disk or of D-Bus: it sends a request and
 * returns the certificates the server sent, parsed from their certs-only
 * PKCS#7, unverified (that is the caller's job: daemon/certificate.c).
 */

typedef struct _LkEstClient LkEstClient;

/* @label (nullable) is the optional path segment of §3.2.2. */
LkEstClient *lk_est_client_new (const char *url, const char *label, const char *trust_anchors, GError **error);
void lk_est_client_free (LkEstClient *client);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LkEstClient, lk_est_client_free)

/* How the client proves itself for /simpleenroll and /simplereenroll. */
typedef struct {
  const char *user;              /* HTTP Basic (§3.2.3), with password; NULL for none */
  const char *password;
  GTlsCertificate *certificate;  /* TLS client authentication (§3.3.2), or NULL */
} LkEstAuth;

/*
 * The CA certificates (/cacerts), as a GPtrArray of DER GBytes, never
 * empty. @certificate (nullable) is presented if the server asks, as for
 * the enrollment that follows, so that the TLS session the enrollment may
 * resume is one with the same client authentication.
 */
void lk_est_get_cacerts_async (LkEstClient *client,
                               GTlsCertificate *certificate,
                               GCancellable *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer user_data);
GPtrArray *lk_est_get_cacerts_finish (GAsyncResult *result, GError **error);

/*
 * Sends the PKCS#10 request @csr_der to /simpleenroll, or to
 * /simplereenroll when @reenroll. Returns the certificates of the answer
 * (DER GBytes, never empty); or NULL with no error and *@ret_retry_after
 * set to the seconds the server asked to wait (202, §4.2.3).
 */
void lk_est_enroll_async (LkEstClient *client,
                          gboolean reenroll,
                          GBytes *csr_der,
                          const LkEstAuth *auth,
                          GCancellable *cancellable,
                          GAsyncReadyCallback callback,
                          gpointer user_data);
GPtrArray *lk_est_enroll_finish (GAsyncResult *result, guint *ret_retry_after, GError **error);

/* The certificates of a base64 certs-only PKCS#7 (exposed for tests). */
GPtrArray *lk_est_parse_certs_only (GBytes *body, GError **error);
