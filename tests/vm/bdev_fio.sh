# Data integrity of I/O through a backing device with no cache, checked by
# fio's own verification: random 4 KiB writes, mixed sizes from 512 B to
# 128 KiB, flush and FUA (fsync, O_SYNC), and discard.
# Runs against $BCMOD (ours or ref).
DEV=/dev/vda
BC=/dev/bcache0
wipe $DEV
make-bcache -B $DEV > /dev/null
check "module loads" load_bcache
check "register $DEV" bc_register $DEV
check "bcache0 appears" wait_for $BC

# run_fio WHAT fio-args...: one check from fio's exit status; a verify
# mismatch or an I/O error makes fio exit non-zero.
run_fio() {
	what=$1
	shift
	check "$what" fio --name=bdev --filename=$BC --direct=1 \
		--output-format=terse --verify=crc32c --do_verify=1 \
		--verify_fatal=1 --randrepeat=0 "$@"
}

run_fio "fio random 4 KiB writes, 16 deep, verified" \
	--rw=randwrite --bs=4k --ioengine=io_uring --iodepth=16 \
	--offset=0 --size=16M --runtime=6
run_fio "fio random writes of 512 B - 128 KiB, verified" \
	--rw=randwrite --bsrange=512-128k --blockalign=512 --ioengine=psync \
	--offset=64M --size=16M --runtime=5
run_fio "fio writes with an fsync every 16, verified" \
	--rw=randwrite --bs=4k --ioengine=psync --fsync=16 \
	--offset=128M --size=2M --runtime=3
run_fio "fio O_SYNC (FUA) writes, verified" \
	--rw=write --bs=16k --ioengine=psync --sync=1 \
	--offset=192M --size=4M --runtime=3
# The writes really reached vda, where bcache0 said they were.
check_eq "bcache0 and vda agree on the fio region" \
	"$(sect_sum $BC 0 4096)" "$(sect_sum $DEV 16 4096)"

# Discard: bcache passes it down when the backing device takes it. Whether
# a discarded range then reads as zeroes is the backing device's business
# (QEMU ignores discards unless told discard=unmap), so learn that on a
# scratch range of vda first.
if [ "$(cat /sys/block/vda/queue/discard_max_bytes)" = 0 ]; then
	check_ok "discard (no discard on backing)"
else
	check_eq "bcache0 advertises discard like its backing device" \
		1 "$([ "$(cat /sys/block/bcache0/queue/discard_max_bytes)" != 0 ] && echo 1)"
	pattern disc > /tmp/pd
	put_at /tmp/pd $DEV 3000000
	blkdiscard -o $((3000000 * 512)) -l 65536 $DEV
	if [ "$(sect_sum $DEV 3000000 128)" = "$(head -c 65536 /dev/zero | md5sum | cut -d' ' -f1)" ]; then
		zeroes=yes
	else
		zeroes=no
	fi
	put_at /tmp/pd $BC 2048
	check "blkdiscard of 64 KiB of bcache0 succeeds" \
		blkdiscard -o $((2048 * 512)) -l 65536 $BC
	if [ $zeroes = yes ]; then
		check_eq "the discarded range reads as zeroes" \
			"$(head -c 65536 /dev/zero | md5sum | cut -d' ' -f1)" \
			"$(sect_sum $BC 2048 128)"
	else
		check_ok "the discarded range reads as zeroes (skipped: vda does not zero discarded ranges)"
	fi
	check_eq "bcache0 and vda agree after the discard" \
		"$(sect_sum $DEV $((2048 + 16)) 128)" "$(sect_sum $BC 2048 128)"
	check "blkdiscard of the whole of bcache0 succeeds" blkdiscard $BC
fi

check "stop" bc_stop bcache0
check "module unloads" rmmod bcache
