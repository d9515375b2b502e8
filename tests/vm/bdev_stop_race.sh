# Stop racing sysfs writes: the use-after-free class upstream has had
# (a label write that still writes the superblock while the device is being
# torn down). Twenty rounds of "write label, stop at once, re-register";
# then rounds where the label write runs in the background while stop goes
# in. KASAN and the splat check after the scenario catch a use after free;
# the checks here catch a lost label or a device that does not come back.
# Runs against $BCMOD (ours or ref).
DEV=/dev/vda
wipe $DEV
make-bcache -B $DEV > /dev/null
check "module loads" load_bcache
check "register $DEV" bc_register $DEV
check "its bcache device appears" wait_for /sys/block/vda/bcache/dev

# Ends one round: waits for the stop, registers again, and prints the
# label found after the re-registration (or "GONE" if it did not come back).
come_back() {
	wait_gone /sys/block/vda/bcache 20 || { echo STUCK; return; }
	bc_register_retry $DEV
	if wait_for /sys/block/vda/bcache/label 20; then
		cat /sys/block/vda/bcache/label
	else
		echo GONE
	fi
}

bad=
round=1
while [ $round -le 20 ]; do
	echo "round$round" > /sys/block/vda/bcache/label
	echo 1 > /sys/block/vda/bcache/stop
	got=$(come_back)
	[ "$got" = "round$round" ] || bad="${bad:-round $round: label '$got'}"
	round=$((round + 1))
done
check_eq "20 rounds of label-then-stop: each comes back with its label" "" "$bad"

# The label write in flight while stop goes in: after the re-registration
# the label is the old one or the new one, never anything else.
bad=
prev=$(cat /sys/block/vda/bcache/label)
round=1
while [ $round -le 10 ]; do
	(echo "bg$round" > /sys/block/vda/bcache/label) 2>/dev/null &
	echo 1 > /sys/block/vda/bcache/stop
	wait
	got=$(come_back)
	case "$got" in
	"$prev"|"bg$round") prev=$got ;;
	*) bad="${bad:-round $round: label '$got', expected '$prev' or 'bg$round'}" ;;
	esac
	round=$((round + 1))
done
check_eq "10 rounds of stop during a label write: label is old or new" "" "$bad"

# Stop racing a burst of label writes and reads from several writers.
bad=
round=1
while [ $round -le 3 ]; do
	for w in 1 2 3; do
		(
			k=0
			while [ $k -lt 20 ]; do
				echo "w$w.$k" > /sys/block/vda/bcache/label
				cat /sys/block/vda/bcache/state
				k=$((k + 1))
			done
		) > /dev/null 2>&1 &
	done
	sleep 0.1
	echo 1 > /sys/block/vda/bcache/stop
	wait
	got=$(come_back)
	case "$got" in
	STUCK|GONE) bad="${bad:-burst $round: device $got}" ;;
	esac
	round=$((round + 1))
done
check_eq "3 bursts of writers racing stop: the device comes back" "" "$bad"

check "stop" bc_stop "$(bc_name_of vda)"
check "superblock checksum valid at the end" \
	sh -c "sbedit $DEV --show | grep -q '^csum_ok 1'"
check "module unloads" rmmod bcache
