#!/bin/sh
# Runs one scenario script in a subshell, then the checks every scenario
# gets: the kernel log stays free of splats and leaks, and the kernel log
# is copied to the console (prefixed) for the host's log.
. /guest/guest-lib.sh
name=$1
SCENARIO=$name
export SCENARIO
if [ -f "/tests/$name.sh" ]; then
	( . "/tests/$name.sh" )
else
	check_fail "scenario script exists"
fi
# Unload whichever bcache is still loaded, so kmemleak sees its frees.
unload_bcache
# kmemleak scans only in a boot's last scenario (see kmemleak_scan).
if grep -q '^# vm: last' "/tests/$name.sh" 2>/dev/null; then
	check_no_splat scan
else
	check_no_splat
fi
