# gc against foreground writes: random 4 KiB writethrough writes with fio
# verify while gc runs back to back, rewriting every node it visits
# (internal/gc_always_rewrite), so that inserts keep landing in nodes gc
# is replacing and the allocator keeps invalidating while the marks are
# being recounted. Every block must read back as written, through the
# cache, during and after. Runs against $BCMOD.
CNAME=bc_gcs
C=/dev/mapper/$CNAME
B=/dev/vda
BC=bcache0
FIO_ARGS="--filename=/dev/$BC --rw=randwrite --bs=4k --size=8M
	--io_size=512k --direct=1 --ioengine=libaio --iodepth=16
	--verify=crc32c --randrepeat=1"

# The writes, verified as they go, with a gc triggered every 0.2 s.
writes_during_gc() {
	local set pid rc
	set=$(cs_dir)
	echo 1 > "$set/internal/gc_always_rewrite"
	# shellcheck disable=SC2086
	fio --name=w $FIO_ARGS --verify_backlog=512 > /tmp/gcs.out 2>&1 &
	pid=$!
	while kill -0 $pid 2>/dev/null; do
		echo 1 > "$set/internal/trigger_gc"
		sleep 0.2
	done
	wait $pid
	rc=$?
	echo 0 > "$set/internal/gc_always_rewrite"
	[ $rc = 0 ] || grep -i "verify\|error" /tmp/gcs.out | head -n 5
	return $rc
}

check "a 512 MiB cache device (dm-linear on vdb)" dm_small $CNAME /dev/vdb 512
check "make-bcache with 512 KiB buckets" cs_make $C $B --bucket 512k
check "module loads" load_bcache
check "register cache and backing device" cs_up $C $B || return
check "512 KiB of verified random writes while gc rewrites the tree" \
	writes_during_gc
# shellcheck disable=SC2086
check "all of it reads back as written" fio --name=w $FIO_ARGS --verify_only=1
check "stop the set" cs_stop
[ -e /sys/block/$BC ] && bc_stop $BC
unload_bcache
check "dm device removed" dmsetup remove $CNAME
