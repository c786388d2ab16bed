/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

#include <gio/gio.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <libsoup/soup.h>

#include "tests/tpm/tpm-test-util.h"
#include "tpm/gnutls-key.h"

#define CLIENT_CN "latchkey-test-device"
#define TLS13 "NORMAL:-VERS-ALL:+VERS-TLS1.3"
#define TLS12 "NORMAL:-VERS-ALL:+VERS-TLS1.2"

typedef struct {
  LkTpmContext *ctx;
  LkTpmKey *key;
  gnutls_privkey_t pkey;
  char *dir;
  char *ca;
  char *server_cert;
  char *server_key;
  char *client_cert;
  GSubprocess *server;
  guint16 port;
} Fixture;

static char *
path_in (Fixture    *fixture,
         const char *name)
{
  return g_build_filename (fixture->dir, name, NULL);
}

static char *
run (const char * const *argv)
{
  g_autoptr(GError) error = NULL;
  char *out = lk_test_run (argv, NULL, &error);

  g_assert_no_error (error);
  return out;
}

static void
write_text (Fixture    *fixture,
            const char *name,
            const char *text)
{
  g_autofree char *path = path_in (fixture, name);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
}

static void
make_certified_key (Fixture    *fixture,
                    const char *name,
                    const char *template)
{
  g_autofree char *key = g_strdup_printf ("%s/%s-key.pem", fixture->dir, name);
  g_autofree char *cert = g_strdup_printf ("%s/%s.pem", fixture->dir, name);
  g_autofree char *tmpl_name = g_strdup_printf ("%s.tmpl", name);
  g_autofree char *tmpl = path_in (fixture, tmpl_name);
  g_autofree char *ca_key = path_in (fixture, "ca-key.pem");
  const char *genkey[] = { "certtool", "--generate-privkey", "--key-type=ecdsa",
                           "--outfile", key, NULL };
  const char *self_signed[] = { "certtool", "--generate-self-signed",
                                "--load-privkey", key, "--template", tmpl,
                                "--outfile", cert, NULL };
  const char *issued[] = { "certtool", "--generate-certificate",
                           "--load-privkey", key, "--load-ca-certificate", fixture->ca,
                           "--load-ca-privkey", ca_key, "--template", tmpl,
                           "--outfile", cert, NULL };

  write_text (fixture, tmpl_name, template);
  g_free (run (genkey));
  g_free (run (fixture->ca == NULL ? self_signed : issued));
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  (void) data;
  fixture->dir = lk_test_make_tmp_dir ();

  make_certified_key (fixture, "ca",
                      "cn = latchkey test CA\nca\ncert_signing_key\nexpiration_days = 2\n");
  fixture->ca = path_in (fixture, "ca.pem");
  make_certified_key (fixture, "server",
                      "cn = localhost\ndns_name = localhost\nip_address = 127.0.0.1\n"
                      "tls_www_server\nsigning_key\nexpiration_days = 2\n");
  fixture->server_cert = path_in (fixture, "server.pem");
  fixture->server_key = path_in (fixture, "server-key.pem");

  fixture->ctx = lk_tpm_context_new (lk_test_tcti (), &error);
  g_assert_no_error (error);
  fixture->key = lk_tpm_key_create (fixture->ctx, &error);
  g_assert_no_error (error);
  fixture->pkey = lk_tpm_gnutls_privkey_new (fixture->key, &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  (void) data;
  if (fixture->server != NULL)
    {
      g_subprocess_force_exit (fixture->server);
      g_subprocess_wait (fixture->server, NULL, NULL);
      g_object_unref (fixture->server);
    }
  lk_tpm_gnutls_withdraw ("device");
  gnutls_privkey_deinit (fixture->pkey);
  lk_tpm_key_unref (fixture->key);
  lk_tpm_context_unref (fixture->ctx);
  lk_test_remove_tree (fixture->dir);
  g_free (fixture->dir);
  g_free (fixture->ca);
  g_free (fixture->server_cert);
  g_free (fixture->server_key);
  g_free (fixture->client_cert);
}

static gnutls_datum_t
read_file (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *contents = NULL;
  gsize len = 0;

  g_file_get_contents (path, &contents, &len, &error);
  g_assert_no_error (error);
  return (gnutls_datum_t) { (unsigned char *) contents, (unsigned) len };
}

/* Writes a CSR signed by the TPM key and returns its path. */
static char *
write_csr (Fixture *fixture)
{
  g_autofree char *path = path_in (fixture, "device.csr");
  gnutls_x509_crq_t crq;
  gnutls_pubkey_t pubkey;
  gnutls_datum_t pem;

  g_assert_cmpint (gnutls_x509_crq_init (&crq), ==, 0);
  g_assert_cmpint (gnutls_pubkey_init (&pubkey), ==, 0);
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) spki = lk_tpm_key_get_public_der (fixture->key, &error);
    gnutls_datum_t der;
    gsize len;

    g_assert_no_error (error);
    der.data = (unsigned char *) g_bytes_get_data (spki, &len);
    der.size = (unsigned) len;
    g_assert_cmpint (gnutls_pubkey_import (pubkey, &der, GNUTLS_X509_FMT_DER), ==, 0);
  }
  g_assert_cmpint (gnutls_x509_crq_set_dn (crq, "CN=" CLIENT_CN, NULL), ==, 0);
  g_assert_cmpint (gnutls_x509_crq_set_pubkey (crq, pubkey), ==, 0);
  g_assert_cmpint (gnutls_x509_crq_privkey_sign (crq, fixture->pkey, GNUTLS_DIG_SHA256, 0), ==, 0);
  g_assert_cmpint (gnutls_x509_crq_export2 (crq, GNUTLS_X509_FMT_PEM, &pem), ==, 0);

  {
    g_autoptr(GError) error = NULL;

    g_file_set_contents (path, (const char *) pem.data, pem.size, &error);
    g_assert_no_error (error);
  }
  gnutls_free (pem.data);
  gnutls_pubkey_deinit (pubkey);
  gnutls_x509_crq_deinit (crq);
  return g_steal_pointer (&path);
}

static void
issue_client_cert (Fixture *fixture)
{
  g_autofree char *csr = write_csr (fixture);
  g_autofree char *ca_key = path_in (fixture, "ca-key.pem");
  g_autofree char *tmpl = path_in (fixture, "client.tmpl");
  const char *issue[] = { "certtool", "--generate-certificate", "--load-request", csr,
                          "--load-ca-certificate", fixture->ca,
                          "--load-ca-privkey", ca_key, "--template", tmpl,
                          "--outfile", NULL, NULL };

  fixture->client_cert = path_in (fixture, "client.pem");
  issue[11] = fixture->client_cert;
  write_text (fixture, "client.tmpl",
              "cn = " CLIENT_CN "\ntls_www_client\nsigning_key\nexpiration_days = 2\n");
  g_free (run (issue));
}

/* A failed assertion skips the tear-down: the server must not outlive us. */
static void
die_with_parent (gpointer user_data)
{
  (void) user_data;
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

static void
start_server (Fixture    *fixture,
              const char *priority)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *port = NULL;

  fixture->port = lk_test_free_port ();
  port = g_strdup_printf ("%u", fixture->port);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                        G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  fixture->server = g_subprocess_launcher_spawn (launcher, &error,
                                                 "gnutls-serv", "--port", port,
                                                 "--x509cafile", fixture->ca,
                                                 "--x509certfile", fixture->server_cert,
                                                 "--x509keyfile", fixture->server_key,
                                                 "--http", "--require-client-cert",
                                                 "--verify-client-cert",
                                                 "--priority", priority, NULL);
  g_assert_no_error (error);
  lk_test_wait_for_port (fixture->port);
}

static void
test_csr (Fixture       *fixture,
          gconstpointer  data)
{
  g_autofree char *csr = write_csr (fixture);
  const char *info[] = { "certtool", "--crq-info", "--infile", csr, NULL };
  g_autofree char *out = run (info);

  (void) data;
  g_assert_nonnull (strstr (out, "Self signature: verified"));
  g_assert_nonnull (strstr (out, "CN=" CLIENT_CN));
  g_assert_nonnull (strstr (out, "ECDSA-SHA256"));
}

/* gnutls-serv answers with an HTML page describing the session. */
static void
assert_server_saw_client (const char *page,
                          const char *version)
{
  g_autofree char *version_cell = g_strdup_printf ("<TD>%s</TD>", version);

  g_assert_nonnull (strstr (page, CLIENT_CN));
  g_assert_nonnull (strstr (page, version_cell));
}

static void
test_handshake (Fixture       *fixture,
                gconstpointer  data)
{
  const char *priority = data;
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) conn = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) page = g_string_new (NULL);
  gnutls_certificate_credentials_t creds;
  gnutls_session_t session;
  gnutls_pcert_st pcert;
  gnutls_privkey_t pkey;
  gnutls_datum_t cert_pem;
  const char request[] = "GET / HTTP/1.0\r\n\r\n";
  char buffer[4096];
  guint64 before;
  ssize_t n;
  int fd;

  issue_client_cert (fixture);
  start_server (fixture, priority);

  g_assert_cmpint (gnutls_certificate_allocate_credentials (&creds), ==, 0);
  g_assert_cmpint (gnutls_certificate_set_x509_trust_file (creds, fixture->ca,
                                                           GNUTLS_X509_FMT_PEM), ==, 1);
  cert_pem = read_file (fixture->client_cert);
  g_assert_cmpint (gnutls_pcert_import_x509_raw (&pcert, &cert_pem, GNUTLS_X509_FMT_PEM, 0), ==, 0);
  g_free (cert_pem.data);
  /* The credentials take ownership of the certificate's contents and of
   * the key. */
  pkey = lk_tpm_gnutls_privkey_new (fixture->key, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gnutls_certificate_set_key (creds, NULL, 0, &pcert, 1, pkey), >=, 0);

  conn = g_socket_client_connect_to_host (client, "127.0.0.1", fixture->port, NULL, &error);
  g_assert_no_error (error);

  g_assert_cmpint (gnutls_init (&session, GNUTLS_CLIENT), ==, 0);
  g_assert_cmpint (gnutls_set_default_priority (session), ==, 0);
  g_assert_cmpint (gnutls_credentials_set (session, GNUTLS_CRD_CERTIFICATE, creds), ==, 0);
  gnutls_session_set_verify_cert (session, "127.0.0.1", 0);
  fd = g_socket_get_fd (g_socket_connection_get_socket (conn));
  /* GSocket made it non-blocking; this client is synchronous. */
  g_assert_cmpint (fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) & ~O_NONBLOCK), ==, 0);
  gnutls_transport_set_int (session, fd);

  before = lk_tpm_context_get_command_count (fixture->ctx);
  g_assert_cmpint (gnutls_handshake (session), ==, 0);
  /* One TPM signature per handshake. */
  g_assert_cmpuint (lk_tpm_context_get_command_count (fixture->ctx) - before, ==, 1);
  g_assert_cmpint (gnutls_certificate_client_get_request_status (session), !=, 0);

  g_assert_cmpint (gnutls_record_send (session, request, strlen (request)), ==, strlen (request));
  /* A TLS 1.3 session ticket arriving first surfaces as GNUTLS_E_AGAIN. */
  while ((n = gnutls_record_recv (session, buffer, sizeof buffer)) > 0 ||
         n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
    if (n > 0)
      g_string_append_len (page, buffer, n);
  assert_server_saw_client (page->str, strstr (priority, "1.3") != NULL ? "TLS1.3" : "TLS1.2");

  gnutls_deinit (session);
  gnutls_certificate_free_credentials (creds);
}

static void
test_soup (Fixture       *fixture,
           gconstpointer  data)
{
  const char *priority = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) cert_der = NULL;
  g_autoptr(GTlsDatabase) trust = NULL;
  g_autoptr(GTlsCertificate) identity = NULL;
  g_autoptr(SoupSession) session = NULL;
  g_autoptr(SoupMessage) message = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autofree char *key_url = lk_tpm_gnutls_key_url ("device");
  g_autofree char *cert_url = lk_tpm_gnutls_cert_url ("device");
  g_autofree char *uri = NULL;
  g_autofree char *page = NULL;
  gnutls_x509_crt_t crt;
  gnutls_datum_t pem, der;

  issue_client_cert (fixture);
  start_server (fixture, priority);

  pem = read_file (fixture->client_cert);
  g_assert_cmpint (gnutls_x509_crt_init (&crt), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_import (crt, &pem, GNUTLS_X509_FMT_PEM), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_export2 (crt, GNUTLS_X509_FMT_DER, &der), ==, 0);
  cert_der = g_bytes_new (der.data, der.size);
  gnutls_free (der.data);
  gnutls_x509_crt_deinit (crt);
  g_free (pem.data);

  g_assert_true (lk_tpm_gnutls_publish ("device", fixture->key, cert_der, &error));
  g_assert_no_error (error);

  identity = g_tls_certificate_new_from_pkcs11_uris (cert_url, key_url, &error);
  g_assert_no_error (error);
  trust = g_tls_file_database_new (fixture->ca, &error);
  g_assert_no_error (error);

  session = soup_session_new ();
  soup_session_set_tls_database (session, trust);
  uri = g_strdup_printf ("https://127.0.0.1:%u/", fixture->port);
  message = soup_message_new ("GET", uri);
  soup_message_set_tls_client_certificate (message, identity);

  body = soup_session_send_and_read (session, message, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (message), ==, SOUP_STATUS_OK);
  page = g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
  assert_server_saw_client (page, strstr (priority, "1.3") != NULL ? "TLS1.3" : "TLS1.2");
}

static void
test_publish_mismatch (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) server_der = NULL;
  gnutls_x509_crt_t crt;
  gnutls_datum_t pem, der;

  (void) data;
  pem = read_file (fixture->server_cert);
  g_assert_cmpint (gnutls_x509_crt_init (&crt), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_import (crt, &pem, GNUTLS_X509_FMT_PEM), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_export2 (crt, GNUTLS_X509_FMT_DER, &der), ==, 0);
  server_der = g_bytes_new (der.data, der.size);
  gnutls_free (der.data);
  gnutls_x509_crt_deinit (crt);
  g_free (pem.data);

  g_assert_false (lk_tpm_gnutls_publish ("device", fixture->key, server_der, &error));
  g_assert_error (error, LK_TPM_ERROR, LK_TPM_ERROR_FAILED);
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;

  lk_test_init (&argc, &argv);
  /* Before glib-networking starts any handshake thread. */
  lk_tpm_gnutls_register_url_scheme (&error);
  g_assert_no_error (error);
  g_assert_true (lk_tpm_gnutls_register_url_scheme (&error));

#define ADD(path, data, func) \
  g_test_add (path, Fixture, data, fixture_set_up, func, fixture_tear_down)
  ADD ("/tpm/gnutls/csr", NULL, test_csr);
  ADD ("/tpm/gnutls/tls13", TLS13, test_handshake);
  ADD ("/tpm/gnutls/tls12", TLS12, test_handshake);
  ADD ("/tpm/gnutls/soup-tls13", TLS13, test_soup);
  ADD ("/tpm/gnutls/soup-tls12", TLS12, test_soup);
  ADD ("/tpm/gnutls/publish-mismatch", NULL, test_publish_mismatch);
#undef ADD

  return g_test_run ();
}
