# Registering a backing device with no cache: /dev/bcacheN appears, maps
# its sectors onto the backing device after data_offset, refuses a second
# registration, and stops cleanly, leaving the data where it was.
# Runs against $BCMOD (ours or ref).
DEV=/dev/vda
wipe $DEV
check "make-bcache -B $DEV" make-bcache -B $DEV
check "module loads" load_bcache

check "register $DEV succeeds" bc_register $DEV
check "/dev/bcache0 appears" wait_for /dev/bcache0
BC=$(bc_name_of vda)
check_eq "the device is named bcache0" bcache0 "$BC"

vda_sz=$(blockdev --getsz $DEV)
check_eq "bcache0 size is backing size minus data offset 16" \
	$((vda_sz - 16)) "$(blockdev --getsz /dev/bcache0)"
check "/sys/block/vda/bcache exists" test -d /sys/block/vda/bcache
check_eq "/sys/block/bcache0/bcache points to /sys/block/vda/bcache" \
	"$(readlink -f /sys/block/vda/bcache)" \
	"$(readlink -f /sys/block/bcache0/bcache)"

# Writes through bcache0 land at the same offset + 16 on vda, at a few
# places including the first and the last 64 KiB.
pattern reg-a > /tmp/pa
want=$(md5sum < /tmp/pa | cut -d' ' -f1)
last=$(( (vda_sz - 16) - 128 ))
for s in 0 8 4096 1000000 $last; do
	put_at /tmp/pa /dev/bcache0 $s
	check_eq "64 KiB written via bcache0 at sector $s is on vda at $((s + 16))" \
		"$want" "$(sect_sum $DEV $((s + 16)) 128)"
done

# And the other way round: what is on vda at 16 + s reads back via bcache0.
pattern reg-b > /tmp/pb
want_b=$(md5sum < /tmp/pb | cut -d' ' -f1)
put_at /tmp/pb $DEV $((2048 + 16))
check_eq "64 KiB written to vda at sector 2064 reads back via bcache0 at 2048" \
	"$want_b" "$(sect_sum /dev/bcache0 2048 128)"

check_not "registering $DEV again fails" bc_register $DEV
sleep 1
check_not "no bcache1 appears" test -e /sys/block/bcache1
check "register_quiet of $DEV again is silently accepted" bc_register_quiet $DEV
sleep 1
check_eq "still exactly one bcache device" 1 "$(bc_count)"

check_not "vda is held: an exclusive open (dm-linear over it) fails" excl_open $DEV

sum_before=$(sect_sum /dev/bcache0 0 8192)
check "stop via /sys/block/bcache0/bcache/stop" bc_stop bcache0
check_not "/dev/bcache0 is gone" test -e /dev/bcache0
check_not "/sys/block/vda/bcache is gone" test -e /sys/block/vda/bcache
check "vda is released: an exclusive open succeeds (within 10 s)" wait_released $DEV

check "re-register $DEV" bc_register $DEV
check "the device comes back" wait_for /sys/block/vda/bcache/dev
BC=$(bc_name_of vda)
check_eq "the first 4 MiB are unchanged after stop and re-register" \
	"$sum_before" "$(sect_sum /dev/$BC 0 8192)"
check "stop it again" bc_stop "$BC"

# Version 4 superblock with its own data offset.
wipe $DEV
check "make-bcache -B -o 2048 $DEV" make-bcache -B -o 2048 $DEV
check_eq "the superblock is version 4" "version 4" \
	"$(sbedit $DEV --show | grep '^version ')"
check "register the version 4 device" bc_register_retry $DEV
check "its bcache device appears" wait_for /sys/block/vda/bcache/dev
BC=$(bc_name_of vda)
check_eq "its size is backing size minus 2048" \
	$((vda_sz - 2048)) "$(blockdev --getsz /dev/$BC)"
put_at /tmp/pa /dev/$BC 0
check_eq "sector 0 of $BC is sector 2048 of vda" \
	"$want" "$(sect_sum $DEV 2048 128)"
put_at /tmp/pb /dev/$BC 100
check_eq "sector 100 of $BC is sector 2148 of vda" \
	"$want_b" "$(sect_sum $DEV 2148 128)"
check "stop the version 4 device" bc_stop "$BC"
check "module unloads" rmmod bcache
