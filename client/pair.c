/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <json-glib/json-glib.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "bus-open.h"
#include "latchkey-names.h"
#include "latchkeyctl.h"
#include "qr-text.h"

/* How often the pairing's state is read while waiting. */
#define POLL_USEC (250 * 1000)

static volatile sig_atomic_t interrupted;

static void
on_interrupt (int signal_number)
{
  interrupted = 1;
}

static GHashTable *
pairing_properties (LkCtl *ctl, int *ret_exit)
{
  _cleanup_ (sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
  g_autoptr (GHashTable) props = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  int r = lk_ctl_get_properties (ctl, LK_PAIRING_INTERFACE, props, &error);

  if (r < 0)
    {
      *ret_exit = lk_ctl_report_bus_error (ctl, "pair", &error, r);
      return NULL;
    }
  return g_steal_pointer (&props);
}

static const char *
prop (GHashTable *props, const char *name)
{
  const char *value = g_hash_table_lookup (props, name);
  return value != NULL ? value : "";
}

static void
print_json (GHashTable *props)
{
  static const struct {
    const char *property;
    const char *member;
  } members[] = {
    { "State", "state" },
    { "UserCode", "user_code" },
    { "VerificationUri", "verification_uri" },
    { "VerificationUriComplete", "verification_uri_complete" },
    { "Owner", "owner" },
    { "Failure", "failure" },
  };
  g_autoptr (JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  for (gsize i = 0; i < G_N_ELEMENTS (members); i++)
    {
      json_builder_set_member_name (builder, members[i].member);
      json_builder_add_string_value (builder, prop (props, members[i].property));
    }
  json_builder_set_member_name (builder, "expires_at");
  json_builder_add_int_value (builder, g_ascii_strtoll (prop (props, "ExpiresAt"), NULL, 10));
  json_builder_end_object (builder);
  lk_ctl_print_json (builder);
}

static void
print_code (GHashTable *props)
{
  const char *complete = prop (props, "VerificationUriComplete");
  g_autofree char *qr = *complete ? lk_qr_text (complete) : NULL;

  g_print ("To pair this device, open %s on your phone and enter the code\n\n    %s\n\n",
           prop (props, "VerificationUri"), prop (props, "UserCode"));
  if (qr != NULL)
    g_print ("or scan:\n\n%s\n", qr);
}

/* Waits for the pairing to leave "starting" or "waiting"; NULL on a bus error. */
static GHashTable *
wait_while (LkCtl *ctl, const char *const *states, gboolean countdown, int *ret_exit)
{
  for (;;)
    {
      g_autoptr (GHashTable) props = pairing_properties (ctl, ret_exit);
      const char *state;

      if (props == NULL)
        return NULL;
      state = prop (props, "State");
      if (!g_strv_contains (states, state) || interrupted)
        return g_steal_pointer (&props);
      if (countdown)
        {
          gint64 left = g_ascii_strtoll (prop (props, "ExpiresAt"), NULL, 10) - g_get_real_time () / G_USEC_PER_SEC;

          g_print ("\rWaiting for approval, %" G_GINT64_FORMAT ":%02" G_GINT64_FORMAT " left ",
                   MAX (left, 0) / 60, MAX (left, 0) % 60);
          fflush (stdout);
        }
      g_usleep (POLL_USEC);
    }
}

static int
call (LkCtl *ctl, const char *member)
{
  _cleanup_ (sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
  int r = sd_bus_call_method (ctl->bus, LK_BUS_NAME, LK_OBJECT_PATH, LK_PAIRING_INTERFACE, member, &error, NULL,
                              NULL);

  if (r < 0)
    return lk_ctl_report_bus_error (ctl, "pair", &error, r);
  return LK_CTL_EXIT_OK;
}

int
lk_ctl_pair (LkCtl *ctl, int argc, char **argv)
{
  static const char *const starting[] = { "starting", NULL };
  static const char *const waiting[] = { "waiting", NULL };
  g_autoptr (GOptionContext) options = NULL;
  g_autoptr (GHashTable) props = NULL;
  g_autoptr (GError) gerror = NULL;
  gboolean json = FALSE, no_wait = FALSE;
  const GOptionEntry entries[] = {
    { "no-wait", 0, 0, G_OPTION_ARG_NONE, &no_wait, "Print the code and return", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON for scripts", NULL },
    { NULL }
  };
  struct sigaction action = { .sa_handler = on_interrupt };
  const char *state;
  int exit_code = LK_CTL_EXIT_OK;

  options = g_option_context_new ("- pair this device with its owner's phone");
  g_option_context_add_main_entries (options, entries, NULL);
  if (!g_option_context_parse (options, &argc, &argv, &gerror) || argc > 1)
    {
      g_printerr ("latchkeyctl pair: %s\n", gerror ? gerror->message : "unexpected argument");
      return LK_CTL_EXIT_USAGE;
    }

  exit_code = call (ctl, "Start");
  if (exit_code != LK_CTL_EXIT_OK)
    return exit_code;

  props = wait_while (ctl, starting, FALSE, &exit_code);
  if (props == NULL)
    return exit_code;
  if (g_str_equal (prop (props, "State"), "waiting"))
    {
      if (json && no_wait)
        {
          print_json (props);
          return LK_CTL_EXIT_OK;
        }
      if (!json)
        print_code (props);
      if (no_wait)
        return LK_CTL_EXIT_OK;

      /* Ctrl-C gives up the pairing rather than leaving it to expire. */
      sigaction (SIGINT, &action, NULL);
      sigaction (SIGTERM, &action, NULL);
      g_clear_pointer (&props, g_hash_table_unref);
      props = wait_while (ctl, waiting, !json && isatty (STDOUT_FILENO), &exit_code);
      if (props == NULL)
        return exit_code;
      if (interrupted)
        {
          g_print ("\n");
          call (ctl, "Cancel");
          g_printerr ("latchkeyctl pair: interrupted, pairing cancelled\n");
          return LK_CTL_EXIT_FAILED;
        }
      if (!json && isatty (STDOUT_FILENO))
        g_print ("\n");
    }

  state = prop (props, "State");
  if (json)
    print_json (props);
  else if (g_str_equal (state, "approved"))
    g_print ("Paired with %s.\n", prop (props, "Owner"));
  if (!g_str_equal (state, "approved"))
    {
      if (!json)
        g_printerr ("latchkeyctl pair: pairing %s: %s\n", state, prop (props, "Failure"));
      return LK_CTL_EXIT_FAILED;
    }
  return LK_CTL_EXIT_OK;
}

int
lk_ctl_unpair (LkCtl *ctl, int argc, char **argv)
{
  _cleanup_ (sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
  _cleanup_ (sd_bus_message_unrefp) sd_bus_message *reply = NULL;
  int revoked = 0;
  int r;

  if (argc > 1)
    {
      g_printerr ("latchkeyctl unpair: unexpected argument “%s”\n", argv[1]);
      return LK_CTL_EXIT_USAGE;
    }
  r = sd_bus_call_method (ctl->bus, LK_BUS_NAME, LK_OBJECT_PATH, LK_PAIRING_INTERFACE, "Unpair", &error, &reply,
                          NULL);
  if (r >= 0)
    r = sd_bus_message_read (reply, "b", &revoked);
  if (r < 0)
    return lk_ctl_report_bus_error (ctl, "unpair", &error, r);
  if (revoked)
    g_print ("Unpaired: the owner's grant is deleted here and revoked at the authorization server.\n");
  else
    g_print ("Unpaired: the owner's grant is deleted here, but the authorization server did not revoke it "
             "(see latchkeyd's log).\n");
  return LK_CTL_EXIT_OK;
}
