# A read miss racing a bypassed write must not leave stale data cached.
# In writearound mode a write goes to the backing device only and drops
# the range from the cache at once; a read of the same range that misses
# meanwhile reads the backing device before the write has landed. If that
# read then inserts what it read, the cache keeps the old data for good.
# The backing device sits behind dm-delay (writes take 10 s, reads none) so
# that the window is wide and every round hits it: the checks made inside
# it take seconds of guest time under TCG when the host is busy (and the
# guest's clock runs fast there).
# The last round does the same for a writethrough write whose copy to the
# cache fails. The kernel's bcache (6.12.117) caches the old data: under
# ref the checks "... reads the new data" fail by design. Runs against
# $BCMOD.
C=/dev/vdb
RAW=/dev/vda
SLOW=/dev/mapper/bc_slow
wipe $C
wipe $RAW
SECTORS=$(blockdev --getsz $RAW)
# The superblock is written before the delay goes in (it would take 10 s).
check "make-bcache -C vdb -B vda" make-bcache -C $C -B $RAW
check "dm-delay over vda (writes 10 s late)" dm_create bc_slow \
	"0 $SECTORS delay $RAW 0 0 $RAW 0 10000"
DM=$(dm_kname bc_slow)
# The old data goes straight to vda (at bcache0's MiB 8, 16, 24 and 56), so
# that the cache has never seen it.
ROUNDS="8 16 24"
for m in $ROUNDS 56; do
	pattern_mib "old$m" 1 > /tmp/old$m
	put_at /tmp/old$m $RAW $((m * 2048 + 16))
done
check "module loads" load_bcache
check "register cache and backing device" cs_up $C $SLOW
BC=$(bc_name_of "$DM")
check "writearound mode" sh -c "echo writearound > /sys/block/$BC/bcache/cache_mode"

# The write is in flight: bcacheN counts it (bio-based dm-delay does not),
# and it has not reached vda yet.
writes_inflight() { [ "$(awk '{print $2}' /sys/block/$BC/inflight)" -gt 0 ]; }

# blocks_old_or_new READ OLD NEW: every 4 KiB block of READ equals the
# same block of OLD or of NEW.
blocks_old_or_new() {
	local b r
	for b in $(seq 0 255); do
		r=$(dd if="$1" bs=4k skip=$b count=1 2>/dev/null | md5sum)
		[ "$r" = "$(dd if="$2" bs=4k skip=$b count=1 2>/dev/null | md5sum)" ] ||
		[ "$r" = "$(dd if="$3" bs=4k skip=$b count=1 2>/dev/null | md5sum)" ] ||
			return 1
	done
}

for m in $ROUNDS; do
	OLD=$(md5sum < /tmp/old$m | cut -d' ' -f1)
	drop_caches
	check_eq "round $m: the range holds the old data" "$OLD" "$(mib_sum /dev/$BC $m 1)"
	# Reading it cached the old data (a writearound read miss is
	# inserted); the write below must drop that copy too.
	fio --name=race --filename=/dev/$BC --rw=write --bs=1M --size=1M \
		--offset=${m}M --direct=1 --ioengine=psync \
		--buffer_pattern=0x5a5a00$((m + 10)) > /tmp/fio.$m 2>&1 &
	wpid=$!
	check "round $m: the write is held by dm-delay" retry 10 writes_inflight
	check_eq "round $m: vda does not have it yet" "$OLD" \
		"$(sect_sum $RAW $((m * 2048 + 16)) 2048)"
	drop_caches
	blockdev --flushbufs /dev/$BC
	dd if=/dev/$BC of=/tmp/raced$m bs=1M skip=$m count=1 2>/dev/null
	RACED=$(md5sum < /tmp/raced$m | cut -d' ' -f1)
	check "round $m: fio's write completes" wait $wpid
	NEW=$(sect_sum $RAW $((m * 2048 + 16)) 2048)
	check_not "round $m: the backing device has new data" [ "$NEW" = "$OLD" ]
	case $RACED in
	"$OLD") echo "### round $m: the racing read saw the old data" ;;
	"$NEW") echo "### round $m: the racing read saw the new data" ;;
	# dm-delay holds each piece of the write 10 s from its own arrival:
	# a read slower than that (TCG, debug kernel under load) overlaps
	# the pieces landing, and may then see either data per block.
	*) dd if=$RAW of=/tmp/new$m bs=512 skip=$((m * 2048 + 16)) count=2048 2>/dev/null
	   check "round $m: each 4 KiB of the racing read is old or new data" \
		blocks_old_or_new /tmp/raced$m /tmp/old$m /tmp/new$m ;;
	esac
	for n in 1 2 3; do
		drop_caches
		check_eq "round $m: read $n after the write reads the new data" \
			"$NEW" "$(mib_sum /dev/$BC $m 1)"
	done
done

# raced_write WHAT M PATTERN [HOOK...]: overwrite MiB M of bcacheN (OLD
# its old data) with PATTERN, held by dm-delay; HOOK runs once the write
# is held; a read of the range races the write, and after it three reads
# must return the new data.
raced_write() {
	local round=$1 m=$2 pattern=$3 wpid n
	shift 3
	fio --name=race --filename=/dev/$BC --rw=write --bs=1M --size=1M \
		--offset=${m}M --direct=1 --ioengine=psync \
		--buffer_pattern=$pattern > /tmp/fio.$m 2>&1 &
	wpid=$!
	check "$round: the write is held by dm-delay" retry 10 writes_inflight
	[ $# -eq 0 ] || "$@"
	drop_caches
	RACED=$(mib_sum /dev/$BC $m 1)
	check "$round: fio's write completes" wait $wpid
	NEW=$(sect_sum $RAW $((m * 2048 + 16)) 2048)
	echo "### $round: racing read $( [ "$RACED" = "$OLD" ] && echo old || echo new)"
	for n in 1 2 3; do
		drop_caches
		check_eq "$round: read $n after the write reads the new data" \
			"$NEW" "$(mib_sum /dev/$BC $m 1)"
	done
}

# A range the cache never held: written in writearound (so not cached),
# then overwritten while the first read of it races the second write.
m=40
pattern_mib "old$m" 1 > /tmp/old$m
OLD=$(md5sum < /tmp/old$m | cut -d' ' -f1)
check "fresh range: old data written in writearound" \
	dd if=/tmp/old$m of=/dev/$BC bs=1M seek=$m conv=fsync
raced_write "fresh range" $m 0x5a5a0077

# Writethrough, where the cache copy fails: fail_make_request fails the
# next write to the cache device (the data's; the set is idle), so the
# write's insert invalidates the range instead, while the backing write is
# held. A read that misses meanwhile reads the old data (put on vda at
# the start) and caches it: the write must drop that copy once it has
# landed, as a bypassed write does. The kernel's bcache leaves it cached.
FI=/sys/kernel/debug/fail_make_request
one_cache_write_failed() {
	check_eq "failed cache write: the cache device failed one write" 0 \
		"$(cat $FI/times)"
	echo 0 > /sys/block/vdb/make-it-fail
}
m=56
OLD=$(md5sum < /tmp/old$m | cut -d' ' -f1)
check "failed cache write: writethrough mode" \
	sh -c "echo writethrough > /sys/block/$BC/bcache/cache_mode"
echo 0 > /sys/block/$BC/bcache/sequential_cutoff
# The rounds before left btree nodes dirty, each written 30 s after it
# became so: on a slow host one of those writes took the one failure
# (and failed the set). Only then is the data's write the next one.
sleep 31
echo 0 > $FI/verbose
echo 100 > $FI/probability
echo 1 > $FI/times
echo 1 > /sys/block/vdb/make-it-fail
raced_write "failed cache write" $m 0x5a5a0099 one_cache_write_failed

check "stop the set" cs_stop
[ -e /sys/block/$BC ] && bc_stop $BC
unload_bcache
check "dm-delay device removed" retry 10 dmsetup remove bc_slow
