# Fuzzed cache-set metadata: for each kind the newest jset leads to (the
# jset itself, the root node's first set, the first prio set, the uuid
# table), seeded cases of one to three edits with the checksum made valid
# again (sbedit --fuzz-meta KIND SEED, reproducible). The set holds 4 MiB
# cached for an attached backing device. Registering the cache, then the
# backing device, either works (bcache0 is read, then everything stops) or
# is refused; it never hangs or splats, and no half-built set stays in
# /sys/fs/bcache. The cache is a 16 MiB dm-linear device whose image is
# kept on vdc and copied back after every case. The kernel command line's
# fuzzcases=N sets the cases per kind (default 4) and fuzzfirst=S the
# first seed (scripts/fuzz.sh runs many). Seed 2 of the jset names a root
# at level 8, past the lockdep subclasses the node cache gives out: a
# lockdep BUG until the driver refused such a root. Under the kernel's bcache the edits differ (its
# jsets do) and its second jset case hits a BUG_ON in bch_prio_write,
# then a KASAN use-after-free. Runs against $BCMOD.
MIB=16
CASES=$(sed -n 's/.*fuzzcases=\([0-9]*\).*/\1/p' /proc/cmdline)
CASES=${CASES:-4}
FIRST=$(sed -n 's/.*fuzzfirst=\([0-9]*\).*/\1/p' /proc/cmdline)
FIRST=${FIRST:-1}
B=/dev/vda
wipe /dev/vdb
check "a 16 MiB cache device (dm-linear on vdb)" dm_small bc_fm /dev/vdb $MIB
C=/dev/mapper/bc_fm
check "make-bcache -C -B, 16 KiB buckets (1024 of them)" \
	cs_make $C $B --bucket 16k
check "module loads" load_bcache
check "register cache and backing device" cs_up $C $B || return
pattern_mib fm 4 > /tmp/fm
check "4 MiB cached through bcache0" \
	dd if=/tmp/fm of=/dev/bcache0 bs=1M seek=4 conv=fsync 2>/dev/null
check "stop the set" cs_stop
[ -e /sys/block/bcache0 ] && bc_stop bcache0
check "the backing device is released" wait_released $B
check "the cache image is saved on vdc" image_save $C $MIB

has_set() { [ -n "$(cs_dir)" ]; }
# Whatever the set made of it, bcache0's reads end, with data or errors.
read_some() {
	wait_for /sys/block/bcache0 5 || return 0
	dd if=/dev/bcache0 of=/dev/null bs=1M skip=4 count=4 iflag=direct \
		2>/dev/null
	return 0
}

total=0 registered=0
for kind in jset node prio uuid; do
	seed=$FIRST
	while [ $seed -lt $((FIRST + CASES)) ]; do
		edits=$(sbedit $C --fuzz-meta $kind $seed | tr '\n' ' ')
		what="$kind $seed ($edits)"
		blockdev --flushbufs $C
		kmsg_mark "fm-$kind-$seed"
		if bc_register $C 2>/dev/null; then
			registered=$((registered + 1))
			bc_register $B 2>/dev/null
			read_some
			check "$what: registered, then stops cleanly" \
				retry 30 stop_everything
		else
			check "$what: refused, nothing left behind" retry 20 no_set
		fi
		echo "### $what: $(dmesg_after "fm-$kind-$seed" |
			grep -i bcache | tail -n 1)"
		wait_released $B
		image_put_back $C $MIB
		seed=$((seed + 1)) total=$((total + 1))
	done
done
echo "### $registered of $total fuzzed cases registered"
check "no kernel splat after $total fuzzed cases" dmesg_splat_free

check "the restored cache registers" retry 10 bc_register $C
check "its set comes up" retry 20 has_set
check "stop the set" cs_stop
unload_bcache
check "dm device removed" retry 10 dmsetup remove bc_fm
