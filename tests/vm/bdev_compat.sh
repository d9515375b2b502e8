# On-disk compatibility with the kernel's own driver, both ways: a backing
# device set up and written under the reference bcache.ko registers under
# ours with the same data, label and cache mode, and what ours writes reads
# back under the reference. Always uses both modules, whatever $BCMOD says.
DEV=/dev/vda
wipe $DEV
make-bcache -B $DEV > /dev/null
pattern from-ref > /tmp/pr
pattern from-ours > /tmp/po
sum_r=$(md5sum < /tmp/pr | cut -d' ' -f1)
sum_o=$(md5sum < /tmp/po | cut -d' ' -f1)

# up WHICH: load module WHICH (ref or ours) and register vda with it.
up() {
	check "$1: module loads" "load_$1"
	check "$1: register $DEV" bc_register_retry $DEV
	check "$1: its bcache device appears" wait_for /sys/block/vda/bcache/dev
}
down() {
	check "$1: stop" bc_stop "$(bc_name_of vda)"
	check "$1: module unloads" rmmod bcache
}

up ref
BC=$(bc_name_of vda)
put_at /tmp/pr /dev/$BC 2048
check "ref: set label" sh -c "echo fromref > /sys/block/vda/bcache/label"
check "ref: set cache_mode writearound" \
	sh -c "echo writearound > /sys/block/vda/bcache/cache_mode"
all_ref=$(sect_sum /dev/$BC 0 8192)
down ref

up ours
BC=$(bc_name_of vda)
check_eq "ours: reads the data ref wrote" "$sum_r" "$(sect_sum /dev/$BC 2048 128)"
check_eq "ours: the first 4 MiB are as ref left them" "$all_ref" "$(sect_sum /dev/$BC 0 8192)"
check_eq "ours: label set under ref" "fromref" "$(cat /sys/block/vda/bcache/label)"
check_eq "ours: cache_mode set under ref" \
	"writethrough writeback [writearound] none" \
	"$(cat /sys/block/vda/bcache/cache_mode)"
put_at /tmp/po /dev/$BC 8192
check "ours: set label" sh -c "echo fromours > /sys/block/vda/bcache/label"
check "ours: set cache_mode none" sh -c "echo none > /sys/block/vda/bcache/cache_mode"
down ours
check "the superblock ours wrote has a valid checksum" \
	sh -c "sbedit $DEV --show | grep -q '^csum_ok 1'"
check "bcache-super-show accepts it" \
	sh -c "bcache-super-show $DEV | grep -q 'csum.*\[match\]'"

up ref
BC=$(bc_name_of vda)
check_eq "ref: reads the data ours wrote" "$sum_o" "$(sect_sum /dev/$BC 8192 128)"
check_eq "ref: and still the data it wrote itself" "$sum_r" "$(sect_sum /dev/$BC 2048 128)"
check_eq "ref: label set under ours" "fromours" "$(cat /sys/block/vda/bcache/label)"
check_eq "ref: cache_mode set under ours" \
	"writethrough writeback writearound [none]" \
	"$(cat /sys/block/vda/bcache/cache_mode)"
down ref
