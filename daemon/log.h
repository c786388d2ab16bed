/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

/*
 * Structured logging. Every line carries a topic (the module that speaks,
 * in the journal field LATCHKEY_TOPIC); security events also carry a
 * MESSAGE_ID from daemon/message-ids.h so they can be queried and are
 * explained by the journal catalog. Secrets are never passed here.
 */

typedef enum {
  LK_LOG_WARNING,
  LK_LOG_NOTICE,
  LK_LOG_INFO,
  LK_LOG_DEBUG,
} LkLogLevel;

/* Installs the writer: the journal when stderr is connected to it, else stderr. */
void lk_log_init (void);

void lk_log_set_level (LkLogLevel level);
LkLogLevel lk_log_get_level (void);

gboolean lk_log_level_from_string (const char *name, LkLogLevel *ret_level);
const char *lk_log_level_to_string (LkLogLevel level);
/* The accepted level names, NULL-terminated, indexed by LkLogLevel. */
extern const char *const lk_log_level_names[];

#define lk_log(glevel, topic, ...) \
  g_log_structured (G_LOG_DOMAIN, glevel, "LATCHKEY_TOPIC", topic, "MESSAGE", __VA_ARGS__)

#define lk_warning(topic, ...) lk_log (G_LOG_LEVEL_WARNING, topic, __VA_ARGS__)
#define lk_notice(topic, ...)  lk_log (G_LOG_LEVEL_MESSAGE, topic, __VA_ARGS__)
#define lk_info(topic, ...)    lk_log (G_LOG_LEVEL_INFO, topic, __VA_ARGS__)
#define lk_debug(topic, ...)   lk_log (G_LOG_LEVEL_DEBUG, topic, __VA_ARGS__)

/* A security event: @message_id is one of daemon/message-ids.h. */
#define lk_event(glevel, topic, message_id, ...) \
  g_log_structured (G_LOG_DOMAIN, glevel, "LATCHKEY_TOPIC", topic, \
                    "MESSAGE_ID", message_id, "MESSAGE", __VA_ARGS__)
