/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "daemon.h"

/* io.latchkey.Agent1.Pairing, see dbus/io.latchkey.Agent1.Pairing.xml. */
extern const sd_bus_vtable lk_pairing_vtable[];

int lk_pairing_object_add (sd_bus *bus, LkDaemon *daemon);
/* Tells clients the pairing's properties changed. */
void lk_pairing_object_emit_changed (sd_bus *bus);
