# Diagnosis (not a test): the sysfs trees of a cache set with one backing
# device, under ours and under the kernel's bcache in the same boot: every
# name below /sys/fs/bcache/<set>/, the cache device's bcache/ directory
# and bcache0's, with what each readable file prints. The same disks and
# the same steps for both, so a diff of the two dumps is the ABI gap.
C=/dev/vdb
B=/dev/vda
dump() {
	who=$1
	cs_make $C $B --bucket 256k > /dev/null
	"load_$who"
	cs_up $C $B
	wait_for /sys/block/bcache0/bcache/state
	set=$(cs_dir)
	dd if=/dev/bcache0 of=/dev/null bs=64k count=64 2>/dev/null
	for top in "$set" /sys/block/vdb/bcache /sys/block/bcache0/bcache; do
		short=$(echo "$top" | sed 's,/sys/fs/bcache/[^/]*,SET,')
		(cd "$top" && find . -mindepth 1 -maxdepth 2 | sort) |
		while read -r f; do
			p="$top/${f#./}"
			if [ -L "$p" ]; then
				echo "SYSFS $who $short/${f#./} -> link"
			elif [ -d "$p" ]; then
				echo "SYSFS $who $short/${f#./}/"
			elif [ -r "$p" ]; then
				v=$(head -c 300 "$p" 2>&1 | tr '\n' '|')
				echo "SYSFS $who $short/${f#./} = $v"
			else
				echo "SYSFS $who $short/${f#./} (write-only)"
			fi
		done
	done
	cs_stop
	unload_bcache
}
dump ours
dump ref
check_ok "sysfs dump ran"
