#!/bin/bash
# Compile single objects of our module (W=1, optionally sparse with C=1)
# against the debug kernel, in a scratch copy, without linking bcache.ko:
# lets work on one file go on while another file does not build yet.
# usage: scripts/obj.sh [-s] FILE.o... (-s: also run sparse on them)
. "$(dirname "$0")/lib.sh"

sparse=
[ "${1:-}" = -s ] && { sparse=C=1; shift; }
kbuild=$(kernel_build_dir debug)
[ -f "$kbuild/.built" ] || kbuild=$("$REPO/scripts/kernel.sh" debug)
out=$(mktemp -d /tmp/bcache-obj.XXXXXX)
trap 'rm -rf "$out"' EXIT
driver_files | rsync -a --files-from=- "$REPO/" "$out/"
make -s -C "$kbuild" M="$out" CONFIG_BCACHE=m CONFIG_BCACHE_KUNIT_TEST=y \
	CONFIG_BCACHE_DEBUG=y W=1 $sparse "$@"
