# vm: three boots (scripts/test.sh lists this scenario three times)
# Power cuts while writeback is busy, two of them over three boots (name
# the scenario three times: vm.sh wb_powercut wb_powercut wb_powercut).
# Runs against $BCMOD.
# Boot 1 writes in writeback mode with writeback_percent 0, so that the
# thread copies dirty data to the backing disk and marks it clean while
# new writes come in: a fio region flushed by fsync, then numbered 64 KiB
# records, each fsynced before its number is noted on vdd, while fio
# keeps writing (unflushed) elsewhere; then the power goes (sysrq b) with
# writeback batches in flight. Boot 2 registers the set, which replays
# its journal, checks every flushed byte, then does the same again with
# records 13 to 24 while writeback goes on with what boot 1 left: a cut
# on top of a replayed journal. Boot 3 replays again: every flushed byte
# must read back, whether its key came back dirty or already clean, and
# once written back and detached the backing disk alone must hold every
# flushed byte (at data offset 16).
C=/dev/vdb
B=/dev/vda
NOTE=/dev/vdd
REC_AT=1024	# records: 64 KiB blocks from MiB 64 of bcache0
SYS=/sys/block/bcache0/bcache

region_a() {
	fio --name=wbpc --filename="$DEV" --direct=1 --ioengine=libaio \
		--iodepth=8 --rw=randwrite --bsrange=4k-64k --blockalign=4k \
		--offset=0 --size=16M --verify=crc32c --verify_fatal=1 \
		--randseed=778 "$@"
}
keys_done() { cat "$(cs_dir)/internal/writeback_keys_done"; }
wrote_back() { [ "$(keys_done)" -gt 0 ]; }

# records_then_cut FIRST LAST NOTE: unflushed fio noise in the background;
# records FIRST..LAST, each fsynced, then noted as "NOTE I"; the cut.
records_then_cut() {
	local i=$1
	check_no_leak "before the I/O the cut interrupts"
	fio --name=noise --filename=/dev/bcache0 --direct=1 \
		--ioengine=libaio --iodepth=8 --rw=randwrite --bs=16k \
		--offset=256M --size=128M --time_based --runtime=60 \
		> /dev/null 2>&1 &
	while [ $i -le "$2" ]; do
		pattern "wbrec$i" > /tmp/rec
		dd if=/tmp/rec of=/dev/bcache0 bs=64k seek=$((REC_AT + i)) \
			conv=notrunc,fsync 2>/dev/null || break
		note_write "$3 $i"
		i=$((i + 1))
	done
	check "records $1..$2 written and flushed" [ $i -gt "$2" ]
	check "writeback wrote keys back before the cut" retry 30 wrote_back
	echo "### before the cut: state $(cat $SYS/state)," \
		"dirty_data $(cat $SYS/dirty_data), keys written back $(keys_done)"
	power_cut scanned
}

# rec_bad DEV FIRST-SECTOR FROM TO: records FROM..TO that do not read back.
rec_bad() {
	local i=$3 bad=0
	while [ $i -le "$4" ]; do
		[ "$(pattern "wbrec$i" | md5sum | cut -d' ' -f1)" = \
		  "$(sect_sum $1 $(($2 + (REC_AT + i) * 128)) 128)" ] ||
			bad=$((bad + 1))
		i=$((i + 1))
	done
	echo $bad
}

# up_after_cut: register the set after a cut; the journal replays.
up_after_cut() {
	cs_up_after_cut $C $B
	echo "### after the cut: state $(cat $SYS/state), dirty_data $(cat $SYS/dirty_data)"
	drop_caches
}

stage=$(note_read | cut -d' ' -f1)
if [ "$stage" != wbpc1 ] && [ "$stage" != wbpc2 ]; then
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
	check "16 MiB of random writes, then fsync" \
		region_a --do_verify=0 --end_fsync=1
	note_write "wbpc1 0"
	records_then_cut 1 12 "wbpc1"
fi

if [ "$stage" = wbpc1 ]; then
	# --- boot 2 ---
	last1=$(note_read | sed -n 's/^wbpc1 //p')
	note_write "wbpc2 ${last1:-0} 12"
	check "boot 1 flushed its records" [ "${last1:-0}" -gt 0 ]
	up_after_cut
	DEV=/dev/bcache0
	check "the fsynced fio region verifies" region_a --verify_only
	check_eq "every flushed record (1..$last1) reads back" 0 \
		"$(rec_bad /dev/bcache0 0 1 "$last1")"
	# Writeback goes on with what boot 1 left while new records come.
	echo 0 > $SYS/writeback_percent
	echo 1 > $SYS/writeback_delay
	records_then_cut 13 24 "wbpc2 $last1"
fi

# --- boot 3 ---
rest=$(note_read | sed -n 's/^wbpc2 //p')
last1=${rest% *} last2=${rest#* }
note_write done
check "boot 2 flushed its records" [ "$last2" -gt 12 ]
up_after_cut
DEV=/dev/bcache0
check "the fsynced fio region verifies" region_a --verify_only
check_eq "every flushed record (1..$last1, 13..$last2) reads back" 0 \
	"$(( $(rec_bad /dev/bcache0 0 1 "$last1") + $(rec_bad /dev/bcache0 0 13 "$last2") ))"

# Write all of it back and detach: the backing disk alone must hold it.
wb_drain_detach
check_eq "vda alone holds every flushed record" 0 \
	"$(( $(rec_bad $B 16 1 "$last1") + $(rec_bad $B 16 13 "$last2") ))"
dm_create wbraw "0 $(( $(blockdev --getsz $B) - 16 )) linear $B 16"
DEV=/dev/mapper/wbraw
check "vda alone holds the fsynced fio region" region_a --verify_only
dmsetup remove wbraw
