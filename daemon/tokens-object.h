/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "daemon.h"

/* io.latchkey.Agent1.Tokens, see dbus/io.latchkey.Agent1.Tokens.xml. */
extern const sd_bus_vtable lk_tokens_vtable[];

int lk_tokens_object_add (sd_bus *bus, LkDaemon *daemon);
