/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "daemon.h"

/* io.latchkey.Agent1.Certificate: the device certificate, its enrollment and renewal. */
int lk_enrollment_object_add (sd_bus *bus, LkDaemon *daemon);
/* PropertiesChanged for every property: the certificate, its state, or the failure changed. */
void lk_enrollment_object_emit_changed (sd_bus *bus);
