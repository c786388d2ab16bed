/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "certificate-store.h"
#include "enrollment.h"
#include "error.h"
#include "est.h"
#include "log.h"
#include "message-ids.h"
#include "renewal.h"
#include "tpm/gnutls-key.h"
#include "tpm/secret-bytes.h"

/* Names under which keys are lent to glib-networking for TLS client authentication. */
#define TLS_NAME_IDENTITY "identity"
#define TLS_NAME_BOOTSTRAP "bootstrap"

struct _LkEnrollment {
  GObject parent;

  const LkConfig *config;
  LkTpmContext *ctx;
  char *state_dir;
  LkEstClient *est;

  LkIdentity *identity;         /* NULL until enrolled */
  LkCertState state;
  char *failure;
  gboolean replaced;            /* identity.pem changed from outside to something not ours */
  guint failures;               /* in a row */
  gboolean network_failure;     /* the last one was for want of the network */
  gint64 next_attempt;
  guint attempt_source;
  guint expiry_source;

  GCancellable *cancellable;
  struct Operation *op;
  GNetworkMonitor *network;
  gulong network_handler;
};

G_DEFINE_FINAL_TYPE (LkEnrollment, lk_enrollment, G_TYPE_OBJECT)

enum {
  SIGNAL_CHANGED,
  N_SIGNALS,
};

static guint signals[N_SIGNALS];

typedef struct Operation {
  gboolean renew;               /* what was asked */
  gboolean reenroll;            /* what is done: /simplereenroll, else /simpleenroll */
  GPtrArray *waiting;           /* GTasks */
  LkEstAuth auth;
  char *password;               /* secret, auth.password */
  GPtrArray *ca_certs;
  LkTpmKey *key;                /* the new one */
  LkTpmKey *tls_key;            /* the TPM key of auth.certificate, if it has one */
  GBytes *spki;
  GBytes *csr;
  guint retry_source;           /* 202 Retry-After */
} Operation;

static const char *const state_names[] = {
  [LK_CERT_UNENROLLED] = "unenrolled",
  [LK_CERT_ENROLLING] = "enrolling",
  [LK_CERT_ENROLLED] = "enrolled",
  [LK_CERT_RENEWING] = "renewing",
  [LK_CERT_EXPIRED] = "expired",
};

const char *
lk_cert_state_to_string (LkCertState state)
{
  g_return_val_if_fail (state < G_N_ELEMENTS (state_names), NULL);
  return state_names[state];
}

static gint64
now_seconds (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

static void
operation_free (Operation *op)
{
  g_ptr_array_unref (op->waiting);
  g_clear_object (&op->auth.certificate);
  lk_tpm_secret_string_free (op->password);
  g_clear_pointer (&op->ca_certs, g_ptr_array_unref);
  g_clear_pointer (&op->key, lk_tpm_key_unref);
  g_clear_pointer (&op->tls_key, lk_tpm_key_unref);
  g_clear_pointer (&op->spki, g_bytes_unref);
  g_clear_pointer (&op->csr, g_bytes_unref);
  g_clear_handle_id (&op->retry_source, g_source_remove);
  g_free (op);
}

static void
lk_enrollment_finalize (GObject *object)
{
  LkEnrollment *self = LK_ENROLLMENT (object);

  lk_enrollment_stop (self);
  g_clear_signal_handler (&self->network_handler, self->network);
  g_clear_object (&self->network);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->identity, lk_identity_free);
  g_clear_pointer (&self->est, lk_est_client_free);
  g_clear_pointer (&self->ctx, lk_tpm_context_unref);
  g_free (self->state_dir);
  g_free (self->failure);
  lk_tpm_gnutls_withdraw (TLS_NAME_IDENTITY);
  lk_tpm_gnutls_withdraw (TLS_NAME_BOOTSTRAP);
  G_OBJECT_CLASS (lk_enrollment_parent_class)->finalize (object);
}

static void
lk_enrollment_class_init (LkEnrollmentClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = lk_enrollment_finalize;
  signals[SIGNAL_CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                          NULL, G_TYPE_NONE, 0);
}

static void
lk_enrollment_init (LkEnrollment *self)
{
  self->cancellable = g_cancellable_new ();
}

static gboolean
is_expired (LkEnrollment *self)
{
  return self->identity != NULL && now_seconds () >= self->identity->cert->not_after;
}

/* The state when nothing is under way. */
static LkCertState
resting_state (LkEnrollment *self)
{
  if (self->identity == NULL)
    return LK_CERT_UNENROLLED;
  return is_expired (self) ? LK_CERT_EXPIRED : LK_CERT_ENROLLED;
}

static void
set_state (LkEnrollment *self, LkCertState state)
{
  self->state = state;
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

static void run (LkEnrollment *self, gboolean renew, GTask *task);

static gboolean
on_attempt_time (gpointer user_data)
{
  LkEnrollment *self = user_data;

  self->attempt_source = 0;
  self->next_attempt = 0;
  run (self, self->identity != NULL, NULL);
  return G_SOURCE_REMOVE;
}

static void
schedule_attempt (LkEnrollment *self, gint64 at)
{
  gint64 delay_ms = MAX ((at - now_seconds ()) * 1000, 0);

  g_clear_handle_id (&self->attempt_source, g_source_remove);
  self->next_attempt = at;
  self->attempt_source = g_timeout_add ((guint) MIN (delay_ms, G_MAXUINT), on_attempt_time, self);
}

/*
 * A device often starts before its network is up, and the first boot's
 * enrollment is then the first thing to fail: an attempt that failed for
 * want of the network is made again as the network changes, not at the
 * end of a backoff that may be an hour long. A second's delay lets the
 * burst of changes of an interface coming up settle.
 */
static void
on_network_changed (GNetworkMonitor *monitor, gboolean available, gpointer user_data)
{
  LkEnrollment *self = user_data;
  gint64 soon = now_seconds () + 1;

  if (!available || !self->network_failure || self->op != NULL || self->attempt_source == 0
      || self->next_attempt <= soon)
    return;
  lk_info ("enrollment", "the network changed: next attempt in 1 s rather than %" G_GINT64_FORMAT " s",
           self->next_attempt - now_seconds ());
  schedule_attempt (self, soon);
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

static gboolean
on_expiry (gpointer user_data)
{
  LkEnrollment *self = user_data;

  self->expiry_source = 0;
  lk_event (G_LOG_LEVEL_WARNING, "enrollment", LK_MESSAGE_CERT_EXPIRED,
            "the device certificate %s (serial %s) has expired", self->identity->cert->subject,
            self->identity->cert->serial);
  if (self->op == NULL)
    set_state (self, LK_CERT_EXPIRED);
  return G_SOURCE_REMOVE;
}

/* Follows a new identity: its expiry, and its renewal. */
static void
schedule_identity (LkEnrollment *self)
{
  const LkCertificate *cert = self->identity->cert;
  gint64 left_ms = (cert->not_after - now_seconds ()) * 1000;

  g_clear_handle_id (&self->expiry_source, g_source_remove);
  if (left_ms > 0)
    self->expiry_source = g_timeout_add ((guint) MIN (left_ms, G_MAXUINT), on_expiry, self);
  /* A second at least between renewals: a CA issuing very short lifetimes must not make a busy loop. */
  if (!self->replaced)
    schedule_attempt (self, MAX (lk_renewal_time (cert->not_before, cert->not_after, self->config->renew_percent,
                                                  self->config->renew_jitter_percent),
                                 now_seconds () + 1));
}

/* Lends @key and @cert_der to glib-networking as @name, for TLS client authentication. */
static GTlsCertificate *
tls_certificate (const char *name, LkTpmKey *key, GBytes *cert_der, GError **error)
{
  g_autofree char *cert_url = NULL;
  g_autofree char *key_url = NULL;
  GTlsCertificate *certificate;

  if (!lk_tpm_gnutls_publish (name, key, cert_der, error))
    return NULL;
  cert_url = lk_tpm_gnutls_cert_url (name);
  key_url = lk_tpm_gnutls_key_url (name);
  certificate = g_tls_certificate_new_from_pkcs11_uris (cert_url, key_url, error);
  return certificate;
}

static gboolean
has_bootstrap (LkEnrollment *self)
{
  return self->config->bootstrap_cert != NULL || self->config->bootstrap_user != NULL;
}

/* The bootstrap credential (configuration), read now: files may have been provisioned since start. */
static gboolean
prepare_bootstrap (LkEnrollment *self, Operation *op, GError **error)
{
  const LkConfig *config = self->config;
  g_autoptr (GError) local_error = NULL;

  if (config->bootstrap_cert != NULL)
    {
      g_autofree char *key_pem = NULL;

      if (!g_file_get_contents (config->bootstrap_key, &key_pem, NULL, &local_error))
        {
          g_set_error (error, LK_ERROR, LK_ERROR_CONFIG, "bootstrap key: %s", local_error->message);
          return FALSE;
        }
      if (strstr (key_pem, "-----BEGIN TSS2 PRIVATE KEY-----") != NULL)
        {
          g_autoptr (LkTpmKey) key = lk_tpm_key_load (self->ctx, config->bootstrap_key, &local_error);
          g_autofree char *cert_pem = NULL;
          g_autoptr (LkCertificate) cert = NULL;
          gsize length;

          if (key != NULL && g_file_get_contents (config->bootstrap_cert, &cert_pem, &length, &local_error))
            cert = lk_certificate_from_pem (cert_pem, length, config->bootstrap_cert, &local_error);
          if (cert != NULL)
            op->auth.certificate = tls_certificate (TLS_NAME_BOOTSTRAP, key, cert->leaf_der, &local_error);
          op->tls_key = g_steal_pointer (&key);
        }
      else
        op->auth.certificate = g_tls_certificate_new_from_files (config->bootstrap_cert, config->bootstrap_key,
                                                                 &local_error);
      lk_tpm_secret_string_free (g_steal_pointer (&key_pem));
      if (op->auth.certificate == NULL)
        {
          g_set_error (error, LK_ERROR, LK_ERROR_CONFIG, "bootstrap certificate %s: %s", config->bootstrap_cert,
                       local_error->message);
          return FALSE;
        }
      return TRUE;
    }
  if (config->bootstrap_user != NULL)
    {
      if (!g_file_get_contents (config->bootstrap_password, &op->password, NULL, &local_error))
        {
          g_set_error (error, LK_ERROR, LK_ERROR_CONFIG, "bootstrap password: %s", local_error->message);
          return FALSE;
        }
      op->password[strcspn (op->password, "\r\n")] = '\0';
      op->auth.user = config->bootstrap_user;
      op->auth.password = op->password;
      return TRUE;
    }
  g_set_error (error, LK_ERROR, LK_ERROR_CONFIG,
               "no bootstrap credential to enroll with ([Enrollment] BootstrapCertificate or BootstrapUser)");
  return FALSE;
}

/*
 * identity.pem changed under us. A chain for one of our keys is adopted
 * (someone restored a backup, say); anything else stops renewal rather
 * than being overwritten.
 */
static void
notice_replaced (LkEnrollment *self, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autoptr (LkIdentity) identity = lk_identity_load (self->ctx, self->state_dir, &local_error);

  if (identity != NULL)
    {
      lk_event (G_LOG_LEVEL_WARNING, "enrollment", LK_MESSAGE_CERT_REPLACED,
                "%s/%s was replaced from outside by a chain for our key (%s, serial %s): adopted", self->state_dir,
                LK_IDENTITY_CERT_FILE, identity->cert->subject, identity->cert->serial);
      g_clear_pointer (&self->identity, lk_identity_free);
      self->identity = g_steal_pointer (&identity);
      g_set_error (error, LK_ERROR, LK_ERROR_BUSY,
                   "the certificate file was replaced from outside by one for our key: adopted, renewal rescheduled");
      return;
    }
  self->replaced = TRUE;
  lk_event (G_LOG_LEVEL_WARNING, "enrollment", LK_MESSAGE_CERT_REPLACED,
            "%s/%s was replaced from outside and is not a chain for our key (%s): not overwritten; renewal stops "
            "until latchkeyctl enroll", self->state_dir, LK_IDENTITY_CERT_FILE,
            local_error ? local_error->message : "no file");
  g_set_error (error, LK_ERROR, LK_ERROR_STATE_DIR,
               "the certificate file was replaced from outside and is not ours: not overwritten "
               "(latchkeyctl enroll replaces it)");
}

/* Ends the operation under way with @error, or success, and plans what comes next. */
static void
finish (LkEnrollment *self, const GError *error)
{
  Operation *op = g_steal_pointer (&self->op);
  g_autofree char *next_path = g_build_filename (self->state_dir, LK_IDENTITY_NEXT_KEY_FILE, NULL);

  if (error != NULL)
    {
      gint64 at;
      guint delay;

      /* The new key goes unless its certificate was stored. */
      if (op->key != NULL)
        (void) g_unlink (next_path);
      self->failures++;
      self->network_failure = g_error_matches (error, LK_ERROR, LK_ERROR_NETWORK);
      g_free (self->failure);
      self->failure = g_strdup (error->message);
      lk_event (G_LOG_LEVEL_WARNING, "enrollment", LK_MESSAGE_CERT_FAILED, "%s failed (%u in a row): %s",
                op->renew ? "renewal" : "enrollment", self->failures, error->message);
      if (self->identity != NULL)
        schedule_identity (self);
      if (!self->replaced)
        {
          delay = lk_renewal_backoff (self->failures, self->config->retry_first, self->config->retry_max);
          at = now_seconds () + delay;
          if (self->identity != NULL && !is_expired (self))
            {
              const LkCertificate *cert = self->identity->cert;
              gint64 left = cert->not_after - now_seconds ();

              /* Halfway from when it was due to its expiry, a renewal still failing is worth a warning. */
              if (left * 200 < (cert->not_after - cert->not_before) * (100 - self->config->renew_percent))
                lk_event (G_LOG_LEVEL_WARNING, "enrollment", LK_MESSAGE_CERT_EXPIRING,
                          "the device certificate (serial %s) expires in %" G_GINT64_FORMAT " s and is not renewed",
                          cert->serial, left);
            }
          lk_event (G_LOG_LEVEL_INFO, "enrollment", LK_MESSAGE_CERT_RETRY, "next attempt in %u s", delay);
          schedule_attempt (self, at);
        }
    }
  else
    {
      self->failures = 0;
      self->network_failure = FALSE;
      g_clear_pointer (&self->failure, g_free);
    }

  self->state = resting_state (self);
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
  for (guint i = 0; i < op->waiting->len; i++)
    {
      GTask *task = op->waiting->pdata[i];

      if (error != NULL)
        g_task_return_error (task, g_error_copy (error));
      else
        g_task_return_boolean (task, TRUE);
    }
  operation_free (op);
}

/* Whether a callback comes too late: the daemon stopped what it belonged to. */
static gboolean
stopped (LkEnrollment *self)
{
  return self->op == NULL || g_cancellable_is_cancelled (self->cancellable);
}

/* Takes @error. */
static void
fail (LkEnrollment *self, GError *error)
{
  if (!stopped (self))
    finish (self, error);
  g_error_free (error);
}

static void
store (LkEnrollment *self, GPtrArray *issued)
{
  Operation *op = self->op;
  g_autoptr (LkIdentity) identity = g_new0 (LkIdentity, 1);
  g_autoptr (GError) error = NULL;
  const char *expected = self->identity != NULL && !self->replaced ? self->identity->cert->chain_pem : NULL;

  identity->cert = lk_certificate_check_issued (issued, op->ca_certs, op->spki, now_seconds (), &error);
  if (identity->cert == NULL)
    {
      finish (self, error);
      return;
    }
  /* An enrollment asked for replaces whatever is there; a renewal never replaces what it did not write. */
  if (op->renew && !lk_identity_file_is (self->state_dir, expected))
    {
      notice_replaced (self, &error);
      finish (self, error);
      return;
    }
  if (!lk_identity_commit (self->state_dir, identity->cert, &error))
    {
      finish (self, error);
      return;
    }
  identity->key = g_steal_pointer (&op->key);
  /* The old key is flushed from the TPM now: a TPM holds only a few objects. */
  lk_tpm_gnutls_withdraw (TLS_NAME_IDENTITY);
  lk_tpm_gnutls_withdraw (TLS_NAME_BOOTSTRAP);
  g_clear_pointer (&self->identity, lk_identity_free);
  self->identity = g_steal_pointer (&identity);
  self->replaced = FALSE;
  schedule_identity (self);
  if (op->renew)
    lk_event (G_LOG_LEVEL_MESSAGE, "enrollment", LK_MESSAGE_CERT_RENEWED,
              "renewed the device certificate %s for a new TPM key: serial %s, valid until %" G_GINT64_FORMAT
              ", next renewal at %" G_GINT64_FORMAT, self->identity->cert->subject, self->identity->cert->serial,
              self->identity->cert->not_after, self->next_attempt);
  else
    lk_event (G_LOG_LEVEL_MESSAGE, "enrollment", LK_MESSAGE_CERT_ENROLLED,
              "enrolled as %s with %s: serial %s, valid until %" G_GINT64_FORMAT ", renewal at %" G_GINT64_FORMAT,
              self->identity->cert->subject, self->identity->cert->issuer, self->identity->cert->serial,
              self->identity->cert->not_after, self->next_attempt);
  finish (self, NULL);
}

static void send_request (LkEnrollment *self);

static gboolean
on_retry_after (gpointer user_data)
{
  LkEnrollment *self = user_data;

  self->op->retry_source = 0;
  send_request (self);
  return G_SOURCE_REMOVE;
}

static void
on_enrolled (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (LkEnrollment) self = user_data;
  g_autoptr (GPtrArray) issued = NULL;
  GError *error = NULL;
  guint retry_after = 0;

  issued = lk_est_enroll_finish (result, &retry_after, &error);
  if (stopped (self))
    {
      g_clear_error (&error);
      return;
    }
  /*
   * A renewal the server refuses (its certificate replaced by one we never
   * got, say, when a crash came between issuance and commit) must not
   * strand the device: the bootstrap credential enrolls it again.
   */
  if (g_error_matches (error, LK_ERROR, LK_ERROR_DENIED) && self->op->reenroll && has_bootstrap (self))
    {
      lk_event (G_LOG_LEVEL_WARNING, "enrollment", LK_MESSAGE_CERT_RETRY,
                "the EST server refused the renewal (%s): enrolling again with the bootstrap credential",
                error->message);
      g_clear_error (&error);
      g_clear_object (&self->op->auth.certificate);
      g_clear_pointer (&self->op->tls_key, lk_tpm_key_unref);
      self->op->reenroll = FALSE;
      if (!prepare_bootstrap (self, self->op, &error))
        {
          fail (self, error);
          return;
        }
      send_request (self);
      return;
    }
  if (error != NULL)
    {
      fail (self, error);
      return;
    }
  if (issued == NULL)
    {
      /* §4.2.3: the same request again, once the server had its time. */
      lk_event (G_LOG_LEVEL_INFO, "enrollment", LK_MESSAGE_CERT_RETRY,
                "the EST server accepted the request for later: asking again in %u s", retry_after);
      self->op->retry_source = g_timeout_add_seconds (retry_after, on_retry_after, self);
      return;
    }
  store (self, issued);
}

static void
send_request (LkEnrollment *self)
{
  lk_est_enroll_async (self->est, self->op->reenroll, self->op->csr, &self->op->auth, self->cancellable,
                       on_enrolled, g_object_ref (self));
}

typedef struct {
  LkTpmKey *key;
  GBytes *spki;
  GBytes *csr;
} NewKey;

static void
new_key_free (NewKey *new_key)
{
  g_clear_pointer (&new_key->key, lk_tpm_key_unref);
  g_clear_pointer (&new_key->spki, g_bytes_unref);
  g_clear_pointer (&new_key->csr, g_bytes_unref);
  g_free (new_key);
}

typedef struct {
  char *subject;
  LkTpmKey *current;   /* the key TLS authenticates with, nullable */
} MakeKey;

static void
make_key_free (MakeKey *make)
{
  g_free (make->subject);
  g_clear_pointer (&make->current, lk_tpm_key_unref);
  g_free (make);
}

/* On a worker thread: a real TPM takes its time to make a key, and the bus is served meanwhile. */
static void
make_key (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  LkEnrollment *self = source;
  MakeKey *make = task_data;
  NewKey *new_key = g_new0 (NewKey, 1);
  gnutls_privkey_t privkey = NULL;
  GError *error = NULL;

  /* Room in the TPM: the current key is loaded again when the TLS handshake needs it. */
  if (make->current != NULL)
    lk_tpm_key_unload (make->current);
  new_key->key = lk_identity_new_key (self->ctx, self->state_dir, &error);
  if (new_key->key != NULL)
    new_key->spki = lk_tpm_key_get_public_der (new_key->key, &error);
  if (new_key->spki != NULL)
    privkey = lk_tpm_gnutls_privkey_new (new_key->key, &error);
  if (privkey != NULL)
    {
      new_key->csr = lk_certificate_request_new (privkey, new_key->spki, make->subject, &error);
      gnutls_privkey_deinit (privkey);
      lk_tpm_key_unload (new_key->key);
    }
  if (error != NULL)
    {
      new_key_free (new_key);
      g_task_return_error (task, error);
      return;
    }
  g_task_return_pointer (task, new_key, (GDestroyNotify) new_key_free);
}

static void
on_key (GObject *source, GAsyncResult *result, gpointer user_data)
{
  LkEnrollment *self = LK_ENROLLMENT (source);
  NewKey *new_key;
  GError *error = NULL;

  new_key = g_task_propagate_pointer (G_TASK (result), &error);
  if (new_key == NULL)
    {
      fail (self, error);
      return;
    }
  if (stopped (self))
    {
      new_key_free (new_key);
      return;
    }
  self->op->key = g_steal_pointer (&new_key->key);
  self->op->spki = g_steal_pointer (&new_key->spki);
  self->op->csr = g_steal_pointer (&new_key->csr);
  new_key_free (new_key);
  send_request (self);
}

static void
on_cacerts (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (LkEnrollment) self = user_data;
  g_autoptr (GTask) task = NULL;
  GError *error = NULL;
  GPtrArray *ca_certs;
  MakeKey *make;

  ca_certs = lk_est_get_cacerts_finish (result, &error);
  if (stopped (self))
    {
      g_clear_error (&error);
      g_clear_pointer (&ca_certs, g_ptr_array_unref);
      return;
    }
  if (ca_certs == NULL)
    {
      fail (self, error);
      return;
    }
  self->op->ca_certs = ca_certs;
  task = g_task_new (self, self->cancellable, on_key, NULL);
  make = g_new0 (MakeKey, 1);
  /* §4.2.2: a renewal keeps the subject of the certificate it renews. */
  make->subject = g_strdup (self->op->reenroll ? self->identity->cert->subject : self->config->est_subject);
  make->current = self->op->tls_key != NULL ? lk_tpm_key_ref (self->op->tls_key) : NULL;
  g_task_set_task_data (task, make, (GDestroyNotify) make_key_free);
  g_task_run_in_thread (task, make_key);
}

/* Starts an operation that @task (nullable) waits for. */
static gboolean
begin (LkEnrollment *self, gboolean renew, GTask *task, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  Operation *op;

  if (renew && self->identity == NULL)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_NOT_ENROLLED, "there is no certificate to renew: enroll first");
      return FALSE;
    }
  op = self->op = g_new0 (Operation, 1);
  op->waiting = g_ptr_array_new_with_free_func (g_object_unref);
  if (task != NULL)
    g_ptr_array_add (op->waiting, g_object_ref (task));
  op->renew = renew;
  /* An expired certificate cannot renew itself: the bootstrap credential enrolls again, when there is one. */
  op->reenroll = renew && !(is_expired (self) && has_bootstrap (self));
  if (op->renew && !lk_identity_file_is (self->state_dir, self->replaced ? NULL : self->identity->cert->chain_pem))
    {
      notice_replaced (self, &local_error);
      finish (self, local_error);
      return TRUE;
    }
  if (op->reenroll)
    {
      op->tls_key = lk_tpm_key_ref (self->identity->key);
      op->auth.certificate = tls_certificate (TLS_NAME_IDENTITY, op->tls_key, self->identity->cert->leaf_der,
                                              &local_error);
    }
  else
    prepare_bootstrap (self, op, &local_error);
  if (local_error != NULL)
    {
      finish (self, local_error);
      return TRUE;
    }
  g_clear_handle_id (&self->attempt_source, g_source_remove);
  self->next_attempt = 0;
  set_state (self, self->identity != NULL && op->reenroll ? LK_CERT_RENEWING : LK_CERT_ENROLLING);
  lk_info ("enrollment", "%s at %s", op->reenroll ? "renewing" : "enrolling", self->config->est_url);
  lk_est_get_cacerts_async (self->est, op->auth.certificate, self->cancellable, on_cacerts, g_object_ref (self));
  return TRUE;
}

/* Starts or joins an operation; @task (nullable) gets its outcome. */
static void
run (LkEnrollment *self, gboolean renew, GTask *task)
{
  GError *error = NULL;

  if (self->op != NULL && self->op->renew != renew)
    {
      if (task != NULL)
        g_task_return_new_error (task, LK_ERROR, LK_ERROR_BUSY, "an %s is under way",
                                 self->op->renew ? "renewal" : "enrollment");
      return;
    }
  if (self->op == NULL)
    {
      if (!begin (self, renew, task, &error))
        {
          if (task != NULL)
            g_task_return_error (task, error);
          else
            g_error_free (error);
        }
      return;
    }
  if (task != NULL)
    g_ptr_array_add (self->op->waiting, g_object_ref (task));
}

LkEnrollment *
lk_enrollment_new (const LkConfig *config, LkTpmContext *ctx, const char *state_dir, GError **error)
{
  g_autoptr (LkEnrollment) self = g_object_new (LK_TYPE_ENROLLMENT, NULL);
  g_autoptr (GError) local_error = NULL;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self->config = config;
  self->ctx = lk_tpm_context_ref (ctx);
  self->state_dir = g_strdup (state_dir);
  if (!lk_tpm_gnutls_register_url_scheme (error))
    return NULL;
  self->est = lk_est_client_new (config->est_url, config->est_label, config->est_trust_anchors, error);
  if (self->est == NULL)
    return NULL;
  self->network = g_object_ref (g_network_monitor_get_default ());
  self->network_handler = g_signal_connect (self->network, "network-changed", G_CALLBACK (on_network_changed), self);
  self->identity = lk_identity_load (ctx, state_dir, &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  self->state = resting_state (self);
  return g_steal_pointer (&self);
}

void
lk_enrollment_start (LkEnrollment *self)
{
  if (self->identity == NULL)
    {
      lk_info ("enrollment", "no device certificate yet: enrolling with %s", self->config->est_url);
      run (self, FALSE, NULL);
      return;
    }
  lk_info ("enrollment", "device certificate %s, serial %s, valid until %" G_GINT64_FORMAT,
           self->identity->cert->subject, self->identity->cert->serial, self->identity->cert->not_after);
  schedule_identity (self);
  if (is_expired (self))
    lk_event (G_LOG_LEVEL_WARNING, "enrollment", LK_MESSAGE_CERT_EXPIRED,
              "the device certificate %s (serial %s) has expired", self->identity->cert->subject,
              self->identity->cert->serial);
}

void
lk_enrollment_stop (LkEnrollment *self)
{
  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->attempt_source, g_source_remove);
  g_clear_handle_id (&self->expiry_source, g_source_remove);
  if (self->op != NULL)
    {
      g_autoptr (GError) error = g_error_new (LK_ERROR, LK_ERROR_CANCELLED, "the daemon is stopping");
      Operation *op = g_steal_pointer (&self->op);

      for (guint i = 0; i < op->waiting->len; i++)
        g_task_return_error (op->waiting->pdata[i], g_error_copy (error));
      operation_free (op);
    }
}

void
lk_enrollment_run_async (LkEnrollment *self, gboolean renew, GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, NULL, callback, user_data);

  g_task_set_source_tag (task, lk_enrollment_run_async);
  run (self, renew, task);
}

gboolean
lk_enrollment_run_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

LkCertState
lk_enrollment_get_state (LkEnrollment *self)
{
  return self->state;
}

const LkCertificate *
lk_enrollment_get_certificate (LkEnrollment *self)
{
  return self->identity != NULL ? self->identity->cert : NULL;
}

const char *
lk_enrollment_get_failure (LkEnrollment *self)
{
  return self->failure;
}

gint64
lk_enrollment_get_next_attempt (LkEnrollment *self)
{
  return self->next_attempt;
}
