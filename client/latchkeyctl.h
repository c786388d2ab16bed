/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include <sysexits.h>
#include <systemd/sd-bus.h>

/* Exit codes, documented in latchkeyctl(1). */
enum {
  LK_CTL_EXIT_OK = 0,
  LK_CTL_EXIT_FAILED = 1,
  LK_CTL_EXIT_USAGE = EX_USAGE,
  LK_CTL_EXIT_UNAVAILABLE = EX_UNAVAILABLE,
  LK_CTL_EXIT_DENIED = EX_NOPERM,
};

typedef struct {
  const char *bus_target;   /* as given to --bus, NULL for the system bus */
  sd_bus *bus;
} LkCtl;

/* A verb: parses its own arguments (argv[0] is the verb) and returns an exit code. */
typedef int (*LkCtlVerb) (LkCtl *ctl, int argc, char **argv);

int lk_ctl_status (LkCtl *ctl, int argc, char **argv);
int lk_ctl_pair (LkCtl *ctl, int argc, char **argv);
int lk_ctl_unpair (LkCtl *ctl, int argc, char **argv);
int lk_ctl_cert (LkCtl *ctl, int argc, char **argv);
int lk_ctl_enroll (LkCtl *ctl, int argc, char **argv);
int lk_ctl_renew (LkCtl *ctl, int argc, char **argv);

/*
 * Reads the string and unsigned properties of @interface into @props
 * (name → value as text). Returns 0 or a negative errno with @error set.
 */
int lk_ctl_get_properties (LkCtl *ctl, const char *interface, GHashTable *props, sd_bus_error *error);

/* Prints the object built in @builder as pretty JSON on stdout. */
void lk_ctl_print_json (JsonBuilder *builder);

/* Prints the properties read by lk_ctl_get_properties(). */
typedef void (*LkCtlPrint) (LkCtl *ctl, GHashTable *props);

/*
 * A verb that shows the properties of @interface (status, cert): takes
 * --json and no arguments; @summary ends the usage line of its --help.
 * Prints with @print_json or @print_human and returns an exit code.
 */
int lk_ctl_show (LkCtl *ctl, int argc, char **argv, const char *summary, const char *interface,
                 LkCtlPrint print_json, LkCtlPrint print_human);

/*
 * Reports a failed call of @what on stderr in words a user can act on and
 * returns the matching exit code.
 */
int lk_ctl_report_bus_error (LkCtl *ctl, const char *what, const sd_bus_error *error, int r);
