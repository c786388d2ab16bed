/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "daemon.h"

/* io.latchkey.Agent1.Login, see dbus/io.latchkey.Agent1.Login.xml. */
extern const sd_bus_vtable lk_login_vtable[];

int lk_login_object_add (sd_bus *bus, LkDaemon *daemon);
