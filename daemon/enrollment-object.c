/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "authz.h"
#include "bus-open.h"
#include "enrollment-object.h"
#include "error.h"
#include "latchkey-names.h"
#include "log.h"
#include "message-ids.h"

#define CHECK(m, member, caller, error)                                                       \
  do {                                                                                        \
    int _r = lk_authz_check ((m), LK_CERTIFICATE_INTERFACE, (member), (caller), (error));     \
    if (_r < 0)                                                                               \
      return _r;                                                                              \
  } while (0)

static const LkCertificate *
certificate (LkDaemon *daemon)
{
  LkEnrollment *enrollment = lk_daemon_get_enrollment (daemon);

  return enrollment != NULL ? lk_enrollment_get_certificate (enrollment) : NULL;
}

static int
get_state (sd_bus *bus, const char *path, const char *interface, const char *property,
           sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
  LkEnrollment *enrollment = lk_daemon_get_enrollment (userdata);

  CHECK (sd_bus_get_current_message (bus), property, NULL, error);
  return sd_bus_message_append (reply, "s", enrollment ? lk_cert_state_to_string (lk_enrollment_get_state (enrollment))
                                                       : "unconfigured");
}

static int
get_string (sd_bus *bus, const char *path, const char *interface, const char *property,
            sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
  const LkCertificate *cert = certificate (userdata);
  LkEnrollment *enrollment = lk_daemon_get_enrollment (userdata);
  const char *value = NULL;

  CHECK (sd_bus_get_current_message (bus), property, NULL, error);
  if (g_str_equal (property, "Failure"))
    value = enrollment ? lk_enrollment_get_failure (enrollment) : NULL;
  else if (cert == NULL)
    value = NULL;
  else if (g_str_equal (property, "Subject"))
    value = cert->subject;
  else if (g_str_equal (property, "Issuer"))
    value = cert->issuer;
  else if (g_str_equal (property, "Serial"))
    value = cert->serial;
  return sd_bus_message_append (reply, "s", value ? value : "");
}

static int
get_time (sd_bus *bus, const char *path, const char *interface, const char *property,
          sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
  const LkCertificate *cert = certificate (userdata);
  LkEnrollment *enrollment = lk_daemon_get_enrollment (userdata);
  gint64 value = 0;

  CHECK (sd_bus_get_current_message (bus), property, NULL, error);
  if (g_str_equal (property, "NextAttempt"))
    value = enrollment ? lk_enrollment_get_next_attempt (enrollment) : 0;
  else if (cert != NULL)
    value = g_str_equal (property, "NotBefore") ? cert->not_before : cert->not_after;
  return sd_bus_message_append (reply, "t", (uint64_t) MAX (value, 0));
}

/* @user_data: the Enroll or Renew call, answered when the operation ends. */
static void
on_run (GObject *source, GAsyncResult *result, gpointer user_data)
{
  _cleanup_ (sd_bus_message_unrefp) sd_bus_message *m = user_data;
  _cleanup_ (sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
  g_autoptr (GError) gerror = NULL;
  int r;

  if (lk_enrollment_run_finish (result, &gerror))
    r = sd_bus_reply_method_return (m, NULL);
  else
    {
      lk_error_to_sd_bus (gerror, &error);
      r = sd_bus_reply_method_error (m, &error);
    }
  if (r < 0)
    lk_warning ("enrollment", "cannot answer %s: %s", sd_bus_message_get_member (m), g_strerror (-r));
}

static int
run (sd_bus_message *m, LkDaemon *daemon, gboolean renew, sd_bus_error *error)
{
  LkEnrollment *enrollment = lk_daemon_get_enrollment (daemon);
  g_autoptr (LkCaller) caller = NULL;

  CHECK (m, renew ? "Renew" : "Enroll", &caller, error);
  if (enrollment == NULL)
    return sd_bus_error_set (error, LK_DBUS_ERROR_PREFIX "Config", "enrollment is not configured ([Enrollment] Url)");
  lk_info ("enrollment", "%s asked by uid %u pid %d", renew ? "renewal" : "enrollment", (unsigned) caller->uid,
           (int) caller->pid);
  lk_enrollment_run_async (enrollment, renew, on_run, sd_bus_message_ref (m));
  return 1;
}

static int
method_enroll (sd_bus_message *m, void *userdata, sd_bus_error *error)
{
  return run (m, userdata, FALSE, error);
}

static int
method_renew (sd_bus_message *m, void *userdata, sd_bus_error *error)
{
  return run (m, userdata, TRUE, error);
}

static int
method_get_chain (sd_bus_message *m, void *userdata, sd_bus_error *error)
{
  const LkCertificate *cert = certificate (userdata);
  g_autoptr (LkCaller) caller = NULL;
  const LkAppPolicy *policy;

  CHECK (m, "GetChain", &caller, error);
  policy = lk_tokens_match_policy (lk_daemon_get_tokens (userdata), caller);
  if (policy == NULL || !policy->device_certificate)
    {
      lk_event (G_LOG_LEVEL_MESSAGE, "enrollment", LK_MESSAGE_CERT_CHAIN_DENIED,
                "uid %u pid %d unit %s asked for the device certificate: %s", (unsigned) caller->uid,
                (int) caller->pid, caller->unit ? caller->unit : "none",
                policy ? "its policy does not set DeviceCertificate=true" : "no app policy matches it");
      return sd_bus_error_setf (error, SD_BUS_ERROR_ACCESS_DENIED, "%s",
                                policy ? "the app policy does not allow the device certificate"
                                       : "no app policy matches this caller");
    }
  if (cert == NULL)
    return sd_bus_error_set (error, LK_DBUS_ERROR_PREFIX "NotEnrolled", "the device has no certificate yet");
  return sd_bus_reply_method_return (m, "s", cert->chain_pem);
}

/* As on Device, lk_authz_check() in each handler replaces sd-bus's own check. */
const sd_bus_vtable lk_enrollment_vtable[] = {
  SD_BUS_VTABLE_START (0),
  SD_BUS_PROPERTY ("State", "s", get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
  SD_BUS_PROPERTY ("Subject", "s", get_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
  SD_BUS_PROPERTY ("Issuer", "s", get_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
  SD_BUS_PROPERTY ("Serial", "s", get_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
  SD_BUS_PROPERTY ("NotBefore", "t", get_time, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
  SD_BUS_PROPERTY ("NotAfter", "t", get_time, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
  SD_BUS_PROPERTY ("NextAttempt", "t", get_time, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
  SD_BUS_PROPERTY ("Failure", "s", get_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
  SD_BUS_METHOD ("Enroll", "", "", method_enroll, SD_BUS_VTABLE_UNPRIVILEGED),
  SD_BUS_METHOD ("Renew", "", "", method_renew, SD_BUS_VTABLE_UNPRIVILEGED),
  SD_BUS_METHOD_WITH_NAMES ("GetChain", "", , "s", SD_BUS_PARAM (chain), method_get_chain,
                            SD_BUS_VTABLE_UNPRIVILEGED),
  SD_BUS_VTABLE_END,
};

int
lk_enrollment_object_add (sd_bus *bus, LkDaemon *daemon)
{
  return sd_bus_add_object_vtable (bus, NULL, LK_OBJECT_PATH, LK_CERTIFICATE_INTERFACE, lk_enrollment_vtable,
                                   daemon);
}

void
lk_enrollment_object_emit_changed (sd_bus *bus)
{
  int r = sd_bus_emit_properties_changed (bus, LK_OBJECT_PATH, LK_CERTIFICATE_INTERFACE, "State", "Subject",
                                          "Issuer", "Serial", "NotBefore", "NotAfter", "NextAttempt", "Failure",
                                          NULL);

  if (r < 0)
    lk_warning ("enrollment", "cannot signal the certificate's change: %s", g_strerror (-r));
}
