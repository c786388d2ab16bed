/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "daemon.h"

/* io.latchkey.Agent1.Device, see dbus/io.latchkey.Agent1.Device.xml. */
extern const sd_bus_vtable lk_device_vtable[];

int lk_device_object_add (sd_bus *bus, LkDaemon *daemon);
/* Tells clients the device's State changed. */
void lk_device_object_emit_state (sd_bus *bus);
