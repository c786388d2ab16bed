/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <grp.h>
#include <unistd.h>

#include "authz.h"
#include "device-object.h"
#include "pairing-object.h"
#include "error.h"
#include "latchkey-names.h"

/* Every member a vtable exports must be in the authorization table. */
static void
assert_vtable_covered (const char *interface, const sd_bus_vtable *vtable)
{
  guint members = 0;

  for (const sd_bus_vtable *v = vtable; v->type != _SD_BUS_VTABLE_END; v++)
    {
      const char *member = NULL;
      LkPermission permission;

      switch (v->type)
        {
        case _SD_BUS_VTABLE_METHOD:
          member = v->x.method.member;
          break;
        case _SD_BUS_VTABLE_PROPERTY:
        case _SD_BUS_VTABLE_WRITABLE_PROPERTY:
          member = v->x.property.member;
          break;
        default:
          continue;
        }
      g_test_message ("%s.%s", interface, member);
      g_assert_true (lk_authz_lookup (interface, member, &permission));
      members++;
    }
  g_assert_cmpuint (members, >, 0);
}

static void
test_table_covers_device (void)
{
  assert_vtable_covered (LK_DEVICE_INTERFACE, lk_device_vtable);
}

static void
test_table_covers_pairing (void)
{
  assert_vtable_covered (LK_PAIRING_INTERFACE, lk_pairing_vtable);
}

static void
test_unknown_member_denied (void)
{
  LkPermission permission;

  g_assert_false (lk_authz_lookup (LK_DEVICE_INTERFACE, "Unlock", &permission));
  g_assert_false (lk_authz_lookup ("io.latchkey.Agent1.Other", "Version", &permission));
}

static void
test_permissions (void)
{
  LkPermission permission;

  g_assert_true (lk_authz_lookup (LK_DEVICE_INTERFACE, "State", &permission));
  g_assert_cmpint (permission, ==, LK_PERMISSION_READ_STATUS);
  g_assert_true (lk_authz_lookup (LK_DEVICE_INTERFACE, "SetLogLevel", &permission));
  g_assert_cmpint (permission, ==, LK_PERMISSION_ADMIN);
}

static void
test_admin (void)
{
  g_autoptr (GError) error = NULL;
  struct group *gr;

  g_assert_true (lk_authz_set_admin_group (NULL, &error));
  g_assert_true (lk_authz_permits (LK_PERMISSION_ADMIN, 0));
  g_assert_false (lk_authz_permits (LK_PERMISSION_ADMIN, 65534));
  g_assert_true (lk_authz_permits (LK_PERMISSION_READ_STATUS, 65534));

  /* nogroup is the primary group of nobody on Debian. */
  gr = getgrgid (65534);
  g_assert_nonnull (gr);
  g_assert_true (lk_authz_set_admin_group (gr->gr_name, &error));
  g_assert_no_error (error);
  g_assert_true (lk_authz_permits (LK_PERMISSION_ADMIN, 65534));
  g_assert_true (lk_authz_permits (LK_PERMISSION_ADMIN, 0));
  /* A uid with no passwd entry belongs to no group. */
  g_assert_false (lk_authz_permits (LK_PERMISSION_ADMIN, 4000000000u));

  g_assert_false (lk_authz_set_admin_group ("no-such-group-latchkey", &error));
  g_assert_error (error, LK_ERROR, LK_ERROR_CONFIG);
  g_assert_cmpstr (error->message, ==, "admin group “no-such-group-latchkey”: no such group");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/authz/table-covers-device", test_table_covers_device);
  g_test_add_func ("/authz/table-covers-pairing", test_table_covers_pairing);
  g_test_add_func ("/authz/unknown-member-denied", test_unknown_member_denied);
  g_test_add_func ("/authz/permissions", test_permissions);
  g_test_add_func ("/authz/admin", test_admin);

  return g_test_run ();
}
