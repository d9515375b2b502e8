# A btree node write that fails, against ours: the leaf's bucket turns to
# write errors (a dm "error" segment under it), then dirty data comes in
# whose keys are only in the journal and in the leaf, which is written
# 30 s later. The write fails: the set must fail and keep the jsets
# holding those keys, so that the next start replays them and every byte
# reads back. The kernel's 6.12 bcache counts the error, lets the keys'
# journal pin go and goes on: the next fsync writes a jset that says
# nothing before it is needed, and after a restart the dirty data is
# gone from the tree (bcache0 reads the backing disk's old bytes).
B=/dev/vda
SYS=/sys/block/bcache0/bcache
wipe /dev/vdb
check "a 32 MiB cache device (dm-linear on vdb)" dm_small bc_nwe /dev/vdb 32
C=/dev/mapper/bc_nwe
check "make-bcache -C -B --writeback, 32 KiB buckets" \
	cs_make $C $B --bucket 32k --writeback
check "module loads" load_bcache
check "register cache and backing device" cs_up $C $B || return
echo 0 > $SYS/writeback_running
pattern_mib nwe0 1 > /tmp/d0
dd if=/tmp/d0 of=/dev/bcache0 bs=1M seek=4 oflag=direct conv=fsync 2>/dev/null

# The root (a single leaf) and its bucket, from the jset that fsync wrote.
blockdev --flushbufs $C
sbedit $C --journal > /tmp/jinfo
jget() { sed -n "s/^$1 //p" /tmp/jinfo; }
BS=$(jget bucket_sectors)
RB=$(( $(jget root_sector) / BS * BS ))
check_eq "the tree is a single leaf" 0 "$(jget root_level)"
SECTORS=$(( 32 * 2048 ))
logged() { dmesg_after "$1" | grep -q "$2"; }

pattern_mib nwe1 1 > /tmp/d1
SUM1=$(md5sum < /tmp/d1 | cut -d' ' -f1)
check "the root's bucket turns to write errors" sh -c "
	dmsetup suspend bc_nwe &&
	printf '0 $RB linear /dev/vdb 0\n$RB $BS error\n$((RB + BS)) $((SECTORS - RB - BS)) linear /dev/vdb $((RB + BS))\n' |
		dmsetup reload bc_nwe && dmsetup resume bc_nwe"
kmsg_mark nwe
check "1 MiB written dirty and fsynced" \
	dd if=/tmp/d1 of=/dev/bcache0 bs=1M seek=8 oflag=direct conv=fsync
check_eq "bcache0 is dirty" dirty "$(cat $SYS/state)"
# The leaf is written DIRTY_NODE_WRITE_DELAY (30 s) after its first new
# key: that write fails, and so must the set.
check "the failed node write fails the set" \
	retry 90 no_set
check "the failed node write is logged" \
	logged nwe 'btree node write failed'
# Under a set still running, this fsync would write a jset past D1's.
# (Ours stopped bcache0 with its set: dd would make a file of the name.)
[ -b /dev/bcache0 ] &&
	dd if=/tmp/d0 of=/dev/bcache0 bs=1M seek=12 oflag=direct conv=fsync \
		2>/dev/null
[ -n "$(cs_dir)" ] && cs_stop
[ -e /sys/block/bcache0 ] && bc_stop bcache0
wait_released $C
check "the cache device is whole again" sh -c "
	dmsetup suspend bc_nwe &&
	echo '0 $SECTORS linear /dev/vdb 0' | dmsetup reload bc_nwe &&
	dmsetup resume bc_nwe"

kmsg_mark nwe2
check "the set registers again" cs_up $C $B || return
check "its journal replays" logged nwe2 'journal replay done'
drop_caches
check_eq "the dirty data written before the failure reads back" "$SUM1" \
	"$(mib_sum /dev/bcache0 8 1)"
check_eq "and the older dirty data too" "$(md5sum < /tmp/d0 | cut -d' ' -f1)" \
	"$(mib_sum /dev/bcache0 4 1)"
wb_drain_detach
check "dm device removed" retry 10 dmsetup remove bc_nwe
