#!/bin/bash
# Benchmarks (never part of the tests): the perf kernel (no debug options),
# fio in the guest, ours against the kernel's own bcache in the same boot.
# usage: tools/bench.sh [-i] [JOB]   (default: bench-bdev)
# BENCH_ROUNDS=N: rounds under -i (1); BENCH_APPEND: more of the job's
# settings for the kernel command line under -i (bench_seq_ramp=1).
#
# Wall-clock time under QEMU TCG is as noisy as the host is busy. -i runs
# QEMU with -icount shift=0,sleep=off instead: the guest clock advances one
# nanosecond per guest instruction, so IOPS and MB/s measure the guest
# instructions each I/O costs (what our code and the kernel's can differ
# in), nearly the same from run to run. Waits do not drop out, though: an
# idle guest's clock jumps to its next timer tick, so a wait of a few
# microseconds for a host disk costs up to a tick (4 ms) of guest time.
# So the backing device is null_blk behind the superblock's first MiB
# and the cache device a RAM disk (bench_null=1, see bench_backing() and
# bench_cache_disk() in tests/guest/guest-lib.sh): no request waits for
# the host.
# With vdb as the cache, the hit and write results of two runs differed
# by up to a factor of six. The raw hit result then reads a RAM disk: the
# hits/raw ratio comes from the wall-clock runs, on vdb.
. "$(dirname "$0")/../scripts/lib.sh"
if [ "${1:-}" = -i ]; then
	export VM_ACCEL="-accel tcg,thread=single -icount shift=0,sleep=off"
	raw_suffix=-icount
	# Deterministic, so one round will do; and guest seconds take long.
	# bench-cache: a smaller hit test, and no filling of the whole set.
	export VM_APPEND="bench_rounds=${BENCH_ROUNDS:-1} bench_runtime=5 bench_hit_mb=64 bench_full=0 bench_null=1 ${BENCH_APPEND:-}"
	shift
fi
job=${1:-bench-bdev}
bash "$REPO/scripts/deps.sh"
"$REPO/scripts/kernel.sh" perf > /dev/null
# As a distribution would build it: no KUnit suites, no closure debugging
# (the kernel's bcache.ko of the perf kernel has neither).
ko=$("$REPO/scripts/module.sh" perf "$BCACHE_CACHE/module-perf" \
	CONFIG_BCACHE_KUNIT_TEST= CONFIG_BCACHE_CLOSURES_DEBUG=)
logf=$(mktemp)
trap 'rm -f "$logf"' EXIT
"$REPO/scripts/vm.sh" -f perf -k "$ko" -l "$logf" -t 3600 "jobs/$job" > /dev/null
# Every measurement, then the median of the rounds and the ratios. Metrics
# ending in _us, _ms or _kb are better when lower; ratios are then kernel/ours,
# so above 1 always means ours is better.
grep -ao 'INFO .*' "$logf" | tr -d '\r'
grep -ao 'BENCH .*' "$logf" | tr -d '\r' | tee "$BCACHE_CACHE/bench-$job${raw_suffix:-}.raw" | awk '
	function lower(m) { return m ~ /_(us|ms|kb)$/ }
	function median(k,    n, i, j, t, v) {
		n = cnt[k]
		if (!n)
			return 0
		for (i = 1; i <= n; i++)
			v[i] = val[k, i]
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && v[j - 1] > v[j]; j--) {
				t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
			}
		return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
	}
	{ k = $2 " " $3; m[$3] = 1; val[k, ++cnt[k]] = $4 }
	END {
		printf "%-16s %12s %12s %12s %10s %10s\n", "workload", "raw",
			"ours", "kernel", "ours/raw", "ours/kernel"
		for (w in m) {
			r = median("raw " w); o = median("ours " w); k = median("ref " w)
			vr = r && o ? (lower(w) ? r / o : o / r) : 0
			vk = k && o ? (lower(w) ? k / o : o / k) : 0
			printf "%-16s %12.1f %12.1f %12.1f %10.2f %10.2f\n", w, r, o, k, vr, vk
		}
	}'
