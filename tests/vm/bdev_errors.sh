# I/O errors of the backing device reach whoever did the I/O through
# bcacheN, are counted, and the device still stops cleanly. The backing
# device is a dm-linear map over vdc whose table is swapped for dm-error
# while bcache holds it.
# Runs against $BCMOD (ours or ref).
wipe /dev/vdc
SECTORS=$(blockdev --getsz /dev/vdc)
check "dm-linear 'bk' over vdc" \
	dmsetup create bk --table "0 $SECTORS linear /dev/vdc 0"
dmsetup mknodes bk 2>/dev/null
DM=$(dmsetup info -c -o blkdevname --noheadings bk)
check "make-bcache -B /dev/mapper/bk" make-bcache -B /dev/mapper/bk
check "module loads" load_bcache
check "register /dev/mapper/bk" bc_register /dev/mapper/bk
check "its bcache device appears" wait_for /sys/block/$DM/bcache/dev
BC=$(bc_name_of "$DM")
A=/sys/block/$BC/bcache

pattern err > /tmp/pe
want=$(md5sum < /tmp/pe | cut -d' ' -f1)
check "write 64 KiB through $BC" put_at /tmp/pe /dev/$BC 1024
check_eq "it reads back" "$want" "$(sect_sum /dev/$BC 1024 128)"
check_eq "io_errors is 0" 0 "$(cat $A/io_errors)"

check "suspend bk" dmsetup suspend bk
check "load an error table" dmsetup load bk --table "0 $SECTORS error"
check "resume bk (every I/O now fails)" dmsetup resume bk

blockdev --flushbufs /dev/$BC
check_not "a buffered read through $BC fails" \
	dd if=/dev/$BC of=/dev/null bs=4096 skip=1000 count=1
check_not "a direct read through $BC fails (fio)" \
	fio --name=rd --filename=/dev/$BC --rw=read --bs=4k --size=64k \
	--offset=8M --direct=1 --ioengine=psync --output-format=terse
check_not "a direct write through $BC fails (fio)" \
	fio --name=wr --filename=/dev/$BC --rw=write --bs=4k --size=64k \
	--offset=16M --direct=1 --ioengine=psync --output-format=terse
check_not "a buffered write + fsync through $BC fails" put_at /tmp/pe /dev/$BC 40960
errs=$(cat $A/io_errors)
check "io_errors counts the failed I/O ($errs)" test "$errs" -gt 0
check "the kernel log reports the backing device's error" \
	sh -c "dmesg | grep -Eiq 'bcache.*(I/?O error|error on backing)'"
check_eq "$BC is still there" 1 "$(bc_count)"

check "stop $BC" bc_stop "$BC"
check "remove bk" dmsetup remove bk
check "module unloads" rmmod bcache
