# Benchmark (not a test): the bset microbenchmark modules that
# scripts/bench-bset.sh puts into /lib/modules/extra/, loaded in turn
# (ours, then the kernel's bset.c) for five rounds. Each load logs one
# BSETBENCH line per node size; they are copied to the console for the
# host, which takes the best round of each.
ROUNDS=5
EXTRA=/lib/modules/extra

round=0
while [ $round -lt "$ROUNDS" ]; do
	for impl in ours ref; do
		check "bsetbench_$impl loads (round $((round + 1)))" \
			insmod "$EXTRA/bsetbench_$impl.ko"
		rmmod "bsetbench_$impl" 2>/dev/null
	done
	round=$((round + 1))
done

echo "clocksource: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
dmesg | grep -o 'BSETBENCH .*' > /tmp/bsetbench
cat /tmp/bsetbench
if grep -qv ' errors=0$' /tmp/bsetbench; then
	check_fail "bset benchmark workload without errors"
fi
check_ok "bset benchmark ran"
