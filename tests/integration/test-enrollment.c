/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Enrollment and renewal over EST (RFC 7030) through the real daemon,
 * against the test EST server (tests/est/server.mjs) and a real swtpm:
 * first-boot enrollment with each bootstrap credential, renewal rotating
 * the TPM key (the old certificate no longer works at the server, the new
 * one does), retries while the server is down, the 202 flow, and every
 * answer that must be refused without touching what is stored.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <gnutls/x509.h>
#include <time.h>
#include <string.h>

#include "certificate.h"
#include "est-test.h"
#include "error.h"
#include "est.h"
#include "tpm/gnutls-key.h"

typedef struct {
  LkTestPeer *est;
  LkTestDaemon *daemon;
} Fixture;

/* @data: members of the EST server's configuration, or NULL. */
static void
fixture_setup (Fixture *f, gconstpointer data)
{
  lk_est_test_clear_state ();
  f->est = lk_test_peer_start ("est", "est", data ? (const char *) data : "", NULL);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  if (f->daemon != NULL)
    lk_est_test_stop_daemon (f->daemon);
  else
    lk_est_test_flush_tpm ();
  g_clear_pointer (&f->daemon, lk_test_daemon_free);
  lk_test_peer_free (f->est);
}

static char *
certificate_property (const char *name)
{
  return lk_test_property (LK_CERTIFICATE_INTERFACE, name);
}

static void
start_basic (Fixture *f, const char *more)
{
  g_autofree char *basic = lk_est_test_basic (f->est);
  g_autofree char *config = lk_est_test_config (f->est, basic, more);

  f->daemon = lk_test_daemon_start (config, NULL);
}

/* Nothing of an identity is stored. */
static void
assert_nothing_stored (void)
{
  g_autofree char *cert = lk_est_test_state_file ("identity.pem");
  g_autofree char *key = lk_est_test_state_file ("identity-key.pem");
  g_autofree char *next = lk_est_test_state_file ("identity-key.next.pem");

  g_assert_null (cert);
  g_assert_null (key);
  g_assert_null (next);
}

static void
assert_enrolled (Fixture *f)
{
  g_autofree char *subject = certificate_property ("Subject");
  g_autofree char *issuer = certificate_property ("Issuer");
  g_autofree char *failure = certificate_property ("Failure");
  g_autofree char *chain = lk_est_test_state_file ("identity.pem");
  g_autofree char *next = lk_est_test_state_file ("identity-key.next.pem");
  g_autofree char *key = lk_est_test_state_file ("identity-key.pem");

  g_assert_cmpstr (subject, ==, "CN=latchkey test device,O=latchkey");
  g_assert_cmpstr (issuer, ==, "CN=latchkey test fleet CA");
  g_assert_cmpstr (failure, ==, "");
  lk_est_test_assert_chain (chain, lk_test_peer_get (f->est, "EST_ISSUING_CA"));
  g_assert_nonnull (strstr (key, "-----BEGIN TSS2 PRIVATE KEY-----"));
  g_assert_null (next);
}

static void
test_basic (Fixture *f, gconstpointer data)
{
  g_autofree char *log = NULL;
  gint64 started = g_get_monotonic_time ();

  start_basic (f, "");
  lk_test_wait_property (LK_CERTIFICATE_INTERFACE, "State", "enrolled");
  g_test_message ("first-boot enrollment (Basic) took %.0f ms",
                  (double) (g_get_monotonic_time () - started) / 1000);
  assert_enrolled (f);
  g_assert_cmpuint (lk_est_test_count_issued (f->est, "simpleenroll", "basic"), ==, 1);
  g_assert_cmpuint (lk_est_test_count_issued (f->est, "simplereenroll", NULL), ==, 0);
  lk_test_wait_log (f->daemon, "enrolled as CN=latchkey test device,O=latchkey");
  /* The password is a secret: never in the log. */
  log = lk_test_daemon_log (f->daemon);
  g_assert_null (strstr (log, lk_test_peer_get (f->est, "EST_PASSWORD")));

  /* A restart finds the identity and does not enroll again. */
  g_assert_cmpint (lk_test_daemon_stop (f->daemon), ==, 0);
  g_clear_pointer (&f->daemon, lk_test_daemon_free);
  start_basic (f, "");
  lk_test_wait_property (LK_CERTIFICATE_INTERFACE, "State", "enrolled");
  g_assert_cmpuint (lk_est_test_count_requests (f->est, "simpleenroll", 0), ==, 1);

  /* The restarted daemon renews with the key it loaded from disk, asked by latchkeyctl. */
  {
    const char *renew[] = { "renew", NULL };
    const char *cert[] = { "cert", NULL };
    const char *cert_json[] = { "cert", "--json", NULL };
    g_autofree char *out = NULL;
    g_autofree char *serial = NULL;
    g_autofree char *expected = NULL;
    g_autoptr (JsonParser) parser = json_parser_new ();
    JsonObject *object;

    g_assert_cmpint (lk_test_run_built ("latchkeyctl", renew, &out, NULL), ==, 0);
    serial = certificate_property ("Serial");
    expected = g_strdup_printf ("Renewed: CN=latchkey test device,O=latchkey, serial %s\n", serial);
    g_assert_cmpstr (out, ==, expected);
    g_assert_cmpuint (lk_est_test_count_issued (f->est, "simplereenroll", "cert"), ==, 1);

    g_clear_pointer (&out, g_free);
    g_assert_cmpint (lk_test_run_built ("latchkeyctl", cert, &out, NULL), ==, 0);
    g_assert_nonnull (strstr (out, "  State         enrolled\n"));
    g_assert_nonnull (strstr (out, "  Subject       CN=latchkey test device,O=latchkey\n"));
    g_assert_nonnull (strstr (out, "  Issuer        CN=latchkey test fleet CA\n"));
    g_assert_nonnull (strstr (out, serial));
    /* A fresh certificate of an hour: the bar to expiry is empty. */
    g_assert_nonnull (strstr (out, "  Lifetime      [..............................] 0% used, "));
    g_assert_true (strstr (out, "used, 59 minutes left\n") != NULL || strstr (out, "used, 60 minutes left\n") != NULL);

    g_clear_pointer (&out, g_free);
    g_assert_cmpint (lk_test_run_built ("latchkeyctl", cert_json, &out, NULL), ==, 0);
    g_assert_true (json_parser_load_from_data (parser, out, -1, NULL));
    object = json_node_get_object (json_parser_get_root (parser));
    g_assert_cmpstr (json_object_get_string_member (object, "state"), ==, "enrolled");
    g_assert_cmpstr (json_object_get_string_member (object, "serial"), ==, serial);
    g_assert_cmpstr (json_object_get_string_member (object, "failure"), ==, "");
    g_assert_cmpint (json_object_get_int_member (object, "not_after")
                     - json_object_get_int_member (object, "not_before"), ==, 3600);
  }
}

/* The factory certificate, its key given as a systemd credential. */
static void
test_factory_certificate (Fixture *f, gconstpointer data)
{
  g_autofree char *credentials = lk_test_path ("credentials");
  g_autofree char *key = NULL;
  g_autofree char *bootstrap = NULL;
  g_autofree char *config = NULL;
  g_autofree char *key_copy = NULL;

  g_assert_cmpint (g_mkdir (credentials, 0700), ==, 0);
  g_assert_true (g_file_get_contents (lk_test_peer_get (f->est, "EST_BOOTSTRAP_KEY"), &key, NULL, NULL));
  key_copy = g_build_filename (credentials, "factory-key", NULL);
  g_assert_true (g_file_set_contents (key_copy, key, -1, NULL));
  g_setenv ("CREDENTIALS_DIRECTORY", credentials, TRUE);
  bootstrap = g_strdup_printf ("BootstrapCertificate=%s\nBootstrapKey=credential:factory-key\n",
                               lk_test_peer_get (f->est, "EST_BOOTSTRAP_CERT"));
  config = lk_est_test_config (f->est, bootstrap, "");
  f->daemon = lk_test_daemon_start (config, NULL);
  lk_test_wait_property (LK_CERTIFICATE_INTERFACE, "State", "enrolled");
  g_unsetenv ("CREDENTIALS_DIRECTORY");
  assert_enrolled (f);
  g_assert_cmpuint (lk_est_test_count_issued (f->est, "simpleenroll", "bootstrap-cert"), ==, 1);
  g_assert_cmpuint (lk_est_test_count_issued (f->est, "simpleenroll", "basic"), ==, 0);
}

/* A factory certificate from the bootstrap CA for @spki_der, PEM. */
static char *
issue_factory_certificate (Fixture *f, GBytes *spki_der)
{
  g_autofree char *ca_pem = NULL;
  g_autofree char *ca_key_pem = NULL;
  gnutls_x509_crt_t ca, crt;
  gnutls_x509_privkey_t ca_key;
  gnutls_pubkey_t pubkey;
  gnutls_datum_t datum, out = { NULL, 0 };
  gsize length;
  const guint8 serial[] = { 0x02, 0x17 };
  time_t now = time (NULL);
  char *pem;

  g_assert_true (g_file_get_contents (lk_test_peer_get (f->est, "EST_BOOTSTRAP_CA"), &ca_pem, NULL, NULL));
  g_assert_true (g_file_get_contents (lk_test_peer_get (f->est, "EST_BOOTSTRAP_CA_KEY"), &ca_key_pem, NULL, NULL));
  g_assert_cmpint (gnutls_x509_crt_init (&ca), ==, 0);
  datum = (gnutls_datum_t) { (unsigned char *) ca_pem, (unsigned) strlen (ca_pem) };
  g_assert_cmpint (gnutls_x509_crt_import (ca, &datum, GNUTLS_X509_FMT_PEM), ==, 0);
  g_assert_cmpint (gnutls_x509_privkey_init (&ca_key), ==, 0);
  datum = (gnutls_datum_t) { (unsigned char *) ca_key_pem, (unsigned) strlen (ca_key_pem) };
  g_assert_cmpint (gnutls_x509_privkey_import (ca_key, &datum, GNUTLS_X509_FMT_PEM), ==, 0);
  g_assert_cmpint (gnutls_pubkey_init (&pubkey), ==, 0);
  datum.data = (unsigned char *) g_bytes_get_data (spki_der, &length);
  datum.size = (unsigned) length;
  g_assert_cmpint (gnutls_pubkey_import (pubkey, &datum, GNUTLS_X509_FMT_DER), ==, 0);

  g_assert_cmpint (gnutls_x509_crt_init (&crt), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_version (crt, 3), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_serial (crt, serial, sizeof serial), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_activation_time (crt, now - 60), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_expiration_time (crt, now + 86400), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_dn (crt, "CN=latchkey factory device 0002", NULL), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_pubkey (crt, pubkey), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_key_usage (crt, GNUTLS_KEY_DIGITAL_SIGNATURE), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_key_purpose_oid (crt, GNUTLS_KP_TLS_WWW_CLIENT, 0), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_sign2 (crt, ca, ca_key, GNUTLS_DIG_SHA256, 0), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_export2 (crt, GNUTLS_X509_FMT_PEM, &out), ==, 0);
  pem = g_strndup ((const char *) out.data, out.size);
  gnutls_free (out.data);
  gnutls_x509_crt_deinit (crt);
  gnutls_x509_crt_deinit (ca);
  gnutls_x509_privkey_deinit (ca_key);
  gnutls_pubkey_deinit (pubkey);
  return pem;
}

/* The factory key in this TPM, a TSS2 PRIVATE KEY, as a device would leave the factory. */
static void
test_factory_tpm_key (Fixture *f, gconstpointer data)
{
  g_autofree char *key_path = lk_test_path ("factory-tpm-key.pem");
  g_autofree char *cert_pem = NULL;
  g_autofree char *cert_path = NULL;
  g_autofree char *bootstrap = NULL;
  g_autofree char *config = NULL;
  g_autoptr (GError) error = NULL;

  {
    g_autoptr (LkTpmContext) ctx = lk_tpm_context_new (lk_test_env ("LATCHKEY_TEST_TCTI"), &error);
    g_autoptr (LkTpmKey) key = NULL;
    g_autoptr (GBytes) spki = NULL;

    g_assert_no_error (error);
    key = lk_tpm_key_create (ctx, &error);
    g_assert_no_error (error);
    g_assert_true (lk_tpm_key_save (key, key_path, &error));
    spki = lk_tpm_key_get_public_der (key, &error);
    g_assert_no_error (error);
    cert_pem = issue_factory_certificate (f, spki);
  }
  lk_est_test_flush_tpm ();
  cert_path = lk_test_write_file ("factory-tpm.pem", cert_pem);
  bootstrap = g_strdup_printf ("BootstrapCertificate=%s\nBootstrapKey=%s\n", cert_path, key_path);
  config = lk_est_test_config (f->est, bootstrap, "");
  f->daemon = lk_test_daemon_start (config, NULL);
  lk_test_wait_property (LK_CERTIFICATE_INTERFACE, "State", "enrolled");
  assert_enrolled (f);
  g_assert_cmpuint (lk_est_test_count_issued (f->est, "simpleenroll", "bootstrap-cert"), ==, 1);
}

typedef struct {
  char *cert_pem;
  char *key_path;
} Saved;

static Saved
save_identity (const char *tag)
{
  g_autofree char *name = g_strdup_printf ("saved-key-%s.pem", tag);
  g_autofree char *key = lk_est_test_state_file ("identity-key.pem");
  Saved saved = { lk_est_test_state_file ("identity.pem"), lk_test_write_file (name, key) };

  return saved;
}

/* /simplereenroll with a saved identity, from this process, as the daemon does it. */
static GError *
reenroll_with (Fixture *f, LkTpmContext *ctx, const Saved *saved)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LkTpmKey) key = lk_tpm_key_load (ctx, saved->key_path, &error);
  g_autoptr (LkCertificate) cert = lk_certificate_from_pem (saved->cert_pem, strlen (saved->cert_pem), "saved",
                                                            &error);
  g_autoptr (GBytes) spki = lk_tpm_key_get_public_der (key, &error);
  gnutls_privkey_t privkey = lk_tpm_gnutls_privkey_new (key, &error);
  g_autoptr (GBytes) csr = lk_certificate_request_new (privkey, spki, cert->subject, &error);
  g_autoptr (LkEstClient) client = lk_est_client_new (lk_test_peer_get (f->est, "EST_URL"), NULL,
                                                      lk_test_peer_get (f->est, "EST_CA"), &error);
  g_autofree char *cert_url = lk_tpm_gnutls_cert_url ("saved");
  g_autofree char *key_url = lk_tpm_gnutls_key_url ("saved");
  g_autoptr (GTlsCertificate) tls = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GPtrArray) certs = NULL;
  LkEstAuth auth = { NULL, NULL, NULL };
  guint retry_after = 0;

  g_assert_no_error (error);
  gnutls_privkey_deinit (privkey);
  g_assert_true (lk_tpm_gnutls_publish ("saved", key, cert->leaf_der, &error));
  tls = g_tls_certificate_new_from_pkcs11_uris (cert_url, key_url, &error);
  g_assert_no_error (error);
  auth.certificate = tls;
  lk_est_enroll_async (client, TRUE, csr, &auth, NULL, lk_test_on_result, &result);
  certs = lk_est_enroll_finish (lk_test_wait_result (&result), &retry_after, &error);
  lk_tpm_gnutls_withdraw ("saved");
  if (certs != NULL)
    g_assert_cmpuint (certs->len, ==, 1);
  return g_steal_pointer (&error);
}

static void
test_renewal_rotates_key (Fixture *f, gconstpointer data)
{
  g_autofree char *serial = NULL;
  g_autofree char *renewed = NULL;
  g_autoptr (LkTpmContext) ctx = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) old_refused = NULL;
  g_autoptr (GError) new_accepted = NULL;
  Saved old, new;
  gint64 started;

  start_basic (f, "RenewAtPercent=10\nRenewJitterPercent=0\n");
  lk_test_wait_property (LK_CERTIFICATE_INTERFACE, "State", "enrolled");
  serial = certificate_property ("Serial");
  old = save_identity ("old");
  started = g_get_monotonic_time ();
  renewed = lk_est_test_wait_change ("Serial", serial);
  lk_test_wait_property (LK_CERTIFICATE_INTERFACE, "State", "enrolled");
  g_test_message ("renewed %.0f ms after enrollment was seen (due at 10%% of a 20 s lifetime)",
                  (double) (g_get_monotonic_time () - started) / 1000);
  assert_enrolled (f);
  new = save_identity ("new");
  g_assert_cmpstr (old.cert_pem, !=, new.cert_pem);
  lk_test_wait_log (f->daemon, "renewed the device certificate");
  g_assert_cmpuint (lk_est_test_count_issued (f->est, "simplereenroll", "cert"), >=, 1);
  {
    g_autoptr (JsonObject) log = lk_est_test_log (f->est);
    JsonArray *issued = json_object_get_array_member (log, "issued");
    JsonObject *first = json_array_get_object_element (issued, 0);
    JsonObject *second = json_array_get_object_element (issued, 1);

    /* A new key: the renewal's request is for another public key than the first certificate's. */
    g_assert_cmpstr (json_object_get_string_member (second, "operation"), ==, "simplereenroll");
    g_assert_cmpstr (json_object_get_string_member (first, "spkiSha256"), !=,
                     json_object_get_string_member (second, "spkiSha256"));
    g_assert_cmpstr (json_object_get_string_member (second, "csrSpkiSha256"), ==,
                     json_object_get_string_member (second, "spkiSha256"));
  }

  /* The TPM is the test's once the daemon is gone. */
  g_assert_cmpint (lk_test_daemon_stop (f->daemon), ==, 0);
  g_clear_pointer (&f->daemon, lk_test_daemon_free);
  g_assert_true (lk_tpm_gnutls_register_url_scheme (&error));
  ctx = lk_tpm_context_new (lk_test_env ("LATCHKEY_TEST_TCTI"), &error);
  g_assert_no_error (error);
  old_refused = reenroll_with (f, ctx, &old);
  g_assert_error (old_refused, LK_ERROR, LK_ERROR_DENIED);
  g_assert_nonnull (strstr (old_refused->message, "HTTP 403: certificate"));
  g_assert_nonnull (strstr (old_refused->message, "was replaced by a newer one for its subject"));
  new_accepted = reenroll_with (f, ctx, &new);
  g_assert_no_error (new_accepted);
  g_free (old.cert_pem);
  g_free (old.key_path);
  g_free (new.cert_pem);
  g_free (new.key_path);
}

/*
 * The server no longer takes the stored certificate for renewal (it issued
 * a newer one the daemon never got, as when a crash comes between issuance
 * and commit): the bootstrap credential enrolls the device again.
 */
static void
test_refused_renewal (Fixture *f, gconstpointer data)
{
  g_autoptr (LkTpmContext) ctx = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) elsewhere = NULL;
  g_autofree char *result = NULL;
  g_autofree char *serial = NULL;
  g_autofree char *after = NULL;
  Saved current;

  start_basic (f, "");
  lk_test_wait_property (LK_CERTIFICATE_INTERFACE, "State", "enrolled");
  serial = certificate_property ("Serial");
  current = save_identity ("current");
  lk_est_test_stop_daemon (f->daemon);
  g_clear_pointer (&f->daemon, lk_test_daemon_free);
  g_assert_true (lk_tpm_gnutls_register_url_scheme (&error));
  ctx = lk_tpm_context_new (lk_test_env ("LATCHKEY_TEST_TCTI"), &error);
  g_assert_no_error (error);
  elsewhere = reenroll_with (f, ctx, &current);
  g_assert_no_error (elsewhere);
  g_clear_pointer (&ctx, lk_tpm_context_unref);
  lk_est_test_flush_tpm ();

  start_basic (f, "");
  result = lk_test_call (-1, LK_CERTIFICATE_INTERFACE, "Renew", NULL);
  g_assert_cmpstr (result, ==, "ok");
  after = certificate_property ("Serial");
  g_assert_cmpstr (after, !=, serial);
  assert_enrolled (f);
  lk_test_wait_log (f->daemon, "the EST server refused the renewal");
  g_assert_cmpuint (lk_est_test_count_requests (f->est, "simplereenroll", 403), ==, 1);
  g_assert_cmpuint (lk_est_test_count_issued (f->est, "simpleenroll", "basic"), ==, 2);
  g_free (current.cert_pem);
  g_free (current.key_path);
}

static void
test_server_down (Fixture *f, gconstpointer data)
{
  g_autofree char *serial = NULL;
  g_autofree char *failure = NULL;
  g_autofree char *renewed = NULL;
  g_autofree char *after = NULL;

  start_basic (f, "RenewAtPercent=10\nRenewJitterPercent=0\n");
  lk_test_wait_property (LK_CERTIFICATE_INTERFACE, "State", "enrolled");
  serial = certificate_property ("Serial");
  lk_est_test_switch (f->est, "\"down\": true");
  failure = lk_est_test_wait_change ("Failure", "");
  g_assert_nonnull (strstr (failure, "/cacerts: "));
  after = certificate_property ("Serial");
  g_assert_cmpstr (after, ==, serial);
  lk_test_wait_log (f->daemon, "next attempt in");
  lk_est_test_switch (f->est, "\"down\": false");
  renewed = lk_est_test_wait_change ("Serial", serial);
  lk_test_wait_property (LK_CERTIFICATE_INTERFACE, "Failure", "");
  lk_test_wait_property (LK_CERTIFICATE_INTERFACE, "State", "enrolled");
  assert_enrolled (f);
}

/*
 * Renewal fails until the certificate expires: a state of its own, signalled,
 * with warnings before; once the server is back, the bootstrap credential
 * enrolls the device again.
 */
static void
test_expired (Fixture *f, gconstpointer data)
{
  g_autofree char *serial = NULL;
  g_autofree char *renewed = NULL;

  start_basic (f, "RenewAtPercent=10\nRenewJitterPercent=0\n");
  lk_test_wait_property (LK_CERTIFICATE_INTERFACE, "State", "enrolled");
  serial = certificate_property ("Serial");
  lk_est_test_switch (f->est, "\"down\": true");
  lk_test_wait_property (LK_CERTIFICATE_INTERFACE, "State", "expired");
  lk_test_wait_log (f->daemon, "and is not renewed");
  lk_test_wait_log (f->daemon, "has expired");
  lk_est_test_switch (f->est, "\"down\": false");
  renewed = lk_est_test_wait_change ("Serial", serial);
  lk_test_wait_property (LK_CERTIFICATE_INTERFACE, "State", "enrolled");
  assert_enrolled (f);
  {
    /* The certificate after the expired one came from the bootstrap credential: renewals come only after it. */
    g_autoptr (JsonObject) log = lk_est_test_log (f->est);
    JsonArray *issued = json_object_get_array_member (log, "issued");

    for (guint i = 0; i < 2; i++)
      {
        JsonObject *entry = json_array_get_object_element (issued, i);

        g_assert_cmpstr (json_object_get_string_member (entry, "operation"), ==, "simpleenroll");
        g_assert_cmpstr (json_object_get_string_member (entry, "auth"), ==, "basic");
      }
  }
}

/* Two 202s with Retry-After: 1, then the certificate. */
static void
test_retry_after (Fixture *f, gconstpointer data)
{
  start_basic (f, "");
  lk_test_wait_property (LK_CERTIFICATE_INTERFACE, "State", "enrolled");
  assert_enrolled (f);
  g_assert_cmpuint (lk_est_test_count_requests (f->est, "simpleenroll", 202), ==, 2);
  g_assert_cmpuint (lk_est_test_count_requests (f->est, "simpleenroll", 200), ==, 1);
  lk_test_wait_log (f->daemon, "the EST server accepted the request for later: asking again in 1 s");
}

/* A first enrollment that fails, leaving nothing behind; returns why. */
static char *
start_failing (Fixture *f)
{
  g_autofree char *failure = NULL;
  g_autofree char *state = NULL;

  start_basic (f, "");
  failure = lk_est_test_wait_change ("Failure", "");
  state = certificate_property ("State");
  g_assert_cmpstr (state, ==, "unenrolled");
  assert_nothing_stored ();
  return g_steal_pointer (&failure);
}

static void
test_wrong_server_certificate (Fixture *f, gconstpointer data)
{
  g_autofree char *failure = start_failing (f);

  g_assert_nonnull (strstr (failure, "/cacerts: TLS: "));
  g_assert_nonnull (strstr (failure, lk_test_peer_get (f->est, "EST_CA")));
  g_assert_cmpuint (lk_est_test_count_requests (f->est, "cacerts", 0), ==, 0);
}

static void
test_malformed_pkcs7 (Fixture *f, gconstpointer data)
{
  g_autofree char *failure = start_failing (f);

  g_assert_nonnull (strstr (failure, "not a certs-only PKCS#7 in base64"));
  g_assert_cmpuint (lk_est_test_count_issued (f->est, "simpleenroll", NULL), ==, 0);
}

/*
 * A CA whose clock is ahead of the device's issues certificates that start
 * after the device's "now": a minute is the device's clock being behind,
 * and accepted; an hour is a clock to fix, and refused.
 */
static void
test_clock_behind (Fixture *f, gconstpointer data)
{
  g_autofree char *not_before = NULL;
  g_autofree char *issuer = NULL;
  g_autofree char *failure = NULL;

  start_basic (f, "");
  lk_test_wait_property (LK_CERTIFICATE_INTERFACE, "State", "enrolled");
  issuer = certificate_property ("Issuer");
  g_assert_cmpstr (issuer, ==, "CN=latchkey test fleet CA");
  failure = certificate_property ("Failure");
  g_assert_cmpstr (failure, ==, "");
  not_before = certificate_property ("NotBefore");
  g_assert_cmpint (g_ascii_strtoll (not_before, NULL, 10), >, g_get_real_time () / G_USEC_PER_SEC + 50);
}

static void
test_clock_far_behind (Fixture *f, gconstpointer data)
{
  g_autofree char *failure = start_failing (f);

  if (!g_regex_match_simple ("^the issued certificate is valid from \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ, "
                             "(3600|3599) s ahead of this device's clock: is the clock right\\?$",
                             failure, 0, 0))
    g_error ("unexpected failure: %s", failure);
  g_assert_cmpuint (lk_est_test_count_issued (f->est, "simpleenroll", NULL), ==, 1);
}

/* A certificate for another key is refused, and the identity in force stays as it was. */
static void
test_wrong_key (Fixture *f, gconstpointer data)
{
  g_autofree char *serial = NULL;
  g_autofree char *result = NULL;
  g_autofree char *after = NULL;
  g_autofree char *state = NULL;
  g_autofree char *chain = NULL;
  g_autofree char *key = NULL;
  g_autofree char *chain_after = NULL;
  g_autofree char *key_after = NULL;
  g_autofree char *next = NULL;

  start_basic (f, "");
  lk_test_wait_property (LK_CERTIFICATE_INTERFACE, "State", "enrolled");
  serial = certificate_property ("Serial");
  chain = lk_est_test_state_file ("identity.pem");
  key = lk_est_test_state_file ("identity-key.pem");
  lk_est_test_switch (f->est, "\"wrongKey\": true");
  result = lk_test_call (-1, LK_CERTIFICATE_INTERFACE, "Renew", NULL);
  g_assert_cmpstr (result, ==, "error io.latchkey.Agent1.Error.Protocol: "
                               "the server issued no certificate for our key (1 certificate for other keys)");
  after = certificate_property ("Serial");
  g_assert_cmpstr (after, ==, serial);
  state = certificate_property ("State");
  g_assert_cmpstr (state, ==, "enrolled");
  chain_after = lk_est_test_state_file ("identity.pem");
  key_after = lk_est_test_state_file ("identity-key.pem");
  next = lk_est_test_state_file ("identity-key.next.pem");
  g_assert_cmpstr (chain_after, ==, chain);
  g_assert_cmpstr (key_after, ==, key);
  g_assert_null (next);
  g_assert_cmpuint (lk_est_test_count_issued (f->est, "simplereenroll", "cert"), ==, 1);
}

/* identity.pem replaced from outside by a certificate not ours: noticed, not overwritten. */
static void
test_replaced_from_outside (Fixture *f, gconstpointer data)
{
  g_autofree char *factory = NULL;
  g_autofree char *result = NULL;
  g_autofree char *path = g_build_filename (lk_test_env ("LATCHKEY_TEST_STATE_DIR"), "identity.pem", NULL);
  g_autofree char *after = NULL;

  start_basic (f, "");
  lk_test_wait_property (LK_CERTIFICATE_INTERFACE, "State", "enrolled");
  g_assert_true (g_file_get_contents (lk_test_peer_get (f->est, "EST_BOOTSTRAP_CERT"), &factory, NULL, NULL));
  g_assert_true (g_file_set_contents (path, factory, -1, NULL));
  result = lk_test_call (-1, LK_CERTIFICATE_INTERFACE, "Renew", NULL);
  g_assert_cmpstr (result, ==, "error io.latchkey.Agent1.Error.StateDir: the certificate file was replaced from "
                               "outside and is not ours: not overwritten (latchkeyctl enroll replaces it)");
  after = lk_est_test_state_file ("identity.pem");
  g_assert_cmpstr (after, ==, factory);
  g_assert_cmpuint (lk_est_test_count_requests (f->est, "simplereenroll", 0), ==, 0);
  lk_test_wait_log (f->daemon, "was replaced from outside and is not a chain for our key");

  /* An enrollment asked for by an administrator replaces it. */
  g_free (result);
  result = lk_test_call (-1, LK_CERTIFICATE_INTERFACE, "Enroll", NULL);
  g_assert_cmpstr (result, ==, "ok");
  assert_enrolled (f);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, data, func) \
  g_test_add (path, Fixture, data, fixture_setup, func, fixture_teardown)
  ADD ("/enrollment/basic", NULL, test_basic);
  ADD ("/enrollment/factory-certificate", NULL, test_factory_certificate);
  ADD ("/enrollment/factory-tpm-key", NULL, test_factory_tpm_key);
  ADD ("/enrollment/renewal-rotates-key", "\"lifetime\": 20", test_renewal_rotates_key);
  ADD ("/enrollment/refused-renewal-enrolls-again", NULL, test_refused_renewal);
  ADD ("/enrollment/server-down", "\"lifetime\": 20", test_server_down);
  ADD ("/enrollment/expired", "\"lifetime\": 5", test_expired);
  ADD ("/enrollment/retry-after", "\"retryAfter\": 1, \"retryCount\": 2", test_retry_after);
  ADD ("/enrollment/wrong-server-certificate", "\"wrongServerCert\": true", test_wrong_server_certificate);
  ADD ("/enrollment/malformed-pkcs7", "\"malformedPkcs7\": true", test_malformed_pkcs7);
  ADD ("/enrollment/clock-behind", "\"startsIn\": 60", test_clock_behind);
  ADD ("/enrollment/clock-far-behind", "\"startsIn\": 3600", test_clock_far_behind);
  ADD ("/enrollment/wrong-key", NULL, test_wrong_key);
  ADD ("/enrollment/replaced-from-outside", NULL, test_replaced_from_outside);
  return g_test_run ();
}
