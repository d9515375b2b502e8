# Diagnosis (not a test): where the time of registering a full 512 MiB
# cache set goes, ours against the kernel's bcache. Markers written to
# /dev/kmsg around each step carry printk's nanosecond timestamps, so the
# kernel log between them shows each driver's messages on one clock.
mark() { echo "REGMARK $*" > /dev/kmsg; }

one() {
	who=$1
	bench_set_make
	if [ "$who" = ours ]; then load_ours; else load_ref; fi
	bench_set_up
	echo 0 > /sys/block/bcache0/bcache/sequential_cutoff
	fio --name=fill --filename=/dev/bcache0 --rw=write --bs=1M --size=900M \
		--direct=1 --ioengine=libaio --iodepth=4 > /dev/null 2>&1
	for n in 1 2 3; do
		unload_bcache
		if [ "$who" = ours ]; then load_ours; else load_ref; fi
		sync; echo 3 > /proc/sys/vm/drop_caches
		dmesg -c > /dev/null
		mark "$who $n begin"
		echo /dev/mapper/cache512 > /sys/fs/bcache/register
		mark "$who $n cache registered"
		echo /dev/vda > /sys/fs/bcache/register
		mark "$who $n backing registered"
		wait_for /dev/bcache0
		sleep 1
		dmesg | sed 's/^/TRACE /'
	done
	unload_bcache
}

for d in vdb:512 vda:1280; do
	fio --name=touch --filename=/dev/${d%:*} --rw=write --bs=1M \
		--size=${d#*:}M --direct=1 --ioengine=libaio --iodepth=4 \
		> /dev/null 2>&1
done
one ours
one ref
check_ok "trace ran"
