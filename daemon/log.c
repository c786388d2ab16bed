/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

const char *const lk_log_level_names[] = {
  [LK_LOG_WARNING] = "warning",
  [LK_LOG_NOTICE]  = "notice",
  [LK_LOG_INFO]    = "info",
  [LK_LOG_DEBUG]   = "debug",
  NULL,
};

static LkLogLevel current_level = LK_LOG_INFO;
static gboolean to_journal;

static LkLogLevel
level_of (GLogLevelFlags flags)
{
  if (flags & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
    return LK_LOG_WARNING;
  if (flags & G_LOG_LEVEL_MESSAGE)
    return LK_LOG_NOTICE;
  if (flags & G_LOG_LEVEL_INFO)
    return LK_LOG_INFO;
  return LK_LOG_DEBUG;
}

static const char *
field_string (const GLogField *fields, gsize n_fields, const char *key)
{
  for (gsize i = 0; i < n_fields; i++)
    if (strcmp (fields[i].key, key) == 0)
      return fields[i].length < 0 ? fields[i].value : NULL;
  return NULL;
}

static GLogWriterOutput
writer (GLogLevelFlags flags, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  LkLogLevel level = level_of (flags);
  const char *topic, *message;

  /* Libraries' debug chatter is kept out unless asked for, like ours. */
  if (level > current_level)
    return G_LOG_WRITER_HANDLED;

  if (to_journal)
    return g_log_writer_journald (flags, fields, n_fields, user_data);

  topic = field_string (fields, n_fields, "LATCHKEY_TOPIC");
  if (topic == NULL)
    topic = field_string (fields, n_fields, "GLIB_DOMAIN");
  message = field_string (fields, n_fields, "MESSAGE");

  fprintf (stderr, "%s[%d]: %s: %s: %s\n", g_get_prgname () ? g_get_prgname () : "latchkeyd",
           (int) getpid (), lk_log_level_names[level], topic ? topic : "-", message ? message : "");
  fflush (stderr);
  return G_LOG_WRITER_HANDLED;
}

void
lk_log_init (void)
{
  to_journal = g_log_writer_is_journald (fileno (stderr));
  g_log_set_writer_func (writer, NULL, NULL);
}

void
lk_log_set_level (LkLogLevel level)
{
  g_return_if_fail (level <= LK_LOG_DEBUG);
  current_level = level;
}

LkLogLevel
lk_log_get_level (void)
{
  return current_level;
}

gboolean
lk_log_level_from_string (const char *name, LkLogLevel *ret_level)
{
  for (gsize i = 0; lk_log_level_names[i] != NULL; i++)
    if (g_strcmp0 (lk_log_level_names[i], name) == 0)
      {
        *ret_level = (LkLogLevel) i;
        return TRUE;
      }
  return FALSE;
}

const char *
lk_log_level_to_string (LkLogLevel level)
{
  g_return_val_if_fail (level <= LK_LOG_DEBUG, NULL);
  return lk_log_level_names[level];
}

