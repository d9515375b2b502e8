# On-disk compatibility of dirty data with the kernel's own driver, both
# ways. One module writes in writeback mode with writeback held back
# (writeback_running 0), so that the data lives only in the cache: dirty
# keys in the btree and a backing superblock that says dirty. The other
# module then registers the set and must count the same dirty sectors
# (dirty_data), read every byte back from the cache, write all of it back
# to a clean state, and detach; the backing disk alone then holds every
# byte at its data offset (16 sectors). The reference makes its set with
# make-bcache --writeback; ours is switched by cache_mode, which must
# reach the superblock the reference reads.
# Writeback starts the moment a dirty device attaches, so the second
# module registers the backing disk through dm-delay with writes held
# for seconds: nothing can be written back (ours marks a batch clean only
# after its flush, the reference when its writes end) before dirty_data
# is read, and the delay is then taken away.
# Always uses both modules, whatever $BCMOD says.
C=/dev/vdb
B=/dev/vda
SYS=/sys/block/bcache0/bcache
SECTORS=$(blockdev --getsz $B)
SLOW=/dev/mapper/wbslow

# fio_region DEV NAME OFFSET SIZE SEED fio-args...: seeded random writes
# with crc32c headers; --verify_only with the same arguments re-reads them.
fio_region() {
	local dev=$1 name=$2 off=$3 size=$4 seed=$5
	shift 5
	fio --name="$name" --filename="$dev" --direct=1 --ioengine=libaio \
		--iodepth=8 --rw=randwrite --bsrange=4k-64k --blockalign=4k \
		--offset="$off" --size="$size" --randseed="$seed" \
		--verify=crc32c --verify_fatal=1 "$@"
}

# The dirty sectors of bcache0 in the btree (debugfs dump), in sysfs's
# human format: what dirty_data must read.
is_clean() { [ "$(cat $SYS/state)" = clean ]; }
no_cache() { [ "$(cat $SYS/state)" = "no cache" ]; }
sb_says() { blockdev --flushbufs $B; bcache-super-show $B | grep -q "cache_state.*$1"; }

# up WHICH BACKING: load module WHICH, register the set and BACKING.
up() {
	check "$1: module loads" "load_$1"
	check "$1: register cache and backing device" cs_up $C $2
}
down() {
	check "$1: stop the set" cs_stop
	[ -e /sys/block/bcache0 ] && bc_stop bcache0
	check "$1: module unloads" retry 30 rmmod bcache
}

# The backing disk with its writes (and flushes) held for 8 s; fast
# takes the delay away (a suspend lets the held writes through first).
slow() { dm_create wbslow "0 $SECTORS delay $B 0 0 $B 0 8000"; }
fast() {
	dmsetup suspend wbslow && dmsetup reload wbslow \
		--table "0 $SECTORS linear $B 0" && dmsetup resume wbslow
}

# dirty WHO SEED SUM: WHO (whose set is up, writeback held) writes a fio
# region of 8 MiB at 0 and 4 MiB of its pattern at MiB 64; DIRTY is then
# what its dirty_data reads.
dirty() {
	check "$1: 8 MiB of random writes, verified" \
		fio_region /dev/bcache0 $1 0 8M $2 --do_verify=1
	check "$1: its pattern written, fsync" \
		dd if=/tmp/$1 of=/dev/bcache0 bs=1M seek=64 conv=fsync
	drop_caches
	check_eq "$1: its pattern reads back" "$3" "$(mib_sum /dev/bcache0 64 4)"
	check_eq "$1: state reads dirty" dirty "$(cat $SYS/state)"
	DIRTY=$(cat $SYS/dirty_data)
	echo "### $1: dirty_data $DIRTY"
	check "$1: dirty_data is above zero" [ "$DIRTY" != 0.0k ]
	check_eq "$1: dirty_data counts the btree's dirty keys" \
		"$(bc_dump_dirty)" "$DIRTY"
}

# takeover WHO FROM SEED SUM: WHO registers the set FROM left dirty,
# through the slow backing disk; it must count and read FROM's dirty
# data, write it back and detach, and vda alone must then hold it.
takeover() {
	check "$1: the slow backing disk is made" slow
	up $1 $SLOW
	got=$(cat $SYS/dirty_data)
	echo 0 > $SYS/writeback_running
	check_eq "$1: dirty_data reads what $2's did" "$DIRTY" "$got"
	check_eq "$1: state reads dirty" dirty "$(cat $SYS/state)"
	check_eq "$1: writeback mode from the superblock" \
		"writethrough [writeback] writearound none" \
		"$(cat $SYS/cache_mode)"
	check "$1: the backing disk's delay is taken away" fast
	# A batch let through by the suspend ends in its insert.
	sleep 2
	# The kernel's thread finishes its keybuf (up to 500 keys) whatever
	# writeback_running says, so its count moves while it is read.
	if [ "$1" = ours ]; then
		echo 0 > $SYS/writeback_running
		sleep 1
		check_eq "$1: dirty_data counts the btree's dirty keys" \
			"$(bc_dump_dirty)" "$(cat $SYS/dirty_data)"
		echo 1 > $SYS/writeback_running
	else
		echo "### $1: dirty_data $(cat $SYS/dirty_data), btree $(bc_dump_dirty)"
	fi
	drop_caches
	check "$1: $2's fio region verifies" \
		fio_region /dev/bcache0 $2 0 8M $3 --verify_only
	check_eq "$1: $2's pattern reads back" "$4" "$(mib_sum /dev/bcache0 64 4)"

	echo 0 > $SYS/writeback_percent
	# No pause of writeback_delay (30 s) after each full pass.
	echo 1 > $SYS/writeback_delay
	echo 1 > $SYS/writeback_running
	check "$1: writeback cleans the device" retry 120 is_clean
	check_eq "$1: dirty_data reads 0.0k" 0.0k "$(cat $SYS/dirty_data)"
	check "$1: detach" sh -c "echo 1 > $SYS/detach"
	check "$1: the detach completes" retry 60 no_cache
	down $1
	dmsetup remove wbslow
	check "$1: the superblock on vda says detached" sb_says detached

	# vda alone, from its data offset: every byte of FROM's writes.
	check_eq "$1: vda alone holds $2's pattern" "$4" \
		"$(sect_sum $B $((64 * 2048 + 16)) 8192)"
	dm_create wbraw "0 $((SECTORS - 16)) linear $B 16"
	check "$1: vda alone holds $2's fio region" \
		fio_region /dev/mapper/wbraw $2 0 8M $3 --verify_only
	dmsetup remove wbraw
}

pattern_mib ref 4 > /tmp/ref
pattern_mib ours 4 > /tmp/ours
SUM_R=$(md5sum < /tmp/ref | cut -d' ' -f1)
SUM_O=$(md5sum < /tmp/ours | cut -d' ' -f1)

# --- the reference leaves dirty data, ours takes it over ---
check "make-bcache -C vdb -B vda --writeback" cs_make $C $B --writeback
up ref $B
echo 0 > $SYS/writeback_running
check_eq "ref: writeback mode" "writethrough [writeback] writearound none" \
	"$(cat $SYS/cache_mode)"
dirty ref 11 "$SUM_R"
down ref
check "ref: the superblock on vda says dirty" sb_says dirty
takeover ours ref 11 "$SUM_R"

# --- ours leaves dirty data, the reference takes it over ---
check "make-bcache -C vdb -B vda (writethrough)" cs_make $C $B
up ours $B
check "ours: cache_mode takes writeback" \
	sh -c "echo writeback > $SYS/cache_mode"
echo 0 > $SYS/writeback_running
dirty ours 22 "$SUM_O"
down ours
check "ours: the superblock on vda says dirty" sb_says dirty
takeover ref ours 22 "$SUM_O"
