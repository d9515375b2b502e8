# Profile (not a test): the cache set of bench-cache under ours and under
# the kernel's bcache, with phases named on the console for
# scripts/profile.sh, which samples the vCPUs meanwhile.
RUNTIME=${PROFILE_RUNTIME:-20}

fio_phase() {	# fio_phase NAME RW BS SIZE [OFFSET]
	echo "PROFILE $who $1"
	fio --name=p --filename=/dev/bcache0 --rw="$2" --bs="$3" --iodepth=16 \
		--ioengine=libaio --direct=1 --runtime="$RUNTIME" --time_based \
		--size="$4" --offset="${5:-0}" --norandommap > /dev/null 2>&1
	echo "PROFILE idle"
}

for who in ours ref; do
	bench_set_make
	if [ "$who" = ours ]; then load_ours; else load_ref; fi
	echo "PROFILE-TEXT $who $(cat /sys/module/bcache/sections/.text)"
	bench_set_up
	# No bypass while filling: TCG's latencies would trip the congestion
	# bypass, and the fill is sequential.
	cs_tune bcache0
	fio --name=fill --filename=/dev/bcache0 --rw=write --bs=1M --size=256M \
		--direct=1 --ioengine=libaio --iodepth=4 > /dev/null 2>&1
	# 4 MiB, the default (the file takes a plain number).
	echo 4194304 > /sys/block/bcache0/bcache/sequential_cutoff
	fio_phase randread-hit randread 4k 256M
	fio_phase randwrite-wt randwrite 4k 256M
	fio_phase seqread-1m read 1M 1G 256M
	unload_bcache
done
check_ok "profile ran"
