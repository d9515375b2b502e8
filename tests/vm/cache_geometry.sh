# Cache geometries at the edges of what make-bcache accepts, against ours.
# A bucket of one block (--block 4k --bucket 4k) is refused at
# registration with a reason: under the kernel's 6.12 bcache the first
# read miss splits a one-block root node, whose split point lies past its
# only key, and memory is overwritten (an oops, or a panic later). Two
# blocks to a bucket (4 KiB blocks, 8 KiB buckets) run and keep their
# data across a restart. The fewest buckets registration takes (513) of
# 4 KiB blocks in the default 512 KiB buckets, and of 4 KiB buckets with
# 512-byte blocks, take 8 writers that fsync every 4 KiB write with no
# hung task: node splits draw on a btree reserve sized as the kernel's
# 6.16 sizes it (32 buckets here, 4 before), a new root's commit may use
# the journal's reserved bucket, and reclaim also flushes a dirty root
# leaf. Every byte written before reads back, also after a restart.
# geosoak=SECS on the kernel command line runs the writers for SECS
# seconds in both (scripts/soak.sh; the test command runs 12 and 8).
B=/dev/vda
SOAK=$(sed -n 's/.*geosoak=\([0-9]*\).*/\1/p' /proc/cmdline)
C=/dev/mapper/bc_geo

check "a 8 MiB cache device (dm-linear on vdb)" dm_small bc_geo /dev/vdb 8
check "make-bcache --block 4k --bucket 4k" cs_make $C $B --block 4k \
	--bucket 4k
check "module loads" load_bcache
logged() { dmesg_after "$1" | grep -q "$2"; }
kmsg_mark one_block
check_not "a bucket of one block is refused" bc_register $C
check "saying why" logged one_block 'a bucket must hold two blocks or more'
check "no set was left behind" test -z "$(cs_dir)"
check "dm device removed" retry 10 dmsetup remove bc_geo

pattern_mib geo 2 > /tmp/geo
SUM=$(md5sum < /tmp/geo | cut -d' ' -f1)

# geometry NAME BLOCK BUCKET BUCKET_SECTORS NBUCKETS SECONDS: a cache
# device of exactly NBUCKETS buckets, SECONDS of fsync-heavy writers.
geometry() {
	local name=$1 block=$2 bucket=$3 nb=$5 secs=$6
	local sectors=$(( $4 * $5 ))

	wipe /dev/vdb
	check "$name: a cache device of $sectors sectors" \
		dm_create bc_geo "0 $sectors linear /dev/vdb 0"
	check "$name: make-bcache --block $block --bucket $bucket" \
		cs_make $C $B --block $block --bucket $bucket
	check "$name: register" cs_up $C $B || return
	check_eq "$name: $nb buckets" "$nb" \
		"$(cat "$(cs_dir)/cache0/nbuckets")"
	check "$name: 2 MiB written" dd if=/tmp/geo of=/dev/bcache0 bs=4k \
		oflag=direct conv=fsync
	[ "$secs" = 0 ] ||
		check "$name: 8 writers fsync every 4 KiB, $secs s" fio \
			--name=geo --filename=/dev/bcache0 --rw=randwrite \
			--bs=4k --offset=8M --size=24M --numjobs=8 --fsync=1 \
			--ioengine=psync --direct=1 --time_based \
			--runtime="$secs" --output=/dev/null
	check_no_splat
	drop_caches
	check_eq "$name: the 2 MiB read back" "$SUM" \
		"$(mib_sum /dev/bcache0 0 2)"
	check "$name: stop the set" cs_stop
	[ -e /sys/block/bcache0 ] && bc_stop bcache0
	wait_released $C
	check "$name: register again" cs_up $C $B || return
	check_eq "$name: the 2 MiB read back after the restart" "$SUM" \
		"$(mib_sum /dev/bcache0 0 2)"
	check "$name: stop the set again" cs_stop
	[ -e /sys/block/bcache0 ] && bc_stop bcache0
	wait_released $C
	check "$name: dm device removed" retry 10 dmsetup remove bc_geo
}

geometry two_blocks 4k 8k 16 640 0
geometry small_4k 4k 512k 1024 513 "${SOAK:-12}"
geometry fewest 512 4k 8 513 "${SOAK:-8}"

unload_bcache
