# What the commands that boot the Debian image share (scripts/debian-vm.sh,
# scripts/xfstests.sh); sourced after lib.sh, never run. The caller sets
# $work (a scratch folder), $kver (the image's kernel release) and puts
# the guest's root file system in $work/root.img.

# in_guest_root SCRIPT: run bash SCRIPT with the guest's root file system
# mounted at $R (and /proc, /sys, /dev in it), in a mount namespace of
# its own, so that nothing stays mounted whatever happens.
in_guest_root() {
	mkdir -p "$work/root"
	REPO=$REPO kver=$kver work=$work unshare -m bash -c '
		set -e
		R=$1
		mount -o loop "$2" "$R"
		mount -t proc proc "$R/proc"
		mount -t sysfs sys "$R/sys"
		mount --bind /dev "$R/dev"
		eval "$3"' - "$work/root" "$work/root.img" "$1"
}

# in_guest_root_check WHAT SCRIPT: in_guest_root SCRIPT as one check,
# with the end of its output when it fails.
in_guest_root_check() {
	if in_guest_root "$2" > "$work/chroot.out" 2>&1; then
		check_ok "$1"
	else
		check_fail "$1"
		tail -n 20 "$work/chroot.out" | sed 's/^/    | /'
	fi
}

# dkms_install_ours NAME: README.md's DKMS commands in the guest's root
# file system, and a check each that they worked, that DKMS's build log
# has no warning, and that modprobe and the initramfs now have ours.
dkms_install_ours() {
	local name=$1
	in_guest_root_check "$name: dkms add, build and install ours for $kver; update-initramfs" '
		"$REPO/scripts/dkms-source.sh" "$R" > /dev/null
		chroot "$R" dkms add bcache/1.0
		chroot "$R" dkms build bcache/1.0 -k "$kver"
		cp "$R/var/lib/dkms/bcache/1.0/$kver/x86_64/log/make.log" "$work/make.log"
		chroot "$R" dkms install bcache/1.0 -k "$kver"
		chroot "$R" update-initramfs -u -k "$kver"
		chroot "$R" modinfo -k "$kver" -F filename bcache > "$work/modinfo"
		chroot "$R" lsinitramfs "/boot/initrd.img-$kver" > "$work/lsinitramfs"'
	if [ -f "$work/make.log" ] && ! grep -qE 'warning:|error:' "$work/make.log"; then
		check_ok "$name: DKMS's build log has no warning"
	else
		check_fail "$name: DKMS's build log has no warning"
		grep -E 'warning:|error:' "$work/make.log" | head -n 10 | sed 's/^/    | /'
	fi
	if grep -q '/updates/dkms/bcache.ko' "$work/modinfo" &&
	   grep -q 'updates/dkms/bcache.ko' "$work/lsinitramfs"; then
		check_ok "$name: modprobe and the initramfs have ours (updates/dkms)"
	else
		check_fail "$name: modprobe and the initramfs have ours (updates/dkms)"
	fi
}

# dkms_remove_ours NAME: dkms remove and update-initramfs, and a check
# that modprobe and the initramfs have the distribution's driver again.
dkms_remove_ours() {
	local name=$1
	in_guest_root_check "$name: dkms remove; update-initramfs" '
		chroot "$R" dkms remove bcache/1.0 --all
		chroot "$R" update-initramfs -u -k "$kver"
		chroot "$R" modinfo -k "$kver" -F filename bcache > "$work/modinfo"
		chroot "$R" lsinitramfs "/boot/initrd.img-$kver" > "$work/lsinitramfs"'
	if grep -q '/kernel/drivers/md/bcache/bcache.ko' "$work/modinfo" &&
	   grep -q '/kernel/drivers/md/bcache/bcache.ko' "$work/lsinitramfs" &&
	   ! grep -q 'updates/dkms/bcache' "$work/lsinitramfs"; then
		check_ok "$name: modprobe and the initramfs have the distribution's driver again"
	else
		check_fail "$name: modprobe and the initramfs have the distribution's driver again"
	fi
}

# boot_guest OUT SECS DISK...: one boot of the guest, its console in OUT;
# returns QEMU's status (124 when it ran past SECS). Like a boot loader,
# it takes the kernel and the initramfs from the guest's /boot as the
# previous boot left them. -no-reboot: the guest's reboot, power cut or
# power-off ends QEMU. The first disk is the root file system.
boot_guest() {
	local out=$1 secs=$2 f drives=()
	shift 2
	for f in "vmlinuz-$kver" "initrd.img-$kver"; do
		debugfs -R "dump /boot/$f $work/$f" "$work/root.img" > /dev/null 2>&1 ||
			die "no /boot/$f in the guest"
	done
	for f in "$@"; do
		drives+=(-drive "file=$f,if=virtio,format=raw,cache=unsafe")
	done
	timeout "$secs" qemu-system-x86_64 -accel tcg,thread=multi -cpu max \
		-smp 2 -m 2048 -nographic -no-reboot \
		-kernel "$work/vmlinuz-$kver" -initrd "$work/initrd.img-$kver" \
		-append "root=/dev/vda ro console=ttyS0 panic=-1 quiet" \
		"${drives[@]}" < /dev/null > "$out" 2>&1
}

# scenario_disk DIR IMG: the read-only disk (label bcscenario, mounted at
# /scenario in the guest) that carries DIR's files; bcache-step.service
# runs its step.sh.
scenario_disk() {
	truncate -s 64M "$2"
	mke2fs -q -t ext4 -L bcscenario -d "$1" "$2"
}
