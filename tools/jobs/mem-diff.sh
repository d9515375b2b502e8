# Diagnosis (not a test): where the kernel memory of a registered cache set
# goes, ours against the kernel's bcache. For each: slab caches that grew
# (bytes, from /proc/slabinfo: only the debug kernel has it), vmalloc
# areas that appeared (/proc/vmallocinfo, with their callers) and what
# changed in /proc/meminfo, across a register of a full 512 MiB set with
# 512 KiB buckets. Run it on the perf kernel too: vm.sh -f perf.
slab_bytes() {
	[ -r /proc/slabinfo ] || return 0
	awk 'NR > 2 { print $1, $3 * $4 }' /proc/slabinfo | sort
}
meminfo() { cat /proc/meminfo; }
vm_areas() { awk '{ print $2, $3 }' /proc/vmallocinfo | sort; }

one() {
	who=$1
	bench_set_make
	if [ "$who" = ours ]; then load_ours; else load_ref; fi
	# Filled full, as the benchmark's set (bench-cache.sh), then
	# registered afresh.
	bench_set_up
	cs_tune bcache0
	fio --name=fill --filename=/dev/bcache0 --rw=write --bs=1M --size=900M \
		--direct=1 --ioengine=libaio --iodepth=4 > /dev/null 2>&1
	unload_bcache
	if [ "$who" = ours ]; then load_ours; else load_ref; fi
	sync; echo 3 > /proc/sys/vm/drop_caches
	sleep 1
	slab_bytes > /tmp/s0; vm_areas > /tmp/v0; meminfo > /tmp/m0
	bench_set_up
	sleep 3
	slab_bytes > /tmp/s1; vm_areas > /tmp/v1; meminfo > /tmp/m1
	awk -v w="$who" 'NR == FNR { b[$1] = $2; next }
		$2 != b[$1] { printf "MEM %s meminfo %-16s %8d kB\n", w, $1, $2 - b[$1] }' \
		/tmp/m0 /tmp/m1
	awk -v w="$who" 'NR == FNR { b[$1] = $2; next }
		$2 - b[$1] >= 2048 {
			printf "MEM %s slab %-24s %8d\n", w, $1, $2 - b[$1] }' \
		/tmp/s0 /tmp/s1
	awk -v w="$who" 'NR == FNR { b[$0]++; next }
		!b[$0]-- { printf "MEM %s vmalloc %8d %s\n", w, $1, $2 }' \
		/tmp/v0 /tmp/v1
	unload_bcache
}
one ours
one ref
check_ok "memory diff ran"
