#!/bin/bash
# Build our module with its KUnit suites, boot the debug kernel, load it, and
# print the KTAP output of every bcache suite.
# usage: scripts/kunit-vm.sh [OUR_KO]
. "$(dirname "$0")/lib.sh"
ko=${1:-$("$REPO/scripts/module.sh" debug "$BCACHE_CACHE/module-kunit-$$")}
log=$(mktemp)
"$REPO/scripts/vm.sh" -k "$ko" -l "$log" kunit
echo "---- KTAP (from the kernel log) ----"
grep -a '^K: ' "$log" | sed 's/^K: \[[ 0-9.]*\] /K: /' |
	grep -E '^K: +(KTAP|# Subtest|# module|[0-9]+\.\.[0-9]+|(not )?ok |# bcache|# Totals|Expected|.*: ASSERTION|.*: EXPECTATION)'
rm -f "$log"
[ "$ko" = "${1:-}" ] || rm -rf "$BCACHE_CACHE/module-kunit-$$"
