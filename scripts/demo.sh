#!/bin/bash
# The demo: installs what it needs, builds the kernel and our module
# (cached), boots a VM, formats a backing device with make-bcache, registers
# it through sysfs, does I/O through /dev/bcache0 and shows its state.
. "$(dirname "$0")/lib.sh"
bash "$REPO/scripts/deps.sh"
"$REPO/scripts/kernel.sh" debug > /dev/null
ko=$("$REPO/scripts/module.sh" debug)
logf=$(mktemp)
trap 'rm -f "$logf"' EXIT
"$REPO/scripts/vm.sh" -k "$ko" -l "$logf" jobs/demo-guest > /dev/null
# The guest's own output, without the kernel log the harness appends.
sed -n '/@@BEGIN jobs\/demo-guest$/,/@@END jobs\/demo-guest$/p' "$logf" |
	grep -avE '^K: |^@@|CHECK ok' | sed 's/\r$//'
grep -aq '@@END jobs/demo-guest' "$logf" || { echo "demo did not finish; console tail:"; tail -n 30 "$logf"; exit 1; }
