# Register-lock stalls (an upstream bug class): registering a device whose
# disk is slow must not hold up the registration of other devices. One
# backing device sits behind dm-delay (every read takes 10 s); while its
# registration is in flight, four others on fast disks register one after
# another. None of them may wait for the slow one: a stalled registration
# takes at least one delayed read, 10 s; an unstalled one well under 5 s.
# Runs against $BCMOD (ours or ref; the kernel's bcache scans partitions
# under its global register lock and fails this).
DISK=/dev/vdd
SLICE=131072			# sectors: 64 MiB per device
wipe $DISK
for i in 0 1 2 3 4; do
	dmsetup create bcm$i --table "0 $SLICE linear $DISK $((i * SLICE))"
	dmsetup mknodes bcm$i
	wipe /dev/mapper/bcm$i
	make-bcache -B /dev/mapper/bcm$i > /dev/null
done
# Device 0 becomes slow only after make-bcache wrote it, and nothing it
# holds may still be in the page cache.
dmsetup suspend bcm0
dmsetup load bcm0 --table "0 $SLICE delay $DISK 0 10000"
dmsetup resume bcm0
sync
echo 3 > /proc/sys/vm/drop_caches
check "module loads" load_bcache

rm -f /tmp/slow.done
(bc_register /dev/mapper/bcm0; touch /tmp/slow.done) &
sleep 1

stalled=0 overlapped=0
for i in 1 2 3 4; do
	t0=$(date +%s)
	bc_register /dev/mapper/bcm$i
	t1=$(date +%s)
	[ $((t1 - t0)) -ge 5 ] && stalled=$((stalled + 1))
	[ -e /tmp/slow.done ] || overlapped=$((overlapped + 1))
	sleep 1
done
check_eq "no registration waited for the slow device" 0 "$stalled"
check "registrations finished while the slow one was in flight" \
	test "$overlapped" -ge 1
wait
check "the slow device registered too" test -e /tmp/slow.done
check_eq "five bcache devices" 5 "$(bc_count)"

# Teardown at full speed: the slow disk becomes a plain one again.
dmsetup suspend bcm0
dmsetup load bcm0 --table "0 $SLICE linear $DISK 0"
dmsetup resume bcm0
unload_bcache
for i in 0 1 2 3 4; do
	retry 30 dmsetup remove bcm$i 2>/dev/null
done
check_eq "all dm devices removed" "" "$(dmsetup ls | grep bcm)"
dmsetup mknodes		# drops the stale /dev/mapper nodes (no udev here)
