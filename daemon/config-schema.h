/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

/*
 * A table-driven check of a GKeyFile: every group and key must be known,
 * and every value must parse as its declared type. Unknown keys are errors,
 * not warnings, so a typo never leaves the daemon half-configured.
 */

typedef enum {
  LK_CONFIG_STRING,
  LK_CONFIG_BOOLEAN,
  LK_CONFIG_UINT,
  LK_CONFIG_CHOICE,
  LK_CONFIG_UINT_LIST,   /* comma-separated, each within min..max */
} LkConfigType;

typedef struct {
  const char *group;
  const char *key;       /* "Prefix.*": any key "Prefix.<name>" */
  LkConfigType type;
  /* LK_CONFIG_CHOICE: the accepted values, NULL-terminated. */
  const char *const *choices;
  /* LK_CONFIG_UINT, LK_CONFIG_UINT_LIST: the accepted range. */
  guint64 min, max;
} LkConfigKey;

/*
 * Loads @path into a GKeyFile and checks it against @schema. Errors are
 * LK_ERROR_CONFIG and name the file and either the line, or the group and
 * key, and what is wrong.
 */
/*
 * The values of an LK_CONFIG_UINT_LIST key that lk_config_schema_load()
 * accepted; an empty array when the key is absent or empty.
 */
GArray *lk_config_get_uint_list (GKeyFile *kf, const char *group, const char *key);

GKeyFile *lk_config_schema_load (const char *path,
                                 const LkConfigKey *schema,
                                 gsize n_keys,
                                 GError **error);
