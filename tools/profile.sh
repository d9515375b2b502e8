#!/bin/bash
# Where the guest's CPU time goes, ours against the kernel's bcache: runs
# tools/jobs/profile-cache.sh on the perf kernel and samples the vCPUs'
# instruction pointers through the QEMU monitor (tools/sample.py), then
# prints the busiest functions per phase. A diagnosis, not a benchmark.
# -i runs the guest under -icount (as bench.sh -i does), so the samples
# follow guest instructions rather than the host's emulation costs.
# usage: tools/profile.sh [-i] [JOB]   (default: profile-cache)
. "$(dirname "$0")/../scripts/lib.sh"
accel="-accel tcg,thread=multi"
if [ "${1:-}" = -i ]; then
	accel="-accel tcg,thread=single -icount shift=0,sleep=off"
	export VM_APPEND="PROFILE_RUNTIME=${PROFILE_RUNTIME:-5}"
	shift
fi
job=${1:-profile-cache}
kbuild=$("$REPO/scripts/kernel.sh" perf)
ko=$("$REPO/scripts/module.sh" perf "$BCACHE_CACHE/module-perf" \
	CONFIG_BCACHE_KUNIT_TEST= CONFIG_BCACHE_CLOSURES_DEBUG=)
mon=$(mktemp -u "${TMPDIR:-/tmp}/bcache-mon.XXXXXX")
console=$(mktemp)
trap 'rm -f "$console" "$mon"' EXIT
export VM_ACCEL="$accel -monitor unix:$mon,server,nowait"
"$REPO/scripts/vm.sh" -f perf -k "$ko" -l "$console" -t 3600 "jobs/$job" \
	> /dev/null &
vm=$!
# The console of the running boot is in vm.sh's folder: the newest one.
until [ -S "$mon" ]; do sleep 0.5; done
boot=$(ls -td "${TMPDIR:-/tmp}"/bcache-vm.*/ | head -n 1)boot1.log
python3 "$REPO/tools/sample.py" "$mon" "$boot" "$kbuild/System.map" \
	"ours=$ko" "ref=$kbuild/drivers/md/bcache/bcache.ko"
wait $vm
