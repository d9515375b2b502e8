# KUnit: loading our module runs every bcache_* suite linked into it; the
# KTAP output reaches the host through the kernel log.
# printf, not echo: a trailing newline would become part of the glob.
printf '%s' 'bcache*' > /sys/module/kunit/parameters/filter_glob
check "our bcache.ko (with KUnit suites) loads" load_ours
printf '%s' __none__ > /sys/module/kunit/parameters/filter_glob
suites=$(ls -d /sys/kernel/debug/kunit/bcache* 2>/dev/null | wc -l)
check "KUnit ran bcache suites ($suites)" test "$suites" -ge 8
if [ -d /sys/kernel/debug/kunit ]; then
	for d in /sys/kernel/debug/kunit/bcache*; do
		[ -e "$d/results" ] || continue
		s=${d##*/}
		check_not "KUnit suite $s has no failed case" grep -q '^[[:space:]]*not ok' "$d/results"
	done
fi
