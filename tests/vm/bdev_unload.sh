# rmmod bcache with two backing devices registered is safe: the module
# either refuses to go while they exist (then they are stopped and it goes)
# or stops them itself. Either way no splat, both disks are released, and
# their data is intact after reloading and registering them again.
# Runs against $BCMOD (ours or ref).
for d in vda vdb; do
	wipe /dev/$d
	make-bcache -B /dev/$d > /dev/null
done
check "module loads" load_bcache
for d in vda vdb; do
	check "register $d" bc_register /dev/$d
	check "$d's bcache device appears" wait_for /sys/block/$d/bcache/dev
	pattern "unload-$d" > /tmp/p.$d
	put_at /tmp/p.$d /dev/$(bc_name_of $d) 4096
done
sum_a=$(sect_sum /dev/$(bc_name_of vda) 0 8192)
sum_b=$(sect_sum /dev/$(bc_name_of vdb) 0 8192)

if rmmod bcache 2> /tmp/rmmod.err; then
	check_ok "rmmod with two devices registered: accepted"
	check_eq "it stopped both bcache devices" 0 "$(bc_count)"
	check_not "the module is gone" grep -q '^bcache ' /proc/modules
else
	check_ok "rmmod with two devices registered: refused ($(cat /tmp/rmmod.err))"
	check_eq "both bcache devices still there" 2 "$(bc_count)"
	check "vda's device still reads" sect_sum /dev/$(bc_name_of vda) 0 8
	for d in vda vdb; do
		check "stop $d's device" bc_stop "$(bc_name_of $d)"
	done
	check "rmmod after stopping them" rmmod bcache
fi
for d in vda vdb; do
	check "$d is released: an exclusive open succeeds (within 10 s)" \
		wait_released /dev/$d
done

check "module loads again" load_bcache
for d in vda vdb; do
	check "re-register $d" bc_register_retry /dev/$d
	check "$d's bcache device appears again" wait_for /sys/block/$d/bcache/dev
done
check_eq "vda's data is intact" "$sum_a" "$(sect_sum /dev/$(bc_name_of vda) 0 8192)"
check_eq "vdb's data is intact" "$sum_b" "$(sect_sum /dev/$(bc_name_of vdb) 0 8192)"
for d in vda vdb; do
	check "stop $d's device" bc_stop "$(bc_name_of $d)"
done
check "module unloads" rmmod bcache
