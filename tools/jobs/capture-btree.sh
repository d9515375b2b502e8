# Capture a btree node written by the kernel's own bcache.ko, for the test
# vectors in tests/kunit/btree_vectors.h (not part of the test suite).
#
#   bash scripts/vm.sh -k OUR_KO -K /tmp/cap-disks -l /tmp/cap.log \
#	jobs/capture-btree
#
# vdb becomes a cache set with vda attached in writethrough mode; a few 4 KiB
# writes at known offsets go through /dev/bcache0, then gc is made to
# rewrite the root so that every key lands in the first bset of a fresh
# node, and the set is stopped cleanly. The host then finds the node in the
# kept image of vdb (disk2.img) and the btree root in the journal; the
# cache superblock is printed here for the geometry.
step() { echo "### $*"; }

# 4 KiB blocks of /dev/bcache0 written, in this order: two adjacent ones
# (to see whether the kernel merges them) and some scattered ones.
BLOCKS="1 10 11 100 1000 4097"

wipe /dev/vda
wipe /dev/vdb
check "make-bcache -C vdb -B vda" make-bcache -C /dev/vdb -B /dev/vda
check "load the kernel's bcache.ko" load_ref
bc_register /dev/vdb
bc_register /dev/vda
check "bcache0 appears" wait_for /dev/bcache0
state_clean() { grep -q clean /sys/block/bcache0/bcache/state; }
check "bcache0 attached" retry 10 state_clean
echo writethrough > /sys/block/bcache0/bcache/cache_mode
step "cache_mode $(cat /sys/block/bcache0/bcache/cache_mode)"

for n in $BLOCKS; do
	check "write block $n" fio --name="w$n" --filename=/dev/bcache0 \
		--ioengine=psync --direct=1 --rw=write --bs=4k \
		--offset=$((n * 4096)) --size=4k
done

set_dir=$(ls -d /sys/fs/bcache/*-*-*-*-*)
step "set $set_dir"
# The root as gc rewrites it: one sorted bset holding every key.
echo 1 > "$set_dir/internal/gc_always_rewrite"
echo 1 > "$set_dir/internal/trigger_gc"
sleep 2
# Left on, every gc run (and the allocator keeps asking for them) writes
# the root anew, which makes the stop below take most of a minute.
echo 0 > "$set_dir/internal/gc_always_rewrite"
step "btree nodes: $(cat "$set_dir/internal/btree_nodes" 2>/dev/null)"
echo 1 > "$set_dir/stop"
check "set stopped" wait_gone "$set_dir" 20
check "bcache0 gone" wait_gone /sys/block/bcache0 20
# The set's sysfs directory goes before the set lets go of the module.
check "rmmod bcache" retry 60 rmmod bcache 2>/dev/null
sync
step "cache superblock"
sbedit /dev/vdb --show
