# Diagnosis (not a test): every request a registration (the cache, then
# the backing device) sends to the disks, ours against the kernel's
# bcache, on the same full set.
# Run by tools/reg-io.sh, which has QEMU trace the virtio-blk requests:
# a one-sector direct read of vdc at sector MARK brackets each
# registration, so the host's trace can be cut at those reads.
marker() { dd if=/dev/vdc of=/dev/null bs=512 skip="$(( $1 * 8 ))" count=1 iflag=direct 2>/dev/null; }
bench_set_make
load_ours
bench_set_up
cs_tune bcache0
fio --name=fill --filename=/dev/bcache0 --rw=write --bs=1M --size=956M \
	--direct=1 --ioengine=libaio --iodepth=4 > /dev/null 2>&1
unload_bcache
k=0
for who in ours ref ours ref; do
	k=$((k + 1))
	"load_$who"
	sync; echo 3 > /proc/sys/vm/drop_caches
	marker $((1000 + k))
	bench_set_up
	marker $((2000 + k))
	echo "REGIO $k $who"
	sleep 2
	marker $((3000 + k))
	unload_bcache
done
check_ok "registrations traced"
