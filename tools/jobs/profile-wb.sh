# Profile (not a test): writeback on bench-wb's set, ours and the
# kernel's bcache, with phases named on the console for
# tools/insn-profile.sh (INSN_JOB=profile-wb): dirty 4 KiB random writes
# with writeback held, then their drain with the set idle.
# PROFILE_MB=N: the MiB written and drained (default 64; 4 KiB blocks,
# each once, so a phase is N * 256 keys).
MB=${PROFILE_MB:-64}
SYS=/sys/block/bcache0/bcache

load() {
	if [ "$who" = ours ]; then load_ours "$@"; else load_ref "$@"; fi
	echo "PROFILE-TEXT $who $(cat /sys/module/bcache/sections/.text)"
}

bench_disks_touch
for who in $(echo "${PROFILE_ORDER:-ours-ref}" | tr - " "); do
	bench_set_make
	load bch_cutoff_writeback=70 bch_cutoff_writeback_sync=90
	bench_set_up
	cs_tune bcache0
	echo writeback > $SYS/cache_mode
	echo 0 > $SYS/writeback_running
	echo 0 > $SYS/writeback_delay
	echo "PROFILE $who randwrite-wb"
	fio --name=w --filename=/dev/bcache0 --rw=randwrite --bs=4k \
		--iodepth=16 --ioengine=libaio --direct=1 --size="$MB"M \
		--offset=128M --randrepeat=1 > /dev/null 2>&1
	echo "PROFILE idle"
	echo 0 > $SYS/writeback_percent
	echo "PROFILE $who drain"
	t0=$(clock_ns)
	echo 1 > $SYS/writeback_running
	until [ "$(cat $SYS/dirty_data)" = 0.0k ]; do
		sleep 0.05
	done
	t1=$(clock_ns)
	echo "PROFILE idle"
	# Guest time under -icount: the instructions counted, plus the time
	# the clock skipped while the guest idled.
	echo "INFO $who drain of $MB MiB: $(( (t1 - t0) / 1000000 )) ms of guest time"
	unload_bcache
done
check_ok "profile ran"
