# Pages are not slab objects: kmemleak does not see a leaked page, so
# this scenario counts them. Read misses are filled into the cache through
# bounce pages; 48 MiB of misses (and a pass over the first 16 MiB again,
# which hits) and a stop must give back to the kernel what they took. A
# leak of the fills' pages would keep about as much as was read. Runs
# against $BCMOD.
C=/dev/vdb
B=/dev/vda
BC=bcache0

mem_free_kb() {
	drop_caches
	awk '/^MemFree:/ { print $2 }' /proc/meminfo
}
reads() {	# reads OFFSET_MIB: 16 MiB of 64 KiB reads at QD 8
	fio --name=miss --filename=/dev/$BC --direct=1 --ioengine=libaio \
		--iodepth=8 --rw=read --bs=64k --offset="$1M" --size=16M \
		> /dev/null 2>&1
}

check "make-bcache -C vdb -B vda" cs_make $C $B
check "module loads" load_bcache
before=$(mem_free_kb)
check "register cache and backing device" cs_up $C $B || return
check "16 MiB of read misses" reads 0
check "the same 16 MiB again (hits)" reads 0
check "16 MiB more of read misses" reads 16
check "and 16 MiB more" reads 32
check "stop the set" cs_stop
[ -e /sys/block/$BC ] && bc_stop $BC
unload_bcache
after=$(mem_free_kb)
echo "### MemFree before=${before} kB after=${after} kB"
check "the kernel got its memory back (within 24 MiB)" \
	[ $((before - after)) -lt $((24 * 1024)) ]
