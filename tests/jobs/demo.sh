# The demo: what an admin does with bcache on a fresh machine, step by step.
step() { echo; echo "### $*"; }
show() { echo "\$ $*"; "$@" 2>&1; }

step "load our module"
show insmod /lib/modules/ours/bcache.ko
show ls /sys/fs/bcache

step "format /dev/vda as a backing device and register it"
wipe /dev/vda
show make-bcache -B /dev/vda
echo '$ echo /dev/vda > /sys/fs/bcache/register'
echo /dev/vda > /sys/fs/bcache/register && wait_for /dev/bcache0
show ls -l /dev/bcache0
echo "size of /dev/vda:    $(blockdev --getsz /dev/vda) sectors"
echo "size of /dev/bcache0: $(blockdev --getsz /dev/bcache0) sectors"

step "write 8 MiB through /dev/bcache0 and read it back"
dd if=/dev/urandom of=/tmp/data bs=1M count=8 2>/dev/null
show dd if=/tmp/data of=/dev/bcache0 bs=1M oflag=direct
show dd if=/dev/bcache0 of=/tmp/back bs=1M count=8 iflag=direct
if cmp /tmp/data /tmp/back; then echo "read back: identical"; else echo "read back: DIFFERENT"; fi
dd if=/dev/vda of=/tmp/raw bs=512 skip=16 count=16384 2>/dev/null
if cmp /tmp/data /tmp/raw; then echo "on /dev/vda at data_offset 16: identical"; fi

step "set a label and a cache mode through sysfs"
echo demo-disk > /sys/block/bcache0/bcache/label
echo writeback > /sys/block/bcache0/bcache/cache_mode

step "state: /sys/block/bcache0/bcache/"
for f in /sys/block/bcache0/bcache/*; do
	[ -f "$f" ] && [ -r "$f" ] || continue
	printf '%-28s %s\n' "${f##*/}" "$(head -c 200 "$f" 2>/dev/null | head -n 1)"
done

step "the superblock on disk"
show bcache-super-show /dev/vda

step "stop the device and unload"
echo 1 > /sys/block/bcache0/bcache/stop
sleep 1
show ls /dev/bcache0
show rmmod bcache
