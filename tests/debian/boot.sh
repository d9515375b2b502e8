#!/bin/bash
# The Debian scenario, guest side: run by bcache-step.service at every
# boot of the image scripts/debian-image.sh builds, once the system is up.
# Each boot does the next step (kept in $STATE on the root file system)
# and ends the boot itself: a systemd reboot, a power cut (sysrq b) or a
# power-off. Nothing here registers a device or mounts one: udev (through
# bcache-tools' 69-bcache.rules) and fstab must do that by themselves.
#
#   1  the distribution's bcache.ko: make-bcache, /dev/bcache0 through
#      udev, ext4 in fstab, writeback mode, data; systemd reboot
#   2  it all came back under the distribution's driver; power-off, and
#      the host installs ours with DKMS and rebuilds the initramfs
#   3  ours runs at boot, from the initramfs on; everything came back;
#      dirty data written and kept; systemd reboot
#   4  the dirty data came back; more written and synced; power cut
#   5  every synced byte is there, fsck is clean; power-off, and the host
#      removes ours with DKMS
# Prints CHECK lines on the console as the test VMs do.
STATE=/var/lib/bcache-scenario/step
B=/dev/vdb
C=/dev/vdc
MNT=/srv/data
NAME=debian
SYS=/sys/block/bcache0/bcache

out() { echo "$*" > /dev/ttyS0; }
# check WHAT CMD...: one CHECK line; a command that took more than 5 s
# says how long (for the time budget), one that failed shows its output.
check() {
	local what=$1 t0=$SECONDS rc=0
	shift
	"$@" > /tmp/check.out 2>&1 || rc=$?
	[ $((SECONDS - t0)) -le 5 ] || out "### $what: $((SECONDS - t0)) s"
	if [ "$rc" = 0 ]; then
		out "CHECK ok $NAME: $what"
	else
		out "CHECK fail $NAME: $what"
		tail -n 30 /tmp/check.out | sed 's/^/    | /' > /dev/ttyS0
		return 1
	fi
}
check_eq() {
	local what=$1 want=$2 got=$3
	if [ "$want" = "$got" ]; then
		out "CHECK ok $NAME: $what"
	else
		out "CHECK fail $NAME: $what (want '$want', got '$got')"
	fi
}
# retry SECS CMD...: CMD succeeds within SECS seconds.
retry() {
	local n=$1
	shift
	while ! "$@"; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || return 1
		sleep 1
	done
}
splat_free() {
	! dmesg | grep -A 12 -E 'BUG:|WARNING:|Oops|general protection|KASAN'
}
mounted_from_bcache() {
	findmnt -n -o SOURCE "$MNT" | grep -qx /dev/bcache0
}
# The module modprobe would load: "kernel" (the distribution's) or
# "updates" (ours, from DKMS).
modprobe_picks() {
	case $(modinfo -F filename bcache) in
	*/updates/*) echo updates ;;
	*/kernel/*) echo kernel ;;
	*) echo none ;;
	esac
}
# The driver running now: ours has a version (1.0, dkms.conf's), the
# kernel's has none.
running_driver() {
	if [ -f /sys/module/bcache/version ]; then
		echo updates
	elif [ -d /sys/module/bcache ]; then
		echo kernel
	else
		echo none
	fi
}
# fio over one file of the file system: written with a verify header in
# every block, or read back against it.
data() {
	local file=$1
	shift
	fio --name="$file" --filename="$MNT/$file" --size=8M --bs=4k \
		--rw=randwrite --randseed=7 --ioengine=psync --verify=crc32c \
		--verify_fatal=1 --fsync_on_close=1 "$@"
}
written() { data "$1" --do_verify=0; }
verified() {
	local f
	for f; do
		data "$f" --verify_only || return 1
	done
}
# What a failed check of the devices at boot needs to be understood.
diag() {
	{
		ls -l /dev/bcache* /dev/bcache/*/
		findmnt "$MNT"
		systemctl status --no-pager srv-data.mount
		udevadm info /dev/bcache0
		journalctl -b --no-pager | grep -iE 'bcache|srv-data' | tail -n 30
	} 2>&1 | sed 's/^/    | /' > /dev/ttyS0
}
next_step() { echo "$1" > "$STATE"; sync; }
sys_reboot() { out "@@STEP $1 reboot"; systemctl reboot; exit 0; }

mkdir -p "${STATE%/*}"
step=$(cat "$STATE" 2>/dev/null || echo 1)
out "@@STEP $step begin $(uname -r)"

common_checks() {
	local fsuuid
	fsuuid=$(cat /var/lib/bcache-scenario/fsuuid)
	check "step $step: /dev/bcache0 was mounted at boot by fstab" \
		retry 60 mounted_from_bcache || diag
	check_eq "step $step: /dev/disk/by-uuid/ names it by its file system" \
		/dev/bcache0 "$(readlink -f "/dev/disk/by-uuid/$fsuuid")"
	check_eq "step $step: the cache mode is still writeback" \
		"writethrough [writeback] writearound none" "$(cat $SYS/cache_mode)"
	# bcache-tools 1.0.8's rule names bcache0 under /dev/bcache/ only on
	# the change event the driver sends when it registers the device;
	# when the initramfs registered it, the add event systemd replays
	# later has no CACHED_UUID and the links go, with either driver.
	out "### step $step: /dev/bcache/ after the boot: $(ls /dev/bcache 2>&1 | tr '\n' ' ')"
}

case $step in
1)
	check_eq "the distribution's bcache.ko is what modprobe loads" \
		kernel "$(modprobe_picks)"
	check "make-bcache -B vdb -C vdc (nothing else)" \
		make-bcache --wipe-bcache -B $B -C $C
	check "udev registers both: /dev/bcache0 appears" \
		retry 60 test -b /dev/bcache0
	check "the cache set is attached" \
		retry 30 grep -qx clean $SYS/state
	echo srvdata > $SYS/label
	uuid=$(bcache-super-show $B | sed -n 's/^dev.uuid[[:space:]]*//p')
	check "/dev/bcache/by-uuid/ has the link" \
		retry 20 test -b "/dev/bcache/by-uuid/$uuid"
	check "/dev/bcache/by-label/ has the link" \
		retry 20 test -b /dev/bcache/by-label/srvdata
	echo writeback > $SYS/cache_mode
	check "mkfs.ext4 on /dev/bcache0" mkfs.ext4 -q /dev/bcache0
	fsuuid=$(blkid -s UUID -o value /dev/bcache0)
	echo "$fsuuid" > /var/lib/bcache-scenario/fsuuid
	mkdir -p $MNT
	echo "UUID=$fsuuid $MNT ext4 defaults,nofail,x-systemd.device-timeout=90s 0 2" >> /etc/fstab
	systemctl daemon-reload
	check "the fstab line mounts it" mount $MNT
	check "8 MiB written through it" written one
	check "no kernel splat" splat_free
	next_step 2
	sys_reboot 1
	;;
2)
	check_eq "the distribution's driver runs after the reboot" \
		kernel "$(running_driver)"
	common_checks
	check "every byte written before the reboot" verified one
	check "no kernel splat" splat_free
	next_step 3
	# The host installs ours with DKMS (scripts/debian-vm.sh).
	out "@@STEP 2 host dkms-install"
	systemctl poweroff
	;;
3)
	check_eq "ours runs after the reboot" updates "$(running_driver)"
	common_checks
	check "every byte written under the distribution's driver" verified one
	echo 0 > $SYS/writeback_running
	check "8 MiB more, written back later" written two
	check_eq "they are dirty in the cache" dirty "$(cat $SYS/state)"
	check "no kernel splat" splat_free
	next_step 4
	sys_reboot 3
	;;
4)
	# First: writeback (running again after the boot) may clean it soon.
	check_eq "the dirty data came back dirty" dirty "$(cat $SYS/state)"
	check_eq "ours runs after the reboot" updates "$(running_driver)"
	common_checks
	check "every byte of both files" verified one two
	check "8 MiB more, synced" written three
	check "no kernel splat" splat_free
	next_step 5
	out "@@STEP 4 powercut"
	# The serial line sends the marker after the write returns: give it a
	# second to reach the host before the reset takes the UART down.
	sleep 1
	echo b > /proc/sysrq-trigger
	;;
5)
	check_eq "ours runs after the power cut" updates "$(running_driver)"
	common_checks
	check "every byte of the three files" verified one two three
	check "unmount" umount $MNT
	check "e2fsck -fn: the file system is clean" e2fsck -fn /dev/bcache0
	check "no kernel splat" splat_free
	next_step done
	# The host removes ours with DKMS (scripts/debian-vm.sh).
	out "@@STEP 5 host dkms-remove"
	systemctl poweroff
	;;
*)
	out "@@STEP $step: nothing left to do"
	systemctl poweroff
	;;
esac
