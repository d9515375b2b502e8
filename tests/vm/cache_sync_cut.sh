# vm: two boots (scripts/test.sh lists this scenario twice)
# `synchronous` turned off, then on again, then a power cut. While it is
# off nothing is journaled, so the keys of writes made then live only in
# btree nodes in memory. Turning it on writes the superblock with
# CACHE_SYNC, which tells the next registration to trust the journal and
# the btree on disk: they must first describe the cache as it is. Boot 1
# caches 4 MiB of pattern "one", turns synchronous off, writes "two" over
# it (write-through: vda gets "two" too), turns synchronous on and cuts
# the power at once. Boot 2 registers the set, which replays its journal,
# and reads the range: it must read "two". Under the kernel's bcache
# (6.12) it reads "one" from the cache: the superblock went out before
# the btree and the journal named the new keys, so the replay brought the
# old ones back.
# Runs against $BCMOD.
C=/dev/vdb
B=/dev/vda
NOTE=/dev/vdd
BC=bcache0
SYS=/sys/block/$BC/bcache
AT=16		# MiB of bcache0
MIB=4

put_pattern() {
	pattern_mib "$1" $MIB > /tmp/p
	dd if=/tmp/p of=/dev/$BC bs=1M seek=$AT oflag=direct conv=fsync \
		2>/dev/null
}

if ! note_read | grep -q '^sc1'; then
	# --- boot 1 ---
	note_write none
	check "make-bcache -C vdb -B vda" cs_make $C $B
	check "module loads" load_bcache
	check "register cache and backing device" cs_up $C $B || return
	echo 0 > $SYS/sequential_cutoff
	CS=$(cs_dir)
	check "pattern one written through the cache" put_pattern one
	check "synchronous off" sh -c "echo 0 > $CS/synchronous"
	check_eq "synchronous reads 0" 0 "$(cat "$CS/synchronous")"
	check "pattern two written over it" put_pattern two
	check "synchronous on" sh -c "echo 1 > $CS/synchronous"
	note_write sc1
	power_cut
fi

# --- boot 2 ---
check "boot 1 reached its cut" [ "$(note_read)" = sc1 ]
note_write done
cs_up_after_cut $C $B
CS=$(cs_dir)
check_eq "synchronous is still on" 1 "$(cat "$CS/synchronous")"
TWO=$(pattern_mib two $MIB | md5sum | cut -d' ' -f1)
check_eq "vda holds pattern two" "$TWO" \
	"$(sect_sum $B $((AT * 2048 + 16)) $((MIB * 2048)))"
drop_caches
got=$(mib_sum /dev/$BC $AT $MIB)
if testing_ref; then
	case $got in
	"$TWO") what=two ;;
	"$(pattern_mib one $MIB | md5sum | cut -d' ' -f1)") what=one ;;
	*) what=neither ;;
	esac
	echo "### the kernel's bcache reads pattern $what after the cut"
else
	check_eq "bcache0 reads pattern two, not the old cached data" \
		"$TWO" "$got"
fi
check "stop the set" cs_stop
[ -e /sys/block/$BC ] && bc_stop $BC
