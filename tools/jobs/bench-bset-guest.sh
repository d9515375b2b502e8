# Benchmark (not a test): the bset microbenchmark modules that
# tools/bench-bset.sh puts into /lib/modules/extra/, loaded in turn
# (ours and the kernel's bset.c) round after round, so both see about the
# same background load. Each load logs one BSETBENCH line per node size; they
# are copied to the console for the host. bench-bset.conf (from the host)
# may set ROUNDS and MIN_MS.
EXTRA=/lib/modules/extra
ROUNDS=5
MIN_MS=1000
[ -f "$EXTRA/bench-bset.conf" ] && . "$EXTRA/bench-bset.conf"

# Which one goes first alternates, and each load starts after a pause, so
# that neither always follows the other's unload and its deferred work.
round=0
while [ $round -lt "$ROUNDS" ]; do
	round=$((round + 1))
	order="ours ref"
	[ $((round % 2)) = 0 ] && order="ref ours"
	for impl in $order; do
		sleep 1
		check "bsetbench_$impl loads (round $round)" \
			insmod "$EXTRA/bsetbench_$impl.ko" min_ms="$MIN_MS"
		rmmod "bsetbench_$impl" 2>/dev/null
	done
done

echo "clocksource: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
dmesg | grep -o 'BSETBENCH .*' > /tmp/bsetbench
cat /tmp/bsetbench
if grep -qv ' errors=0$' /tmp/bsetbench; then
	check_fail "bset benchmark workload without errors"
fi
check_ok "bset benchmark ran"
