/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "error.h"
#include "json-members.h"

const char *
lk_json_get_string (JsonObject *object, const char *member)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static gboolean
check_present (JsonNode *node, const char *member, gboolean required, const char *what, GError **error)
{
  if (node == NULL && required)
    g_set_error (error, LK_ERROR, LK_ERROR_PROTOCOL, "%s: no %s", what, member);
  return node != NULL;
}

gboolean
lk_json_read_string (JsonObject *object,
                     const char *member,
                     gboolean required,
                     const char *what,
                     char **ret_value,
                     GError **error)
{
  JsonNode *node = json_object_get_member (object, member);

  if (!check_present (node, member, required, what, error))
    return !required;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING
      || *json_node_get_string (node) == '\0')
    {
      g_set_error (error, LK_ERROR, LK_ERROR_PROTOCOL, "%s: %s is not a non-empty string", what, member);
      return FALSE;
    }
  *ret_value = g_strdup (json_node_get_string (node));
  return TRUE;
}

gboolean
lk_json_read_uint (JsonObject *object,
                   const char *member,
                   gboolean required,
                   guint max,
                   const char *what,
                   guint *ret_value,
                   GError **error)
{
  JsonNode *node = json_object_get_member (object, member);
  gint64 value;

  if (!check_present (node, member, required, what, error))
    return !required;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64
      || (value = json_node_get_int (node)) <= 0 || value > max)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_PROTOCOL, "%s: %s is not an integer between 1 and %u", what,
                   member, max);
      return FALSE;
    }
  *ret_value = (guint) value;
  return TRUE;
}
