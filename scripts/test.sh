#!/bin/bash
# The whole test suite: installs what it needs, builds the debug kernel
# (cached), builds our module out of tree and in tree, runs the static
# checks, the kernel's kunit.py on the in-tree copy, and every VM scenario.
# Ends with one line "N passed, N failed"; exits non-zero on any failure.
# One failing step does not stop the others.
#
# usage: scripts/test.sh [SCENARIO...]   (default: all of tests/*.sh)
. "$(dirname "$0")/lib.sh"
set +e

results=$(mktemp)
trap 'rm -f "$results"' EXIT
# Every result line goes to the terminal and to the tally.
say() { tee -a "$results"; }

bash "$REPO/scripts/deps.sh" || die "could not install dependencies"
kbuild=$("$REPO/scripts/kernel.sh" debug) || die "debug kernel build failed"

log "out-of-tree module build (W=1)"
mod=$BCACHE_CACHE/module-test
rm -rf "$mod"
if "$REPO/scripts/module.sh" debug "$mod" W=1 > /dev/null 2> "$mod.w1.log"; then
	check_ok "build: out-of-tree bcache.ko builds" | say
else
	check_fail "build: out-of-tree bcache.ko builds" | say
	tail -n 30 "$mod.w1.log" | sed 's/^/    | /'
fi
# One check from a compiler log: passes when it holds no diagnostic.
check_log_clean() {
	local what=$1 logfile=$2
	if grep -qE 'warning:|error:' "$logfile"; then
		check_fail "$what" | say
		grep -E 'warning:|error:' "$logfile" | head -n 20 | sed 's/^/    | /'
	else
		check_ok "$what" | say
	fi
}
check_log_clean "static: W=1 build has no warnings" "$mod.w1.log"

log "sparse (C=2)"
"$REPO/scripts/module.sh" debug "$mod" C=2 > /dev/null 2> "$mod.sparse.log"
check_log_clean "static: sparse C=2 is clean" "$mod.sparse.log"

log "checkpatch --strict"
src=$(kernel_src)
# tests/tools/ holds user-space helpers for the guest, and scripts/ the
# host's (a QEMU plugin): not kernel code.
for f in $(cd "$REPO" && git ls-files -co --exclude-standard -- '*.c' '*.h' |
	   grep -v -e '^tests/tools/' -e '^scripts/'); do
	if out=$(perl "$src/scripts/checkpatch.pl" --strict --no-tree --terse \
			--show-types -f "$REPO/$f" 2>&1) ||
	   ! echo "$out" | grep -qE 'ERROR|WARNING|CHECK'; then
		check_ok "checkpatch: $f" | say
	else
		check_fail "checkpatch: $f" | say
		echo "$out" | grep -E 'ERROR|WARNING|CHECK' | head -n 10 | sed 's/^/    | /'
	fi
done

log "copycheck (runs shared with upstream bcache)"
copycheck=$REPO/../shared/hooks/copycheck
if [ -x "$copycheck" ] || [ -f "$copycheck" ]; then
	if out=$(bash "$copycheck" "$REPO" 2>&1); then
		check_ok "copycheck: no code shared with upstream bcache" | say
	else
		check_fail "copycheck: no code shared with upstream bcache" | say
		echo "$out" | tail -n 20 | sed 's/^/    | /'
	fi
fi

log "in-tree build"
if intree_ko=$("$REPO/scripts/intree.sh" 2> "$mod.intree.log"); then
	check_ok "build: in-tree drivers/md/bcache builds with our Kconfig" | say
else
	check_fail "build: in-tree drivers/md/bcache builds with our Kconfig" | say
	tail -n 30 "$mod.intree.log" | sed 's/^/    | /'
	intree_ko=
fi

log "kunit.py run --arch=x86_64 --kunitconfig=drivers/md/bcache"
if "$REPO/scripts/kunit-tool.sh" > "$mod.kunitpy.log" 2>&1 &&
   grep -q 'Testing complete' "$mod.kunitpy.log"; then
	check_ok "kunit.py: $(grep -o 'Ran [0-9]* tests.*\|Testing complete.*' "$mod.kunitpy.log" | tail -n 1)" | say
else
	check_fail "kunit.py run on the in-tree copy" | say
	tail -n 30 "$mod.kunitpy.log" | sed 's/^/    | /'
fi

# Scenarios: the named ones, or every tests/*.sh but the guest's own
# helpers; the leak check always runs last.
if [ $# -gt 0 ]; then
	scenarios=("$@")
else
	scenarios=()
	for f in "$REPO"/tests/*.sh; do
		n=$(basename "$f" .sh)
		case $n in lib|run-one|leakcheck) continue ;; esac
		scenarios+=("$n")
		# A scenario spanning two boots (a power cut) says so.
		grep -q '^# vm: two boots' "$f" && scenarios+=("$n")
	done
fi
scenarios+=(leakcheck)

if [ -f "$mod/bcache.ko" ]; then
	log "VM scenarios: ${scenarios[*]}"
	"$REPO/scripts/vm.sh" -k "$mod/bcache.ko" -l "$BCACHE_CACHE/console-test.log" \
		"${scenarios[@]}" | say
fi
# The KUnit suites must have reported: a silent filter or a module that
# failed to load would otherwise pass with nothing counted.
# (A run of named scenarios without kunit has none to count.)
nsuites=$(grep -c '^KUNIT ' "$results")
if [[ " ${scenarios[*]} " != *" kunit "* ]]; then
	:
elif [ "$nsuites" -ge 8 ]; then
	check_ok "kunit: $nsuites bcache suites reported a KTAP summary" | say
else
	check_fail "kunit: only $nsuites bcache suites reported a KTAP summary" | say
fi

if [ -n "$intree_ko" ]; then
	log "VM: KUnit suites of the in-tree module"
	out=$("$REPO/scripts/vm.sh" -k "$intree_ko" kunit)
	if echo "$out" | grep -q '^CHECK fail' ||
	   [ "$(echo "$out" | grep -c '^KUNIT')" -lt 8 ] ||
	   echo "$out" | grep -E '^KUNIT' | grep -qv 'fail:0 '; then
		check_fail "in-tree bcache.ko: all KUnit suites pass in the VM" | say
		echo "$out" | grep -E 'fail|KUNIT' | head -n 20 | sed 's/^/    | /'
	else
		check_ok "in-tree bcache.ko: all KUnit suites pass in the VM" | say
	fi
fi

# Tally: one per check line, and every KUnit case from the summaries.
passed=$(grep -c '^CHECK ok ' "$results")
failed=$(grep -c '^CHECK fail ' "$results")
while read -r p f; do
	passed=$((passed + p))
	failed=$((failed + f))
done < <(sed -n 's/^KUNIT .*: pass:\([0-9]*\) fail:\([0-9]*\).*/\1 \2/p' "$results")
echo
grep '^CHECK fail' "$results" | sed 's/^/FAILED: /'
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
