# vm: last (scripts/test.sh runs it after every other scenario)
# Last scenario of every run: kmemleak only reports objects older than a
# few seconds, so wait, then scan for anything the earlier ones leaked.
if [ -e /sys/kernel/debug/kmemleak ]; then
	sleep 6
	check_ok "kmemleak available"
else
	check_fail "kmemleak available"
fi
