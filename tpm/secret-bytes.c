/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "tpm/secret-bytes.h"

#include <string.h>

#include <gnutls/gnutls.h>

static void
wipe_and_free (gpointer data)
{
  GBytes *secret = data;
  gsize len;
  gpointer bytes = (gpointer) g_bytes_get_data (secret, &len);

  /* gnutls_memset, unlike memset, is not optimised away before a free. */
  gnutls_memset (bytes, 0, len);
  g_bytes_unref (secret);
}

/**
 * lk_tpm_secret_bytes_take:
 * @data: (transfer full): from g_malloc(), @len bytes
 *
 * Returns: (transfer full): @data as a #GBytes that wipes it when freed
 */
GBytes *
lk_tpm_secret_bytes_take (gpointer data,
                          gsize    len)
{
  GBytes *owner = g_bytes_new_take (data, len);

  return g_bytes_new_with_free_func (g_bytes_get_data (owner, NULL), len,
                                     wipe_and_free, owner);
}

/**
 * lk_tpm_secret_bytes_new:
 *
 * Copies @data; the caller still wipes its own copy.
 *
 * Returns: (transfer full): a #GBytes that wipes its copy when freed
 */
GBytes *
lk_tpm_secret_bytes_new (gconstpointer data,
                         gsize         len)
{
  /* One spare byte: g_malloc (0) would return NULL for an empty secret. */
  guint8 *copy = g_malloc (len + 1);

  if (len > 0)
    memcpy (copy, data, len);
  return lk_tpm_secret_bytes_take (copy, len);
}

void
lk_tpm_secret_string_free (char *secret)
{
  if (secret == NULL)
    return;
  explicit_bzero (secret, strlen (secret));
  g_free (secret);
}
