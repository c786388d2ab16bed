# Shared by scripts/test and scripts/demo: configure and build in _build/NAME.
# Needs $top (the source tree) and a fail_step function.

lk_jobs=$(nproc)

lk_note() { printf '\n=== %s\n' "$*"; }

# lk_autoreconf: regenerates configure when it is missing or older than its inputs.
lk_autoreconf() {
    if [ ! -x "$top/configure" ] || [ "$top/configure.ac" -nt "$top/configure" ] \
            || [ "$top/Makefile.am" -nt "$top/Makefile.in" ]; then
        lk_note "autoreconf"
        (cd "$top" && autoreconf -fi)
    fi
}

# lk_build NAME CONFIGURE-ARGS...: configures (once) and builds in _build/NAME.
lk_build() {
    local name=$1 dir=$top/_build/$1
    shift
    mkdir -p "$dir"
    if [ ! -f "$dir/Makefile" ] || [ "$top/configure" -nt "$dir/config.status" ]; then
        lk_note "$name: configure $*"
        (cd "$dir" && "$top/configure" "$@" >configure.out) \
            || { fail_step "$name: configure (see $dir/config.log)"; return 1; }
    fi
    lk_note "$name: make"
    make -C "$dir" -j"$lk_jobs" >/dev/null || { fail_step "$name: build"; return 1; }
}
