/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The published D-Bus names of latchkey, shared by the daemon, the CLI,
 * the PAM module and the tests. They are a contract, documented in dbus/.
 */
#pragma once

#define LK_BUS_NAME             "io.latchkey.Agent1"
#define LK_OBJECT_PATH          "/io/latchkey/Agent1"
#define LK_DEVICE_INTERFACE     "io.latchkey.Agent1.Device"
#define LK_PAIRING_INTERFACE    "io.latchkey.Agent1.Pairing"
#define LK_TOKENS_INTERFACE     "io.latchkey.Agent1.Tokens"
#define LK_LOGIN_INTERFACE      "io.latchkey.Agent1.Login"
#define LK_CERTIFICATE_INTERFACE "io.latchkey.Agent1.Certificate"

/* Errors of our own; access and argument errors use the freedesktop names. */
#define LK_DBUS_ERROR_PREFIX    "io.latchkey.Agent1.Error."
#define LK_DBUS_ERROR_FAILED    LK_DBUS_ERROR_PREFIX "Failed"
