#!/bin/bash
# fstests, guest side (scripts/xfstests.sh): run once by
# bcache-step.service. One cache set in writeback mode, two backing
# devices: bcache on vdb is TEST_DEV (ext4), bcache on vdc SCRATCH_DEV;
# vdd is the cache. udev registers them, as on any Debian server. Runs
# fstests' ./check with /scenario/check-args, its output on the console,
# then powers off.
out() { echo "$*" > /dev/ttyS0; }
# bcache_of DEV: the bcacheN that DEV backs, once udev registered it.
bcache_of() {
	local n
	for n in $(seq 60); do
		[ -e "/sys/block/$1/bcache/dev" ] &&
			{ basename "$(readlink -f "/sys/block/$1/bcache/dev")"; return 0; }
		sleep 1
	done
	return 1
}

make-bcache --wipe-bcache --writeback -C /dev/vdd -B /dev/vdb /dev/vdc > /dev/null
test_bc=$(bcache_of vdb) && scratch_bc=$(bcache_of vdc) ||
	{ out "@@XFSTESTS no bcache device appeared"; systemctl poweroff; exit 1; }
# Which driver udev loaded: ours has a version, the kernel's none.
if [ -f /sys/module/bcache/version ]; then
	out "@@XFSTESTS driver ours $(cat /sys/module/bcache/version)"
else
	out "@@XFSTESTS driver the kernel's"
fi
for bc in "$test_bc" "$scratch_bc"; do
	grep -q '\[writeback\]' "/sys/block/$bc/bcache/cache_mode" ||
		out "@@XFSTESTS $bc is not in writeback mode"
done
mkfs.ext4 -q -F "/dev/$test_bc"
mkdir -p /mnt/test /mnt/scratch
cat > /var/lib/xfstests/local.config <<EOF
export FSTYP=ext4
export TEST_DEV=/dev/$test_bc
export TEST_DIR=/mnt/test
export SCRATCH_DEV=/dev/$scratch_bc
export SCRATCH_MNT=/mnt/scratch
EOF
cd /var/lib/xfstests || exit 1
# shellcheck disable=SC2046 # the arguments, split as written
./check $(cat /scenario/check-args) > /dev/ttyS0 2>&1
out "@@XFSTESTS done"
systemctl poweroff
