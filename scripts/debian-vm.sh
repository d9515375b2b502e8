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
. "$REPO/scripts/debian-lib.sh"

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

mkdir -p "$work/scenario"
cp "$REPO/tests/debian/boot.sh" "$work/scenario/step.sh"
scenario_disk "$work/scenario" "$work/scenario.img"
cp --sparse=always "$img/root.img" "$work/root.img"
truncate -s 1G "$work/backing.img"
truncate -s 512M "$work/cache.img"

# Each boot appends its console to $logf; @@STEP lines say how it ended.
boot_no=0 finished=
while [ "$boot_no" -lt 8 ] && [ -z "$finished" ]; do
	boot_no=$((boot_no + 1))
	out=$work/boot$boot_no.log
	t0=$(date +%s)
	rc=0
	boot_guest "$out" "$per_boot" "$work/root.img" "$work/backing.img" \
		"$work/cache.img" "$work/scenario.img" || rc=$?
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
	*" host dkms-install") dkms_install_ours debian ;;
	*" host dkms-remove") dkms_remove_ours debian; finished=1 ;;
	*poweroff) finished=1 ;;
	esac
done
if tr -d '\r' < "$logf" | grep -aq '^@@STEP 5 host dkms-remove'; then
	check_ok "debian: all five boots ran"
else
	check_fail "debian: all five boots ran"
fi
echo "TIME scenario debian $(( $(date +%s) - run_t0 ))"
