/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "config-schema.h"
#include "error.h"

/* A configuration file is small; anything bigger is not one of ours. */
#define CONFIG_MAX_SIZE (256 * 1024)

/*
 * GKeyFile reports the offending line's text but not its number. The
 * first prefix of the file that fails to parse ends at that line.
 */
static guint
find_bad_line (const char *data)
{
  g_auto (GStrv) lines = g_strsplit (data, "\n", -1);
  g_autoptr (GString) prefix = g_string_new (NULL);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr (GKeyFile) kf = g_key_file_new ();

      g_string_append (prefix, lines[i]);
      g_string_append_c (prefix, '\n');
      if (!g_key_file_load_from_data (kf, prefix->str, prefix->len, G_KEY_FILE_NONE, NULL))
        return i + 1;
    }
  return 0;
}

/* A schema key "Prefix.*" stands for every key "Prefix.something" (e.g. [Login] Allow.alice). */
static gboolean
key_matches (const char *pattern, const char *key)
{
  gsize prefix = strlen (pattern) - 1;

  if (g_str_has_suffix (pattern, ".*"))
    return strncmp (pattern, key, prefix) == 0 && key[prefix] != '\0';
  return strcmp (pattern, key) == 0;
}

static const LkConfigKey *
find_key (const LkConfigKey *schema, gsize n_keys, const char *group, const char *key)
{
  for (gsize i = 0; i < n_keys; i++)
    if (strcmp (schema[i].group, group) == 0 && (key == NULL || key_matches (schema[i].key, key)))
      return &schema[i];
  return NULL;
}

static gboolean
check_uint (const char *path, const LkConfigKey *spec, const char *value, GError **error)
{
  if (!g_ascii_string_to_unsigned (value, 10, spec->min, spec->max, NULL, NULL))
    {
      g_set_error (error, LK_ERROR, LK_ERROR_CONFIG,
                   "%s: [%s] %s: “%s” is not an integer between %" G_GUINT64_FORMAT " and %" G_GUINT64_FORMAT,
                   path, spec->group, spec->key, value, spec->min, spec->max);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_value (GKeyFile *kf, const char *path, const LkConfigKey *spec, const char *key, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autofree char *value = NULL;

  value = g_key_file_get_string (kf, spec->group, key, &local_error);
  if (value == NULL)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_CONFIG, "%s: [%s] %s: %s",
                   path, spec->group, key, local_error->message);
      return FALSE;
    }

  switch (spec->type)
    {
    case LK_CONFIG_STRING:
      if (*value == '\0')
        {
          g_set_error (error, LK_ERROR, LK_ERROR_CONFIG, "%s: [%s] %s: empty value",
                       path, spec->group, key);
          return FALSE;
        }
      return TRUE;

    case LK_CONFIG_BOOLEAN:
      g_key_file_get_boolean (kf, spec->group, key, &local_error);
      if (local_error != NULL)
        {
          g_set_error (error, LK_ERROR, LK_ERROR_CONFIG,
                       "%s: [%s] %s: “%s” is not a boolean (expected true or false)",
                       path, spec->group, key, value);
          return FALSE;
        }
      return TRUE;

    case LK_CONFIG_UINT:
      return check_uint (path, spec, value, error);

    case LK_CONFIG_UINT_LIST:
      {
        g_auto (GStrv) items = NULL;

        if (*g_strstrip (value) == '\0')
          return TRUE;
        items = g_strsplit (value, ",", -1);

        for (gsize i = 0; items[i] != NULL; i++)
          if (!check_uint (path, spec, g_strstrip (items[i]), error))
            return FALSE;
        return TRUE;
      }

    case LK_CONFIG_CHOICE:
      if (!g_strv_contains ((const char *const *) spec->choices, value))
        {
          g_autofree char *expected = g_strjoinv (", ", (char **) spec->choices);

          g_set_error (error, LK_ERROR, LK_ERROR_CONFIG,
                       "%s: [%s] %s: “%s” is not one of: %s",
                       path, spec->group, key, value, expected);
          return FALSE;
        }
      return TRUE;
    }

  g_assert_not_reached ();
}

GArray *
lk_config_get_uint_list (GKeyFile *kf, const char *group, const char *key)
{
  g_autofree char *value = g_key_file_get_string (kf, group, key, NULL);
  GArray *numbers = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_auto (GStrv) items = NULL;

  if (value == NULL || *g_strstrip (value) == '\0')
    return numbers;
  items = g_strsplit (value, ",", -1);
  for (gsize i = 0; items[i] != NULL; i++)
    {
      guint64 number = 0;

      g_ascii_string_to_unsigned (g_strstrip (items[i]), 10, 0, G_MAXUINT64, &number, NULL);
      g_array_append_val (numbers, number);
    }
  return numbers;
}

GKeyFile *
lk_config_schema_load (const char *path,
                       const LkConfigKey *schema,
                       gsize n_keys,
                       GError **error)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) local_error = NULL;
  g_autofree char *data = NULL;
  g_auto (GStrv) groups = NULL;
  gsize length;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!g_file_get_contents (path, &data, &length, &local_error))
    {
      g_set_error (error, LK_ERROR, LK_ERROR_CONFIG, "%s: cannot read configuration: %s",
                   path, local_error->message);
      return NULL;
    }
  if (length > CONFIG_MAX_SIZE)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_CONFIG, "%s: file is larger than %u bytes",
                   path, CONFIG_MAX_SIZE);
      return NULL;
    }
  if (memchr (data, '\0', length) != NULL)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_CONFIG, "%s: file contains a NUL byte", path);
      return NULL;
    }

  if (!g_key_file_load_from_data (kf, data, length, G_KEY_FILE_NONE, &local_error))
    {
      guint line = find_bad_line (data);

      if (line > 0)
        g_set_error (error, LK_ERROR, LK_ERROR_CONFIG, "%s:%u: %s", path, line, local_error->message);
      else
        g_set_error (error, LK_ERROR, LK_ERROR_CONFIG, "%s: %s", path, local_error->message);
      return NULL;
    }

  groups = g_key_file_get_groups (kf, NULL);
  for (gsize g = 0; groups[g] != NULL; g++)
    {
      g_auto (GStrv) keys = NULL;

      if (find_key (schema, n_keys, groups[g], NULL) == NULL)
        {
          g_set_error (error, LK_ERROR, LK_ERROR_CONFIG, "%s: [%s]: unknown group", path, groups[g]);
          return NULL;
        }

      keys = g_key_file_get_keys (kf, groups[g], NULL, NULL);
      for (gsize k = 0; keys[k] != NULL; k++)
        {
          const LkConfigKey *spec = find_key (schema, n_keys, groups[g], keys[k]);

          if (spec == NULL)
            {
              g_set_error (error, LK_ERROR, LK_ERROR_CONFIG, "%s: [%s] %s: unknown key",
                           path, groups[g], keys[k]);
              return NULL;
            }
          if (!check_value (kf, path, spec, keys[k], error))
            return NULL;
        }
    }

  return g_steal_pointer (&kf);
}
