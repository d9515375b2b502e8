# Benchmark (not a test): a cache set under ours and under the kernel's
# bcache in one boot of the perf kernel. Cache: 512 MiB of vdb (dm-linear,
# or a RAM disk, see bench_cache_disk()), backing: vda (or null_blk, see
# bench_backing()). Prints "BENCH <who>
# <metric> <value>"; metrics ending in _ms or _kb are better when lower,
# the rest are IOPS or MB/s.
# tools/bench.sh -i asks for fewer and shorter runs on the command line.
cmdline_arg() { sed -n "s/.*$1=\([0-9]*\).*/\1/p" /proc/cmdline; }
RUNTIME=$(cmdline_arg bench_runtime)
RUNTIME=${RUNTIME:-15}
ROUNDS=$(cmdline_arg bench_rounds)
ROUNDS=${ROUNDS:-5}
# MiB the hit test reads (written and warmed first), and whether the set
# is filled to the brim before the register timing (-i skips that: under
# icount, filling takes most of the time and says nothing of the driver).
HIT_MB=$(cmdline_arg bench_hit_mb)
HIT_MB=${HIT_MB:-256}
FULL=$(cmdline_arg bench_full)
FULL=${FULL:-1}
# Registrations of each set by each driver. (bench_rounds=0
# bench_registers=N on the kernel command line: registrations only.)
REGISTERS=$(cmdline_arg bench_registers)
REGISTERS=${REGISTERS:-3}
# Seconds of the sequential test run before it is measured (see
# bench_one()); none unless asked for.
SEQ_RAMP=$(cmdline_arg bench_seq_ramp)
SEQ_RAMP=${SEQ_RAMP:-0}

# fio_run DEV RW BS SIZE [OFFSET] -> IOPS (reads: field 8, writes: 49);
# FIO_EXTRA: more fio options; RAMP: seconds run before the RUNTIME
# measured (fio's ramp_time).
RAMP=0
fio_run() {
	# shellcheck disable=SC2086 # FIO_EXTRA is a list of options
	fio --name=b --filename="$1" --rw="$2" --bs="$3" --iodepth=16 \
		--ioengine=libaio --direct=1 --runtime="$RUNTIME" --time_based \
		--ramp_time="$RAMP" ${FIO_EXTRA:-} \
		--size="$4" --offset="${5:-0}" --randrepeat=1 --norandommap \
		--group_reporting \
		--minimal 2>/dev/null |
	awk -F';' -v rw="$2" '{ print (rw ~ /read/) ? $8 : $49 }'
}

mem_kb() {	# kernel memory bcache can hold: slab + vmalloc, in KiB
	awk '/^Slab:|^VmallocUsed:/ { s += $2 } END { print s }' /proc/meminfo
}

# CPU ticks each thread has used so far: "tid ticks comm" lines. (Keyed
# by the thread alone: a kworker's comm names its latest work item.)
thread_ticks() {
	awk '{ sub(/^.*\) /, ""); print FILENAME, $12 + $13 }' \
		/proc/[0-9]*/task/[0-9]*/stat 2>/dev/null |
	while read -r f t; do
		echo "${f#/proc/} $t $(cat "${f%/stat}/comm" 2>/dev/null)"
	done
}

# The threads that used the most CPU between two thread_ticks outputs.
busiest_threads() {
	awk 'NR == FNR { b[$1] = $2; next } { d = $2 - b[$1]; if (d > 0) print d, $3 }' "$1" "$2" |
		sort -rn | head -n 4 | awk '{ printf " %s=%d", $2, $1 }'
}

# bench_io WHO METRIC CMD...: runs CMD (which prints the metric), prints
# the BENCH line and an INFO line with the disk requests it made and the
# threads that were busiest meanwhile (ticks of 10 ms).
# Busy and idle CPU ticks of all CPUs so far, from /proc/stat.
cpu_ticks() {
	awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat
}

bench_io() {
	local who=$1 metric=$2 before after value cpu0 cpu1
	shift 2
	thread_ticks > /tmp/ticks.before
	before=$(disk_ios)
	cpu0=$(cpu_ticks)
	value=$("$@")
	cpu1=$(cpu_ticks)
	after=$(disk_ios)
	thread_ticks > /tmp/ticks.after
	# Busy ticks per 1000 requests: under -icount, guest instructions per
	# request without the idle time the clock skips (which IOPS include).
	# Requests of the ramp are counted at the measured rate.
	echo "$cpu0 $cpu1" | awk -v w="$who" -v m="$metric" -v t="$((RUNTIME + RAMP))" -v v="$value" '{
		printf "INFO %s %s: cpu busy %d idle %d ticks, %.3f busy ticks per 1000 requests\n",
			w, m, $3 - $1, $4 - $2, ($3 - $1) * 1000 / (v * t) }'
	echo "INFO $who $metric: busiest threads:$(busiest_threads /tmp/ticks.before /tmp/ticks.after)"
	echo "BENCH $who $metric $value"
	echo "$before $after" | awk -v w="$who" -v m="$metric" -v t="$((RUNTIME + RAMP))" -v v="$value" '{
		ops = v * t
		printf "INFO %s %s: per request: cache %.2f reads %.2f writes, backing %.2f reads %.2f writes (cache: %d reads %d writes in all)\n",
			w, m, ($5 - $1) / ops, ($6 - $2) / ops, ($7 - $3) / ops, ($8 - $4) / ops, $5 - $1, $6 - $2 }'
}

# Load ours or the kernel's bcache, and tell tools/profile.sh (if it
# samples this run) where its code is.
load_who() {
	if [ "$who" = ours ]; then load_ours; else load_ref; fi
	echo "PROFILE-TEXT $who $(cat /sys/module/bcache/sections/.text)"
}

# Time one registration of the set on disk by $who from scratch (module
# reloaded, page cache dropped), its cache and backing writes together,
# and the slab and vmalloc memory the registered set then holds. ("reg",
# not "n" or "i": guest-lib.sh's helpers use those.)
register_once() {
	local reg=$1 t0 t1 before ios
	unload_bcache
	load_who > /dev/null
	sync; echo 3 > /proc/sys/vm/drop_caches
	before=$(mem_kb)
	ios=$(disk_ios)
	t0=$(clock_ns)
	bench_set_up
	t1=$(clock_ns)
	ios="$ios $(disk_ios)"
	echo "$t0 $t1" | awk -v w="$who" '{
		printf "BENCH %s register_full_ms %.1f\n", w, ($2 - $1) / 1e6 }'
	echo "$ios" | awk -v w="$who" -v f="$filler" '{
		printf "INFO %s register (set filled by %s): cache %d reads %d writes, backing %d reads %d writes\n",
			w, f, $5 - $1, $6 - $2, $7 - $3, $8 - $4 }'
	sleep 2
	echo "BENCH $who set_memory_kb $(( $(mem_kb) - before ))"
	unload_bcache
}

# The registration benchmark compares the drivers on the same sets: one
# filled by each driver (a driver that caches more of the fill has a
# bigger tree to read), registered REGISTERS times by each in turn.
register_phase() {
	filler=$1
	who=$filler
	bench_set_make
	load_who > /dev/null
	bench_set_up
	set=$(cs_dir)
	cs_tune bcache0
	# Past the cache's size: the set is full.
	[ "$FULL" = 1 ] && size=956M || size=${HIT_MB}M
	fio --name=fill --filename=/dev/bcache0 --rw=write --bs=1M \
		--size=$size --direct=1 --ioengine=libaio --iodepth=4 \
		> /dev/null 2>&1
	unload_bcache
	for reg in $(seq "$REGISTERS"); do
		if [ $((reg % 2)) = 1 ]; then order="ours ref"; else order="ref ours"; fi
		for who in $order; do
			register_once "$reg"
		done
	done
}

# The tree and the cache's disk, for the sequential test's INFO: nodes,
# depth, node cache, and sectors the cache's disk has read.
tree_state() {
	echo "nodes $(cat "$1/internal/btree_nodes") depth $(cat "$1/tree_depth")" \
		"node cache $(cat "$1/btree_cache_size")" \
		"cache sectors read $(awk '{ print $3 }' "/sys/block/$(cache512_disk)/stat")"
}

bench_one() {	# bench_one ours|ref
	who=$1
	echo "PROFILE $who round $round"
	bench_set_make
	load_who
	bench_set_up
	echo writethrough > /sys/block/bcache0/bcache/cache_mode
	# TCG's latencies would trip the congestion bypass at random. Fill
	# 256 MiB through the cache, then the hit test reads it back: a
	# sequential fill would bypass the cache past sequential_cutoff, so
	# the cutoff is off for it. cs_tune turns both off.
	cs_tune bcache0
	fio --name=fill --filename=/dev/bcache0 --rw=write --bs=1M --size=${HIT_MB}M \
		--direct=1 --ioengine=libaio --iodepth=4 > /dev/null 2>&1
	# What the writes could not cache read passes cache, until one finds
	# nearly all of it.
	bench_warm "$who" "$HIT_MB" 30 20
	# 4 MiB, the default (the file takes a plain number, as upstream's).
	echo 4194304 > /sys/block/bcache0/bcache/sequential_cutoff
	# Its INFO line shows whether it really hit: backing reads per request
	# are the share of misses.
	bench_io $who randread_hit fio_run /dev/bcache0 randread 4k ${HIT_MB}M
	bench_io $who randwrite_wt fio_run /dev/bcache0 randwrite 4k ${HIT_MB}M
	local set gc0 gc1 st
	set=$(cs_dir)
	st=/sys/block/bcache0/bcache/stats_total
	# The writes leave each driver's tree in its own state, and a gc
	# due: run it first, then both search a compacted tree.
	bench_gc
	gc0=$(cat "$set/internal/btree_gc_last_sec")
	# Past the hit test's region, where nothing is cached: the bypass
	# path alone, not how fragmented the random writes left the cache.
	# fio's buffer in huge pages: see fio_hugebuf(). The stream's first
	# three reads are under the cutoff, so they are read misses to be
	# cached (ours caches them; the kernel's, short of a free bucket
	# after gc, mostly does not): bench_seq_ramp=1 leaves the first
	# second out, and with it them.
	FIO_EXTRA=$(fio_hugebuf)
	RAMP=$SEQ_RAMP
	tree0="$(tree_state "$set")"
	# Marks for tools/profile.sh, or a QEMU plugin's counts, per phase.
	echo "PROFILE $who seqread-1m"
	bench_io $who seqread_1m fio_run /dev/bcache0 read 1M "$(bench_seq_size)" 256M
	echo "PROFILE idle"
	FIO_EXTRA=
	RAMP=0
	gc1=$(cat "$set/internal/btree_gc_last_sec")
	echo "INFO $who seqread_1m: seconds since gc before $gc0 after $gc1;" \
		"cache misses $(cat $st/cache_misses) bypass hits $(cat $st/cache_bypass_hits)"
	echo "INFO $who seqread_1m: before: $tree0; after: $(tree_state "$set")"
	unload_bcache
}

bench_disks_touch
bench_set_make
echo "BENCH raw randread_hit $(fio_run /dev/mapper/cache512 randread 4k ${HIT_MB}M)"
# Interleaved, and each round the other one goes first.
for round in $(seq "$ROUNDS"); do
	if [ $((round % 2)) = 1 ]; then order="ours ref"; else order="ref ours"; fi
	for who in $order; do
		bench_one $who
	done
done
echo "BENCH raw randread_hit $(fio_run /dev/mapper/cache512 randread 4k ${HIT_MB}M)"
register_phase ref
register_phase ours
check_ok "benchmark ran"
