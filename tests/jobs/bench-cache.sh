# Benchmark (not a test): a cache set under ours and under the kernel's
# bcache in one boot of the perf kernel. Cache: 512 MiB of vdb (dm-linear),
# backing: vda. Prints "BENCH <who> <metric> <value>"; metrics ending in
# _ms or _kb are better when lower, the rest are IOPS or MB/s.
RUNTIME=${BENCH_RUNTIME:-15}
CACHE_MB=512

fio_run() {	# fio_run DEV RW BS SIZE -> IOPS (reads: field 8, writes: 49)
	fio --name=b --filename="$1" --rw="$2" --bs="$3" --iodepth=16 \
		--ioengine=libaio --direct=1 --runtime="$RUNTIME" --time_based \
		--size="$4" --randrepeat=1 --norandommap --group_reporting \
		--minimal 2>/dev/null |
	awk -F';' -v rw="$2" '{ print (rw ~ /read/) ? $8 : $49 }'
}

mem_kb() {	# kernel memory bcache can hold: slab + vmalloc, in KiB
	awk '/^Slab:|^VmallocUsed:/ { s += $2 } END { print s }' /proc/meminfo
}

now_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }

make_devices() {
	dmsetup remove cache512 2>/dev/null
	echo "0 $((CACHE_MB * 2048)) linear /dev/vdb 0" | dmsetup create cache512
	dmsetup mknodes
	wipe /dev/mapper/cache512
	wipe /dev/vda
	make-bcache --bucket 512k -C /dev/mapper/cache512 -B /dev/vda > /dev/null
}

register_both() {
	echo /dev/mapper/cache512 > /sys/fs/bcache/register
	echo /dev/vda > /sys/fs/bcache/register
	wait_for /dev/bcache0
}

bench_one() {	# bench_one ours|ref
	who=$1
	make_devices
	if [ "$who" = ours ]; then load_ours; else load_ref; fi
	register_both
	echo writethrough > /sys/block/bcache0/bcache/cache_mode
	# Fill 256 MiB through the cache, then the hit test reads it back.
	fio --name=fill --filename=/dev/bcache0 --rw=write --bs=1M --size=256M \
		--direct=1 --ioengine=libaio --iodepth=4 > /dev/null 2>&1
	echo "BENCH $who randread_hit $(fio_run /dev/bcache0 randread 4k 256M)"
	echo "BENCH $who randwrite_wt $(fio_run /dev/bcache0 randwrite 4k 256M)"
	echo "BENCH $who seqread_1m $(fio_run /dev/bcache0 read 1M 1G)"
	# Fill the whole cache, then time a fresh register of the full set.
	fio --name=fill2 --filename=/dev/bcache0 --rw=write --bs=1M --size=700M \
		--offset=256M --direct=1 --ioengine=libaio --iodepth=4 > /dev/null 2>&1
	unload_bcache
	if [ "$who" = ours ]; then load_ours; else load_ref; fi
	sync; echo 3 > /proc/sys/vm/drop_caches
	before=$(mem_kb)
	t0=$(now_ms)
	register_both
	t1=$(now_ms)
	sleep 2
	echo "BENCH $who register_full_ms $((t1 - t0))"
	echo "BENCH $who set_memory_kb $(( $(mem_kb) - before ))"
	unload_bcache
}

make_devices
echo "BENCH raw randread_hit $(fio_run /dev/mapper/cache512 randread 4k 256M)"
for round in 1 2; do
	for who in ours ref; do
		bench_one $who
	done
done
check_ok "benchmark ran"
