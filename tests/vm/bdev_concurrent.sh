# Two registrations of the same backing device racing each other: exactly
# one wins, the other gets an error, and exactly one bcacheN exists. Ten
# rounds, stopping the device between them.
# Runs against $BCMOD (ours or ref).
DEV=/dev/vda
wipe $DEV
make-bcache -B $DEV > /dev/null
check "module loads" load_bcache

# One round: once the disk is free, both writers start together; each
# leaves its exit status in a file (background jobs' statuses are awkward
# in busybox sh). Prints "winners devices".
race_round() {
	wait_released $DEV > /dev/null
	rm -f /tmp/race.*
	(bc_register $DEV 2>/dev/null; echo $? > /tmp/race.1) &
	(bc_register $DEV 2>/dev/null; echo $? > /tmp/race.2) &
	wait
	wait_for /sys/block/vda/bcache/dev > /dev/null
	sleep 0.5
	won=0
	for f in /tmp/race.1 /tmp/race.2; do
		[ "$(cat $f)" = 0 ] && won=$((won + 1))
	done
	echo "$won $(bc_count)"
}

round=1
while [ $round -le 10 ]; do
	out=$(race_round)
	check_eq "round $round: exactly one register succeeds" 1 "${out% *}"
	check_eq "round $round: exactly one bcache device" 1 "${out#* }"
	check "round $round: stop it" bc_stop "$(bc_name_of vda)"
	round=$((round + 1))
done
check_eq "no bcache device left" 0 "$(bc_count)"
check "module unloads" rmmod bcache
