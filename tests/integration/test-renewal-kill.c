/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The daemon killed (SIGKILL) during a renewal, 50 times: every restart
 * finds a valid identity (the daemon starts, its certificate chains to the
 * fleet CA, is valid now, and is for one of the keys on disk), however far
 * the renewal had gone. One kill in three comes at a random point, one as
 * soon as the new key is on disk, one just after the commit: however long
 * a renewal takes on a loaded machine, both sides of the commit are hit.
 */
#include "config.h"

#include <string.h>

#include "bus-open.h"
#include "est-test.h"

#define KILLS 50

/* Asks for a renewal without waiting for it; @bus stays open, or the daemon could not tell who asked. */
static void
renew_async (sd_bus *bus)
{
  _cleanup_ (sd_bus_message_unrefp) sd_bus_message *call = NULL;

  g_assert_cmpint (sd_bus_message_new_method_call (bus, &call, LK_BUS_NAME, LK_OBJECT_PATH,
                                                   LK_CERTIFICATE_INTERFACE, "Renew"), >=, 0);
  g_assert_cmpint (sd_bus_send (bus, call, NULL), >=, 0);
  g_assert_cmpint (sd_bus_flush (bus), >=, 0);
}

/* Until the renewal's new key is on disk, or the renewal is over (certificate @serial replaced). */
static void
wait_for_new_key (const char *serial)
{
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  for (;;)
    {
      g_autofree char *next = lk_est_test_state_file ("identity-key.next.pem");
      g_autofree char *now_serial = NULL;

      if (next != NULL)
        return;
      now_serial = lk_test_property (LK_CERTIFICATE_INTERFACE, "Serial");
      if (g_strcmp0 (now_serial, serial) != 0)
        return;
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (1000);
    }
}

static void
assert_valid_identity (const char *issuing_ca)
{
  g_autofree char *state = lk_test_property (LK_CERTIFICATE_INTERFACE, "State");
  g_autofree char *not_after = lk_test_property (LK_CERTIFICATE_INTERFACE, "NotAfter");
  g_autofree char *chain = lk_est_test_state_file ("identity.pem");

  g_assert_true (g_str_equal (state, "enrolled") || g_str_equal (state, "renewing"));
  g_assert_cmpint (g_ascii_strtoll (not_after, NULL, 10), >, g_get_real_time () / G_USEC_PER_SEC);
  g_assert_nonnull (chain);
  lk_est_test_assert_chain (chain, issuing_ca);
}

static void
test_kill_during_renewal (void)
{
  g_autoptr (LkTestPeer) est = lk_test_peer_start ("est", "est", "\"lifetime\": 600", NULL);
  g_autofree char *basic = lk_est_test_basic (est);
  /* Renewal is driven by the test: the background one would not come before the loop ends. */
  g_autofree char *config = lk_est_test_config (est, basic, "RenewAtPercent=90\n");
  const char *issuing_ca = lk_test_peer_get (est, "EST_ISSUING_CA");
  guint mid_renewal = 0, renewed = 0;
  gint64 started, renewal_us;
  g_autofree char *serial = NULL;

  {
    g_autoptr (LkTestDaemon) daemon = lk_test_daemon_start (config, NULL);
    g_autofree char *result = NULL;

    lk_test_wait_property (LK_CERTIFICATE_INTERFACE, "State", "enrolled");
    started = g_get_monotonic_time ();
    result = lk_test_call (-1, LK_CERTIFICATE_INTERFACE, "Renew", NULL);
    g_assert_cmpstr (result, ==, "ok");
    renewal_us = g_get_monotonic_time () - started;
    g_test_message ("one renewal over the bus: %.0f ms", (double) renewal_us / 1000);
    serial = lk_test_property (LK_CERTIFICATE_INTERFACE, "Serial");
    lk_est_test_stop_daemon (daemon);
  }

  started = g_get_monotonic_time ();
  for (guint i = 0; i < KILLS; i++)
    {
      g_autoptr (LkTestDaemon) daemon = lk_test_daemon_start (config, NULL);
      _cleanup_ (sd_bus_flush_close_unrefp) sd_bus *bus = lk_test_bus ();
      g_autofree char *now_serial = NULL;
      g_autofree char *next = NULL;

      /* Every restart: the identity the last one left is whole. */
      assert_valid_identity (issuing_ca);
      now_serial = lk_test_property (LK_CERTIFICATE_INTERFACE, "Serial");
      if (g_strcmp0 (now_serial, serial) != 0)
        renewed++;
      g_free (serial);
      serial = g_steal_pointer (&now_serial);

      renew_async (bus);
      switch (i % 3)
        {
        case 0:
          g_usleep ((gulong) g_random_int_range (0, (gint32) (renewal_us * 3 / 2)));
          break;
        case 1:
          wait_for_new_key (serial);
          break;
        default:
          g_free (lk_est_test_wait_change ("Serial", serial));
          break;
        }
      g_subprocess_force_exit (daemon->process);
      lk_test_wait (daemon->process);
      next = lk_est_test_state_file ("identity-key.next.pem");
      if (next != NULL)
        mid_renewal++;
      /* A killed daemon leaves its objects in a TPM without a resource manager. */
      lk_est_test_flush_tpm ();
    }
  g_test_message ("%u kills in %.1f s: %u left a renewal half done (a new key without its certificate), "
                  "%u restarts found a renewed certificate", KILLS,
                  (double) (g_get_monotonic_time () - started) / G_USEC_PER_SEC, mid_renewal, renewed);

  {
    g_autoptr (LkTestDaemon) daemon = lk_test_daemon_start (config, NULL);
    g_autofree char *result = NULL;
    g_autofree char *next = NULL;

    assert_valid_identity (issuing_ca);
    result = lk_test_call (-1, LK_CERTIFICATE_INTERFACE, "Renew", NULL);
    g_assert_cmpstr (result, ==, "ok");
    next = lk_est_test_state_file ("identity-key.next.pem");
    g_assert_null (next);
    lk_est_test_stop_daemon (daemon);
  }
  /* The kills hit both sides of the commit. */
  g_assert_cmpuint (mid_renewal, >, 0);
  g_assert_cmpuint (renewed, >, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/enrollment/kill-during-renewal", test_kill_during_renewal);
  return g_test_run ();
}
