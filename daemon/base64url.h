/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

/*
 * base64url without padding (RFC 7515 §2), as JOSE writes it: decoded by
 * GLib after the alphabet swap. Any character outside the alphabet is an
 * error rather than skipped, so that two texts never decode alike.
 */
GBytes *lk_base64url_decode (const char *text, gsize length, GError **error);
