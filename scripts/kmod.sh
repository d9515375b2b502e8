#!/bin/bash
# Build a one-file test module of tools/kmod/ (NAME.c, e.g. volcache) out
# of tree against one of the cached kernels, with W=1, in a scratch folder
# (the repo stays free of build products). Never part of bcache.ko; the
# scenarios load it from /lib/modules/extra/ (scripts/vm.sh -x).
# usage: scripts/kmod.sh debug|perf NAME [OUTDIR]
#   prints the path of the built NAME.ko on stdout
. "$(dirname "$0")/lib.sh"

flavor=${1:-debug} name=${2:?usage: kmod.sh FLAVOR NAME [OUTDIR]}
[ -f "$REPO/tools/kmod/$name.c" ] || die "no tools/kmod/$name.c"
kbuild=$(kernel_build_dir "$flavor")
[ -f "$kbuild/.built" ] || kbuild=$("$REPO/scripts/kernel.sh" "$flavor")
out=${3:-$BCACHE_CACHE/kmod-$flavor-$name}

mkdir -p "$out"
cp "$REPO/tools/kmod/$name.c" "$out/"
echo "obj-m := $name.o" > "$out/Kbuild"
make -s -C "$kbuild" M="$out" W=1 -j"$JOBS" modules >&2
[ -f "$out/$name.ko" ] || die "$name.ko not built"
echo "$out/$name.ko"
