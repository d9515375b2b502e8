# Writeback mode end to end, against $BCMOD: dirty writes stay in the
# cache (dirty_data, state dirty, the backing device still old) and read
# back; with writeback_percent 0 the thread writes all of it back in a
# few batches, each ending in one flush of the backing device, and the
# state goes clean; a detach of a device with dirty data writes it back
# first and leaves the backing device alone holding every byte; a stop
# with dirty data keeps it, and the next registration writes it back.
C=/dev/vdb
B=/dev/vda
SYS=/sys/block/bcache0/bcache

# Flushes the backing device completed (diskstats field 19, 5.5+).
vda_flushes() { awk '$3 == "vda" { print $19 }' /proc/diskstats; }
is_clean() { [ "$(cat $SYS/state)" = clean ]; }
dirty_kib() { sed -n 's/^dirty:[[:space:]]*//p' $SYS/writeback_rate_debug; }

check "make-bcache -C vdb -B vda (writeback)" cs_make $C $B --writeback
check "module loads" load_bcache
check "register cache and backing device" cs_up $C $B || return
check_eq "writeback mode" "writethrough [writeback] writearound none" \
	"$(cat $SYS/cache_mode)"
check_eq "writeback_running reads 1 once attached" 1 \
	"$(cat $SYS/writeback_running)"
# Hold writeback back: the data must stay dirty for now.
echo 0 > $SYS/writeback_running

pattern_mib wb1 8 > /tmp/wb1
SUM1=$(md5sum < /tmp/wb1 | cut -d' ' -f1)
OLD=$(sect_sum $B $((16 * 2048 + 16)) 16384)
check "write 8 MiB at MiB 16, fsync" \
	dd if=/tmp/wb1 of=/dev/bcache0 bs=1M seek=16 conv=fsync
check_eq "state reads dirty" dirty "$(cat $SYS/state)"
check_eq "dirty_data reads 8.0M" 8.0M "$(cat $SYS/dirty_data)"
check_eq "the backing device still holds the old data" "$OLD" \
	"$(sect_sum $B $((16 * 2048 + 16)) 16384)"
check "the superblock on vda says dirty" \
	sh -c "bcache-super-show $B | grep -q 'cache_state.*dirty'"
drop_caches
check_eq "the dirty data reads back" "$SUM1" "$(mib_sum /dev/bcache0 16 8)"

F0=$(vda_flushes)
echo 0 > $SYS/writeback_percent
# No pause of writeback_delay (30 s) after each full pass.
echo 1 > $SYS/writeback_delay
echo 1 > $SYS/writeback_running
check "writeback cleans the device" retry 120 is_clean
check_eq "dirty_data reads 0.0k" 0.0k "$(cat $SYS/dirty_data)"
F1=$(vda_flushes)
echo "### backing flushes during writeback: $((F1 - F0))"
check "the backing device was flushed" [ $((F1 - F0)) -ge 1 ]
check "writeback_keys_done counted" \
	[ "$(cat $(cs_dir)/internal/writeback_keys_done)" -gt 0 ]
check_eq "vda holds the data after writeback" "$SUM1" \
	"$(sect_sum $B $((16 * 2048 + 16)) 16384)"
check "the superblock on vda says clean" \
	sh -c "bcache-super-show $B | grep -q 'cache_state.*clean'"

# --- stop with dirty data, register again: writeback resumes ---
echo 0 > $SYS/writeback_running
pattern_mib wb2 4 > /tmp/wb2
SUM2=$(md5sum < /tmp/wb2 | cut -d' ' -f1)
check "write 4 MiB at MiB 40, fsync" \
	dd if=/tmp/wb2 of=/dev/bcache0 bs=1M seek=40 conv=fsync
check_eq "state reads dirty again" dirty "$(cat $SYS/state)"
# A write around the cache reaches vda, and its fsync must flush vda.
echo writearound > $SYS/cache_mode
F0=$(vda_flushes)
check "a write around the cache, fsync" \
	dd if=/tmp/wb2 of=/dev/bcache0 bs=64k count=1 seek=1700 \
	conv=fsync,notrunc
check "its fsync flushed vda" [ $(($(vda_flushes) - F0)) -ge 1 ]
echo writeback > $SYS/cache_mode
# Nothing reaches vda while writes stay dirty: an fsync then has nothing
# to flush there, the flush just sent included. Ours sends vda no flush;
# the kernel's sends one each.
F0=$(vda_flushes)
for i in 1 2 3 4; do
	dd if=/tmp/wb2 of=/dev/bcache0 bs=64k count=1 seek=$((1600 + i)) \
		conv=fsync,notrunc 2>/dev/null
done
F1=$(vda_flushes)
echo "### backing flushes for 4 fsynced dirty writes: $((F1 - F0))"
if testing_ref; then
	check "4 fsyncs of dirty writes flush vda each time (upstream)" \
		[ $((F1 - F0)) -ge 4 ]
else
	check_eq "4 fsyncs of dirty writes send vda no flush" 0 $((F1 - F0))
fi
check "stop the set" cs_stop
[ -e /sys/block/bcache0 ] && bc_stop bcache0
check "the superblock on vda still says dirty" \
	sh -c "bcache-super-show $B | grep -q 'cache_state.*dirty'"
check "register both again" cs_up $C $B
# Writeback starts at once (at the default rate): hold it, let a batch in
# flight finish, then the count must equal the btree's dirty keys.
echo 0 > $SYS/writeback_running
sleep 2
check_eq "dirty_data counts what the btree holds dirty" "$(bc_dump_dirty)" \
	"$(cat $SYS/dirty_data)"
drop_caches
check_eq "the dirty data reads back after re-registering" "$SUM2" \
	"$(mib_sum /dev/bcache0 40 4)"

# --- detach with dirty data: written back first ---
echo 0 > $SYS/writeback_running
pattern_mib wb3 4 > /tmp/wb3
SUM3=$(md5sum < /tmp/wb3 | cut -d' ' -f1)
check "write 4 MiB at MiB 60, fsync" \
	dd if=/tmp/wb3 of=/dev/bcache0 bs=1M seek=60 conv=fsync
check "detach with dirty data is accepted" sh -c "echo 1 > $SYS/detach"
no_cache() { [ "$(cat $SYS/state)" = "no cache" ]; }
check "the detach completes" retry 120 no_cache
check "the superblock on vda says no cache" \
	sh -c "bcache-super-show $B | grep -q 'cache_state.*detached'"
drop_caches
check_eq "without the cache: the first write reads back" "$SUM1" \
	"$(mib_sum /dev/bcache0 16 8)"
check_eq "without the cache: the second write reads back" "$SUM2" \
	"$(mib_sum /dev/bcache0 40 4)"
check_eq "without the cache: the third write reads back" "$SUM3" \
	"$(mib_sum /dev/bcache0 60 4)"
check "stop the set" cs_stop
check "stop bcache0" bc_stop bcache0
unload_bcache
check_eq "vda alone holds the third write" "$SUM3" \
	"$(sect_sum $B $((60 * 2048 + 16)) 8192)"
