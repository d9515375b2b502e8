#!/bin/bash
# Pack the guest's initramfs: busybox, bcache-tools, fio, dmsetup,
# e2fsprogs (each with its shared libraries), our module and the kernel's
# own bcache.ko (the reference), the guest harness and what it runs, and
# any EXTRA files (into /lib/modules/extra/, e.g. benchmark modules).
# In the guest: /init (tests/guest/guest-init), /guest/ (guest-lib.sh,
# run-one.sh), /tests/NAME.sh (the scenarios, tests/vm/) and
# /tests/jobs/NAME.sh (tools/jobs/): a name given to vm.sh is a path
# under /tests/ without .sh.
# usage: scripts/initramfs.sh FLAVOR OUR_KO OUT.cpio [EXTRA...]
. "$(dirname "$0")/lib.sh"

flavor=$1 ours=$2 out=$3
shift 3
kbuild=$(kernel_build_dir "$flavor")
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

mkdir -p "$stage"/{bin,sbin,dev,proc,sys,tmp,run,mnt,lib/modules/ours,lib/modules/ref,lib/modules/extra,guest,tests/jobs}
cp /bin/busybox "$stage/bin/busybox"

# A binary and every library the dynamic loader would map for it.
add_binary() {
	local bin=$1 lib
	mkdir -p "$stage$(dirname "$bin")"
	cp -L "$bin" "$stage$bin"
	for lib in $(ldd "$bin" 2>/dev/null | grep -oE '/[^ ]+'); do
		[ -e "$stage$lib" ] && continue
		mkdir -p "$stage$(dirname "$lib")"
		cp -L "$lib" "$stage$lib"
	done
}
for b in /usr/sbin/make-bcache /usr/sbin/bcache-super-show \
	 /lib/udev/probe-bcache /usr/bin/fio /usr/sbin/dmsetup \
	 /usr/sbin/mke2fs /usr/sbin/e2fsck; do
	add_binary "$b"
done
# Debian's ext4 defaults; the guest's clock comes from the host's, but a
# skewed one must not make e2fsck -n report "errors".
mkdir -p "$stage/etc"
cp /etc/mke2fs.conf "$stage/etc/"
printf '[options]\n\tbroken_system_clock = 1\n' > "$stage/etc/e2fsck.conf"

# sbedit: the scenarios' superblock editor.
gcc -O2 -Wall -static -o "$stage/bin/sbedit" "$REPO/tests/guest/sbedit.c"

cp "$ours" "$stage/lib/modules/ours/bcache.ko"
cp "$kbuild/drivers/md/bcache/bcache.ko" "$stage/lib/modules/ref/bcache.ko"
for f in "$@"; do
	cp "$f" "$stage/lib/modules/extra/"
done
cp "$REPO"/tests/guest/guest-lib.sh "$REPO"/tests/guest/run-one.sh "$stage/guest/"
cp "$REPO"/tests/vm/*.sh "$stage/tests/"
cp "$REPO"/tools/jobs/*.sh "$stage/tests/jobs/"
cp "$REPO/tests/guest/guest-init" "$stage/init"
chmod +x "$stage/init" "$stage"/guest/*.sh "$stage"/tests/*.sh "$stage"/tests/jobs/*.sh

(cd "$stage" && find . | cpio -o -H newc --quiet) > "$out"
