#!/bin/bash
# The whole test suite: installs what it needs, builds the debug kernel
# (cached), builds our module out of tree and in tree, runs the static
# checks (W=1, sparse, checkpatch, copycheck, and the file-level call
# graph against design.rst's layers), the kernel's kunit.py on the in-tree
# copy, and every VM scenario. Ends with a table of how long each step
# took, then one line "N passed, N failed"; exits non-zero on any failure.
# One failing step does not stop the others.
#
# usage: scripts/test.sh [SCENARIO...]   (default: all of tests/vm/*.sh)
# TEST_VMS (default 2): how many VMs share out the scenarios, side by side;
# TEST_VM_CPUS (default 2): the CPUs of each.
. "$(dirname "$0")/lib.sh"
set +e

results=$(mktemp)
timings=$(mktemp)
vmdir=$(mktemp -d)
trap 'rm -rf "$results" "$timings" "$vmdir"' EXIT
# Every result line goes to the terminal and to the tally.
say() { tee -a "$results"; }

# step NAME: the previous step ends and NAME begins, for the time table.
step_name= step_t0=
step() {
	local now
	now=$(date +%s)
	[ -n "$step_name" ] && printf '%s\t%d\n' "$step_name" $((now - step_t0)) >> "$timings"
	step_name=$1 step_t0=$now
	[ -n "$1" ] && log "$1"
}
total_t0=$(date +%s)

step "deps"
bash "$REPO/scripts/deps.sh" || die "could not install dependencies"
step "debug kernel"
kbuild=$("$REPO/scripts/kernel.sh" debug) || die "debug kernel build failed"

# One build gives both compilers' diagnostics: sparse (C=2) runs on every
# file next to gcc (W=1). A wrapper tags sparse's lines so that each tool
# has its own check.
step "out-of-tree build (W=1, sparse C=2)"
mod=$BCACHE_CACHE/module-test-$(basename "$REPO")
rm -rf "$mod"
sparse_tag=$vmdir/sparse-tagged
cat > "$sparse_tag" <<'EOF'
#!/bin/sh
out=$(sparse "$@" 2>&1)
rc=$?
[ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/sparse: /' >&2
exit $rc
EOF
chmod +x "$sparse_tag"
if "$REPO/scripts/module.sh" debug "$mod" W=1 C=2 CHECK="$sparse_tag" \
		> /dev/null 2> "$mod.build.log"; then
	check_ok "build: out-of-tree bcache.ko builds" | say
else
	check_fail "build: out-of-tree bcache.ko builds" | say
	grep -v '^sparse: ' "$mod.build.log" | tail -n 30 | sed 's/^/    | /'
fi
grep -v '^sparse: ' "$mod.build.log" > "$mod.w1.log"
sed -n 's/^sparse: //p' "$mod.build.log" > "$mod.sparse.log"
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
check_log_clean "static: sparse C=2 is clean" "$mod.sparse.log"

# The layers design.rst draws, against the calls the objects really make.
step "call graph (scripts/callgraph.py)"
if out=$(python3 "$REPO/scripts/callgraph.py" "$mod" 2>&1); then
	check_ok "static: calls between files follow design.rst's layers" | say
else
	check_fail "static: calls between files follow design.rst's layers" | say
	echo "$out" | grep -E '^callgraph:|^circle:' | head -n 20 | sed 's/^/    | /'
fi

# The VM scenarios need only the module: they run in the background while
# the host checks below take their turns on the CPUs.
#
# Scenarios: the named ones, or every tests/vm/*.sh. One that spans
# several boots (power cuts) says "# vm: two boots" or "# vm: three
# boots" and is listed that many times in a row;
# one that must see what all the others left (leakcheck) says
# "# vm: last" and runs at the end of every VM; one that loads a test
# module of tools/kmod/ says "# vm: extra NAME" (below).
units=() lasts=()
for f in "$REPO"/tests/vm/*.sh; do
	n=$(basename "$f" .sh)
	if grep -q '^# vm: last' "$f"; then
		lasts+=("$n")
	elif [ $# -eq 0 ]; then
		if grep -q '^# vm: three boots' "$f"; then
			units+=("$n $n $n")
		elif grep -q '^# vm: two boots' "$f"; then
			units+=("$n $n")
		else
			units+=("$n")
		fi
	fi
done
if [ $# -gt 0 ]; then
	# Named several times in a row: one unit that spans that many boots.
	prev=
	for n in "$@"; do
		[[ " ${lasts[*]} " == *" $n "* ]] && continue
		if [ "$n" = "$prev" ]; then
			units[-1]+=" $n"
		else
			units+=("$n") prev=$n
		fi
	done
fi

# The Debian scenario (scripts/debian-vm.sh: Debian's own kernel, DKMS,
# udev and fstab across reboots) boots its own image rather than the test
# kernel: it is one more unit, "debian", run after the scenarios of the
# VM it falls to. It runs in a full run, or when named.
if [ $# -eq 0 ] || [[ " $* " == *" debian "* ]]; then
	kept=()
	for u in "${units[@]}"; do
		[ "$u" = debian ] || kept+=("$u")
	done
	units=("${kept[@]}" debian)
fi

# Share the units out over the VMs, longest first, each to the VM with
# the least work so far, by the durations the previous run measured
# (a minute for one never measured).
nvms=${TEST_VMS:-2}
[ "${#units[@]}" -lt "$nvms" ] && nvms=${#units[@]}
[ "$nvms" -ge 1 ] || nvms=1
durations=$BCACHE_CACHE/scenario-durations
declare -A load=() group=()
for ((g = 0; g < nvms; g++)); do load[$g]=0 group[$g]=; done
while read -r secs u; do
	best=0
	for ((g = 1; g < nvms; g++)); do
		[ "${load[$g]}" -lt "${load[$best]}" ] && best=$g
	done
	load[$best]=$((load[$best] + secs))
	group[$best]+=" $u"
done < <(for u in "${units[@]}"; do
		# A unit of several boots is one name: its duration is already
		# the sum over its boots. Each boot costs about 20 s more.
		set -- $u
		d=$(awk -v n="$1" '$1 == n { print int($2) + 1; exit }' "$durations" 2>/dev/null)
		echo "$(( ${d:-60} + 20 * ($# - 1) )) $u"
	done | sort -rn)

# Test modules: a scenario that loads tools/kmod/NAME.c's module from
# /lib/modules/extra/ says "# vm: extra NAME". Each one named by the
# scenarios of this run is built once (W=1) and handed to every VM.
step "test modules (tools/kmod/)"
vm_extras=()
for x in $(for u in "${units[@]}" "${lasts[@]}"; do
		for n in $u; do
			sed -n 's/^# vm: extra \([a-z0-9_]*\).*/\1/p' \
				"$REPO/tests/vm/$n.sh" 2>/dev/null
		done
	done | sort -u); do
	xdir=$BCACHE_CACHE/kmod-test-$(basename "$REPO")-$x
	rm -rf "$xdir"
	if xko=$("$REPO/scripts/kmod.sh" debug "$x" "$xdir" 2> "$xdir.log"); then
		check_ok "build: tools/kmod/$x.c builds" | say
		vm_extras+=(-x "$xko")
	else
		check_fail "build: tools/kmod/$x.c builds" | say
		tail -n 30 "$xdir.log" | sed 's/^/    | /'
	fi
	check_log_clean "static: W=1 build of tools/kmod/$x.c has no warnings" \
		"$xdir.log"
done

vm_pids=()
if [ -f "$mod/bcache.ko" ]; then
	vm_t0=$(date +%s)
	for ((g = 0; g < nvms; g++)); do
		these=() then_debian=
		for n in ${group[$g]}; do
			if [ "$n" = debian ]; then
				then_debian=1
			else
				these+=("$n")
			fi
		done
		# The "last" scenarios look back at what the others left: none
		# for a VM that runs only the Debian unit.
		[ ${#these[@]} -gt 0 ] && these+=("${lasts[@]}")
		log "VM $((g + 1)): ${these[*]}${then_debian:+, then debian}"
		# Guests side by side share the CPUs: a scenario's time limit
		# (vm.sh's default 600 s) grows with their number.
		{
			rc=0
			if [ ${#these[@]} -gt 0 ]; then
				"$REPO/scripts/vm.sh" -c "${TEST_VM_CPUS:-2}" -t $((600 * nvms)) \
					-k "$mod/bcache.ko" "${vm_extras[@]}" \
					-l "$BCACHE_CACHE/console-test-$(basename "$REPO")-$((g + 1)).log" "${these[@]}" || rc=$?
			fi
			if [ -n "$then_debian" ]; then
				"$REPO/scripts/debian-vm.sh" -t $((300 * nvms)) \
					-l "$BCACHE_CACHE/console-test-$(basename "$REPO")-debian.log" || rc=$?
			fi
			exit $rc
		} > "$vmdir/vm$g.out" 2>&1 &
		vm_pids+=($!)
	done
fi

step "checkpatch --strict"
src=$(kernel_src)
# Kernel code only: the user-space helpers of the guest (tests/guest/) and
# the host's tools (tools/*.c, a QEMU plugin) are not; the modules of
# tools/kmod/ are. One checkpatch run for all files (each start costs a
# second), whose terse lines name their file.
mapfile -t cpfiles < <(cd "$REPO" && git ls-files -co --exclude-standard -- \
	'*.c' '*.h' ':(exclude)tests/guest/' ':(exclude,glob)tools/*.[ch]')
cpout=$(cd "$REPO" && perl "$src/scripts/checkpatch.pl" --strict --no-tree \
	--terse --show-types -f "${cpfiles[@]}" 2>&1)
cprc=$?
# The lines of checkpatch's output about file $1.
cp_lines() { awk -v p="$1:" 'index($0, p) == 1' <<< "$cpout"; }
for f in "${cpfiles[@]}"; do
	if [ "$cprc" -gt 1 ]; then
		check_fail "checkpatch: $f" | say
		echo "$cpout" | tail -n 5 | sed 's/^/    | /'
	elif ! cp_lines "$f" | grep -qE 'ERROR|WARNING|CHECK'; then
		check_ok "checkpatch: $f" | say
	else
		check_fail "checkpatch: $f" | say
		cp_lines "$f" | grep -E 'ERROR|WARNING|CHECK' | head -n 10 |
			sed 's/^/    | /'
	fi
done

step "copycheck (runs shared with upstream bcache)"
copycheck=$REPO/../shared/hooks/copycheck
if [ -x "$copycheck" ] || [ -f "$copycheck" ]; then
	if out=$(bash "$copycheck" "$REPO" 2>&1); then
		check_ok "copycheck: no code shared with upstream bcache" | say
	else
		check_fail "copycheck: no code shared with upstream bcache" | say
		echo "$out" | tail -n 20 | sed 's/^/    | /'
	fi
fi

step "in-tree build"
if "$REPO/scripts/intree.sh" > /dev/null 2> "$mod.intree.log"; then
	check_ok "build: in-tree drivers/md/bcache builds with our Kconfig" | say
else
	check_fail "build: in-tree drivers/md/bcache builds with our Kconfig" | say
	tail -n 30 "$mod.intree.log" | sed 's/^/    | /'
fi

# The in-tree module's suites run here, under kunit.py's own kernel; the
# VM runs them on the out-of-tree module under KASAN and lockdep. Every
# case kunit.py ran counts in the tally (a KUNITPY line).
step "kunit.py"
"$REPO/scripts/kunit-py.sh" > "$mod.kunitpy.log" 2>&1
kpy_rc=$?
kpy_sum=$(sed 's/\x1b\[[0-9;]*m//g' "$mod.kunitpy.log" |
	grep -o 'Testing complete\. Ran [0-9]* tests.*' | tail -n 1)
if [ "$kpy_rc" = 0 ] && [ -n "$kpy_sum" ]; then
	check_ok "kunit.py: ${kpy_sum#Testing complete. }" | say
else
	check_fail "kunit.py run on the in-tree copy" | say
	tail -n 30 "$mod.kunitpy.log" | sed 's/^/    | /'
fi
if [ -n "$kpy_sum" ]; then
	kpy_n() { echo "$kpy_sum" | grep -o "$1: [0-9]*" | grep -o '[0-9]*$' || echo 0; }
	echo "KUNITPY pass:$(kpy_n passed) fail:$(( $(kpy_n failed) + $(kpy_n crashed) + $(kpy_n errors) )) skip:$(kpy_n skipped)" | say
fi

step "VM scenarios: the wait after the host checks"
for ((g = 0; g < ${#vm_pids[@]}; g++)); do
	wait "${vm_pids[$g]}"
	rc=$?
	grep -v '^TIME ' "$vmdir/vm$g.out" | say
	if [ "$rc" = 0 ]; then
		check_ok "vm.sh: VM $((g + 1)) ran its scenarios" | say
	else
		check_fail "vm.sh: VM $((g + 1)) ran its scenarios (exit $rc)" | say
	fi
	sed -n "s/^TIME /VM $((g + 1)) /p" "$vmdir/vm$g.out" >> "$vmdir/times"
done
if [ ${#vm_pids[@]} -gt 0 ]; then
	printf 'VM scenarios: all VMs, from the first start\t%d\n' \
		$(( $(date +%s) - vm_t0 )) >> "$timings"
	# Kept for the next run's sharing out.
	{ cat "$durations" 2>/dev/null
	  awk '$3 == "scenario" { t[$4] += $5 } END { for (n in t) print n, t[n] }' "$vmdir/times"; } |
		awk '{ d[$1] = $2 } END { for (n in d) print n, d[n] }' > "$durations.$$" &&
		mv "$durations.$$" "$durations"
fi
# The KUnit suites must have reported: a silent filter or a module that
# failed to load would otherwise pass with nothing counted.
# (A run of named scenarios without kunit has none to count.)
nsuites=$(grep -c '^KUNIT ' "$results")
if [[ " ${units[*]} " != *" kunit "* ]]; then
	:
elif [ "$nsuites" -ge 8 ]; then
	check_ok "kunit: $nsuites bcache suites reported a KTAP summary" | say
else
	check_fail "kunit: only $nsuites bcache suites reported a KTAP summary" | say
fi
step ""

echo
echo "Time taken, in seconds (the VMs run while the host checks do):"
awk -F '\t' '{ printf "  %-44s %6d\n", $1, $2 }' "$timings"
if [ -s "$vmdir/times" ]; then
	awk '$3 == "boot" { printf "  VM %s boot %-36s %6d\n", $2, substr($4 " (" $6, 1, 34) ")", $5 }' "$vmdir/times"
	echo "  scenarios, slowest first (@@BEGIN to @@END):"
	awk '$3 == "scenario" { printf "    VM %s %-38s %6.1f\n", $2, $4, $5 }' "$vmdir/times" |
		sort -k4 -rn
fi
printf '  %-44s %6d\n' "total" $(( $(date +%s) - total_t0 ))

# Tally: one per check line, and every KUnit case from the summaries
# (the VM's per suite, kunit.py's in one line).
passed=$(grep -c '^CHECK ok ' "$results")
failed=$(grep -c '^CHECK fail ' "$results")
while read -r p f; do
	passed=$((passed + p))
	failed=$((failed + f))
done < <(sed -n 's/^KUNIT\(PY\)\{0,1\} .*pass:\([0-9]*\) fail:\([0-9]*\).*/\2 \3/p' "$results")
echo
grep '^CHECK fail' "$results" | sed 's/^/FAILED: /'
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
