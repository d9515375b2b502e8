#!/bin/bash
# Benchmarks (never part of the tests): the perf kernel (no debug options),
# fio in the guest, ours against the kernel's own bcache in the same boot.
# usage: scripts/bench.sh [JOB]   (default: bench-bdev)
. "$(dirname "$0")/lib.sh"
job=${1:-bench-bdev}
bash "$REPO/scripts/deps.sh"
"$REPO/scripts/kernel.sh" perf > /dev/null
ko=$("$REPO/scripts/module.sh" perf "$BCACHE_CACHE/module-perf")
logf=$(mktemp)
trap 'rm -f "$logf"' EXIT
"$REPO/scripts/vm.sh" -f perf -k "$ko" -l "$logf" -t 1200 "jobs/$job" > /dev/null
# Every measurement, then the best of the rounds and the ratios.
grep -ao 'BENCH .*' "$logf" | tr -d '\r' | tee "$BCACHE_CACHE/bench-$job.raw" | awk '
	{ k = $2 " " $3; if ($4 > best[k]) best[k] = $4; rws[$3] = 1 }
	END {
		printf "%-10s %12s %12s %12s %10s %10s\n", "workload", "raw IOPS",
			"ours IOPS", "kernel IOPS", "ours/raw", "ours/kernel"
		for (rw in rws) {
			r = best["raw " rw]; o = best["ours " rw]; k = best["ref " rw]
			printf "%-10s %12.0f %12.0f %12.0f %10.2f %10.2f\n", rw, r, o, k,
				r ? o / r : 0, k ? o / k : 0
		}
	}'
