#!/bin/bash
# fstests (xfstests) on ext4 over /dev/bcacheN in writeback mode, under
# the kernel's bcache and under ours, in the Debian image on Debian's own
# kernel: ours must fail no test that the kernel's passes. Long (hours
# for -g quick under TCG): a command of its own, not part of the test
# command.
#
# usage: scripts/xfstests.sh [-m ref|ours|both] [-t HOURS] [CHECK_ARGS...]
#   CHECK_ARGS go to fstests' ./check (default: -g quick); -t bounds each
#   driver's run (default 12 hours).
# The source is ../shared/third-party/xfstests-*.tar.xz (Debian does not
# package fstests); scripts/xfstests-image.sh builds it into a copy of the
# Debian image, once. Each driver's
# run gets a fresh copy of that image with two backing devices (TEST_DEV,
# SCRATCH_DEV; 12 GiB, sparse) and one cache device (4 GiB). The summary
# of each run (Ran, Not run, Failures) goes to
# $BCACHE_CACHE/xfstests-results-<driver>.txt, the full console beside it;
# Documentation/xfstests.rst keeps the latest lists.
. "$(dirname "$0")/lib.sh"
. "$REPO/scripts/debian-lib.sh"

modes=(ref ours) hours=12
while getopts m:t: opt; do
	case $opt in
	m) [ "$OPTARG" = both ] || modes=("$OPTARG") ;;
	t) hours=$OPTARG ;;
	*) die "bad option" ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || set -- -g quick

ximg=$("$REPO/scripts/xfstests-image.sh") || die "no fstests image"
kver=$(cat "$ximg/kver")
work=$(mktemp -d "${TMPDIR:-/tmp}/bcache-xfstests.XXXXXX")
trap 'rm -rf --one-file-system "$work"' EXIT

# --- one run per driver ---
mkdir -p "$work/scenario"
cp "$REPO/tests/debian/xfstests.sh" "$work/scenario/step.sh"
printf '%s\n' "$*" > "$work/scenario/check-args"
scenario_disk "$work/scenario" "$work/scenario.img"
for m in "${modes[@]}"; do
	log "fstests ($*) under the $m driver"
	rm -f "$work/root.img" "$work"/disk*.img
	cp --sparse=always "$ximg/root.img" "$work/root.img"
	[ "$m" = ours ] && dkms_install_ours "xfstests ($m)"
	truncate -s 12G "$work/disk-test.img" "$work/disk-scratch.img"
	truncate -s 4G "$work/disk-cache.img"
	console=$BCACHE_CACHE/xfstests-console-$m.log
	t0=$(date +%s)
	rc=0
	boot_guest "$console.raw" $((hours * 3600)) "$work/root.img" \
		"$work/disk-test.img" "$work/disk-scratch.img" \
		"$work/disk-cache.img" "$work/scenario.img" || rc=$?
	tr -d '\r' < "$console.raw" > "$console"
	rm -f "$console.raw"
	res=$BCACHE_CACHE/xfstests-results-$m.txt
	{
		echo "driver: $m ($(grep -ao '@@XFSTESTS driver .*' "$console" | tail -n 1 | cut -d' ' -f3-))"
		echo "kernel: $kver; check $*; $(( $(date +%s) - t0 )) s"
		grep -aE '^(Ran|Not run|Failures|Failed [0-9]+ of|Passed all)' "$console" || true
	} > "$res"
	cat "$res"
	if [ "$rc" = 124 ] || ! grep -aq '@@XFSTESTS done' "$console"; then
		check_fail "xfstests ($m): the run ended (exit $rc)"
	else
		check_ok "xfstests ($m): the run ended"
	fi
	want="the kernel's"
	[ "$m" = ours ] && want=ours
	if grep -aq "@@XFSTESTS driver $want" "$console"; then
		check_ok "xfstests ($m): the tests ran under $want driver"
	else
		check_fail "xfstests ($m): the tests ran under $want driver"
	fi
done

# Ours must fail nothing the kernel's passes.
failures() {
	sed -n 's/^Failures: *//p' "$BCACHE_CACHE/xfstests-results-$1.txt" |
		tr ' ' '\n' | sed '/^$/d' | sort -u
}
ran() {
	sed -n 's/^Ran: *//p' "$BCACHE_CACHE/xfstests-results-$1.txt" |
		tr ' ' '\n' | sed '/^$/d' | sort -u
}
if [ -f "$BCACHE_CACHE/xfstests-results-ref.txt" ] &&
   [ -f "$BCACHE_CACHE/xfstests-results-ours.txt" ]; then
	worse=$(comm -23 <(failures ours) <(failures ref) | comm -12 - <(ran ref) | tr '\n' ' ')
	if [ -z "$worse" ]; then
		check_ok "xfstests: ours fails no test that the kernel's passes"
	else
		check_fail "xfstests: ours fails what the kernel's passes: $worse"
	fi
fi
