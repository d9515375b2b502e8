#!/bin/bash
# The long metadata fuzz run: cache_fuzz_sb and cache_fuzz_meta with N
# seeded cases per kind (superblock; jset, btree node, prio set, uuid
# table) under the debug kernel, against our module or the kernel's.
# The test command runs the same scenarios with a few cases each; this
# is a command of its own (a case takes seconds under TCG).
#
# usage: scripts/fuzz.sh [-m ours|ref] [-n CASES] [-f FIRST] [-o sb|meta]
#        (default: ours, 100 cases from seed 1, both scenarios)
# -f runs seeds FIRST to FIRST+CASES-1, so that a long run can be done in
# parts; -o runs only the superblock or only the metadata scenario.
# Prints each scenario's tally (cases, how many registered) and the
# checks passed and failed (a splat or a hang fails one); the whole
# console goes to $BCACHE_CACHE/fuzz-<driver>-<what>-<FIRST>-<N>.log.
# Documentation/testing.rst ("Fuzzing") keeps the latest result.
. "$(dirname "$0")/lib.sh"

mode=ours cases=100 first=1 only=both
while getopts m:n:f:o: opt; do
	case $opt in
	m) mode=$OPTARG ;;
	n) cases=$OPTARG ;;
	f) first=$OPTARG ;;
	o) only=$OPTARG ;;
	*) die "bad option" ;;
	esac
done
case $mode in ours|ref) ;; *) die "-m ours or -m ref" ;; esac
[[ $cases =~ ^[0-9]+$ ]] && [ "$cases" -gt 0 ] || die "-n takes a count"
[[ $first =~ ^[0-9]+$ ]] && [ "$first" -gt 0 ] || die "-f takes a seed"
case $only in
both) scenarios=(cache_fuzz_sb cache_fuzz_meta) ;;
sb) scenarios=(cache_fuzz_sb) ;;
meta) scenarios=(cache_fuzz_meta) ;;
*) die "-o sb or -o meta" ;;
esac

bash "$REPO/scripts/deps.sh" || die "could not install dependencies"
margs=$(vm_module_args "$mode" fuzz) || die "module build failed"

logf=$BCACHE_CACHE/fuzz-$mode-$only-$first-$cases.log
# A case takes up to about ten seconds; give each scenario room for all.
t=$((cases * 4 * 15 + 600))
t0=$(date +%s)
VM_APPEND="fuzzcases=$cases fuzzfirst=$first" bash "$REPO/scripts/vm.sh" \
	$margs -t "$t" -l "$logf" "${scenarios[@]}" > /dev/null
rc=$?
grep -h '^### .* fuzzed .* registered$' "$logf" | sed 's/^### /== /' >&2
log "$(grep -c '^CHECK ok' "$logf") checks passed, $(grep -c '^CHECK fail' "$logf") failed"
grep -h "^CHECK fail" "$logf" | head -n 20
log "seeds $first..$((first + cases - 1)) per kind, $mode, $(( $(date +%s) - t0 )) s, console in $logf"
exit $rc
