# vm: two boots (scripts/test.sh lists this scenario twice)
# A reboot with a cache set running: boot 1 caches data through bcache0
# and reboots with the set, bcache0 and the backing device still
# registered, so that bcache's reboot notifier must stop them all (the
# host checks the console for that: scripts/vm.sh, "@@REBOOT"). Boot 2
# registers the same disks: the set starts, bcache0 is attached and
# clean, every byte reads back, and the reads are cache hits, so the
# btree the stop wrote out describes the cached data.
# Runs against $BCMOD.
C=/dev/vdb
B=/dev/vda
NOTE=/dev/vdd
BC=bcache0
SYS=/sys/block/$BC/bcache

region() {
	fio --name=rb --filename=/dev/$BC --direct=1 --ioengine=libaio \
		--iodepth=8 --rw=randwrite --bs=64k --offset=0 --size=16M \
		--verify=crc32c --verify_fatal=1 --randseed=4242 "$@"
}
hits() { cat $SYS/stats_total/cache_hits; }

if ! note_read | grep -q '^rb1'; then
	# --- boot 1 ---
	note_write none
	check "make-bcache -C vdb -B vda" cs_make $C $B
	check "module loads" load_bcache
	check "register cache and backing device" cs_up $C $B || return
	# Cache every write: no sequential bypass.
	echo 0 > $SYS/sequential_cutoff
	check "16 MiB written through the cache" region --do_verify=0
	check "the data reads back before the reboot" region --verify_only
	check "boot 1: no kernel splat before the reboot" dmesg_splat_free
	note_write rb1
	clean_reboot
fi

# --- boot 2 ---
check "boot 1 reached its reboot" [ "$(note_read)" = rb1 ]
note_write done
check "module loads" load_bcache
check "the cache registers after the reboot" bc_register $C
check "the backing device registers" bc_register $B
check "bcache0 appears" wait_for $SYS 20
check "bcache0 is attached" retry 20 bc_attached $BC
check_eq "bcache0 is clean" clean "$(cat $SYS/state)"
before=$(hits)
drop_caches
check "every byte written before the reboot reads back" region --verify_only
# The totals take in new counts once per accounting period (13.6 s).
hits_above() { [ "$(hits)" -gt "$1" ]; }
check "the reads are cache hits: the set kept its btree" \
	retry 30 hits_above "$before"
echo "### cache_hits before=$before after=$(hits)"
check "stop the set" cs_stop
[ -e /sys/block/$BC ] && bc_stop $BC
