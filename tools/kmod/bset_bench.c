// SPDX-License-Identifier: GPL-2.0
/*
 * Microbenchmark of the btree node key sets (a benchmark, not a test, and
 * never part of bcache.ko).
 *
 * tools/bench-bset.sh builds this file twice against the perf kernel:
 * with our bset.c into bsetbench_ours.ko, and with -DBENCH_UPSTREAM
 * against the kernel's own drivers/md/bcache/bset.c (copied into the
 * cache folder at build time, its symbols renamed) into bsetbench_ref.ko.
 * Loading either runs the same workload and logs one line per node size:
 *
 *   BSETBENCH impl=ours|kernel keys=N lookups_per_s=L inserts_per_s=I ...
 *
 * The node is "full": N extents of one pointer each, written as one set
 * with its search tree, followed by an open set on the next block, as
 * btree.c leaves a leaf node after a sort. Slot s of inode 1 covers
 * sectors [16s, 16s + 16); its first half is a written extent and its
 * second half a gap, so new extents can go in without overwriting
 * anything and the extent fixup never dominates.
 *
 * - lookups: fixed-seed random positions searched in the written set with
 *   bch_bset_search(), the search every btree descent and iterator does.
 * - inserts: extents filling random gaps, inserted with
 *   bch_btree_insert_key() (iterator seek in every set, fixup, merge
 *   checks, memmove and open-set table update). btree.c writes the open
 *   set once it reaches a page, so a batch fills that much; the set is then
 *   reopened empty and the next batch starts.
 *
 * Each is timed as one stretch of at least min_ms (the guest's clock may
 * tick coarsely, so no short intervals are summed); the untimed setup is
 * the random positions and a first lookup pass that checks every answer.
 * Reopening the open set costs a few dozen instructions per batch and is
 * inside the inserts' stretch.
 *
 * Everything here uses what both implementations offer alike; the few
 * differences sit in the shim right below.
 */
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/prandom.h>
#include <linux/slab.h>

#include "../../bset.h"

#ifdef BENCH_UPSTREAM
#define BENCH_IMPL	"kernel"

/* Upstream keeps host-endian counts and a named array for the first key. */
static struct bkey *bench_set_first(struct bset *i)
{
	return i->start;
}

static unsigned int bench_set_u64s(struct bset *i)
{
	return i->keys;
}
#else
#define BENCH_IMPL	"ours"

static struct bkey *bench_set_first(struct bset *i)
{
	return bset_start(i);
}

static unsigned int bench_set_u64s(struct bset *i)
{
	return bset_u64s(i);
}
#endif

#define BENCH_INODE		1
#define BENCH_SLOT_SECTORS	16	/* written extent, then a gap */
#define BENCH_KEY_SECTORS	8
#define BENCH_KEY_U64S		3	/* header words and one pointer */
#define BENCH_BLOCK_BYTES	4096
/* btree.c writes the open set once it holds about a page of keys. */
#define BENCH_OPEN_BYTES	(PAGE_SIZE - 48)
#define BENCH_LOOKUPS		262144U		/* positions per pass */
#define BENCH_SEED		0x62736574ULL

static unsigned int min_ms = 1000;
module_param(min_ms, uint, 0444);
MODULE_PARM_DESC(min_ms, "minimum timed milliseconds per measurement");

static const unsigned int bench_sizes[] = { 4096, 65536 };

/* Workload mistakes (a key overlapping, an insert refused, a wrong hit). */
static unsigned int bench_errors;
static bool bench_no_checks;

/* A key with room for its pointers, as a declarable type. */
struct bench_key {
	BKEY_PADDED(key);
};

/* The extent covering [start, start + BENCH_KEY_SECTORS) of the inode. */
static void bench_make_key(struct bkey *k, u64 start)
{
	*k = KEY(BENCH_INODE, start + BENCH_KEY_SECTORS, BENCH_KEY_SECTORS);
	SET_KEY_PTRS(k, 1);
	k->ptr[0] = MAKE_PTR(0, start, 0);
}

/*
 * The extent fixup's walk without anything to trim: skip the keys that
 * end at or before the insert's start, stop at the first key starting at
 * or after its end. Anything else would overlap, which this workload
 * never produces.
 */
static bool bench_insert_fixup(struct btree_keys *b, struct bkey *insert,
			       struct btree_iter *iter,
			       struct bkey *replace_key)
{
	struct bkey insert_start = START_KEY(insert);
	struct bkey *k;

	while ((k = bch_btree_iter_next(iter))) {
		struct bkey k_start = START_KEY(k);

		if (bkey_cmp(k, &insert_start) <= 0)
			continue;
		if (bkey_cmp(&k_start, insert) < 0)
			bench_errors++;
		break;
	}
	return false;
}

static bool bench_key_fine(struct btree_keys *b, const struct bkey *k)
{
	return false;
}

/* Merging is checked (generic header and adjacency tests) but refused. */
static bool bench_key_merge(struct btree_keys *b, struct bkey *l,
			    struct bkey *r)
{
	return false;
}

static const struct btree_keys_ops bench_ops = {
	.is_extents	= true,
	.insert_fixup	= bench_insert_fixup,
	.key_invalid	= bench_key_fine,
	.key_bad	= bench_key_fine,
	.key_merge	= bench_key_merge,
};

struct bench_node {
	struct btree_keys	keys;
	struct bset		*open;	/* where the open set starts */
	unsigned int		nkeys;
};

static unsigned int bench_node_order(unsigned int nkeys)
{
	size_t written = sizeof(struct bset) +
			 (size_t)nkeys * BENCH_KEY_U64S * sizeof(u64);

	return get_order(round_up(written, BENCH_BLOCK_BYTES) + PAGE_SIZE);
}

/* Fill the zeroed @n: @nkeys written extents and an empty open set. */
static int bench_node_build(struct bench_node *n, unsigned int nkeys)
{
	struct btree_keys *b = &n->keys;
	struct bench_key tmp;
	unsigned int s;
	int err;

	n->nkeys = nkeys;
	bch_btree_keys_init(b, &bench_ops, &bench_no_checks);
	err = bch_btree_keys_alloc(b, bench_node_order(nkeys), GFP_KERNEL);
	if (err)
		return err;

	bch_bset_init_next(b, b->set->data, BSET_MAGIC);
	for (s = 0; s < nkeys; s++) {
		bench_make_key(&tmp.key, (u64)s * BENCH_SLOT_SECTORS);
		bch_bset_insert(b, bset_bkey_last(b->set->data), &tmp.key);
	}
	bch_bset_build_written_tree(b);

	n->open = bset_next_set(b, BENCH_BLOCK_BYTES);
	bch_bset_init_next(b, n->open, BSET_MAGIC);
	return 0;
}

/* Empty the open set again, as if it had been written and sorted away. */
static void bench_node_reopen(struct bench_node *n)
{
	struct btree_keys *b = &n->keys;

	b->nsets--;
	b->last_set_unwritten = 0;
	bch_bset_init_next(b, n->open, BSET_MAGIC);
}

static u64 bench_rate(u64 ops, u64 ns)
{
	return ns ? mul_u64_u64_div_u64(ops, NSEC_PER_SEC, ns) : 0;
}

static u32 bench_random_below(struct rnd_state *rs, u32 bound)
{
	return prandom_u32_state(rs) % bound;
}

/* Search position @pos; the answer is the first extent ending past it. */
static bool bench_lookup_right(struct bench_node *n, u32 pos,
			       const struct bkey *found)
{
	struct bset *i = n->keys.set->data;
	u32 slot = (pos + BENCH_KEY_SECTORS) / BENCH_SLOT_SECTORS;

	if (slot >= n->nkeys)
		return found == bset_bkey_last(i);
	return found == bkey_idx(bench_set_first(i), slot * BENCH_KEY_U64S);
}

/* Search every position of @pos; with @verify, check each answer. */
static void bench_lookup_pass(struct bench_node *n, const u32 *pos,
			      unsigned int count, bool verify)
{
	struct btree_keys *b = &n->keys;
	unsigned int j;

	for (j = 0; j < count; j++) {
		struct bkey search = KEY(BENCH_INODE, pos[j], 0);
		struct bkey *found = bch_bset_search(b, b->set, &search);

		if (verify && !bench_lookup_right(n, pos[j], found))
			bench_errors++;
	}
}

/* Lookups per second in the written set. */
static u64 bench_lookups(struct bench_node *n, u32 *pos)
{
	u32 span = n->nkeys * BENCH_SLOT_SECTORS + BENCH_SLOT_SECTORS;
	u64 start, ns, done = 0, min_ns = (u64)min_ms * NSEC_PER_MSEC;
	struct rnd_state rs;
	unsigned int j;

	prandom_seed_state(&rs, BENCH_SEED);
	for (j = 0; j < BENCH_LOOKUPS; j++)
		pos[j] = bench_random_below(&rs, span);
	bench_lookup_pass(n, pos, BENCH_LOOKUPS, true);

	start = ktime_get_ns();
	do {
		bench_lookup_pass(n, pos, BENCH_LOOKUPS, false);
		done += BENCH_LOOKUPS;
		cond_resched();
		ns = ktime_get_ns() - start;
	} while (ns < min_ns);
	return bench_rate(done, ns);
}

/* A fixed-seed random order of the node's gaps. */
static void bench_shuffle(u32 *slot, unsigned int count)
{
	struct rnd_state rs;
	unsigned int j;

	prandom_seed_state(&rs, BENCH_SEED + 1);
	for (j = 0; j < count; j++)
		slot[j] = j;
	for (j = count - 1; j > 0; j--) {
		u32 other = bench_random_below(&rs, j + 1);

		swap(slot[j], slot[other]);
	}
}

/* Inserts per second into the open set, in page-sized batches. */
static u64 bench_inserts(struct bench_node *n, u32 *slot)
{
	unsigned int batch = min_t(unsigned int, n->nkeys,
				   (BENCH_OPEN_BYTES - sizeof(struct bset)) /
				   (BENCH_KEY_U64S * sizeof(u64)));
	u64 start, ns, done = 0, min_ns = (u64)min_ms * NSEC_PER_MSEC;
	struct btree_keys *b = &n->keys;
	unsigned int next = 0, j;
	struct bench_key tmp;

	bench_shuffle(slot, n->nkeys);
	start = ktime_get_ns();
	do {
		for (j = 0; j < batch; j++) {
			u64 gap = (u64)slot[next] * BENCH_SLOT_SECTORS +
				  BENCH_KEY_SECTORS;

			next = next + 1 < n->nkeys ? next + 1 : 0;
			bench_make_key(&tmp.key, gap);
			if (bch_btree_insert_key(b, &tmp.key, NULL) ==
			    BTREE_INSERT_STATUS_NO_INSERT)
				bench_errors++;
		}
		done += batch;

		if (bench_set_u64s(n->open) != batch * BENCH_KEY_U64S)
			bench_errors++;
		bench_node_reopen(n);
		cond_resched();
		ns = ktime_get_ns() - start;
	} while (ns < min_ns);
	return bench_rate(done, ns);
}

static int bench_one_size(unsigned int nkeys)
{
	u32 *scratch = kvmalloc_array(max(nkeys, BENCH_LOOKUPS),
				      sizeof(u32), GFP_KERNEL);
	struct bset_stats stats = {};
	struct bench_node *n;
	u64 lookups, inserts;
	int err = -ENOMEM;

	n = kzalloc(sizeof(*n), GFP_KERNEL);
	if (!n || !scratch)
		goto out;
	err = bench_node_build(n, nkeys);
	if (err)
		goto out;

	bench_errors = 0;
	bch_btree_keys_stats(&n->keys, &stats);
	lookups = bench_lookups(n, scratch);
	inserts = bench_inserts(n, scratch);

	pr_info("BSETBENCH impl=%s keys=%u order=%u lookups_per_s=%llu inserts_per_s=%llu floats=%zu failed=%zu errors=%u\n",
		BENCH_IMPL, nkeys, n->keys.page_order, lookups, inserts,
		stats.floats, stats.failed, bench_errors);
	bch_btree_keys_free(&n->keys);
out:
	kfree(n);
	kvfree(scratch);
	return err;
}

static int __init bset_bench_init(void)
{
	unsigned int i;
	int err;

	for (i = 0; i < ARRAY_SIZE(bench_sizes); i++) {
		err = bench_one_size(bench_sizes[i]);
		if (err)
			return err;
	}
	return 0;
}

static void __exit bset_bench_exit(void)
{
}

module_init(bset_bench_init);
module_exit(bset_bench_exit);
MODULE_DESCRIPTION("bcache bset microbenchmark (" BENCH_IMPL " bset.c)");
MODULE_LICENSE("GPL");
