#!/bin/bash
# Guest instructions per function, ours against the kernel's bcache, per
# request: tools/jobs/profile-cache.sh (or INSN_JOB=profile-wb: writeback)
# with a fixed number of requests per phase, on the perf kernel under -icount, counted exactly by a QEMU TCG
# plugin (tools/insncount.c) rather than sampled. A diagnosis, not a
# benchmark: slow (every block is counted), but the counts repeat.
# usage: tools/insn-profile.sh [REQUESTS [MB]]  (default 20000 and 64)
. "$(dirname "$0")/../scripts/lib.sh"
ios=${1:-20000}
mb=${2:-64}
kbuild=$("$REPO/scripts/kernel.sh" perf)
ko=$("$REPO/scripts/module.sh" perf "$BCACHE_CACHE/module-perf" \
	CONFIG_BCACHE_KUNIT_TEST= CONFIG_BCACHE_CLOSURES_DEBUG=)
plugin=$BCACHE_CACHE/insncount.so
if [ ! -f "$plugin" ] || [ "$REPO/tools/insncount.c" -nt "$plugin" ]; then
	gcc -O2 -shared -fPIC -pthread -o "$plugin" "$REPO/tools/insncount.c"
fi
# Kept for another look: insn_report.py report "$work/counts" ... (below).
work=$BCACHE_CACHE/insn-profile
rm -rf "$work"
mkdir -p "$work"
export VM_ACCEL="-accel tcg,thread=single -icount shift=0,sleep=off -plugin $plugin,out=$work/counts,trigger=$work/trigger"
export VM_APPEND="PROFILE_IOS=$ios PROFILE_MB=$mb bench_null=1 ${INSN_APPEND:-}"
# vm.sh writes the console to its own folder while the VM runs: the
# first one that was not there before (another VM may be running).
before=$(ls -d "${TMPDIR:-/tmp}"/bcache-vm.*/ 2>/dev/null || true)
"$REPO/scripts/vm.sh" -f perf -k "$ko" -l "$work/console" -t 3600 \
	"jobs/${INSN_JOB:-profile-cache}" > /dev/null &
vm=$!
until boot=$(ls -td "${TMPDIR:-/tmp}"/bcache-vm.*/ 2>/dev/null |
		grep -vxF "$before" | head -n 1) &&
	[ -n "$boot" ] && [ -f "${boot}boot1.log" ]; do
	sleep 0.2
done
python3 "$REPO/tools/insn_report.py" watch "${boot}boot1.log" \
	"$work/trigger" "$work/phases" &
wait $vm
kill %2 2> /dev/null
grep -a "^INFO" "$work/console" | tr -d "\r"
echo "requests per phase: $ios (4 KiB), 8192 (1 MiB; 1024 in -short, 7168 in -steady)"
python3 "$REPO/tools/insn_report.py" report "$work/counts" "$work/phases" \
	"$kbuild/System.map" "ours=$ko" "ref=$kbuild/drivers/md/bcache/bcache.ko" \
	${INSN_TOP:-40}
