/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Pairing fails cleanly through the daemon when the authorization server
 * is untrusted, unreachable, or answers what no server should
 * (tests/oidc/hostile.mjs): the bus tells exactly how it ended and why,
 * the daemon keeps serving, and its log repeats no device code and no
 * token. Told to slow down, the daemon polls more slowly.
 */
#include "config.h"

#include <string.h>

#include "bus-open.h"
#include "testlib.h"

/* Each of its cases is an issuer of its own: started once, by the first test that needs it. */
static LkTestPeer *hostile;

static const char *
hostile_get (const char *key)
{
  if (hostile == NULL)
    hostile = lk_test_peer_start ("hostile", "hostile", NULL);
  return lk_test_peer_get (hostile, key);
}

/* What the hostile server puts in its answers, which the daemon must never repeat. */
static const char *const secrets[] = { "DEVICE-CODE-SECRET", "ACCESS-TOKEN-SECRET" };

/* Waits for the pairing under way on @daemon to end, and returns how: its State. */
static char *
wait_pairing_ended (LkTestDaemon *daemon)
{
  _cleanup_ (sd_bus_flush_close_unrefp) sd_bus *bus = lk_test_bus ();
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  for (;;)
    {
      g_autofree char *state = NULL;

      /* A daemon that died says why in its log, not on the bus. */
      if (!lk_test_name_has_owner (bus, LK_BUS_NAME))
        {
          g_autofree char *log = lk_test_daemon_log (daemon);
          g_error ("latchkeyd is gone during the pairing:\n%s", log);
        }
      state = lk_test_property (LK_PAIRING_INTERFACE, "State");
      if (!g_str_equal (state, "starting") && !g_str_equal (state, "waiting"))
        return g_steal_pointer (&state);
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (50 * 1000);
    }
}

static void
assert_no_secrets (const char *text)
{
  for (gsize i = 0; i < G_N_ELEMENTS (secrets); i++)
    g_assert_null (strstr (text, secrets[i]));
}

/*
 * Starts the daemon with @config, pairs, and checks the pairing ended as
 * @state with @failure; then that the daemon still serves, and stops
 * cleanly with a second pairing under way. Its log must hold @failure and
 * @logged (unless NULL), and no secret.
 */
static void
assert_pairing_ends (const char *config, const char *state, const char *failure, const char *logged)
{
  g_autoptr (LkTestDaemon) daemon = lk_test_daemon_start (config, NULL);
  g_autofree char *result = lk_test_call (-1, LK_PAIRING_INTERFACE, "Start", NULL);
  g_autofree char *ended = NULL, *why = NULL, *device = NULL, *log = NULL;

  g_assert_cmpstr (result, ==, "ok");
  ended = wait_pairing_ended (daemon);
  why = lk_test_property (LK_PAIRING_INTERFACE, "Failure");
  g_assert_cmpstr (ended, ==, state);
  g_assert_cmpstr (why, ==, failure);

  device = lk_test_device_property ("State");
  g_assert_cmpstr (device, ==, "unprovisioned");
  g_clear_pointer (&result, g_free);
  result = lk_test_call (-1, LK_PAIRING_INTERFACE, "Start", NULL);
  g_assert_cmpstr (result, ==, "ok");
  g_assert_cmpint (lk_test_daemon_stop (daemon), ==, 0);

  log = lk_test_daemon_log (daemon);
  g_assert_nonnull (strstr (log, failure));
  if (logged != NULL)
    g_assert_nonnull (strstr (log, logged));
  assert_no_secrets (log);
}

/* The issuer of the hostile server's case @name. */
static char *
hostile_issuer (const char *name)
{
  return g_strdup_printf ("%s/%s", hostile_get ("HOSTILE_URL"), name);
}

/* Starts a daemon and its pairing with the hostile server's case @name. */
static LkTestDaemon *
start_pairing (const char *name)
{
  g_autofree char *issuer = hostile_issuer (name);
  g_autofree char *config = lk_test_pairing_config (issuer, hostile_get ("HOSTILE_CA"));
  LkTestDaemon *daemon = lk_test_daemon_start (config, NULL);
  g_autofree char *result = lk_test_call (-1, LK_PAIRING_INTERFACE, "Start", NULL);

  g_assert_cmpstr (result, ==, "ok");
  return daemon;
}

/* The control: where it does not misbehave, the hostile server is a usable authorization server. */
static void
test_fine (void)
{
  g_autoptr (LkTestDaemon) daemon = start_pairing ("fine");
  g_autofree char *result = NULL, *code = NULL, *log = NULL;

  lk_test_wait_property (LK_PAIRING_INTERFACE, "State", "waiting");
  code = lk_test_property (LK_PAIRING_INTERFACE, "UserCode");
  g_assert_cmpstr (code, ==, "WDJB-MJHT");
  result = lk_test_call (-1, LK_PAIRING_INTERFACE, "Cancel", NULL);
  g_assert_cmpstr (result, ==, "ok");
  lk_test_wait_property (LK_PAIRING_INTERFACE, "State", "cancelled");
  g_assert_cmpint (lk_test_daemon_stop (daemon), ==, 0);
  log = lk_test_daemon_log (daemon);
  assert_no_secrets (log);
}

/* When the hostile server had each token request of case @name, in seconds by its clock. */
static GArray *
poll_times (const char *name)
{
  g_autofree char *url = g_strdup_printf ("%s/%s/requests", hostile_get ("HOSTILE_URL"), name);
  const char *argv[] = { "curl", "-sS", "--fail", "--cacert", hostile_get ("HOSTILE_CA"), url, NULL };
  g_autofree char *out = NULL;
  g_auto (GStrv) lines = NULL;
  GArray *times = g_array_new (FALSE, FALSE, sizeof (double));

  g_assert_cmpint (lk_test_run (argv, &out, NULL), ==, 0);
  lines = g_strsplit (out, "\n", -1);
  for (gsize i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], "token "))
      {
        double seconds = g_ascii_strtod (lines[i] + strlen ("token "), NULL) / 1000;

        g_array_append_val (times, seconds);
      }
  return times;
}

/*
 * RFC 8628 §3.5: told slow_down, the daemon polls 5 s more slowly from then
 * on. The server's clock tells, with half a second for the daemon's timers.
 */
static void
test_slow_down (void)
{
  g_autoptr (LkTestDaemon) daemon = start_pairing ("token-slowdown");
  g_autofree char *result = NULL;
  g_autoptr (GArray) times = NULL;
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  /* The server's interval, 1 s, and the 5 s slow_down adds. */
  const double slowed = 1 + 5;

  /* The poll told to slow down and the two after it. */
  while ((times = poll_times ("token-slowdown"))->len < 3)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_clear_pointer (&times, g_array_unref);
      g_usleep (200 * 1000);
    }
  result = lk_test_call (-1, LK_PAIRING_INTERFACE, "Cancel", NULL);
  g_assert_cmpstr (result, ==, "ok");

  for (guint i = 1; i < 3; i++)
    {
      double gap = g_array_index (times, double, i) - g_array_index (times, double, i - 1);

      g_test_message ("poll %u came %.2f s after the one before", i, gap);
      g_assert_cmpfloat (gap, >=, slowed - 0.5);
      /* Added once to the server's interval: at every poll, or to the default 5 s, would make 10 s or more. */
      g_assert_cmpfloat (gap, <, slowed + 3);
    }
  g_assert_cmpint (lk_test_daemon_stop (daemon), ==, 0);
}

static void
test_untrusted_certificate (void)
{
  /* Another test CA, which did not sign the hostile server's certificate. */
  g_autoptr (LkTestPeer) other = lk_test_peer_start ("hostile", "other-hostile", NULL);
  const char *other_ca = lk_test_peer_get (other, "HOSTILE_CA");
  g_autofree char *issuer = hostile_issuer ("fine");
  g_autofree char *config = lk_test_pairing_config (issuer, other_ca);
  g_autofree char *failure = g_strdup_printf ("%s/.well-known/oauth-authorization-server/fine: TLS: "
                                              "Unacceptable TLS certificate (trusted: %s)",
                                              hostile_get ("HOSTILE_URL"), other_ca);

  assert_pairing_ends (config, "failed", failure, NULL);
}

static void
test_unreachable (void)
{
  /* Bound but not listening: connections are refused, and nobody else can take the port meanwhile. */
  g_autoptr (GSocket) closed = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                                             NULL);
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any_port = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *issuer = NULL, *config = NULL, *failure = NULL;
  guint16 port;

  g_assert_nonnull (closed);
  g_assert_true (g_socket_bind (closed, any_port, FALSE, &error));
  g_assert_no_error (error);
  bound = g_socket_get_local_address (closed, &error);
  g_assert_no_error (error);
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));

  issuer = g_strdup_printf ("https://127.0.0.1:%u", port);
  config = lk_test_pairing_config (issuer, hostile_get ("HOSTILE_CA"));
  /* Discovery is not retried: an admin sees the failure at once and may start again. */
  failure = g_strdup_printf ("%s/.well-known/oauth-authorization-server: Could not connect to 127.0.0.1: "
                             "Connection refused", issuer);
  assert_pairing_ends (config, "failed", failure, NULL);
}

typedef struct {
  const char *name;     /* the hostile server's case */
  const char *state;    /* how the pairing ends */
  const char *failure;  /* why; ISSUER stands for the case's issuer URL, here and below */
  const char *logged;   /* what else the log tells, or NULL */
} HostileCase;

#define METADATA "metadata at ISSUER/.well-known/openid-configuration: "
#define DEVICE "device authorization response: "
#define TOKEN "token response: "
static const HostileCase hostile_cases[] = {
  /* The metadata document, as test-discovery has it. */
  { "notjson", "failed", METADATA "malformed JSON" },
  { "array", "failed", METADATA "not a JSON object" },
  { "html", "failed", METADATA "content type is text/html, not application/json" },
  { "huge", "failed", "ISSUER/.well-known/openid-configuration: the response is larger than 65536 bytes" },
  { "impostor", "failed", METADATA "issuer is “https://id.example.com”, expected “ISSUER”" },
  { "plainhttp", "failed", METADATA "token_endpoint is not an https URL" },

  /*
   * The device authorization response: asked once, so any failure ends
   * the pairing. The parser's own message is not repeated: it may quote
   * the body, secrets and all.
   */
  { "device-notjson", "failed", DEVICE "malformed JSON" },
  { "device-array", "failed", DEVICE "not a JSON object" },
  { "device-html", "failed", DEVICE "content type is text/html, not application/json" },
  { "device-500", "failed", DEVICE "HTTP status 500" },
  { "device-huge", "failed", "ISSUER/device: the response is larger than 65536 bytes" },
  { "device-endless", "failed", "ISSUER/device: the response is larger than 65536 bytes" },
  { "device-nousercode", "failed", DEVICE "no user_code" },
  { "device-plainhttp", "failed", DEVICE "verification_uri is not an https URL" },
  /* Shown on the display and in terminals: an escape sequence could rewrite them. */
  { "device-controlchars", "failed", DEVICE "user_code is not 1 to 64 printable characters" },
  /* The server's free text is not repeated: it could echo a secret. */
  { "device-noerror", "failed", DEVICE "HTTP status 400" },
  { "device-badword", "failed", DEVICE "HTTP status 400" },
  { "device-errorobject", "failed", DEVICE "HTTP status 400" },
  { "device-hangup", "failed", "ISSUER/device: Connection terminated unexpectedly" },

  /* The token response, polled with the device code. */
  { "token-notjson", "failed", TOKEN "malformed JSON" },
  { "token-array", "failed", TOKEN "not a JSON object" },
  { "token-html", "failed", TOKEN "content type is text/html, not application/json" },
  /* A server error is the server's trouble, not the grant's: retried like a network failure. */
  { "token-500", "expired", "the code expired before it was approved",
    ": warning: pairing: polling failed, again in 2 s: token response: HTTP status 500\n" },
  { "token-huge", "failed", "ISSUER/token: the response is larger than 65536 bytes" },
  { "token-endless", "failed", "ISSUER/token: the response is larger than 65536 bytes" },
  { "token-noerror", "failed", TOKEN "HTTP status 400, error missing or malformed" },
  { "token-badword", "failed", TOKEN "HTTP status 400, error missing or malformed" },
  { "token-errorobject", "failed", TOKEN "HTTP status 400, error missing or malformed" },
  /* A network failure is retried while the code lives (backing off from twice the interval), then it expires. */
  { "token-hangup", "expired", "the code expired before it was approved",
    ": warning: pairing: polling failed, again in 2 s: ISSUER/token: Connection terminated unexpectedly\n" },
};
#undef METADATA
#undef DEVICE
#undef TOKEN

/* @text with ISSUER replaced by @issuer. */
static char *
with_issuer (const char *text, const char *issuer)
{
  g_auto (GStrv) parts = g_strsplit (text, "ISSUER", -1);

  return g_strjoinv (issuer, parts);
}

static void
test_hostile (gconstpointer data)
{
  const HostileCase *c = data;
  g_autofree char *issuer = hostile_issuer (c->name);
  g_autofree char *config = lk_test_pairing_config (issuer, hostile_get ("HOSTILE_CA"));
  g_autofree char *failure = with_issuer (c->failure, issuer);
  g_autofree char *logged = c->logged ? with_issuer (c->logged, issuer) : NULL;

  assert_pairing_ends (config, c->state, failure, logged);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/pairing-failures/fine", test_fine);
  g_test_add_func ("/pairing-failures/slow-down", test_slow_down);
  g_test_add_func ("/pairing-failures/untrusted-certificate", test_untrusted_certificate);
  g_test_add_func ("/pairing-failures/unreachable", test_unreachable);
  for (gsize i = 0; i < G_N_ELEMENTS (hostile_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/pairing-failures/hostile/%s", hostile_cases[i].name);

      g_test_add_data_func (path, &hostile_cases[i], test_hostile);
    }

  status = g_test_run ();
  g_clear_pointer (&hostile, lk_test_peer_free);
  return status;
}
