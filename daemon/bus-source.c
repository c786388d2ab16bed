/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <poll.h>

#include "bus-source.h"
#include "log.h"

typedef struct {
  GSource source;
  sd_bus *bus;
  gpointer fd_tag;
  gboolean disconnected;
} LkBusSource;

static GIOCondition
poll_to_condition (int events)
{
  GIOCondition condition = 0;

  if (events & POLLIN)
    condition |= G_IO_IN;
  if (events & POLLOUT)
    condition |= G_IO_OUT;
  return condition;
}

static gboolean
bus_source_prepare (GSource *source, gint *timeout)
{
  LkBusSource *s = (LkBusSource *) source;
  uint64_t deadline;
  int events;

  *timeout = -1;
  if (s->disconnected)
    return FALSE;

  events = sd_bus_get_events (s->bus);
  if (events < 0)
    return TRUE;
  g_source_modify_unix_fd (source, s->fd_tag, poll_to_condition (events) | G_IO_ERR | G_IO_HUP);

  /* sd-bus returns a zero deadline when messages are already queued. */
  if (sd_bus_get_timeout (s->bus, &deadline) < 0)
    return TRUE;
  if (deadline != UINT64_MAX)
    {
      gint64 now = g_get_monotonic_time ();

      if ((gint64) deadline <= now)
        {
          *timeout = 0;
          return TRUE;
        }
      *timeout = (gint) MIN ((deadline - now + 999) / 1000, (uint64_t) G_MAXINT);
    }
  return FALSE;
}

static gboolean
bus_source_check (GSource *source)
{
  LkBusSource *s = (LkBusSource *) source;
  uint64_t deadline;

  if (s->disconnected)
    return FALSE;
  if (g_source_query_unix_fd (source, s->fd_tag) != 0)
    return TRUE;
  return sd_bus_get_timeout (s->bus, &deadline) >= 0 && deadline != UINT64_MAX
         && (gint64) deadline <= g_get_monotonic_time ();
}

static gboolean
bus_source_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  LkBusSource *s = (LkBusSource *) source;
  int r;

  do
    r = sd_bus_process (s->bus, NULL);
  while (r > 0);

  if (r < 0 || sd_bus_is_open (s->bus) <= 0)
    {
      if (r < 0)
        lk_warning ("bus", "lost the bus connection: %s", g_strerror (-r));
      else
        lk_warning ("bus", "lost the bus connection");
      s->disconnected = TRUE;
      g_source_remove_unix_fd (source, s->fd_tag);
      if (callback != NULL)
        callback (user_data);
      return G_SOURCE_REMOVE;
    }

  return G_SOURCE_CONTINUE;
}

static void
bus_source_finalize (GSource *source)
{
  LkBusSource *s = (LkBusSource *) source;

  sd_bus_unref (s->bus);
}

static GSourceFuncs bus_source_funcs = {
  .prepare = bus_source_prepare,
  .check = bus_source_check,
  .dispatch = bus_source_dispatch,
  .finalize = bus_source_finalize,
};

GSource *
lk_bus_source_new (sd_bus *bus, GSourceFunc on_disconnect, gpointer user_data)
{
  GSource *source = g_source_new (&bus_source_funcs, sizeof (LkBusSource));
  LkBusSource *s = (LkBusSource *) source;

  s->bus = sd_bus_ref (bus);
  s->fd_tag = g_source_add_unix_fd (source, sd_bus_get_fd (bus), G_IO_IN | G_IO_ERR | G_IO_HUP);
  g_source_set_callback (source, on_disconnect, user_data, NULL);
  g_source_set_name (source, "sd-bus");
  return source;
}
