#!/bin/bash
# Build (or reuse) the test kernel: tinyconfig + our fragments, with the
# kernel's own bcache as a module for reference.
# usage: scripts/kernel.sh debug|perf   prints the build folder on stdout
. "$(dirname "$0")/lib.sh"

flavor=${1:-debug}
[ -f "$REPO/scripts/kconfig/$flavor.config" ] || die "no fragment for $flavor"
[ -f "$KTARBALL" ] || die "$KTARBALL missing: run scripts/deps.sh"

src=$(kernel_src)
if [ ! -f "$src/.extracted" ]; then
	log "extracting $KTARBALL"
	rm -rf "$src" "$BCACHE_CACHE/x"
	mkdir -p "$BCACHE_CACHE/x"
	tar -xJf "$KTARBALL" -C "$BCACHE_CACHE/x"
	mv "$BCACHE_CACHE/x/linux-source-6.12" "$src"
	rmdir "$BCACHE_CACHE/x"
	touch "$src/.extracted"
fi

out=$(kernel_build_dir "$flavor")
if [ -f "$out/.built" ]; then
	echo "$out"
	exit 0
fi

log "building $flavor kernel in $out (a few minutes)"
mkdir -p "$out"
make -s -C "$src" O="$out" tinyconfig >&2
"$src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" \
	"$REPO/scripts/kconfig/common.config" \
	"$REPO/scripts/kconfig/$flavor.config" >/dev/null
make -s -C "$src" O="$out" olddefconfig >&2

# A fragment line that kconfig silently dropped means a missing dependency:
# say so rather than boot a kernel that lacks what the tests assume.
missing=0
while read -r line; do
	case "$line" in
	CONFIG_*=n) opt=${line%%=*}
		grep -q "^$opt=" "$out/.config" && { echo "kconfig: $opt still set" >&2; missing=1; } ;;
	CONFIG_*) grep -qx "$line" "$out/.config" || { echo "kconfig: $line not applied" >&2; missing=1; } ;;
	esac
done < <(cat "$REPO/scripts/kconfig/common.config" "$REPO/scripts/kconfig/$flavor.config")
[ "$missing" = 0 ] || die "config fragment not fully applied"

make -s -C "$src" O="$out" -j"$JOBS" bzImage modules >&2
touch "$out/.built"
echo "$out"
