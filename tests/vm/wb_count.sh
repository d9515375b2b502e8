# The dirty-data count rebuilt at registration, on a backing device big
# enough (2 TiB) for the walk to be split between workers: dirty writes
# at the start, in the middle straddling the workers' boundary (1 TiB)
# and at the end; after a stop and a new registration dirty_data must
# equal the dirty keys of the btree, each counted once. The device is
# dm-linear over vdc: its first 512 MiB, then 512 MiB at 1 GiB of vdc again and
# again (the kernel has no dm-zero); the writes below do not overlap in
# vdc, and only the count is checked.
C=/dev/vdb
SYS=/sys/block/bcache0/bcache
TIB=$((1 << 31))		# sectors
SECTORS=$((2 * TIB))

big_up() {
	awk -v n=$((SECTORS / 1048576)) 'BEGIN {
		for (i = 0; i < n; i++)
			printf "%.0f 1048576 linear /dev/vdc %d\n",
				i * 1048576, i ? 2097152 : 0
	}' | dmsetup create big && dmsetup mknodes big
}
# wr MIB_OFFSET MIB: a pattern written dirty, with fsync.
wr() {
	pattern_mib "w$1" "$2" > /tmp/w
	dd if=/tmp/w of=/dev/bcache0 bs=1M seek="$1" conv=fsync,notrunc \
		2>/dev/null
}

check "a 2 TiB dm device over vdc" big_up || return
check "make-bcache -C vdb -B big (writeback)" \
	cs_make $C /dev/mapper/big --writeback
check "module loads" load_bcache
check "register cache and backing device" cs_up $C /dev/mapper/big || return
echo 0 > $SYS/writeback_running
MID=$((TIB / 2048))		# MiB
check "2 MiB dirty at the start" wr 1 2
mid() {
	pattern_mib m 1 > /tmp/m
	dd if=/tmp/m of=/dev/bcache0 bs=512k seek=$((MID * 2 - 1)) \
		conv=fsync,notrunc 2>/dev/null
}
check "1 MiB dirty across the middle" mid
check "3 MiB dirty near the end" wr $((SECTORS / 2048 - 8)) 3
BEFORE=$(cat $SYS/dirty_data)
echo "### dirty_data before the stop: $BEFORE"
check_eq "dirty_data equals the btree's dirty keys" "$(bc_dump_dirty)" "$BEFORE"
check "stop the set" cs_stop
[ -e /sys/block/bcache0 ] && bc_stop bcache0
check "register both again" cs_up $C /dev/mapper/big
echo 0 > $SYS/writeback_running
sleep 2
check_eq "after registering: dirty_data equals the btree's dirty keys" \
	"$(bc_dump_dirty)" "$(cat $SYS/dirty_data)"
check "stop the set" cs_stop
[ -e /sys/block/bcache0 ] && bc_stop bcache0
unload_bcache
dmsetup remove big
