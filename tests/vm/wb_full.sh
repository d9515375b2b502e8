# A cache full of dirty data, against $BCMOD: a 6 MiB cache (768
# buckets of 8 KiB) in writeback mode with writeback held takes 12 MiB of
# fio-verified random writes, twice its size. Once the cache is in
# use past cutoff_writeback_sync, writes stop going dirty and go through
# (or around) the cache, as upstream decides; nothing may hang, dirty
# data never exceeds the cache, and every block verifies. gc then runs on
# the full set (moving gc keeps the dirty bit of what it moves) and
# nothing is lost or cleaned by it. Then writeback runs: the set drains
# to clean, and after a detach the backing disk alone holds all of it.
wipe /dev/vdb
check "a 6 MiB cache device (dm-linear on vdb)" dm_small bc_wfull /dev/vdb 6
C=/dev/mapper/bc_wfull
B=/dev/vda
check "make-bcache -C -B --writeback, 8 KiB buckets" \
	cs_make $C $B --bucket 8k --writeback
check "module loads" load_bcache
check "register cache and backing device" cs_up $C $B || return
SYS=/sys/block/bcache0/bcache
SET=$(cs_dir)
echo 0 > $SYS/writeback_running

# region DEV fio-args...: the 12 MiB of random writes at the start of DEV.
region() {
	local dev=$1
	shift
	fio --name=full --filename="$dev" --direct=1 --ioengine=libaio \
		--iodepth=16 --bsrange=4k-64k --blockalign=4k \
		--verify=crc32c --verify_fatal=1 --randseed=6161 \
		--offset=0 --size=12M --rw=randwrite "$@" > /tmp/fio.out 2>&1 ||
		{ tail -n 5 /tmp/fio.out; return 1; }
}
# dirty_data in KiB (it reads like 512.0k or 11.3M).
dirty_kib() {
	awk '{ v = $1 + 0; u = substr($1, length($1))
		print int((u == "M") ? v * 1024 : (u == "G") ? v * 1048576 : v) }' \
		$SYS/dirty_data
}
state() {
	echo "dirty_data $(cat $SYS/dirty_data)," \
		"available $(cat "$SET/cache_available_percent")%," \
		"bypassed $(cat $SYS/stats_total/bypassed)"
}

check "12 MiB of random writes into a 6 MiB cache, writeback held" \
	region /dev/bcache0 --do_verify=1 --verify_backlog=256
echo "### full: $(state)"
check_eq "the state reads dirty" dirty "$(cat $SYS/state)"
DIRTY=$(dirty_kib)
check "dirty data stays below the cache's size" [ "$DIRTY" -lt 6144 ]

check "gc runs on the full set" sh -c "echo 1 > $SET/internal/trigger_gc"
sleep 2
echo "### after gc: $(state)"
check_eq "gc cleans nothing (writeback is held)" "$DIRTY" "$(dirty_kib)"
drop_caches
check "all of it verifies through the full cache" \
	region /dev/bcache0 --verify_only

echo 1 > $SYS/writeback_delay
echo 0 > $SYS/writeback_percent
echo 1 > $SYS/writeback_running
check "writeback drains the full cache" retry 120 bc0_state_is clean
echo "### drained: $(state)"
wb_drain_detach
dm_create wfraw "0 $(( $(blockdev --getsz $B) - 16 )) linear $B 16"
check "the backing disk alone holds all of it" \
	region /dev/mapper/wfraw --verify_only
dmsetup remove wfraw
check "dm device removed" retry 10 dmsetup remove bc_wfull
