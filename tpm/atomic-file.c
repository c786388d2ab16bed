/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "tpm/atomic-file.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

static gboolean
write_all (int            fd,
           const guint8  *data,
           gsize          len)
{
  while (len > 0)
    {
      ssize_t n = write (fd, data, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      data += n;
      len -= (gsize) n;
    }
  return TRUE;
}

/**
 * lk_tpm_write_file_atomic:
 * @path: the file to create or replace, mode 0600
 *
 * A crash at any point leaves either the old file or the new one, never a
 * truncated key: the identity must survive power loss.
 */
gboolean
lk_tpm_write_file_atomic (const char    *path,
                          const guint8  *data,
                          gsize          len,
                          GError       **error)
{
  g_autofree char *dir = NULL;
  g_autofree char *base = NULL;
  g_autofree char *tmp = NULL;
  int fd;
  int dir_fd;
  int saved_errno;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (data != NULL || len == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  dir = g_path_get_dirname (path);
  base = g_path_get_basename (path);
  tmp = g_strdup_printf ("%s/.%s.XXXXXX", dir, base);
  fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      saved_errno = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Cannot create a temporary file in %s: %s",
                   dir, g_strerror (saved_errno));
      return FALSE;
    }

  if (!write_all (fd, data, len) || fsync (fd) < 0)
    {
      saved_errno = errno;
      close (fd);
      g_unlink (tmp);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Cannot write %s: %s", tmp, g_strerror (saved_errno));
      return FALSE;
    }

  if (close (fd) < 0 || g_rename (tmp, path) < 0)
    {
      saved_errno = errno;
      g_unlink (tmp);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Cannot replace %s: %s", path, g_strerror (saved_errno));
      return FALSE;
    }

  /* The rename itself is only durable once the directory is synced. */
  dir_fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0 || fsync (dir_fd) < 0)
    {
      saved_errno = errno;
      if (dir_fd >= 0)
        close (dir_fd);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Cannot sync directory %s: %s", dir, g_strerror (saved_errno));
      return FALSE;
    }
  close (dir_fd);
  return TRUE;
}
