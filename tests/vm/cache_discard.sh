# A cache made with --discard, stopped and registered again after each of
# several bursts of writes. Journal buckets and data buckets are discarded
# before reuse, and a discard that hit a bucket still needed shows on the
# next registration: a journal bucket the newest jset on disk still names
# ("journal entries N-M missing!"; our journal did that on a clean stop,
# once in two runs of cache_policies, before reclaim learned to wait
# for the jset that frees a bucket to land), or a prio or btree bucket.
# Small buckets (8 KiB: a ring of 32 journal buckets of 16 jsets at most)
# make the jsets a stop still needs span a bucket boundary most times.
# Every restart must come up clean, and every burst must verify at the end.
# Runs against $BCMOD.
wipe /dev/vdb
wipe /dev/vda
check "a 32 MiB cache device (dm-linear on vdb)" dm_small bc_dcache /dev/vdb 32
check "a 256 MiB backing device (dm-linear on vda)" dm_small bc_dback /dev/vda 256
C=/dev/mapper/bc_dcache
B=/dev/mapper/bc_dback
check "make-bcache --discard, 8 KiB buckets" cs_make $C $B --bucket 8k --discard
check "module loads" load_bcache
check "register cache and backing device" cs_up $C $B
BC=bcache0
check_eq "discard from make-bcache is on" 1 "$(cat "$(cs_dir)/cache0/discard")"

# Discards the cache's disk completed (field 12 of the stat file).
discards() { awk '{ print $12 }' /sys/block/vdb/stat; }

# burst N: 6 MiB of random writes at 16*N MiB, verified as they go; the
# seed follows N, so a later --verify_only run re-reads exactly them.
burst() {
	local n=$1
	shift
	fio --name="burst$n" --filename=/dev/$BC --direct=1 --ioengine=libaio \
		--iodepth=16 --bsrange=4k-64k --blockalign=4k \
		--verify=crc32c --verify_fatal=1 --randseed=$((5000 + n)) \
		--offset=$((16 * n))M --size=6M --rw=randwrite "$@"
}

restart_clean() {
	! dmesg_complaints "restart$1"
}

replayed_nothing() {
	dmesg_after "restart$1" | grep -q 'journal replay done, 0 keys in 1 entries'
}

d0=$(discards)
rounds=2
for n in $(seq 1 $rounds); do
	check "burst $n: 6 MiB of random writes verify" \
		burst "$n" --do_verify=1 --verify_backlog=128
	check "restart $n: stop the set" cs_stop
	[ -e /sys/block/$BC ] && bc_stop $BC
	kmsg_mark "restart$n"
	check "restart $n: the set registers again" cs_up $C $B
	check "restart $n: no journal, prio or btree error" restart_clean "$n"
	# Ours seals the stop's last jset after the btree flush released
	# every pin, so it names only itself (the kernel's replays more).
	testing_ref || check "restart $n: a clean stop leaves nothing to replay" \
		replayed_nothing "$n"
done
echo "### discards on vdb: $(( $(discards) - d0 ))"
check "buckets were discarded" [ "$(discards)" -gt "$d0" ]

drop_caches
for n in $(seq 1 $rounds); do
	check "burst $n verifies after the restarts" burst "$n" --verify_only
done

check "stop the set" cs_stop
[ -e /sys/block/$BC ] && bc_stop $BC
unload_bcache
check "dm devices removed" sh -c "dmsetup remove bc_dcache && dmsetup remove bc_dback"
