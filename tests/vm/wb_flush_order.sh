# vm: extra volcache (scripts/test.sh builds tools/kmod/volcache.c for it)
# Writeback and a power cut of a backing disk with a volatile write cache,
# against $BCMOD. The backing device is /dev/volcache0 (tools/kmod/
# volcache.c): a RAM disk whose writes stay volatile until a PREFLUSH or
# FUA makes them durable, and whose "crash" parameter drops the rest.
#
# 8 MiB are written dirty into the cache, then written back until the
# state reads clean; after time for the btree and the journal to move on
# (below), the set and bcache0 stop, and the backing disk loses its
# unflushed writes. Once keys are clean the cache no longer stands for
# that data, so the backing disk must hold it after the cut: ours flushes
# the backing device before it marks written-back keys clean and writes
# its superblock with PREFLUSH|FUA, so every byte is there, through
# bcache0, on the raw disk, and after a detach.
#
# The kernel's bcache is expected to lose the written-back data here: it
# marks keys clean as soon as its plain writes complete, and sends the
# backing device no flush of its own. For BCMOD=ref the checks assert
# that loss (the raw disk and, after a detach, bcache0 lack the data) and
# "###" lines tell what was lost, superblock state included. Until the
# detach its bcache0 still reads the data: the clean copy in the cache.
C=/dev/vdb
B=/dev/volcache0
B2=/dev/vda
SYS=/sys/block/bcache0/bcache
VC=/sys/module/volcache/parameters
AT=8		# MiB of bcache0 where the data goes
MIB=8

vc() { cat $VC/$1; }
# An empty flush of the backing disk (fsync of the block device).
vc_sync() { dd if=/dev/null of=$B count=0 conv=fsync 2>/dev/null; }
is_clean() { [ "$(cat $SYS/state)" = clean ]; }
no_cache() { [ "$(cat $SYS/state)" = "no cache" ]; }
bdev_state() { bcache-super-show $B | sed -n 's/^dev\.data\.cache_state[[:space:]]*//p'; }
state_word() { echo "$1" | sed -n 's/.*\[\(.*\)\].*/\1/p'; }
# The data region of the raw backing disk (data at sector 16), to
# /tmp/raw; 4 KiB blocks, as busybox dd is slow at 512 bytes.
raw_read() {
	blockdev --flushbufs $B
	dd if=$B of=/tmp/raw bs=4k skip=$((AT * 256 + 2)) count=$((MIB * 256)) \
		2>/dev/null
}
raw_sum() { raw_read && md5sum < /tmp/raw | cut -d' ' -f1; }
mib_of() { dd if="$1" bs=1M skip="$2" count=1 2>/dev/null | md5sum; }
# The MiBs of the raw backing disk that differ from the pattern, as a
# list of MiB numbers (from 0).
lost_mibs() {
	local i
	raw_read
	for i in $(seq 0 $((MIB - 1))); do
		[ "$(mib_of /tmp/raw $i)" = "$(mib_of /tmp/wfo $i)" ] ||
			printf '%s ' $i
	done
}

check "volcache loads" insmod /lib/modules/extra/volcache.ko size_mb=64 || return
wipe $B2
check "make-bcache -C vdb -B volcache0 -B vda (writeback)" \
	cs_make $C $B -B $B2 --writeback
# make-bcache's superblock is durable before the test starts.
vc_sync
check "the backing disk's superblock is flushed" [ "$(vc flushes)" -ge 1 ]
check "module loads" load_bcache
check "register cache and backing device" cs_up $C $B || return
echo 0 > $SYS/writeback_running
# A second backing device of the set, whose writes stay dirty.
check "register vda as bcache1" bc_register $B2
check "bcache1 attached" retry 20 bc_attached bcache1
echo 0 > /sys/block/bcache1/bcache/writeback_running

pattern_mib wfo $MIB > /tmp/wfo
SUM=$(md5sum < /tmp/wfo | cut -d' ' -f1)
check "write $MIB MiB at MiB $AT, fsync" \
	dd if=/tmp/wfo of=/dev/bcache0 bs=1M seek=$AT conv=fsync
check_eq "state reads dirty" dirty "$(cat $SYS/state)"

F0=$(vc flushes)
echo 0 > $SYS/writeback_percent
# No pause of writeback_delay (30 s) after each full pass.
echo 1 > $SYS/writeback_delay
echo 1 > $SYS/writeback_running
check "writeback cleans the device" retry 120 is_clean
F1=$(vc flushes)
echo "### backing flushes during writeback: $((F1 - F0))"
# Time passes before the power goes: the btree nodes that hold the clean
# keys are written (the kernel's bcache writes a changed node 30 s after
# the change), and the journal moves past the entries that hold the dirty
# keys (two unsynced writes to bcache1, each journalled by the journal's
# timer). Otherwise a registration would replay those dirty keys, and the
# kernel's bcache would write the data back a second time. bcache1 sits
# on vda, so nothing reaches volcache0 in the meantime.
sleep 32
for i in 1 2; do
	fio --name=j$i --filename=/dev/bcache1 --direct=1 --rw=write --bs=4k \
		--size=4k --offset=$((i * 1048576)) > /dev/null 2>&1
	sleep 1
done
check "stop the set" cs_stop
for d in bcache0 bcache1; do
	[ -e /sys/block/$d ] && bc_stop $d
done
check "volcache0 is let go" wait_released $B
# A flush after the state went clean would make the data durable
# whatever writeback did, and the cut below would prove nothing.
check_eq "no flush of volcache0 from clean to stopped" "$F1" "$(vc flushes)"

# The power cut of the backing disk; the cache device keeps everything.
echo 1 > $VC/crash
echo "### volatile pages the power cut dropped: $(vc lost_pages)"
ST=$(bdev_state)
echo "### superblock state on the backing disk after the cut: $ST"
LOST=$(lost_mibs)
echo "### MiBs of the raw backing disk without the data after the cut: ${LOST:-none}"
if testing_ref; then
	check "the kernel's bcache loses written-back data here, as expected" \
		[ -n "$LOST" ]
else
	check_eq "the superblock on the backing disk says clean" clean \
		"$(state_word "$ST")"
	check_eq "the raw backing disk holds every byte" "" "$LOST"
fi

check "register both again" cs_up $C $B || return
drop_caches
GOT=$(mib_sum /dev/bcache0 $AT $MIB)
echo "### bcache0 reads the data back after the cut: $([ "$GOT" = "$SUM" ] && echo yes || echo no)"
testing_ref || check_eq "bcache0 reads the data back" "$SUM" "$GOT"

# Without the cache, the backing disk alone answers.
check "detach is accepted" sh -c "echo 1 > $SYS/detach"
check "the detach completes" retry 120 no_cache
drop_caches
GOT=$(mib_sum /dev/bcache0 $AT $MIB)
echo "### bcache0 reads the data back after a detach: $([ "$GOT" = "$SUM" ] && echo yes || echo no)"
if testing_ref; then
	check "after a detach bcache0 lacks the data (the kernel's bcache loses it, as expected)" \
		[ "$GOT" != "$SUM" ]
else
	check_eq "after a detach bcache0 reads the data back" "$SUM" "$GOT"
fi
check "stop the set" cs_stop
check "stop bcache0" bc_stop bcache0
unload_bcache
check "volcache0 is let go" wait_released $B
testing_ref ||
	check_eq "the raw backing disk holds every byte after the detach" "$SUM" \
		"$(raw_sum)"
rmmod volcache
