# Corrupt cache-set metadata, one piece at a time, on a stopped set: the
# newest journal entry, the whole journal, the btree root, the prio
# bucket, the uuid table, and superblock fields with a valid checksum.
# Each time registering must fail cleanly (or, where the driver can fall
# back, succeed on older metadata), log why, leave no half-built set, no
# splat, no hang; and once the original bytes are back the set registers
# again. The cache is a 64 MiB dm-linear device (1024 buckets: the kernel
# refuses 512 or fewer) whose whole image is kept on vdc and copied back
# between cases (image_save, image_put_back). Runs against $BCMOD.
B=/dev/vda
MIB=64
wipe /dev/vdb
check "a 64 MiB cache device (dm-linear on vdb)" dm_small bc_meta /dev/vdb $MIB
C=/dev/mapper/bc_meta
check "make-bcache -C -B, 64 KiB buckets (1024 of them)" cs_make $C $B --bucket 64k
UUID=$(cs_uuid_of $C)
SET=/sys/fs/bcache/$UUID
check "module loads" load_bcache
check "register cache and backing device" cs_up $C $B
pattern_mib meta 4 > /tmp/meta
SUM=$(md5sum < /tmp/meta | cut -d' ' -f1)
dd if=/tmp/meta of=/dev/bcache0 bs=1M seek=8 conv=fsync 2>/dev/null
drop_caches
check_eq "data written through the cache reads back" "$SUM" "$(mib_sum /dev/bcache0 8 4)"
check "stop the set" cs_stop
[ -e /sys/block/bcache0 ] && bc_stop bcache0
check "the backing device is released" wait_released $B

# Where the metadata lives, from the newest journal entry.
sbedit $C --journal > /tmp/jinfo
check "sbedit finds the newest journal entry" test -s /tmp/jinfo
sed 's/^/### /' /tmp/jinfo
jget() { sed -n "s/^$1 //p" /tmp/jinfo; }
BUCKET=$(jget bucket_sectors)
check "the cache image is saved on vdc" image_save $C $MIB

# poke SECTOR BYTE_OFFSET COUNT: overwrite COUNT bytes with 0xff.
poke() {
	head -c "$3" /dev/zero | tr '\0' '\377' |
		dd of=$C bs=1 seek=$(( $1 * 512 + $2 )) conv=notrunc,fsync 2>/dev/null
}
logged() { dmesg_after "$1" | grep -Eqi "$2"; }
up_again() {
	retry 10 bc_register $C 2>/dev/null && wait_for "$SET" 20 && cs_stop
}
put_back() { image_put_back $C $MIB; }
# Every start moves the prios and the journal on: put the saved image
# back after the check too, so that each case corrupts what /tmp/jinfo
# describes.
restore() {
	[ -n "$(cs_dir)" ] && cs_stop
	put_back
	check "$1: with its bytes restored the set registers again" up_again
	wait_released $C
	put_back
}
# refused NAME REGEX: registering fails, REGEX is in the log, no set.
refused() {
	check_not "$1: register is refused" bc_register $C
	check "$1: no cache set is left behind" retry 20 no_set
	check "$1: the reason is logged" logged "$1" "$2"
}

# --- the newest journal entry: the driver may fall back to older ones ---
kmsg_mark jset
poke "$(jget jset_sector)" 16 8
if bc_register $C 2>/dev/null; then
	check_ok "jset: registers from older journal entries"
	check "jset: the set is up" wait_for "$SET" 20
else
	check_ok "jset: register is refused"
	check "jset: no cache set is left behind" retry 20 no_set
fi
check "jset: the bad checksum is logged" logged jset 'csum|checksum'
restore jset

# --- every journal bucket zeroed: nothing to start from ---
kmsg_mark journal
for b in $(jget journal_buckets); do
	dd if=/dev/zero of=$C bs=512 seek=$((b * BUCKET)) count="$BUCKET" \
		conv=notrunc,fsync 2>/dev/null
done
refused journal 'journal'
restore journal

# --- a hole: the newest jset names jsets in a journal bucket that reads
# back zeroes, what a discard of a bucket still needed leaves (ours did
# that on a clean stop). Refused before the set starts anything that
# writes: a prio write (with its jset) would make the journal look
# complete next time, and the set would come up without the hole's keys.
dev_sum() { dd if=$C bs=1M iflag=direct 2>/dev/null | md5sum; }
first_jb=$(jget journal_buckets | cut -d' ' -f1)
if [ "$first_jb" != "$(( $(jget jset_sector) / BUCKET ))" ]; then
	kmsg_mark hole
	check "hole: the newest jset names seq 1 on" \
		sbedit $C --jset-last-seq 1
	dd if=/dev/zero of=$C bs=512 seek=$((first_jb * BUCKET)) \
		count="$BUCKET" conv=notrunc,fsync 2>/dev/null
	before=$(dev_sum)
	refused hole 'entries 1-[0-9]+ missing'
	check_eq "hole: the refused start wrote nothing" "$before" "$(dev_sum)"
	check_not "hole: a second try is refused too" bc_register $C
	check "hole: no cache set is left behind after it" retry 20 no_set
	restore hole
else
	echo "### hole: the newest jset is in the first journal bucket; skipped"
fi

# --- the btree root: bad magic, then a bad checksum in its first bset ---
kmsg_mark root_magic
poke "$(jget root_sector)" 8 8
refused root_magic 'btree|magic'
restore root_magic
kmsg_mark root_csum
poke "$(jget root_sector)" 0 8
refused root_csum 'btree|csum|checksum'
restore root_csum

# --- the prio bucket ---
kmsg_mark prio
poke "$(jget prio_sector)" 8 8
refused prio 'prio'
restore prio

# --- the uuid table: no checksum protects it; garbage in entry 0 (an
# absurd flash-only volume) must not become a device ---
kmsg_mark uuid
poke "$(jget uuid_sector)" 0 128
if bc_register $C 2>/dev/null; then
	check_ok "uuid: registers (the table has no checksum)"
	sleep 2
	check_eq "uuid: no bcache device from the garbage entry" 0 "$(bc_count)"
else
	check_ok "uuid: register is refused"
	check "uuid: no cache set is left behind" retry 20 no_set
fi
restore uuid

# --- superblock fields, checksum fixed up ---
sb_case() {
	name=$1 regex=$2
	shift 2
	kmsg_mark "$name"
	check "$name: sbedit $*" sbedit $C "$@"
	refused "$name" "$regex"
	restore "$name"
}
NB=$(sbedit $C --show | sed -n 's/^nbuckets //p')
sb_case sb_version 'version' version=99
sb_case sb_nbuckets_huge 'small|bucket' nbuckets=$((NB * 64))
sb_case sb_nbuckets_few 'bucket' nbuckets=64
sb_case sb_block_size 'block' block_size=3
sb_case sb_bucket_size 'bucket' bucket_size=4
# More keys than d[] holds: the checksum no longer covers them right.
sb_case sb_journal_many 'journal|checksum|csum' keys=300
sb_case sb_journal_order 'journal' journal1=0
sb_case sb_first_bucket 'bucket|super|journal' first_bucket=0
sb_case sb_dev_number 'number|dev' nr_this_dev=3
if testing_ref; then
	# The kernel's allocator spins forever on it (a soft lockup).
	echo "### sb_replacement: skipped under ref (it hangs the allocator)"
else
	sb_case sb_replacement 'replacement|policy' replacement=3
fi

# --- and the data survived all of it ---
wait_released $C
check "register cache and backing device" cs_up $C $B
drop_caches
check_eq "the data reads back at the end" "$SUM" "$(mib_sum /dev/bcache0 8 4)"
check "stop the set" cs_stop
[ -e /sys/block/bcache0 ] && bc_stop bcache0
unload_bcache
check "dm device removed" retry 10 dmsetup remove bc_meta
