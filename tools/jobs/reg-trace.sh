# Diagnosis (not a test): where the time of registering a full 512 MiB
# cache set goes, ours against the kernel's bcache. Markers written to
# /dev/kmsg around each step carry printk's nanosecond timestamps, so the
# kernel log between them shows each driver's messages on one clock.
mark() { echo "REGMARK $*" > /dev/kmsg; }

one() {
	who=$1
	bench_set_make
	if [ "$who" = ours ]; then load_ours; else load_ref; fi
	bench_set_up
	# No sequential or congestion bypass: both sets get the same fill.
	cs_tune bcache0
	fio --name=fill --filename=/dev/bcache0 --rw=write --bs=1M --size=256M \
		--direct=1 --ioengine=libaio --iodepth=4 > /dev/null 2>&1
	fio --name=fill --filename=/dev/bcache0 --rw=randwrite --bs=4k \
		--size=256M --io_size=64M --direct=1 --ioengine=libaio \
		--iodepth=16 > /dev/null 2>&1
	fio --name=fill2 --filename=/dev/bcache0 --rw=write --bs=1M --size=700M \
		--offset=256M --direct=1 --ioengine=libaio --iodepth=4 \
		> /dev/null 2>&1
	for n in 1 2 3; do
		unload_bcache
		if [ "$who" = ours ]; then load_ours; else load_ref; fi
		sync; echo 3 > /proc/sys/vm/drop_caches
		dmesg -c > /dev/null
		r0=$(awk '{ print $1, $5 }' /sys/block/vdb/stat)
		mark "$who $n begin"
		echo /dev/mapper/cache512 > /sys/fs/bcache/register
		mark "$who $n cache registered"
		echo /dev/vda > /sys/fs/bcache/register
		mark "$who $n backing registered"
		echo "$r0 $(awk '{ print $1, $5 }' /sys/block/vdb/stat)" |
			awk -v w="$who" '{ printf "TRACE %s register: vdb %d reads %d writes\n", w, $3 - $1, $4 - $2 }'
		wait_for /dev/bcache0
		sleep 1
		dmesg | sed 's/^/TRACE /'
	done
	# The tree as gc counts it, with no I/O to pause for.
	set=$(cs_dir)
	echo 1 > "$set/internal/trigger_gc"
	sleep 5
	for f in tree_depth internal/btree_nodes internal/btree_used_percent \
		 root_usage_percent internal/bset_tree_stats; do
		echo "TRACE $who $f: $(cat "$set/$f" 2>/dev/null | tr '\n' ' ')"
	done
	unload_bcache
}

bench_disks_touch
one ours
one ref
check_ok "trace ran"
