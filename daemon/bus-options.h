/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

/*
 * Reads a method's options, an a{sv}, where the one option known is @name,
 * a string, into @ret_value (left alone when absent); with @name NULL none
 * is known. An unknown option, or one of the wrong type, is refused with
 * InvalidArgs naming it, so that options added later are never silently
 * ignored by an older daemon.
 */
int lk_bus_read_string_option (sd_bus_message *m, const char *name, const char **ret_value, sd_bus_error *error);
