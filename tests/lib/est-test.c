/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <gnutls/x509.h>
#include <libsoup/soup.h>
#include <glib/gstdio.h>
#include <signal.h>

#include "est-test.h"

char *
lk_est_test_basic (LkTestPeer *est)
{
  g_autofree char *path = lk_test_write_file ("est-password", lk_test_peer_get (est, "EST_PASSWORD"));

  return g_strdup_printf ("BootstrapUser=%s\nBootstrapPassword=%s\n", lk_test_peer_get (est, "EST_USER"), path);
}

char *
lk_est_test_config (LkTestPeer *est, const char *bootstrap, const char *more)
{
  return g_strdup_printf ("[Daemon]\nLogLevel=debug\n[Enrollment]\nUrl=%s\nTrustAnchors=%s\n"
                          "Subject=CN=latchkey test device,O=latchkey\nRetryFirst=1\nRetryMax=2\n%s%s",
                          lk_test_peer_get (est, "EST_URL"), lk_test_peer_get (est, "EST_CA"), bootstrap, more);
}

static GBytes *
control (LkTestPeer *est, const char *method, const char *path, const char *body)
{
  g_autoptr (SoupSession) session = soup_session_new ();
  g_autofree char *url = g_strconcat (lk_test_peer_get (est, "EST_CONTROL_URL"), path, NULL);
  g_autoptr (SoupMessage) message = soup_message_new (method, url);
  g_autoptr (GError) error = NULL;
  GBytes *answer;

  if (body != NULL)
    {
      g_autoptr (GBytes) request = g_bytes_new (body, strlen (body));

      soup_message_set_request_body_from_bytes (message, "application/json", request);
    }
  answer = soup_session_send_and_read (session, message, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (message), ==, 200);
  return answer;
}

void
lk_est_test_switch (LkTestPeer *est, const char *members)
{
  g_autofree char *body = g_strdup_printf ("{%s}", members);

  g_bytes_unref (control (est, "POST", "/switches", body));
}

JsonObject *
lk_est_test_log (LkTestPeer *est)
{
  g_autoptr (GBytes) answer = control (est, "GET", "/log", NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  gsize length;
  const char *data = g_bytes_get_data (answer, &length);

  json_parser_load_from_data (parser, data, (gssize) length, &error);
  g_assert_no_error (error);
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

guint
lk_est_test_count_issued (LkTestPeer *est, const char *operation, const char *auth)
{
  g_autoptr (JsonObject) log = lk_est_test_log (est);
  JsonArray *issued = json_object_get_array_member (log, "issued");
  guint count = 0;

  for (guint i = 0; i < json_array_get_length (issued); i++)
    {
      JsonObject *entry = json_array_get_object_element (issued, i);

      if (g_str_equal (json_object_get_string_member (entry, "operation"), operation)
          && (auth == NULL || g_str_equal (json_object_get_string_member (entry, "auth"), auth)))
        count++;
    }
  return count;
}

guint
lk_est_test_count_requests (LkTestPeer *est, const char *operation, guint status)
{
  g_autoptr (JsonObject) log = lk_est_test_log (est);
  JsonArray *requests = json_object_get_array_member (log, "requests");
  guint count = 0;

  for (guint i = 0; i < json_array_get_length (requests); i++)
    {
      JsonObject *entry = json_array_get_object_element (requests, i);

      if (g_strcmp0 (json_object_get_string_member_with_default (entry, "operation", ""), operation) == 0
          && (status == 0 || json_object_get_int_member (entry, "status") == status))
        count++;
    }
  return count;
}

char *
lk_est_test_state_file (const char *name)
{
  g_autofree char *path = g_build_filename (lk_test_env ("LATCHKEY_TEST_STATE_DIR"), name, NULL);
  char *contents = NULL;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return NULL;
  return contents;
}

char *
lk_est_test_wait_change (const char *name, const char *than)
{
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  char *value;

  while (g_strcmp0 (value = lk_test_property (LK_CERTIFICATE_INTERFACE, name), than) == 0)
    {
      g_free (value);
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (50 * 1000);
    }
  return value;
}

void
lk_est_test_assert_chain (const char *pem, const char *ca_path)
{
  g_autofree char *ca_pem = NULL;
  gnutls_x509_crt_t *chain = NULL, *cas = NULL;
  unsigned n_chain = 0, n_cas = 0, status = 1;
  gnutls_x509_trust_list_t trust;
  gnutls_datum_t datum;

  g_assert_true (g_file_get_contents (ca_path, &ca_pem, NULL, NULL));
  datum = (gnutls_datum_t) { (unsigned char *) pem, (unsigned) strlen (pem) };
  g_assert_cmpint (gnutls_x509_crt_list_import2 (&chain, &n_chain, &datum, GNUTLS_X509_FMT_PEM, 0), >=, 0);
  g_assert_cmpuint (n_chain, ==, 2);
  datum = (gnutls_datum_t) { (unsigned char *) ca_pem, (unsigned) strlen (ca_pem) };
  g_assert_cmpint (gnutls_x509_crt_list_import2 (&cas, &n_cas, &datum, GNUTLS_X509_FMT_PEM, 0), >=, 0);
  g_assert_cmpint (gnutls_x509_trust_list_init (&trust, 0), ==, 0);
  g_assert_cmpint (gnutls_x509_trust_list_add_cas (trust, cas, n_cas, 0), ==, (int) n_cas);
  g_assert_cmpint (gnutls_x509_trust_list_verify_crt2 (trust, chain, n_chain, NULL, 0, 0, &status, NULL), ==, 0);
  g_assert_cmpuint (status, ==, 0);
  /* The chain's CA is the issuing CA itself. */
  g_assert_true (gnutls_x509_crt_equals (chain[1], cas[0]));
  gnutls_x509_trust_list_deinit (trust, 1);
  for (unsigned i = 0; i < n_chain; i++)
    gnutls_x509_crt_deinit (chain[i]);
  gnutls_free (chain);
  gnutls_free (cas);
}

void
lk_est_test_flush_tpm (void)
{
  const char *argv[] = { "tpm2_flushcontext", "-t", NULL };
  g_autofree char *err = NULL;

  g_setenv ("TPM2TOOLS_TCTI", lk_test_env ("LATCHKEY_TEST_TCTI"), TRUE);
  g_assert_cmpint (lk_test_run (argv, NULL, &err), ==, 0);
}

void
lk_est_test_stop_daemon (LkTestDaemon *daemon)
{
  if (g_subprocess_get_identifier (daemon->process) != NULL)
    {
      g_subprocess_send_signal (daemon->process, SIGTERM);
      lk_test_wait (daemon->process);
    }
  lk_est_test_flush_tpm ();
}

void
lk_est_test_clear_state (void)
{
  const char *dir = lk_test_env ("LATCHKEY_TEST_STATE_DIR");
  g_autoptr (GDir) listing = g_dir_open (dir, 0, NULL);
  const char *name;

  while (listing != NULL && (name = g_dir_read_name (listing)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      g_assert_cmpint (g_unlink (path), ==, 0);
    }
}
