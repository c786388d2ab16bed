/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The enrolled identity used by a real consumer: an app whose policy sets
 * DeviceCertificate=true reads the chain over D-Bus, and a TLS client with
 * that chain and the TPM key (GnuTLS, the key never leaving the TPM)
 * connects to mosquitto configured with require_certificate against the
 * fleet CA. The same client without a certificate, with the factory
 * (bootstrap) certificate, or with an expired enrolled one, is refused.
 */
#include "config.h"

#include <arpa/inet.h>
#include <glib/gstdio.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bus-open.h"
#include "est-test.h"
#include "tpm/gnutls-key.h"

typedef enum {
  MQTT_ACCEPTED,
  MQTT_REFUSED,
} MqttOutcome;

typedef struct {
  GSubprocess *process;
  guint16 port;
} Mosquitto;

static int
connect_port (guint16 port)
{
  struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons (port),
                                 .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  if (connect (fd, (struct sockaddr *) &address, sizeof address) < 0)
    {
      close (fd);
      return -1;
    }
  return fd;
}

/*
 * A port of 127.0.0.1 nobody listens on now, below the kernel's ephemeral
 * range (32768 up), where the tests' outgoing connections take theirs.
 */
static guint16
unused_port (void)
{
  for (;;)
    {
      guint16 port = (guint16) g_random_int_range (20000, 32000);
      int fd = connect_port (port);

      if (fd < 0)
        return port;
      close (fd);
    }
}

/*
 * mosquitto on a free port: TLS only, a client certificate from the fleet
 * CA required. Another test may take the port between the pick and the
 * bind; mosquitto then exits and another port is tried.
 */
static Mosquitto
mosquitto_start (LkTestPeer *est)
{
  g_autofree char *dir = g_path_get_dirname (lk_test_peer_get (est, "EST_CA"));
  g_autofree char *log = lk_test_path ("mosquitto.log");

  for (guint try = 0; try < 10; try++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *conf = NULL;
      g_autofree char *path = NULL;
      Mosquitto mosquitto = { NULL, unused_port () };
      gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

      conf = g_strdup_printf ("user root\nper_listener_settings true\nlistener %u 127.0.0.1\n"
                              "cafile %s\ncertfile %s/server.pem\nkeyfile %s/server-key.pem\n"
                              "require_certificate true\nuse_identity_as_username true\nallow_anonymous true\n"
                              "log_dest file %s\nlog_type all\n",
                              mosquitto.port, lk_test_peer_get (est, "EST_ISSUING_CA"), dir, dir, log);
      path = lk_test_write_file ("mosquitto.conf", conf);
      g_unlink (log);
      mosquitto.process = g_subprocess_new (G_SUBPROCESS_FLAGS_NONE, &error, "mosquitto", "-c", path, NULL);
      g_assert_no_error (error);
      /* It says "running" once its listener is bound; a connection could reach whoever took the port. */
      for (;;)
        {
          g_autofree char *said = NULL;

          if (g_file_get_contents (log, &said, NULL, NULL) && strstr (said, " running") != NULL)
            return mosquitto;
          if (g_subprocess_get_identifier (mosquitto.process) == NULL)
            break;
          g_assert_cmpint (g_get_monotonic_time (), <, deadline);
          g_usleep (20 * 1000);
        }
      g_test_message ("mosquitto could not listen on port %u; another one", mosquitto.port);
      lk_test_wait (mosquitto.process);
      g_clear_object (&mosquitto.process);
    }
  g_error ("mosquitto did not start: see %s", log);
}

static void
mosquitto_stop (Mosquitto *mosquitto)
{
  g_subprocess_send_signal (mosquitto->process, SIGTERM);
  lk_test_wait (mosquitto->process);
  g_clear_object (&mosquitto->process);
}

/*
 * An MQTT 3.1.1 CONNECT over TLS to @port, trusting @server_ca, with the
 * PEM chain @chain and @key (both NULL: no client certificate).
 */
static MqttOutcome
mqtt_connect (guint16 port, const char *server_ca, const char *chain, gnutls_privkey_t key)
{
  static const guint8 connect_packet[] = {
    0x10, 16, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 60, 0, 4, 't', 'e', 's', 't',
  };
  static const guint8 connack_accepted[] = { 0x20, 2, 0, 0 };
  gnutls_certificate_credentials_t credentials;
  gnutls_session_t session;
  guint8 answer[4] = { 0 };
  MqttOutcome outcome = MQTT_REFUSED;
  int fd = connect_port (port), rc;

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (gnutls_certificate_allocate_credentials (&credentials), ==, 0);
  g_assert_cmpint (gnutls_certificate_set_x509_trust_file (credentials, server_ca, GNUTLS_X509_FMT_PEM), ==, 1);
  if (chain != NULL)
    {
      gnutls_pcert_st pcerts[4];
      unsigned n = G_N_ELEMENTS (pcerts);
      gnutls_datum_t pem = { (unsigned char *) chain, (unsigned) strlen (chain) };

      g_assert_cmpint (gnutls_pcert_list_import_x509_raw (pcerts, &n, &pem, GNUTLS_X509_FMT_PEM, 0), ==, 0);
      /* The credentials own the certificates and the key from here on. */
      g_assert_cmpint (gnutls_certificate_set_key (credentials, NULL, 0, pcerts, (int) n, key), ==, 0);
    }
  g_assert_cmpint (gnutls_init (&session, GNUTLS_CLIENT), ==, 0);
  g_assert_cmpint (gnutls_set_default_priority (session), ==, 0);
  g_assert_cmpint (gnutls_credentials_set (session, GNUTLS_CRD_CERTIFICATE, credentials), ==, 0);
  gnutls_session_set_verify_cert (session, "127.0.0.1", 0);
  gnutls_transport_set_int (session, fd);
  gnutls_handshake_set_timeout (session, 10000);
  do
    rc = gnutls_handshake (session);
  while (rc < 0 && gnutls_error_is_fatal (rc) == 0);
  /* TLS 1.3: a refused client certificate shows after the handshake, as an alert instead of the CONNACK. */
  if (rc == 0 && gnutls_record_send (session, connect_packet, sizeof connect_packet) == sizeof connect_packet)
    {
      gsize got = 0;
      ssize_t n;

      /* Session tickets come as non-fatal interruptions of the read. */
      while (got < sizeof answer)
        {
          n = gnutls_record_recv (session, answer + got, sizeof answer - got);
          if (n > 0)
            got += (gsize) n;
          else if (n == 0 || gnutls_error_is_fatal ((int) n))
            break;
        }
      if (got == sizeof answer && memcmp (answer, connack_accepted, sizeof answer) == 0)
        outcome = MQTT_ACCEPTED;
    }
  gnutls_deinit (session);
  gnutls_certificate_free_credentials (credentials);
  close (fd);
  return outcome;
}

/* The device certificate chain as an app gets it; NULL and @ret_error set when refused. */
static char *
get_chain (char **ret_error)
{
  _cleanup_ (sd_bus_flush_close_unrefp) sd_bus *bus = lk_test_bus ();
  _cleanup_ (sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
  _cleanup_ (sd_bus_message_unrefp) sd_bus_message *reply = NULL;
  const char *chain;

  if (sd_bus_call_method (bus, LK_BUS_NAME, LK_OBJECT_PATH, LK_CERTIFICATE_INTERFACE, "GetChain", &error, &reply,
                          "") < 0)
    {
      *ret_error = g_strdup_printf ("%s: %s", error.name, error.message);
      return NULL;
    }
  g_assert_cmpint (sd_bus_message_read (reply, "s", &chain), >, 0);
  return g_strdup (chain);
}

/* The TPM key of the stored identity, in this process: the daemon is stopped. */
static gnutls_privkey_t
identity_key (LkTpmContext *ctx)
{
  g_autofree char *path = g_build_filename (lk_test_env ("LATCHKEY_TEST_STATE_DIR"), "identity-key.pem", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (LkTpmKey) key = lk_tpm_key_load (ctx, path, &error);
  gnutls_privkey_t privkey;

  g_assert_no_error (error);
  privkey = lk_tpm_gnutls_privkey_new (key, &error);
  g_assert_no_error (error);
  return privkey;
}

static gnutls_privkey_t
file_key (const char *path)
{
  g_autofree char *pem = NULL;
  gnutls_privkey_t privkey;
  gnutls_datum_t datum;

  g_assert_true (g_file_get_contents (path, &pem, NULL, NULL));
  datum = (gnutls_datum_t) { (unsigned char *) pem, (unsigned) strlen (pem) };
  g_assert_cmpint (gnutls_privkey_init (&privkey), ==, 0);
  g_assert_cmpint (gnutls_privkey_import_x509_raw (privkey, &datum, GNUTLS_X509_FMT_PEM, NULL, 0), ==, 0);
  return privkey;
}

static void
test_mosquitto (void)
{
  g_autoptr (LkTestPeer) est = lk_test_peer_start ("est", "est", "", NULL);
  g_autofree char *policy_dir = lk_test_path ("apps.d");
  g_autofree char *basic = lk_est_test_basic (est);
  g_autofree char *more = g_strdup_printf ("[Tokens]\nPolicyDirectory=%s\n", policy_dir);
  g_autofree char *config = lk_est_test_config (est, basic, more);
  g_autofree char *chain = NULL;
  g_autofree char *expired_chain = NULL;
  g_autofree char *refusal = NULL;
  g_autofree char *factory = NULL;
  g_autofree char *not_after = NULL;
  g_autoptr (LkTpmContext) ctx = NULL;
  g_autoptr (GError) error = NULL;
  const char *server_ca = lk_test_peer_get (est, "EST_CA");
  Mosquitto mosquitto;

  g_assert_cmpint (g_mkdir (policy_dir, 0755), ==, 0);
  {
    g_autofree char *path = g_build_filename (policy_dir, "mqtt-bridge.conf", NULL);

    g_assert_true (g_file_set_contents (path, "[App]\nUser=root\nDeviceCertificate=true\n", -1, NULL));
  }

  {
    g_autoptr (LkTestDaemon) daemon = lk_test_daemon_start (config, NULL);
    g_autofree char *result = NULL;

    lk_test_wait_property (LK_CERTIFICATE_INTERFACE, "State", "enrolled");
    chain = get_chain (&refusal);
    g_assert_null (refusal);
    lk_est_test_assert_chain (chain, lk_test_peer_get (est, "EST_ISSUING_CA"));
    /* An app without DeviceCertificate=true in its policy gets nothing. */
    result = lk_test_call (65534, LK_CERTIFICATE_INTERFACE, "GetChain", NULL);
    g_assert_cmpstr (result, ==, "error org.freedesktop.DBus.Error.AccessDenied: no app policy matches this caller");
    lk_test_wait_log (daemon, "asked for the device certificate: no app policy matches it");
    lk_est_test_stop_daemon (daemon);
  }

  mosquitto = mosquitto_start (est);
  g_assert_true (lk_tpm_gnutls_register_url_scheme (&error));
  ctx = lk_tpm_context_new (lk_test_env ("LATCHKEY_TEST_TCTI"), &error);
  g_assert_no_error (error);
  g_assert_cmpint (mqtt_connect (mosquitto.port, server_ca, chain, identity_key (ctx)), ==, MQTT_ACCEPTED);
  g_assert_cmpint (mqtt_connect (mosquitto.port, server_ca, NULL, NULL), ==, MQTT_REFUSED);
  g_assert_true (g_file_get_contents (lk_test_peer_get (est, "EST_BOOTSTRAP_CERT"), &factory, NULL, NULL));
  g_assert_cmpint (mqtt_connect (mosquitto.port, server_ca, factory,
                                 file_key (lk_test_peer_get (est, "EST_BOOTSTRAP_KEY"))), ==, MQTT_REFUSED);
  g_clear_pointer (&ctx, lk_tpm_context_unref);
  lk_est_test_flush_tpm ();

  /* A certificate of 2 s, then past its end: refused. */
  lk_est_test_switch (est, "\"lifetime\": 2");
  {
    g_autoptr (LkTestDaemon) daemon = lk_test_daemon_start (config, NULL);
    g_autofree char *result = lk_test_call (-1, LK_CERTIFICATE_INTERFACE, "Renew", NULL);

    g_assert_cmpstr (result, ==, "ok");
    expired_chain = get_chain (&refusal);
    not_after = lk_test_property (LK_CERTIFICATE_INTERFACE, "NotAfter");
    lk_est_test_stop_daemon (daemon);
  }
  while (g_get_real_time () / G_USEC_PER_SEC <= g_ascii_strtoll (not_after, NULL, 10))
    g_usleep (100 * 1000);
  ctx = lk_tpm_context_new (lk_test_env ("LATCHKEY_TEST_TCTI"), &error);
  g_assert_no_error (error);
  g_assert_cmpint (mqtt_connect (mosquitto.port, server_ca, expired_chain, identity_key (ctx)), ==, MQTT_REFUSED);
  g_clear_pointer (&ctx, lk_tpm_context_unref);
  mosquitto_stop (&mosquitto);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/enrollment/mosquitto", test_mosquitto);
  return g_test_run ();
}
