# I/O errors on the cache device. The cache is a device-mapper device over
# vdb whose table is swapped at run time: dm-linear while all is well, then
# dm-flakey with error_reads (every read fails, writes still land), so that
# the set's btree and journal writes go on while cached data cannot be read.
# A failed cache read is "recoverable": bcache rereads the range from the
# backing device, counts the error against the cache and returns the right
# data. Past io_error_limit errors the set gives up (bch_cache_set_error:
# "disabling caching") and unregisters; a clean backing device under
# stop_when_cache_set_failed=auto stays up and is served from vda alone.
# What it writes from then on makes the cache's copy stale: ours marks
# its superblock inconsistent (stale) before it leaves the set, so that
# when the cache comes back the old copy is discarded and bcache0 serves
# what was written. The kernel's bcache (6.12.117) leaves the superblock
# clean and naming the set, re-attaches, and serves the cache's old
# blocks where they survived. Runs against $BCMOD (ours or ref).
B=/dev/vda
CNAME=bc_cache
C=/dev/mapper/$CNAME
CMIB=2048
CSECT=$((CMIB * 2048))
# The pattern lives at bcache0's MiB 16 .. 16+PMIB.
POFF=16
PMIB=4

# Many small buckets: a fresh set keeps few buckets ready to write, and a
# writethrough write that finds none is not cached.
check "dm-linear over vdb" dm_small $CNAME /dev/vdb $CMIB
DMK=$(dm_kname $CNAME)
check "make-bcache -C dm -B vda, 128 KiB buckets" cs_make $C $B --bucket 128k
UUID=$(cs_uuid_of $C)
SET=/sys/fs/bcache/$UUID
check "module loads" load_bcache
check "register cache and backing device" cs_up $C $B
BC=bcache0
SYS=/sys/block/$BC/bcache
CERR=/sys/block/$DMK/bcache/io_errors

# Whether the kernel logged a line matching $2 after mark $1.
log_has() { dmesg_after "$1" | grep -Eq "$2"; }

check_eq "the cache mode is writethrough" \
	"[writethrough] writeback writearound none" "$(cat $SYS/cache_mode)"
check_eq "stop_when_cache_set_failed defaults to auto" "[auto] always" \
	"$(cat $SYS/stop_when_cache_set_failed)"
check_eq "the cache device has no errors yet" 0 "$(cat $CERR)"
echo "### io_error_limit=$(cat $SET/io_error_limit) io_error_halflife=$(cat $SET/io_error_halflife) errors=$(cat $SET/errors)"

# --- a known pattern, cached by writethrough, read back from the cache ---
pattern_mib ce $PMIB > /tmp/ce
SUM=$(md5sum < /tmp/ce | cut -d' ' -f1)
check "write $PMIB MiB in writethrough" \
	dd if=/tmp/ce of=/dev/$BC bs=1M seek=$POFF conv=fsync
stats() {
	for f in cache_hits cache_misses cache_bypass_hits cache_bypass_misses; do
		printf '%s=%s ' $f "$(bc_stat $BC $f)"
	done
	echo "avail=$(cat $SET/cache_available_percent)"
}
# What the write could not cache, the first read inserts; the second one
# must hit.
drop_caches
check_eq "the pattern reads back" "$SUM" "$(mib_sum /dev/$BC $POFF $PMIB)"
hits=$(bc_stat $BC cache_hits)
echo "### after the first read: $(stats)"
drop_caches
check_eq "and reads back again" "$SUM" "$(mib_sum /dev/$BC $POFF $PMIB)"
check "those reads hit the cache" wait_stat_above $BC cache_hits "$hits"
echo "### after the second read: $(stats)"
check_eq "still no cache errors" 0 "$(cat $CERR)"

# --- cache reads fail: recovered from the backing device ---
# A limit far above what one pass over the pattern costs, so that this part
# only sees recoverable errors.
check "raise io_error_limit" sh -c "echo 100000 > $SET/io_error_limit"
check_eq "io_error_limit reads back" 100000 "$(cat $SET/io_error_limit)"
blockdev --flushbufs $C
check "suspend the cache's dm device" dmsetup suspend $CNAME
check "load a flakey table (reads fail)" dmsetup load $CNAME \
	--table "0 $CSECT flakey /dev/vdb 0 0 1 1 error_reads"
check "resume it" dmsetup resume $CNAME
check_not "reads of the cache's dm device fail" \
	dd if=$C of=/dev/null bs=4096 skip=100 count=1

kmsg_mark ce-recover
drop_caches
check_eq "failing cache reads: the pattern reads back" \
	"$SUM" "$(mib_sum /dev/$BC $POFF $PMIB)"
errs=$(cat $CERR)
echo "### cache io_errors after one pass: $errs"
check "the cache device counted the errors" test "$errs" -gt 0
check "the kernel log reports recovered cache read errors" \
	log_has ce-recover 'IO error on .*recovering'
check "the set is still registered" test -d "$SET"
check_eq "$BC is still attached and clean" clean "$(cat $SYS/state)"
drop_caches
check_eq "a second pass reads back too" "$SUM" "$(mib_sum /dev/$BC $POFF $PMIB)"
check "the error count grew" test "$(cat $CERR)" -gt "$errs"

# --- past the limit: the set disables caching and goes away ---
# One 4 KiB read (no readahead) makes the next error, past the limit. I/O
# that reaches bcache0 while the set is being torn down fails (upstream
# refuses requests once the set's I/O is disabled), so the checks that
# follow wait for the teardown to finish.
check "lower io_error_limit to 1" sh -c "echo 1 > $SET/io_error_limit"
ra=$(blockdev --getra /dev/$BC)
blockdev --setra 0 /dev/$BC
k=37
WANT4K=$(dd if=/tmp/ce bs=4096 skip=$k count=1 2>/dev/null | md5sum | cut -d' ' -f1)
kmsg_mark ce-disable
drop_caches
GOT4K=$(dd if=/dev/$BC bs=4096 skip=$((POFF * 256 + k)) count=1 2>/dev/null |
	md5sum | cut -d' ' -f1)
# Upstream rereads the range from the backing device, but the set's I/O is
# already disabled by then and that reread may be refused: the read may
# fail, it must not return wrong data.
NONE=$(md5sum < /dev/null | cut -d' ' -f1)
case $GOT4K in
"$WANT4K") echo "### the read past the limit returned the right data" ;;
"$NONE") echo "### the read past the limit failed" ;;
esac
check "the read past the limit returns the right data or fails" \
	test "$GOT4K" = "$WANT4K" -o "$GOT4K" = "$NONE"
blockdev --setra "$ra" /dev/$BC
check "the set unregisters" wait_gone "$SET" 60
check "the kernel log says caching is disabled" \
	log_has ce-disable 'disabling caching'
check "the kernel log says $BC is kept alive (clean, auto)" \
	log_has ce-disable "$BC is \"auto\" and cache is clean, keep it alive"
check "the cache device's bcache directory is gone" \
	wait_gone /sys/block/$DMK/bcache 30
check_eq "$BC is still there" 1 "$(bc_count)"
check "$BC's cache link is gone" wait_gone $SYS/cache
# Upstream leaves the backing superblock's state alone here (only the
# writeback thread of a detach that runs to its end clears it, and it
# quits as soon as the set's I/O is disabled), so it still reads clean.
if testing_ref; then
	check_eq "$BC's state still reads clean" clean "$(cat $SYS/state)"
else
	check_eq "$BC's state reads inconsistent" inconsistent \
		"$(cat $SYS/state)"
	check "the kernel log says so" \
		log_has ce-disable 'failed, marking the device inconsistent'
fi
drop_caches
check_eq "without the cache: the pattern reads back" \
	"$SUM" "$(mib_sum /dev/$BC $POFF $PMIB)"
check_eq "vda holds it too (data offset 16 sectors)" \
	"$(head -c 1048576 /tmp/ce | md5sum | cut -d' ' -f1)" \
	"$(sect_sum $B $((POFF * 2048 + 16)) 2048)"
pattern_mib after 2 > /tmp/ce2
check "write 2 MiB through $BC without the cache" \
	dd if=/tmp/ce2 of=/dev/$BC bs=1M seek=64 conv=fsync
drop_caches
check_eq "it reads back" "$(md5sum < /tmp/ce2 | cut -d' ' -f1)" \
	"$(mib_sum /dev/$BC 64 2)"
pattern_mib ce-new $PMIB > /tmp/ce3
SUM3=$(md5sum < /tmp/ce3 | cut -d' ' -f1)
check "overwrite the cached pattern without the cache" \
	dd if=/tmp/ce3 of=/dev/$BC bs=1M seek=$POFF conv=fsync

# --- the cache comes back ---
check "stop $BC" bc_stop $BC
# On disk: vda's superblock still names the failed set, which a later
# registration of vda waits for, as after a crash; ours says stale.
blockdev --flushbufs $B
echo "### vda's superblock: $(bcache-super-show $B | grep -E 'cache_state|cset.uuid' | tr -s '\t\n' '  ')"
if testing_ref; then
	check "vda's superblock still reads clean" \
		sh -c "bcache-super-show $B | grep -q 'cache_state.*clean'"
else
	check "vda's superblock reads inconsistent" \
		sh -c "bcache-super-show $B | grep -q 'cache_state.*inconsistent'"
fi
check_eq "vda's superblock still names the set" "$UUID" "$(cs_uuid_of $B)"
check "the cache's dm device is released" wait_released $C 30
check "the cache's reads work again (dm-linear)" sh -c "
	dmsetup suspend $CNAME &&
	dmsetup load $CNAME --table '0 $CSECT linear /dev/vdb 0' &&
	dmsetup resume $CNAME"
check "register cache and backing device again" cs_up $C $B
drop_caches
GOT=$(mib_sum /dev/$BC $POFF $PMIB)
case $GOT in
"$SUM3") echo "### after the restart $BC serves what was written without the cache" ;;
"$SUM") echo "### after the restart $BC serves the cache's stale copy" ;;
*) echo "### after the restart $BC serves a mix of old and new blocks" ;;
esac
if ! testing_ref; then
	check_eq "after the restart $BC serves what was written without the cache" \
		"$SUM3" "$GOT"
fi
# io_disable is for good: its threads end, so clearing it is refused
# (the kernel's driver clears it and hangs at the next bucket it needs).
SET=$(cs_dir)
check "internal/io_disable 1" sh -c "echo 1 > $SET/internal/io_disable"
check_not "$BC's I/O fails" dd if=/dev/$BC of=/dev/null bs=4k count=1 \
	iflag=direct
if ! testing_ref; then
	check_not "internal/io_disable 0 is refused" \
		sh -c "echo 0 > $SET/internal/io_disable"
	check_eq "and it still reads 1" 1 "$(cat $SET/internal/io_disable)"
fi
check "stop the set" cs_stop
[ -e /sys/block/$BC ] && bc_stop $BC
check "the cache's dm device is released again" wait_released $C 30
check "remove the dm device" retry 10 dmsetup remove $CNAME
unload_bcache
check_not "module unloads" grep -q "^bcache " /proc/modules
