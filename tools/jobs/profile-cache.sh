# Profile (not a test): the cache set of bench-cache under ours and under
# the kernel's bcache, with phases named on the console for
# tools/profile.sh, which samples the vCPUs meanwhile.
# PROFILE_IOS=N (tools/insn-profile.sh): each 4 KiB phase is N requests
# rather than PROFILE_RUNTIME seconds, so counts compare per request.
RUNTIME=${PROFILE_RUNTIME:-20}
MB=${PROFILE_MB:-256}
if [ -n "${PROFILE_IOS:-}" ]; then
	LENGTH="--io_size=$((PROFILE_IOS * 4))k"
else
	LENGTH="--runtime=$RUNTIME --time_based"
fi

fio_phase() {	# fio_phase NAME RW BS SIZE [OFFSET]
	echo "PROFILE $who $1"
	# shellcheck disable=SC2086 # LENGTH, FIO_EXTRA: lists of options
	fio --name=p --filename=/dev/bcache0 --rw="$2" --bs="$3" --iodepth=16 \
		--ioengine=libaio --direct=1 $LENGTH ${FIO_EXTRA:-} \
		--size="$4" --offset="${5:-0}" --norandommap > /dev/null 2>&1
	echo "PROFILE idle"
}

# PROFILE_ORDER=ref-ours runs the kernel's first.
load() {
	if [ "$who" = ours ]; then load_ours; else load_ref; fi
	echo "PROFILE-TEXT $who $(cat /sys/module/bcache/sections/.text)"
}

for who in $(echo "${PROFILE_ORDER:-ours-ref}" | tr - " "); do
	bench_set_make
	load
	bench_set_up
	# No bypass while filling: TCG's latencies would trip the congestion
	# bypass, and the fill is sequential.
	cs_tune bcache0
	fio --name=fill --filename=/dev/bcache0 --rw=write --bs=1M --size=${MB}M \
		--direct=1 --ioengine=libaio --iodepth=4 > /dev/null 2>&1
	# Until (nearly) all of it is cached: the hit phase should only hit.
	bench_warm "$who" "$MB" 30 2
	# 4 MiB, the default (the file takes a plain number).
	echo 4194304 > /sys/block/bcache0/bcache/sequential_cutoff
	fio_phase randread-hit randread 4k ${MB}M
	fio_phase randwrite-wt randwrite 4k ${MB}M
	# Sequential: 8 GiB (8192 requests) either way, see bench_seq_size(), on
	# a tree just compacted by gc (none falls inside the phase), fio's
	# buffer in huge pages (see fio_hugebuf()). fio's start and exit
	# (page faults, mostly) still differed by more than the drivers, so
	# 1 GiB runs first as a phase of its own: insn_report.py subtracts
	# it, leaving 7 GiB of requests alone.
	bench_gc
	len=$LENGTH
	FIO_EXTRA=$(fio_hugebuf)
	LENGTH=--io_size=1G
	fio_phase seqread-1m-short read 1M "$(bench_seq_size)" 256M
	LENGTH=--io_size=8G
	fio_phase seqread-1m read 1M "$(bench_seq_size)" 256M
	FIO_EXTRA=
	LENGTH=$len
	# Registering the set just used, from scratch, as bench-cache times
	# it: module reloaded, page cache dropped.
	unload_bcache
	load
	sync
	echo 3 > /proc/sys/vm/drop_caches
	# The phase takes in the gc both drivers start at once (ours from
	# run_cache_set(), the kernel's from its allocator's first pass):
	# where a phase boundary falls in it would decide the count.
	echo "PROFILE $who register"
	bench_set_up
	sleep 2
	echo "PROFILE idle"
	unload_bcache
done
check_ok "profile ran"
