/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

gboolean lk_tpm_write_file_atomic (const char    *path,
                                   const guint8  *data,
                                   gsize          len,
                                   GError       **error);

G_END_DECLS
