# Benchmark (not a test): writeback mode, ours and the kernel's bcache in
# one boot of the perf kernel, on bench_set_make()'s set (512 MiB cache of
# 512 KiB buckets; under tools/bench.sh -i a RAM disk in front of
# null_blk). Prints "BENCH <who> <metric> <value>"; metrics ending in
# _us, _ms or _kb are better when lower, the rest are IOPS or MB/s.
#   randwrite_wb   4 KiB random writes at QD 16 that stay dirty, 64 MiB
#                  each block once (IOPS)
#   drain_mbs      writeback of 256 MiB of random 4 KiB dirty data with
#                  the set idle, writeback_percent 0 (MB/s of dirty data)
#   hit_p99_us, hit_p9999_us
#                  4 KiB cache hits at QD 1 while writeback runs:
#                  completion latency percentiles (fio clat)
# INFO lines add the backing device's writes during the drain: requests,
# merges and the average request size, which say how contiguous the
# writeback was.
cmdline_arg() { sed -n "s/.*$1=\([0-9]*\).*/\1/p" /proc/cmdline; }
RUNTIME=$(cmdline_arg bench_runtime)
RUNTIME=${RUNTIME:-15}
ROUNDS=$(cmdline_arg bench_rounds)
ROUNDS=${ROUNDS:-3}
# bench_drain_only=1: the drain alone (BENCH_APPEND under tools/bench.sh -i);
# bench_sb_ram=1: the backing device's superblock on the RAM disk, not vda
# (bench_sb_place() in tests/guest/guest-lib.sh).
DRAIN_ONLY=$(cmdline_arg bench_drain_only)
SYS=/sys/block/bcache0/bcache
DRAIN_MB=256
HIT_MB=32

# Dirty writes up to 90% of the cache in use, so that the amount written
# dirty does not depend on when each driver's gc last counted.
load_who() {
	if [ "$who" = ours ]; then load_ours "$@"; else load_ref "$@"; fi
}

# dirty_data in MiB (it reads like 83.4M or 1.2G).
dirty_mib() {
	awk '{ v = $1 + 0; u = substr($1, length($1))
		print (u == "k") ? v / 1024 : (u == "G") ? v * 1024 : v }' \
		$SYS/dirty_data
}

# IOPS of 4 KiB random writes at QD 16 over $1 MiB from MiB $2, every
# block once: a fixed amount, not a time, so that the cache never fills
# with overwrites (gc and the allocator would then measure themselves).
randwrite_iops() {
	fio --name=b --filename=/dev/bcache0 --rw=randwrite --bs=4k \
		--iodepth=16 --ioengine=libaio --direct=1 --size="$1"M \
		--offset="$2"M --randrepeat=1 --group_reporting --minimal \
		2>/dev/null | awk -F';' '{ print $49 }'
}

# Every 4 KiB block of $1 MiB from MiB $2 written once, in random order.
fill_random() {
	fio --name=fill --filename=/dev/bcache0 --rw=randwrite --bs=4k \
		--iodepth=16 --ioengine=libaio --direct=1 --size="$1"M \
		--offset="$2"M --randrepeat=1 > /dev/null 2>&1
}

dirty_zero() { [ "$(cat $SYS/dirty_data)" = 0.0k ]; }
# Wait for dirty_data to reach zero, looking every 50 ms (the drain of a
# fast run takes seconds), for 10 minutes at most.
wait_drained() {
	local n=0
	while ! dirty_zero && [ $n -lt 12000 ]; do
		sleep 0.05
		n=$((n + 1))
	done
}

# The drain's end, to better than the 50 ms between polls: polls until
# dirty_data reads zero (10 minutes at most) and prints the guest time
# and the MiB left of the last poll that still found some, "NS MIB".
# The drain runs at a steady rate, so it ended MIB at that rate after
# that poll (drain_seconds()).
wait_drained_last() {
	local n=0 t=0 left=0 now mib
	while [ $n -lt 12000 ]; do
		now=$(clock_ns)
		mib=$(dirty_mib)
		[ "$mib" = 0 ] && break
		t=$now left=$mib
		sleep 0.05
		n=$((n + 1))
	done
	echo "$t $left"
}

# drain_seconds T0 MIB T LEFT T1: the drain of MIB from T0 took until T
# plus LEFT at the rate so far; T1 (the poll that found zero) when there
# is no such poll.
drain_seconds() {
	echo "$@" | awk '{
		if ($4 > 0 && $3 > $1 && $2 > $4)
			printf "%.4f\n", ($3 - $1) / 1e9 * $2 / ($2 - $4)
		else
			printf "%.4f\n", ($5 - $1) / 1e9 }'
}

# Backing writes, merges, sectors written (its stat file).
backing_writes() {
	awk '{ print $5, $6, $7 }' "/sys/block/$(bench_backing_disk)/stat"
}

# Read clat percentiles 99 and 99.99 of a QD 1 random read of the hit
# region, in microseconds: "p99 p9999".
hit_latency() {
	fio --name=lat --filename=/dev/bcache0 --rw=randread --bs=4k \
		--iodepth=1 --ioengine=libaio --direct=1 \
		--runtime="$RUNTIME" --time_based --size=${HIT_MB}M \
		--randrepeat=1 --norandommap --percentile_list=99:99.99 \
		--minimal 2>/dev/null |
	awk -F';' '{
		# The read percentiles come first, those of the writes (all 0) later.
		for (i = 1; i <= NF; i++) {
			if (a == "" && $i ~ /^99\.000000%=/) { sub(/.*=/, "", $i); a = $i }
			if (b == "" && $i ~ /^99\.990000%=/) { sub(/.*=/, "", $i); b = $i }
		}
		print a, b
	}'
}

bench_one() {
	who=$1
	bench_set_make
	load_who bch_cutoff_writeback=70 bch_cutoff_writeback_sync=90
	bench_set_up
	cs_tune bcache0
	echo writeback > $SYS/cache_mode
	echo 0 > $SYS/writeback_running
	# A full pass may end in a sleep of writeback_delay before the
	# kernel's driver notices it is done: none for either.
	echo 0 > $SYS/writeback_delay

	# The hit region: cached clean, read until it all hits.
	echo writethrough > $SYS/cache_mode
	fio --name=hits --filename=/dev/bcache0 --rw=write --bs=1M \
		--size=${HIT_MB}M --direct=1 --ioengine=libaio --iodepth=4 \
		> /dev/null 2>&1
	bench_warm "$who" "$HIT_MB" 20 8
	echo writeback > $SYS/cache_mode

	# The drain: a region written once all over in random order, then
	# written back at full speed with the set idle.
	echo 0 > $SYS/writeback_running
	fill_random $DRAIN_MB 128
	local mib left w0 w1 t0 t1
	mib=$(dirty_mib)
	w0=$(backing_writes)
	t0=$(clock_ns)
	echo 0 > $SYS/writeback_percent
	echo 1 > $SYS/writeback_running
	last=$(wait_drained_last)
	t1=$(clock_ns)
	w1=$(backing_writes)
	left=$(dirty_mib)
	secs=$(drain_seconds "$t0" "$mib" $last "$t1")
	# MiB written back per second (all of it, unless the wait ran out).
	echo "$secs" | awk -v w="$who" -v mb="$mib" -v l="$left" '{
		printf "BENCH %s drain_mbs %.1f\n", w, (mb - l) / $1 }'
	echo "$w0 $w1 $t0 $t1 $secs" | awk -v w="$who" -v mb="$mib" -v l="$left" '{
		n = $4 - $1; m = $5 - $2; s = $6 - $3
		printf "INFO %s drain of %.1f MiB dirty (%.1f MiB left) in %.3f s (polled: %.2f s): backing writes %d, merged %d, %.1f KiB each\n",
			w, mb, l, $9, ($8 - $7) / 1e9, n, m, n ? s / n / 2 : 0 }'

	if [ "${DRAIN_ONLY:-0}" = 1 ]; then
		unload_bcache
		return
	fi

	# Random writes over a written-back region; they stay dirty.
	echo 0 > $SYS/writeback_running
	echo "BENCH $who randwrite_wb $(randwrite_iops 64 128)"
	echo 1 > $SYS/writeback_running
	wait_drained

	# Hits while writeback runs: dirty data again, writeback at full
	# speed, reads of the clean region meanwhile.
	echo 0 > $SYS/writeback_running
	fill_random 64 128
	echo 1 > $SYS/writeback_running
	set -- $(hit_latency)
	echo "BENCH $who hit_p99_us $1"
	echo "BENCH $who hit_p9999_us $2"
	echo "INFO $who hit latency while writing back: dirty_data at the end $(cat $SYS/dirty_data)"
	wait_drained
	unload_bcache
}

bench_disks_touch
for round in $(seq "$ROUNDS"); do
	if [ $((round % 2)) = 1 ]; then order="ours ref"; else order="ref ours"; fi
	for who in $order; do
		bench_one $who
	done
done
check_ok "benchmark ran"
