SUMMARY = "Identity and token agent of a smart display"
DESCRIPTION = "latchkeyd keeps the device's keys in its TPM, pairs the display \
with its owner's phone (OAuth 2.0 device grant) and hands local apps \
short-lived tokens over D-Bus; latchkeyctl shows and controls it."
SECTION = "security"
LICENSE = "LGPL-2.1-or-later"
LIC_FILES_CHKSUM = "file://daemon/main.c;beginline=1;endline=1;md5=14007449932ed169474d694e94140b49"

# Where the distribution mirrors latchkey's repository; pin SRCREV in the
# distro or a bbappend for a reproducible image.
LATCHKEY_GIT_URI ??= "git://git.latchkey.invalid/latchkey.git;protocol=https;branch=main"
SRC_URI = "${LATCHKEY_GIT_URI}"
SRCREV ??= "${AUTOREV}"
PV = "0.1.0+git${SRCPV}"
S = "${WORKDIR}/git"

inherit autotools pkgconfig systemd useradd features_check

REQUIRED_DISTRO_FEATURES = "systemd"

# autoconf-archive-native: configure.ac's AX_APPEND_* macros;
# libtasn1-native: asn1Parser, which compiles tpm/tpm2key.asn at build time.
DEPENDS = " \
    autoconf-archive-native \
    glib-2.0 \
    systemd \
    gnutls \
    tpm2-tss \
    libsoup \
    json-glib \
    qrencode \
    libtasn1 \
    libtasn1-native \
"

# An image has a TPM and no desktop keyring: the Secret Service keystore is
# for development hosts. pam_latchkey.so follows the distro's pam feature.
PACKAGECONFIG ??= "${@bb.utils.filter('DISTRO_FEATURES', 'pam', d)}"
PACKAGECONFIG[pam] = "--enable-pam,--disable-pam,libpam"
PACKAGECONFIG[secret-service] = "--enable-secret-service,--disable-secret-service,libsecret"

EXTRA_OECONF = " \
    --with-systemdsystemunitdir=${systemd_system_unitdir} \
    --with-sysusersdir=${nonarch_libdir}/sysusers.d \
    --with-tmpfilesdir=${nonarch_libdir}/tmpfiles.d \
    --with-catalogdir=${nonarch_libdir}/systemd/catalog \
    --with-pam-module-dir=${base_libdir}/security \
    --with-bash-completion-dir=${datadir}/bash-completion/completions \
    --with-dbus-policy-dir=${datadir}/dbus-1/system.d \
    --with-dbus-system-service-dir=${datadir}/dbus-1/system-services \
    --with-dbus-interfaces-dir=${datadir}/dbus-1/interfaces \
    --with-state-dir=${localstatedir}/lib/latchkey \
"

# The user of latchkeyd.service; in tss, the group of /dev/tpmrm0. The
# image's sysusers.d file makes the same user where sysusers runs.
USERADD_PACKAGES = "${PN}"
GROUPADD_PARAM:${PN} = "--system tss"
USERADD_PARAM:${PN} = "--system --user-group --groups tss \
    --home-dir ${localstatedir}/lib/latchkey --no-create-home \
    --shell ${base_sbindir}/nologin latchkey"

SYSTEMD_SERVICE:${PN} = "latchkeyd.service"

FILES:${PN} += " \
    ${datadir}/dbus-1/system.d/io.latchkey.Agent1.conf \
    ${datadir}/dbus-1/system-services/io.latchkey.Agent1.service \
    ${nonarch_libdir}/sysusers.d/latchkey.conf \
    ${nonarch_libdir}/tmpfiles.d/latchkey.conf \
    ${nonarch_libdir}/systemd/catalog/latchkey.catalog \
    ${datadir}/bash-completion/completions/latchkeyctl \
"
# The interface descriptions are for developers of apps that call latchkeyd.
FILES:${PN}-dev += "${datadir}/dbus-1/interfaces/io.latchkey.Agent1.*.xml"
CONFFILES:${PN} = "${sysconfdir}/latchkey/latchkey.conf"

# Loaded at run time, so no shared-library dependency finds them: the TPM's
# TCTI (tss2-tctildr dlopens it), TLS for libsoup (a GIO module), the bus.
RDEPENDS:${PN} = "libtss2-tcti-device glib-networking dbus"
