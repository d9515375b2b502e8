# The demo: what an admin does with bcache on a fresh machine, step by step:
# a cache device (vdb) in front of a backing device (vda).
step() { echo; echo "### $*"; }
show() { echo "\$ $*"; "$@" 2>&1; }
hits() { cat /sys/block/bcache0/bcache/stats_total/cache_hits; }

step "load our module"
show insmod /lib/modules/ours/bcache.ko
show ls /sys/fs/bcache

step "format vdb as a cache and vda as a backing device, register both"
wipe /dev/vda
wipe /dev/vdb
show make-bcache --bucket 256k -C /dev/vdb -B /dev/vda
echo '$ echo /dev/vdb > /sys/fs/bcache/register'
echo /dev/vdb > /sys/fs/bcache/register
echo '$ echo /dev/vda > /sys/fs/bcache/register'
echo /dev/vda > /sys/fs/bcache/register && wait_for /dev/bcache0
show ls -l /dev/bcache0
show ls /sys/fs/bcache
SET=$(readlink -f /sys/block/bcache0/bcache/cache)
echo "bcache0 is attached to the cache set ${SET##*/}"

step "write 8 MiB through /dev/bcache0 (writethrough) and read it back"
echo 0 > /sys/block/bcache0/bcache/sequential_cutoff
dd if=/dev/urandom of=/tmp/data bs=1M count=8 2>/dev/null
show dd if=/tmp/data of=/dev/bcache0 bs=1M oflag=direct conv=fsync
sync; echo 3 > /proc/sys/vm/drop_caches
show dd if=/dev/bcache0 of=/tmp/back bs=1M count=8
if cmp /tmp/data /tmp/back; then echo "read back: identical"; else echo "read back: DIFFERENT"; fi
dd if=/dev/vda of=/tmp/raw bs=512 skip=16 count=16384 2>/dev/null
if cmp /tmp/data /tmp/raw; then echo "on /dev/vda at data_offset 16: identical"; fi
sleep 6	# the stats windows fold their counters in every few seconds
echo "cache hits so far: $(hits)"

step "state of the backing device: /sys/block/bcache0/bcache/"
for f in /sys/block/bcache0/bcache/*; do
	[ -f "$f" ] && [ -r "$f" ] || continue
	printf '%-28s %s\n' "${f##*/}" "$(head -c 200 "$f" 2>/dev/null | head -n 1)"
done

step "state of the cache set: $SET/"
for f in "$SET"/*; do
	[ -f "$f" ] && [ -r "$f" ] || continue
	printf '%-30s %s\n' "${f##*/}" "$(head -c 200 "$f" 2>/dev/null | head -n 1)"
done

step "the first keys of the btree (debugfs)"
mount -t debugfs none /sys/kernel/debug 2>/dev/null
show head -n 5 "/sys/kernel/debug/bcache/bcache-${SET##*/}"

step "the superblocks on disk"
show bcache-super-show /dev/vdb
show bcache-super-show /dev/vda

step "stop the set and the device, unload"
echo 1 > "$SET/stop"
echo 1 > /sys/block/bcache0/bcache/stop
sleep 2
show ls /dev/bcache0
show rmmod bcache
