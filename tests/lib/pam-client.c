/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A PAM application for tests, run under pam_wrapper:
 *
 *   pam-client SERVICE USER [--tty TTY] [--rhost HOST] [--no-conv] [--account]
 *
 * Authenticates USER (then, with --account, checks the account) and prints
 * each message of the conversation as "info: ..." or "error: ...", then
 * "authenticate: CODE" (and "account: CODE") with the PAM code's name,
 * flushing each line so that a test can read the code while it waits.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <security/pam_appl.h>

static const char *
code_name (int code)
{
  switch (code)
    {
    case PAM_SUCCESS: return "PAM_SUCCESS";
    case PAM_AUTH_ERR: return "PAM_AUTH_ERR";
    case PAM_AUTHINFO_UNAVAIL: return "PAM_AUTHINFO_UNAVAIL";
    case PAM_USER_UNKNOWN: return "PAM_USER_UNKNOWN";
    case PAM_PERM_DENIED: return "PAM_PERM_DENIED";
    case PAM_CONV_ERR: return "PAM_CONV_ERR";
    case PAM_SERVICE_ERR: return "PAM_SERVICE_ERR";
    case PAM_IGNORE: return "PAM_IGNORE";
    case PAM_MAXTRIES: return "PAM_MAXTRIES";
    default: return "PAM_OTHER";
    }
}

static int
conversation (int n, const struct pam_message **messages, struct pam_response **responses, void *data)
{
  *responses = calloc ((size_t) n, sizeof **responses);
  if (*responses == NULL)
    return PAM_BUF_ERR;
  for (int i = 0; i < n; i++)
    {
      switch (messages[i]->msg_style)
        {
        case PAM_TEXT_INFO:
          printf ("info: %s\n", messages[i]->msg);
          break;
        case PAM_ERROR_MSG:
          printf ("error: %s\n", messages[i]->msg);
          break;
        default:
          /* Nothing here types anything: a module asking is a failure of the test. */
          printf ("prompt: %s\n", messages[i]->msg);
          fflush (stdout);
          free (*responses);
          *responses = NULL;
          return PAM_CONV_ERR;
        }
    }
  fflush (stdout);
  return PAM_SUCCESS;
}

int
main (int argc, char **argv)
{
  struct pam_conv conv = { conversation, NULL };
  const char *tty = NULL, *rhost = NULL;
  int account = 0;
  pam_handle_t *pamh = NULL;
  int r;

  if (argc < 3)
    {
      fprintf (stderr, "usage: pam-client SERVICE USER [--tty TTY] [--rhost HOST] [--no-conv] [--account]\n");
      return 2;
    }
  for (int i = 3; i < argc; i++)
    {
      if (strcmp (argv[i], "--tty") == 0 && i + 1 < argc)
        tty = argv[++i];
      else if (strcmp (argv[i], "--rhost") == 0 && i + 1 < argc)
        rhost = argv[++i];
      else if (strcmp (argv[i], "--no-conv") == 0)
        conv.conv = NULL;
      else if (strcmp (argv[i], "--account") == 0)
        account = 1;
      else
        return 2;
    }
  r = pam_start (argv[1], argv[2], &conv, &pamh);
  if (r != PAM_SUCCESS)
    {
      printf ("start: %s\n", code_name (r));
      return 1;
    }
  if (tty != NULL)
    pam_set_item (pamh, PAM_TTY, tty);
  if (rhost != NULL)
    pam_set_item (pamh, PAM_RHOST, rhost);
  r = pam_authenticate (pamh, 0);
  printf ("authenticate: %s\n", code_name (r));
  if (r == PAM_SUCCESS && account)
    printf ("account: %s\n", code_name (pam_acct_mgmt (pamh, 0)));
  fflush (stdout);
  pam_end (pamh, r);
  return 0;
}
