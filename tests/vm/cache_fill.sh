# A cache much smaller than the data written through it: 24 MiB of random
# writes (4-64 KiB, fio-verified) go through a 12 MiB cache in
# writethrough mode, so the allocator has to invalidate and reuse buckets
# over and over and gc runs to find them. Everything must verify,
# nothing may hang, and the set must stay up. Runs against $BCMOD.
wipe /dev/vdb
wipe /dev/vda
check "a 12 MiB cache device (dm-linear on vdb)" dm_small bc_fcache /dev/vdb 12
check "a 1.5 GiB backing device (dm-linear on vda)" dm_small bc_fback /dev/vda 1536
C=/dev/mapper/bc_fcache
B=/dev/mapper/bc_fback
check "make-bcache -C -B, 16 KiB buckets (768: the kernel refuses 512 or fewer)" cs_make $C $B --bucket 16k
check "module loads" load_bcache
check "register cache and backing device" cs_up $C $B
BC=bcache0
SET=$(cs_dir)
check_eq "writethrough mode" "[writethrough] writeback writearound none" \
	"$(cat /sys/block/$BC/bcache/cache_mode)"

# run_fio WHAT fio-args...: one check from fio's exit status; fio exits
# non-zero on any verify mismatch or I/O error.
run_fio() {
	what=$1
	shift
	check "$what" fio --name=fill --filename=/dev/$BC --direct=1 \
		--ioengine=libaio --iodepth=16 --bsrange=4k-64k --blockalign=4k \
		--verify=crc32c --verify_fatal=1 --randseed=4242 \
		--offset=0 --size=24M "$@"
}
# A short backlog (~4 MiB) re-reads blocks the cache still holds.
run_fio "24 MiB of random writes, checked as they go and at the end" \
	--rw=randwrite --do_verify=1 --verify_backlog=128
echo "### after fill: avail=$(cat "$SET/cache_available_percent") written=$(cat "$SET/cache0/written") btree_nodes=$(cat "$SET/internal/btree_nodes") gc_ms=$(cat "$SET/internal/btree_gc_average_duration_ms") hits=$(bc_stat $BC cache_hits) misses=$(bc_stat $BC cache_misses)"
check "the set is still registered" test -d "$SET"
check "bcache0 is still attached" bc_attached $BC
check "gc has run" sh -c "[ \"\$(cat $SET/internal/btree_gc_average_duration_ms)\" -gt 0 ] || [ \"\$(cat $SET/internal/btree_gc_last_sec)\" -lt 300 ]"

written_mib() {
	# cache0/written is human-readable (e.g. 1.2G); scale it to MiB.
	awk '{ v = $1 + 0; u = substr($1, length($1));
	       if (u == "G") v *= 1024; else if (u == "k") v /= 1024;
	       else if (u != "M") v /= 1048576; print int(v) }' "$SET/cache0/written"
}
check "the cache took one and a half times its size in writes" \
	[ "$(written_mib)" -gt 18 ]
check "reads hit the cache at some point" wait_stat_above $BC cache_hits 0
check "no I/O errors logged" sh -c "! dmesg | grep -Ei 'bcache.*(error|fail)'"
check "the set is still registered at the end" test -d "$SET"

check "stop the set" cs_stop
[ -e /sys/block/$BC ] && bc_stop $BC
unload_bcache
check "dm devices removed" sh -c "dmsetup remove bc_fcache && dmsetup remove bc_fback"
