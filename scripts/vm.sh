#!/bin/bash
# Boot the test kernel under QEMU (TCG) and run scenarios in the guest.
#
# usage: scripts/vm.sh [-f debug|perf] [-k OUR_KO] [-l LOG] [-t SECS]
#                      [-d NDISKS] [-s SIZE] [-m ours|ref] [-x FILE]...
#                      [-K DIR] [-c CPUS] SCENARIO...
#
# A SCENARIO is tests/vm/NAME.sh named NAME, or a job tools/jobs/NAME.sh
# named jobs/NAME (scripts/initramfs.sh puts both under /tests/).
# Prints each CHECK line and each KUnit summary line, and how long things
# took: "TIME boot N SECS SCENARIOS" per boot and "TIME scenario NAME SECS"
# per scenario, from @@BEGIN to its end marker; the full console goes to
# LOG. The times are the host's: under TCG the guest's clock runs fast. A scenario that never reaches its END marker (the kernel died or
# hung past SECS) fails with the console's tail, and the guest is booted
# again for the scenarios after it. Disks are sparse files that live for
# the whole call, so a scenario may span boots by being named twice.
# -m ref runs the scenarios against the kernel's own bcache.ko (the guest
# exports BCMOD=ref; guest-lib.sh's load_bcache picks the module by it).
# -x FILE (repeatable) puts FILE into /lib/modules/extra/ in the guest,
# e.g. a benchmark module. VM_ACCEL, if set, replaces QEMU's accelerator
# arguments (tools/bench-bset.sh -i uses it for -icount); VM_APPEND is
# added to the kernel command line (tools/bench.sh -i: shorter runs).
# -c CPUS: the guest's CPUs (default 2; scripts/test.sh runs two guests of
# one CPU side by side).
# -K DIR keeps the disk images (DIR/diskN.img) after the call, for a look
# at what the guest wrote (tools/jobs/capture-btree.sh).
# A scenario that cuts the power on purpose (sysrq b) prints
# "@@POWERCUT name" first: it then counts as run to its end, and the next
# boot goes on with the scenarios after it (tests/vm/cache_powercut.sh).
# "@@REBOOT name" is the same for a clean reboot, whose end vm.sh checks
# (tests/vm/cache_reboot.sh).
. "$(dirname "$0")/lib.sh"

flavor=debug ko= logf= per_scenario=600 ndisks=4 size=2G bcmod=ours extras=()
keep= cpus=2
while getopts f:k:l:t:d:s:m:x:K:c: opt; do
	case $opt in
	f) flavor=$OPTARG ;;
	k) ko=$OPTARG ;;
	l) logf=$OPTARG ;;
	t) per_scenario=$OPTARG ;;
	d) ndisks=$OPTARG ;;
	s) size=$OPTARG ;;
	m) bcmod=$OPTARG ;;
	x) extras+=("$OPTARG") ;;
	K) keep=$OPTARG ;;
	c) cpus=$OPTARG ;;
	*) die "bad option" ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || die "no scenario named"
case $bcmod in ours|ref) ;; *) die "-m takes ours or ref" ;; esac

kbuild=$("$REPO/scripts/kernel.sh" "$flavor")
[ -n "$ko" ] || ko=$("$REPO/scripts/module.sh" "$flavor")
work=$(mktemp -d "${TMPDIR:-/tmp}/bcache-vm.XXXXXX")
trap 'rm -rf "$work"' EXIT
logf=${logf:-$work/console.log}
: > "$logf"

"$REPO/scripts/initramfs.sh" "$flavor" "$ko" "$work/initrd.cpio" "${extras[@]}"
diskdir=$work
if [ -n "$keep" ]; then
	mkdir -p "$keep" && diskdir=$keep
	rm -f "$keep"/disk*.img
fi
disks=()
for i in $(seq 1 "$ndisks"); do
	truncate -s "$size" "$diskdir/disk$i.img"
	disks+=(-drive "file=$diskdir/disk$i.img,if=virtio,format=raw,cache=unsafe,discard=unmap")
done
# Benchmarks (perf kernel): with QEMU's default queue of 256, a virtio
# disk takes 254 segments per request, so whether a 1 MiB read of 256
# pages goes out as one request or two depends on whether two of fio's
# buffer pages happen to be adjacent in memory. A bigger queue (1022
# segments) takes that luck out of the numbers.
[ "$flavor" = perf ] && disks+=(-global virtio-blk-pci.queue-size=1024)
# The perf kernel's benchmarks keep a 512 MiB RAM disk. The debug kernel
# gets what its scenarios need with room to spare: a boot under KASAN and
# every kmemleak scan take time in proportion to the memory (1.5 GiB: a
# boot of 30 s and scans of 9 s under TCG; 640 MiB: 22 s and 3 s).
mem=768
[ "$flavor" = perf ] && mem=1536

# stamp_marks OUT: the host time at which each scenario marker appeared
# on the console, as "SECS MARKER NAME" lines in OUT.marks (0.5 s steps).
stamp_marks() {
	local seen now
	seen=$(wc -l < "$1.marks")
	now=$(date +%s.%N)
	tr -d '\r' < "$1" | grep -ao '@@\(BEGIN\|END\|POWERCUT\|REBOOT\) [^[:space:]]*' |
		tail -n +$((seen + 1)) | sed "s/^/$now /" >> "$1.marks" || true
}

# One boot: runs the given scenarios; returns when the guest is gone.
# QEMU appends to the console file, so that a @@TIMEOUT line written
# there is not overwritten by what QEMU prints after it.
boot() {
	local job=$1 boot_no=$2 out=$3 pid last now begun
	: > "$out"
	# shellcheck disable=SC2086 # VM_ACCEL is a list of arguments
	qemu-system-x86_64 ${VM_ACCEL:--accel tcg,thread=multi} -cpu max -smp "$cpus" -m "$mem" \
		-nographic -no-reboot -kernel "$kbuild/arch/x86/boot/bzImage" \
		-initrd "$work/initrd.cpio" "${disks[@]}" \
		-append "console=ttyS0 loglevel=4 panic=-1 bcjob=$job bcboot=$boot_no bcmod=$bcmod ${VM_APPEND:-}" \
		< /dev/null >> "$out" 2>&1 &
	pid=$!
	: > "$out.marks"
	last=$(date +%s) begun=$(grep -c '^@@BEGIN' "$out" || true)
	# A short poll: the next boot starts as soon as this one is gone, and
	# the markers' times are the host's to within half a second.
	while kill -0 "$pid" 2>/dev/null; do
		sleep 0.5
		stamp_marks "$out"
		now=$(grep -c '@@BEGIN' "$out" || true)
		if [ "$now" != "$begun" ]; then
			begun=$now last=$(date +%s)
		elif [ $(( $(date +%s) - last )) -gt "$per_scenario" ]; then
			echo "@@TIMEOUT after ${per_scenario}s" >> "$out"
			# Under set -e: the second kill finds QEMU gone.
			kill "$pid" 2>/dev/null || true
			sleep 1
			kill -9 "$pid" 2>/dev/null || true
		fi
	done
	wait "$pid" 2>/dev/null || true
	stamp_marks "$out"
}

# KUnit prints no "# suite: pass:" summary for a suite of one case; count
# such a suite's case lines ourselves so that every case is counted.
count_ktap() {
	local l=${1#K: \[*\] }
	case "$l" in
	"    # Subtest: bcache"*)
		ksuite=${l##*Subtest: } kpass=0 kfail=0 kskip=0 ksum= ;;
	"# bcache"*": pass:"*) ksum=1 ;;
	"    ok "*"# SKIP"*) kskip=$((kskip + 1)) ;;
	"    ok "*) kpass=$((kpass + 1)) ;;
	"    not ok "*) kfail=$((kfail + 1)) ;;
	"ok "*" bcache"*|"not ok "*" bcache"*)
		[ -n "$ksuite" ] && [ -z "$ksum" ] &&
			echo "KUNIT $ksuite: pass:$kpass fail:$kfail skip:$kskip total:$((kpass + kfail + kskip))"
		ksuite= ;;
	esac
}

# A scenario that reboots on purpose with devices registered prints
# "@@REBOOT name" (clean_reboot in tests/guest/guest-lib.sh): the rest of
# the console must show bcache's reboot notifier stopping every device, no
# splat, and the guest going down by itself.
splat_re=$(sed -n "s/^SPLAT='\(.*\)'$/\1/p" "$REPO/tests/guest/guest-lib.sh")
check_reboot() {
	local name=$1 rest
	rest=$(tr -d '\r' < "$2" | sed -n "\\#@@REBOOT $name\$#,\$p")
	reboot_check "$name" "the reboot notifier stopped every device" \
		grep -q 'bcache_reboot() All devices stopped' <<< "$rest"
	reboot_check "$name" "no kernel splat during the reboot" \
		not_grep "$splat_re" <<< "$rest"
	reboot_check "$name" "the guest went down by itself" \
		not_grep '^@@TIMEOUT' <<< "$rest"
}
not_grep() { ! grep -Eq "$1"; }
reboot_check() {
	local name=$1 what=$2
	shift 2
	if "$@"; then
		echo "CHECK ok $name: $what"
	else
		echo "CHECK fail $name: $what"
	fi
}

remaining=("$@")
boot_no=0
while [ ${#remaining[@]} -gt 0 ]; do
	boot_no=$((boot_no + 1))
	job=$(IFS=,; echo "${remaining[*]}")
	out="$work/boot$boot_no.log"
	boot_t0=$(date +%s)
	boot "$job" "$boot_no" "$out"
	echo "TIME boot $boot_no $(( $(date +%s) - boot_t0 )) $job"
	awk '$2 == "@@BEGIN" { t[$3] = $1; next }
	     $3 in t { printf "TIME scenario %s %.1f\n", $3, $1 - t[$3]; delete t[$3] }' \
		"$out.marks"
	tr -d '\r' < "$out" >> "$logf"

	# Report what this boot did, and find where it stopped.
	done_n=0
	current=
	cut=
	ksuite=
	while IFS= read -r line; do
		count_ktap "$line"
		case "$line" in
		*@@BEGIN\ *) current=${line##*@@BEGIN } cut= ;;
		*@@END\ *) [ -n "$cut" ] || done_n=$((done_n + 1)); current= ;;
		*@@POWERCUT\ *) done_n=$((done_n + 1)); current= cut=1 ;;
		*@@REBOOT\ *)
			done_n=$((done_n + 1)) current= cut=1
			check_reboot "${line##*@@REBOOT }" "$out" ;;
		*CHECK\ ok\ *|*CHECK\ fail\ *) echo "CHECK ${line#*CHECK }" ;;
		*"# bcache"*": pass:"*) echo "KUNIT ${line#*# }" ;;
		*"    | "*) echo "$line" ;;
		esac
	done < <(tr -d '\r' < "$out")

	# A scenario with a failed check: the end of its kernel log too.
	for s in $(tr -d '\r' < "$out" | sed -n 's/.*CHECK fail \([^:]*\):.*/\1/p' | sort -u); do
		echo "    | --- kernel log of $s, last lines ---"
		tr -d '\r' < "$out" | sed -n "\\#@@BEGIN $s\$#,\\#@@END $s\$#p" |
			grep -a '^K: ' | tail -n 25 | sed 's/^/    | /' || true
	done

	if [ -n "$cut" ]; then
		remaining=("${remaining[@]:$done_n}")
	elif [ -n "$current" ] || [ "$done_n" -lt ${#remaining[@]} ]; then
		failed=${current:-${remaining[$done_n]}}
		echo "CHECK fail $failed: scenario ran to its end (kernel died, hung or timed out)"
		tr -d '\r' < "$out" | tail -n 40 | sed 's/^/    | /'
		remaining=("${remaining[@]:$((done_n + 1))}")
	else
		remaining=()
	fi
done
