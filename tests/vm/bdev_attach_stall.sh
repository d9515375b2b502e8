# Register-lock stalls at attach (an upstream bug class): attaching a
# backing device writes the set's uuid table and the backing superblock,
# counts the device's dirty data and adds bcacheN (whose partition scan
# reads the disk); none of that may hold the global register lock, which
# every registration and every set's stop needs. Each slow case below sits
# behind dm-delay (10 s per delayed I/O):
#   1. a device whose superblock names a running set registers, and its
#      data reads are slow: the partition scan misses the cache and waits;
#   2. a running device is told to attach, and its superblock writes are
#      slow;
#   3. as 2, and the set it attaches to is stopped meanwhile: both finish.
# While 1 and 2 are in flight a second set stops and a fast device
# registers (in turn first: a stalled first one outlasts the window);
# neither may wait for the slow device (a stalled one takes at
# least one delay, 10 s; an unstalled one well under 5 s). Runs against
# $BCMOD: the kernel's bcache holds its register lock across all of that
# I/O and fails the checks "... did not wait".
DISK=/dev/vdd
SETA_DEV=/dev/vdb
SETB_DEV=/dev/vdc
SLICE=131072			# sectors: 64 MiB per backing device
DELAY=10000
wipe $DISK
wipe $SETA_DEV
wipe $SETB_DEV

# Slice $2 of vdd as a plain linear device.
linear_table() { echo "0 $SLICE linear $DISK $(($1 * SLICE))"; }
# Superblock at full speed, data reads and writes late.
slow_data_table() {
	local off=$(($1 * SLICE))
	echo "0 16 linear $DISK $off"
	echo "16 $((SLICE - 16)) delay $DISK $((off + 16)) $DELAY"
}
# Superblock writes late, everything else at full speed.
slow_sb_table() {
	local off=$(($1 * SLICE))
	echo "0 16 delay $DISK $off 0 $DISK $off $DELAY"
	echo "16 $((SLICE - 16)) linear $DISK $((off + 16))"
}
# dm_retable NAME TABLE-FUNCTION SLICE: a new table under the open device.
dm_retable() {
	dmsetup suspend "$1" && "$2" "$3" | dmsetup load "$1" &&
		dmsetup resume "$1"
}

for i in 0 1 2 3 4; do
	dm_create bas$i "$(linear_table $i)"
	wipe /dev/mapper/bas$i
	make-bcache -B /dev/mapper/bas$i > /dev/null
done
make-bcache -C $SETA_DEV > /dev/null
make-bcache -C $SETB_DEV > /dev/null
SETA=$(cs_uuid_of $SETA_DEV)
SETB=$(cs_uuid_of $SETB_DEV)
check "module loads" load_bcache
check "two cache sets registered" sh -c \
	"echo $SETA_DEV > /sys/fs/bcache/register && echo $SETB_DEV > /sys/fs/bcache/register"

# bas0 attached to set A once, then stopped: its superblock names A.
check "bas0 registers" bc_register /dev/mapper/bas0
BC0=$(bc_name_of "$(dm_kname bas0)")
check "bas0 attaches to set A" sh -c "echo $SETA > /sys/block/$BC0/bcache/attach"
check "bas0 stops" bc_stop "$BC0"
check "bas0 let go of" wait_released /dev/mapper/bas0
check "bas1 registers, not attached" bc_register /dev/mapper/bas1
BC1=$(bc_name_of "$(dm_kname bas1)")
check "bas3 registers, not attached" bc_register /dev/mapper/bas3
BC3=$(bc_name_of "$(dm_kname bas3)")
check "bas0 gets slow data" dm_retable bas0 slow_data_table 0
check "bas1 gets a slow superblock" dm_retable bas1 slow_sb_table 1
check "bas3 gets a slow superblock" dm_retable bas3 slow_sb_table 3
drop_caches

# seconds COMMAND...: how long the command took (its status is lost).
seconds() {
	local t0
	t0=$(date +%s)
	"$@" > /dev/null 2>&1
	echo $(($(date +%s) - t0))
}
stop_set_b() {
	echo 1 > "/sys/fs/bcache/$SETB/stop" && wait_gone "/sys/fs/bcache/$SETB" 30
}
register_set_b() {
	wait_released $SETB_DEV 30 && bc_register $SETB_DEV
}

# 1: a registration attaching with slow data reads.
rm -f /tmp/slow.done
(bc_register /dev/mapper/bas0; touch /tmp/slow.done) &
sleep 2
t=$(seconds stop_set_b)
check "1: a set's stop did not wait (${t}s)" test "$t" -lt 5
t=$(seconds bc_register /dev/mapper/bas2)
check "1: a registration did not wait (${t}s)" test "$t" -lt 5
check "1: the slow registration was still in flight" test ! -e /tmp/slow.done
wait
check "1: the slow device registered" test -e /tmp/slow.done
BC0=$(bc_name_of "$(dm_kname bas0)")
check "1: and is attached to set A" bc_attached "$BC0"
check "set B registers again" register_set_b

# 2: an attach with a slow superblock write.
rm -f /tmp/slow.done
(echo "$SETA" > "/sys/block/$BC1/bcache/attach"; touch /tmp/slow.done) &
sleep 2
t=$(seconds bc_register /dev/mapper/bas4)
check "2: a registration did not wait (${t}s)" test "$t" -lt 5
t=$(seconds stop_set_b)
check "2: a set's stop did not wait (${t}s)" test "$t" -lt 5
check "2: the slow attach was still in flight" test ! -e /tmp/slow.done
wait
check "2: the slow attach finished" test -e /tmp/slow.done
check "2: and the device is attached to set A" bc_attached "$BC1"

# 3: set A stops while an attach to it waits for its superblock write.
rm -f /tmp/slow.done
(echo "$SETA" > "/sys/block/$BC3/bcache/attach"; touch /tmp/slow.done) &
sleep 2
check "3: set A stops during the attach" sh -c \
	"echo 1 > /sys/fs/bcache/$SETA/stop"
check "3: set A is gone" wait_gone "/sys/fs/bcache/$SETA" 60
check "3: its cache device let go of" wait_released $SETA_DEV 30
wait
check "3: the attach returned" test -e /tmp/slow.done
check "3: no set is left" no_set

for i in 0 1 3; do
	dm_retable bas$i linear_table $i
done
unload_bcache
# No superblock is left for a later scenario on the same disk.
for i in 0 1 2 3 4; do
	wipe /dev/mapper/bas$i
	retry 30 dmsetup remove bas$i 2>/dev/null
done
check_eq "all dm devices removed" "" "$(dmsetup ls | grep bas)"
dmsetup mknodes
