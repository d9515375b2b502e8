# KUnit: loading our module runs every bcache_* suite linked into it; the
# KTAP output reaches the host through the kernel log.
check "our bcache.ko (with KUnit suites) loads" load_ours
if [ -d /sys/kernel/debug/kunit ]; then
	for d in /sys/kernel/debug/kunit/bcache*; do
		[ -e "$d/results" ] || continue
		s=${d##*/}
		check_not "KUnit suite $s has no failed case" grep -q '^[[:space:]]*not ok' "$d/results"
	done
fi
