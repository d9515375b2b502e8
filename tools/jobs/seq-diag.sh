# Diagnosis (not a test): the 1 MiB sequential read past the cutoff, ours
# against the kernel's bcache, on a fresh set and after a small fill, with
# the disk requests each run made (backing reads per 1 MiB request: 2.00
# means the disk's segment limit split them) and the stats.
fio_seq() {
	fio --name=b --filename=/dev/bcache0 --rw=read --bs=1M --iodepth=16 \
		--ioengine=libaio --direct=1 --runtime=10 --time_based \
		--size=1G --offset=256M --minimal 2>/dev/null |
	awk -F';' '{ print $8 }'
}

bench_disks_touch
echo "SEQ vda max_segments $(cat /sys/block/vda/queue/max_segments)" \
	"max_sectors_kb $(cat /sys/block/vda/queue/max_sectors_kb)"
for fill in 0 64; do
	for who in ref ours ref ours; do
		bench_set_make
		if [ "$who" = ours ]; then load_ours; else load_ref; fi
		bench_set_up
		echo writethrough > /sys/block/bcache0/bcache/cache_mode
		cs_tune bcache0
		if [ $fill != 0 ]; then
			fio --name=fill --filename=/dev/bcache0 --rw=write --bs=1M \
				--size=${fill}M --direct=1 --ioengine=libaio \
				--iodepth=4 > /dev/null 2>&1
			fio --name=w --filename=/dev/bcache0 --rw=randwrite --bs=4k \
				--size=${fill}M --io_size=32M --direct=1 \
				--ioengine=libaio --iodepth=16 --randrepeat=1 \
				--norandommap > /dev/null 2>&1
		fi
		echo 4194304 > /sys/block/bcache0/bcache/sequential_cutoff
		b=$(disk_ios)
		v=$(fio_seq)
		a=$(disk_ios)
		echo "$b $a" | awk -v w="$who" -v v="$v" -v f=$fill '{
			printf "SEQ fill=%s %s iops=%d vdb r%d w%d vda r%d w%d per req %.2f\n",
				f, w, v, $5 - $1, $6 - $2, $7 - $3, $8 - $4, ($7 - $3) / (v * 10) }'
		sleep 6	# the stats catch up
		for f in cache_hits cache_misses cache_bypass_hits cache_bypass_misses; do
			echo "SEQ   $who $f $(cat /sys/block/bcache0/bcache/stats_total/$f)"
		done
		unload_bcache
	done
done
check_ok "ran"
