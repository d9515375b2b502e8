#!/bin/bash
# In-tree build: a copy of the 6.12 tree (hard links, so it costs little)
# with our files in place of drivers/md/bcache/, configured like the debug
# kernel plus our Kconfig symbols, and bcache.ko built there.
# usage: scripts/intree.sh   prints the path of the in-tree bcache.ko
. "$(dirname "$0")/lib.sh"

dbg=$("$REPO/scripts/kernel.sh" debug)
src=$(kernel_src)
tree=$BCACHE_CACHE/intree-src-$(kernel_version)
out=$BCACHE_CACHE/intree-build-$(basename "$dbg")

if [ ! -f "$tree/.linked" ]; then
	log "linking an in-tree copy of the kernel source"
	rm -rf "$tree"
	cp -al "$src" "$tree"
	touch "$tree/.linked"
fi
copy_ours_into_tree "$tree"

mkdir -p "$out"
cp "$dbg/.config" "$out/.config"
sed -i '/CONFIG_BCACHE_/d' "$out/.config"
cat >> "$out/.config" <<'CFG'
CONFIG_BCACHE_KUNIT_TEST=y
CONFIG_BCACHE_CLOSURES_DEBUG=y
CONFIG_BCACHE_ASYNC_REGISTRATION=y
CFG
make -s -C "$tree" O="$out" olddefconfig >&2
for opt in BCACHE_KUNIT_TEST BCACHE_CLOSURES_DEBUG BCACHE_ASYNC_REGISTRATION; do
	grep -q "^CONFIG_$opt=y" "$out/.config" || die "in-tree Kconfig lost CONFIG_$opt"
done
make -s -C "$tree" O="$out" -j"$JOBS" modules_prepare >&2
# vmlinux is the debug kernel's: modpost resolves our imports against it.
cp "$dbg/Module.symvers" "$out/Module.symvers"
ln -f "$dbg/vmlinux.o" "$out/vmlinux.o" 2>/dev/null || cp "$dbg/vmlinux.o" "$out/vmlinux.o"
make -s -C "$tree" O="$out" -j"$JOBS" drivers/md/bcache/bcache.ko >&2
echo "$out/drivers/md/bcache/bcache.ko"
