#!/bin/bash
# bset microbenchmark (never part of the tests): lookups/s and inserts/s on
# a full btree node, our bset.c against the kernel's, on the perf kernel.
#
# tools/kmod/bset_bench.c is built twice, each time in a scratch folder
# under $BCACHE_CACHE/bench-bset/ and never into bcache.ko:
#   ours/  bsetbench_ours.ko: the bench with our bset.c and util.c
#   ref/   bsetbench_ref.ko:  the bench with -DBENCH_UPSTREAM and the
#          kernel's bset.c and util.c, copied from the kernel source in the
#          cache folder (never into the repo); its symbols are renamed to
#          ref_* so the two modules never define the same names.
# The guest job (tools/jobs/bench-bset-guest.sh) loads them in turn for a few
# rounds; the host takes the best round of each and prints the ratios.
#
# The default is wall-clock time under QEMU TCG, which is as noisy as the
# host is busy. -i runs QEMU with -icount shift=0 instead: the guest clock
# then advances one nanosecond per guest instruction, so "ops/s" become
# 1e9 / (guest instructions per op), deterministic from run to run.
# usage: tools/bench-bset.sh [-i] [ROUNDS [MIN_MS]]   (default 5 rounds
#        of 1000 ms per measurement; BENCH_LOG=FILE keeps the guest console)
. "$(dirname "$0")/../scripts/lib.sh"

clock="wall-clock time, QEMU TCG"
if [ "${1:-}" = -i ]; then
	export VM_ACCEL="-accel tcg,thread=single -icount shift=0,sleep=off"
	clock="guest instructions (QEMU -icount shift=0: 1 ns each)"
	shift
fi
rounds=${1:-5} min_ms=${2:-1000}

kbuild=$("$REPO/scripts/kernel.sh" perf)
upstream=$(kernel_src)/drivers/md/bcache
[ -f "$upstream/bset.c" ] || die "no kernel source in $upstream"
top=$BCACHE_CACHE/bench-bset

# stage_module DIR NAME SRCDIR: the bench plus bset/util from SRCDIR.
stage_module() {
	local dir=$1 name=$2 from=$3 f
	mkdir -p "$dir/tools/kmod"
	for f in bset.c bset.h util.c util.h bcache_ondisk.h; do
		cp "$from/$f" "$dir/$f"
	done
	cp "$REPO/tools/kmod/bset_bench.c" "$dir/tools/kmod/"
	cat > "$dir/Kbuild" <<-EOF
		obj-m := $name.o
		$name-y := tools/kmod/bset_bench.o bset.o util.o
	EOF
}

build_module() {	# build_module DIR NAME [extra make args]
	local dir=$1 name=$2
	shift 2
	make -s -C "$kbuild" M="$dir" -j"$JOBS" "$@" modules >&2
	[ -f "$dir/$name.ko" ] || die "$name.ko not built"
}

log "building bsetbench_ours.ko and bsetbench_ref.ko"
stage_module "$top/ours" bsetbench_ours "$REPO"
build_module "$top/ours" bsetbench_ours

stage_module "$top/ref" bsetbench_ref "$upstream"
build_module "$top/ref" bsetbench_ref ccflags-y=-DBENCH_UPSTREAM

# Rename every global the kernel's files define (bch_*, and whatever
# macros generate) in the linked module; the bench's calls follow along.
nm --defined-only "$top/ref/bset.o" "$top/ref/util.o" |
	awk 'NF == 3 && $2 ~ /^[A-Z]$/ { print $3, "ref_" $3 }' |
	sort -u > "$top/ref/rename.map"
objcopy --redefine-syms="$top/ref/rename.map" "$top/ref/bsetbench_ref.ko"
if nm --defined-only "$top/ref/bsetbench_ref.ko" |
	awk '$2 ~ /^[A-Z]$/' | grep -Eq ' (__)?bch_'; then
	die "bsetbench_ref.ko still defines bch_* symbols"
fi

# The guest job's settings travel as one more extra file.
printf 'ROUNDS=%s\nMIN_MS=%s\n' "$rounds" "$min_ms" > "$top/bench-bset.conf"

ko=$("$REPO/scripts/module.sh" perf)
logf=${BENCH_LOG:-$(mktemp)}
[ -n "${BENCH_LOG:-}" ] || trap 'rm -f "$logf"' EXIT
"$REPO/scripts/vm.sh" -f perf -k "$ko" -l "$logf" -t 1800 -d 0 \
	-x "$top/ours/bsetbench_ours.ko" -x "$top/ref/bsetbench_ref.ko" \
	-x "$top/bench-bset.conf" jobs/bench-bset-guest >&2

results=$(grep -a '^BSETBENCH ' "$logf" | tr -d '\r')
[ -n "$results" ] || die "no BSETBENCH lines in the guest log"
if echo "$results" | grep -qv ' errors=0$'; then
	die "some runs reported workload errors (errors=N in the guest log)"
fi

# One "impl keys lookups inserts" line per module load and size.
samples=$(echo "$results" | awk '
	{
		for (i = 2; i <= NF; i++) {
			split($i, kv, "=")
			f[kv[1]] = kv[2]
		}
		print f["impl"], f["keys"], f["lookups_per_s"], f["inserts_per_s"]
	}')

# Best round per implementation, size and measure; then ours/kernel.
echo "$clock; best of $rounds rounds, ${min_ms} ms per measurement:"
printf '%-6s %14s %14s %6s %14s %14s %6s\n' keys "ours lookup/s" \
	"kern lookup/s" ratio "ours insert/s" "kern insert/s" ratio
echo "$samples" | awk '
	{
		k = $1 " " $2
		sizes[$2] = 1
		if ($3 + 0 > look[k]) look[k] = $3 + 0
		if ($4 + 0 > ins[k]) ins[k] = $4 + 0
	}
	END {
		for (s in sizes) {
			o = "ours " s; r = "kernel " s
			printf "%-6s %14.0f %14.0f %6.2f %14.0f %14.0f %6.2f\n", s,
				look[o], look[r], look[r] ? look[o] / look[r] : 0,
				ins[o], ins[r], ins[r] ? ins[o] / ins[r] : 0
		}
	}' | sort -n

# Each round's ours/kernel ratio (the two loads ran back to back, under
# about the same background load), and the median over the rounds.
echo "median of the per-round ratios ours/kernel:"
echo "$samples" | awk '
	{
		n = ++seen[$1 " " $2]
		v[$1 " " $2 " " n] = $3 " " $4
	}
	END {
		for (k in seen) {
			split(k, p, " ")
			if (p[1] != "ours") continue
			for (n = 1; n <= seen[k]; n++) {
				split(v[k " " n], o, " ")
				split(v["kernel " p[2] " " n], r, " ")
				if (r[1] && r[2])
					printf "%s lookups %.4f\n%s inserts %.4f\n",
						p[2], o[1] / r[1], p[2], o[2] / r[2]
			}
		}
	}' | sort -k1,1n -k2,2 -k3,3g | awk '
	function flush() {
		if (!n) return
		m = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
		printf "%-6s %-8s %6.2f  (%d rounds)\n", key1, key2, m, n
	}
	$1 " " $2 != key1 " " key2 { flush(); n = 0; key1 = $1; key2 = $2 }
	{ v[++n] = $3 }
	END { flush() }'
