# On-disk compatibility of a whole cache set with the kernel's own driver,
# both ways. The reference bcache.ko makes a set, fills it in writethrough
# (seeded random writes with checksums, and a pattern read back so that
# the cache holds it); ours then registers it, reads every byte right, serves
# rereads from the cache, and its debugfs dump of the btree equals the
# reference's. Then ours writes, and the reference reads all of it back.
# Always uses both modules, whatever $BCMOD says.
C=/dev/vdb
B=/dev/vda

# fio_region NAME OFFSET SIZE SEED fio-args...: seeded random writes with
# crc32c headers; --verify_only with the same arguments re-reads them.
# Writes of 4-12 KiB: 16 MiB of them make about 2,000 extents, more than
# one 32 KiB btree node holds (the time goes with the number of writes).
fio_region() {
	local name=$1 off=$2 size=$3 seed=$4
	shift 4
	fio --name="$name" --filename=/dev/"$BC" --direct=1 --ioengine=libaio \
		--iodepth=8 --rw=randwrite --bsrange=4k-12k --blockalign=4k \
		--offset="$off" --size="$size" --randseed="$seed" \
		--verify=crc32c --verify_fatal=1 "$@"
}

# up WHICH: load module WHICH (ref or ours), register the set and vda.
up() {
	check "$1: module loads" "load_$1"
	check "$1: register cache and backing device" cs_up $C $B
	BC=bcache0
}
down() {
	check "$1: stop the set" cs_stop
	[ -e /sys/block/bcache0 ] && bc_stop bcache0
	check "$1: module unloads" retry 30 rmmod bcache
}

# dump_merged FILE: a debugfs dump with each run of extents that continue
# one another (next start, next sectors on the cache, same gen and flags)
# as one line. Registration replays the last jsets, and a replayed key
# splits the extent it lands in; the pieces merge again when the node is
# next sorted, which happens on a write whose timing neither driver
# fixes. Merged, the dumps of the same tree must be equal.
dump_merged() {
	awk '
	function flush(   i, s) {
		if (!have)
			return
		for (i = 1; i <= np; i++)
			s = s (i > 1 ? ", " : "") dev[i] ":" off[i] " gen " gen[i]
		printf "%s:%d len %d -> [%s]%s\n", ino, st, ln, s, rest
		have = 0
	}
	/^[0-9]+:[0-9]+ len [0-9]+ -> \[/ {
		t = substr($0, 1, index($0, "]"))
		r = substr($0, index($0, "]") + 1)
		gsub(/[][,:]/, " ", t)
		n = split(t, f, " ")
		np2 = (n - 5) / 4
		cont = have && f[1] == ino && f[2] == st + ln && np2 == np && r == rest
		for (i = 1; cont && i <= np; i++)
			cont = f[4 * i + 2] == dev[i] && f[4 * i + 3] == off[i] + ln &&
				f[4 * i + 5] == gen[i]
		if (cont) {
			ln += f[4]
			next
		}
		flush()
		ino = f[1]; st = f[2]; ln = f[4]; np = np2; rest = r; have = 1
		for (i = 1; i <= np; i++) {
			dev[i] = f[4 * i + 2]; off[i] = f[4 * i + 3]; gen[i] = f[4 * i + 5]
		}
		next
	}
	{ flush(); print }
	END { flush() }' "$1"
}

# 32 KiB buckets make 32 KiB btree nodes: the fill below then needs a
# tree of two levels, whose nodes registration must count as the kernel's.
# The whole of vdb: the kernel's allocator keeps a 1,024th of the buckets
# free for data, and a writethrough write that finds too few is not
# cached (it does not wait): here 64 buckets, 2 MiB, room for the 1 MiB
# writes of the patterns below.
check "make-bcache -C vdb -B vda (32 KiB buckets)" cs_make $C $B --bucket 32k
UUID=$(cs_uuid_of $C)
pattern_mib ref 4 > /tmp/pr
pattern_mib ours 4 > /tmp/po
SUM_R=$(md5sum < /tmp/pr | cut -d' ' -f1)
SUM_O=$(md5sum < /tmp/po | cut -d' ' -f1)

# --- the reference fills the set ---
up ref
check "ref: 16 MiB of random writes" fio_region r1 0 16M 11 --do_verify=0
dd if=/tmp/pr of=/dev/$BC bs=1M seek=300 conv=fsync 2>/dev/null
drop_caches
check_eq "ref: its pattern reads back" "$SUM_R" "$(mib_sum /dev/$BC 300 4)"
check "ref: reads hit the cache" wait_stat_above $BC cache_hits 0
down ref
# The dump of a freshly registered set, as the reference sees it.
up ref
# What registration counted, before anything could run a gc: the nodes
# below the root (its btree check's count) and no gc yet.
SETDIR=/sys/fs/bcache/$UUID
reg_stats() {
	echo "$(cat $SETDIR/internal/btree_nodes) $(cat $SETDIR/internal/btree_gc_last_sec)"
}
REG_REF=$(reg_stats)
echo "### ref registered: btree_nodes gc_last = $REG_REF"
# A tree of one node has none below its root.
below_root=0
[ "$(cat $SETDIR/tree_depth)" -gt 0 ] && below_root=1
check_eq "ref: registration ran no gc and counted the nodes below the root" \
	"$below_root -1" "$(( ${REG_REF% *} > 0 )) ${REG_REF#* }"
check "ref: the debugfs dump is readable" sh -c "cat /sys/kernel/debug/bcache/bcache-$UUID > /tmp/dump.ref"
echo "### ref dump: $(wc -l < /tmp/dump.ref) lines; head: $(head -n 3 /tmp/dump.ref | tr '\n' '|')"
down ref

# --- ours reads what the reference wrote ---
up ours
check_eq "ours: registration counts the nodes as the reference's, no gc" \
	"$REG_REF" "$(reg_stats)"
check "ours: the debugfs dump is readable" sh -c "cat /sys/kernel/debug/bcache/bcache-$UUID > /tmp/dump.ours"
dump_merged /tmp/dump.ref > /tmp/merged.ref
dump_merged /tmp/dump.ours > /tmp/merged.ours
check "ours: the dump lines equal the reference's (neighbours merged)" \
	cmp /tmp/merged.ref /tmp/merged.ours
[ -s /tmp/merged.ours ] && diff /tmp/merged.ref /tmp/merged.ours | head -n 10 | sed 's/^/### diff /'
drop_caches
check "ours: the reference's fio region verifies" fio_region r1 0 16M 11 --verify_only
check_eq "ours: the reference's pattern reads back" "$SUM_R" "$(mib_sum /dev/$BC 300 4)"
check "ours: rereads are served from the cache" wait_stat_above $BC cache_hits 0
check_eq "ours: the first 256 KiB of the backing disk agree" \
	"$(sect_sum /dev/$BC 0 512)" "$(sect_sum $B 16 512)"

# --- ours writes, the reference reads ---
check "ours: 8 MiB of random writes, verified" \
	fio_region o1 256M 8M 22 --do_verify=1
dd if=/tmp/po of=/dev/$BC bs=1M seek=320 conv=fsync 2>/dev/null
drop_caches
check_eq "ours: its pattern reads back" "$SUM_O" "$(mib_sum /dev/$BC 320 4)"
down ours

up ref
drop_caches
check "ref: ours' fio region verifies" fio_region o1 256M 8M 22 --verify_only
check "ref: its own fio region still verifies" fio_region r1 0 16M 11 --verify_only
check_eq "ref: ours' pattern reads back" "$SUM_O" "$(mib_sum /dev/$BC 320 4)"
check_eq "ref: its own pattern reads back" "$SUM_R" "$(mib_sum /dev/$BC 300 4)"
check "ref: reads hit the cache" wait_stat_above $BC cache_hits 0
down ref
