# The sysfs ABI of a registered backing device with no cache: attribute
# names, the exact strings they print, what they accept and refuse, and
# that label and cache_mode persist in the superblock.
# The expected strings were recorded from the kernel's own bcache.ko (6.12).
# Runs against $BCMOD (ours or ref).
DEV=/dev/vda
A=/sys/block/bcache0/bcache
wipe $DEV
make-bcache -B $DEV > /dev/null
check "module loads" load_bcache
check "register $DEV" bc_register $DEV
check "bcache0 appears" wait_for $A/state

names=$(ls $A | tr '\n' ' ')
check_eq "the attributes of /sys/block/bcache0/bcache are upstream's" \
	"attach backing_dev_name backing_dev_uuid cache_mode clear_stats detach dev dirty_data io_disable io_error_limit io_errors label partial_stripes_expensive readahead_cache_policy running sequential_cutoff state stats_day stats_five_minute stats_hour stats_total stop stop_when_cache_set_failed stripe_size writeback_consider_fragment writeback_delay writeback_metadata writeback_percent writeback_rate writeback_rate_debug writeback_rate_fp_term_high writeback_rate_fp_term_low writeback_rate_fp_term_mid writeback_rate_i_term_inverse writeback_rate_minimum writeback_rate_p_term_inverse writeback_rate_update_seconds writeback_running " \
	"$names"
check_eq "the attributes of stats_total are upstream's" \
	"bypassed cache_bypass_hits cache_bypass_misses cache_hit_ratio cache_hits cache_miss_collisions cache_misses " \
	"$(ls $A/stats_total | tr '\n' ' ')"

check_eq "state reads 'no cache'" "no cache" "$(cat $A/state)"
check_eq "running reads 1" "1" "$(cat $A/running)"
check_eq "label reads empty" "" "$(cat $A/label)"
check_eq "cache_mode default is writethrough" \
	"[writethrough] writeback writearound none" "$(cat $A/cache_mode)"
check_eq "sequential_cutoff default reads 4.0M" "4.0M" "$(cat $A/sequential_cutoff)"
check_eq "dirty_data reads 0.0k" "0.0k" "$(cat $A/dirty_data)"
check_eq "backing_dev_name reads vda" "vda" "$(cat $A/backing_dev_name)"
uuid=$(bcache-super-show $DEV | sed -n 's/^dev\.uuid[[:space:]]*//p')
check_eq "backing_dev_uuid is the superblock's uuid" "$uuid" "$(cat $A/backing_dev_uuid)"
check_eq "readahead_cache_policy reads '[all] meta-only'" \
	"[all] meta-only" "$(cat $A/readahead_cache_policy)"
check_eq "stop_when_cache_set_failed reads '[auto] always'" \
	"[auto] always" "$(cat $A/stop_when_cache_set_failed)"
check_eq "writeback_percent reads 10" "10" "$(cat $A/writeback_percent)"
check_eq "writeback_running reads 0 with no cache" "0" "$(cat $A/writeback_running)"
check_eq "writeback_delay reads 30" "30" "$(cat $A/writeback_delay)"
check_eq "io_error_limit reads 64" "64" "$(cat $A/io_error_limit)"
check_eq "io_errors reads 0" "0" "$(cat $A/io_errors)"
check "dev is a symlink" test -L $A/dev
check_eq "dev points to the bcache0 block device" \
	"/sys/devices/virtual/block/bcache0" "$(readlink -f $A/dev)"
check_not "stop is write-only" cat $A/stop

# What writes are accepted, and how they read back.
check "write label 'mylabel'" sh -c "echo mylabel > $A/label"
check_eq "label reads back 'mylabel'" "mylabel" "$(cat $A/label)"
check "write cache_mode writeback" sh -c "echo writeback > $A/cache_mode"
check_eq "cache_mode reads writeback" \
	"writethrough [writeback] writearound none" "$(cat $A/cache_mode)"
check "write sequential_cutoff 1048576" sh -c "echo 1048576 > $A/sequential_cutoff"
check_eq "sequential_cutoff reads 1.0M" "1.0M" "$(cat $A/sequential_cutoff)"
check "write sequential_cutoff 1000" sh -c "echo 1000 > $A/sequential_cutoff"
check_eq "sequential_cutoff 1000 reads 0.9k (upstream's rounding)" \
	"0.9k" "$(cat $A/sequential_cutoff)"

# Refused writes leave the value alone.
check_not "cache_mode 'bogus' is refused" sh -c "echo bogus > $A/cache_mode"
check_not "cache_mode '1' (a number) is refused" sh -c "echo 1 > $A/cache_mode"
check_eq "cache_mode is unchanged" \
	"writethrough [writeback] writearound none" "$(cat $A/cache_mode)"
check_not "sequential_cutoff 'abc' is refused" sh -c "echo abc > $A/sequential_cutoff"
check_not "sequential_cutoff '1M' is refused (6.12 takes no suffix)" \
	sh -c "echo 1M > $A/sequential_cutoff"
check_eq "sequential_cutoff is unchanged" "0.9k" "$(cat $A/sequential_cutoff)"
check_not "a 33-byte label is refused" \
	sh -c "echo 01234567890123456789012345678901 > $A/label"
check_eq "label is unchanged" "mylabel" "$(cat $A/label)"
check "a 32-byte label (no newline) is accepted" \
	sh -c "printf 01234567890123456789012345678901 > $A/label"
check_eq "it reads back whole" "01234567890123456789012345678901" "$(cat $A/label)"
check "label back to 'mylabel'" sh -c "echo mylabel > $A/label"

# Persisted in the superblock: visible to bcache-super-show while
# registered and after stop + re-register.
check "bcache-super-show shows dev.label mylabel" \
	sh -c "bcache-super-show $DEV | grep -Eq '^dev\.label[[:space:]]+mylabel\$'"
check "bcache-super-show shows cache_mode 1" \
	sh -c "bcache-super-show $DEV | grep -Eq '^dev\.data\.cache_mode[[:space:]]+1 \[writeback\]\$'"
check "stop" bc_stop bcache0
check "bcache-super-show after stop: dev.label mylabel" \
	sh -c "bcache-super-show $DEV | grep -Eq '^dev\.label[[:space:]]+mylabel\$'"
check "bcache-super-show after stop: cache_mode 1" \
	sh -c "bcache-super-show $DEV | grep -Eq '^dev\.data\.cache_mode[[:space:]]+1 \[writeback\]\$'"
check "superblock checksum still valid" sh -c "sbedit $DEV --show | grep -q '^csum_ok 1'"
check "re-register" bc_register_retry $DEV
check "bcache0 back" wait_for $A/label
check_eq "label survived" "mylabel" "$(cat $A/label)"
check_eq "cache_mode survived" \
	"writethrough [writeback] writearound none" "$(cat $A/cache_mode)"
check_eq "sequential_cutoff is not persisted: back to 4.0M" "4.0M" \
	"$(cat $A/sequential_cutoff)"
check "stop" bc_stop bcache0
check "module unloads" rmmod bcache
