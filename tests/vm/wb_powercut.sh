# vm: two boots (scripts/test.sh lists this scenario twice)
# Power cut while writeback is busy, over two boots (name the scenario
# twice: vm.sh wb_powercut wb_powercut). Runs against $BCMOD.
# Boot 1 writes in writeback mode with writeback_percent 0, so that the
# thread copies dirty data to the backing disk and marks it clean while
# new writes come in: a fio region flushed by fsync, then numbered 64 KiB
# records, each fsynced before its number is noted on vdd, while fio
# keeps writing (unflushed) elsewhere; then the power goes (sysrq b) with
# writeback batches in flight. Boot 2 registers the set, which replays
# its journal: every flushed byte must read back, whether its key came
# back dirty or already clean, and once written back and detached the
# backing disk alone must hold every flushed byte (at data offset 16).
C=/dev/vdb
B=/dev/vda
NOTE=/dev/vdd
REC_AT=1024	# records: 64 KiB blocks from MiB 64 of bcache0
SYS=/sys/block/bcache0/bcache

region_a() {
	fio --name=wbpc --filename="$DEV" --direct=1 --ioengine=libaio \
		--iodepth=8 --rw=randwrite --bsrange=4k-64k --blockalign=4k \
		--offset=0 --size=32M --verify=crc32c --verify_fatal=1 \
		--randseed=778 "$@"
}
keys_done() { cat "$(cs_dir)/internal/writeback_keys_done"; }
wrote_back() { [ "$(keys_done)" -gt 0 ]; }

if ! note_read | grep -q '^wbpc1 '; then
	# --- boot 1 ---
	note_write none
	check "make-bcache -C vdb -B vda (writeback)" cs_make $C $B --writeback
	check "module loads" load_bcache
	check "register cache and backing device" cs_up $C $B || return
	check_eq "writeback mode" "writethrough [writeback] writearound none" \
		"$(cat $SYS/cache_mode)"
	# Write back as fast as the controller goes, all through boot 1.
	echo 0 > $SYS/writeback_percent
	# No pause of writeback_delay (30 s) after each full pass.
	echo 1 > $SYS/writeback_delay
	DEV=/dev/bcache0
	check "32 MiB of random writes, then fsync" \
		region_a --do_verify=0 --end_fsync=1
	note_write "wbpc1 0"
	fio --name=noise --filename=/dev/bcache0 --direct=1 \
		--ioengine=libaio --iodepth=8 --rw=randwrite --bs=16k \
		--offset=256M --size=128M --time_based --runtime=60 \
		> /dev/null 2>&1 &
	i=1
	while [ $i -le 24 ]; do
		pattern "wbrec$i" > /tmp/rec
		dd if=/tmp/rec of=/dev/bcache0 bs=64k seek=$((REC_AT + i)) \
			conv=notrunc,fsync 2>/dev/null || break
		note_write "wbpc1 $i"
		i=$((i + 1))
	done
	check "24 records written and flushed" [ $i -gt 24 ]
	check "writeback wrote keys back before the cut" retry 30 wrote_back
	echo "### before the cut: state $(cat $SYS/state)," \
		"dirty_data $(cat $SYS/dirty_data), keys written back $(keys_done)"
	check "boot 1: no kernel splat before the cut" dmesg_splat_free
	power_cut
fi

# --- boot 2 ---
last=$(note_read | sed -n 's/^wbpc1 //p')
note_write done
check "boot 1 flushed its records" [ "${last:-0}" -gt 0 ]
check "module loads" load_bcache
check "the cache registers after the cut" bc_register $C
check "the backing device registers" bc_register $B
check "bcache0 appears" wait_for $SYS 20
check "bcache0 is attached" retry 20 bc_attached bcache0
check "the journal was replayed" dmesg_has 'journal replay'
echo "### after the cut: state $(cat $SYS/state), dirty_data $(cat $SYS/dirty_data)"
drop_caches
DEV=/dev/bcache0
check "the fsynced fio region verifies" region_a --verify_only
rec_bad() {	# DEV FIRST-SECTOR: records 1..last that do not read back
	local i=1 bad=0
	while [ $i -le "${last:-0}" ]; do
		[ "$(pattern "wbrec$i" | md5sum | cut -d' ' -f1)" = \
		  "$(sect_sum $1 $(($2 + (REC_AT + i) * 128)) 128)" ] ||
			bad=$((bad + 1))
		i=$((i + 1))
	done
	echo $bad
}
check_eq "every flushed record (1..$last) reads back" 0 "$(rec_bad /dev/bcache0 0)"

# Write all of it back and detach: the backing disk alone must hold it.
echo 0 > $SYS/writeback_percent
# No pause of writeback_delay (30 s) after each full pass.
echo 1 > $SYS/writeback_delay
echo 1 > $SYS/writeback_running
is_clean() { [ "$(cat $SYS/state)" = clean ]; }
no_cache() { [ "$(cat $SYS/state)" = "no cache" ]; }
check "writeback cleans the device" retry 120 is_clean
check "detach" sh -c "echo 1 > $SYS/detach"
check "the detach completes" retry 60 no_cache
check "stop the set" cs_stop
check "stop bcache0" bc_stop bcache0
unload_bcache
check_eq "vda alone holds every flushed record" 0 "$(rec_bad $B 16)"
dm_create wbraw "0 $(( $(blockdev --getsz $B) - 16 )) linear $B 16"
DEV=/dev/mapper/wbraw
check "vda alone holds the fsynced fio region" region_a --verify_only
dmsetup remove wbraw
