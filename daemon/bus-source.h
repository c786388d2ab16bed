/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <systemd/sd-bus.h>

/*
 * Runs an sd-bus connection on a GLib main context: the bus's fd is polled
 * for the events sd-bus asks for, its timeout becomes the source's, and
 * dispatching drains sd_bus_process(). @on_disconnect runs once when the
 * connection is lost.
 */
GSource *lk_bus_source_new (sd_bus *bus, GSourceFunc on_disconnect, gpointer user_data);
