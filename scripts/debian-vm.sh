#!/bin/bash
# The Debian scenario, host side: ours installed with DKMS on Debian's own
# kernel, devices brought up by udev and fstab across systemd reboots and
# a power cut, after the same steps under the distribution's bcache.ko.
#
# QEMU boots a copy of the cached bookworm image (scripts/debian-image.sh)
# once per step of tests/debian/boot.sh, with -no-reboot: the guest's
# reboot, power cut or power-off ends QEMU. Like a boot loader, each boot
# takes the kernel and the initramfs from the guest's /boot as the
# previous boot left it.
#
# A step that ends with "@@STEP N host WHAT" powers the guest off for the
# host to do WHAT in a chroot of the guest's root file system, then boot
# it again: "dkms-install" (dkms add, build and install of ours, from
# scripts/dkms-source.sh's copy, and update-initramfs -u) and
# "dkms-remove" (dkms remove and update-initramfs -u). These are the
# commands README.md gives; they run here rather than in the guest
# because under TCG they take three minutes (depmod and the initramfs),
# which the test command cannot spend. DKMS's build log must hold no
# warning.
#
# usage: scripts/debian-vm.sh [-l LOG] [-t SECS]   (SECS: per boot, 600)
# Prints CHECK lines, "TIME debian-boot N SECS" per boot and "TIME
# scenario debian SECS" for the whole.
. "$(dirname "$0")/lib.sh"

logf= per_boot=600
while getopts l:t: opt; do
	case $opt in
	l) logf=$OPTARG ;;
	t) per_boot=$OPTARG ;;
	*) die "bad option" ;;
	esac
done

run_t0=$(date +%s)
img=$("$REPO/scripts/debian-image.sh") || die "no Debian image"
kver=$(cat "$img/kver")
work=$(mktemp -d "${TMPDIR:-/tmp}/bcache-debian.XXXXXX")
trap 'rm -rf --one-file-system "$work"' EXIT
logf=${logf:-$work/console.log}
: > "$logf"

mkdir -p "$work/scenario" "$work/root"
cp "$REPO/tests/debian/boot.sh" "$work/scenario/step.sh"
truncate -s 64M "$work/scenario.img"
mke2fs -q -t ext4 -L bcscenario -d "$work/scenario" "$work/scenario.img"
cp --sparse=always "$img/root.img" "$work/root.img"
truncate -s 1G "$work/backing.img"
truncate -s 512M "$work/cache.img"

# in_guest_root SCRIPT: run bash SCRIPT with the guest's root file system
# mounted at $R (and /proc, /dev in it), in a mount namespace of its own.
in_guest_root() {
	unshare -m bash -c '
		set -e
		R=$1
		mount -o loop "$2" "$R"
		mount -t proc proc "$R/proc"
		mount --bind /dev "$R/dev"
		eval "$3"' - "$work/root" "$work/root.img" "$1"
}
dkms_install() {
	local out=$work/dkms-install.out
	if in_guest_root '
		"$REPO/scripts/dkms-source.sh" "$R" > /dev/null
		chroot "$R" dkms add bcache/1.0
		chroot "$R" dkms build bcache/1.0 -k "$kver"
		cp "$R/var/lib/dkms/bcache/1.0/$kver/x86_64/log/make.log" "$work/make.log"
		chroot "$R" dkms install bcache/1.0 -k "$kver"
		chroot "$R" update-initramfs -u -k "$kver"
		chroot "$R" modinfo -k "$kver" -F filename bcache > "$work/modinfo"
		chroot "$R" lsinitramfs "/boot/initrd.img-$kver" > "$work/lsinitramfs"' \
			> "$out" 2>&1; then
		check_ok "debian: dkms add, build and install ours for $kver; update-initramfs"
	else
		check_fail "debian: dkms add, build and install ours for $kver; update-initramfs"
		tail -n 20 "$out" | sed 's/^/    | /'
	fi
	if [ -f "$work/make.log" ] && ! grep -qE 'warning:|error:' "$work/make.log"; then
		check_ok "debian: DKMS's build log has no warning"
	else
		check_fail "debian: DKMS's build log has no warning"
		grep -E 'warning:|error:' "$work/make.log" | head -n 10 | sed 's/^/    | /'
	fi
	if grep -q '/updates/dkms/bcache.ko' "$work/modinfo" &&
	   grep -q 'updates/dkms/bcache.ko' "$work/lsinitramfs"; then
		check_ok "debian: modprobe and the initramfs have ours (updates/dkms)"
	else
		check_fail "debian: modprobe and the initramfs have ours (updates/dkms)"
	fi
}
dkms_remove() {
	local out=$work/dkms-remove.out
	if in_guest_root '
		chroot "$R" dkms remove bcache/1.0 --all
		chroot "$R" update-initramfs -u -k "$kver"
		chroot "$R" modinfo -k "$kver" -F filename bcache > "$work/modinfo"
		chroot "$R" lsinitramfs "/boot/initrd.img-$kver" > "$work/lsinitramfs"' \
			> "$out" 2>&1; then
		check_ok "debian: dkms remove; update-initramfs"
	else
		check_fail "debian: dkms remove; update-initramfs"
		tail -n 20 "$out" | sed 's/^/    | /'
	fi
	if grep -q '/kernel/drivers/md/bcache/bcache.ko' "$work/modinfo" &&
	   grep -q '/kernel/drivers/md/bcache/bcache.ko' "$work/lsinitramfs" &&
	   ! grep -q 'updates/dkms/bcache' "$work/lsinitramfs"; then
		check_ok "debian: modprobe and the initramfs have the distribution's driver again"
	else
		check_fail "debian: modprobe and the initramfs have the distribution's driver again"
	fi
}
export REPO kver work

# Each boot appends its console to $logf; @@STEP lines say how it ended.
boot_no=0 finished=
while [ "$boot_no" -lt 8 ] && [ -z "$finished" ]; do
	boot_no=$((boot_no + 1))
	# The boot loader's part: the kernel and initramfs the guest has now.
	for f in "vmlinuz-$kver" "initrd.img-$kver"; do
		debugfs -R "dump /boot/$f $work/$f" "$work/root.img" > /dev/null 2>&1 ||
			die "no /boot/$f in the guest"
	done
	out=$work/boot$boot_no.log
	t0=$(date +%s)
	rc=0
	timeout "$per_boot" qemu-system-x86_64 -accel tcg,thread=multi -cpu max \
		-smp 2 -m 2048 -nographic -no-reboot \
		-kernel "$work/vmlinuz-$kver" -initrd "$work/initrd.img-$kver" \
		-append "root=/dev/vda ro console=ttyS0 panic=-1 quiet" \
		-drive "file=$work/root.img,if=virtio,format=raw,cache=unsafe" \
		-drive "file=$work/backing.img,if=virtio,format=raw,cache=unsafe" \
		-drive "file=$work/cache.img,if=virtio,format=raw,cache=unsafe" \
		-drive "file=$work/scenario.img,if=virtio,format=raw,readonly=on" \
		< /dev/null > "$out" 2>&1 || rc=$?
	echo "TIME debian-boot $boot_no $(( $(date +%s) - t0 ))"
	tr -d '\r' < "$out" >> "$logf"
	tr -d '\r' < "$out" | grep -a '^CHECK \|^    | ' || true
	ended=$(tr -d '\r' < "$out" | grep -a '^@@STEP [0-9]* \(reboot\|powercut\|poweroff\|host\)' | tail -n 1 || true)
	if [ "$rc" = 124 ] || [ -z "$ended" ]; then
		check_fail "debian: boot $boot_no ended as its step says (timed out or died)"
		tr -d '\r' < "$out" | tail -n 30 | sed 's/^/    | /'
		break
	fi
	case $ended in
	*" host dkms-install") dkms_install ;;
	*" host dkms-remove") dkms_remove; finished=1 ;;
	*poweroff) finished=1 ;;
	esac
done
if tr -d '\r' < "$logf" | grep -aq '^@@STEP 5 host dkms-remove'; then
	check_ok "debian: all five boots ran"
else
	check_fail "debian: all five boots ran"
fi
echo "TIME scenario debian $(( $(date +%s) - run_t0 ))"
