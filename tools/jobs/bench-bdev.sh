# Benchmark (not a test): 4 KiB random reads and writes at QD 16 on the raw
# backing disk, through our /dev/bcache0 and through the kernel's, in one
# boot. Each measurement runs twice, interleaved; the host takes the best.
RUNTIME=${BENCH_RUNTIME:-15}

fio_iops() {	# fio_iops DEV RW  -> prints IOPS as a number
	fio --name=b --filename="$1" --rw="$2" --bs=4k --iodepth=16 \
		--ioengine=libaio --direct=1 --runtime="$RUNTIME" --time_based \
		--size=1G --randrepeat=1 --norandommap --group_reporting \
		--minimal 2>/dev/null |
	awk -F';' -v rw="$2" '{ print (rw == "randread") ? $8 : $49 }'
}

bench_target() {	# bench_target LABEL DEV
	for rw in randread randwrite; do
		echo "BENCH $1 $rw $(fio_iops "$2" "$rw")"
	done
}

setup_bcache() {	# setup_bcache ours|ref
	if [ "$1" = ours ]; then load_ours; else load_ref; fi
	echo /dev/vda > /sys/fs/bcache/register
	wait_for /dev/bcache0
	echo none > /sys/block/bcache0/bcache/cache_mode 2>/dev/null
}

wipe /dev/vda
make-bcache -B /dev/vda > /dev/null
# Fill the first GiB so reads hit allocated blocks in the sparse image.
dd if=/dev/zero of=/dev/vda bs=1M seek=1 count=1024 oflag=direct 2>/dev/null

for round in 1 2 3; do
	bench_target raw /dev/vda
	for mod in ours ref; do
		setup_bcache $mod
		bench_target $mod /dev/bcache0
		unload_bcache
	done
done
check_ok "benchmark ran"
