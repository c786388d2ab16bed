/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "state-dir.h"

gboolean
lk_state_dir_check (const char *path, GError **error)
{
  struct stat st;
  int fd;

  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, LK_ERROR, LK_ERROR_STATE_DIR, "state directory %s: %s",
                   path, g_strerror (saved));
      return FALSE;
    }

  if (fstat (fd, &st) < 0)
    {
      int saved = errno;
      close (fd);
      g_set_error (error, LK_ERROR, LK_ERROR_STATE_DIR, "state directory %s: %s",
                   path, g_strerror (saved));
      return FALSE;
    }

  /* Sealed blobs are useless to others, but key files and names are not. */
  if (st.st_mode & (S_IRWXG | S_IRWXO))
    {
      close (fd);
      g_set_error (error, LK_ERROR, LK_ERROR_STATE_DIR,
                   "state directory %s: mode %04o gives access to other users (expected 0700)",
                   path, (unsigned) (st.st_mode & 07777));
      return FALSE;
    }

  if (faccessat (fd, ".", W_OK | X_OK, AT_EACCESS) < 0)
    {
      int saved = errno;
      close (fd);
      g_set_error (error, LK_ERROR, LK_ERROR_STATE_DIR, "state directory %s is not writable: %s",
                   path, g_strerror (saved));
      return FALSE;
    }

  close (fd);
  return TRUE;
}

int
lk_state_dir_lock (const char *path, GError **error)
{
  g_autofree char *lock_path = g_build_filename (path, "latchkeyd.lock", NULL);
  int fd;

  g_return_val_if_fail (error == NULL || *error == NULL, -1);

  fd = open (lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, LK_ERROR, LK_ERROR_STATE_DIR, "state directory %s: cannot open %s: %s",
                   path, lock_path, g_strerror (saved));
      return -1;
    }
  if (flock (fd, LOCK_EX | LOCK_NB) < 0)
    {
      int saved = errno;
      close (fd);
      if (saved == EWOULDBLOCK)
        g_set_error (error, LK_ERROR, LK_ERROR_STATE_DIR,
                     "state directory %s is in use by another latchkeyd", path);
      else
        g_set_error (error, LK_ERROR, LK_ERROR_STATE_DIR, "state directory %s: cannot lock %s: %s",
                     path, lock_path, g_strerror (saved));
      return -1;
    }
  return fd;
}
