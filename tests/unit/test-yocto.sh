#!/bin/bash
# The Yocto recipe (data/yocto/meta-latchkey) against this tree, as far as
# it can be checked without bitbake: its configure options exist, the files
# it packages are the ones `make install` puts there with its options, and
# every library configure requires is in its DEPENDS. TAP output.
set -u
recipe="$G_TEST_SRCDIR/data/yocto/meta-latchkey/recipes-security/latchkey/latchkey_git.bb"
work=$(mktemp -d "${TMPDIR:-/tmp}/yocto.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "1..4"

# The recipe with its continued lines joined.
joined=$(sed -e ':a' -e '/\\$/{N;s/\\\n/ /;ta}' "$recipe")
# values VAR: the quoted values assigned to VAR (=, +=, ?=, ??=), one a line.
values() {
    printf '%s\n' "$joined" | awk -v var="$1" '
        index($0, var) == 1 && substr($0, length(var) + 1) ~ /^ *[+?]*= *"/ {
            sub(/^[^"]*"/, ""); sub(/" *$/, ""); print }'
}
# bitbake's values (oe-core's bitbake.conf, without usrmerge) of what the
# recipe names.
yocto_dirs=(prefix=/usr exec_prefix=/usr bindir=/usr/bin sbindir=/usr/sbin
    libdir=/usr/lib nonarch_libdir=/usr/lib base_libdir=/lib base_sbindir=/sbin
    datadir=/usr/share sysconfdir=/etc localstatedir=/var mandir=/usr/share/man
    systemd_system_unitdir=/lib/systemd/system PN=latchkey)
expand() {
    local s=$* kv
    for kv in "${yocto_dirs[@]}"; do s=${s//"\${${kv%%=*}}"/${kv#*=}}; done
    case $s in *'${'*) echo "test-yocto: no value for a variable in: $s" >&2 ;; esac
    printf '%s\n' "$s"
}

# 1. Every configure option the recipe passes exists.
oeconf=$(expand "$(values EXTRA_OECONF)")
packageconfig=$(printf '%s\n' "$joined" | sed -n 's/^PACKAGECONFIG\[[^]]*\] *= *"\(.*\)"$/\1/p')
help=$("$G_TEST_SRCDIR/configure" --help)
options=$(printf '%s\n%s\n' "$oeconf" "$(printf '%s\n' "$packageconfig" | cut -d, -f1,2 | tr , ' ')" |
          grep -o -- '--[a-z]*-[a-z0-9-]*' | sort -u)
unknown=
for opt in $options; do
    case $opt in
        --with-*) pattern="^ *${opt}[= ]" ;;
        --enable-*|--disable-*) pattern="^ *--\(enable\|disable\)-${opt#--*able-}\b" ;;
        *) unknown="$unknown $opt"; continue ;;
    esac
    printf '%s\n' "$help" | grep -q -- "$pattern" || unknown="$unknown $opt"
done
if [ -n "$options" ] && [ -z "$unknown" ]; then
    echo "ok 1 configure --help offers the $(echo "$options" | wc -l) options the recipe passes"
else
    echo "not ok 1 configure does not offer:$unknown"
fi

# 2. configure with the recipe's paths, as bitbake runs it (the default
# PACKAGECONFIG of an image without pam), and install what it packages.
build=$work/build dest=$work/dest
mkdir -p "$build"
# shellcheck disable=SC2086
if (cd "$build" && "$G_TEST_SRCDIR/configure" --prefix=/usr --sysconfdir=/etc --localstatedir=/var \
        --disable-secret-service --disable-pam $oeconf) >"$work/configure.log" 2>&1 &&
   env -u MAKEFLAGS -u MFLAGS make -s -C "$build" install-data DESTDIR="$dest" >"$work/install.log" 2>&1; then
    echo "ok 2 configure with the recipe's EXTRA_OECONF, make install-data"
else
    tail -20 "$work/configure.log" "$work/install.log" 2>/dev/null | sed 's/^/# /'
    echo "not ok 2 configure or make install-data with the recipe's EXTRA_OECONF"
fi

# 3. Every file the recipe packages (FILES, CONFFILES; units under
# systemd_system_unitdir) is installed there: a path that moved would
# leave the package without it.
named=$(expand "$(printf '%s\n' "$joined" | sed -n 's/^\(FILES\|CONFFILES\):[^ ]* *[+?]*= *"\(.*\)"$/\2/p')")
for unit in $(values 'SYSTEMD_SERVICE:${PN}'); do
    named="$named $(expand '${systemd_system_unitdir}')/$unit"
done
missing='' count=0
for pattern in $named; do
    count=$((count + 1))
    # shellcheck disable=SC2086
    matches=$(cd "$dest" 2>/dev/null && ls -d .$pattern 2>/dev/null)
    [ -n "$matches" ] || missing="$missing $pattern"
done
if [ "$count" -gt 0 ] && [ -z "$missing" ]; then
    echo "ok 3 the $count paths the recipe packages are installed"
else
    (cd "$dest" 2>/dev/null && find . -type f | sed 's/^/# installed: /')
    echo "not ok 3 the recipe packages what make install does not install:$missing"
fi

# 4. Every pkg-config module configure.ac asks for, and the asn1Parser it
# runs, comes from a recipe in DEPENDS (PACKAGECONFIG's for optional ones).
recipe_of() {
    case $1 in
        glib-2.0|gio-2.0|gio-unix-2.0) echo glib-2.0 ;;
        libsystemd) echo systemd ;;
        gnutls) echo gnutls ;;
        tss2-*) echo tpm2-tss ;;
        libsecret-1) echo libsecret ;;
        libsoup-3.0) echo libsoup ;;
        json-glib-1.0) echo json-glib ;;
        libqrencode) echo qrencode ;;
        pam) echo libpam ;;
        libtasn1) echo libtasn1 ;;
        asn1Parser) echo libtasn1-native ;;
        *) echo "?" ;;
    esac
}
depends=" $(values DEPENDS) $(printf '%s\n' "$packageconfig" | cut -d, -f3 | tr '\n' ' ') "
modules=$(sed -n 's/.*PKG_CHECK_MODULES(\[[A-Z0-9_]*\], *\[\([^]]*\)\].*/\1/p' "$G_TEST_SRCDIR/configure.ac" |
          tr ' ' '\n' | grep -v -e '^[<>=]*$' -e '^[0-9]' | sort -u)
[ -n "$modules" ] || echo "# no PKG_CHECK_MODULES found in configure.ac"
undeclared=
for module in $modules asn1Parser; do
    r=$(recipe_of "$module")
    if [ "$r" = "?" ]; then
        undeclared="$undeclared $module(add it to recipe_of in $0)"
    elif [[ $depends != *" $r "* ]]; then
        undeclared="$undeclared $module($r)"
    fi
done
if [ -n "$modules" ] && [ -z "$undeclared" ]; then
    echo "ok 4 DEPENDS has the recipes of the $(echo "$modules" | wc -l) pkg-config modules and asn1Parser"
else
    echo "not ok 4 not in DEPENDS:$undeclared"
fi
