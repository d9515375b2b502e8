# Journal keys the btree must never take, against ours: a jset whose
# checksum is right but which holds one bad extent key (appended to the
# newest jset by sbedit --jset-add-key): no size, a start before sector 0,
# seven pointers (72 bytes, more than a padded key holds), a pointer past
# the end of the cache, a pointer below first_bucket. Replay drops the key
# and says why; the set comes up and serves everything else, with no
# splat. The kernel's 6.12 bcache skips such a key when marking but
# inserts it at replay: a warning and a set that never registers again
# (no size), or a write outside the bucket array (KASAN) for the
# pointers. The cache is a 32 MiB dm-linear device whose image is kept on
# vdc and put back after each case.
wipe /dev/vdb
check "a 32 MiB cache device (dm-linear on vdb)" dm_small bc_jkey /dev/vdb 32
C=/dev/mapper/bc_jkey B=/dev/vda
check "make-bcache -C -B, 32 KiB buckets (1024 of them)" \
	cs_make $C $B --bucket 32k
check "module loads" load_bcache
check "register cache and backing device" cs_up $C $B || return
pattern_mib jkey 4 > /tmp/jkey
SUM=$(md5sum < /tmp/jkey | cut -d' ' -f1)
dd if=/tmp/jkey of=/dev/bcache0 bs=1M seek=8 oflag=direct 2>/dev/null
check "stop the set" cs_stop
[ -e /sys/block/bcache0 ] && bc_stop bcache0
check "the devices are released" wait_released $C
check "the cache image is saved on vdc" image_save $C 32
NB=$(sbedit $C --show | sed -n 's/^nbuckets //p')
# A sector inside a bucket the set does use (bucket 100), for the cases
# whose key is bad in some other way.
GOOD=$((100 * 64))

logged() { dmesg_after "$1" | grep -Eq "$2"; }

# bad_key NAME SPEC REASON: the newest jset gains key SPEC; the set must
# come up without it, saying REASON, and serve the data.
bad_key() {
	local name=$1 spec=$2 reason=$3
	kmsg_mark "$name"
	check "$name: sbedit --jset-add-key $spec" sbedit $C --jset-add-key "$spec"
	check "$name: the set comes up" cs_up $C $B || return
	check "$name: the key is dropped, saying why" \
		logged "$name" "dropping key .*$reason"
	drop_caches
	check_eq "$name: the data reads back" "$SUM" \
		"$(mib_sum /dev/bcache0 8 4)"
	check "$name: stop the set" cs_stop
	[ -e /sys/block/bcache0 ] && bc_stop bcache0
	wait_released $C
	image_put_back $C 32
}

bad_key zero_size "0:4096:0:1:$GOOD:0" 'zero size'
bad_key before_zero "0:4:8:1:$GOOD:0:dirty" 'before sector 0'
bad_key ptrs7 "0:4096:8:7:$GOOD:0" 'too many pointers'
bad_key past_end "0:4096:8:1:$((NB * 64 + 64)):0:dirty" 'past end'
bad_key below_first "0:4096:8:1:8:0" 'short offset'

unload_bcache
check "dm device removed" retry 10 dmsetup remove bc_jkey
