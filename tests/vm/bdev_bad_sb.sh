# Registering something that is not a valid backing device is refused:
# the write to /sys/fs/bcache/register fails, no /dev/bcacheN appears, and
# the kernel log says why. Superblocks are damaged with sbedit.
# Upstream (6.12) logs the reason with pr_info and an empty path (it frees
# the path before printing); ours must log at error level and name the
# device, so those two checks are skipped under ref.
# Runs against $BCMOD (ours or ref).
DEV=/dev/vda
check "module loads" load_bcache

# refused NAME PATH [NAME_IN_LOG]: one register attempt and the checks on
# its outcome.
refused() {
	kmsg_mark "$1"
	check_not "$1: register is refused" bc_register "$2"
	sleep 0.5
	check_eq "$1: no bcache device appears" 0 "$(bc_count)"
	dmesg_after "$1" > /tmp/why
	check "$1: the kernel log says why" \
		grep -Eiq 'bcache.*(error|invalid|bad|not|unsupported|fail)' /tmp/why
	if testing_ref; then
		check_ok "$1: the log names the device (skipped: upstream prints no path)"
		check_ok "$1: logged at error level (skipped: upstream uses pr_info)"
	else
		check "$1: the log names the device" \
			grep -q "${3:-$(basename "$2")}" /tmp/why
		check "$1: logged at error level" grep -Eq '^<[0-3]>.*bcache' /tmp/why
	fi
	# Whatever happened, leave no device behind for the next case.
	for f in /sys/block/bcache*/bcache/stop; do
		[ -e "$f" ] && echo 1 > "$f"
	done
	wait_gone /sys/block/vda/bcache
}

fresh_bdev() { wipe $DEV && make-bcache -B "$@" $DEV > /dev/null; }

fresh_bdev
check "good superblock has a valid checksum" \
	sh -c "sbedit $DEV --show | grep -q '^csum_ok 1'"
sbedit $DEV magic=zero
refused "bad magic" $DEV

fresh_bdev
sbedit $DEV --no-csum label=corrupt
check "the edited superblock's checksum is wrong" \
	sh -c "sbedit $DEV --show | grep -q '^csum_ok 0'"
refused "bad checksum" $DEV

fresh_bdev
sbedit $DEV offset=9
refused "bad offset field" $DEV

fresh_bdev
sbedit $DEV version=7
refused "unsupported version 7" $DEV

fresh_bdev
sbedit $DEV version=2
refused "version 2" $DEV

fresh_bdev
sbedit $DEV uuid=zero
refused "zero uuid" $DEV

fresh_bdev
sbedit $DEV block_size=0
refused "block size smaller than the device's" $DEV

fresh_bdev -o 2048
sbedit $DEV data_offset=15
refused "data_offset 15 on version 4" $DEV

wipe $DEV
refused "blank device" $DEV

refused "missing path" /dev/nonexistent nonexistent
: > /tmp/file
refused "not a block device" /tmp/file /tmp/file

# A cache device alone registers as a cache set (no bcacheN), as upstream.
wipe /dev/vdb
make-bcache -C /dev/vdb > /dev/null
check "cache device: registers as a cache set" bc_register /dev/vdb
sleep 0.5
check_eq "cache device: no bcache block device" 0 "$(bc_count)"
for f in /sys/fs/bcache/*-*/stop; do
	[ -e "$f" ] && echo 1 > "$f"
done
i=0
while ls /sys/fs/bcache | grep -q -- - && [ $i -lt 50 ]; do
	sleep 0.2
	i=$((i + 1))
done
check_not "cache device: its cache set stops" \
	sh -c "ls /sys/fs/bcache | grep -q -- -"

# After all that the module still registers a good device.
fresh_bdev
check "a good device still registers" bc_register $DEV
check "and appears" wait_for /sys/block/vda/bcache/dev
check "stop it" bc_stop "$(bc_name_of vda)"
check "module unloads" rmmod bcache
