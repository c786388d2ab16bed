/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

/*
 * Opens a client connection to the bus named by @target: NULL or "system"
 * for the system bus (which honours $DBUS_SYSTEM_BUS_ADDRESS), "session"
 * for the user's session bus, anything else is taken as a D-Bus address
 * such as "unix:path=/run/test/bus". Returns 0 or a negative errno.
 */
int lk_bus_open (const char *target, const char *description, sd_bus **ret);

/* A name for @target fit for messages: "system bus", "session bus", or the address. */
const char *lk_bus_target_describe (const char *target);
