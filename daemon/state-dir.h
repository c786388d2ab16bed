/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

/*
 * Checks that @path can hold the daemon's state: an existing directory the
 * daemon may write, that no other user may write or read. Errors are
 * LK_ERROR_STATE_DIR and name the path.
 */
gboolean lk_state_dir_check (const char *path, GError **error);

/*
 * Takes the state directory for this process: one daemon per state dir,
 * whatever bus it serves, so two never create or rotate keys at once.
 * Returns a descriptor to keep open for the daemon's life, or -1.
 */
int lk_state_dir_lock (const char *path, GError **error);
