# Diagnosis (not a test): how much of a cached region writethrough random
# writes leave cached, ours against the kernel's bcache: 64 MiB written
# and warmed until cached, then 32768 random 4 KiB writes over it, then
# the region read back once; its reads of vda are the holes.
disk_reads() { awk '{ print $1 }' /sys/block/$1/stat; }
holes() {
	local b
	b=$(disk_reads vda)
	fio --name=r --filename=/dev/bcache0 --rw=read --bs=1M --size=64M \
		--direct=1 --ioengine=libaio --iodepth=1 > /dev/null 2>&1
	echo $(( $(disk_reads vda) - b ))
}
for who in ours ref ours ref; do
	bench_set_make
	if [ "$who" = ours ]; then load_ours; else load_ref; fi
	bench_set_up
	echo writethrough > /sys/block/bcache0/bcache/cache_mode
	set=$(cs_dir)
	cs_tune bcache0
	fio --name=fill --filename=/dev/bcache0 --rw=write --bs=1M --size=64M \
		--direct=1 --ioengine=libaio --iodepth=4 > /dev/null 2>&1
	for pass in 1 2 3 4 5 6 7 8 9 10; do
		h=$(holes)
		echo "HOLES $who warm $pass $h"
		[ "$h" -lt 5 ] && break
	done
	w0=$(awk '{ print $5 }' /sys/block/vdb/stat)
	fio --name=w --filename=/dev/bcache0 --rw=randwrite --bs=4k --size=64M \
		--io_size=128M --direct=1 --ioengine=libaio --iodepth=16 \
		--randrepeat=1 --norandommap > /dev/null 2>&1
	echo "HOLES $who vdb writes $(( $(awk '{ print $5 }' /sys/block/vdb/stat) - w0 ))"
	echo "HOLES $who after writes $(holes)"
	echo "HOLES $who after reread $(holes)"
	grep -H . "$set"/internal/btree_nodes "$set"/cache0/priority_stats 2>/dev/null | sed "s/^/HOLES $who /"
	unload_bcache
done
check_ok "ran"
