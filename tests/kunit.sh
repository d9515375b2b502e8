# KUnit: loading our module runs every bcache_* suite linked into it; the
# KTAP output reaches the host through the kernel log.
echo 'bcache*' > /sys/module/kunit/parameters/filter_glob
check "our bcache.ko (with KUnit suites) loads" load_ours
echo __none__ > /sys/module/kunit/parameters/filter_glob
if [ -d /sys/kernel/debug/kunit ]; then
	for d in /sys/kernel/debug/kunit/bcache*; do
		[ -e "$d/results" ] || continue
		s=${d##*/}
		check_not "KUnit suite $s has no failed case" grep -q '^[[:space:]]*not ok' "$d/results"
	done
fi
