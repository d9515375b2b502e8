#!/bin/bash
# Build our bcache.ko out of tree against one of the cached kernels.
# The sources are copied to a scratch folder first so the repo stays free
# of build products and several builds can run side by side.
# usage: scripts/module.sh debug|perf [OUTDIR] [extra make args...]
#   prints the path of the built bcache.ko on stdout
. "$(dirname "$0")/lib.sh"

flavor=${1:-debug}
kbuild=$(kernel_build_dir "$flavor")
[ -f "$kbuild/.built" ] || kbuild=$("$REPO/scripts/kernel.sh" "$flavor")
out=${2:-$BCACHE_CACHE/module-$flavor}
shift $(( $# < 2 ? $# : 2 ))

mkdir -p "$out"
# Mirror the driver's files; drop sources that are no longer among them.
files=$(driver_files)
rsync -a --delete-missing-args --files-from=- "$REPO/" "$out/" <<< "$files"
find "$out" -name '*.[ch]' | while read -r f; do
	grep -qxF "${f#"$out"/}" <<< "$files" || rm -f "$f"
done

make -s -C "$kbuild" M="$out" CONFIG_BCACHE=m CONFIG_BCACHE_KUNIT_TEST=y \
	CONFIG_BCACHE_CLOSURES_DEBUG=y CONFIG_BCACHE_ASYNC_REGISTRATION=y \
	-j"$JOBS" "$@" modules >&2
echo "$out/bcache.ko"
