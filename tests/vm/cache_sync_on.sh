# `synchronous` turned off, then on again, then the cache as a crash would
# leave it. While it is off nothing is journaled, so the keys of writes
# made then live only in btree nodes in memory (written 30 s later).
# Turning it on writes the superblock with CACHE_SYNC, which tells the
# next registration to trust the journal and the btree on disk: they must
# first describe the cache as it is. The set caches 4 MiB of pattern
# "one", synchronous goes off, "two" is written over it (write-through:
# vda gets "two" too), synchronous goes on, and a second later the cache
# device is copied to vdc as it stands: what a power cut then would
# leave. The set stops, the copy goes back, the set registers and replays
# its journal, and the range must read "two". The kernel's bcache (6.12)
# writes the superblock before the btree and the journal name the new
# keys: after a power cut right after it, the replay brought the old
# ones back (bcache0 read "one"); in this copy the set does not even
# register, since a btree node's bucket was reused for data while the
# prios on disk said otherwise ("unsupported bset version"). The
# scenario says what happened when run against it. The cache is a
# 16 MiB dm-linear device. Runs against $BCMOD.
MIB=16
B=/dev/vda
AT=16		# MiB of bcache0
LEN=4
SYS=/sys/block/bcache0/bcache

put_pattern() {
	pattern_mib "$1" $LEN > /tmp/p
	dd if=/tmp/p of=/dev/bcache0 bs=1M seek=$AT oflag=direct conv=fsync \
		2>/dev/null
}
sum_of() { pattern_mib "$1" $LEN | md5sum | cut -d' ' -f1; }

wipe /dev/vdb
check "a 16 MiB cache device (dm-linear on vdb)" dm_small bc_sync /dev/vdb $MIB
C=/dev/mapper/bc_sync
check "make-bcache -C -B, 16 KiB buckets" cs_make $C $B --bucket 16k
check "module loads" load_bcache
check "register cache and backing device" cs_up $C $B || return
echo 0 > $SYS/sequential_cutoff
CS=$(cs_dir)
check "pattern one written through the cache" put_pattern one
check "synchronous off" sh -c "echo 0 > $CS/synchronous"
check_eq "synchronous reads 0" 0 "$(cat "$CS/synchronous")"
check "pattern two written over it" put_pattern two
check "synchronous on" sh -c "echo 1 > $CS/synchronous"
sleep 1
check "the cache device, as a crash would leave it, copied to vdc" \
	image_save $C $MIB
check "stop the set" cs_stop
[ -e /sys/block/bcache0 ] && bc_stop bcache0
check "the backing device is released" wait_released $B
check "the copy goes back" image_put_back $C $MIB

kmsg_mark sync-on
TWO=$(sum_of two)
check_eq "vda holds pattern two" "$TWO" \
	"$(sect_sum $B $((AT * 2048 + 16)) $((LEN * 2048)))"
if testing_ref; then
	if ! cs_up $C $B; then
		what="does not register: $(dmesg_after sync-on | grep -m1 error)"
	else
		drop_caches
		case $(mib_sum /dev/bcache0 $AT $LEN) in
		"$TWO") what="reads pattern two" ;;
		"$(sum_of one)") what="reads pattern one" ;;
		*) what="reads neither pattern" ;;
		esac
	fi
	echo "### the kernel's bcache after the crash: $what"
	retry 30 stop_everything
	unload_bcache
	retry 10 dmsetup remove bc_sync
	return
fi
check "register cache and backing device again" cs_up $C $B || return
replayed() { dmesg_after sync-on | grep -q 'journal replay'; }
check "the journal was replayed" replayed
check_eq "synchronous is on" 1 "$(cat "$(cs_dir)/synchronous")"
drop_caches
check_eq "bcache0 reads pattern two, not the old cached data" \
	"$TWO" "$(mib_sum /dev/bcache0 $AT $LEN)"
check "stop the set" cs_stop
[ -e /sys/block/bcache0 ] && bc_stop bcache0
unload_bcache
check "dm device removed" retry 10 dmsetup remove bc_sync
