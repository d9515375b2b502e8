# A cache set from make-bcache to restart, as an administrator meets it:
# the set's sysfs tree and its file formats, cached reads in each cache
# mode, gc on demand, detach and re-attach, flash volumes (ref only: ours
# refuses them) and a stop and re-register that keeps the cached data.
# Runs against $BCMOD (ours or ref).
C=/dev/vdb
B=/dev/vda
check "make-bcache -C vdb -B vda, 256 KiB buckets" cs_make $C $B --bucket 256k
UUID=$(cs_uuid_of $C)
SET=/sys/fs/bcache/$UUID
check "module loads" load_bcache
check "register cache and backing device" cs_up $C $B
BC=bcache0
SYS=/sys/block/$BC/bcache

# --- the set's sysfs tree ---
check "the set's directory is named by its uuid" test -d "$SET"
check_eq "bcache0's cache link points at the set" "$UUID" \
	"$(basename "$(readlink -f $SYS/cache)")"
check_eq "the set's cache0 is vdb" vdb \
	"$(basename "$(dirname "$(readlink -f "$SET/cache0")")")"
check_eq "the set's bdev0 is bcache0's backing device" vda \
	"$(basename "$(dirname "$(readlink -f "$SET/bdev0")")")"
check "the set has an internal/ directory" test -d "$SET/internal"
for f in bucket_size block_size btree_cache_size cache_available_percent \
	 congested_read_threshold_us congested_write_threshold_us \
	 journal_delay_ms root_usage_percent tree_depth average_key_size \
	 internal/trigger_gc internal/btree_nodes stop unregister \
	 flash_vol_create; do
	check "the set has $f" test -e "$SET/$f"
done
# Every name, as the kernel's bcache.ko (6.12) lists them for a set with
# one cache and one backing device (recorded with tools/jobs/sysfs-diff.sh).
names() { ls "$1" | tr '\n' ' '; }
check_eq "the set's attributes are upstream's" \
	"average_key_size bdev0 block_size btree_cache_size bucket_size cache0 cache_available_percent clear_stats congested congested_read_threshold_us congested_write_threshold_us errors flash_vol_create internal io_error_halflife io_error_limit journal_delay_ms root_usage_percent stats_day stats_five_minute stats_hour stats_total stop synchronous tree_depth unregister " \
	"$(names "$SET")"
check_eq "the set's internal/ attributes are upstream's" \
	"active_journal_entries bset_tree_stats btree_cache_max_chain btree_gc_average_duration_ms btree_gc_average_frequency_sec btree_gc_last_sec btree_gc_max_duration_ms btree_nodes btree_read_average_duration_us btree_read_average_frequency_ms btree_read_last_ms btree_read_max_duration_us btree_shrinker_disabled btree_sort_average_duration_us btree_sort_average_frequency_ms btree_sort_last_ms btree_sort_max_duration_us btree_split_average_duration_us btree_split_average_frequency_sec btree_split_last_sec btree_split_max_duration_us btree_used_percent cache_read_races copy_gc_enabled cutoff_writeback cutoff_writeback_sync feature_compat feature_incompat feature_ro_compat flush_write gc_after_writeback gc_always_rewrite idle_max_writeback_rate io_disable prune_cache reclaim reclaimed_journal_buckets trigger_gc writeback_keys_done writeback_keys_failed " \
	"$(names "$SET/internal")"
check_eq "the set's stats_total attributes are upstream's" \
	"bypassed cache_bypass_hits cache_bypass_misses cache_hit_ratio cache_hits cache_miss_collisions cache_misses " \
	"$(names "$SET/stats_total")"
check_eq "the cache device's attributes are upstream's" \
	"block_size btree_written bucket_size cache_replacement_policy clear_stats discard io_errors metadata_written nbuckets priority_stats set written " \
	"$(names /sys/block/vdb/bcache)"
# The values, for the log (compare ours with ref there).
for f in bucket_size block_size btree_cache_size cache_available_percent \
	 congested_read_threshold_us congested_write_threshold_us \
	 journal_delay_ms root_usage_percent tree_depth average_key_size \
	 io_error_limit io_error_halflife errors synchronous \
	 internal/btree_nodes internal/btree_used_percent \
	 internal/active_journal_entries; do
	echo "### $f=$(cat "$SET/$f" 2>&1)"
done
matches() { echo "$2" | grep -Eqx "$1"; }
setval() { cat "$SET/$1"; }
check_eq "bucket_size reads 256.0k" 256.0k "$(setval bucket_size)"
check_eq "block_size reads 0.5k (bch_hprint of 512)" 0.5k "$(setval block_size)"
check_eq "a fresh set has one btree node" 1 "$(setval internal/btree_nodes)"
check_eq "errors defaults to unregister" "[unregister] panic" "$(setval errors)"
check_eq "journal_delay_ms defaults to 100" 100 "$(setval journal_delay_ms)"
check_eq "a fresh set's btree is one node deep" 0 "$(setval tree_depth)"
check "root_usage_percent is a percentage" \
	matches '[0-9]|[1-9][0-9]|100' "$(setval root_usage_percent)"
check "cache_available_percent is a percentage" \
	matches '[0-9]|[1-9][0-9]|100' "$(setval cache_available_percent)"
check "btree_cache_size is a human-readable size" \
	matches '[0-9]+(\.[0-9])?[kMG]?' "$(setval btree_cache_size)"
check "average_key_size is a human-readable size" \
	matches '[0-9]+(\.[0-9])?[kMG]?' "$(setval average_key_size)"
check_eq "congested_read_threshold_us stores and reads back" 0 \
	"$(setval congested_read_threshold_us)"
check_eq "the cache mode defaults to writethrough" \
	"[writethrough] writeback writearound none" "$(cat $SYS/cache_mode)"
check_eq "state is clean" clean "$(cat $SYS/state)"

# --- writethrough: written data is cached, and reaches the backing disk ---
pattern_mib wt 4 > /tmp/wt
SUM_WT=$(md5sum < /tmp/wt | cut -d' ' -f1)
check "write 4 MiB in writethrough" \
	dd if=/tmp/wt of=/dev/$BC bs=1M seek=16 conv=fsync
check_eq "the backing disk got it (data offset 16 sectors)" \
	"$(head -c 1048576 /tmp/wt | md5sum | cut -d' ' -f1)" \
	"$(sect_sum $B $((16 * 2048 + 16)) 2048)"
hits=$(bc_stat $BC cache_hits)
drop_caches
check_eq "writethrough data reads back" "$SUM_WT" "$(mib_sum /dev/$BC 16 4)"
check "those reads hit the cache" wait_stat_above $BC cache_hits "$hits"

# --- writearound: a write bypasses the cache; a reread misses, then hits ---
check "switch to writearound" sh -c "echo writearound > $SYS/cache_mode"
check_eq "cache_mode shows writearound" \
	"writethrough writeback [writearound] none" "$(cat $SYS/cache_mode)"
pattern_mib wa 2 > /tmp/wa
SUM_WA=$(md5sum < /tmp/wa | cut -d' ' -f1)
dd if=/tmp/wa of=/dev/$BC bs=1M seek=40 conv=fsync 2>/dev/null
miss=$(bc_stat $BC cache_misses)
drop_caches
check_eq "writearound data reads back" "$SUM_WA" "$(mib_sum /dev/$BC 40 2)"
check "the first read of it misses" wait_stat_above $BC cache_misses "$miss"
hits=$(bc_stat $BC cache_hits)
drop_caches
check_eq "and reads back again" "$SUM_WA" "$(mib_sum /dev/$BC 40 2)"
check "the second read hits" wait_stat_above $BC cache_hits "$hits"
# Over data the cache holds: the cached copy must not outlive the write.
pattern_mib wa2 4 > /tmp/wa2
SUM_WA2=$(md5sum < /tmp/wa2 | cut -d' ' -f1)
dd if=/tmp/wa2 of=/dev/$BC bs=1M seek=16 conv=fsync 2>/dev/null
drop_caches
check_eq "a writearound write over cached data reads back new" \
	"$SUM_WA2" "$(mib_sum /dev/$BC 16 4)"

# --- none: nothing is cached; what the cache holds is still read from it,
# counted as bypass hits. Counters are folded in by a timer, so hits are
# compared between two folds that each follow the reads before them.
check "switch to none" sh -c "echo none > $SYS/cache_mode"
pattern_mib none 1 > /tmp/none
dd if=/tmp/none of=/dev/$BC bs=1M seek=48 conv=fsync 2>/dev/null
drop_caches
check_eq "mode none: data reads back" \
	"$(md5sum < /tmp/none | cut -d' ' -f1)" "$(mib_sum /dev/$BC 48 1)"
bhits=$(bc_stat $BC cache_bypass_hits)
drop_caches
check_eq "mode none: cached data reads back" "$SUM_WA" "$(mib_sum /dev/$BC 40 2)"
check "mode none: reads of cached data are bypass hits" \
	wait_stat_above $BC cache_bypass_hits "$bhits"
hits=$(bc_stat $BC cache_hits)
bhits=$(bc_stat $BC cache_bypass_hits)
drop_caches
mib_sum /dev/$BC 40 2 > /dev/null
wait_stat_above $BC cache_bypass_hits "$bhits"
check_eq "mode none: no cache hits counted" "$hits" "$(bc_stat $BC cache_hits)"
check "back to writethrough" sh -c "echo writethrough > $SYS/cache_mode"

# --- gc on demand keeps what the cache holds ---
drop_caches
mib_sum /dev/$BC 40 2 > /dev/null
check "trigger_gc is accepted" sh -c "echo 1 > $SET/internal/trigger_gc"
gc_recent() { [ "$(cat "$SET/internal/btree_gc_last_sec")" -le 5 ]; }
check "gc ran (btree_gc_last_sec is recent)" retry 30 gc_recent
echo "### after gc: btree_nodes=$(cat "$SET/internal/btree_nodes") avail=$(setval cache_available_percent) gc_ms=$(cat "$SET/internal/btree_gc_average_duration_ms")"
hits=$(bc_stat $BC cache_hits)
drop_caches
check_eq "after gc the data still reads back" "$SUM_WA" "$(mib_sum /dev/$BC 40 2)"
check "and still hits the cache" wait_stat_above $BC cache_hits "$hits"

# --- detach and re-attach ---
check "detach is accepted" sh -c "echo 1 > $SYS/detach"
no_cache() { [ "$(cat $SYS/state)" = "no cache" ]; }
check "state becomes 'no cache'" retry 30 no_cache
check "the cache link is gone" wait_gone $SYS/cache
check "the set's bdev0 is gone" wait_gone "$SET/bdev0"
check_eq "detached: data reads back from the backing disk" \
	"$SUM_WA2" "$(mib_sum /dev/$BC 16 4)"
check "attach by set uuid" sh -c "echo $UUID > $SYS/attach"
check "attached again" retry 20 bc_attached $BC
# The link is named by the uuid slot, and detach retired the old one.
has_bdev() { ls "$SET" | grep -q '^bdev[0-9]'; }
check "the set has a bdevN link again" retry 10 has_bdev
echo "### after re-attach: $(ls "$SET" | grep '^bdev')"
check_eq "attached again: data reads back" "$SUM_WA2" "$(mib_sum /dev/$BC 16 4)"
# Cached anew, for the restart below.
pattern_mib keep 4 > /tmp/keep
SUM_KEEP=$(md5sum < /tmp/keep | cut -d' ' -f1)
dd if=/tmp/keep of=/dev/$BC bs=1M seek=64 conv=fsync 2>/dev/null
hits=$(bc_stat $BC cache_hits)
drop_caches
check_eq "data written after re-attach reads back" "$SUM_KEEP" "$(mib_sum /dev/$BC 64 4)"
check "and hits" wait_stat_above $BC cache_hits "$hits"

# --- flash-only volumes: ref makes one, ours refuses cleanly ---
if testing_ref; then
	check "flash_vol_create 64M" sh -c "echo 64M > $SET/flash_vol_create"
	check "a flash volume appears" wait_for /sys/block/bcache1
	check_eq "it is 64 MiB" $((64 * 2048)) "$(cat /sys/block/bcache1/size)"
	pattern_mib flash 1 > /tmp/flash
	dd if=/tmp/flash of=/dev/bcache1 bs=1M conv=fsync 2>/dev/null
	drop_caches
	check_eq "the flash volume reads back" \
		"$(md5sum < /tmp/flash | cut -d' ' -f1)" "$(mib_sum /dev/bcache1 0 1)"
else
	check_not "flash_vol_create is refused" \
		sh -c "echo 64M > $SET/flash_vol_create"
	check_eq "no flash volume appears" 1 "$(bc_count)"
fi

# --- stop everything and come back ---
check "stop the set" cs_stop
[ -e /sys/block/$BC ] && bc_stop $BC
check "every bcache device is gone" retry 20 sh -c '[ "$(ls /sys/block | grep -c ^bcache)" = 0 ]'
check "re-register the cache" retry 10 bc_register $C
# A set read from disk runs no gc (as the kernel's): registration's btree
# check marks the buckets and counts the nodes below the root.
echo "### re-registered: gc_last=$(cat "$SET/internal/btree_gc_last_sec") btree_nodes=$(cat "$SET/internal/btree_nodes") depth=$(setval tree_depth)"
check_eq "re-registered: no gc has run (btree_gc_last_sec)" -1 \
	"$(cat "$SET/internal/btree_gc_last_sec")"
below_root=0
[ "$(setval tree_depth)" -gt 0 ] && below_root=1
check_eq "re-registered: btree_nodes counts the nodes below the root" \
	"$below_root" "$(( $(cat "$SET/internal/btree_nodes") > 0 ))"
check "re-register the backing device" bc_register_retry $B
check "its bcache device appears" wait_for /sys/block/vda/bcache/dev 20
BC=$(bc_name_of vda)
check "attached to the set" retry 20 bc_attached "$BC"
cs_tune "$BC"
check_eq "after restart: the data written before reads back" \
	"$SUM_KEEP" "$(mib_sum /dev/$BC 64 4)"
check "after restart: those reads hit the cache" wait_stat_above "$BC" cache_hits 0
check_eq "after restart: older data reads back too" \
	"$SUM_WA2" "$(mib_sum /dev/$BC 16 4)"
if testing_ref; then
	check "after restart: the flash volume is back" \
		sh -c 'ls /sys/block | grep -c ^bcache | grep -qx 2'
fi
check "stop the set at the end" cs_stop
unload_bcache
check_not "module unloads" grep -q "^bcache " /proc/modules
