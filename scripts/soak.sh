#!/bin/bash
# The small-cache soak: cache_geometry's two smallest caches (513 buckets:
# 512 KiB buckets of 4 KiB blocks, and 4 KiB buckets of 512-byte blocks)
# under 8 writers that fsync every 4 KiB random write, for SECS seconds
# each instead of the test command's 12 and 8, under the debug kernel
# (hung-task detection, lockdep, KASAN). Passes when no writer hangs, the
# kernel log stays clean and the data written first reads back, also after
# a restart. Not part of scripts/test.sh (it is long);
# Documentation/testing.rst keeps the last result.
#
# usage: scripts/soak.sh [-m ours|ref] [SECS]   (default: ours, 300)
. "$(dirname "$0")/lib.sh"

mode=ours
if [ "${1:-}" = -m ]; then
	mode=$2
	shift 2
fi
case $mode in ours|ref) ;; *) die "-m ours or -m ref" ;; esac
secs=${1:-300}
[[ $secs =~ ^[0-9]+$ ]] && [ "$secs" -gt 0 ] || die "SECS is a count of seconds"

bash "$REPO/scripts/deps.sh" || die "could not install dependencies"
margs=$(vm_module_args "$mode" soak) || die "module build failed"

logf=$BCACHE_CACHE/soak-$mode-$secs.log
t0=$(date +%s)
VM_APPEND="geosoak=$secs" bash "$REPO/scripts/vm.sh" $margs \
	-t $((secs * 2 + 600)) -l "$logf" cache_geometry > /dev/null
rc=$?
log "$(grep -ac '^CHECK ok' "$logf") checks passed, $(grep -ac '^CHECK fail' "$logf") failed"
grep -a "^CHECK fail" "$logf" | head -n 20
log "$secs s of writers per geometry, $mode, $(( $(date +%s) - t0 )) s, console in $logf"
exit $rc
