/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* GBytes for secrets (plaintext, keys): zeroed when the last reference
 * goes, so a freed secret does not linger in the heap. */
GBytes *lk_tpm_secret_bytes_take (gpointer       data,
                                  gsize          len);
GBytes *lk_tpm_secret_bytes_new  (gconstpointer  data,
                                  gsize          len);

/* g_free() for a secret string (a token, a code): zeroed first. */
void    lk_tpm_secret_string_free (char          *secret);

G_END_DECLS
