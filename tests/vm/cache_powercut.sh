# vm: two boots (scripts/test.sh lists this scenario twice)
# Power cut with dirty data in the cache, over two boots (name the
# scenario twice: vm.sh cache_powercut cache_powercut).
# Boot 1 writes in writeback mode: a fio region flushed by fsync, then
# numbered 64 KiB records, each fsynced before its number is noted on
# vdd, while fio keeps writing elsewhere; then the power goes (sysrq b).
# Boot 2 registers the set, which must replay its journal, and every
# flushed byte must read back. The marker on vdd tells the boots apart.
# Runs against $BCMOD.
C=/dev/vdb
B=/dev/vda
NOTE=/dev/vdd
DIRTY=dirty
REC_AT=1024	# records: 64 KiB blocks from MiB 64 of bcache0

region_a() {
	fio --name=pc --filename=/dev/"$BC" --direct=1 --ioengine=libaio \
		--iodepth=8 --rw=randwrite --bsrange=4k-64k --blockalign=4k \
		--offset=0 --size=24M --verify=crc32c --verify_fatal=1 \
		--randseed=777 "$@"
}

if ! note_read | grep -q '^pc1 '; then
	# --- boot 1 ---
	note_write none
	check "make-bcache -C vdb -B vda (writeback)" cs_make $C $B --writeback
	check "module loads" load_bcache
	check "register cache and backing device" cs_up $C $B || return
	BC=bcache0
	check_eq "writeback mode" "writethrough [writeback] writearound none" \
		"$(cat /sys/block/$BC/bcache/cache_mode)"
	# Dirty data stays in the cache until the power goes.
	echo 0 > /sys/block/$BC/bcache/writeback_running
	check "24 MiB of random writes, then fsync" region_a --do_verify=0 --end_fsync=1
	check_eq "the data is $DIRTY in the cache" $DIRTY "$(cat /sys/block/$BC/bcache/state)"
	note_write "pc1 0"
	check_no_leak "before the I/O the cut interrupts"
	# Unflushed writes go on elsewhere while the records are written.
	fio --name=noise --filename=/dev/$BC --direct=1 --ioengine=libaio \
		--iodepth=8 --rw=randwrite --bs=16k --offset=256M --size=256M \
		--time_based --runtime=60 > /dev/null 2>&1 &
	i=1
	while [ $i -le 12 ]; do
		pattern "rec$i" > /tmp/rec
		dd if=/tmp/rec of=/dev/$BC bs=64k seek=$((REC_AT + i)) \
			conv=notrunc,fsync 2>/dev/null || break
		note_write "pc1 $i"
		i=$((i + 1))
	done
	check "12 records written and flushed" [ $i -gt 12 ]
	power_cut scanned
fi

# --- boot 2 ---
last=$(note_read | sed -n 's/^pc1 //p')
note_write done
check "boot 1 flushed its records" [ "${last:-0}" -gt 0 ]
cs_up_after_cut $C $B
BC=bcache0
echo "### $(dmesg | grep -i 'journal replay')"
check_eq "bcache0 is $DIRTY after the cut" $DIRTY \
	"$(cat /sys/block/$BC/bcache/state)"
drop_caches
check "the fsynced fio region verifies" region_a --verify_only
i=1
bad=0
while [ $i -le "${last:-0}" ]; do
	pattern "rec$i" > /tmp/rec
	[ "$(md5sum < /tmp/rec | cut -d' ' -f1)" = \
	  "$(sect_sum /dev/$BC $(((REC_AT + i) * 128)) 128)" ] || bad=$((bad + 1))
	i=$((i + 1))
done
check_eq "every flushed record (1..$last) reads back" 0 "$bad"
# Writing the dirty data back must land the same bytes on vda.
echo 1 > /sys/block/$BC/bcache/writeback_running
echo 0 > /sys/block/$BC/bcache/writeback_percent
is_clean() { [ "$(cat /sys/block/$BC/bcache/state)" = clean ]; }
check "writeback cleans the device" retry 120 is_clean
check "stop the set" cs_stop
[ -e /sys/block/$BC ] && bc_stop $BC
unload_bcache
check_eq "vda holds the records after writeback" \
	"$(pattern "rec$last" | md5sum | cut -d' ' -f1)" \
	"$(sect_sum $B $(((REC_AT + last) * 128 + 16)) 128)"
