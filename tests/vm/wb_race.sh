# A foreground write racing the writeback of the same sectors, against
# $BCMOD. The backing disk sits under dm-delay, which keeps each write
# and flush to it in flight for 200 ms, so a writeback batch stays open
# long enough for an overwrite to land inside it.
# In writeback mode the overwrite goes to the cache dirty; the batch's
# clean insert must then lose to it (the dirty key it replaces is gone),
# and the newer data be written back in a later batch.
# In writethrough mode, with dirty data still being written back, a write
# that overlaps a key the thread holds must still go to the cache dirty:
# written through, it could reach the backing disk before the thread's
# older copy of the same sectors and be overwritten by it. The cache's
# reads are slowed too for that part (a second dm-delay), which holds the
# thread between taking its keys and writing them out, where a write
# through would get ahead of it.
# Either way, once clean and detached, the backing disk alone must hold
# the newest data everywhere.
C=/dev/vdb
B=/dev/vda
SYS=/sys/block/bcache0/bcache
BS=$(blockdev --getsz $B)
CS=$(blockdev --getsz $C)

is_clean() { [ "$(cat $SYS/state)" = clean ]; }
no_cache() { [ "$(cat $SYS/state)" = "no cache" ]; }
# Writes dm device (kernel name) $1 completed; whether more than $2.
writes() { awk '{ print $5 }' /sys/block/$1/stat; }
wrote_past() { [ "$(writes $1)" -gt $2 ]; }
# Nothing in flight to dm device $1 (a write is counted once completed).
idle() { [ "$(cat /sys/block/$1/inflight | tr -s ' ')" = " 0 0" ]; }
# Sectors written to dm device $1 (its flushes count as writes of none).
wsect() { awk '{ print $7 }' /sys/block/$1/stat; }
# retable DM TABLE: swap dm device DM's table under the running set.
retable() {
	dmsetup suspend $1 && dmsetup reload $1 --table "$2" &&
		dmsetup resume $1
}
# put NAME MIB: write pattern NAME (2 MiB, in /tmp/NAME) at MiB MIB.
put() { dd if=/tmp/$1 of=/dev/bcache0 bs=1M seek=$2 conv=fsync 2>/dev/null; }

for p in a1 b1 a2 b2; do
	pattern_mib $p 2 > /tmp/$p
	eval SUM_$p=$(md5sum < /tmp/$p | cut -d' ' -f1)
done

check "the slow backing disk is made" \
	dm_create wbb "0 $BS delay $B 0 0 $B 0 200"
check "the cache disk is made (no delay yet)" \
	dm_create wbc "0 $CS delay $C 0 0"
check "make-bcache -C wbc -B wbb --writeback" \
	cs_make /dev/mapper/wbc /dev/mapper/wbb --writeback
check "module loads" load_bcache
check "register cache and backing device" \
	cs_up /dev/mapper/wbc /dev/mapper/wbb || return
WBB=$(dm_kname wbb)
WBC=$(dm_kname wbc)

# --- writeback mode: the overwrite lands in an open batch ---
echo 0 > $SYS/writeback_running
retry 20 idle $WBB
S0=$(wsect $WBB)
check "A: 2 MiB written dirty at MiB 16" put a1 16
check_eq "A is dirty" dirty "$(cat $SYS/state)"
# All of A's writes wait for one DIRTY superblock, not one each.
check_eq "A wrote one superblock (8 sectors) to the slow disk" 8 \
	$(($(wsect $WBB) - S0))
W0=$(writes $WBB)
echo 0 > $SYS/writeback_percent
# No pause of writeback_delay (30 s) after each full pass.
echo 1 > $SYS/writeback_delay
echo 1 > $SYS/writeback_running
# Its first batch is done: the next ones are open while B comes in.
check "writeback of A has begun" retry 60 wrote_past $WBB $W0
check "B: the same 2 MiB overwritten" put b1 16
check "writeback cleans the device" retry 120 is_clean
drop_caches
check_eq "bcache0 reads B" "$SUM_b1" "$(mib_sum /dev/bcache0 16 2)"
check_eq "vda holds B, not A" "$SUM_b1" \
	"$(sect_sum $B $((16 * 2048 + 16)) 4096)"

# --- writethrough with dirty data left: the overlap must go dirty ---
echo 0 > $SYS/writeback_running
retry 20 idle $WBB
S0=$(wsect $WBB)
check "A: 2 MiB written dirty at MiB 32" put a2 32
check_eq "A is dirty" dirty "$(cat $SYS/state)"
check_eq "A wrote one superblock (8 sectors) to the slow disk" 8 \
	$(($(wsect $WBB) - S0))
check "cache_mode takes writethrough" \
	sh -c "echo writethrough > $SYS/cache_mode"
check "the cache's reads are slowed to 1 s" \
	retable wbc "0 $CS delay $C 0 1000 $C 0 0"
# The thread takes its keys at once and waits a second for their reads:
# B comes in meanwhile.
echo 1 > $SYS/writeback_running
check "B: the same 2 MiB overwritten" put b2 32
check "the cache's reads are fast again" retable wbc "0 $CS delay $C 0 0"
check "writeback cleans the device" retry 120 is_clean
drop_caches
check_eq "bcache0 reads B" "$SUM_b2" "$(mib_sum /dev/bcache0 32 2)"
check_eq "vda holds B, not A" "$SUM_b2" \
	"$(sect_sum $B $((32 * 2048 + 16)) 4096)"

check "detach" sh -c "echo 1 > $SYS/detach"
check "the detach completes" retry 60 no_cache
check "stop the set" cs_stop
check "stop bcache0" bc_stop bcache0
unload_bcache
dmsetup remove wbb
dmsetup remove wbc
check_eq "vda alone holds the first B" "$SUM_b1" \
	"$(sect_sum $B $((16 * 2048 + 16)) 4096)"
check_eq "vda alone holds the second B" "$SUM_b2" \
	"$(sect_sum $B $((32 * 2048 + 16)) 4096)"
