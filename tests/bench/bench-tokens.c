/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What an app waits for a token: the first GetToken of a paired daemon
 * (a refresh at the real OpenID provider, DPoP-bound, signed by the TPM
 * key on swtpm), then the calls the cache answers, and CreateProof (one
 * TPM signature). Reports latency and calls per second; asserts nothing
 * about time.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "bus-open.h"
#include "latchkey-names.h"
#include "testlib.h"

#define API "https://api.example.com/weather"

static const char *token;

static int
get_token (sd_bus *bus)
{
  static const char *const scopes[] = { "weather.read", NULL };
  _cleanup_ (sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
  _cleanup_ (sd_bus_message_unrefp) sd_bus_message *call = NULL;
  _cleanup_ (sd_bus_message_unrefp) sd_bus_message *reply = NULL;
  const char *value, *type;
  uint64_t expires_at;
  int r;

  r = sd_bus_message_new_method_call (bus, &call, LK_BUS_NAME, LK_OBJECT_PATH, LK_TOKENS_INTERFACE, "GetToken");
  if (r >= 0)
    r = sd_bus_message_append_strv (call, (char **) scopes);
  if (r >= 0)
    r = sd_bus_message_append (call, "sa{sv}", API, 0);
  if (r >= 0)
    r = sd_bus_call (bus, call, 0, &error, &reply);
  if (r >= 0)
    r = sd_bus_message_read (reply, "sst", &value, &type, &expires_at);
  if (r >= 0 && token == NULL)
    token = g_strdup (value);
  return r;
}

static int
create_proof (sd_bus *bus)
{
  _cleanup_ (sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
  _cleanup_ (sd_bus_message_unrefp) sd_bus_message *reply = NULL;

  return sd_bus_call_method (bus, LK_BUS_NAME, LK_OBJECT_PATH, LK_TOKENS_INTERFACE, "CreateProof", &error, &reply,
                             "sssa{sv}", "GET", API "/now", token, 0);
}

static void
measure (sd_bus *bus, const char *name, int (*call) (sd_bus *bus), guint iterations)
{
  gint64 start = g_get_monotonic_time ();
  double usec;

  for (guint i = 0; i < iterations; i++)
    if (call (bus) < 0)
      {
        fprintf (stderr, "bench-tokens: %s failed\n", name);
        exit (1);
      }
  usec = (double) (g_get_monotonic_time () - start) / iterations;
  printf ("%-32s %6u calls  %9.1f µs/call  %8.0f calls/s\n", name, iterations, usec, 1e6 / usec);
}

int
main (int argc, char **argv)
{
  guint iterations = argc > 1 ? (guint) g_ascii_strtoull (argv[1], NULL, 10) : 2000;
  g_autoptr (LkTestPeer) provider = lk_test_peer_start ("oidc", "oidc", LK_TEST_CLIENTS, "600",
                                                        "\"resources\": {\"" API "\": \"weather.read\"}", NULL);
  g_autofree char *policies = lk_test_path ("apps.d");
  g_autofree char *policy = g_build_filename (policies, "bench.conf", NULL);
  g_autofree char *pairing = lk_test_provider_config (provider);
  /* Limits out of the way: this measures the daemon, not its brakes. */
  g_autofree char *config = g_strdup_printf ("%sScopes=openid offline_access weather.read\nResources=" API "\n"
                                             "[Tokens]\nPolicyDirectory=%s\nRateLimit=100000\nRateBurst=10000\n",
                                             pairing, policies);
  g_autoptr (LkTestDaemon) daemon = NULL;
  _cleanup_ (sd_bus_flush_close_unrefp) sd_bus *bus = NULL;

  g_mkdir_with_parents (policies, 0755);
  g_file_set_contents (policy, "[App]\nUser=0\nScopes=weather.read\nResources=" API "\n", -1, NULL);
  daemon = lk_test_daemon_start (config, NULL);
  lk_test_pair (provider, "alice");

  bus = lk_test_bus ();
  measure (bus, "GetToken, from the server", get_token, 1);
  measure (bus, "GetToken, from the cache", get_token, iterations);
  measure (bus, "CreateProof (TPM signature)", create_proof, iterations / 10);
  return lk_test_daemon_stop (daemon) == 0 ? 0 : 1;
}
